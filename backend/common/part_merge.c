/* Merging the parts of a run (part.h): one RESULT per point from n shards, exactly. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "part.h"
#include "stats.h"
#include "util.h"

/* The parts ordered by shard, each shard once, all of one spec, shard count and kind of rows. */
static int check_set(const struct part *parts, int n, const struct part **by, char *err,
                     size_t errlen)
{
    if (n <= 0) return errf(err, errlen, "no part to merge");
    const struct part *p0 = &parts[0];
    if (n > PART_MAX_SHARDS || (int64_t)n > p0->shards)
        return errf(err, errlen, "%d parts for a run of %" PRId64 " shards: a shard is given twice",
                    n, p0->shards);
    for (int k = 0; k < n; k++) {
        const struct part *p = &parts[k];
        if (strcmp(p->spec_text, p0->spec_text))
            return errf(err, errlen,
                        "parts of different specs: shard %" PRId64 " has spec %s, shard %" PRId64
                        " has spec %s",
                        p0->shard, p0->spec_hash, p->shard, p->spec_hash);
        if (p->shards != p0->shards)
            return errf(err, errlen,
                        "parts of different splits: shard %" PRId64 " of %" PRId64
                        " and shard %" PRId64 " of %" PRId64,
                        p0->shard, p0->shards, p->shard, p->shards);
        if (p->rows != p0->rows)
            return errf(err, errlen,
                        "shard %" PRId64 " kept its rows and shard %" PRId64
                        " did not (--rows): merge parts written alike",
                        p->rows ? p->shard : p0->shard, p->rows ? p0->shard : p->shard);
        if (by[p->shard])
            return errf(err, errlen, "shard %" PRId64 " of %" PRId64 " is given twice", p->shard,
                        p->shards);
        by[p->shard] = p;
    }
    for (int64_t i = 0; i < p0->shards; i++)
        if (!by[i])
            return errf(err, errlen,
                        "shard %" PRId64 " of %" PRId64 " is missing (%d of %" PRId64
                        " parts given)",
                        i, p0->shards, n, p0->shards);
    return 0;
}

/* The most common error message over the shards (equal texts counted together; a failed
 * request without a message counts as its kind's name), as bench_collect chooses it in one
 * process. */
static void top_error(const struct part *const *by, int64_t n, int k, struct mode_result *res)
{
    int64_t plain[REQ_ERR_COUNT] = {0};
    for (int64_t i = 0; i < n; i++) {
        const struct part_point *pt = &by[i]->points[k];
        for (int e = 1; e < REQ_ERR_COUNT; e++)
            plain[e] += pt->unmessaged[e];
        for (int32_t m = 0; m < pt->nmsgs; m++) {
            if (!pt->msg_count[m]) continue;
            bool seen = false; /* counted with an earlier shard that has the same text */
            for (int64_t e = 0; e < i && !seen; e++)
                for (int32_t q = 0; q < by[e]->points[k].nmsgs && !seen; q++)
                    seen = by[e]->points[k].msg_count[q] &&
                           !strcmp(by[e]->points[k].msgs[q], pt->msgs[m]);
            if (seen) continue;
            int64_t total = 0;
            for (int64_t e = i; e < n; e++) {
                const struct part_point *q = &by[e]->points[k];
                for (int32_t j = 0; j < q->nmsgs; j++)
                    if (!strcmp(q->msgs[j], pt->msgs[m])) total += q->msg_count[j];
            }
            if (total > res->top_error_count) {
                res->top_error_count = total;
                res->top_error_kind = pt->msg_kind[m];
                snprintf(res->top_error, sizeof res->top_error, "%s", pt->msgs[m]);
            }
        }
    }
    for (int e = 1; e < REQ_ERR_COUNT; e++)
        if (plain[e] > res->top_error_count) {
            res->top_error_count = plain[e];
            res->top_error_kind = e;
            snprintf(res->top_error, sizeof res->top_error, "%s", req_error_name(e));
        }
}

/* A latency summary (ms) from a histogram of µs; -1 when it is empty. */
static int hist_summary(const struct histogram *h, struct latency_summary *out)
{
    if (histogram_count(h) == 0) return -1;
    out->min = histogram_min(h) / 1000.0;
    out->max = histogram_max(h) / 1000.0;
    out->mean = histogram_mean(h) / 1000.0;
    out->p50 = histogram_percentile(h, 50) / 1000.0;
    out->p90 = histogram_percentile(h, 90) / 1000.0;
    out->p99 = histogram_percentile(h, 99) / 1000.0;
    return 0;
}

/* Without rows: the percentiles of the merged histograms, within their precision. */
static int merge_hists(const struct part *const *by, int64_t n, int k, struct mode_result *res)
{
    struct histogram *h = calloc(3, sizeof *h);
    if (!h) return -1;
    for (int64_t i = 0; i < n; i++) {
        const struct part_point *pt = &by[i]->points[k];
        histogram_merge(&h[0], pt->hist_ok);
        histogram_merge(&h[1], pt->hist_all);
        histogram_merge(&h[2], pt->hist_due);
    }
    res->has_latency = hist_summary(&h[0], &res->latency_ms) == 0;
    res->has_latency_all = hist_summary(&h[1], &res->latency_all_ms) == 0;
    res->has_latency_from_due = hist_summary(&h[2], &res->latency_from_due_ms) == 0;
    free(h);
    return 0;
}

static int cmp_rec_seq(const void *a, const void *b)
{
    int64_t x = ((const struct bench_record *)a)->seq, y = ((const struct bench_record *)b)->seq;
    return x < y ? -1 : x > y;
}

/* The union of the rows of point k: times from the common start, lanes renumbered, messages
 * renumbered into one table; latencies into lat and due. */
static int union_rows(const struct part *const *by, int64_t n, int k, struct merged_point *mp,
                      const struct spec *s, struct stats *lat, struct stats *due, struct stats *all)
{
    int64_t total = 0, nmsgs = 0;
    for (int64_t i = 0; i < n; i++) {
        total += by[i]->points[k].nrecs;
        nmsgs += by[i]->points[k].nmsgs;
    }
    mp->recs = malloc((size_t)(total ? total : 1) * sizeof *mp->recs);
    mp->msgs = malloc((size_t)(nmsgs ? nmsgs : 1) * sizeof *mp->msgs);
    if (!mp->recs || !mp->msgs) return -1;
    for (int64_t i = 0; i < n; i++) {
        const struct part_point *pt = &by[i]->points[k];
        int64_t shift = pt->started_wall_us - mp->common_start_us;
        int32_t base = mp->nmsgs;
        for (int32_t m = 0; m < pt->nmsgs; m++)
            mp->msgs[mp->nmsgs++] = pt->msgs[m];
        for (int64_t j = 0; j < pt->nrecs; j++) {
            struct bench_record r = pt->recs[j];
            if (stats_add(all, part_elapsed_all(&r, s->timeout_ms))) return -1;
            if (r.err_kind == REQ_OK) {
                if (stats_add(lat, r.end_us - r.start_us)) return -1;
                if (s->rate > 0 && stats_add(due, r.end_us - r.sched_us)) return -1;
            }
            int64_t *t[] = {&r.sched_us, &r.start_us, &r.connect_us,
                            &r.tls_us,   &r.ttfb_us,  &r.end_us};
            for (size_t q = 0; q < sizeof t / sizeof t[0]; q++)
                if (*t[q] >= 0) *t[q] += shift;
            if (r.lane >= 0) r.lane += (int32_t)pt->lane_offset;
            if (r.msg >= 0) r.msg += base;
            mp->recs[mp->nrecs++] = r;
        }
    }
    qsort(mp->recs, (size_t)mp->nrecs, sizeof *mp->recs, cmp_rec_seq);
    return 0;
}

static int merge_point(const struct part *const *by, int64_t n, int k, struct merged_point *mp,
                       const struct spec *s, bool rows, char *err, size_t errlen)
{
    struct mode_result *res = &mp->res;
    const struct part_point *p0 = &by[0]->points[k];
    memset(res, 0, sizeof *res);
    res->mode = p0->mode;
    res->concurrency = p0->level;
    mp->shards = calloc((size_t)n, sizeof *mp->shards);
    if (!mp->shards) return errf(err, errlen, "merging: out of memory");
    int64_t first = INT64_MAX, last = INT64_MIN, end = INT64_MIN, slot = p0->slot_wall_us;
    for (int64_t i = 0; i < n; i++) {
        const struct part_point *pt = &by[i]->points[k];
        res->requests += pt->requests;
        res->ok += pt->ok;
        res->errors += pt->errors;
        res->bytes += pt->bytes;
        res->connections += pt->connections;
        for (int v = 0; v < 4; v++) res->http_versions[v] += pt->http_versions[v];
        for (int e = 1; e < REQ_ERR_COUNT; e++)
            res->errors_by_kind[e] += pt->errors_by_kind[e];
        res->lanes += pt->lanes;
        res->cpu_user_ms += pt->cpu_user_ms;
        res->cpu_sys_ms += pt->cpu_sys_ms;
        res->peak_rss_kb += pt->peak_rss_kb;
        res->workers_rss_kb += pt->workers_rss_kb;
        res->cancelled |= pt->cancelled;
        if (pt->started_wall_us < first) first = pt->started_wall_us;
        if (pt->started_wall_us > last) last = pt->started_wall_us;
        int64_t e = pt->started_wall_us + (int64_t)(pt->wall_ms * 1000.0 + 0.5);
        if (e > end) end = e;
        if (pt->slot_wall_us != slot) slot = -1;
    }
    mp->common_start_us = slot >= 0 && slot <= first ? slot : first;
    mp->start_skew_ms = (double)(last - first) / 1000.0;
    res->wall_ms = (double)(end - mp->common_start_us) / 1000.0;
    res->rps = res->wall_ms > 0 ? (double)res->ok / (res->wall_ms / 1000.0) : 0;
    for (int64_t i = 0; i < n; i++) {
        const struct part_point *pt = &by[i]->points[k];
        struct merged_shard *ms = &mp->shards[i];
        ms->shard = i;
        ms->started_wall_us = pt->started_wall_us;
        ms->skew_ms = (double)(pt->started_wall_us - mp->common_start_us) / 1000.0;
        ms->wall_ms = pt->wall_ms;
        ms->rps = pt->wall_ms > 0 ? (double)pt->ok / (pt->wall_ms / 1000.0) : 0;
        ms->cpu_user_ms = pt->cpu_user_ms;
        ms->cpu_sys_ms = pt->cpu_sys_ms;
        ms->requests = pt->requests;
        ms->ok = pt->ok;
        ms->errors = pt->errors;
        ms->peak_rss_kb = pt->peak_rss_kb;
    }
    res->attempts_per_s = res->wall_ms > 0 ? (double)res->requests / (res->wall_ms / 1000.0) : 0;
    top_error(by, n, k, res);
    if (!rows) return merge_hists(by, n, k, res) ? errf(err, errlen, "merging: out of memory") : 0;
    struct stats lat, due, all;
    stats_init(&lat);
    stats_init(&due);
    stats_init(&all);
    int rc = union_rows(by, n, k, mp, s, &lat, &due, &all);
    if (rc == 0) {
        res->has_latency = stats_summary(&lat, &res->latency_ms) == 0;
        res->has_latency_from_due = stats_summary(&due, &res->latency_from_due_ms) == 0;
        res->has_latency_all = stats_summary(&all, &res->latency_all_ms) == 0;
    }
    stats_free(&lat);
    stats_free(&due);
    stats_free(&all);
    return rc ? errf(err, errlen, "merging %" PRId64 " rows: out of memory", res->requests) : 0;
}

int part_merge(const struct part *parts, int n, struct merged *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    spec_init(&out->spec);
    const struct part **by = calloc(PART_MAX_SHARDS, sizeof *by);
    if (!by) return errf(err, errlen, "merging: out of memory");
    int rc = -1;
    if (check_set(parts, n, by, err, errlen)) goto out;
    const struct part *p0 = by[0];
    out->shards = p0->shards;
    out->rows = p0->rows;
    if (spec_copy(&out->spec, &p0->spec) || !(out->spec_text = strdup(p0->spec_text))) {
        errf(err, errlen, "merging: out of memory");
        goto out;
    }
    out->points = calloc((size_t)p0->npoints, sizeof *out->points);
    if (!out->points) {
        errf(err, errlen, "merging: out of memory");
        goto out;
    }
    for (int k = 0; k < p0->npoints; k++) {
        out->npoints++;
        if (merge_point(by, p0->shards, k, &out->points[k], &out->spec, out->rows, err, errlen))
            goto out;
    }
    rc = 0;
out:
    free(by);
    if (rc) merged_free(out);
    return rc;
}

void merged_free(struct merged *m)
{
    for (int k = 0; k < m->npoints; k++) {
        free(m->points[k].shards);
        free(m->points[k].recs);
        free((void *)m->points[k].msgs);
    }
    free(m->points);
    free(m->spec_text);
    spec_free(&m->spec);
    memset(m, 0, sizeof *m);
}
