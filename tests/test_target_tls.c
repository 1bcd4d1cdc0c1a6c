/* The demo server's TLS over real loopback sockets (helpers in target_wire.h): options and
 * their errors, ALPN (h2, http/1.1, none), HTTP/1.1 and h2 over TLS, mTLS, the TLS faults, and
 * hostile TLS input that must never bring the server down. */
#include "target_wire.h"

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

/* --tls-client-ca: a client without a certificate signed by that CA gets no answer (TLS 1.3
 * ends its handshake before the server's verdict, so the refusal is an alert on the first
 * read); one with such a certificate is served, over HTTP/1.1 and h2. */
static void test_mtls(void)
{
    struct target_opts o;
    target_opts_default(&o);
    o.port = 0;
    o.delay_ms = 0;
    snprintf(o.tls_cert, sizeof o.tls_cert, "%s", srv_pem);
    snprintf(o.tls_key, sizeof o.tls_key, "%s", srv_key);
    snprintf(o.tls_client_ca, sizeof o.tls_client_ca, "%s", ca_pem);
    struct target *t = start_opts(&o);
    int port = target_port(t);
    const char *req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    struct client c;
    char why[512] = "";
    int rc = tls_open(&c, port, "\x08http/1.1", 9, 5000, why, sizeof why);
    if (rc == 0) {
        cl_write(&c, req, strlen(req));
        rc = cl_until(&c, TARGET_BODY) ? 0 : -1;
    }
    CHECK(rc == -1, "mTLS: a client without a certificate was answered");
    cl_close(&c);
    with_client_cert = 1;
    CHECK(tls_open(&c, port, "\x08http/1.1", 9, 5000, why, sizeof why) == 0, "%s", why);
    cl_write(&c, req, strlen(req));
    CHECK(cl_until(&c, TARGET_BODY), "mTLS: HTTP/1.1 with a client certificate");
    cl_close(&c);
    CHECK(tls_open(&c, port, "\x02h2", 3, 5000, why, sizeof why) == 0, "%s", why);
    struct h2_seen s = {0};
    h2_send_gets(&c, 1, "/");
    h2_read(&c, clock_us(), 1, &s);
    CHECK(s.status[0] == 0x88, "mTLS: h2 with a client certificate");
    cl_close(&c);
    with_client_cert = 0;
    target_stop(t);

    target_opts_default(&o);
    o.port = 0;
    snprintf(o.tls_client_ca, sizeof o.tls_client_ca, "%s", ca_pem);
    t = NULL;
    CHECK(target_start(&o, &t, why, sizeof why) == -1 && !t && strstr(why, "tls_client_ca"),
          "tls_client_ca alone: '%s'", why);
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

/* Hostile TLS input: a ClientHello that is not one, one cut short, plain HTTP to the TLS port.
 * Each connection ends; the server keeps serving. */
static void test_hostile_tls(void)
{
    static unsigned char b[4096];
    struct client c;
    struct target *t = start(3, 0, 1, 0);
    int port = target_port(t);
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
    test_mtls();
    test_tls_faults();
    test_hostile_tls();
    return wire_done("test_target_tls");
}
