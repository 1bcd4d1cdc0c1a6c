/* The demo server's TLS and HTTP/2 over real loopback sockets: a throwaway CA made with the
 * `openssl` tool, OpenSSL clients that verify it, HTTP/2 frames written by hand (so that the
 * server's answers are read byte by byte), the worker model counted per stream and across
 * protocols, the TLS faults, and hostile input that must never bring the server down. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "target.h"
#include "target_http.h"
#include "util.h"

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static char dir[64], ca_pem[128], srv_pem[128], srv_key[128], other_key[128];

static double ms_since(int64_t t0)
{
    return (double)(clock_us() - t0) / 1000.0;
}

/* A CA, a server certificate it signs for localhost and 127.0.0.1, and an unrelated key. */
static void make_pki(void)
{
    snprintf(dir, sizeof dir, "/tmp/conlab-tls-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(ca_pem, sizeof ca_pem, "%s/ca.pem", dir);
    snprintf(srv_pem, sizeof srv_pem, "%s/srv.pem", dir);
    snprintf(srv_key, sizeof srv_key, "%s/srv.key", dir);
    snprintf(other_key, sizeof other_key, "%s/other.key", dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout ca.key -out ca.pem -days 2 -subj '/CN=conlab test CA' && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key "
             "-out srv.csr -subj '/CN=localhost' && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext && "
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out srv.pem -days 2 -extfile ext && "
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key",
             dir);
    memmove(cmd + 1, cmd, strlen(cmd) + 1);
    cmd[0] = '(';
    strcat(cmd, ") >/dev/null 2>&1");
    if (system(cmd) != 0) {
        fprintf(stderr, "openssl failed to make the test certificates\n");
        exit(1);
    }
}

static struct target *start_opts(struct target_opts *o)
{
    struct target *t = NULL;
    char err[512];
    if (target_start(o, &t, err, sizeof err)) {
        fprintf(stderr, "target_start: %s\n", err);
        exit(1);
    }
    return t;
}

static struct target *start(int64_t workers, int64_t delay_ms, int tls, int tls_fault)
{
    struct target_opts o;
    target_opts_default(&o);
    o.port = 0;
    o.workers = workers;
    o.delay_ms = delay_ms;
    o.tls_fault = tls_fault;
    if (tls) {
        snprintf(o.tls_cert, sizeof o.tls_cert, "%s", srv_pem);
        snprintf(o.tls_key, sizeof o.tls_key, "%s", srv_key);
    }
    return start_opts(&o);
}

/* A blocking client with 10 s timeouts (so that no test can hang), TLS or not. */
struct client {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    char alpn[16]; /* what the server chose */
    unsigned char buf[1 << 16];
    size_t len;
};

static int tcp_open(struct client *c, int port, int timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(c->fd, (struct sockaddr *)&a, sizeof a);
}

/* Connects and shakes hands verifying against ca_pem for "localhost", offering `alpn` (wire
 * format). Returns 0, or -1 with the reason in why. */
static int tls_open(struct client *c, int port, const char *alpn, size_t alpn_len, int timeout_ms,
                    char *why, size_t whylen)
{
    if (tcp_open(c, port, timeout_ms)) return errf(why, whylen, "connect: %s", strerror(errno));
    c->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(c->ctx, ca_pem, NULL);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    c->ssl = SSL_new(c->ctx);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    SSL_set1_host(c->ssl, "localhost");
    if (alpn) SSL_set_alpn_protos(c->ssl, (const unsigned char *)alpn, (unsigned)alpn_len);
    SSL_set_fd(c->ssl, c->fd);
    ERR_clear_error();
    if (SSL_connect(c->ssl) != 1) {
        long v = SSL_get_verify_result(c->ssl);
        unsigned long e = ERR_get_error();
        char buf[256] = "no error queued";
        if (e) ERR_error_string_n(e, buf, sizeof buf);
        ERR_clear_error();
        return errf(why, whylen, "handshake: %s (verify %ld: %s, errno %s)", buf, v,
                    X509_verify_cert_error_string(v), strerror(errno));
    }
    const unsigned char *p;
    unsigned n;
    SSL_get0_alpn_selected(c->ssl, &p, &n);
    snprintf(c->alpn, sizeof c->alpn, "%.*s", (int)n, p);
    return 0;
}

static void cl_close(struct client *c)
{
    if (c->ssl) SSL_free(c->ssl);
    if (c->ctx) SSL_CTX_free(c->ctx);
    close(c->fd);
    c->ssl = NULL;
    c->ctx = NULL;
}

static int cl_write(struct client *c, const void *p, size_t n)
{
    if (!c->ssl) return write_all(c->fd, p, n);
    return SSL_write(c->ssl, p, (int)n) == (int)n ? 0 : -1;
}

static ssize_t cl_read(struct client *c, void *p, size_t n)
{
    if (!c->ssl) return recv(c->fd, p, n, 0);
    int r = SSL_read(c->ssl, p, (int)n);
    ERR_clear_error();
    return r > 0 ? r : r == 0 ? 0 : -1;
}

/* Reads until the buffer holds `what` or the connection ends; 1 when found. */
static int cl_until(struct client *c, const char *what)
{
    for (;;) {
        if (memmem(c->buf, c->len, what, strlen(what))) return 1;
        if (c->len == sizeof c->buf) return 0;
        ssize_t n = cl_read(c, c->buf + c->len, sizeof c->buf - c->len);
        if (n <= 0) return 0;
        c->len += (size_t)n;
    }
}

/* 1 when the server ends the connection (EOF or reset) within the receive timeout. */
static int cl_ends(struct client *c)
{
    unsigned char b[4096];
    ssize_t n;
    while ((n = recv(c->fd, b, sizeof b, 0)) > 0) {
    }
    return n == 0 || errno == ECONNRESET;
}

/* HTTP/2 frames by hand (RFC 9113): a 9-byte header, then the payload. */
enum { F_DATA = 0, F_HEADERS = 1, F_RST = 3, F_SETTINGS = 4, F_GOAWAY = 7, F_CONT = 9 };
#define END_STREAM 0x1
#define END_HEADERS 0x4
static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static size_t frame(unsigned char *out, size_t len, int type, int flags, uint32_t sid)
{
    out[0] = (unsigned char)(len >> 16);
    out[1] = (unsigned char)(len >> 8);
    out[2] = (unsigned char)len;
    out[3] = (unsigned char)type;
    out[4] = (unsigned char)flags;
    out[5] = (unsigned char)(sid >> 24 & 0x7f);
    out[6] = (unsigned char)(sid >> 16);
    out[7] = (unsigned char)(sid >> 8);
    out[8] = (unsigned char)sid;
    return 9;
}

/* A HEADERS frame with END_STREAM for GET path (HPACK: indexed :method GET and :scheme
 * http, literal :path and :authority without indexing). Returns its size. */
static size_t get_frame(unsigned char *out, uint32_t sid, const char *path)
{
    size_t n = 9, pl = strlen(path);
    out[n++] = 0x82;
    out[n++] = 0x86;
    out[n++] = 0x04;
    out[n++] = (unsigned char)pl;
    memcpy(out + n, path, pl);
    n += pl;
    out[n++] = 0x01;
    out[n++] = 1;
    out[n++] = 't';
    frame(out, n - 9, F_HEADERS, END_STREAM | END_HEADERS, sid);
    return n;
}

/* What came back on one connection, frame by frame. */
struct h2_seen {
    int status[64];     /* by stream id / 2: the first HPACK byte of its HEADERS (0x88 is 200) */
    double done_ms[64]; /* when its END_STREAM arrived */
    int rst[64];
    int goaway, settings, ended;
    size_t data_bytes;
};

/* Reads frames until `want` streams ended, a GOAWAY, or the connection ends. */
static void h2_read(struct client *c, int64_t t0, int want, struct h2_seen *s)
{
    int done = 0;
    while (done < want && !s->goaway) {
        while (c->len < 9 || c->len < 9 + ((size_t)c->buf[0] << 16 | (size_t)c->buf[1] << 8 |
                                           (size_t)c->buf[2])) {
            ssize_t n = cl_read(c, c->buf + c->len, sizeof c->buf - c->len);
            if (n <= 0) {
                s->ended = 1;
                return;
            }
            c->len += (size_t)n;
        }
        size_t len = (size_t)c->buf[0] << 16 | (size_t)c->buf[1] << 8 | c->buf[2];
        int type = c->buf[3], flags = c->buf[4];
        uint32_t sid = (uint32_t)c->buf[5] << 24 | (uint32_t)c->buf[6] << 16 |
                       (uint32_t)c->buf[7] << 8 | c->buf[8];
        size_t i = sid / 2 < 64 ? sid / 2 : 63;
        if (type == F_HEADERS && len) s->status[i] = c->buf[9];
        if (type == F_DATA) s->data_bytes += len;
        if (type == F_SETTINGS) s->settings++;
        if (type == F_GOAWAY) s->goaway = 1;
        if (type == F_RST) s->rst[i] = 1, done++;
        if ((type == F_DATA || type == F_HEADERS) && (flags & END_STREAM)) {
            s->done_ms[i] = ms_since(t0);
            done++;
        }
        memmove(c->buf, c->buf + 9 + len, c->len - 9 - len);
        c->len -= 9 + len;
    }
}

/* The preface, then SETTINGS and WINDOW_UPDATE that open the windows wide (so that bodies
 * flow without further updates). Returns the bytes written to b. */
static size_t h2_hello(unsigned char *b)
{
    size_t k = sizeof preface - 1;
    memcpy(b, preface, k);
    k += frame(b + k, 6, F_SETTINGS, 0, 0);
    const unsigned char iw[] = {0x00, 0x04, 0x7f, 0xff, 0xff, 0xff}; /* INITIAL_WINDOW_SIZE */
    memcpy(b + k, iw, sizeof iw);
    k += sizeof iw;
    k += frame(b + k, 4, 8 /* WINDOW_UPDATE */, 0, 0);
    const unsigned char inc[] = {0x7f, 0xff, 0x00, 0x00};
    memcpy(b + k, inc, sizeof inc);
    return k + sizeof inc;
}

/* Sends the preface and n GETs of path on streams 1, 3, 5, ... */
static void h2_send_gets(struct client *c, int n, const char *path)
{
    unsigned char b[8192];
    size_t k = h2_hello(b);
    for (int i = 0; i < n; i++)
        k += get_frame(b + k, (uint32_t)(2 * i + 1), path);
    cl_write(c, b, k);
}

static double max_done(const struct h2_seen *s, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        if (s->done_ms[i] > m) m = s->done_ms[i];
    return m;
}

static void test_start_errors(void)
{
    struct target_opts o;
    struct target *t = NULL;
    char err[512];
    struct {
        const char *cert, *key, *want;
    } bad[] = {
        {srv_pem, "", "tls_key"},
        {"", srv_key, "tls_cert"},
        {"/nonexistent/x.pem", srv_key, "tls_cert: /nonexistent/x.pem"},
        {srv_key, srv_key, "tls_cert"},
        {srv_pem, other_key, "tls_key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        target_opts_default(&o);
        o.port = 0;
        snprintf(o.tls_cert, sizeof o.tls_cert, "%s", bad[i].cert);
        snprintf(o.tls_key, sizeof o.tls_key, "%s", bad[i].key);
        err[0] = '\0';
        CHECK(target_start(&o, &t, err, sizeof err) == -1 && !t && strstr(err, bad[i].want),
              "case %zu: '%s' (want '%s')", i, err, bad[i].want);
    }
    target_opts_default(&o);
    CHECK(target_opts_fault(&o, "tls_hang", err, sizeof err) == 0 &&
              o.tls_fault == TARGET_TLS_HANG && o.fault == 0,
          "tls_hang");
    CHECK(target_opts_fault(&o, "reset", err, sizeof err) == 0 && o.fault == FAULT_RESET, "reset");
    CHECK(target_opts_fault(&o, "tls_nope", err, sizeof err) == -1 && strstr(err, "fault") &&
              strstr(err, "tls_close"),
          "unknown: '%s'", err);
}

/* HTTPS: ALPN picks h2 when offered, http/1.1 otherwise; HTTP/1.1 over TLS is answered. */
static void test_tls_http1_and_alpn(void)
{
    struct target *t = start(3, 0, 1, 0);
    int port = target_port(t);
    struct client c;
    char why[512] = "";
    CHECK(tls_open(&c, port, "\x08http/1.1", 9, 10000, why, sizeof why) == 0, "%s", why);
    CHECK(!strcmp(c.alpn, "http/1.1"), "alpn '%s'", c.alpn);
    const char *req = "GET /?status=201 HTTP/1.1\r\nHost: localhost\r\n\r\n";
    cl_write(&c, req, strlen(req));
    CHECK(cl_until(&c, TARGET_BODY) && !memcmp(c.buf, "HTTP/1.1 201 ", 13), "'%.*s'", (int)c.len,
          c.buf);
    c.len = 0; /* keep-alive: a second request on the same TLS connection */
    cl_write(&c, req, strlen(req));
    CHECK(cl_until(&c, TARGET_BODY), "second request over TLS");
    cl_close(&c);

    CHECK(tls_open(&c, port, "\x02h2\x08http/1.1", 12, 10000, why, sizeof why) == 0, "%s", why);
    CHECK(!strcmp(c.alpn, "h2"), "alpn '%s'", c.alpn);
    struct h2_seen s = {0};
    int64_t t0 = clock_us();
    h2_send_gets(&c, 1, "/?bytes=100000");
    h2_read(&c, t0, 1, &s);
    CHECK(s.status[0] == 0x88 && s.data_bytes == 100000 && !s.goaway, "h2 over TLS: %#x, %zu",
          s.status[0], s.data_bytes);
    cl_close(&c);

    /* No ALPN at all: HTTP/1.1. */
    CHECK(tls_open(&c, port, NULL, 0, 10000, why, sizeof why) == 0 && !c.alpn[0], "%s", why);
    cl_write(&c, req, strlen(req));
    CHECK(cl_until(&c, TARGET_BODY), "no ALPN: HTTP/1.1");
    cl_close(&c);
    target_stop(t);
}

/* The model counts streams: 3 at once over one connection with W=3 take D, 6 take 2 D; and W
 * is shared with HTTP/1.1 clients on the same port. Over TLS (h2) and h2c alike. */
static void test_streams_share_workers(int tls)
{
    struct target *t = start(3, 300, tls, 0);
    int port = target_port(t);
    char why[512] = "";
    for (int n = 3; n <= 6; n += 3) {
        struct client c;
        if (tls)
            CHECK(tls_open(&c, port, "\x02h2", 3, 10000, why, sizeof why) == 0, "%s", why);
        else
            CHECK(tcp_open(&c, port, 10000) == 0, "connect");
        struct h2_seen s = {0};
        int64_t t0 = clock_us();
        h2_send_gets(&c, n, "/");
        h2_read(&c, t0, n, &s);
        double ms = max_done(&s, n);
        int ok = 1;
        for (int i = 0; i < n; i++)
            ok &= s.status[i] == 0x88;
        CHECK(ok && !s.goaway && !s.ended, "%s, %d streams: all 200", tls ? "h2" : "h2c", n);
        CHECK(ms >= n / 3 * 300 - 5 && ms < n / 3 * 300 + 250, "%s, %d streams took %.1f ms",
              tls ? "h2" : "h2c", n, ms);
        cl_close(&c);
    }

    /* 3 streams and 3 HTTP/1.1 requests at once with W=3: 6 requests, 600 ms. */
    struct client h2c, h1[3];
    if (tls)
        tls_open(&h2c, port, "\x02h2", 3, 10000, why, sizeof why);
    else
        tcp_open(&h2c, port, 10000);
    int64_t t0 = clock_us();
    h2_send_gets(&h2c, 3, "/");
    const char *req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < 3; i++) {
        if (tls)
            tls_open(&h1[i], port, "\x08http/1.1", 9, 10000, why, sizeof why);
        else
            tcp_open(&h1[i], port, 10000);
        cl_write(&h1[i], req, strlen(req));
    }
    struct h2_seen s = {0};
    h2_read(&h2c, t0, 3, &s);
    double last = max_done(&s, 3);
    for (int i = 0; i < 3; i++) {
        CHECK(cl_until(&h1[i], TARGET_BODY), "HTTP/1.1 client %d answered", i);
        if (ms_since(t0) > last) last = ms_since(t0);
        cl_close(&h1[i]);
    }
    CHECK(last >= 595 && last < 900, "%s: 3 streams + 3 HTTP/1.1 requests took %.1f ms (W=3)",
          tls ? "h2" : "h2c", last);
    cl_close(&h2c);
    target_stop(t);
}

/* h2c on a plain port that keeps answering HTTP/1.1; overrides and faults per stream. */
static void test_h2c_overrides_and_faults(void)
{
    struct target *t = start(1, 0, 0, 0);
    int port = target_port(t);
    struct client c;
    tcp_open(&c, port, 10000);
    const char *req = "GET /?delay_ms=0 HTTP/1.1\r\nHost: t\r\n\r\n";
    cl_write(&c, req, strlen(req));
    CHECK(cl_until(&c, TARGET_BODY), "HTTP/1.1 on the h2c port");
    cl_close(&c);

    const struct {
        const char *path;
        int status, rst, goaway_or_end;
        size_t data;
    } cases[] = {
        {"/?status=404&bytes=7", 0x8d, 0, 0, 7},         /* 404 is static index 13 */
        {"/?delay_ms=abc", 0x8c, 0, 0, 0},               /* 400 is 12; body: message */
        {"/?status=204", 0x89, 0, 0, 0},                 /* 204 is 9 */
        {"/?fault=reset", 0, 1, 0, 0},                   /* RST_STREAM */
        {"/?fault=close_early", 0, 0, 1, 0},             /* the connection ends */
        {"/?fault=garbage", 0, 0, 1, 0},                 /* junk, then the end */
        {"/?fault=bad_length&bytes=10", 0x88, 0, 0, 10}, /* 10 bytes under a length of 110 */
        {"/?fault=slow_body&bytes=3", 0x88, 0, 0, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tcp_open(&c, port, 10000);
        struct h2_seen s = {0};
        int64_t t0 = clock_us();
        h2_send_gets(&c, 1, cases[i].path);
        h2_read(&c, t0, 1, &s);
        CHECK(s.status[0] == cases[i].status && s.rst[0] == cases[i].rst &&
                  (s.goaway || s.ended) == cases[i].goaway_or_end &&
                  (cases[i].status != 0x8c || s.data_bytes > 20) &&
                  (cases[i].status == 0x8c || s.data_bytes == cases[i].data),
              "%s: status %#x rst %d goaway %d ended %d data %zu", cases[i].path, s.status[0],
              s.rst[0], s.goaway, s.ended, s.data_bytes);
        if (strstr(cases[i].path, "slow_body"))
            CHECK(s.done_ms[0] >= 290, "slow_body ended at %.1f ms", s.done_ms[0]);
        cl_close(&c);
    }

    /* hang: no answer, and the only worker is free for the next stream at once. */
    tcp_open(&c, port, 10000);
    struct h2_seen s = {0};
    int64_t t0 = clock_us();
    unsigned char b[512];
    size_t k = h2_hello(b);
    k += get_frame(b + k, 1, "/?fault=hang");
    k += get_frame(b + k, 3, "/?delay_ms=100");
    cl_write(&c, b, k);
    h2_read(&c, t0, 1, &s);
    CHECK(s.status[1] == 0x88 && !s.status[0] && s.done_ms[1] < 400,
          "hang: the next stream got the worker (%.1f ms)", s.done_ms[1]);
    cl_close(&c);
    target_stop(t);
}

/* --fault NAME: every request that names no fault takes it, over HTTP/1.1 and HTTP/2. */
static void test_server_wide_fault(void)
{
    struct target_opts o;
    target_opts_default(&o);
    o.port = 0;
    o.delay_ms = 0;
    char err[256];
    CHECK(target_opts_fault(&o, "close_early", err, sizeof err) == 0, "%s", err);
    struct target *t = start_opts(&o);
    int port = target_port(t);
    struct client c;
    tcp_open(&c, port, 10000);
    const char *req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    cl_write(&c, req, strlen(req));
    CHECK(!cl_until(&c, "HTTP/1.1") && c.len == 0, "HTTP/1.1: closed without an answer");
    cl_close(&c);
    tcp_open(&c, port, 10000);
    req = "GET /?fault=slow_body&bytes=2 HTTP/1.1\r\nHost: t\r\n\r\n";
    cl_write(&c, req, strlen(req));
    CHECK(cl_until(&c, "\r\n\r\nTh"), "a request's own fault wins");
    cl_close(&c);
    tcp_open(&c, port, 10000);
    struct h2_seen s = {0};
    h2_send_gets(&c, 1, "/");
    h2_read(&c, clock_us(), 1, &s);
    CHECK(s.ended && !s.status[0], "HTTP/2: the connection ends without an answer");
    cl_close(&c);
    tcp_open(&c, port, 10000);
    memset(&s, 0, sizeof s);
    h2_send_gets(&c, 1, "/?fault=reset");
    h2_read(&c, clock_us(), 1, &s);
    CHECK(s.rst[0] && !s.ended, "HTTP/2: the stream's own fault wins");
    cl_close(&c);
    target_stop(t);
}

/* Each TLS fault fails the client's handshake within a bound, and the target stays up. */
static void test_tls_faults(void)
{
    const struct {
        int fault;
        const char *want; /* in the client's reason */
        double max_ms;
    } cases[] = {
        {TARGET_TLS_BAD_CERT, "verify 18", 2000}, /* self-signed */
        {TARGET_TLS_HANG, "handshake", 2500},     /* the client's 1 s timeout */
        {TARGET_TLS_CLOSE, "handshake", 2000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct target *t =
            start(3, 0, cases[i].fault == TARGET_TLS_BAD_CERT ? 0 : 1, cases[i].fault);
        struct client c;
        char why[512] = "";
        int64_t t0 = clock_us();
        int rc = tls_open(&c, target_port(t), "\x02h2", 3, 1000, why, sizeof why);
        double ms = ms_since(t0);
        CHECK(rc == -1 && strstr(why, cases[i].want) && ms < cases[i].max_ms,
              "%s: rc %d after %.1f ms: %s", target_tls_fault_name(cases[i].fault), rc, ms, why);
        cl_close(&c);
        target_stop(t);
    }
}

/* Hostile input: garbage after the preface, an oversized and an endless header block, frames
 * of lies, a ClientHello that is not one. The server ends those connections and keeps
 * serving everybody else. */
static void check_still_serving(int port, int tls, const char *after)
{
    struct client c;
    char why[512] = "";
    if (tls)
        CHECK(tls_open(&c, port, "\x02h2", 3, 10000, why, sizeof why) == 0, "%s: %s", after, why);
    else
        tcp_open(&c, port, 10000);
    struct h2_seen s = {0};
    h2_send_gets(&c, 1, "/?delay_ms=0");
    h2_read(&c, clock_us(), 1, &s);
    CHECK(s.status[0] == 0x88, "still serving after %s", after);
    cl_close(&c);
}

static void test_hostile(void)
{
    struct target *t = start(3, 0, 0, 0);
    int port = target_port(t);
    static unsigned char b[1 << 20];
    struct client c;

    tcp_open(&c, port, 10000);
    memcpy(b, preface, sizeof preface - 1);
    memset(b + sizeof preface - 1, 0xA5, 4000);
    cl_write(&c, b, sizeof preface - 1 + 4000);
    CHECK(cl_ends(&c), "garbage after the preface: the connection ends");
    cl_close(&c);
    check_still_serving(port, 0, "garbage after the preface");

    /* A HEADERS frame over the default maximum frame size (16384). */
    tcp_open(&c, port, 10000);
    size_t k = sizeof preface - 1;
    memcpy(b, preface, k);
    k += frame(b + k, 0, F_SETTINGS, 0, 0);
    k += frame(b + k, 100000, F_HEADERS, END_STREAM | END_HEADERS, 1);
    memset(b + k, 0x40, 100000);
    cl_write(&c, b, k + 100000);
    CHECK(cl_ends(&c), "an oversized HEADERS frame: the connection ends");
    cl_close(&c);
    check_still_serving(port, 0, "an oversized HEADERS frame");

    /* A header block of 60 frames of 16 KB (HEADERS then CONTINUATION): one huge literal
     * field after another. Answered 431, or reset; never a crash. */
    tcp_open(&c, port, 10000);
    k = sizeof preface - 1;
    memcpy(b, preface, k);
    k += frame(b + k, 0, F_SETTINGS, 0, 0);
    for (int f = 0; f < 60; f++) {
        size_t h = k;
        k += 9;
        for (int j = 0; j < 4; j++) { /* literal x-big: 4000 'a' without indexing */
            /* the length 4000 as an HPACK integer: 127, then 3873 in 7-bit groups */
            unsigned char lit[] = {0x00, 5, 'x', '-', 'b', 'i', 'g', 0x7f, 0xa1, 0x1e};
            memcpy(b + k, lit, sizeof lit);
            k += sizeof lit;
            memset(b + k, 'a', 4000);
            k += 4000;
        }
        frame(b + h, k - h - 9, f == 0 ? F_HEADERS : F_CONT, f == 59 ? END_HEADERS : 0, 1);
        if (f == 0) b[h + 4] |= END_STREAM;
    }
    cl_write(&c, b, k);
    struct h2_seen s = {0};
    h2_read(&c, clock_us(), 1, &s);
    /* 431 is no static entry: a literal with the name :status (0x48), or a reset */
    CHECK(s.status[0] == 0x48 || s.rst[0] || s.goaway || s.ended, "a huge header block: status %#x",
          s.status[0]);
    cl_close(&c);
    check_still_serving(port, 0, "a huge header block");

    /* Random frames after a valid preface: every type, lying lengths and ids. */
    srand(42);
    for (int round = 0; round < 30; round++) {
        tcp_open(&c, port, 2000);
        k = sizeof preface - 1;
        memcpy(b, preface, k);
        for (int f = 0; f < 20; f++) {
            size_t len = (size_t)(rand() % 64);
            k += frame(b + k, len, rand() % 12, rand() & 0xff, (uint32_t)(rand() % 8));
            for (size_t j = 0; j < len; j++)
                b[k++] = (unsigned char)rand();
        }
        cl_write(&c, b, k);
        shutdown(c.fd, SHUT_WR);
        cl_ends(&c);
        cl_close(&c);
    }
    check_still_serving(port, 0, "random frames");
    target_stop(t);

    /* A TLS port: a record header then junk, and a ClientHello cut short. */
    t = start(3, 0, 1, 0);
    port = target_port(t);
    tcp_open(&c, port, 10000);
    unsigned char hello[] = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03};
    memcpy(b, hello, sizeof hello);
    memset(b + sizeof hello, 0xee, 0x40);
    cl_write(&c, b, sizeof hello + 0x40);
    CHECK(cl_ends(&c), "a bad ClientHello: the connection ends");
    cl_close(&c);
    tcp_open(&c, port, 10000);
    cl_write(&c, hello, sizeof hello);
    close(c.fd);
    tcp_open(&c, port, 10000);
    cl_write(&c, "GET / HTTP/1.1\r\n\r\n", 18);
    CHECK(cl_ends(&c), "plain HTTP to the TLS port: the connection ends");
    cl_close(&c);
    check_still_serving(port, 1, "bad ClientHellos");
    target_stop(t);
}

int main(void)
{
    make_pki();
    test_start_errors();
    test_tls_http1_and_alpn();
    test_streams_share_workers(0);
    test_streams_share_workers(1);
    test_h2c_overrides_and_faults();
    test_server_wide_fault();
    test_tls_faults();
    test_hostile();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)!system(cmd);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("test_target_tls: all passed");
    return 0;
}
