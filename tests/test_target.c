/* conlab-test: serial (it asserts times: see tests/tests.cmake) */
/* The demo server over real loopback sockets: worker limit and FIFO timing, keep-alive,
 * pipelining, overrides, idle and dropped connections, thousands of connections (faults and
 * malformed requests: test_target_faults.c). The
 * scenarios that mostly wait (delays, timeouts) run at once, each on its own target; those that
 * keep both cores busy run alone, before them. */
#include "at_once.h"
#include "target_client.h"

static void test_worker_limit(void)
{
    struct target *t = start(2, 200);
    struct job jobs[3];
    run_jobs(jobs, 3, target_port(t), "/", 0);
    double d[3];
    for (int i = 0; i < 3; i++) {
        CHECK(jobs[i].status == 200, "status %d", jobs[i].status);
        d[i] = jobs[i].done_ms;
    }
    qsort(d, 3, sizeof d[0], cmp_double);
    CHECK(d[0] >= 195 && d[1] < 330, "first two at %.1f, %.1f ms (want ~200)", d[0], d[1]);
    CHECK(d[2] >= 395 && d[2] < 560, "third at %.1f ms (want ~400)", d[2]);

    /* Arrival order: with one worker, staggered requests finish in the order they came. One
     * thread sends them 20 ms apart, so they arrive in that order however a busy machine
     * schedules threads, then reads the answers in the same order. */
    target_stop(t);
    t = start(1, 100);
    struct client *seq = malloc(4 * sizeof *seq);
    int64_t t0 = clock_us();
    for (int i = 0; i < 4; i++) {
        clock_sleep_until(t0 + i * 20000);
        CHECK(cl_open(&seq[i], target_port(t)) == 0 &&
                  cl_send(&seq[i], "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n") == 0,
              "request %d sent", i);
    }
    for (int i = 0; i < 4; i++) {
        struct resp r;
        CHECK(cl_read(&seq[i], &r, 0) == 0 && r.status == 200, "request %d: status %d", i,
              r.status);
        double done = ms_since(t0);
        CHECK(done >= 100.0 * (i + 1) - 5 && done < 100.0 * (i + 1) + 120,
              "request %d done at %.1f ms (want ~%d)", i, done, 100 * (i + 1));
        free(r.body);
        close(seq[i].fd);
    }
    free(seq);
    target_stop(t);
}

static void test_body_and_keepalive(void)
{
    struct target *t = start(2, 0);
    struct client *c = malloc(sizeof *c);
    struct resp r;
    CHECK(cl_open(c, target_port(t)) == 0, "connect");
    for (int i = 0; i < 5; i++) {
        CHECK(cl_send(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n") == 0, "send %d", i);
        CHECK(cl_read(c, &r, 0) == 0 && r.status == 200, "keep-alive request %d", i);
        CHECK(r.body && !strcmp(r.body, "This is a slow web api"), "body '%s'", r.body);
        CHECK(r.content_length == 22 && !r.closing, "headers");
        free(r.body);
    }
    /* A body is read and discarded; the next request on the connection is intact. */
    cl_send(c, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789");
    CHECK(cl_read(c, &r, 0) == 0 && r.status == 200, "POST with body");
    free(r.body);
    char *big = malloc(1 << 20);
    memset(big, 'x', 1 << 20);
    cl_send(c, "PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n");
    write_all(c->fd, big, 1 << 20);
    free(big);
    CHECK(cl_read(c, &r, 0) == 0 && r.status == 200, "1 MiB body");
    free(r.body);
    cl_send(c, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(cl_read(c, &r, 1) == 0 && r.status == 200 && r.content_length == 22, "HEAD");
    free(r.body);
    /* Pipelined: three requests in one write, three answers in order. */
    cl_send(c, "GET /?bytes=1 HTTP/1.1\r\n\r\nGET /?bytes=2 HTTP/1.1\r\n\r\n"
               "GET /?bytes=3 HTTP/1.1\r\nConnection: close\r\n\r\n");
    for (int i = 1; i <= 3; i++) {
        CHECK(cl_read(c, &r, 0) == 0 && r.body_len == (size_t)i, "pipelined %d: %zu bytes", i,
              r.body_len);
        CHECK(r.closing == (i == 3), "pipelined %d: Connection header", i);
        free(r.body);
    }
    CHECK(cl_eof(c), "closed after Connection: close");
    close(c->fd);

    /* A long pipeline (more than the heads one read holds, more than one loop turn). */
    cl_open(c, target_port(t));
    enum { PIPE = 1000 };
    static char many[PIPE * 40];
    size_t ml = 0;
    for (int i = 0; i < PIPE; i++)
        ml += (size_t)sprintf(many + ml, "GET /?bytes=%d HTTP/1.1\r\n\r\n", i % 7);
    CHECK(write_all(c->fd, many, ml) == 0, "send pipeline");
    int in_order = 0;
    int64_t t0 = clock_us();
    for (int i = 0; i < PIPE; i++) {
        if (cl_read(c, &r, 0) == 0 && r.body_len == (size_t)(i % 7)) in_order++;
        free(r.body);
    }
    CHECK(in_order == PIPE, "%d of %d pipelined responses in order", in_order, PIPE);
    CHECK(ms_since(t0) < 2000, "pipeline of %d took %.1f ms", PIPE, ms_since(t0));
    close(c->fd);

    /* HTTP/1.0 closes unless it asks for keep-alive. */
    cl_open(c, target_port(t));
    cl_send(c, "GET / HTTP/1.0\r\n\r\n");
    CHECK(cl_read(c, &r, 0) == 0 && r.status == 200 && r.closing, "HTTP/1.0");
    free(r.body);
    CHECK(cl_eof(c), "HTTP/1.0 closed");
    close(c->fd);
    cl_open(c, target_port(t));
    for (int i = 0; i < 2; i++) {
        cl_send(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        CHECK(cl_read(c, &r, 0) == 0 && r.status == 200 && !r.closing, "HTTP/1.0 keep-alive %d", i);
        free(r.body);
    }
    close(c->fd);

    /* Expect: 100-continue is answered before the body is sent. */
    cl_open(c, target_port(t));
    cl_send(c, "POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    CHECK(cl_read(c, &r, 1) == 0 && r.status == 100, "100 Continue: %d", r.status);
    free(r.body);
    cl_send(c, "abc");
    CHECK(cl_read(c, &r, 0) == 0 && r.status == 200, "after 100 Continue");
    free(r.body);
    close(c->fd);
    free(c);
    target_stop(t);
}

/* A large body (5 MB: both cores busy for a moment, so it runs alone). */
static void test_large_body(void)
{
    struct target *t = start(4, 300);
    struct resp r;
    CHECK(get(target_port(t), "/?delay_ms=0&bytes=5000000&status=201", &r) == 201 &&
              r.body_len == 5000000,
          "bytes=5000000: %zu", r.body_len);
    int pattern_ok = 1;
    for (size_t i = 0; i < r.body_len && pattern_ok; i++)
        pattern_ok = r.body[i] == TARGET_BODY[i % TARGET_BODY_LEN];
    CHECK(pattern_ok, "large body repeats the sentence");
    free(r.body);
    target_stop(t);
}

static void test_overrides(void)
{
    struct target *t = start(4, 300);
    int port = target_port(t);
    struct resp r;
    int64_t t0 = clock_us();
    CHECK(get(port, "/?delay_ms=0&status=404", &r) == 404 && r.body_len == 22, "status=404");
    CHECK(ms_since(t0) < 150, "delay_ms=0 took %.1f ms", ms_since(t0));
    free(r.body);
    CHECK(get(port, "/?delay_ms=0&status=204", &r) == 204 && r.content_length == -1, "204");
    free(r.body);
    CHECK(get(port, "/?delay_ms=0&bytes=0", &r) == 200 && r.content_length == 0, "bytes=0");
    free(r.body);
    t0 = clock_us();
    CHECK(get(port, "/?delay_ms=450", &r) == 200, "delay_ms=450");
    CHECK(ms_since(t0) >= 448 && ms_since(t0) < 650, "delay_ms=450 took %.1f ms", ms_since(t0));
    free(r.body);

    static const char *bad[][2] = {
        {"/?delay_ms=abc", "delay_ms"}, {"/?delay_ms=3600001", "delay_ms"},
        {"/?delay_ms=-1", "delay_ms"},  {"/?status=99", "status"},
        {"/?status=600", "status"},     {"/?status", "status"},
        {"/?bytes=100000001", "bytes"}, {"/a?x=1&bytes=", "bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t0 = clock_us();
        CHECK(get(port, bad[i][0], &r) == 400, "%s -> %d", bad[i][0], r.status);
        CHECK(r.body && strstr(r.body, bad[i][1]), "%s: body '%s'", bad[i][0], r.body);
        CHECK(ms_since(t0) < 150, "%s answered without waiting (%.1f ms)", bad[i][0], ms_since(t0));
        free(r.body);
    }
    target_stop(t);
}

/* Idle keep-alive connections and half-sent heads hold no worker. */
static void test_idle_connections(void)
{
    struct target *t = start(1, 150);
    int port = target_port(t);
    enum { IDLE = 50 };
    struct client *cs = malloc(sizeof *cs * (IDLE + 5));
    struct resp r;
    for (int i = 0; i < IDLE; i++) {
        cl_open(&cs[i], port);
        cl_send(&cs[i], "GET /?delay_ms=0 HTTP/1.1\r\nHost: t\r\n\r\n");
        CHECK(cl_read(&cs[i], &r, 0) == 0 && r.status == 200, "idle %d first request", i);
        free(r.body);
    }
    for (int i = IDLE; i < IDLE + 5; i++) {
        cl_open(&cs[i], port);
        cl_send(&cs[i], "GET / HTTP/1.1\r\nHo");
    }
    int64_t t0 = clock_us();
    CHECK(get(port, "/", &r) == 200, "new request");
    free(r.body);
    CHECK(ms_since(t0) >= 145 && ms_since(t0) < 350, "took %.1f ms with %d idle (want ~150)",
          ms_since(t0), IDLE + 5);
    cl_send(&cs[7], "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(cl_read(&cs[7], &r, 0) == 0 && r.status == 200, "idle connection reused");
    free(r.body);
    for (int i = 0; i < IDLE + 5; i++)
        close(cs[i].fd);
    free(cs);
    target_stop(t);
}

/* A client that leaves while queued or while holding a worker gives it back at once. */
static void test_disconnect_frees_worker(void)
{
    struct target *t = start(1, 300);
    int port = target_port(t);
    struct client *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    struct resp r;

    /* a holds the only worker, then leaves: the next request starts at once. */
    int64_t t0 = clock_us();
    cl_open(a, port);
    cl_send(a, "GET / HTTP/1.1\r\n\r\n");
    usleep(50000);
    close(a->fd);
    usleep(20000);
    CHECK(get(port, "/", &r) == 200, "after a waiting client left");
    free(r.body);
    CHECK(ms_since(t0) < 70 + 300 + 120, "took %.1f ms (want ~370)", ms_since(t0));

    /* b queues behind a, then leaves: c is served right after a. */
    t0 = clock_us();
    cl_open(a, port);
    cl_send(a, "GET / HTTP/1.1\r\n\r\n");
    usleep(20000);
    cl_open(b, port);
    cl_send(b, "GET / HTTP/1.1\r\n\r\n");
    usleep(30000);
    close(b->fd);
    struct job c;
    run_jobs(&c, 1, port, "/", 0);
    CHECK(c.status == 200, "c status %d", c.status);
    CHECK(ms_since(t0) >= 595 && ms_since(t0) < 800, "c done at %.1f ms (want ~600, not 900)",
          ms_since(t0));
    CHECK(cl_read(a, &r, 0) == 0 && r.status == 200, "a served");
    free(r.body);
    close(a->fd);

    /* Stopping with connections in every state is clean (ASan checks the rest). */
    cl_open(a, port);
    cl_send(a, "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    cl_open(b, port);
    cl_send(b, "GET / HTTP/1.1\r\n\r\n");
    usleep(50000);
    t0 = clock_us();
    target_stop(t);
    CHECK(ms_since(t0) < 200, "stop took %.1f ms", ms_since(t0));
    CHECK(cl_gone(a) && cl_gone(b), "clients see the close");
    close(a->fd);
    close(b->fd);
    free(a);
    free(b);
}

/* N connections at once from one poll loop, each "GET /" with Connection: close. */
static int many(int port, int n, int64_t budget_us)
{
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    char(*got)[160] = calloc((size_t)n, sizeof *got);
    size_t *glen = calloc((size_t)n, sizeof *glen), *sent = calloc((size_t)n, sizeof *sent);
    static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++) {
        p[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (p[i].fd < 0) break;
        connect(p[i].fd, (struct sockaddr *)&a, sizeof a);
        p[i].events = POLLOUT;
    }
    int ok = 0, open_ = n;
    int64_t deadline = clock_us() + budget_us;
    while (open_ > 0 && clock_us() < deadline) {
        if (poll(p, (nfds_t)n, 100) < 0) break;
        for (int i = 0; i < n; i++) {
            if (p[i].fd < 0 || !p[i].revents) continue;
            int done = 0;
            if (p[i].events == POLLOUT) {
                ssize_t w = send(p[i].fd, req + sent[i], sizeof req - 1 - sent[i], MSG_NOSIGNAL);
                if (w < 0 && errno != EAGAIN) done = 1;
                if (w > 0 && (sent[i] += (size_t)w) == sizeof req - 1) p[i].events = POLLIN;
            } else {
                ssize_t r = recv(p[i].fd, got[i] + glen[i], sizeof got[i] - 1 - glen[i], 0);
                if (r > 0) glen[i] += (size_t)r;
                if (r == 0 || (r < 0 && errno != EAGAIN) || glen[i] == sizeof got[i] - 1) {
                    got[i][glen[i]] = '\0';
                    ok += !strncmp(got[i], "HTTP/1.1 200 ", 13) && strstr(got[i], TARGET_BODY);
                    done = 1;
                }
            }
            if (done) {
                close(p[i].fd);
                p[i].fd = -1;
                open_--;
            }
        }
    }
    for (int i = 0; i < n; i++)
        if (p[i].fd >= 0) close(p[i].fd);
    free(p);
    free(got);
    free(glen);
    free(sent);
    return ok;
}

static void test_many_connections(void)
{
    struct target *t = start(10000, 100);
    int64_t t0 = clock_us();
    int ok = many(target_port(t), 2000, 20000000);
    double took = ms_since(t0);
    CHECK(ok == 2000, "%d of 2000 concurrent connections answered", ok);
    CHECK(took < 5000, "2000 connections took %.1f ms", took);
    fprintf(stderr, "2000 concurrent connections, W=10000 D=100: %.1f ms\n", took);
    target_stop(t);
}

static void test_start_errors(void)
{
    struct target *a = start(1, 0), *b = NULL;
    struct target_opts o;
    target_opts_default(&o);
    o.port = target_port(a);
    char err[256] = "";
    CHECK(target_start(&o, &b, err, sizeof err) == -1 && !b, "second bind succeeded");
    CHECK(strstr(err, "in use") != NULL, "err '%s'", err);
    o.port = 0;
    o.workers = 0;
    CHECK(target_start(&o, &b, err, sizeof err) == -1 && strstr(err, "workers"), "workers 0");
    /* Two instances in one process serve independently. */
    struct target *c = start(1, 0);
    struct resp r;
    CHECK(get(target_port(a), "/", &r) == 200, "first instance");
    free(r.body);
    CHECK(get(target_port(c), "/", &r) == 200, "second instance");
    free(r.body);
    target_stop(c);
    target_stop(a);

    /* Idle connections are closed after idle_timeout_ms (checked once a second). */
    target_opts_default(&o);
    o.port = 0;
    o.idle_timeout_ms = 200;
    target_start(&o, &a, err, sizeof err);
    struct client *cl = malloc(sizeof *cl);
    cl_open(cl, target_port(a));
    int64_t t0 = clock_us();
    CHECK(cl_eof(cl) && ms_since(t0) < 2500, "idle close after %.1f ms", ms_since(t0));
    close(cl->fd);
    free(cl);
    target_stop(a);
}

int main(void)
{
    /* Alone: these keep the client's and the server's thread busy (bodies, pipelines, 2000
     * connections), which would shift the times the others check. */
    test_body_and_keepalive();
    test_large_body();
    test_many_connections();
    static scenario *const waiting[] = {
        test_start_errors,
        test_worker_limit,
        test_overrides,
        test_idle_connections,
        test_disconnect_frees_worker,
    };
    run_at_once(waiting, (int)(sizeof waiting / sizeof waiting[0]));
    return checks_done("test_target");
}
