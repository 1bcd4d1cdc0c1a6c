#include "http_targets.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "util.h"

/* An address of either family, for matching. */
struct addr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char b[16];
};

static bool parse_addr(const char *s, struct addr *a)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, s, a->b) == 1) return (a->family = AF_INET), true;
    if (inet_pton(AF_INET6, s, a->b) == 1) return (a->family = AF_INET6), true;
    return false;
}

/* "10.0.0.0/8", "::1/128", or a bare address (all its bits). Returns false when not one. */
static bool parse_cidr(const char *p, struct addr *net, int *bits)
{
    char buf[64];
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (!parse_addr(buf, net)) return false;
    int max = net->family == AF_INET ? 32 : 128;
    *bits = max;
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || v < 0 || v > max) return false;
        *bits = (int)v;
    }
    return true;
}

static bool in_cidr(const struct addr *a, const struct addr *net, int bits)
{
    if (a->family != net->family) return false;
    for (int i = 0; i < bits / 8; i++)
        if (a->b[i] != net->b[i]) return false;
    if (bits % 8) {
        unsigned char mask = (unsigned char)(0xff << (8 - bits % 8));
        if ((a->b[bits / 8] & mask) != (net->b[bits / 8] & mask)) return false;
    }
    return true;
}

static bool name_matches(const char *host, const char *pattern)
{
    if (!strncmp(pattern, "*.", 2)) {
        size_t hl = strlen(host), sl = strlen(pattern + 1); /* ".example.com" */
        return hl > sl && !strcasecmp(host + hl - sl, pattern + 1);
    }
    return !strcasecmp(host, pattern);
}

int http_target_pattern_valid(const char *p, char *err, size_t errlen)
{
    struct addr a;
    int bits;
    if (parse_cidr(p, &a, &bits)) return 0;
    const char *name = !strncmp(p, "*.", 2) ? p + 2 : p;
    bool ok = *name && strlen(name) < 254;
    for (const char *c = name; ok && *c; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
             *c == '-' || *c == '.' || *c == '_';
    if (!ok)
        return errf(err, errlen, "--allow-target: '%.80s' is not a host name, an address or a CIDR",
                    p);
    return 0;
}

/* The dashboard itself: an address of this machine (loopback, unspecified, or one bound to an
 * interface, which a connect() reaches locally) at its port. */
static bool is_local(const struct addr *a)
{
    static const unsigned char any6[16], lo6[16] = {[15] = 1};
    if (a->family == AF_INET) return a->b[0] == 127 || (a->b[0] | a->b[1] | a->b[2] | a->b[3]) == 0;
    if (!memcmp(a->b, any6, 16) || !memcmp(a->b, lo6, 16)) return true;
    /* ::ffff:127.x.y.z and ::ffff:0.0.0.0 */
    static const unsigned char v4map[12] = {[10] = 0xff, [11] = 0xff};
    return !memcmp(a->b, v4map, 12) &&
           (a->b[12] == 127 || !(a->b[12] | a->b[13] | a->b[14] | a->b[15]));
}

static bool bound_here(const struct addr *a)
{
    if (is_local(a)) return true;
    /* An address of one of this machine's interfaces: bind() to it succeeds. */
    int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (a->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        memcpy(&s4->sin_addr, a->b, 4);
        sl = sizeof *s4;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->b, 16);
        sl = sizeof *s6;
    }
    bool here = bind(fd, (struct sockaddr *)&ss, sl) == 0;
    close(fd);
    return here;
}

static bool addr_allowed(const struct http_targets *t, const struct addr *a)
{
    for (int i = 0; i < t->nallow; i++) {
        struct addr net;
        int bits;
        if (parse_cidr(t->allow[i], &net, &bits) && in_cidr(a, &net, bits)) return true;
    }
    return false;
}

/* The addresses host stands for: itself when it is one, else what the resolver says (at most
 * 16). Returns how many, or -1 when it does not resolve. */
static int resolve(const char *host, struct addr *out, int max)
{
    if (parse_addr(host, &out[0])) return 1;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0) return -1;
    int n = 0;
    for (struct addrinfo *r = res; r && n < max; r = r->ai_next) {
        memset(&out[n], 0, sizeof out[n]);
        if (r->ai_family == AF_INET) {
            out[n].family = AF_INET;
            memcpy(out[n].b, &((struct sockaddr_in *)r->ai_addr)->sin_addr, 4);
            n++;
        } else if (r->ai_family == AF_INET6) {
            out[n].family = AF_INET6;
            memcpy(out[n].b, &((struct sockaddr_in6 *)r->ai_addr)->sin6_addr, 16);
            n++;
        }
    }
    freeaddrinfo(res);
    return n;
}

int http_target_check(const struct http_targets *t, const char *url, char *err, size_t errlen)
{
    if (!t) return 0;
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        errf(err, errlen, "target.url: cannot be read as a URL");
        goto out;
    }
    /* curl gives an IPv6 host in brackets */
    char name[256];
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']')
        snprintf(name, sizeof name, "%.*s", (int)(hl - 2), host + 1);
    else
        snprintf(name, sizeof name, "%s", host);
    char *pct = strchr(name, '%'); /* an IPv6 zone id */
    if (pct) *pct = '\0';
    bool named = false;
    for (int i = 0; i < t->nallow && !named; i++)
        named = name_matches(name, t->allow[i]);
    /* Resolved only when needed: at the dashboard's own port, or for CIDR patterns. */
    struct addr addrs[16];
    int self = __atomic_load_n(&t->self_port, __ATOMIC_ACQUIRE);
    bool at_self = !t->allow_self && self > 0 && atoi(port) == self;
    int n = at_self || (t->nallow && !named) ? resolve(name, addrs, 16) : 0;
    if (at_self) {
        for (int i = 0; i < n; i++)
            if (bound_here(&addrs[i])) {
                errf(err, errlen,
                     "target.url: '%.100s' is this dashboard itself, which is not a target "
                     "(start it with --allow-self-target to allow it)",
                     host);
                goto out;
            }
    }
    if (t->nallow && !named) {
        bool ok = n > 0;
        for (int i = 0; i < n && ok; i++)
            ok = addr_allowed(t, &addrs[i]);
        if (!ok) {
            errf(err, errlen,
                 "target.url: host '%.100s' is not among the allowed targets (--allow-target, "
                 "CONLAB_ALLOW_TARGETS)",
                 host);
            goto out;
        }
    }
    rc = 0;
out:
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}
