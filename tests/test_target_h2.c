/* conlab-test: serial (it asserts times: the model's D per stream; see tests/tests.cmake) */
/* The demo server's HTTP/2 over real loopback sockets (helpers in target_wire.h): the talk's
 * model counted per stream (h2c and h2 over TLS) and across protocols, the per-request
 * overrides and faults per stream, --fault, and hostile frames that must never bring the server
 * down. The scenarios that wait (the model's D, slow bodies) run at once, each on its own
 * target. */
#include <pthread.h>

#include "at_once.h"
#include "target_wire.h"

/* The model counts streams: n at once over one connection with W=3 take n / 3 D (D = 300 ms).
 * Over TLS (h2) and h2c alike. */
static void test_streams_take_turns(int tls, int n)
{
    struct target *t = start(3, 300, tls, 0);
    int port = target_port(t);
    char why[512] = "";
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
    target_stop(t);
}

/* W is shared with HTTP/1.1 clients on the same port: 3 streams and 3 HTTP/1.1 requests at
 * once with W=3 are 6 requests, 600 ms. */
static void test_streams_share_workers(int tls)
{
    struct target *t = start(3, 300, tls, 0);
    int port = target_port(t);
    char why[512] = "";
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

/* Hostile HTTP/2 input: garbage after the preface, an oversized and an endless header block,
 * frames of lies. The server ends those connections and keeps serving everybody else. */
static void test_hostile_h2(void)
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
}

static void h2c_3_streams(void)
{
    test_streams_take_turns(0, 3);
}
static void h2c_6_streams(void)
{
    test_streams_take_turns(0, 6);
}
static void h2_3_streams(void)
{
    test_streams_take_turns(1, 3);
}
static void h2_6_streams(void)
{
    test_streams_take_turns(1, 6);
}
static void h2c_and_http1(void)
{
    test_streams_share_workers(0);
}
static void h2_and_http1(void)
{
    test_streams_share_workers(1);
}

int main(void)
{
    make_pki();
    test_hostile_h2(); /* alone: it keeps the server busy with a megabyte of frames */
    static scenario *const waiting[] = {
        h2c_3_streams,
        h2c_6_streams,
        h2_3_streams,
        h2_6_streams,
        h2c_and_http1,
        h2_and_http1,
        test_h2c_overrides_and_faults,
        test_server_wide_fault,
    };
    run_at_once(waiting, (int)(sizeof waiting / sizeof waiting[0]));
    return wire_done("test_target_h2");
}
