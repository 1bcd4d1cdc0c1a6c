/* Secrets in a spec stay stored (a run must be repeatable) but are shown as "***": header values
 * of Authorization, Cookie, Proxy-Authorization and of names the user declares secret, and the
 * password in a URL's user info, and the TLS client key (target.tls.key). */
#ifndef CONLAB_REDACT_H
#define CONLAB_REDACT_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

#define REDACTED "***"

/* Copies url into out (outlen bytes, cut short if needed) with the password of its user info,
 * if any, replaced by "***": "http://u:pw@h/" -> "http://u:***@h/". */
void redact_url(const char *url, char *out, size_t outlen);

/* True when a header name (any case) is Authorization, Cookie, Proxy-Authorization or one of
 * extra[0..n). */
bool redact_header_is_secret(const char *name, const char *const *extra, int n);

/* In a spec object in the contract's shape (in place): target.url's password, the values of
 * secret headers and target.tls.key become "***". Anything else is left alone; a malformed spec
 * is no error. */
void redact_spec_json(struct cJSON *spec, const char *const *extra, int n);

#endif
