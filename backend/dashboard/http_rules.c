#include "http_rules.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Fills msg and returns status: the refusals of http_head_refusal. */
static int refuse(int status, char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(int status, char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return status;
}

static bool all_digits(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* The path is served as sent (civetweb's decoding is off): an escape is refused when it would
 * hide a control character, a slash, a backslash or a dot, which no route or file needs. */
static int path_refusal(const char *uri, char *msg, size_t msglen)
{
    if (uri[0] != '/')
        return refuse(400, msg, msglen, "%s",
                      "only origin-form request targets are served (a path starting with /; "
                      "this is not a proxy)");
    if (uri[1] == '/' || uri[1] == '\\')
        return refuse(400, msg, msglen, "%s", "a path may not start with // or /\\");
    for (const char *p = uri; *p; p++) {
        if (*p == '\\') return refuse(400, msg, msglen, "%s", "a backslash in the path");
        if (*p != '%') continue;
        int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
        if (lo < 0) return refuse(400, msg, msglen, "%s", "a malformed %-escape in the path");
        int v = hi * 16 + lo;
        if (v < 0x20 || v == 0x7f || v == '/' || v == '\\' || v == '.')
            return refuse(400, msg, msglen, "the path encodes %%%02X, which is refused",
                          (unsigned)v);
        p += 2;
    }
    return 0;
}

int http_head_refusal(const struct http_head *h, char *msg, size_t msglen)
{
    if (h->n >= h->max_headers)
        return refuse(431, msg, msglen, "more than %d header lines", h->max_headers - 1);
    if (h->folded) return refuse(400, msg, msglen, "%s", "a folded header line (obs-fold)");
    if (h->space_before_colon)
        return refuse(400, msg, msglen, "%s", "white space between a header name and its colon");
    int pr = path_refusal(h->uri, msg, msglen);
    if (pr) return pr;
    const char *cl = NULL, *expect = NULL;
    int ncl = 0, nte = 0;
    for (int i = 0; i < h->n; i++) {
        const char *name = h->names[i], *v = h->values[i];
        if (!strcasecmp(name, "Content-Length")) {
            ncl++;
            cl = v;
        } else if (!strcasecmp(name, "Transfer-Encoding")) {
            nte++;
        } else if (!strcasecmp(name, "Expect")) {
            expect = v;
        } else if (!strcasecmp(name, "Upgrade") && strcasestr(v, "websocket")) {
            return refuse(400, msg, msglen, "%s", "WebSocket upgrades are not served");
        }
    }
    if (ncl > 1) return refuse(400, msg, msglen, "%s", "more than one Content-Length header");
    if (nte > 1) return refuse(400, msg, msglen, "%s", "more than one Transfer-Encoding header");
    if (ncl && nte)
        return refuse(400, msg, msglen, "%s", "Content-Length together with Transfer-Encoding");
    if (cl && !all_digits(cl))
        return refuse(400, msg, msglen, "%s", "Content-Length is not a plain decimal number");
    if (expect) {
        if (strcasecmp(expect, "100-continue"))
            return refuse(417, msg, msglen, "%s", "the only expectation met is 100-continue");
        if (cl && strtoll(cl, NULL, 10) > h->body_max)
            return refuse(413, msg, msglen,
                          "request body of %s bytes is over the limit of %lld bytes", cl,
                          h->body_max);
    }
    return 0;
}
