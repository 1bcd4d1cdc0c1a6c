/* The engine's frame: one mode at a time, shared dispatch and accounting, the cost of a mode
 * (wall, CPU, peak RSS). How requests are scheduled is each mode's business (bench_<mode>.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "bench_internal.h"
#include "util.h"

volatile sig_atomic_t bench_cancel_flag;

struct bench_mode_impl {
    enum bench_mode mode;
    int (*run)(struct bench_ctx *c, char *err, size_t errlen);
};

static const struct bench_mode_impl mode_table[MODE_COUNT] = {
    {MODE_SYNC, bench_sync_run},
    {MODE_THREADS, bench_threads_run},
    {MODE_ASYNC, bench_async_run},
    {MODE_PROCESSES, bench_processes_run},
};

/* Due times are capped here (about 73,000 years): a tiny rate times a large seq must neither
 * overflow the cast nor t0 + due. */
#define BENCH_DUE_MAX (INT64_MAX / 4)

/* Due time of request seq: 0 without a rate, seq / rate with one. */
static int64_t due_of(const struct bench_ctx *c, int64_t seq)
{
    if (!(c->spec->rate > 0)) return 0;
    double due = (double)seq * 1e6 / c->spec->rate;
    return due < (double)BENCH_DUE_MAX ? (int64_t)due : BENCH_DUE_MAX;
}

/* Takes the next request out of the dispatcher; `force` takes it even when the mode was cut
 * short (to account for what never ran). */
static bool take(struct bench_ctx *c, bool force, int64_t *seq, int64_t *due_us)
{
    bool ok = false;
    pthread_mutex_lock(&c->mu);
    if ((force || (!c->abort && !bench_cancel_flag)) && c->next_seq < c->spec->requests) {
        *seq = c->next_seq++;
        *due_us = due_of(c, *seq);
        ok = true;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

bool bench_next(struct bench_ctx *c, int64_t *seq, int64_t *due_us)
{
    return take(c, false, seq, due_us);
}

bool bench_wait_due(const struct bench_ctx *c, int64_t due_us)
{
    int64_t when = c->t0 + due_us;
    for (;;) {
        if (bench_cancel_flag) return false;
        int64_t now = clock_us();
        if (now >= when) return true;
        clock_sleep_until(now + (when - now < 50000 ? when - now : 50000));
    }
}

/* Counts an error message among the first RESULT_ERROR_MESSAGES distinct ones (a short scan:
 * errors only, and a mode rarely fails in more than a few ways). Called with c->mu held. */
static void tally_error(struct bench_ctx *c, const struct bench_record *r)
{
    const char *msg = r->error[0] ? r->error : req_error_name(r->err_kind);
    for (int i = 0; i < c->ntally; i++) {
        if (c->tally[i].kind == r->err_kind && !strcmp(c->tally[i].msg, msg)) {
            c->tally[i].n++;
            return;
        }
    }
    if (c->ntally == RESULT_ERROR_MESSAGES) return;
    struct bench_error_tally *t = &c->tally[c->ntally++];
    t->kind = r->err_kind;
    t->n = 1;
    snprintf(t->msg, sizeof t->msg, "%s", msg);
}

/* Called with c->mu held. */
static void account(struct bench_ctx *c, const struct bench_record *r)
{
    struct mode_result *res = c->res;
    if (r->err_kind == REQ_OK) {
        res->ok++;
        stats_add(&c->stats, r->end_us - r->start_us);
    } else {
        res->errors++;
        if (r->err_kind > 0 && r->err_kind < REQ_ERR_COUNT) res->errors_by_kind[r->err_kind]++;
        tally_error(c, r);
    }
    res->bytes += r->bytes;
    if (c->sink && c->sink->record) c->sink->record(c->sink->ctx, r);
}

void bench_emit(struct bench_ctx *c, const struct bench_record *r)
{
    pthread_mutex_lock(&c->mu);
    account(c, r);
    pthread_mutex_unlock(&c->mu);
}

void bench_emit_unrun(struct bench_ctx *c, int64_t seq, enum req_error kind, const char *why)
{
    struct bench_record r;
    memset(&r, 0, sizeof r);
    r.seq = seq;
    r.lane = -1;
    r.sched_us = due_of(c, seq);
    r.start_us = r.connect_us = r.ttfb_us = r.end_us = -1;
    r.err_kind = kind;
    snprintf(r.error, sizeof r.error, "%s", why);
    bench_emit(c, &r);
}

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

int bench_run_mode(const struct spec *s, enum bench_mode mode, int64_t concurrency,
                   const struct bench_sink *sink, struct mode_result *res, char *err,
                   size_t errlen)
{
    if ((int)mode < 0 || mode >= MODE_COUNT) return errf(err, errlen, "unknown mode %d", (int)mode);
    if (concurrency < 1) return errf(err, errlen, "concurrency %lld: must be at least 1", (long long)concurrency);
    memset(res, 0, sizeof *res);
    res->mode = mode;
    res->concurrency = concurrency;
    res->requests = s->requests;

    struct bench_ctx c;
    memset(&c, 0, sizeof c);
    c.spec = s;
    c.mode = mode;
    c.sink = sink;
    c.res = res;
    c.lanes = mode == MODE_SYNC ? 1 : (concurrency < s->requests ? concurrency : s->requests);
    res->lanes = c.lanes;
    pthread_mutex_init(&c.mu, NULL);
    stats_init(&c.stats);
    c.headers = bench_curl_headers(s);

    if (sink && sink->mode_start) sink->mode_start(sink->ctx, mode, concurrency, s->requests, c.lanes);

    /* The engine runs in a process of its own (`conlab run` or the dashboard's `conlab __job`),
     * so the process's own usage is the mode's cost; the workers of `processes` add theirs. */
    rss_reset_peak();
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    c.t0 = clock_us();
    int rc = mode_table[mode].run(&c, err, errlen);

    /* Every request is accounted for: what was never handed out is cancelled. */
    int64_t seq, due;
    bool cancelled = bench_cancel_flag != 0;
    while (take(&c, true, &seq, &due))
        bench_emit_unrun(&c, seq, REQ_ERR_CANCELLED, rc ? "not run: the mode failed" : "cancelled before it started");

    res->wall_ms = (double)(clock_us() - c.t0) / 1000.0;
    getrusage(RUSAGE_SELF, &ru1);
    res->cpu_user_ms = tv_ms(ru1.ru_utime) - tv_ms(ru0.ru_utime) + c.child_user_ms;
    res->cpu_sys_ms = tv_ms(ru1.ru_stime) - tv_ms(ru0.ru_stime) + c.child_sys_ms;
    res->peak_rss_kb = rss_peak_kb() + c.child_rss_kb;
    res->rps = res->wall_ms > 0 ? (double)res->requests / (res->wall_ms / 1000.0) : 0;
    res->has_latency = stats_summary(&c.stats, &res->latency_ms) == 0;
    res->cancelled = cancelled;
    for (int i = 0; i < c.ntally; i++) {
        if (c.tally[i].n <= res->top_error_count) continue;
        res->top_error_count = c.tally[i].n;
        res->top_error_kind = c.tally[i].kind;
        memcpy(res->top_error, c.tally[i].msg, sizeof res->top_error);
    }

    if (rc == 0 && sink && sink->mode_done) sink->mode_done(sink->ctx, res);
    stats_free(&c.stats);
    curl_slist_free_all(c.headers);
    pthread_mutex_destroy(&c.mu);
    return rc;
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
