/* The target's transport in a run spec (spec_tls.h). */
#include "spec_tls.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util.h"

static const char *const http_names[] = {"1.1", "2", "2-prior-knowledge", "3"};
#define NHTTP 4

const char *spec_http_name(enum spec_http h)
{
    return (int)h >= 0 && (int)h < NHTTP ? http_names[h] : NULL;
}

int spec_http_parse(const cJSON *v, enum spec_http *out, char *err, size_t errlen)
{
    if (cJSON_IsNull(v)) {
        *out = SPEC_HTTP_1_1;
        return 0;
    }
    for (int i = 0; cJSON_IsString(v) && i < NHTTP; i++)
        if (!strcmp(v->valuestring, http_names[i])) {
            *out = (enum spec_http)i;
            return 0;
        }
    return errf(err, errlen, "target.http: must be \"1.1\", \"2\", \"2-prior-knowledge\" or \"3\"");
}

static int take_str(const cJSON *f, const char *path, char **out, char *err, size_t errlen)
{
    free(*out);
    *out = NULL;
    if (cJSON_IsNull(f)) return 0;
    if (!cJSON_IsString(f)) return errf(err, errlen, "%s: must be a string", path);
    if (strlen(f->valuestring) > SPEC_TLS_MAX_BYTES)
        return errf(err, errlen, "%s: longer than %d bytes", path, SPEC_TLS_MAX_BYTES);
    *out = strdup(f->valuestring);
    return *out ? 0 : errf(err, errlen, "%s: out of memory", path);
}

int spec_tls_parse(const cJSON *v, struct spec_tls *t, char *err, size_t errlen)
{
    if (cJSON_IsNull(v)) return 0;
    if (!cJSON_IsObject(v))
        return errf(err, errlen,
                    "target.tls: must be an object {\"insecure\", \"ca\", \"cert\", \"key\"}");
    for (const cJSON *f = v->child; f; f = f->next) {
        const char *k = f->string;
        int rc = 0;
        if (!strcmp(k, "insecure")) {
            if (!cJSON_IsBool(f)) rc = errf(err, errlen, "target.tls.insecure: must be true or false");
            else t->insecure = cJSON_IsTrue(f);
        } else if (!strcmp(k, "ca")) {
            rc = take_str(f, "target.tls.ca", &t->ca, err, errlen);
        } else if (!strcmp(k, "cert")) {
            rc = take_str(f, "target.tls.cert", &t->cert, err, errlen);
        } else if (!strcmp(k, "key")) {
            rc = take_str(f, "target.tls.key", &t->key, err, errlen);
        } else {
            rc = errf(err, errlen, "target.tls.%.60s: unknown field (known: insecure, ca, cert, key)",
                      k);
        }
        if (rc) return -1;
    }
    return 0;
}

int spec_resolve_parse(const cJSON *v, char ***out, int *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (cJSON_IsNull(v)) return 0;
    if (!cJSON_IsArray(v))
        return errf(err, errlen, "target.resolve: must be a list of \"HOST:PORT:ADDRESS\"");
    int count = cJSON_GetArraySize(v);
    if (count > SPEC_MAX_RESOLVE)
        return errf(err, errlen, "target.resolve: at most %d entries", SPEC_MAX_RESOLVE);
    *out = calloc((size_t)count + 1, sizeof **out);
    if (!*out) return errf(err, errlen, "target.resolve: out of memory");
    for (const cJSON *e = v->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return errf(err, errlen, "target.resolve: each entry must be a string HOST:PORT:ADDRESS");
        if (!((*out)[(*n)++] = strdup(e->valuestring)))
            return errf(err, errlen, "target.resolve: out of memory");
    }
    return 0;
}

bool spec_tls_is_pem(const char *s)
{
    const char *b = s ? strstr(s, "-----BEGIN ") : NULL;
    return b && strstr(b, "-----END ");
}

/* A plain file name: [A-Za-z0-9][A-Za-z0-9._-]*, at most 128 characters. */
static bool is_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-' || s[0] == '_') return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

/* One of ca, cert, key: unset, PEM, or a name. A key's text is never quoted back. */
static int check_value(const char *v, const char *field, bool secret, char *err, size_t errlen)
{
    if (!v || spec_tls_is_pem(v) || is_name(v)) return 0;
    if (strchr(v, '/') || strchr(v, '\\') || v[0] == '.' || v[0] == '~')
        return errf(err, errlen,
                    "target.tls.%s: looks like a file path; a path is never read: give the PEM "
                    "text, or the name of a file in the dashboard's --tls-dir",
                    field);
    if (secret)
        return errf(err, errlen,
                    "target.tls.%s: neither PEM text (-----BEGIN ... -----END ...) nor a file "
                    "name from --tls-dir",
                    field);
    return errf(err, errlen,
                "target.tls.%s: '%.40s' is neither PEM text (-----BEGIN ... -----END ...) nor a "
                "file name from --tls-dir",
                field, v);
}

/* HOST:PORT:ADDRESS, curl's --resolve form (ADDRESS may be an IPv6 address in brackets or a
 * comma-separated list). */
static int check_resolve(const char *e, char *err, size_t errlen)
{
    const char *c1 = strchr(e, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    bool ok = c1 && c2 && c1 > e && c2[1] && strlen(e) <= 300;
    for (const char *p = e; ok && p < c1; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '.' || *p == '-' || *p == '_';
    long port = 0;
    for (const char *p = c1 ? c1 + 1 : e; ok && p < c2; p++) {
        ok = *p >= '0' && *p <= '9';
        port = port * 10 + (*p - '0');
        if (port > 65535) ok = false;
    }
    if (ok && (port < 1 || c2 == c1 + 1)) ok = false;
    for (const char *p = c2 ? c2 + 1 : e; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             strchr(".:[],", *p);
    if (!ok)
        return errf(err, errlen, "target.resolve: '%.80s' is not HOST:PORT:ADDRESS "
                                 "(e.g. example.com:443:127.0.0.1)", e);
    return 0;
}

int spec_tls_check(enum spec_http http, const struct spec_tls *t, char *const *resolve,
                   int nresolve, char *err, size_t errlen)
{
    if ((int)http < 0 || (int)http >= NHTTP)
        return errf(err, errlen, "target.http: unknown version");
    if (http == SPEC_HTTP_3) {
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        if (!(v->features & CURL_VERSION_HTTP3))
            return errf(err, errlen,
                        "target.http: HTTP/3 is not available: this libcurl (%s) was built "
                        "without it",
                        v->version);
    }
    if (check_value(t->ca, "ca", false, err, errlen) ||
        check_value(t->cert, "cert", false, err, errlen) ||
        check_value(t->key, "key", true, err, errlen))
        return -1;
    if (t->key && !t->cert)
        return errf(err, errlen, "target.tls.key: given without target.tls.cert");
    if (nresolve < 0 || nresolve > SPEC_MAX_RESOLVE)
        return errf(err, errlen, "target.resolve: at most %d entries", SPEC_MAX_RESOLVE);
    for (int i = 0; i < nresolve; i++)
        if (check_resolve(resolve[i], err, errlen)) return -1;
    return 0;
}

bool spec_tls_resolved(const struct spec_tls *t)
{
    const char *v[3] = {t->ca, t->cert, t->key};
    for (int i = 0; i < 3; i++)
        if (v[i] && !spec_tls_is_pem(v[i])) return false;
    return true;
}

/* Reads at most SPEC_TLS_MAX_BYTES of a regular file into a new string. */
static int read_small(int fd, char **out, const char *what, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode))
        return errf(err, errlen, "%s: not a regular file", what);
    if (st.st_size > SPEC_TLS_MAX_BYTES)
        return errf(err, errlen, "%s: larger than %d bytes", what, SPEC_TLS_MAX_BYTES);
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) return errf(err, errlen, "%s: out of memory", what);
    size_t len = 0;
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (strlen(buf) != len || !spec_tls_is_pem(buf)) {
        free(buf);
        return errf(err, errlen, "%s: not a PEM file (-----BEGIN ... -----END ...)", what);
    }
    *out = buf;
    return 0;
}

int spec_tls_resolve_names(struct spec_tls *t, const char *dir, char *err, size_t errlen)
{
    char **slot[3] = {&t->ca, &t->cert, &t->key};
    static const char *const field[3] = {"ca", "cert", "key"};
    for (int i = 0; i < 3; i++) {
        char *v = *slot[i];
        if (!v || spec_tls_is_pem(v)) continue;
        if (!is_name(v)) return check_value(v, field[i], i == 2, err, errlen);
        if (!dir)
            return errf(err, errlen,
                        "target.tls.%s: '%s' is not PEM text, and this dashboard was started "
                        "without --tls-dir to name files from",
                        field[i], v);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int fd = dfd < 0 ? -1 : openat(dfd, v, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        int e = errno;
        if (dfd >= 0) close(dfd);
        if (fd < 0)
            return errf(err, errlen, "target.tls.%s: no file named '%s' in --tls-dir (%s)",
                        field[i], v, strerror(e));
        char what[200], *pem = NULL;
        snprintf(what, sizeof what, "target.tls.%s: the file '%s' of --tls-dir", field[i], v);
        int rc = read_small(fd, &pem, what, err, errlen);
        close(fd);
        if (rc) return -1;
        free(v);
        *slot[i] = pem;
    }
    return 0;
}

int spec_tls_read_file(const char *path, const char *flag, char **out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return errf(err, errlen, "%s: cannot read %s: %s", flag, path, strerror(errno));
    char what[300];
    snprintf(what, sizeof what, "%s: %.200s", flag, path);
    int rc = read_small(fd, out, what, err, errlen);
    close(fd);
    return rc;
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
    if (v) cJSON_AddStringToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

void spec_tls_to_json(cJSON *target, enum spec_http http, const struct spec_tls *t,
                      char *const *resolve, int nresolve)
{
    cJSON_AddStringToObject(target, "http", spec_http_name(http) ? spec_http_name(http) : "1.1");
    cJSON *o = cJSON_AddObjectToObject(target, "tls");
    cJSON_AddBoolToObject(o, "insecure", t->insecure);
    add_str_or_null(o, "ca", t->ca);
    add_str_or_null(o, "cert", t->cert);
    add_str_or_null(o, "key", t->key);
    cJSON *r = cJSON_AddArrayToObject(target, "resolve");
    for (int i = 0; i < nresolve; i++) cJSON_AddItemToArray(r, cJSON_CreateString(resolve[i]));
}

void spec_tls_free(struct spec_tls *t)
{
    free(t->ca);
    free(t->cert);
    free(t->key);
    memset(t, 0, sizeof *t);
}

void spec_resolve_free(char **list, int n)
{
    for (int i = 0; list && i < n; i++) free(list[i]);
    free(list);
}
