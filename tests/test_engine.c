/* conlab-test: serial (it asserts times: see tests/tests.cmake) */
/* The engine against a small HTTP server of this test's own (a thread, so this process is
 * multi-threaded like the dashboard): a slow sink never stretches a mode, because records reach
 * it only after the mode's clock stopped and ticks come from a thread of the engine's own; and
 * from a multi-threaded caller, `processes` starts its workers through the exec'd `__workers`
 * starter (this binary answers `__workers` as conlab does), every request accounted for. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "check.h"
#include "spec.h"
#include "util.h"

#define DELAY_MS 20 /* every response of the test server */

static int server_port;

/* One connection: answers each request (its head ends with an empty line) after DELAY_MS. */
static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have - 1);
        if (n <= 0) break;
        have += (size_t)n;
        buf[have] = '\0';
        char *end;
        while ((end = strstr(buf, "\r\n\r\n"))) {
            struct timespec ts = {0, DELAY_MS * 1000000L};
            nanosleep(&ts, NULL);
            static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            if (write(fd, reply, sizeof reply - 1) < 0) goto out;
            size_t used = (size_t)(end + 4 - buf);
            memmove(buf, buf + used, have - used);
            have -= used;
            buf[have] = '\0';
        }
    }
out:
    close(fd);
    return NULL;
}

static void *serve(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
    return NULL;
}

static int start_server(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 128) ||
        getsockname(lfd, (struct sockaddr *)&a, &len))
        return -1;
    server_port = ntohs(a.sin_port);
    pthread_t t;
    return pthread_create(&t, NULL, serve, (void *)(intptr_t)lfd) ? -1 : 0;
}

struct seen {
    int64_t sleep_ms; /* every call of the sink sleeps this long */
    int64_t records, ticks, first_seq_ok, next_seq;
    int in_order;
    int workers_children; /* processes: what a tick saw below this process */
};

static void nap(int64_t ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The children of this process that run `__workers`, and how many children each has. */
static int starter_children(int *grandchildren)
{
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", getpid(), getpid());
    FILE *f = fopen(path, "r");
    int found = 0;
    *grandchildren = 0;
    if (!f) return 0;
    int pid;
    while (fscanf(f, "%d", &pid) == 1) {
        snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
        FILE *c = fopen(path, "r");
        size_t n = c ? fread(text, 1, sizeof text - 1, c) : 0;
        if (c) fclose(c);
        text[n] = '\0';
        if (n <= strlen(text) + 1 || strcmp(text + strlen(text) + 1, "__workers")) continue;
        found++;
        snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
        FILE *g = fopen(path, "r");
        int k;
        while (g && fscanf(g, "%d", &k) == 1)
            (*grandchildren)++;
        if (g) fclose(g);
    }
    fclose(f);
    return found;
}

static void on_tick(void *ctx, const struct bench_tick *t)
{
    struct seen *s = ctx;
    s->ticks++;
    if (t->mode == MODE_PROCESSES && !s->workers_children) {
        int grandchildren = 0;
        if (starter_children(&grandchildren) == 1) s->workers_children = grandchildren;
    }
    nap(s->sleep_ms);
}

static void on_records(void *ctx, enum bench_mode mode, const struct bench_record *r, size_t n,
                       const struct record_msgs *msgs)
{
    (void)mode, (void)msgs;
    struct seen *s = ctx;
    for (size_t i = 0; i < n; i++) {
        if (r[i].seq != s->next_seq++) s->in_order = 0;
        s->records++;
    }
    nap(s->sleep_ms);
}

static struct spec test_spec(int64_t requests, int64_t concurrency)
{
    char text[256];
    snprintf(
        text, sizeof text,
        "{\"target\":{\"url\":\"http://127.0.0.1:%d/\"},\"requests\":%lld,\"concurrency\":%lld}",
        server_port, (long long)requests, (long long)concurrency);
    struct spec_limits lim;
    spec_limits_default(&lim);
    struct spec s;
    char err[256];
    if (spec_from_text(text, &lim, &s, err, sizeof err)) {
        fprintf(stderr, "spec: %s\n", err);
        exit(1);
    }
    return s;
}

static double run_mode(struct spec *sp, enum bench_mode mode, struct seen *s,
                       struct mode_result *res)
{
    struct bench_sink sink = {s, NULL, on_tick, on_records, NULL};
    s->in_order = 1;
    s->next_seq = 0;
    char err[256];
    CHECK(bench_run_mode(sp, mode, sp->levels[0], &sink, res, err, sizeof err) == 0);
    CHECK(res->ok + res->errors == res->requests);
    return res->wall_ms;
}

/* A sink that takes 300 ms per call: the mode's time stays what a quick sink sees. */
static void test_slow_sink(void)
{
    struct spec sp = test_spec(30, 1); /* one lane: 30 x 20 ms = 600 ms, a few ticks */
    struct seen quick = {0}, slow = {.sleep_ms = 300};
    struct mode_result r1, r2;
    double fast_ms = run_mode(&sp, MODE_THREADS, &quick, &r1);
    double slow_ms = run_mode(&sp, MODE_THREADS, &slow, &r2);
    CHECK(quick.records == 30 && slow.records == 30 && slow.in_order);
    CHECK(slow.ticks >= 1);
    CHECK(r2.ok == 30);
    /* A sink in the mode's path would add 30 x 300 ms, or at least the ticks' 300 ms each. */
    CHECK(slow_ms < fast_ms + 150);
    if (!(slow_ms < fast_ms + 150))
        fprintf(stderr, "quick sink %.1f ms, slow sink %.1f ms\n", fast_ms, slow_ms);
    spec_free(&sp);
}

/* This process has threads (the server's): the workers come from the exec'd starter. */
static void test_processes_from_threads(void)
{
    struct spec sp = test_spec(60, 3); /* 20 rounds of 20 ms: ticks see the workers */
    struct seen s = {0};
    struct mode_result r;
    run_mode(&sp, MODE_PROCESSES, &s, &r);
    CHECK(r.ok == 60 && r.errors == 0 && s.records == 60 && s.in_order);
    CHECK(s.workers_children == 3);
    CHECK(r.peak_rss_kb > 0 && r.workers_rss_kb > 0);
    spec_free(&sp);
}

int main(int argc, char **argv)
{
    self_exe();
    if (argc > 1 && !strcmp(argv[1], "__workers")) return bench_starter_main();
    alarm(100);
    if (start_server()) {
        fprintf(stderr, "could not start the test server\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    test_slow_sink();
    test_processes_from_threads();
    return check_done("test_engine");
}
