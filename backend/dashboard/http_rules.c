#include "http_rules.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "job.h"
#include "util.h"

int http_route_key(const char *uri, char *pattern, size_t plen, char *id, size_t idlen)
{
    if (strncmp(uri, "/api", 4) != 0) return -1;
    const char *p = uri + 4;
    if (*p == '/') p++;
    size_t n = strlen(p);
    if (n && p[n - 1] == '/') n--; /* one trailing slash is tolerated */
    id[0] = '\0';
    if (n > 5 && !strncmp(p, "runs/", 5)) {
        const char *s = p + 5;
        size_t il = 0;
        while (5 + il < n && s[il] != '/')
            il++;
        /* An id too long for the buffer stays too long to be valid: the reply is 404. */
        size_t keep = il < idlen ? il : idlen - 1;
        memcpy(id, s, keep);
        id[keep] = '\0';
        int w = snprintf(pattern, plen, "runs/:id%.*s", (int)(n - 5 - il), s + il);
        return w < 0 || (size_t)w >= plen ? -1 : 0;
    }
    if (n >= plen) return -1;
    memcpy(pattern, p, n);
    pattern[n] = '\0';
    return 0;
}

bool http_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > JOB_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
            return false;
    }
    return true;
}

int http_query_value(const char *qs, const char *name, char *buf, size_t buflen)
{
    if (!qs) return 0;
    int n = mg_get_var(qs, strlen(qs), name, buf, buflen);
    if (n == -1) return 0;
    return n < 0 ? -1 : 1;
}

int http_query_int_value(const char *qs, const char *name, int64_t def, int64_t min, int64_t max,
                         int64_t *out, char *err, size_t errlen)
{
    char buf[32];
    int q = http_query_value(qs, name, buf, sizeof buf);
    if (q < 0) return errf(err, errlen, "%s: not a whole number", name);
    if (q == 0) {
        *out = def;
        return 0;
    }
    char perr[160];
    if (parse_int64(buf, name, min, max, out, perr, sizeof perr) == 0) return 0;
    return errf(err, errlen, "%s: must be a whole number between %lld and %lld", name,
                (long long)min, (long long)max);
}

/* Splits "name:port", "[v6]:port", "name" into the name (without brackets and trailing dot) and
 * the port ("" when absent). Returns -1 when malformed. */
static int split_host(const char *h, size_t n, char *name, size_t namelen, char *port,
                      size_t portlen)
{
    const char *end = h + n, *ne, *colon = NULL;
    if (n && h[0] == '[') {
        const char *rb = memchr(h, ']', n);
        if (!rb) return -1;
        h++;
        ne = rb;
        if (rb + 1 < end) {
            if (rb[1] != ':') return -1;
            colon = rb + 1;
        }
    } else {
        colon = memchr(h, ':', n);
        if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1))) return -1;
        ne = colon ? colon : end;
    }
    size_t nl = (size_t)(ne - h);
    if (nl && h[nl - 1] == '.') nl--;
    size_t pl = colon ? (size_t)(end - colon - 1) : 0;
    if (nl == 0 || nl >= namelen || pl >= portlen || (colon && pl == 0)) return -1;
    for (size_t i = 0; i < pl; i++)
        if (colon[1 + i] < '0' || colon[1 + i] > '9') return -1;
    memcpy(name, h, nl);
    name[nl] = '\0';
    memcpy(port, colon ? colon + 1 : "", pl);
    port[pl] = '\0';
    return 0;
}

static bool is_loopback(const char *name)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcasecmp(name, "localhost")) return true;
    if (inet_pton(AF_INET, name, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

bool http_host_allowed(const char *host, const char *const *allowed, int n)
{
    if (!host) return true;
    char name[256], port[8];
    if (split_host(host, strlen(host), name, sizeof name, port, sizeof port)) return false;
    if (is_loopback(name)) return true;
    for (int i = 0; i < n; i++) {
        char an[256], ap[8];
        if (!split_host(allowed[i], strlen(allowed[i]), an, sizeof an, ap, sizeof ap) &&
            !strcasecmp(an, name))
            return true;
    }
    return false;
}

bool http_origin_allowed(const char *origin, const char *host)
{
    if (!origin) return true;
    if (!host) return false;
    const char *def;
    if (!strncasecmp(origin, "http://", 7)) {
        origin += 7;
        def = "80";
    } else if (!strncasecmp(origin, "https://", 8)) {
        origin += 8;
        def = "443";
    } else {
        return false;
    }
    char on[256], op[8], hn[256], hp[8];
    if (split_host(origin, strlen(origin), on, sizeof on, op, sizeof op) ||
        split_host(host, strlen(host), hn, sizeof hn, hp, sizeof hp))
        return false;
    if (strcasecmp(on, hn)) return false;
    const char *po = op[0] ? op : def, *ph = hp[0] ? hp : def;
    return !strcmp(po, ph);
}

bool http_content_type_json(const char *ctype)
{
    if (!ctype) return false;
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    static const char want[] = "application/json";
    if (strncasecmp(ctype, want, sizeof want - 1)) return false;
    const char *rest = ctype + sizeof want - 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == '\0' || *rest == ';';
}

bool http_method_allowed(const char *method)
{
    static const char *const ok[] = {"GET", "HEAD", "POST", "DELETE", "OPTIONS"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(method, ok[i])) return true;
    return false;
}

bool http_bearer_matches(const char *h, const char *token)
{
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    while (*h == ' ')
        h++;
    size_t hl = strlen(h), tl = strlen(token);
    unsigned char diff = hl != tl;
    for (size_t i = 0; i < tl; i++)
        diff |= (unsigned char)(token[i] ^ (i < hl ? h[i] : 0));
    return diff == 0;
}
