/* The engine's frame: one mode at a time, the mode table, the ticker, the cost of a mode (wall,
 * CPU, peak RSS). How requests are scheduled is each mode's business (bench_<mode>.c). */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "bench.h"
#include "bench_async.h"
#include "bench_cancel.h"
#include "bench_client.h"
#include "bench_collect.h"
#include "bench_ctx.h"
#include "bench_curl.h"
#include "bench_h2mux.h"
#include "bench_log.h"
#include "bench_processes.h"
#include "bench_sync.h"
#include "bench_threads.h"
#include "util.h"

struct bench_mode_impl {
    enum bench_mode mode;
    int (*run)(struct bench_ctx *c, char *err, size_t errlen);
};

static const struct bench_mode_impl mode_table[MODE_COUNT] = {
    {MODE_SYNC, bench_sync_run},
    {MODE_THREADS, bench_threads_run},
    {MODE_ASYNC, bench_async_run},
    {MODE_PROCESSES, bench_processes_run},
    {MODE_H2MUX, bench_h2mux_run},
};

/* Peak RSS is a process-wide high-water mark: reset it at the start of a mode (Linux 4.0+:
 * writing 5 to clear_refs) so that it measures this mode only. */
static void rss_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static int64_t rss_peak_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

static double tv_ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

/* The ticker: a thread of the engine's own (never a worker) that reports progress every
 * BENCH_TICK_US while sync, threads or async run. `processes` ticks from its coordinator, which
 * must stay single-threaded to fork. */
struct ticker {
    struct bench_ctx *c;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, started;
};

static void *ticker_main(void *arg)
{
    struct ticker *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        int64_t when = t->c->next_tick_us;
        struct timespec ts = {.tv_sec = when / 1000000, .tv_nsec = (when % 1000000) * 1000};
        if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT && !t->stop) bench_tick(t->c);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void ticker_start(struct ticker *t, struct bench_ctx *c)
{
    memset(t, 0, sizeof *t);
    t->c = c;
    if (!c->sink || !c->sink->tick || c->mode == MODE_PROCESSES) return;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&t->mu, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    t->started = pthread_create(&t->thread, &attr, ticker_main, t) == 0;
    pthread_attr_destroy(&attr);
    if (!t->started) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
    }
}

static void ticker_stop(struct ticker *t)
{
    if (!t->started) return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
}

int bench_run_mode(const struct spec *s, enum bench_mode mode, int64_t concurrency,
                   const struct bench_sink *sink, struct mode_result *res, char *err, size_t errlen)
{
    if (mode_is_client(mode) && concurrency >= 1) {
        if (bench_cancel_init(err, errlen)) return -1;
        return bench_client_mode(s, mode, concurrency, sink, res, err, errlen);
    }
    if ((int)mode < 0 || mode >= MODE_COUNT) return errf(err, errlen, "unknown mode %d", (int)mode);
    if (concurrency < 1)
        return errf(err, errlen, "concurrency %lld: must be at least 1", (long long)concurrency);
    if (bench_cancel_init(err, errlen)) return -1;
    struct bench_ctx c;
    bench_ctx_init(&c, res, s, mode, concurrency,
                   mode == MODE_SYNC ? 1 : (concurrency < s->requests ? concurrency : s->requests),
                   sink);
    /* One log per worker that records: the loop of sync and async, each thread or process. */
    int64_t nlogs = mode == MODE_THREADS || mode == MODE_PROCESSES ? c.lanes : 1;
    if (bench_shared_init(&c, nlogs, mode == MODE_PROCESSES, err, errlen)) return -1;
    c.headers = bench_curl_headers(s);

    if (sink && sink->mode_start)
        sink->mode_start(sink->ctx, mode, concurrency, s->requests, c.lanes);

    /* The engine runs in a process of its own (`conlab run` or the dashboard's `conlab __job`),
     * so the process's own usage is the mode's cost; the workers of `processes` add theirs
     * (reaped children: RUSAGE_CHILDREN). */
    malloc_trim(0); /* what earlier modes freed is not the next one's to fork or to count */
    rss_reset_peak();
    struct rusage ru0, ru1, ch0, ch1;
    getrusage(RUSAGE_SELF, &ru0);
    getrusage(RUSAGE_CHILDREN, &ch0);
    c.t0 = clock_us();
    c.next_tick_us = c.t0 + BENCH_TICK_US;
    struct ticker tk;
    ticker_start(&tk, &c);
    int rc = mode_table[mode].run(&c, err, errlen);
    res->wall_ms = (double)(clock_us() - c.t0) / 1000.0;
    ticker_stop(&tk);
    getrusage(RUSAGE_SELF, &ru1);
    getrusage(RUSAGE_CHILDREN, &ch1);
    res->cpu_user_ms =
        tv_ms(ru1.ru_utime) - tv_ms(ru0.ru_utime) + tv_ms(ch1.ru_utime) - tv_ms(ch0.ru_utime);
    res->cpu_sys_ms =
        tv_ms(ru1.ru_stime) - tv_ms(ru0.ru_stime) + tv_ms(ch1.ru_stime) - tv_ms(ch0.ru_stime);
    res->peak_rss_kb = rss_peak_kb() + c.workers_pss_kb;
    res->workers_rss_kb = c.workers_rss_kb;
    res->cancelled = bench_cancel_flag != 0;

    /* The clock has stopped: from here on, storing costs no measured time. */
    if (sink && sink->tick) bench_tick(&c);
    int crc = bench_collect(&c, rc != 0, res->cancelled, res, rc ? NULL : err, errlen);
    /* rps counts the ok requests (known once collected); attempts_per_s every request. */
    res->rps = res->wall_ms > 0 ? (double)res->ok / (res->wall_ms / 1000.0) : 0;
    res->attempts_per_s = res->wall_ms > 0 ? (double)res->requests / (res->wall_ms / 1000.0) : 0;
    if (rc == 0 && crc == 0 && sink && sink->mode_done) sink->mode_done(sink->ctx, res);
    curl_slist_free_all(c.headers);
    bench_shared_free(&c);
    return rc ? rc : crc;
}

int bench_run(const struct spec *s, const struct bench_sink *sink, char *err, size_t errlen)
{
    for (int k = 0; k < s->nlevels && !bench_cancel_flag; k++) {
        for (int i = 0; i < s->nmodes && !bench_cancel_flag; i++) {
            struct mode_result res;
            if (bench_run_mode(s, s->modes[i], s->levels[k], sink, &res, err, errlen)) return -1;
        }
    }
    return 0;
}
