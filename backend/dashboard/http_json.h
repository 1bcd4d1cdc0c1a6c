/* Request bodies in, JSON replies out, for civetweb handlers. Every error reply has the shape
 * {"error": "message"} (plus "field" when a spec field is at fault). */
#ifndef CONLAB_HTTP_JSON_H
#define CONLAB_HTTP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct mg_connection;

/* Largest request body accepted (the contract's 64 KiB). */
#define HTTP_BODY_MAX (64 * 1024)

/* Headers of every API answer: never sniffed, framed or rendered as a page. */
#define HTTP_API_SECURITY_HEADERS                                                                  \
    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"                                 \
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"                       \
    "Referrer-Policy: no-referrer\r\n"

/* What every page and static file gets (civetweb adds it to the files it serves and to its own
 * error pages; http_reply to HTML): scripts and data from this origin only (styles may be set
 * inline: the charts and the views set element styles), never inside a frame. */
#define HTTP_PAGE_SECURITY_HEADERS                                                                 \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "X-Frame-Options: DENY\r\n"                                                                    \
    "Referrer-Policy: no-referrer\r\n"                                                             \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; "                             \
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "           \
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* The keep-alive timeout the replies announce (Keep-Alive: timeout=S), as the server applies it.
 * Called once before the server starts. */
void http_reply_setup(int keepalive_ms);

/* Called at the start of every request, before any reply is written. */
void http_request_begin(void);

/* The connection closes after this request's reply (and the reply says so). */
void http_close_after(struct mg_connection *c);

/* True when the request carries a body (Content-Length > 0 or Transfer-Encoding). */
bool http_has_body(struct mg_connection *c);

/* Reads the whole request body into a NUL-terminated heap buffer (*out, caller frees).
 * Returns 0; or -1 with *status and err set: 413 when the body is over `max` bytes (the rest of
 * it is read and thrown away, up to a bound in bytes and time, so that the client receives the
 * answer instead of a connection reset; beyond the bound the connection is closed after the
 * answer), 408 when the body does not arrive within 5 s, 400 when it cannot be read, 500 when
 * out of memory. */
int http_read_body(struct mg_connection *c, size_t max, char **out, size_t *len, int *status,
                   char *err, size_t errlen);

/* Reads and throws away a request body the handler has no use for (bounded; beyond the bound
 * the connection is closed after the reply), so that it is not taken for the next request. */
void http_drain_body(struct mg_connection *c);

/* Sends `body` (may be NULL for none; never for HEAD) with the given status and content type,
 * head and body in one write, with HTTP_API_SECURITY_HEADERS (HTTP_PAGE_SECURITY_HEADERS for
 * text/html) and the connection's fate
 * (Connection, Keep-Alive). `extra` holds further header lines ("Name: value\r\n..."), or NULL.
 * Returns `status` (for civetweb's log). */
int http_reply(struct mg_connection *c, int status, const char *ctype, const char *body,
               size_t len, const char *extra);

/* Sends `json` (owned: it is freed) as the reply, gzip-compressed when it is 1 KiB or more and
 * the client accepts gzip (http_gzip.h). NULL answers 500 "out of memory". */
int http_reply_json(struct mg_connection *c, int status, struct cJSON *json);

/* The same for JSON text (owned: malloc'd, it is freed). */
int http_reply_json_text(struct mg_connection *c, int status, char *text);

/* {"error": message}. */
int http_reply_error(struct mg_connection *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* {"error": msg, "field": field}; field NULL or "" is left out. */
int http_reply_field_error(struct mg_connection *c, int status, const char *msg,
                           const char *field);

/* A reply with no body (204). */
int http_reply_empty(struct mg_connection *c, int status);

/* Starts a streamed reply with chunked transfer encoding; send the body with mg_send_chunk and
 * end it with http_chunked_end. Returns 0 or -1 (the client went away). */
int http_chunked_begin(struct mg_connection *c, int status, const char *ctype, const char *extra);
int http_chunked_end(struct mg_connection *c);

/* Query-string parameter `name`, URL-decoded into buf. Returns 1 found, 0 absent, -1 malformed
 * or longer than buflen - 1. */
int http_query(struct mg_connection *c, const char *name, char *buf, size_t buflen);

/* Integer query parameter in [min, max], `def` when absent. Returns 0 or -1 with a message
 * naming the parameter. */
int http_query_int(struct mg_connection *c, const char *name, int64_t def, int64_t min,
                   int64_t max, int64_t *out, char *err, size_t errlen);

#endif
