#include "target_http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include "util.h"

static int fail(struct target_req *r, int status, const char *msg)
{
    r->reject = status;
    r->keepalive = 0;
    snprintf(r->msg, sizeof r->msg, "%s", msg);
    return -1;
}

/* RFC 9110 token characters, for the method. */
static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int token_is(const char *s, size_t n, const char *word)
{
    return n == strlen(word) && !strncasecmp(s, word, n);
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* A whole unsigned decimal in [0, max]; -1 when malformed or out of range. */
static int64_t parse_uint(const char *s, size_t n, int64_t max)
{
    if (n == 0 || n > 15) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

static const char *const fault_names[FAULT_COUNT] = {
    NULL, "reset", "hang", "slow_body", "bad_length", "close_early", "garbage"};

const char *target_fault_name(int fault)
{
    return fault > FAULT_NONE && fault < FAULT_COUNT ? fault_names[fault] : NULL;
}

/* ?fault=NAME into r->fault; an unknown name sets a 400 reject naming the known ones. */
static void parse_fault(const char *v, size_t n, struct target_req *r)
{
    for (int f = FAULT_NONE + 1; f < FAULT_COUNT; f++) {
        if (token_is(v, n, fault_names[f])) {
            r->fault = f;
            return;
        }
    }
    if (r->reject) return;
    r->reject = 400;
    snprintf(r->msg, sizeof r->msg,
             "bad query parameter fault='%.*s': want reset, hang, slow_body, bad_length, "
             "close_early or garbage",
             (int)(n > 32 ? 32 : n), v);
}

/* Reads ?delay_ms= ?status= ?bytes= ?fault= from the query of the request target; the first
 * malformed one sets a 400 reject naming it. Other parameters are ignored. */
static void parse_query(const char *q, size_t n, struct target_req *r)
{
    static const struct {
        const char *name;
        int64_t min, max;
    } known[] = {
        {"delay_ms", 0, TARGET_MAX_DELAY_MS}, {"status", 100, 599}, {"bytes", 0, TARGET_MAX_BYTES}};
    const char *end = q + n;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pe - q));
        const char *ke = eq ? eq : pe;
        if (token_is(q, (size_t)(ke - q), "fault"))
            parse_fault(eq ? eq + 1 : pe, eq ? (size_t)(pe - eq - 1) : 0, r);
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
            if (!token_is(q, (size_t)(ke - q), known[k].name)) continue;
            const char *v = eq ? eq + 1 : pe;
            int64_t x = parse_uint(v, (size_t)(pe - v), known[k].max);
            if (x < known[k].min) {
                if (!r->reject) {
                    r->reject = 400;
                    snprintf(r->msg, sizeof r->msg,
                             "bad query parameter %s='%.*s': want a whole number %lld..%lld",
                             known[k].name, (int)((pe - v) > 32 ? 32 : (pe - v)), v,
                             (long long)known[k].min, (long long)known[k].max);
                }
            } else if (k == 0) {
                r->delay_ms = x;
            } else if (k == 1) {
                r->status = x;
            } else {
                r->bytes = x;
            }
        }
        q = amp ? amp + 1 : end;
    }
}

void target_http_path(const char *path, size_t n, struct target_req *r)
{
    const char *end = path + n;
    const char *q = memchr(path, '?', n);
    if (!q) return;
    const char *hash = memchr(q, '#', (size_t)(end - q));
    const char *qe = hash ? hash : end;
    parse_query(q + 1, (size_t)(qe - q - 1), r);
}

/* One header line (without its line ending) into r. Returns 0 or -1 (r->reject set). */
static int parse_header(const char *s, size_t n, struct target_req *r, int *has_close,
                        int *has_keepalive, int *seen_length)
{
    if (s[0] == ' ' || s[0] == '\t') return fail(r, 400, "folded header lines are not allowed");
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s) return fail(r, 400, "malformed header line");
    size_t nl = (size_t)(colon - s);
    for (size_t i = 0; i < nl; i++)
        if (!is_tchar((unsigned char)s[i])) return fail(r, 400, "malformed header name");
    const char *v = colon + 1;
    size_t vn = n - nl - 1;
    trim(&v, &vn);
    if (token_is(s, nl, "content-length")) {
        int64_t x = parse_uint(v, vn, INT64_C(999999999999999));
        if (x < 0) return fail(r, 400, "bad Content-Length");
        if (*seen_length && x != r->body_len) return fail(r, 400, "conflicting Content-Length");
        r->body_len = x;
        *seen_length = 1;
    } else if (token_is(s, nl, "transfer-encoding")) {
        return fail(r, 411, "chunked request bodies are not supported: send Content-Length");
    } else if (token_is(s, nl, "connection")) {
        while (vn) {
            const char *comma = memchr(v, ',', vn);
            size_t tn = comma ? (size_t)(comma - v) : vn;
            const char *t = v;
            size_t tl = tn;
            trim(&t, &tl);
            if (token_is(t, tl, "close")) *has_close = 1;
            if (token_is(t, tl, "keep-alive")) *has_keepalive = 1;
            if (!comma) break;
            vn -= tn + 1;
            v = comma + 1;
        }
    } else if (token_is(s, nl, "expect")) {
        r->expect_continue = token_is(v, vn, "100-continue");
    }
    return 0;
}

/* The request line "METHOD TARGET HTTP/1.x" into r; returns the minor version or -1. */
static int parse_request_line(const char *s, size_t n, struct target_req *r)
{
    const char *sp1 = memchr(s, ' ', n);
    if (!sp1 || sp1 == s || sp1 - s > 32) return fail(r, 400, "malformed request line");
    for (const char *p = s; p < sp1; p++)
        if (!is_tchar((unsigned char)*p)) return fail(r, 400, "malformed request method");
    r->head_only = sp1 - s == 4 && !strncmp(s, "HEAD", 4); /* methods are case-sensitive */
    const char *tgt = sp1 + 1;
    const char *sp2 = memchr(tgt, ' ', (size_t)(s + n - tgt));
    if (!sp2 || sp2 == tgt) return fail(r, 400, "malformed request line");
    for (const char *p = tgt; p < sp2; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) return fail(r, 400, "malformed request target");
    const char *ver = sp2 + 1;
    size_t vn = (size_t)(s + n - ver);
    if (vn != 8 || strncmp(ver, "HTTP/", 5) || ver[6] != '.' || ver[5] < '0' || ver[5] > '9' ||
        ver[7] < '0' || ver[7] > '9')
        return fail(r, 400, "malformed request line");
    if (ver[5] != '1') return fail(r, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
    target_http_path(tgt, (size_t)(sp2 - tgt), r);
    return ver[7] - '0';
}

int target_http_parse(const char *buf, size_t len, struct target_req *r)
{
    memset(r, 0, sizeof *r);
    r->delay_ms = r->status = r->bytes = -1;

    /* Empty lines before the request line are ignored (RFC 9112 section 2.2). */
    size_t start = 0;
    while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
        start++;

    /* The head ends at the first empty line; bare LF line endings are tolerated. */
    size_t end = 0;
    const char *p = buf + start;
    while (!end && (p = memchr(p, '\n', (size_t)(buf + len - p)))) {
        size_t i = (size_t)(p - buf);
        if (i + 1 < len && buf[i + 1] == '\n')
            end = i + 2;
        else if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            end = i + 3;
        p++;
    }
    if (!end && len < TARGET_MAX_HEAD) return 0;
    if (!end || end > TARGET_MAX_HEAD)
        return fail(r, 431, "request head too large (limit 16384 bytes)");
    r->head_len = end;

    int minor = -1, has_close = 0, has_keepalive = 0, seen_length = 0;
    const char *line = buf + start;
    const char *stop = buf + end;
    while (line < stop) {
        const char *nl = memchr(line, '\n', (size_t)(stop - line));
        size_t n = (size_t)(nl - line);
        if (n && line[n - 1] == '\r') n--;
        if (n == 0) break; /* the empty line that ends the head */
        if (minor < 0) {
            if ((minor = parse_request_line(line, n, r)) < 0) return -1;
        } else if (parse_header(line, n, r, &has_close, &has_keepalive, &seen_length)) {
            return -1;
        }
        line = nl + 1;
    }
    if (minor < 0) return fail(r, 400, "malformed request line");
    r->keepalive = !has_close && (minor >= 1 || has_keepalive);
    return 1;
}

static const char *reason(int status)
{
    /* clang-format off */
    static const struct {
        int code;
        const char *text;
    } reasons[] = {
        {100, "Continue"}, {101, "Switching Protocols"}, {200, "OK"}, {201, "Created"},
        {202, "Accepted"}, {204, "No Content"}, {206, "Partial Content"},
        {301, "Moved Permanently"}, {302, "Found"}, {303, "See Other"}, {304, "Not Modified"},
        {307, "Temporary Redirect"}, {308, "Permanent Redirect"}, {400, "Bad Request"},
        {401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
        {405, "Method Not Allowed"}, {408, "Request Timeout"}, {409, "Conflict"},
        {411, "Length Required"}, {413, "Content Too Large"}, {418, "I'm a teapot"},
        {429, "Too Many Requests"}, {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
        {503, "Service Unavailable"}, {504, "Gateway Timeout"},
        {505, "HTTP Version Not Supported"},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == status) return reasons[i].text;
    return "Unknown";
}

static int bodyless(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

int target_http_plan(const struct target_req *r, int64_t *declared, int64_t *body_len)
{
    int status = r->reject ? r->reject : r->status > 0 ? (int)r->status : 200;
    int64_t len = r->reject       ? (int64_t)strlen(r->msg) + 1
                  : r->bytes >= 0 ? r->bytes
                                  : (int64_t)TARGET_BODY_LEN;
    if (bodyless(status)) len = -1;
    bool bad_length = !r->reject && r->fault == FAULT_BAD_LENGTH;
    *declared = len >= 0 ? len + (bad_length ? TARGET_BAD_LENGTH_EXTRA : 0) : -1;
    *body_len = r->head_only || len < 0 ? 0 : len;
    return status;
}

int target_http_response(const struct target_req *r, char *out, size_t outlen, int64_t *body_len)
{
    if (!r->reject && r->fault == FAULT_GARBAGE) {
        static const char junk[] = "this is not HTTP at all\r\n\r\n";
        *body_len = 0;
        return outlen > sizeof junk ? snprintf(out, outlen, "%s", junk) : -1;
    }
    bool bad_length = !r->reject && r->fault == FAULT_BAD_LENGTH;
    int64_t declared;
    int status = target_http_plan(r, &declared, body_len);
    char cl[48] = "";
    if (declared >= 0) snprintf(cl, sizeof cl, "Content-Length: %lld\r\n", (long long)declared);
    int n =
        snprintf(out, outlen,
                 "HTTP/1.1 %d %s\r\n"
                 "Server: conlab-target\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "%s"
                 "Connection: %s\r\n"
                 "\r\n"
                 "%s%s",
                 status, reason(status), cl, r->keepalive && !bad_length ? "keep-alive" : "close",
                 r->reject && !r->head_only ? r->msg : "", r->reject && !r->head_only ? "\n" : "");
    if (r->reject) *body_len = 0; /* the message went with the head */
    return n < 0 || (size_t)n >= outlen ? -1 : n;
}

#define BODY_CHUNK 65536

static char body_pattern[BODY_CHUNK + TARGET_BODY_LEN]; /* written once, then read-only */
static pthread_once_t body_once = PTHREAD_ONCE_INIT;

static void body_init(void)
{
    for (size_t i = 0; i < sizeof body_pattern; i++)
        body_pattern[i] = TARGET_BODY[i % TARGET_BODY_LEN];
}

const char *target_http_body(int64_t off, int64_t rem, size_t *len)
{
    pthread_once(&body_once, body_init);
    *len = rem < BODY_CHUNK ? (size_t)rem : BODY_CHUNK;
    return body_pattern + off % (int64_t)TARGET_BODY_LEN;
}

int target_http_listen(const char *host, int port, int *bound, char *err, size_t errlen)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, service, &hints, &res);
    if (rc) return errf(err, errlen, "%s:%d: %s", host, port, gai_strerror(rc));
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 65535) < 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) return errf(err, errlen, "%s:%d: %s", host, port, strerror(saved));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        saved = errno;
        close(fd);
        return errf(err, errlen, "getsockname: %s", strerror(saved));
    }
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}
