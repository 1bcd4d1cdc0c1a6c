/* Shards and their parts (the contract's section "Shards: one run over many machines").
 *
 * Shard i of n runs the requests whose seq ≡ i (mod n): N_i = part_share(N, i, n) of them, its
 * k-th being seq i + k × n, due at seq / rate, so that with a rate the shards' due times
 * interleave and together keep the spec's rate. The concurrency C of each level is split the same
 * way: C_i = part_share(C, i, n) (C / n, plus one for the first C mod n shards). A shard's lane l
 * is the merged run's lane part_lane_offset(C, i, n) + l: the offset of the shard's first lane,
 * Σ_{j<i} C_j, which is i × C_i when the split is even (`sync` has one lane per shard: offset i).
 *
 * A part (`conlab run --shard i/n --out FILE`) is JSON:
 *   {"conlab_part": 1, "spec": SPEC, "spec_hash": "<16 hex>", "shard": i, "shards": n,
 *    "rows": true|false, "points": [POINT...]}
 * with one POINT per (level, mode) in run order (levels outer, modes inner):
 *   {"mode", "concurrency" (the spec's level), "shard_concurrency" C_i, "lane_offset",
 *    "requests" N_i, "ok", "errors", "bytes", "errors_by_kind" {kind: n}, "lanes", "wall_ms",
 *    "cpu_ms" {"user", "sys"}, "peak_rss_kb", "workers_rss_kb", "cancelled",
 *    "started_wall_us" (the mode's start, CLOCK_REALTIME µs), "slot_wall_us" (the common start
 *    it waited for, null without --start-at), "skew_us" (started − slot, null without),
 *    "histograms": {"ok", "all", "due"} (histogram_encode's text of the latencies in µs: of the
 *    ok requests (end − start), of every request as latency_all_ms counts them, and of the ok
 *    requests from their due time (end − sched) with a rate, else empty),
 *    "messages": [text...], "message_counts": [failed requests with each message...],
 *    "message_kinds": [the error kind of the first of them...], "unmessaged_by_kind": {kind: n}
 *    (failed requests without a message),
 *    "connections" (new connections opened), "http_versions" [1.0, 1.1, 2, 3 answers],
 *    "records": [[seq, lane, sched_us, start_us, connect_us, ttfb_us, end_us, status, bytes,
 *                 error_kind, message index or -1, tls_us, conn, http_version, reused]...]
 *    (absent with "rows": false)}
 * Record times are µs from the shard's own start of the mode (started_wall_us), lanes the
 * shard's own, seq the spec's. */
#ifndef CONLAB_PART_H
#define CONLAB_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "histogram.h"
#include "record.h"
#include "spec.h"

#define PART_FORMAT 1
#define PART_MAX_SHARDS 1024
#define PART_MAX_BYTES ((size_t)2 << 30) /* a part file larger than this is refused */

/* What shard i of n gets of `total` (requests, or a level's concurrency): total / n, plus one
 * for the first total mod n shards. */
int64_t part_share(int64_t total, int64_t i, int64_t n);

/* The merged lane of the shard's lane 0 at level c: Σ_{j<i} part_share(c, j, n). */
int64_t part_lane_offset(int64_t c, int64_t i, int64_t n);

/* Parses "i/n" (0 ≤ i < n ≤ PART_MAX_SHARDS) as `--shard` gives it. Returns 0 or -1 with err
 * naming `what`. */
int part_parse_shard(const char *text, const char *what, int64_t *i, int64_t *n, char *err,
                     size_t errlen);


/* The 16 hex digits (FNV-1a 64) of a spec's canonical text (spec_to_text) and a NUL. */
void part_spec_hash(const char *spec_text, char out[17]);

/* One point (a mode at one level) of a part. */
struct part_point {
    int32_t mode;              /* enum bench_mode */
    int64_t level;             /* the spec's concurrency level */
    int64_t shard_concurrency; /* C_i */
    int64_t lane_offset;
    int64_t requests, ok, errors, bytes;
    int64_t errors_by_kind[REQ_ERR_COUNT];
    int64_t connections, http_versions[4];
    int64_t lanes;
    double wall_ms, cpu_user_ms, cpu_sys_ms;
    int64_t peak_rss_kb, workers_rss_kb;
    bool cancelled;
    int64_t started_wall_us;
    int64_t slot_wall_us; /* -1: no slot */
    /* Latencies (µs), owned: ok (end − start of the ok requests), all (every request, as
     * latency_all_ms counts it), due (end − sched of the ok ones; empty without a rate). */
    struct histogram *hist_ok, *hist_all, *hist_due;
    char **msgs; /* owned */
    int32_t nmsgs;
    int64_t *msg_count;                /* per message: failed requests with it */
    int32_t *msg_kind;                 /* per message: the kind of the first of them */
    int64_t unmessaged[REQ_ERR_COUNT]; /* failed requests without a message, per kind */
    struct bench_record *recs;         /* owned; NULL when rows were left out */
    int64_t nrecs;
};

struct part {
    struct spec spec;
    char *spec_text; /* canonical */
    char spec_hash[17];
    int64_t shard, shards;
    bool rows;
    struct part_point *points; /* spec.nlevels × spec.nmodes once complete */
    int npoints;
};

/* An empty part of shard i of n for spec s (copied). Returns 0 or -1 (out of memory). */
int part_init(struct part *p, const struct spec *s, int64_t i, int64_t n, bool rows);

/* Appends a point, empty, with its histograms allocated; returns it or NULL (out of memory). */
struct part_point *part_add_point(struct part *p);

/* Sets the point's message table to the n texts (copied), with their counts at 0. Returns 0 or
 * -1 (out of memory). */
int part_point_set_msgs(struct part_point *pt, const char *const *text, int32_t n);

/* Counts one record of the point into its histograms and message counts (not into ok, errors,
 * bytes: those are the engine's). timeout_ms and rate are the spec's. */
void part_point_count(struct part_point *pt, const struct bench_record *r, int64_t timeout_ms,
                      double rate);

/* What latency_all_ms counts for a record: its elapsed time (end − start, 0 when it never
 * started), a timeout at least timeout_ms. */
int64_t part_elapsed_all(const struct bench_record *r, int64_t timeout_ms);

void part_free(struct part *p);

/* Writes p as JSON to f (streaming the records). Returns 0 or -1 with err. */
int part_write(FILE *f, const struct part *p, char *err, size_t errlen);

/* Reads and checks a part file: well-formed JSON, every field present with its type and range,
 * the spec valid and its hash right, the points those of the spec in run order, each one adding
 * up (ok + errors == requests == the shard's share; with rows, one record per seq of the shard
 * and the counters those of the records; the histogram's count == ok). Returns 0, or -1 with
 * err starting with `path` and naming the field at fault; `out` is left freed then. */
int part_read(const char *path, struct part *out, char *err, size_t errlen);

/* part_read of a part held in memory: len bytes of text, NUL-terminated, which it overwrites
 * (the records are cut out before parsing); messages start with `name`. */
int part_read_text(char *text, size_t len, const char *name, struct part *out, char *err,
                   size_t errlen);

/* The spec of point k (levels outer, modes inner) of s alone: s with that one level and mode
 * and no `shards`, as a shard coordinated by the dashboard uploads each point as a part of its
 * own. Returns 0 or -1 (k out of range, out of memory). */
int part_point_spec(const struct spec *s, int k, struct spec *out);

/* A merged run (part_merge). */
struct merged_shard {
    int64_t shard;
    int64_t started_wall_us; /* the point's start in this shard */
    double skew_ms;          /* started − the common start (the slot, else the earliest) */
    double wall_ms, rps, cpu_user_ms, cpu_sys_ms;
    int64_t requests, ok, errors, peak_rss_kb;
};

struct merged_point {
    struct mode_result res;      /* the merged RESULT */
    int64_t common_start_us;     /* CLOCK_REALTIME µs: the slot when every shard had it, else the
                                    earliest start */
    double start_skew_ms;        /* latest start − earliest start */
    struct merged_shard *shards; /* one per shard, by shard */
    struct bench_record *recs;   /* the union of the rows in seq order, times from the common
                                    start, lanes renumbered; NULL without rows */
    int64_t nrecs;
    const char **msgs; /* borrowed from the parts */
    int32_t nmsgs;
};

struct merged {
    struct spec spec;
    char *spec_text;
    int64_t shards;
    bool rows;
    struct merged_point *points;
    int npoints;
};

/* Merges n parts (in any order) into one run. Refuses, with err naming the problem, parts of
 * different specs, a shard missing or given twice, parts of different shard counts, or parts
 * that mix rows and no rows. Counts are summed; percentiles come from the union of the rows
 * (exact, as stats.c computes them) or, without rows, from the merged histograms (within
 * histogram_percentile's precision; min, max and mean exact); the top error from the messages'
 * counts; wall time runs from the common start to the last shard's end; rps is the ok requests
 * over it; CPU and memory are summed. The parts must outlive `out` (messages are borrowed).
 * Returns 0 or -1 with err. */
int part_merge(const struct part *parts, int n, struct merged *out, char *err, size_t errlen);

void merged_free(struct merged *m);

#endif
