/* Findings from a run's spec and RESULTs (findings.h), on C data. */
#include "findings.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "record.h"
#include "spec.h"
#include "util.h"

#define MAX_POINTS (SPEC_MAX_LEVELS * SPEC_MAX_MODES)

/* One RESULT: a mode at one concurrency level. */
struct point {
    int mode;
    int64_t conc, requests, ok, errors, lanes;
    double wall_ms, rps, cpu_ms;
    bool has_lat, cancelled;
    double mean_ms, p50_ms, p99_ms;
    int64_t by_kind[REQ_ERR_COUNT];
    const char *top_msg; /* NULL when none; points into the result */
    int top_kind;
    int64_t top_count;
    bool serial;         /* one lane: sync, or a client that used one (py-sync) */
    bool client;
    double startup_ms;
    int64_t peak_rss_kb;
    int64_t connections;
    double tls_ms, busy_ms;
};

/* What the findings need of the spec. */
struct run_facts {
    int64_t requests;
    int nlevels;
    double rate;
    int64_t work_us;
    bool has_expect;
    int64_t delay_ms, workers;
};

static const char *const kind_names[] = {"errors", "knee", "ideal", "little", "cost", "tls",
                                         "parallel"};

const char *finding_kind_name(enum finding_kind k)
{
    return k >= 0 && k <= FINDING_PARALLEL ? kind_names[k] : "unknown";
}

/* A mode's name in the run: built-in, or a client's. */
static const char *name_of(const struct findings *fs, int mode)
{
    const char *n = mode_names_get(&fs->names, mode);
    return n ? n : "unknown";
}

static void read_facts(const struct spec *s, struct run_facts *f)
{
    memset(f, 0, sizeof *f);
    f->requests = s->requests;
    f->nlevels = s->nlevels > 0 ? s->nlevels : 1;
    f->rate = s->rate;
    f->work_us = s->work_us;
    f->delay_ms = s->has_expect ? s->expect_delay_ms : 0;
    f->workers = s->has_expect ? s->expect_workers : 0;
    f->has_expect = f->delay_ms > 0 && f->workers > 0;
}

static int read_points(const struct mode_result *rs, size_t nr, struct point *pts)
{
    int n = 0;
    for (size_t i = 0; i < nr && n < MAX_POINTS; i++) {
        const struct mode_result *r = &rs[i];
        if (!mode_name(r->mode) && !r->client.is_client) continue;
        struct point *p = &pts[n++];
        memset(p, 0, sizeof *p);
        p->mode = r->mode;
        p->conc = r->concurrency > 0 ? r->concurrency : 1;
        p->requests = r->requests;
        p->ok = r->ok;
        p->errors = r->errors;
        p->lanes = r->lanes;
        /* at RESULT's precision: the CLI (fresh) and the API (stored) say the same */
        p->wall_ms = round3(r->wall_ms);
        p->rps = round3(r->rps);
        p->cpu_ms = round3(r->cpu_user_ms) + round3(r->cpu_sys_ms);
        p->cancelled = r->cancelled != 0;
        p->client = r->client.is_client != 0;
        p->serial = r->mode == MODE_SYNC || (p->client && r->lanes == 1);
        p->startup_ms = round3(r->client.startup_ms);
        p->peak_rss_kb = r->peak_rss_kb;
        p->connections = r->connections;
        p->tls_ms = round3(r->tls_ms);
        p->busy_ms = round3(r->busy_ms);
        if (r->has_latency) {
            p->has_lat = true;
            p->mean_ms = round3(r->latency_ms.mean);
            p->p50_ms = round3(r->latency_ms.p50);
            p->p99_ms = round3(r->latency_ms.p99);
        }
        for (int k = 1; k < REQ_ERR_COUNT; k++)
            p->by_kind[k] = r->errors_by_kind[k];
        if (r->top_error_count > 0) {
            p->top_msg = r->top_error;
            p->top_kind = r->top_error_kind;
            p->top_count = r->top_error_count;
        }
    }
    return n;
}

/* The points of one mode in level order (results are in run order: levels increase). */
static int points_of(const struct point *pts, int n, int mode, const struct point **out)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (pts[i].mode == mode) out[k++] = &pts[i];
    return k;
}

/* A time as the page writes it (web/format.js' fmtMs), so that a finding's text and the page's
 * numbers read alike: 0.420 ms, 4.25 ms, 12.3 ms, 1000.3 ms, 12345.7 ms, 125.3 s; a whole number
 * of ms as it is (3000 ms, and 30 s from 10 s up). */
static const char *fmt_ms(char *buf, size_t len, double ms)
{
    double a = fabs(ms);
    if (!isfinite(ms))
        snprintf(buf, len, "–");
    else if (ms == 0)
        snprintf(buf, len, "0 ms");
    else if (a >= 10000 && fmod(ms, 1000) == 0)
        snprintf(buf, len, "%.0f s", ms / 1000);
    else if (a >= 100000)
        snprintf(buf, len, "%.1f s", ms / 1000);
    else if (ms == floor(ms))
        snprintf(buf, len, "%.0f ms", ms);
    else if (a >= 10)
        snprintf(buf, len, "%.1f ms", ms);
    else if (a >= 1)
        snprintf(buf, len, "%.2f ms", ms);
    else
        snprintf(buf, len, "%.3f ms", ms);
    return buf;
}

/* 3.00×, 12.5× */
static const char *fmt_ratio(char *buf, size_t len, double r)
{
    snprintf(buf, len, r >= 10 ? "%.1f×" : "%.2f×", r);
    return buf;
}

/* A wall time with the digits that tell modes apart: 9009.3 ms (to 100 s), then 125.4 s. */
static const char *fmt_wall(char *buf, size_t len, double ms)
{
    if (fabs(ms) >= 100000)
        snprintf(buf, len, "%.1f s", ms / 1000);
    else
        snprintf(buf, len, "%.1f ms", ms);
    return buf;
}

/* A ratio to the ideal, where a millisecond in a second shows: 1.001×, 3.003×, 12.5×. */
static const char *fmt_ideal_ratio(char *buf, size_t len, double r)
{
    snprintf(buf, len, r >= 10 ? "%.1f×" : "%.3f×", r);
    return buf;
}

/* The next finding of `kind` about `mode`, zeroed; NULL when the list is full. */
static struct finding *add(struct findings *out, enum finding_kind kind, int mode)
{
    if (out->n == FINDINGS_MAX) return NULL;
    struct finding *f = &out->f[out->n++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->mode = mode;
    return f;
}

/* ---- errors ---- */

/* Failed requests of a mode over all its levels, cancelled ones aside (a cancel is the user's
 * doing, not the target's). The most common message sums equal messages across levels. */
static void find_errors(struct findings *out, const struct point *const *p, int n)
{
    if (n == 0) return;
    int64_t requests = 0, by_kind[REQ_ERR_COUNT] = {0};
    for (int i = 0; i < n; i++) {
        requests += p[i]->requests;
        for (int k = 1; k < REQ_ERR_COUNT; k++)
            by_kind[k] += p[i]->by_kind[k];
    }
    int64_t failed = 0;
    for (int k = 1; k < REQ_ERR_COUNT; k++)
        if (k != REQ_ERR_CANCELLED) failed += by_kind[k];
    if (failed == 0 || requests == 0) return;
    const char *msg = NULL;
    int64_t msg_n = 0;
    for (int i = 0; i < n; i++) {
        if (!p[i]->top_msg || p[i]->top_kind == REQ_ERR_CANCELLED) continue;
        int64_t sum = 0;
        for (int j = 0; j < n; j++)
            if (p[j]->top_msg && !strcmp(p[j]->top_msg, p[i]->top_msg)) sum += p[j]->top_count;
        if (sum > msg_n) msg = p[i]->top_msg, msg_n = sum;
    }
    int mode = p[0]->mode;
    struct finding *f = add(out, FINDING_ERRORS, mode);
    if (!f) return;
    struct finding_errors *v = &f->v.errors;
    v->errors = failed;
    v->requests = requests;
    v->share = (double)failed / (double)requests;
    char *text = f->text, part[300];
    size_t size = sizeof f->text;
    int len = snprintf(text, size, "%s: %lld of %lld requests failed (%.1f %%):", name_of(out, mode),
                       (long long)failed, (long long)requests,
                       100.0 * (double)failed / (double)requests);
    const char *sep = " ";
    for (int k = 1; k < REQ_ERR_COUNT; k++) {
        if (k == REQ_ERR_CANCELLED || !by_kind[k]) continue;
        v->by_kind[k] = by_kind[k];
        snprintf(part, sizeof part, "%s%s %.0f %%", sep, req_error_name((enum req_error)k),
                 100.0 * (double)by_kind[k] / (double)failed);
        sep = ", ";
        if (len < (int)size) len += snprintf(text + len, size - (size_t)len, "%s", part);
    }
    if (msg) {
        v->has_message = true;
        snprintf(v->message, sizeof v->message, "%s", msg);
        v->message_count = msg_n;
        if (len < (int)size)
            snprintf(text + len, size - (size_t)len, "; most common: \"%.200s\" (%lld)", msg,
                     (long long)msg_n);
    }
}

/* ---- knee ---- */

static bool clean(const struct point *p)
{
    return !p->cancelled && p->errors == 0 && p->ok > 0 && p->wall_ms > 0;
}

static void find_knee(struct findings *out, const struct run_facts *f,
                      const struct point *const *p, int n)
{
    if (n < 3) return;
    for (int i = 0; i < n; i++)
        if (!clean(p[i])) return;
    int knee = -1;
    for (int i = 0; i + 1 < n && knee < 0; i++) {
        double beyond = 0;
        for (int j = i + 1; j < n; j++)
            if (p[j]->rps > beyond) beyond = p[j]->rps;
        if (beyond < FINDINGS_KNEE_GROWTH * p[i]->rps) knee = i;
    }
    /* A knee at the first level is a flat sweep: nothing grew, so nothing levelled off. */
    if (knee <= 0 || p[knee]->rps < FINDINGS_KNEE_GROWTH * p[0]->rps) return;
    const struct point *k = p[knee], *top = p[n - 1];
    double best = 0;
    for (int j = knee + 1; j < n; j++)
        if (p[j]->rps > best) best = p[j]->rps;
    struct finding *fd = add(out, FINDING_KNEE, k->mode);
    if (!fd) return;
    char a[32], b[32], *text = fd->text;
    size_t size = sizeof fd->text;
    bool queueing = top->has_lat && k->has_lat && top->p50_ms >= 1.2 * k->p50_ms;
    int len = snprintf(text, size,
                       "%s: req/s stops growing at C=%lld (%.1f req/s; at most %.1f beyond): ",
                       name_of(out, k->mode), (long long)k->conc, k->rps, best);
    if (f->work_us == 0)
        len += snprintf(text + len, size - (size_t)len,
                        "the server saturates at %lld concurrent requests; ", (long long)k->conc);
    snprintf(text + len, size - (size_t)len,
             "more concurrency only %s (p50 %s at C=%lld, %s at C=%lld)",
             queueing ? "adds queueing" : "adds nothing", fmt_ms(a, sizeof a, k->p50_ms),
             (long long)k->conc, fmt_ms(b, sizeof b, top->p50_ms), (long long)top->conc);
    fd->v.knee = (struct finding_knee){.concurrency = k->conc,
                                       .rps = k->rps,
                                       .rps_beyond_max = best,
                                       .rps_first = p[0]->rps,
                                       .p50_ms = k->p50_ms,
                                       .top_concurrency = top->conc,
                                       .top_p50_ms = top->p50_ms};
}

/* ---- ideal ---- */

/* The least wall time against W workers answering in D ms (findings.h). */
static double ideal_ms(const struct run_facts *f, bool serial, int64_t conc, int64_t requests)
{
    int64_t width = serial ? 1 : (conc < f->workers ? conc : f->workers);
    if (width < 1) width = 1;
    double ideal = (double)((requests + width - 1) / width) * (double)f->delay_ms;
    if (f->rate > 0) {
        double paced = (double)(requests - 1) / f->rate * 1000.0 + (double)f->delay_ms;
        if (paced > ideal) ideal = paced;
    }
    return ideal;
}

/* "⌈9 / min(3, 3)⌉ × 1000 ms" or "9 × 1000 ms". */
static void ideal_formula(char *buf, size_t len, const struct run_facts *f, bool serial,
                          int64_t conc, int64_t requests)
{
    if (serial)
        snprintf(buf, len, "%lld × %lld ms", (long long)requests, (long long)f->delay_ms);
    else
        snprintf(buf, len, "⌈%lld / min(%lld, %lld)⌉ × %lld ms", (long long)requests,
                 (long long)conc, (long long)f->workers, (long long)f->delay_ms);
}

static void find_ideal(struct findings *out, const struct run_facts *f,
                       const struct point *const *p, int n)
{
    if (!f->has_expect) return;
    const struct point *worst = NULL;
    double worst_ratio = 0, best_ratio = 0;
    int used = 0;
    for (int i = 0; i < n; i++) {
        if (!clean(p[i]) || p[i]->ok != p[i]->requests) continue;
        double r = p[i]->wall_ms / ideal_ms(f, p[i]->serial, p[i]->conc, p[i]->requests);
        if (!worst || r > worst_ratio) worst = p[i], worst_ratio = r;
        if (used++ == 0 || r < best_ratio) best_ratio = r;
    }
    if (!worst) return;
    struct finding *fd = add(out, FINDING_IDEAL, worst->mode);
    if (!fd) return;
    double ideal = ideal_ms(f, worst->serial, worst->conc, worst->requests);
    char w[32], i[32], r[32], r2[32], d[32], formula[160], *text = fd->text;
    size_t size = sizeof fd->text;
    ideal_formula(formula, sizeof formula, f, worst->serial, worst->conc, worst->requests);
    struct finding_ideal *v = &fd->v.ideal;
    *v = (struct finding_ideal){.concurrency = worst->conc,
                                .requests = worst->requests,
                                .wall_ms = worst->wall_ms,
                                .ideal_ms = ideal,
                                .ratio = worst_ratio,
                                .delay_ms = f->delay_ms,
                                .workers = f->workers};
    if (f->nlevels > 1) {
        v->ratio_min = best_ratio;
        v->levels = used;
        char range[64];
        if (round(best_ratio * 1000) == round(worst_ratio * 1000))
            snprintf(range, sizeof range, "%.3f× the ideal at each of", worst_ratio);
        else
            snprintf(range, sizeof range, "%.3f–%.3f× the ideal over", best_ratio, worst_ratio);
        snprintf(text, size, "%s: %s %d levels (the worst at C=%lld: %s against %s = %s, %+.1f ms)",
                 name_of(out, worst->mode), range, used, (long long)worst->conc,
                 fmt_wall(w, sizeof w, worst->wall_ms), formula, fmt_wall(i, sizeof i, ideal),
                 worst->wall_ms - ideal);
        return;
    }
    snprintf(d, sizeof d, "%+.1f ms", worst->wall_ms - ideal);
    int len = snprintf(text, size, "%s took %s, %s the ideal of %s (%s over %s)",
                       name_of(out, worst->mode), fmt_wall(w, sizeof w, worst->wall_ms),
                       fmt_ideal_ratio(r, sizeof r, worst_ratio), fmt_wall(i, sizeof i, ideal), d,
                       formula);
    /* sync against what a concurrent client could reach at the same C: the talk's point. */
    if (worst->serial && worst->conc > 1 && f->workers > 1) {
        double conc_ideal = ideal_ms(f, false, worst->conc, worst->requests);
        v->has_concurrent = true;
        v->concurrent_ideal_ms = conc_ideal;
        v->vs_concurrent_ideal = worst->wall_ms / conc_ideal;
        snprintf(text + len, size - (size_t)len,
                 "; %s the ideal of a client with %lld requests in flight (%s)",
                 fmt_ideal_ratio(r2, sizeof r2, worst->wall_ms / conc_ideal),
                 (long long)worst->conc, fmt_wall(i, sizeof i, conc_ideal));
    }
}

/* ---- little ---- */

static void find_little(struct findings *out, const struct run_facts *f,
                        const struct point *const *p, int n)
{
    if (f->rate > 0 || n == 0 || p[0]->serial) return;
    const struct point *low = NULL;
    double low_share = 0, low_in_flight = 0;
    for (int i = 0; i < n; i++) {
        const struct point *q = p[i];
        if (!clean(q) || !q->has_lat || q->lanes < 1 || q->ok < 5 * q->lanes) continue;
        double in_flight = (double)q->ok / (q->wall_ms / 1000.0) * (q->mean_ms / 1000.0);
        double share = in_flight / (double)q->lanes;
        if (share < FINDINGS_LITTLE_SHARE && (!low || share < low_share))
            low = q, low_share = share, low_in_flight = in_flight;
    }
    if (!low) return;
    struct finding *fd = add(out, FINDING_LITTLE, low->mode);
    if (!fd) return;
    char m[32], at[48] = "";
    double rps_ok = (double)low->ok / (low->wall_ms / 1000.0);
    if (f->nlevels > 1) snprintf(at, sizeof at, " at C=%lld", (long long)low->conc);
    snprintf(fd->text, sizeof fd->text,
             "%s kept %.1f of %lld requests in flight on average%s (Little's law: %.1f req/s × %s "
             "mean latency): the client, not the server, was the limit",
             name_of(out, low->mode), low_in_flight, (long long)low->lanes, at, rps_ok,
             fmt_ms(m, sizeof m, low->mean_ms));
    fd->v.little = (struct finding_little){.concurrency = low->conc,
                                           .lanes = low->lanes,
                                           .in_flight = low_in_flight,
                                           .share = low_share,
                                           .rps_ok = rps_ok,
                                           .mean_latency_ms = low->mean_ms};
}

/* ---- cost ---- */

static void cost_of_client(struct finding *fd, const struct point *pts, int n, int mode);

static void find_cost(struct findings *out, const struct point *pts, int n, const int *modes,
                      int nmodes)
{
    double per_k[SPEC_MAX_MODES];
    int cheapest = -1, counted = 0;
    for (int i = 0; i < nmodes; i++) {
        int64_t reqs = 0;
        double cpu = 0;
        for (int j = 0; j < n; j++) {
            if (pts[j].mode != modes[i]) continue;
            reqs += pts[j].requests;
            cpu += pts[j].cpu_ms;
        }
        if (reqs < 50 || cpu <= 0) return; /* too few requests to speak per 1,000 */
        per_k[i] = cpu / (double)reqs * 1000.0;
        if (cheapest < 0 || per_k[i] < per_k[cheapest]) cheapest = i;
        counted++;
    }
    if (counted < 2) return;
    char a[32], b[32], r[32];
    for (int i = 0; i < nmodes; i++) {
        struct finding *fd = add(out, FINDING_COST, modes[i]);
        if (!fd) return;
        double ratio = per_k[i] / per_k[cheapest];
        if (i == cheapest)
            snprintf(fd->text, sizeof fd->text,
                     "%s used %s of CPU per 1,000 requests, the cheapest of %d modes",
                     name_of(out, modes[i]), fmt_ms(a, sizeof a, per_k[i]), counted);
        else
            snprintf(fd->text, sizeof fd->text, "%s used %s of CPU per 1,000 requests, %s %s's %s",
                     name_of(out, modes[i]), fmt_ms(a, sizeof a, per_k[i]),
                     fmt_ratio(r, sizeof r, ratio), name_of(out, modes[cheapest]),
                     fmt_ms(b, sizeof b, per_k[cheapest]));
        fd->v.cost = (struct finding_cost){
            .cpu_ms_per_1000 = per_k[i], .ratio = ratio, .cheapest = modes[cheapest]};
        cost_of_client(fd, pts, n, modes[i]);
    }
}

/* A client's cost beyond CPU: its start-up (the longest of its levels; never in its wall time)
 * and its peak memory (Pss of its process tree), appended to its cost finding. */
static void cost_of_client(struct finding *fd, const struct point *pts, int n, int mode)
{
    struct finding_cost *c = &fd->v.cost;
    for (int j = 0; j < n; j++) {
        if (pts[j].mode != mode || !pts[j].client) continue;
        c->client = true;
        if (pts[j].startup_ms > c->startup_ms) c->startup_ms = pts[j].startup_ms;
        if (pts[j].peak_rss_kb > c->peak_rss_kb) c->peak_rss_kb = pts[j].peak_rss_kb;
    }
    if (!c->client) return;
    char a[32];
    size_t len = strlen(fd->text);
    snprintf(fd->text + len, sizeof fd->text - len,
             "; it started in %s (not in its wall time) and took %.1f MiB at most",
             fmt_ms(a, sizeof a, c->startup_ms), (double)c->peak_rss_kb / 1024.0);
}

/* ---- parallel ---- */

/* The cores a point used: its CPU time over its wall time, when the spec's work is at least
 * half of that CPU time (else the cores measure something else than the work); -1 when not. */
static double cores_of(const struct run_facts *f, const struct point *p)
{
    if (f->work_us <= 0 || !clean(p) || p->ok != p->requests || p->wall_ms <= 0) return -1;
    double work_ms = (double)p->requests * (double)f->work_us / 1000.0;
    if (p->cpu_ms < 0.5 * work_ms) return -1;
    return p->cpu_ms / p->wall_ms;
}

static void find_parallel(struct findings *out, const struct run_facts *f, const struct point *pts,
                          int n, const int *modes, int nmodes)
{
    if (f->work_us <= 0) return;
    /* Each mode at its top level measured (levels increase: the last such point). */
    const struct point *top[SPEC_MAX_MODES] = {0};
    const struct point *best = NULL;
    for (int i = 0; i < nmodes; i++) {
        for (int j = 0; j < n; j++)
            if (pts[j].mode == modes[i] && !pts[j].serial && pts[j].lanes > 1 &&
                cores_of(f, &pts[j]) >= 0)
                top[i] = &pts[j];
        if (top[i] && (!best || cores_of(f, top[i]) > cores_of(f, best))) best = top[i];
    }
    for (int i = 0; i < nmodes; i++) {
        const struct point *p = top[i];
        if (!p) continue;
        struct finding *fd = add(out, FINDING_PARALLEL, p->mode);
        if (!fd) return;
        double cores = cores_of(f, p), best_cores = cores_of(f, best);
        bool serialised = cores < 1.25 && best != p && best_cores >= 1.5;
        char w[32];
        int len = snprintf(fd->text, sizeof fd->text, "%s used %.1f %s for %s of work per response",
                           name_of(out, p->mode), cores, cores < 1.05 ? "core" : "cores",
                           fmt_ms(w, sizeof w, (double)f->work_us / 1000.0));
        if (serialised)
            snprintf(fd->text + len, sizeof fd->text - (size_t)len,
                     ": its %lld lanes computed one at a time (Python threads: the GIL serialised "
                     "them); %s used %.1f",
                     (long long)p->lanes, name_of(out, best->mode), best_cores);
        else if (cores >= 1.5)
            snprintf(fd->text + len, sizeof fd->text - (size_t)len,
                     ": its %lld lanes computed side by side", (long long)p->lanes);
        fd->v.parallel = (struct finding_parallel){.concurrency = p->conc,
                                                   .lanes = p->lanes,
                                                   .work_us = f->work_us,
                                                   .cpu_ms = p->cpu_ms,
                                                   .wall_ms = p->wall_ms,
                                                   .cores = cores,
                                                   .serialised = serialised,
                                                   .best_mode = best == p ? -1 : best->mode,
                                                   .best_cores = best_cores};
    }
}

/* ---- tls ---- */

/* When the handshakes of the connections a mode opened take a large share of its requests'
 * time: keep-alive, fewer connections or HTTP/2 would spare most of it. */
static void find_tls(struct findings *out, const struct point *const *p, int n)
{
    struct finding_tls t = {0};
    for (int i = 0; i < n; i++) {
        t.connections += p[i]->connections;
        t.tls_ms += p[i]->tls_ms;
        t.busy_ms += p[i]->busy_ms;
    }
    if (t.connections < 1 || t.busy_ms <= 0) return;
    t.share = t.tls_ms / t.busy_ms;
    if (t.share < FINDINGS_TLS_SHARE) return;
    struct finding *fd = add(out, FINDING_TLS, p[0]->mode);
    if (!fd) return;
    char a[32], b[32];
    snprintf(fd->text, sizeof fd->text,
             "%s opened %lld connection%s; %s took %.0f %% of its requests' time (%s of %s "
             "summed)",
             name_of(out, p[0]->mode), (long long)t.connections, t.connections == 1 ? "" : "s",
             t.connections == 1 ? "its TLS handshake" : "their TLS handshakes", t.share * 100,
             fmt_ms(a, sizeof a, t.tls_ms), fmt_ms(b, sizeof b, t.busy_ms));
    fd->v.tls = t;
}

/* findings_compute's working set, on the heap: a civetweb handler's stack is small. */
struct findings_work {
    struct point pts[MAX_POINTS];
    const struct point *of[SPEC_MAX_MODES][MAX_POINTS];
};

void findings_compute(const struct spec *s, const struct mode_result *r, size_t nr,
                      struct findings *out)
{
    out->n = 0;
    mode_names_from_spec(s, &out->names);
    struct findings_work *w = malloc(sizeof *w);
    if (!w) return; /* out of memory: nothing is said rather than something wrong */
    struct point *pts = w->pts;
    struct run_facts f;
    read_facts(s, &f);
    int n = read_points(r, nr, pts);
    /* Modes in the order they first ran. */
    int modes[SPEC_MAX_MODES], nmodes = 0;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int k = 0; k < nmodes; k++)
            seen = seen || modes[k] == pts[i].mode;
        if (!seen) modes[nmodes++] = pts[i].mode;
    }
    /* Per mode, kind by kind, so that the list reads errors first, then the knees, ... */
    int nof[SPEC_MAX_MODES];
    for (int i = 0; i < nmodes; i++)
        nof[i] = points_of(pts, n, modes[i], w->of[i]);
    for (int i = 0; i < nmodes; i++)
        find_errors(out, w->of[i], nof[i]);
    if (f.nlevels > 1)
        for (int i = 0; i < nmodes; i++)
            find_knee(out, &f, w->of[i], nof[i]);
    for (int i = 0; i < nmodes; i++)
        find_ideal(out, &f, w->of[i], nof[i]);
    for (int i = 0; i < nmodes; i++)
        find_little(out, &f, w->of[i], nof[i]);
    find_cost(out, pts, n, modes, nmodes);
    for (int i = 0; i < nmodes; i++)
        find_tls(out, w->of[i], nof[i]);
    find_parallel(out, &f, pts, n, modes, nmodes);
    free(w);
}

/* ---- JSON, where findings leave the process ---- */

static void put(cJSON *values, const char *key, double v)
{
    cJSON_AddNumberToObject(values, key, round3(v));
}

static void put_int(cJSON *values, const char *key, int64_t v)
{
    cJSON_AddNumberToObject(values, key, (double)v);
}

static cJSON *values_json(const struct findings *out, const struct finding *f)
{
    cJSON *v = cJSON_CreateObject();
    switch (f->kind) {
    case FINDING_ERRORS: {
        const struct finding_errors *e = &f->v.errors;
        put_int(v, "errors", e->errors);
        put_int(v, "requests", e->requests);
        put(v, "share", e->share);
        cJSON *kinds = cJSON_AddObjectToObject(v, "by_kind");
        for (int k = 1; k < REQ_ERR_COUNT; k++)
            if (e->by_kind[k]) put_int(kinds, req_error_name((enum req_error)k), e->by_kind[k]);
        if (e->has_message)
            cJSON_AddStringToObject(v, "message", e->message);
        else
            cJSON_AddNullToObject(v, "message");
        put_int(v, "message_count", e->message_count);
        break;
    }
    case FINDING_KNEE: {
        const struct finding_knee *k = &f->v.knee;
        put_int(v, "concurrency", k->concurrency);
        put(v, "rps", k->rps);
        put(v, "rps_beyond_max", k->rps_beyond_max);
        put(v, "rps_first", k->rps_first);
        put(v, "p50_ms", k->p50_ms);
        put_int(v, "top_concurrency", k->top_concurrency);
        put(v, "top_p50_ms", k->top_p50_ms);
        break;
    }
    case FINDING_IDEAL: {
        const struct finding_ideal *i = &f->v.ideal;
        put_int(v, "concurrency", i->concurrency);
        put_int(v, "requests", i->requests);
        put(v, "wall_ms", i->wall_ms);
        put(v, "ideal_ms", i->ideal_ms);
        put(v, "ratio", i->ratio);
        put_int(v, "delay_ms", i->delay_ms);
        put_int(v, "workers", i->workers);
        if (i->levels > 0) {
            put(v, "ratio_min", i->ratio_min);
            put_int(v, "levels", i->levels);
        }
        if (i->has_concurrent) {
            put(v, "concurrent_ideal_ms", i->concurrent_ideal_ms);
            put(v, "vs_concurrent_ideal", i->vs_concurrent_ideal);
        }
        break;
    }
    case FINDING_LITTLE: {
        const struct finding_little *l = &f->v.little;
        put_int(v, "concurrency", l->concurrency);
        put_int(v, "lanes", l->lanes);
        put(v, "in_flight", l->in_flight);
        put(v, "share", l->share);
        put(v, "rps_ok", l->rps_ok);
        put(v, "mean_latency_ms", l->mean_latency_ms);
        break;
    }
    case FINDING_COST: {
        const struct finding_cost *c = &f->v.cost;
        put(v, "cpu_ms_per_1000", c->cpu_ms_per_1000);
        put(v, "ratio", c->ratio);
        cJSON_AddStringToObject(v, "cheapest", name_of(out, c->cheapest));
        if (c->client) {
            put(v, "startup_ms", c->startup_ms);
            put_int(v, "peak_rss_kb", c->peak_rss_kb);
        }
        break;
    }
    case FINDING_PARALLEL: {
        const struct finding_parallel *p = &f->v.parallel;
        put_int(v, "concurrency", p->concurrency);
        put_int(v, "lanes", p->lanes);
        put_int(v, "work_us", p->work_us);
        put(v, "cpu_ms", p->cpu_ms);
        put(v, "wall_ms", p->wall_ms);
        put(v, "cores", p->cores);
        cJSON_AddBoolToObject(v, "serialised", p->serialised);
        if (p->best_mode >= 0)
            cJSON_AddStringToObject(v, "best_mode", name_of(out, p->best_mode));
        else
            cJSON_AddNullToObject(v, "best_mode");
        put(v, "best_cores", p->best_cores);
        break;
    }
    case FINDING_TLS: {
        const struct finding_tls *t = &f->v.tls;
        put_int(v, "connections", t->connections);
        put(v, "tls_ms", t->tls_ms);
        put(v, "busy_ms", t->busy_ms);
        put(v, "share", t->share);
        break;
    }
    }
    return v;
}

cJSON *findings_to_json(const struct findings *fs)
{
    cJSON *out = cJSON_CreateArray();
    if (!out) return NULL;
    for (int i = 0; i < fs->n; i++) {
        const struct finding *f = &fs->f[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", finding_kind_name(f->kind));
        if (f->mode >= 0 && mode_names_get(&fs->names, f->mode))
            cJSON_AddStringToObject(o, "mode", name_of(fs, f->mode));
        else
            cJSON_AddNullToObject(o, "mode");
        cJSON_AddStringToObject(o, "text", f->text);
        cJSON_AddItemToObject(o, "values", values_json(fs, f));
        cJSON_AddItemToArray(out, o);
    }
    return out;
}
