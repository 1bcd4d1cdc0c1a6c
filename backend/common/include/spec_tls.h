/* The target's transport in a run spec: the HTTP version (`target.http`), TLS (`target.tls`:
 * PEM text or names from the dashboard's --tls-dir, never a path) and fixed name resolutions
 * (`target.resolve`, curl's HOST:PORT:ADDR). Parsed and printed by spec.c. */
#ifndef CONLAB_SPEC_TLS_H
#define CONLAB_SPEC_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

/* target.http: "1.1" (the default), "2" (negotiated: ALPN over TLS, an Upgrade on plain
 * HTTP), "2-prior-knowledge" (h2c without an Upgrade), "3". */
enum spec_http { SPEC_HTTP_1_1 = 0, SPEC_HTTP_2, SPEC_HTTP_2_PRIOR, SPEC_HTTP_3 };

#define SPEC_TLS_MAX_BYTES (256 * 1024) /* one PEM value: a system CA bundle (220 KB) fits, and
                                         * the three fit in one wire frame (1 MiB) */
#define SPEC_MAX_RESOLVE 16          /* target.resolve entries */

/* target.tls. Each of ca, cert, key is NULL (none), PEM text, or a name of a file in the
 * dashboard's --tls-dir until spec_tls_resolve_names replaced it by that file's PEM text. `key`
 * is a secret: redact.c shows it as "***". */
struct spec_tls {
    bool insecure; /* skip verifying the server's certificate and name */
    char *ca, *cert, *key;
};

/* "1.1", "2", "2-prior-knowledge", "3"; NULL when out of range. */
const char *spec_http_name(enum spec_http h);

/* Parses target.http (a string, or null for the default). Returns 0 or -1 with a message
 * starting "target.http:". */
int spec_http_parse(const struct cJSON *v, enum spec_http *out, char *err, size_t errlen);

/* Parses target.tls (an object {"insecure", "ca", "cert", "key"}, each optional and nullable;
 * or null). Values are kept as given; spec_tls_check judges them. Returns 0 or -1 with a message
 * starting "target.tls...". t must be zeroed or hold earlier values (they are replaced). */
int spec_tls_parse(const struct cJSON *v, struct spec_tls *t, char *err, size_t errlen);

/* Parses target.resolve (a list of "HOST:PORT:ADDR" strings, or null) into a new array of n
 * strings that the caller frees with spec_resolve_free. Returns 0 or -1 ("target.resolve: "). */
int spec_resolve_parse(const struct cJSON *v, char ***out, int *n, char *err, size_t errlen);

/* Checks the transport's fields: HTTP/3 only when this libcurl has it (asked at run time); ca,
 * cert and key each PEM text or a plain file name (a value that looks like a path is refused);
 * cert and key given together; every resolve entry HOST:PORT:ADDR. Messages name the field and
 * never quote a key. Returns 0 or -1. */
int spec_tls_check(enum spec_http http, const struct spec_tls *t, char *const *resolve,
                   int nresolve, char *err, size_t errlen);

/* True when s holds a PEM block ("-----BEGIN " ... "-----END "). */
bool spec_tls_is_pem(const char *s);

/* True when the TLS values are all PEM text (or unset): nothing left to resolve. */
bool spec_tls_resolved(const struct spec_tls *t);

/* The dashboard: replaces each value of t that is a name by the PEM text of the file of that
 * name in `dir` (its --tls-dir; NULL when it has none). Only a plain name is ever opened, so
 * nothing outside dir is read. Returns 0 or -1 with a message naming the field. */
int spec_tls_resolve_names(struct spec_tls *t, const char *dir, char *err, size_t errlen);

/* The CLI: reads the PEM file at `path` for the flag `flag` (--cacert, --cert, --key) into a new
 * string (free()). Returns 0 or -1 with a message starting with the flag. */
int spec_tls_read_file(const char *path, const char *flag, char **out, char *err, size_t errlen);

/* Adds "http", "tls" and "resolve" to a target object, all fields present. */
void spec_tls_to_json(struct cJSON *target, enum spec_http http, const struct spec_tls *t,
                      char *const *resolve, int nresolve);

void spec_tls_free(struct spec_tls *t);
void spec_resolve_free(char **list, int n);

#endif
