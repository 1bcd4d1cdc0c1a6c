/* Chart aggregates of one mode at one concurrency level (a point), computed once from its stored
 * rows in two streaming passes (an SQL aggregate for the ranges, then one scan in PK order), in
 * memory bounded whatever the number of rows: one latency histogram (histogram.h) for the point
 * and one per throughput interval that holds an ok request: at most 201 of 186 KB, zero-filled
 * by calloc, so that only the pages of the buckets in use are ever touched.
 *
 * Latency is end_us - start_us of the ok rows (error_kind 0). Exact: the histogram counts (its
 * display edges fall on the latency histogram's bucket edges, so each bucket counts in one
 * bin), the CDF's fractions (each point is F(x) = P(latency <= x) at a bucket's last value x),
 * the throughput counts. Approximate: throughput p50/p99 per interval, the latency histogram's
 * percentiles (within 1/2048 of the exact ones; a lone request gives its own latency). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "histogram.h"
#include "result_json.h"
#include "spec.h"
#include "store_db.h"
#include "util.h"

#define HIST_BINS 60
#define CDF_POINTS 200
#define MAX_INTERVALS 200
#define TIMELINE_MAX 5000

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
    struct histogram *lat; /* the ok latencies, µs */
    /* throughput: n_int intervals of interval_us by end_us */
    int64_t interval_us;
    int n_int;
    int64_t *tp_err;
    struct histogram **tp_lat; /* the ok latencies ending in each interval; NULL while none */
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
    c->tp_err = calloc(c->n_int, sizeof *c->tp_err);
    c->tp_lat = calloc(c->n_int, sizeof *c->tp_lat);
    return c->tp_err && c->tp_lat ? 0 : -1;
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
        if (ok) histogram_add(c->lat, dur);
        if (has_end && c->n_int > 0) {
            int64_t i = end / c->interval_us;
            if (i >= c->n_int) i = c->n_int - 1;
            if (i < 0) i = 0;
            if (ok) {
                if (!c->tp_lat[i] && !(c->tp_lat[i] = calloc(1, sizeof **c->tp_lat))) {
                    errf(err, errlen, "computing charts: out of memory");
                    rc = SQLITE_NOMEM;
                    break;
                }
                histogram_add(c->tp_lat[i], dur);
            } else {
                c->tp_err[i]++;
            }
        }
        if (c->sampled)
            timeline_offer(c, seq, lane, has_start ? start : has_end ? end : 0, dur, !ok);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_NOMEM) store_fail(st, err, errlen, "computing charts");
    store_done(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Up to HIST_BINS log-spaced bins from the smallest ok latency (at least 1 µs) to the largest,
 * each inner edge moved down to the lower edge of the latency histogram's bucket it falls in
 * (edges that meet are merged), so that every bucket lies in one bin and the counts are exact:
 * bin i is [edges[i], edges[i+1]), the last one closed. */
static cJSON *histogram_json(const struct charts *c)
{
    cJSON *h = cJSON_CreateObject();
    cJSON *edges = cJSON_AddArrayToObject(h, "edges_ms");
    cJSON *counts = cJSON_AddArrayToObject(h, "counts");
    if (histogram_count(c->lat) == 0) return h;
    const struct histogram *lat = c->lat;
    int64_t lo = lat->min > 1 ? lat->min : 1, hi = lat->max > lo ? lat->max : lo + 1;
    int64_t edge[HIST_BINS + 1], count[HIST_BINS] = {0};
    int bins = 0;
    edge[0] = lo;
    double span = log((double)hi / (double)lo);
    for (int i = 1; i < HIST_BINS; i++) {
        int64_t e = (int64_t)(lo * exp(span * i / HIST_BINS));
        e = histogram_bucket_lo(histogram_bucket_of(e));
        if (e > edge[bins] && e < hi) edge[++bins] = e;
    }
    edge[++bins] = hi;
    int bin = 0, last = histogram_bucket_of(lat->max);
    for (int b = histogram_bucket_of(lat->min); b <= last; b++) {
        if (!lat->counts[b]) continue;
        while (bin + 1 < bins && histogram_bucket_lo(b) >= edge[bin + 1])
            bin++;
        count[bin] += lat->counts[b];
    }
    for (int i = 0; i <= bins; i++)
        cJSON_AddItemToArray(edges, cJSON_CreateNumber(ms((double)edge[i])));
    for (int i = 0; i < bins; i++)
        cJSON_AddItemToArray(counts, cJSON_CreateNumber((double)count[i]));
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
 * the last value of the bucket reached (at most the largest latency), so each point is exact. */
static cJSON *cdf_json(const struct charts *c)
{
    cJSON *cdf = cJSON_CreateArray();
    const struct histogram *lat = c->lat;
    int64_t n = histogram_count(lat), cum = 0, next = 1;
    int last = n ? histogram_bucket_of(lat->max) : -1;
    for (int b = n ? histogram_bucket_of(lat->min) : 0; b <= last; b++) {
        cum += lat->counts[b];
        if (!lat->counts[b] || cum * CDF_POINTS < next * n) continue;
        int64_t x = histogram_bucket_hi(b);
        if (x > lat->max) x = lat->max;
        cJSON_AddItemToArray(cdf, point(ms((double)x), round((double)cum / n * 1e6) / 1e6));
        next = cum * CDF_POINTS / n + 1;
    }
    return cdf;
}

static cJSON *throughput_json(const struct charts *c)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "interval_ms", (double)c->interval_us / 1000.0);
    cJSON *points = cJSON_AddArrayToObject(t, "points");
    for (int i = 0; i < c->n_int; i++) {
        cJSON *p = cJSON_CreateObject();
        const struct histogram *lat = c->tp_lat[i];
        int64_t ok = lat ? histogram_count(lat) : 0, errs = c->tp_err[i];
        cJSON_AddNumberToObject(p, "t_ms", (double)(i * c->interval_us) / 1000.0);
        cJSON_AddNumberToObject(p, "ok", (double)ok);
        cJSON_AddNumberToObject(p, "errors", (double)errs);
        /* requests that ended in the interval (ok or not) per second of interval */
        cJSON_AddNumberToObject(p, "rps", round3((double)(ok + errs) * 1e6 / (double)c->interval_us));
        if (ok) {
            cJSON_AddNumberToObject(p, "p50_ms", ms(histogram_percentile(lat, 50)));
            cJSON_AddNumberToObject(p, "p99_ms", ms(histogram_percentile(lat, 99)));
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
    for (int i = 0; c->tp_lat && i < c->n_int; i++)
        free(c->tp_lat[i]);
    free(c->tp_lat);
    free(c->tp_err);
    free(c->lat);
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
    c->lat = calloc(1, sizeof *c->lat); /* zero-filled: an empty histogram */
    if (!c->lat || setup_throughput(c) != 0 || setup_timeline(c, lanes) != 0) {
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
