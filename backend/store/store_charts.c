/* Chart aggregates of one mode at one concurrency level (a point), computed once from its stored rows in two streaming passes
 * (an SQL aggregate for the ranges, then one scan in PK order), in memory bounded whatever the
 * number of rows: about 2 MB for a million.
 *
 * Latency is end_us - start_us of the ok rows (error_kind 0). Exact: the histogram counts, the
 * CDF's fractions (each point is F(x) = P(latency <= x) at a bucket edge x), the throughput
 * counts. Approximate: throughput p50/p99 per interval, read from a FINE-bucket log histogram
 * between the mode's min and max latency (error below one bucket, (max/min)^(1/FINE) relative),
 * clamped to the interval's exact min and max. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "result_json.h"
#include "spec.h"
#include "store_db.h"
#include "util.h"

#define HIST_BINS 60
#define CDF_POINTS 200
#define MAX_INTERVALS 200
#define TIMELINE_MAX 5000
#define FINE 2048

struct timeline_cell {
    int64_t seq;
    int64_t dur;
    int err;
    int used;
};

struct charts {
    /* the point: a mode at one concurrency level of run `id` */
    const char *id;
    int mode;
    int64_t concurrency;
    /* pass 1 */
    int64_t rows, ok, lat_min, lat_max, end_max, lane_max, start_max;
    bool has_end;
    /* latency scale: log-spaced edges in µs between lo and hi */
    double lo, hi, log_span;
    int bins;
    double edges[HIST_BINS + 1];
    int64_t hist[HIST_BINS];
    double fine_edges[FINE + 1];
    int64_t fine[FINE];
    /* throughput: n_int intervals of interval_us by end_us */
    int64_t interval_us;
    int n_int;
    int64_t *tp_ok, *tp_err, *tp_min, *tp_max;
    uint32_t *tp_fine; /* n_int × FINE */
    /* timeline sample: groups of lanes × slices of time, one request kept per cell */
    bool sampled;
    int64_t lanes, groups, slices, span_us;
    struct timeline_cell *cells;
};


static double ms(double us)
{
    return round3(us / 1000.0);
}

static int load_stats(struct store *st, struct charts *c, char *err, size_t errlen)
{
    sqlite3_stmt *s = st->q[Q_CHART_STATS];
    store_bind_point(s, c->id, c->mode, c->concurrency);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        c->rows = sqlite3_column_int64(s, 0);
        c->ok = sqlite3_column_int64(s, 1);
        c->lat_min = sqlite3_column_int64(s, 2);
        c->lat_max = sqlite3_column_int64(s, 3);
        c->has_end = sqlite3_column_type(s, 4) != SQLITE_NULL;
        c->end_max = sqlite3_column_int64(s, 4);
        c->lane_max = sqlite3_column_int64(s, 5);
        c->start_max = sqlite3_column_int64(s, 6);
    } else {
        store_fail(st, err, errlen, "computing charts");
    }
    store_done(s);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Latency scale from the ok range. Latencies under 1 µs count in the first bin. */
static void setup_latency(struct charts *c)
{
    if (c->ok == 0) return;
    c->lo = c->lat_min > 1 ? (double)c->lat_min : 1.0;
    c->hi = (double)c->lat_max > c->lo ? (double)c->lat_max : c->lo + 1.0;
    c->log_span = log(c->hi / c->lo);
    double width = c->hi - c->lo; /* no bin narrower than 1 µs on average */
    c->bins = width < HIST_BINS ? (int)(width < 1 ? 1 : width) : HIST_BINS;
    for (int i = 0; i <= c->bins; i++)
        c->edges[i] = c->lo * exp(c->log_span * i / c->bins);
    for (int j = 0; j <= FINE; j++)
        c->fine_edges[j] = c->lo * exp(c->log_span * j / FINE);
    c->edges[0] = c->fine_edges[0] = c->lo;
    c->edges[c->bins] = c->fine_edges[FINE] = c->hi;
}

/* Display bin [edges[i], edges[i+1]) (the last one closed) and fine bucket
 * (fine_edges[j], fine_edges[j+1]] (the first one closed below) of a latency. */
static void latency_bins(const struct charts *c, double lat, int *bin, int *fine)
{
    double t = lat <= c->lo ? 0 : lat >= c->hi ? 1 : log(lat / c->lo) / c->log_span;
    int i = (int)(t * c->bins), j = (int)ceil(t * FINE) - 1;
    i = i < 0 ? 0 : i >= c->bins ? c->bins - 1 : i;
    j = j < 0 ? 0 : j >= FINE ? FINE - 1 : j;
    /* exp/log rounding: settle on the edges themselves */
    while (i > 0 && lat < c->edges[i])
        i--;
    while (i < c->bins - 1 && lat >= c->edges[i + 1])
        i++;
    while (j > 0 && lat <= c->fine_edges[j])
        j--;
    while (j < FINE - 1 && lat > c->fine_edges[j + 1])
        j++;
    *bin = i;
    *fine = j;
}

static int setup_throughput(struct charts *c)
{
    c->interval_us = 1000;
    if (!c->has_end) return 0;
    static const int64_t steps[] = {1, 2, 5};
    for (int64_t base = 1000; base < INT64_MAX / 50; base *= 10) {
        int k;
        for (k = 0; k < 3; k++) {
            c->interval_us = base * steps[k];
            if (c->end_max / c->interval_us < MAX_INTERVALS) break;
        }
        if (k < 3) break;
    }
    c->n_int = (int)(c->end_max / c->interval_us) + 1;
    c->tp_ok = calloc(c->n_int, sizeof *c->tp_ok);
    c->tp_err = calloc(c->n_int, sizeof *c->tp_err);
    c->tp_min = calloc(c->n_int, sizeof *c->tp_min);
    c->tp_max = calloc(c->n_int, sizeof *c->tp_max);
    c->tp_fine = c->ok ? calloc((size_t)c->n_int * FINE, sizeof *c->tp_fine) : NULL;
    return c->tp_ok && c->tp_err && c->tp_min && c->tp_max && (c->tp_fine || !c->ok) ? 0 : -1;
}

static int setup_timeline(struct charts *c, int64_t lanes)
{
    c->lanes = lanes > c->lane_max + 1 ? lanes : c->lane_max + 1;
    if (c->lanes < 1) c->lanes = 1;
    c->sampled = c->rows > TIMELINE_MAX;
    if (!c->sampled) return 0;
    c->groups = c->lanes < TIMELINE_MAX ? c->lanes : TIMELINE_MAX;
    c->slices = TIMELINE_MAX / c->groups;
    c->span_us = (c->end_max > c->start_max ? c->end_max : c->start_max) + 1;
    if (c->span_us < 1) c->span_us = 1;
    c->cells = calloc((size_t)(c->groups * c->slices), sizeof *c->cells);
    return c->cells ? 0 : -1;
}

/* Keeps, per cell, an error before an ok request, then the longer one, then the earlier seq. */
static void timeline_offer(struct charts *c, int64_t seq, int64_t lane, int64_t t, int64_t dur,
                           int err)
{
    if (lane < 0) lane = 0;
    if (lane >= c->lanes) lane = c->lanes - 1;
    if (t < 0) t = 0;
    if (t >= c->span_us) t = c->span_us - 1;
    int64_t group = lane * c->groups / c->lanes, slice = t * c->slices / c->span_us;
    struct timeline_cell *cell = &c->cells[group * c->slices + slice];
    if (cell->used && (cell->err > err || (cell->err == err && cell->dur >= dur))) return;
    *cell = (struct timeline_cell){seq, dur, err, 1};
}

static int scan_rows(struct store *st, struct charts *c, char *err, size_t errlen)
{
    sqlite3_stmt *s = st->q[Q_CHART_SCAN];
    store_bind_point(s, c->id, c->mode, c->concurrency);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(s, 0), lane = sqlite3_column_int64(s, 1);
        bool has_start = sqlite3_column_type(s, 2) != SQLITE_NULL;
        bool has_end = sqlite3_column_type(s, 3) != SQLITE_NULL;
        int64_t start = sqlite3_column_int64(s, 2), end = sqlite3_column_int64(s, 3);
        int64_t dur = has_start && has_end && end > start ? end - start : 0;
        bool ok = sqlite3_column_int(s, 4) == REQ_OK && has_start && has_end;
        int bin = 0, fine = 0;
        if (ok && c->bins > 0) {
            latency_bins(c, (double)dur, &bin, &fine);
            c->hist[bin]++;
            c->fine[fine]++;
        }
        if (has_end && c->n_int > 0) {
            int64_t i = end / c->interval_us;
            if (i >= c->n_int) i = c->n_int - 1;
            if (i < 0) i = 0;
            if (ok && c->tp_fine) {
                if (c->tp_ok[i] == 0 || dur < c->tp_min[i]) c->tp_min[i] = dur;
                if (c->tp_ok[i] == 0 || dur > c->tp_max[i]) c->tp_max[i] = dur;
                c->tp_ok[i]++;
                c->tp_fine[i * FINE + fine]++;
            } else if (!ok) {
                c->tp_err[i]++;
            }
        }
        if (c->sampled)
            timeline_offer(c, seq, lane, has_start ? start : has_end ? end : 0, dur, !ok);
    }
    if (rc != SQLITE_DONE) store_fail(st, err, errlen, "computing charts");
    store_done(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

static cJSON *histogram_json(const struct charts *c)
{
    cJSON *h = cJSON_CreateObject();
    cJSON *edges = cJSON_AddArrayToObject(h, "edges_ms");
    cJSON *counts = cJSON_AddArrayToObject(h, "counts");
    for (int i = 0; c->bins > 0 && i <= c->bins; i++)
        cJSON_AddItemToArray(edges, cJSON_CreateNumber(ms(c->edges[i])));
    for (int i = 0; i < c->bins; i++)
        cJSON_AddItemToArray(counts, cJSON_CreateNumber((double)c->hist[i]));
    return h;
}

static cJSON *point(double x, double y)
{
    cJSON *p = cJSON_CreateArray();
    cJSON_AddItemToArray(p, cJSON_CreateNumber(x));
    cJSON_AddItemToArray(p, cJSON_CreateNumber(y));
    return p;
}

/* At most CDF_POINTS points, one each time the cumulative fraction passes the next k/200; x is
 * the bucket's upper edge (clamped to the data's range), so each point is exact. */
static cJSON *cdf_json(const struct charts *c)
{
    cJSON *cdf = cJSON_CreateArray();
    int64_t n = 0, cum = 0, next = 1;
    for (int j = 0; j < FINE; j++)
        n += c->fine[j];
    for (int j = 0; j < FINE && n > 0; j++) {
        cum += c->fine[j];
        if (!c->fine[j] || cum * CDF_POINTS < next * n) continue;
        double x = c->fine_edges[j + 1];
        if (x > (double)c->lat_max) x = (double)c->lat_max;
        if (x < (double)c->lat_min) x = (double)c->lat_min;
        cJSON_AddItemToArray(cdf, point(ms(x), round((double)cum / n * 1e6) / 1e6));
        next = cum * CDF_POINTS / n + 1;
    }
    return cdf;
}

/* Percentile p of the n latencies counted in cnt (numpy's linear rank), interpolated inside its
 * fine bucket and clamped to the exact [vmin, vmax]. */
static double fine_percentile(const struct charts *c, const uint32_t *cnt, int64_t n, double p,
                              int64_t vmin, int64_t vmax)
{
    double rank = p / 100.0 * (double)(n - 1), v = (double)vmax;
    int64_t cum = 0;
    for (int j = 0; j < FINE; j++) {
        if (!cnt[j]) continue;
        if ((double)(cum + cnt[j]) > rank) {
            double frac = (rank - (double)cum + 0.5) / cnt[j];
            v = c->fine_edges[j] + (c->fine_edges[j + 1] - c->fine_edges[j]) * frac;
            break;
        }
        cum += cnt[j];
    }
    return v < (double)vmin ? (double)vmin : v > (double)vmax ? (double)vmax : v;
}

static cJSON *throughput_json(const struct charts *c)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "interval_ms", (double)c->interval_us / 1000.0);
    cJSON *points = cJSON_AddArrayToObject(t, "points");
    for (int i = 0; i < c->n_int; i++) {
        cJSON *p = cJSON_CreateObject();
        int64_t ok = c->tp_ok[i], errs = c->tp_err[i];
        cJSON_AddNumberToObject(p, "t_ms", (double)(i * c->interval_us) / 1000.0);
        cJSON_AddNumberToObject(p, "ok", (double)ok);
        cJSON_AddNumberToObject(p, "errors", (double)errs);
        /* requests that ended in the interval (ok or not) per second of interval */
        cJSON_AddNumberToObject(p, "rps", round3((double)(ok + errs) * 1e6 / (double)c->interval_us));
        if (ok) {
            const uint32_t *cnt = &c->tp_fine[(size_t)i * FINE];
            cJSON_AddNumberToObject(
                p, "p50_ms", ms(fine_percentile(c, cnt, ok, 50, c->tp_min[i], c->tp_max[i])));
            cJSON_AddNumberToObject(
                p, "p99_ms", ms(fine_percentile(c, cnt, ok, 99, c->tp_min[i], c->tp_max[i])));
        } else {
            cJSON_AddNullToObject(p, "p50_ms");
            cJSON_AddNullToObject(p, "p99_ms");
        }
        cJSON_AddItemToArray(points, p);
    }
    return t;
}


/* Every row in seq order, or the sampled cells' rows in seq order. */
static cJSON *timeline_json(struct store *st, const struct charts *c, char *err, size_t errlen)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "lanes", (double)c->lanes);
    cJSON_AddNumberToObject(t, "total", (double)c->rows);
    cJSON_AddBoolToObject(t, "sampled", c->sampled);
    cJSON *rows = cJSON_AddArrayToObject(t, "requests");
    struct bench_record r;
    int rc = SQLITE_DONE;
    if (!c->sampled) {
        sqlite3_stmt *s = st->q[Q_REQ_ALL];
        store_bind_point(s, c->id, c->mode, c->concurrency);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const char *e = store_row_to_record(s, 0, &r);
            cJSON_AddItemToArray(rows, record_to_json(&r, e));
        }
        if (rc != SQLITE_DONE) store_fail(st, err, errlen, "computing timeline");
        store_done(s);
    } else {
        int64_t ncells = c->groups * c->slices, n = 0;
        int64_t *seqs = malloc((size_t)ncells * sizeof *seqs);
        if (!seqs) {
            cJSON_Delete(t);
            return errf(err, errlen, "computing timeline: out of memory"), NULL;
        }
        for (int64_t i = 0; i < ncells; i++)
            if (c->cells[i].used) seqs[n++] = c->cells[i].seq;
        qsort(seqs, (size_t)n, sizeof *seqs, cmp_int64);
        sqlite3_stmt *s = st->q[Q_REQ_ONE];
        for (int64_t i = 0; i < n && rc == SQLITE_DONE; i++) {
            store_bind_point(s, c->id, c->mode, c->concurrency);
            sqlite3_bind_int64(s, 4, seqs[i]);
            rc = sqlite3_step(s);
            if (rc == SQLITE_ROW) {
                const char *e = store_row_to_record(s, 0, &r);
                cJSON_AddItemToArray(rows, record_to_json(&r, e));
                rc = SQLITE_DONE;
            } else if (rc != SQLITE_DONE) {
                store_fail(st, err, errlen, "computing timeline");
            }
            sqlite3_reset(s);
        }
        store_done(s);
        free(seqs);
    }
    if (rc != SQLITE_DONE) {
        cJSON_Delete(t);
        return NULL;
    }
    return t;
}

static void charts_free(struct charts *c)
{
    free(c->tp_ok);
    free(c->tp_err);
    free(c->tp_min);
    free(c->tp_max);
    free(c->tp_fine);
    free(c->cells);
    free(c);
}

cJSON *store_charts_compute(struct store *st, const char *id, int mode, int64_t concurrency,
                            int64_t lanes, double wall_ms, char *err, size_t errlen)
{
    struct charts *c = calloc(1, sizeof *c);
    if (!c) return errf(err, errlen, "computing charts: out of memory"), NULL;
    c->id = id;
    c->mode = mode;
    c->concurrency = concurrency;
    cJSON *out = NULL;
    if (load_stats(st, c, err, errlen) != 0) goto done;
    setup_latency(c);
    if (setup_throughput(c) != 0 || setup_timeline(c, lanes) != 0) {
        errf(err, errlen, "computing charts: out of memory");
        goto done;
    }
    if (scan_rows(st, c, err, errlen) != 0) goto done;
    cJSON *timeline = timeline_json(st, c, err, errlen);
    if (!timeline) goto done;
    out = cJSON_CreateObject();
    struct mode_names names;
    cJSON_AddStringToObject(out, "mode", store_mode_name(st, id, mode, &names));
    cJSON_AddNumberToObject(out, "concurrency", (double)concurrency);
    cJSON_AddNumberToObject(out, "total", (double)c->rows);
    cJSON_AddNumberToObject(out, "wall_ms", round3(wall_ms));
    cJSON_AddItemToObject(out, "histogram", histogram_json(c));
    cJSON_AddItemToObject(out, "cdf", cdf_json(c));
    cJSON_AddItemToObject(out, "throughput", throughput_json(c));
    cJSON_AddItemToObject(out, "timeline", timeline);
    cJSON_AddNumberToObject(out, "ok", (double)c->ok);
done:
    charts_free(c);
    return out;
}
