/* Secrets in a spec stay stored (a run must be repeatable) but are shown as "***": header values
 * of Authorization, Cookie, Proxy-Authorization and of names the user declares secret, and the
 * password in a URL's user info, and the TLS client key (target.tls.key). */
#ifndef CONLAB_REDACT_H
#define CONLAB_REDACT_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

#define REDACTED "***"

/* Copies url into out (outlen bytes, cut short if needed) with its user info, if any, redacted,
 * read by curl's own URL parser so that every form curl sends from is caught:
 * "http://u:pw@h/" and "http:/u:pw@h/" both become "http://u:***@h/"; a user alone
 * ("http://TOKEN@h/") or one with an escape ("a%3Apw") is redacted as a whole. A URL with user
 * info comes out in curl's canonical form; one without is copied as it is. */
void redact_url(const char *url, char *out, size_t outlen);

/* True when a header name (any case) is Authorization, Cookie, Proxy-Authorization or one of
 * extra[0..n). */
bool redact_header_is_secret(const char *name, const char *const *extra, int n);

/* In a spec object in the contract's shape (in place): target.url's password, the values of
 * secret headers and target.tls.key become "***". Anything else is left alone; a malformed spec
 * is no error. */
void redact_spec_json(struct cJSON *spec, const char *const *extra, int n);

/* target.body of a spec object (in place) becomes "***" when it is a non-empty string: for
 * bodies that carry credentials (--secret-body). */
void redact_spec_body(struct cJSON *spec);

#endif
