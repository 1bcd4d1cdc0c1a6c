/* Findings from a run's spec and RESULTs (findings.h). Reads the JSON shapes of the contract,
 * so that the CLI (fresh results) and the API (stored ones) feed it alike. */
#include "findings.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "record.h"
#include "spec.h"

#define MAX_POINTS (SPEC_MAX_LEVELS * MODE_COUNT)

/* One RESULT: a mode at one concurrency level. */
struct point {
    int mode;
    int64_t conc, requests, ok, errors, lanes;
    double wall_ms, rps, cpu_ms;
    bool has_lat, cancelled;
    double mean_ms, p50_ms, p99_ms;
    int64_t by_kind[REQ_ERR_COUNT];
    const char *top_msg; /* NULL when none */
    int top_kind;
    int64_t top_count;
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

static double num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static double r3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

static void read_facts(const cJSON *spec, struct run_facts *f)
{
    memset(f, 0, sizeof *f);
    f->requests = (int64_t)num(spec, "requests", 0);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(spec, "concurrency");
    f->nlevels = cJSON_IsArray(c) ? cJSON_GetArraySize(c) : 1;
    f->rate = num(spec, "rate", 0);
    f->work_us = (int64_t)num(spec, "work_us", 0);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(spec, "expect");
    if (cJSON_IsObject(e)) {
        f->delay_ms = (int64_t)num(e, "delay_ms", 0);
        f->workers = (int64_t)num(e, "workers", 0);
        f->has_expect = f->delay_ms > 0 && f->workers > 0;
    }
}

static int read_points(const cJSON *results, struct point *pts)
{
    int n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, results)
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "mode");
        int mode = cJSON_IsString(m) ? mode_from_name(m->valuestring) : -1;
        if (mode < 0 || n == MAX_POINTS) continue;
        struct point *p = &pts[n++];
        memset(p, 0, sizeof *p);
        p->mode = mode;
        p->conc = (int64_t)num(r, "concurrency", 1);
        p->requests = (int64_t)num(r, "requests", 0);
        p->ok = (int64_t)num(r, "ok", 0);
        p->errors = (int64_t)num(r, "errors", 0);
        p->lanes = (int64_t)num(r, "lanes", 0);
        p->wall_ms = num(r, "wall_ms", 0);
        p->rps = num(r, "rps", 0);
        const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(r, "cpu_ms");
        p->cpu_ms = num(cpu, "user", 0) + num(cpu, "sys", 0);
        p->cancelled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "cancelled"));
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(r, "latency_ms");
        if (cJSON_IsObject(lat)) {
            p->has_lat = true;
            p->mean_ms = num(lat, "mean", 0);
            p->p50_ms = num(lat, "p50", 0);
            p->p99_ms = num(lat, "p99", 0);
        }
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(r, "errors_by_kind");
        for (int i = 1; i < REQ_ERR_COUNT; i++)
            p->by_kind[i] = (int64_t)num(k, req_error_name((enum req_error)i), 0);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "top_error");
        const cJSON *tm = cJSON_GetObjectItemCaseSensitive(t, "message");
        const cJSON *tk = cJSON_GetObjectItemCaseSensitive(t, "kind");
        if (cJSON_IsString(tm) && cJSON_IsString(tk)) {
            p->top_msg = tm->valuestring;
            p->top_kind = req_error_from_name(tk->valuestring);
            p->top_count = (int64_t)num(t, "count", 0);
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

/* 0.420 ms, 12.3 ms, 200 ms, 1.00 s, 95.2 s: as the page writes durations. */
static const char *fmt_ms(char *buf, size_t len, double ms)
{
    double a = fabs(ms);
    if (a >= 1000)
        snprintf(buf, len, "%.*f s", a >= 100000 ? 0 : a >= 10000 ? 1 : 2, ms / 1000);
    else if (a >= 100)
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

/* Appends {"kind", "mode", "text", "values"}; takes ownership of values. */
static void add(cJSON *out, const char *kind, int mode, const char *text, cJSON *values)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "kind", kind);
    if (mode >= 0)
        cJSON_AddStringToObject(f, "mode", mode_name(mode));
    else
        cJSON_AddNullToObject(f, "mode");
    cJSON_AddStringToObject(f, "text", text);
    cJSON_AddItemToObject(f, "values", values);
    cJSON_AddItemToArray(out, f);
}

static void put(cJSON *values, const char *key, double v)
{
    cJSON_AddNumberToObject(values, key, r3(v));
}

/* ---- errors ---- */

/* Failed requests of a mode over all its levels, cancelled ones aside (a cancel is the user's
 * doing, not the target's). The most common message sums equal messages across levels. */
static void find_errors(cJSON *out, const struct point *const *p, int n)
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
    cJSON *v = cJSON_CreateObject();
    cJSON_AddNumberToObject(v, "errors", (double)failed);
    cJSON_AddNumberToObject(v, "requests", (double)requests);
    put(v, "share", (double)failed / (double)requests);
    cJSON *kinds = cJSON_AddObjectToObject(v, "by_kind");
    char text[900], part[300];
    int mode = p[0]->mode;
    int len =
        snprintf(text, sizeof text, "%s: %lld of %lld requests failed (%.1f %%):", mode_name(mode),
                 (long long)failed, (long long)requests, 100.0 * (double)failed / (double)requests);
    const char *sep = " ";
    for (int k = 1; k < REQ_ERR_COUNT; k++) {
        if (k == REQ_ERR_CANCELLED || !by_kind[k]) continue;
        cJSON_AddNumberToObject(kinds, req_error_name((enum req_error)k), (double)by_kind[k]);
        snprintf(part, sizeof part, "%s%s %.0f %%", sep, req_error_name((enum req_error)k),
                 100.0 * (double)by_kind[k] / (double)failed);
        sep = ", ";
        if (len < (int)sizeof text)
            len += snprintf(text + len, sizeof text - (size_t)len, "%s", part);
    }
    if (msg) {
        cJSON_AddStringToObject(v, "message", msg);
        cJSON_AddNumberToObject(v, "message_count", (double)msg_n);
        if (len < (int)sizeof text)
            snprintf(text + len, sizeof text - (size_t)len, "; most common: \"%.200s\" (%lld)", msg,
                     (long long)msg_n);
    } else {
        cJSON_AddNullToObject(v, "message");
        cJSON_AddNumberToObject(v, "message_count", 0);
    }
    add(out, "errors", mode, text, v);
}

/* ---- knee ---- */

static bool clean(const struct point *p)
{
    return !p->cancelled && p->errors == 0 && p->ok > 0 && p->wall_ms > 0;
}

static void find_knee(cJSON *out, const struct run_facts *f, const struct point *const *p, int n)
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
    char a[32], b[32], text[600];
    bool queueing = top->has_lat && k->has_lat && top->p50_ms >= 1.2 * k->p50_ms;
    int len = snprintf(text, sizeof text,
                       "%s: req/s stops growing at C=%lld (%.1f req/s; at most %.1f beyond): ",
                       mode_name(k->mode), (long long)k->conc, k->rps, best);
    if (f->work_us == 0)
        len += snprintf(text + len, sizeof text - (size_t)len,
                        "the server saturates at %lld concurrent requests; ", (long long)k->conc);
    snprintf(text + len, sizeof text - (size_t)len,
             "more concurrency only %s (p50 %s at C=%lld, %s at C=%lld)",
             queueing ? "adds queueing" : "adds nothing", fmt_ms(a, sizeof a, k->p50_ms),
             (long long)k->conc, fmt_ms(b, sizeof b, top->p50_ms), (long long)top->conc);
    cJSON *v = cJSON_CreateObject();
    cJSON_AddNumberToObject(v, "concurrency", (double)k->conc);
    put(v, "rps", k->rps);
    put(v, "rps_beyond_max", best);
    put(v, "rps_first", p[0]->rps);
    put(v, "p50_ms", k->p50_ms);
    cJSON_AddNumberToObject(v, "top_concurrency", (double)top->conc);
    put(v, "top_p50_ms", top->p50_ms);
    add(out, "knee", k->mode, text, v);
}

/* ---- ideal ---- */

/* The least wall time against W workers answering in D ms (findings.h). */
static double ideal_ms(const struct run_facts *f, int mode, int64_t conc, int64_t requests)
{
    int64_t width = mode == MODE_SYNC ? 1 : (conc < f->workers ? conc : f->workers);
    if (width < 1) width = 1;
    double ideal = (double)((requests + width - 1) / width) * (double)f->delay_ms;
    if (f->rate > 0) {
        double paced = (double)(requests - 1) / f->rate * 1000.0 + (double)f->delay_ms;
        if (paced > ideal) ideal = paced;
    }
    return ideal;
}

/* "⌈9 / min(3, 3)⌉ × 1000 ms" or "9 × 1000 ms". */
static void ideal_formula(char *buf, size_t len, const struct run_facts *f, int mode, int64_t conc,
                          int64_t requests)
{
    if (mode == MODE_SYNC)
        snprintf(buf, len, "%lld × %lld ms", (long long)requests, (long long)f->delay_ms);
    else
        snprintf(buf, len, "⌈%lld / min(%lld, %lld)⌉ × %lld ms", (long long)requests,
                 (long long)conc, (long long)f->workers, (long long)f->delay_ms);
}

static void find_ideal(cJSON *out, const struct run_facts *f, const struct point *const *p, int n)
{
    if (!f->has_expect) return;
    const struct point *worst = NULL;
    double worst_ratio = 0, best_ratio = 0;
    int used = 0;
    for (int i = 0; i < n; i++) {
        if (!clean(p[i]) || p[i]->ok != p[i]->requests) continue;
        double r = p[i]->wall_ms / ideal_ms(f, p[i]->mode, p[i]->conc, p[i]->requests);
        if (!worst || r > worst_ratio) worst = p[i], worst_ratio = r;
        if (used++ == 0 || r < best_ratio) best_ratio = r;
    }
    if (!worst) return;
    double ideal = ideal_ms(f, worst->mode, worst->conc, worst->requests);
    char w[32], i[32], r[32], r2[32], formula[160], text[700];
    ideal_formula(formula, sizeof formula, f, worst->mode, worst->conc, worst->requests);
    cJSON *v = cJSON_CreateObject();
    cJSON_AddNumberToObject(v, "concurrency", (double)worst->conc);
    cJSON_AddNumberToObject(v, "requests", (double)worst->requests);
    put(v, "wall_ms", worst->wall_ms);
    put(v, "ideal_ms", ideal);
    put(v, "ratio", worst_ratio);
    cJSON_AddNumberToObject(v, "delay_ms", (double)f->delay_ms);
    cJSON_AddNumberToObject(v, "workers", (double)f->workers);
    if (f->nlevels > 1) {
        put(v, "ratio_min", best_ratio);
        cJSON_AddNumberToObject(v, "levels", used);
        char range[64];
        if (round(best_ratio * 100) == round(worst_ratio * 100))
            snprintf(range, sizeof range, "%.2f× the ideal at each of", worst_ratio);
        else
            snprintf(range, sizeof range, "%.2f–%.2f× the ideal over", best_ratio, worst_ratio);
        snprintf(text, sizeof text, "%s: %s %d levels (the worst at C=%lld: %s against %s = %s)",
                 mode_name(worst->mode), range, used, (long long)worst->conc,
                 fmt_ms(w, sizeof w, worst->wall_ms), formula, fmt_ms(i, sizeof i, ideal));
        add(out, "ideal", worst->mode, text, v);
        return;
    }
    int len = snprintf(text, sizeof text, "%s took %s, %s the ideal of %s (%s)",
                       mode_name(worst->mode), fmt_ms(w, sizeof w, worst->wall_ms),
                       fmt_ratio(r, sizeof r, worst_ratio), fmt_ms(i, sizeof i, ideal), formula);
    /* sync against what a concurrent client could reach at the same C: the talk's point. */
    if (worst->mode == MODE_SYNC && worst->conc > 1 && f->workers > 1) {
        double conc_ideal = ideal_ms(f, MODE_THREADS, worst->conc, worst->requests);
        put(v, "concurrent_ideal_ms", conc_ideal);
        put(v, "vs_concurrent_ideal", worst->wall_ms / conc_ideal);
        snprintf(text + len, sizeof text - (size_t)len,
                 "; %s the ideal of a client with %lld requests in flight (%s)",
                 fmt_ratio(r2, sizeof r2, worst->wall_ms / conc_ideal), (long long)worst->conc,
                 fmt_ms(i, sizeof i, conc_ideal));
    }
    add(out, "ideal", worst->mode, text, v);
}

/* ---- little ---- */

static void find_little(cJSON *out, const struct run_facts *f, const struct point *const *p, int n)
{
    if (f->rate > 0 || n == 0 || p[0]->mode == MODE_SYNC) return;
    const struct point *low = NULL;
    double low_share = 0, low_in_flight = 0;
    for (int i = 0; i < n; i++) {
        const struct point *q = p[i];
        if (!clean(q) || !q->has_lat || q->lanes < 1 || q->ok < 5 * q->lanes) continue;
        double in_flight = q->ok / (q->wall_ms / 1000.0) * (q->mean_ms / 1000.0);
        double share = in_flight / (double)q->lanes;
        if (share < FINDINGS_LITTLE_SHARE && (!low || share < low_share))
            low = q, low_share = share, low_in_flight = in_flight;
    }
    if (!low) return;
    char m[32], at[48] = "", text[600];
    double rps_ok = low->ok / (low->wall_ms / 1000.0);
    if (f->nlevels > 1) snprintf(at, sizeof at, " at C=%lld", (long long)low->conc);
    snprintf(text, sizeof text,
             "%s kept %.1f of %lld requests in flight on average%s (Little's law: %.1f req/s × %s "
             "mean latency): the client, not the server, was the limit",
             mode_name(low->mode), low_in_flight, (long long)low->lanes, at, rps_ok,
             fmt_ms(m, sizeof m, low->mean_ms));
    cJSON *v = cJSON_CreateObject();
    cJSON_AddNumberToObject(v, "concurrency", (double)low->conc);
    cJSON_AddNumberToObject(v, "lanes", (double)low->lanes);
    put(v, "in_flight", low_in_flight);
    put(v, "share", low_share);
    put(v, "rps_ok", rps_ok);
    put(v, "mean_latency_ms", low->mean_ms);
    add(out, "little", low->mode, text, v);
}

/* ---- cost ---- */

static void find_cost(cJSON *out, const struct point *pts, int n, const int *modes, int nmodes)
{
    double per_k[MODE_COUNT];
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
    char a[32], b[32], r[32], text[400];
    for (int i = 0; i < nmodes; i++) {
        double ratio = per_k[i] / per_k[cheapest];
        if (i == cheapest)
            snprintf(text, sizeof text,
                     "%s used %s of CPU per 1,000 requests, the cheapest of %d modes",
                     mode_name(modes[i]), fmt_ms(a, sizeof a, per_k[i]), counted);
        else
            snprintf(text, sizeof text, "%s used %s of CPU per 1,000 requests, %s %s's %s",
                     mode_name(modes[i]), fmt_ms(a, sizeof a, per_k[i]),
                     fmt_ratio(r, sizeof r, ratio), mode_name(modes[cheapest]),
                     fmt_ms(b, sizeof b, per_k[cheapest]));
        cJSON *v = cJSON_CreateObject();
        put(v, "cpu_ms_per_1000", per_k[i]);
        put(v, "ratio", ratio);
        cJSON_AddStringToObject(v, "cheapest", mode_name(modes[cheapest]));
        add(out, "cost", modes[i], text, v);
    }
}

cJSON *findings_compute(const cJSON *spec, const cJSON *results)
{
    cJSON *out = cJSON_CreateArray();
    if (!out) return NULL;
    struct point pts[MAX_POINTS];
    struct run_facts f;
    read_facts(spec, &f);
    int n = read_points(results, pts);
    /* Modes in the order they first ran. */
    int modes[MODE_COUNT], nmodes = 0;
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (int k = 0; k < nmodes; k++)
            seen = seen || modes[k] == pts[i].mode;
        if (!seen) modes[nmodes++] = pts[i].mode;
    }
    /* Per mode, kind by kind, so that the list reads errors first, then the knees, ... */
    const struct point *of[MODE_COUNT][MAX_POINTS];
    int nof[MODE_COUNT];
    for (int i = 0; i < nmodes; i++)
        nof[i] = points_of(pts, n, modes[i], of[i]);
    for (int i = 0; i < nmodes; i++)
        find_errors(out, of[i], nof[i]);
    if (f.nlevels > 1)
        for (int i = 0; i < nmodes; i++)
            find_knee(out, &f, of[i], nof[i]);
    for (int i = 0; i < nmodes; i++)
        find_ideal(out, &f, of[i], nof[i]);
    for (int i = 0; i < nmodes; i++)
        find_little(out, &f, of[i], nof[i]);
    find_cost(out, pts, n, modes, nmodes);
    return out;
}
