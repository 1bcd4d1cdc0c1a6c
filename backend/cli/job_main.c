/* `conlab __job`: the dashboard's job child (see commands.h). Running each job in a process of
 * its own keeps the dashboard's threads out of the measured CPU time and memory, and a cancel or
 * a crash out of the dashboard. */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "commands.h"
#include "util.h"
#include "wire.h"

/* Records are buffered and written in bulk, so that a million records cost few system calls;
 * a flusher thread writes whatever is buffered every 50 ms, so progress still flows when
 * requests finish in bursts. */
struct job_out {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    char buf[64 * 1024];
    size_t len;
    int broken; /* the dashboard went away */
    int stop;
};

/* Called with o->mu held. */
static void flush_locked(struct job_out *o)
{
    if (o->len && !o->broken && write_all(1, o->buf, o->len)) o->broken = 1;
    o->len = 0;
}

static void put_frame(struct job_out *o, uint32_t type, const void *payload, uint32_t len, int flush)
{
    uint32_t h[2] = {type, len};
    pthread_mutex_lock(&o->mu);
    if (o->len + sizeof h + len > sizeof o->buf) flush_locked(o);
    memcpy(o->buf + o->len, h, sizeof h);
    memcpy(o->buf + o->len + sizeof h, payload, len);
    o->len += sizeof h + len;
    if (flush) flush_locked(o);
    pthread_mutex_unlock(&o->mu);
}

static void *flusher(void *arg)
{
    struct job_out *o = arg;
    pthread_mutex_lock(&o->mu);
    while (!o->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&o->wake, &o->mu, &ts);
        flush_locked(o);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

static void on_mode_start(void *ctx, enum bench_mode mode, int64_t concurrency, int64_t total,
                          int64_t lanes)
{
    struct wire_mode_start m = {(int32_t)mode, 0, concurrency, total, lanes};
    put_frame(ctx, WIRE_MODE_START, &m, sizeof m, 1);
}

static void on_record(void *ctx, const struct bench_record *r)
{
    put_frame(ctx, WIRE_RECORD, r, sizeof *r, 0);
}

static void on_mode_done(void *ctx, const struct mode_result *res)
{
    put_frame(ctx, WIRE_MODE_DONE, res, sizeof *res, 1);
}

static void on_term(int sig)
{
    (void)sig;
    bench_cancel_flag = 1;
}

static int fail(const char *msg)
{
    wire_write(1, WIRE_FAIL, msg, (uint32_t)strlen(msg));
    fprintf(stderr, "conlab __job: %s\n", msg);
    return 1;
}

int cmd_workers(void)
{
    return bench_worker_main();
}

int cmd_job(int argc, char **argv)
{
    (void)argv;
    if (argc > 1 || isatty(0)) {
        fprintf(stderr, "conlab __job: internal command of `conlab serve` (spec on stdin, frames on stdout)\n");
        return 2;
    }
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) return 1; /* the dashboard already died */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* The dashboard validated the spec against its own (possibly raised) limits. */
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap + 1);
    if (!text) return fail("out of memory");
    for (;;) {
        ssize_t n = read(0, text + len, cap - len);
        if (n < 0) {
            free(text);
            return fail("reading the spec from stdin failed");
        }
        if (n == 0) break;
        len += (size_t)n;
        if (len == cap) {
            free(text);
            return fail("the spec is larger than 1 MiB");
        }
    }
    text[len] = '\0';
    struct spec_limits lim;
    spec_limits_unbounded(&lim);
    struct spec s;
    char err[512];
    int rc = spec_from_text(text, &lim, &s, err, sizeof err);
    free(text);
    if (rc) return fail(err);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        spec_free(&s);
        return fail("libcurl could not be initialised");
    }
    static struct job_out out;
    pthread_mutex_init(&out.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&out.wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_t flush_thread;
    int flushing = pthread_create(&flush_thread, NULL, flusher, &out) == 0;
    struct bench_sink sink = {&out, on_mode_start, on_record, on_mode_done};
    rc = bench_run(&s, &sink, err, sizeof err);
    pthread_mutex_lock(&out.mu);
    out.stop = 1;
    flush_locked(&out);
    pthread_cond_signal(&out.wake);
    pthread_mutex_unlock(&out.mu);
    if (flushing) pthread_join(flush_thread, NULL);
    curl_global_cleanup();
    spec_free(&s);
    return rc ? fail(err) : 0;
}
