/* Helpers of the target's TLS and HTTP/2 tests (test_target_tls.c, test_target_h2.c): a
 * throwaway CA made with the `openssl` tool, blocking clients (plain or OpenSSL, verifying that
 * CA) with timeouts so that no test can hang, and HTTP/2 frames written and read by hand, so
 * that what the server sends is seen byte by byte. */
#ifndef CONLAB_TEST_TARGET_WIRE_H
#define CONLAB_TEST_TARGET_WIRE_H

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

#include "checks.h"
#include "target.h"
#include "target_http.h"
#include "util.h"


static char dir[64], ca_pem[128], srv_pem[128], srv_key[128], other_key[128], cli_pem[128],
    cli_key[128];

static inline double ms_since(int64_t t0)
{
    return (double)(clock_us() - t0) / 1000.0;
}

/* A CA, a server certificate it signs for localhost and 127.0.0.1, and an unrelated key. */
static inline void make_pki(void)
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
    snprintf(cli_pem, sizeof cli_pem, "%s/cli.pem", dir);
    snprintf(cli_key, sizeof cli_key, "%s/cli.key", dir);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout ca.key -out ca.pem -days 2 -subj '/CN=conlab test CA' && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key "
             "-out srv.csr -subj '/CN=localhost' && "
             "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext && "
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out srv.pem -days 2 -extfile ext && "
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout cli.key "
             "-out cli.csr -subj '/CN=client' && "
             "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out cli.pem -days 2",
             dir);
    memmove(cmd + 1, cmd, strlen(cmd) + 1);
    cmd[0] = '(';
    strcat(cmd, ") >/dev/null 2>&1");
    if (system(cmd) != 0) {
        fprintf(stderr, "openssl failed to make the test certificates\n");
        exit(1);
    }
}

static inline struct target *start_opts(struct target_opts *o)
{
    struct target *t = NULL;
    char err[512];
    if (target_start(o, &t, err, sizeof err)) {
        fprintf(stderr, "target_start: %s\n", err);
        exit(1);
    }
    return t;
}

static inline struct target *start(int64_t workers, int64_t delay_ms, int tls, int tls_fault)
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

static inline int tcp_open(struct client *c, int port, int timeout_ms)
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
static int with_client_cert; /* tls_open shows cli.pem */

static inline int tls_open(struct client *c, int port, const char *alpn, size_t alpn_len,
                           int timeout_ms, char *why, size_t whylen)
{
    if (tcp_open(c, port, timeout_ms)) return errf(why, whylen, "connect: %s", strerror(errno));
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (with_client_cert) {
        SSL_CTX_use_certificate_chain_file(c->ctx, cli_pem);
        SSL_CTX_use_PrivateKey_file(c->ctx, cli_key, SSL_FILETYPE_PEM);
    }
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

static inline void cl_close(struct client *c)
{
    if (c->ssl) SSL_free(c->ssl);
    if (c->ctx) SSL_CTX_free(c->ctx);
    close(c->fd);
    c->ssl = NULL;
    c->ctx = NULL;
}

static inline int cl_write(struct client *c, const void *p, size_t n)
{
    if (!c->ssl) return write_all(c->fd, p, n);
    return SSL_write(c->ssl, p, (int)n) == (int)n ? 0 : -1;
}

static inline ssize_t cl_read(struct client *c, void *p, size_t n)
{
    if (!c->ssl) return recv(c->fd, p, n, 0);
    int r = SSL_read(c->ssl, p, (int)n);
    ERR_clear_error();
    return r > 0 ? r : r == 0 ? 0 : -1;
}

/* Reads until the buffer holds `what` or the connection ends; 1 when found. */
static inline int cl_until(struct client *c, const char *what)
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
static inline int cl_ends(struct client *c)
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

static inline size_t frame(unsigned char *out, size_t len, int type, int flags, uint32_t sid)
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
static inline size_t get_frame(unsigned char *out, uint32_t sid, const char *path)
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
static inline void h2_read(struct client *c, int64_t t0, int want, struct h2_seen *s)
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
static inline size_t h2_hello(unsigned char *b)
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
static inline void h2_send_gets(struct client *c, int n, const char *path)
{
    unsigned char b[8192];
    size_t k = h2_hello(b);
    for (int i = 0; i < n; i++)
        k += get_frame(b + k, (uint32_t)(2 * i + 1), path);
    cl_write(c, b, k);
}

static inline double max_done(const struct h2_seen *s, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        if (s->done_ms[i] > m) m = s->done_ms[i];
    return m;
}

/* A short HTTP/2 request on a new connection is answered 200: the server survived `after`. */
static inline void check_still_serving(int port, int tls, const char *after)
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

/* Removes the certificates; prints the closing line; returns the exit status. */
static inline int wire_done(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)!system(cmd);
    return checks_done(name);
}

#endif
