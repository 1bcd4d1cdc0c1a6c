/* What a request must look like before a handler sees it: routes and run ids, query values,
 * Host and Origin, Content-Type, methods, the bearer token. Pure functions over strings (no
 * connection, no allocation), so that the unit tests and the fuzzers call them directly. */
#ifndef CONLAB_HTTP_RULES_H
#define CONLAB_HTTP_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Splits "/api/runs/ID/rest" into the pattern "runs/:id/rest" and the id ("" when none); one
 * trailing slash is tolerated. An id longer than idlen - 1 is cut (and stays invalid). Returns 0,
 * or -1 when the path cannot be a route. */
int http_route_key(const char *uri, char *pattern, size_t plen, char *id, size_t idlen);

/* A run id: 1..32 characters of [A-Za-z0-9]. */
bool http_id_valid(const char *id);

/* Query parameter `name` of the query string qs (NULL: none), URL-decoded into buf. Returns 1
 * found, 0 absent, -1 malformed or longer than buflen - 1. */
int http_query_value(const char *qs, const char *name, char *buf, size_t buflen);

/* Integer query parameter in [min, max], `def` when absent. Returns 0 or -1 with a message
 * naming the parameter. */
int http_query_int_value(const char *qs, const char *name, int64_t def, int64_t min, int64_t max,
                         int64_t *out, char *err, size_t errlen);

/* The Host header (NULL when absent: not a browser, allowed) names a loopback address
 * (127.0.0.0/8, ::1), localhost, or one of allowed[0..n) (names or addresses, compared without
 * the port, case-insensitively, a trailing dot ignored). */
bool http_host_allowed(const char *host, const char *const *allowed, int n);

/* The Origin header (NULL when absent: allowed) is the dashboard's own origin, that is
 * http:// or https:// followed by the Host header's host and port (a missing port on either
 * side means the scheme's default). "null" and anything else are refused. */
bool http_origin_allowed(const char *origin, const char *host);

/* Content-Type is application/json (parameters such as charset allowed). */
bool http_content_type_json(const char *ctype);

/* GET, HEAD, POST, DELETE, OPTIONS: the only methods that reach the server. */
bool http_method_allowed(const char *method);

/* The Authorization header is "Bearer TOKEN" (the scheme in any case), compared in constant time
 * for a given token length. */
bool http_bearer_matches(const char *authorization, const char *token);

/* A request head as civetweb parsed it, with what its parser hides (see http_server.c). */
struct http_head {
    const char *method;
    const char *uri;               /* the request target as sent, up to the '?' */
    const char *const *names;      /* header names and values, n of each */
    const char *const *values;
    int n;
    int max_headers;               /* civetweb keeps this many lines and drops the rest */
    bool folded;                   /* a header line began with a space or tab (obs-fold) */
    bool space_before_colon;       /* "Name : value" */
    long long body_max;            /* the largest body any route reads */
};

/* The framing rules that hold before any route runs (request smuggling and the forms civetweb
 * mishandles): returns 0 for a head that may go on, or the status to answer it with (400, 413,
 * 417, 431), after which the connection must close; msg names the rule. */
int http_head_refusal(const struct http_head *h, char *msg, size_t msglen);

#endif
