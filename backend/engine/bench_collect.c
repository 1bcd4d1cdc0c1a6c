/* After a mode's clock stopped: its records, scattered over the workers' spilled chunks, go to
 * the sink in seq order, every request accounted for, with the mode's counts and latencies.
 * Memory stays bounded whatever the number of requests: the spill is read once per window of
 * WINDOW seqs, each record placed at its seq. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench_collect.h"
#include "bench_dispatch.h"
#include "bench_log.h"
#include "stats.h"
#include "util.h"

#define WINDOW (1 << 18) /* seqs placed per pass over the spill (18 MiB of records) */
#define READ_CHUNK 16384 /* records read from the spill at once (1.1 MiB) */

/* The mode's distinct messages: the logs' tables merged (an open-addressing hash over the
 * texts), plus the messages of requests that never ran. */
struct msg_table {
    const char **text;
    int32_t n, cap;
    int32_t *slots; /* hash slots: index into text, -1 empty */
    int32_t nslots;
};

static uint32_t msg_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int msg_table_init(struct msg_table *t, int32_t cap)
{
    memset(t, 0, sizeof *t);
    t->cap = cap;
    t->nslots = 16;
    while (t->nslots < 2 * cap)
        t->nslots *= 2;
    t->text = calloc((size_t)cap, sizeof *t->text);
    t->slots = malloc((size_t)t->nslots * sizeof *t->slots);
    if (!t->text || !t->slots) return -1;
    memset(t->slots, 0xff, (size_t)t->nslots * sizeof *t->slots);
    return 0;
}

static void msg_table_free(struct msg_table *t)
{
    free(t->text);
    free(t->slots);
}

/* Index of `s` (kept by pointer: it must outlive the table), added when new. */
static int32_t msg_table_add(struct msg_table *t, const char *s)
{
    uint32_t i = msg_hash(s) & (uint32_t)(t->nslots - 1);
    for (;; i = (i + 1) & (uint32_t)(t->nslots - 1)) {
        int32_t k = t->slots[i];
        if (k < 0) break;
        if (!strcmp(t->text[k], s)) return k;
    }
    if (t->n == t->cap) return -1;
    t->text[t->n] = s;
    t->slots[i] = t->n;
    return t->n++;
}

struct collect {
    struct bench_ctx *c;
    struct msg_table msgs;
    int32_t *map; /* log * LOG_MSGS + index -> index in msgs */
    int32_t hole_kind, hole_msg;
    int64_t *msg_count;                /* failed requests per message */
    int32_t *msg_kind;                 /* the kind of the first of them */
    int64_t kind_count[REQ_ERR_COUNT]; /* failed requests without a message, per kind */
    struct stats lat, due, all;
    int64_t tls_us, busy_us; /* handshakes of the connections opened; the requests' time */
    struct mode_result *res;
};

/* Counts one record into the result. Returns 0, or -1 when a latency could not be kept (out of
 * memory): percentiles over part of the sample would be wrong, so the mode fails instead. */
static int account(struct collect *k, const struct bench_record *r)
{
    struct mode_result *res = k->res;
    /* latency_all_ms: a failed request at its elapsed time, a timeout at least timeout_ms */
    int64_t elapsed = r->start_us >= 0 && r->end_us >= r->start_us ? r->end_us - r->start_us : 0;
    if (r->err_kind == REQ_ERR_TIMEOUT && elapsed < k->c->spec->timeout_ms * 1000)
        elapsed = k->c->spec->timeout_ms * 1000;
    if (stats_add(&k->all, elapsed)) return -1;
    if (r->err_kind == REQ_OK) {
        res->ok++;
        if (stats_add(&k->lat, r->end_us - r->start_us)) return -1;
        if (k->c->spec->rate > 0 && stats_add(&k->due, r->end_us - r->sched_us)) return -1;
    } else {
        res->errors++;
        int kind = r->err_kind > 0 && r->err_kind < REQ_ERR_COUNT ? r->err_kind : REQ_ERR_OTHER;
        res->errors_by_kind[kind]++;
        if (r->msg >= 0 && r->msg < k->msgs.n) {
            if (k->msg_count[r->msg]++ == 0) k->msg_kind[r->msg] = kind;
        } else {
            k->kind_count[kind]++;
        }
    }
    res->bytes += r->bytes;
    if (r->reused == 0) res->connections++;
    if (r->start_us >= 0 && r->end_us >= r->start_us) k->busy_us += r->end_us - r->start_us;
    if (r->reused == 0 && r->tls_us >= 0 && r->connect_us >= 0 && r->tls_us >= r->connect_us)
        k->tls_us += r->tls_us - r->connect_us;
    int v = record_http_version_slot(r->http_version);
    if (v >= 0) res->http_versions[v]++;
    return 0;
}

/* The most common error message (a failed request without one counts as its kind's name). */
static void top_error(struct collect *k)
{
    struct mode_result *res = k->res;
    for (int32_t i = 0; i < k->msgs.n; i++) {
        if (k->msg_count[i] <= res->top_error_count) continue;
        res->top_error_count = k->msg_count[i];
        res->top_error_kind = k->msg_kind[i];
        snprintf(res->top_error, sizeof res->top_error, "%s", k->msgs.text[i]);
    }
    for (int kind = 1; kind < REQ_ERR_COUNT; kind++) {
        if (k->kind_count[kind] <= res->top_error_count) continue;
        res->top_error_count = k->kind_count[kind];
        res->top_error_kind = kind;
        snprintf(res->top_error, sizeof res->top_error, "%s", req_error_name(kind));
    }
}

/* A request with no record: lost with its worker process, or never run. */
static void fill_hole(struct collect *k, int64_t seq, struct bench_record *r)
{
    memset(r, 0, sizeof *r);
    r->seq = seq;
    r->lane = -1;
    r->sched_us = bench_due(k->c, seq);
    r->start_us = r->connect_us = r->ttfb_us = r->end_us = r->tls_us = -1;
    r->conn = -1;
    r->reused = -1;
    r->err_kind = k->hole_kind;
    r->msg = k->hole_msg;
    for (int64_t i = 0; i < k->c->nlost; i++) {
        const struct bench_lost *l = &k->c->lost[i];
        if (l->seq != seq) continue;
        r->lane = (int32_t)l->lane;
        r->sched_us = l->sched_us;
        r->end_us = l->end_us;
        r->err_kind = REQ_ERR_WORKER;
        r->msg = msg_table_add(&k->msgs, l->why);
    }
}

/* One window: places the spilled records with seq in [lo, lo + n) and passes them on. */
static int collect_window(struct collect *k, int64_t lo, int64_t n, struct bench_record *win,
                          struct bench_record *chunk, char *err, size_t errlen)
{
    struct bench_ctx *c = k->c;
    for (int64_t i = 0; i < n; i++)
        win[i].seq = -1;
    int64_t total = __atomic_load_n(&c->sh->spill_end, __ATOMIC_ACQUIRE) / (int64_t)sizeof *chunk;
    for (int64_t at = 0; at < total;) {
        int64_t want = total - at < READ_CHUNK ? total - at : READ_CHUNK;
        ssize_t got = pread(c->spill_fd, chunk, (size_t)want * sizeof *chunk,
                            (off_t)(at * (int64_t)sizeof *chunk));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0 || got % (ssize_t)sizeof *chunk)
            return errf(err, errlen, "reading the record spill: %s",
                        got < 0 ? strerror(errno) : "short read");
        int64_t m = got / (ssize_t)sizeof *chunk;
        for (int64_t i = 0; i < m; i++) {
            const struct bench_record *r = &chunk[i];
            if (r->seq < lo || r->seq >= lo + n || win[r->seq - lo].seq >= 0) continue;
            struct bench_record *w = &win[r->seq - lo];
            *w = *r;
            w->msg = r->msg >= 0 && r->msg < c->sh->nlogs * LOG_MSGS ? k->map[r->msg] : -1;
        }
        at += m;
    }
    for (int64_t i = 0; i < n; i++) {
        if (win[i].seq < 0) fill_hole(k, lo + i, &win[i]);
        if (account(k, &win[i]))
            return errf(err, errlen, "keeping the latencies of %lld requests: out of memory",
                        (long long)c->spec->requests);
    }
    const struct record_msgs m = {k->msgs.n, k->msgs.text};
    if (c->sink && c->sink->records) c->sink->records(c->sink->ctx, c->mode, win, (size_t)n, &m);
    return 0;
}

/* Merges the logs' tables (log * LOG_MSGS + i -> mode index) and adds the never-run messages. */
static int collect_msgs(struct collect *k, bool failed, bool cancelled)
{
    struct bench_ctx *c = k->c;
    int32_t nlogs = c->sh->nlogs;
    int32_t cap = 2 + (int32_t)c->nlost;
    for (int32_t i = 0; i < nlogs; i++)
        cap += __atomic_load_n(&c->sh->logs[i].nmsg, __ATOMIC_ACQUIRE);
    k->map = malloc((size_t)nlogs * LOG_MSGS * sizeof *k->map);
    k->msg_count = calloc((size_t)cap, sizeof *k->msg_count);
    k->msg_kind = calloc((size_t)cap, sizeof *k->msg_kind);
    if (!k->map || !k->msg_count || !k->msg_kind || msg_table_init(&k->msgs, cap)) return -1;
    for (int32_t i = 0; i < nlogs; i++) {
        struct bench_log *l = &c->sh->logs[i];
        int32_t nmsg = __atomic_load_n(&l->nmsg, __ATOMIC_ACQUIRE);
        for (int32_t j = 0; j < nmsg; j++) {
            l->msg[j][RECORD_ERROR_MAX - 1] = '\0'; /* a worker's memory is not trusted blindly */
            k->map[i * LOG_MSGS + j] = msg_table_add(&k->msgs, l->msg[j]);
        }
    }
    const char *why = "not recorded";
    k->hole_kind = REQ_ERR_OTHER;
    if (failed) {
        why = "not run: the mode failed";
        k->hole_kind = REQ_ERR_CANCELLED;
    } else if (cancelled) {
        why = "cancelled before it started";
        k->hole_kind = REQ_ERR_CANCELLED;
    } else if (c->no_worker_left || c->nlost) {
        why = "no worker process left";
        k->hole_kind = REQ_ERR_WORKER;
    }
    int64_t recorded =
        __atomic_load_n(&c->sh->spill_end, __ATOMIC_ACQUIRE) / (int64_t)sizeof(struct bench_record);
    k->hole_msg = recorded < c->spec->requests ? msg_table_add(&k->msgs, why) : -1;
    for (int64_t i = 0; i < c->nlost; i++)
        msg_table_add(&k->msgs, c->lost[i].why);
    return 0;
}

int bench_collect(struct bench_ctx *c, bool failed, bool cancelled, struct mode_result *res,
                  char *err, size_t errlen)
{
    struct collect k;
    memset(&k, 0, sizeof k);
    k.c = c;
    k.res = res;
    stats_init(&k.lat);
    stats_init(&k.due);
    stats_init(&k.all);
    int rc = -1;
    bool lost_records = false;
    for (int32_t i = 0; i < c->sh->nlogs; i++) {
        bench_log_flush(c, &c->sh->logs[i]); /* a worker that died left its last chunk here */
        if (c->sh->logs[i].spill_failed) lost_records = true;
    }
    int64_t n = c->spec->requests, wn = n < WINDOW ? n : WINDOW;
    struct bench_record *win = malloc((size_t)wn * sizeof *win);
    struct bench_record *chunk = malloc(READ_CHUNK * sizeof *chunk);
    if (!win || !chunk || collect_msgs(&k, failed, cancelled)) {
        errf(err, errlen, "collecting the records of %lld requests: out of memory", (long long)n);
        goto out;
    }
    if (lost_records) {
        errf(err, errlen, "recording failed: the record spill could not be written");
        goto out;
    }
    for (int64_t lo = 0; lo < n; lo += wn)
        if (collect_window(&k, lo, n - lo < wn ? n - lo : wn, win, chunk, err, errlen)) goto out;
    top_error(&k);
    res->tls_ms = (double)k.tls_us / 1000.0;
    res->busy_ms = (double)k.busy_us / 1000.0;
    res->has_latency = stats_summary(&k.lat, &res->latency_ms) == 0;
    res->has_latency_from_due = stats_summary(&k.due, &res->latency_from_due_ms) == 0;
    res->has_latency_all = stats_summary(&k.all, &res->latency_all_ms) == 0;
    rc = 0;
out:
    free(win);
    free(chunk);
    free(k.map);
    free(k.msg_count);
    free(k.msg_kind);
    msg_table_free(&k.msgs);
    stats_free(&k.lat);
    stats_free(&k.due);
    stats_free(&k.all);
    return rc;
}
