/* Which targets a run of the dashboard may aim at: the hosts and networks of --allow-target
 * (all when none is given), never the dashboard itself unless told. */
#ifndef CONLAB_HTTP_TARGETS_H
#define CONLAB_HTTP_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

struct http_targets {
    const char *const *allow; /* patterns: a host name (any case; "*.example.com" for its
                               * subdomains), an IPv4 or IPv6 address, or a CIDR ("10.0.0.0/8") */
    int nallow;               /* 0: every host */
    bool allow_self;          /* the dashboard's own address and port may be a target */
    int self_port;            /* the dashboard's port (atomic: set once it is bound) */
};

/* A pattern as --allow-target takes it: 0, or -1 with err naming it. */
int http_target_pattern_valid(const char *pattern, char *err, size_t errlen);

/* Whether a run may send requests to url (already validated as an http(s) URL). A host name
 * is resolved for the CIDR patterns and the self check: every address it resolves to must be
 * allowed. Returns 0, or -1 with a message starting "target.url: ". */
int http_target_check(const struct http_targets *t, const char *url, char *err, size_t errlen);

#endif
