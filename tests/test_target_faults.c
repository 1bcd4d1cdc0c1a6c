/* conlab-test: serial (it asserts times: see tests/tests.cmake) */
/* The demo target's faults on purpose (?fault=: reset, hang, slow_body, bad_length,
 * close_early, garbage) and its answers to malformed requests, over real loopback sockets. The
 * scenarios that wait (a hang, a slow body) run at once, each on its own target, after the
 * malformed requests, which keep both cores busy. */
#include "at_once.h"
#include "target_client.h"

/* Sends one request for `path` on a fresh connection and reads whatever comes back, until EOF,
 * a reset or `wait_ms`; returns the bytes received (got[] NUL-terminated) and sets *how to 0
 * (EOF), 1 (reset) or 2 (still open after wait_ms) and *ms to when that was seen. */
static size_t raw_get(int port, const char *path, int wait_ms, char *got, size_t cap, int *how,
                      double *ms)
{
    struct client *c = malloc(sizeof *c);
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    cl_open(c, port);
    int64_t t0 = clock_us();
    cl_send(c, req);
    size_t len = 0;
    *how = 2;
    for (;;) {
        int left = wait_ms - (int)ms_since(t0);
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0) break;
        ssize_t n = recv(c->fd, got + len, cap - 1 - len, 0);
        if (n == 0) {
            *how = 0;
            break;
        }
        if (n < 0) {
            *how = errno == ECONNRESET ? 1 : 2;
            break;
        }
        len += (size_t)n;
    }
    *ms = ms_since(t0);
    got[len] = '\0';
    close(c->fd);
    free(c);
    return len;
}

/* ?fault=: each goes wrong the way it says, on time, and leaves the target serving. */
static void test_faults(void)
{
    struct target *t = start(1, 0);
    int port = target_port(t);
    char got[4096];
    int how;
    double ms;
    raw_get(port, "/?fault=reset", 2000, got, sizeof got, &how, &ms);
    CHECK(how == 1 && !got[0], "reset: how %d, got '%s'", how, got);
    raw_get(port, "/?fault=close_early", 2000, got, sizeof got, &how, &ms);
    CHECK(how == 0 && !got[0], "close_early: how %d, got '%s'", how, got);
    raw_get(port, "/?fault=garbage", 2000, got, sizeof got, &how, &ms);
    CHECK(how == 0 && strncmp(got, "HTTP/", 5) && strstr(got, "not HTTP"), "garbage: '%s'", got);
    size_t n = raw_get(port, "/?fault=bad_length", 2000, got, sizeof got, &how, &ms);
    char *body = strstr(got, "\r\n\r\n");
    CHECK(how == 0 && strstr(got, "Content-Length: 122\r\n") && strstr(got, "Connection: close") &&
              body && n - (size_t)(body + 4 - got) == TARGET_BODY_LEN,
          "bad_length: how %d, '%s'", how, got);
    /* slow_body: the head at once, 5 body bytes about 100 ms apart; the worker is held. */
    n = raw_get(port, "/?fault=slow_body&bytes=5", 1000, got, sizeof got, &how, &ms);
    body = strstr(got, "\r\n\r\n");
    CHECK(body && n - (size_t)(body + 4 - got) == 5 && !strcmp(body + 4, "This "),
          "slow_body: '%s'", got);
    CHECK(how == 2 && ms >= 1000, "slow_body keeps the connection (how %d)", how);
    struct resp r;
    CHECK(get(port, "/?fault=nope", &r) == 400 && strstr(r.body, "fault="), "unknown fault: '%s'",
          r.body);
    free(r.body);
    target_stop(t);

    struct target_req q;
    const char *head = "GET /?FAULT=Reset&delay_ms=5 HTTP/1.1\r\n\r\n";
    CHECK(target_http_parse(head, strlen(head), &q) == 1 && q.fault == FAULT_RESET && !q.reject &&
              q.delay_ms == 5,
          "parse fault=Reset: %d", q.fault);
    CHECK(!strcmp(target_fault_name(FAULT_SLOW_BODY), "slow_body") && !target_fault_name(0),
          "fault names");
}

/* hang: nothing at all, and the only worker is free for the next request at once. */
static void test_hang(void)
{
    struct target *t = start(1, 0);
    int port = target_port(t);
    struct client *h = malloc(sizeof *h);
    cl_open(h, port);
    cl_send(h, "GET /?fault=hang HTTP/1.1\r\nHost: t\r\n\r\n");
    struct pollfd p = {.fd = h->fd, .events = POLLIN};
    CHECK(poll(&p, 1, 300) == 0, "hang: nothing within 300 ms");
    struct resp r;
    int64_t t0 = clock_us();
    CHECK(get(port, "/", &r) == 200 && ms_since(t0) < 200, "a hang holds no worker (%.1f ms)",
          ms_since(t0));
    free(r.body);
    close(h->fd);
    free(h);
    target_stop(t);
}

/* Timing of slow_body: 5 bytes take about 400-500 ms after the head. */
static void test_slow_body_timing(void)
{
    struct target *t = start(1, 0);
    int port = target_port(t);
    struct resp r;
    struct client *c = malloc(sizeof *c);
    cl_open(c, port);
    int64_t t0 = clock_us();
    cl_send(c, "GET /?fault=slow_body&bytes=5 HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(cl_read(c, &r, 0) == 0 && r.body_len == 5, "slow_body read");
    CHECK(ms_since(t0) >= 390 && ms_since(t0) < 1500, "slow_body took %.1f ms", ms_since(t0));
    free(r.body);
    close(c->fd);
    free(c);
    target_stop(t);
}

/* Sends raw bytes, expects one answer with `status` and then a close. */
static void expect_refused(int port, const char *raw, size_t len, int status)
{
    struct client *c = malloc(sizeof *c);
    struct resp r;
    cl_open(c, port);
    write_all(c->fd, raw, len);
    CHECK(cl_read(c, &r, 0) == 0 && r.status == status && r.closing, "%.20s... -> %d (want %d)",
          raw, r.status, status);
    free(r.body);
    CHECK(cl_eof(c), "closed after %d", status);
    close(c->fd);
    free(c);
}

static void test_malformed(void)
{
    struct target *t = start(2, 0);
    int port = target_port(t);
    size_t n = 20000;
    char *huge = malloc(n + 64);
    size_t k = (size_t)sprintf(huge, "GET / HTTP/1.1\r\nX-Big: ");
    memset(huge + k, 'a', n - k);
    memcpy(huge + n, "\r\n\r\n", 4);
    expect_refused(port, huge, n + 4, 431);
    free(huge);
    const char *chunked =
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    expect_refused(port, chunked, strlen(chunked), 411);
    expect_refused(port, "garbage\r\n\r\n", 11, 400);
    expect_refused(port, "GET / HTTP/2.0\r\n\r\n", 18, 505);
    const char *cls = "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    expect_refused(port, cls, strlen(cls), 400);
    struct resp r;
    CHECK(get(port, "/", &r) == 200, "still serving");
    free(r.body);
    target_stop(t);
}

int main(void)
{
    test_malformed(); /* alone: 20,000 bytes of bad heads keep the server busy */
    static scenario *const waiting[] = {test_faults, test_hang, test_slow_body_timing};
    run_at_once(waiting, (int)(sizeof waiting / sizeof waiting[0]));
    return checks_done("test_target_faults");
}
