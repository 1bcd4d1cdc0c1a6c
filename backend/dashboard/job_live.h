/* The running mode, live (RUN's progress.live and the SSE progress event): cumulative counters
 * and one point per tick (~250 ms) holding the counters then and the latency percentiles of that
 * point's sample. Points are made by one function, job_live_point, from (counters, the sample's
 * latency histogram): the job child sends a tick (struct bench_tick: counters and a small
 * sample of latencies) every 250 ms while a mode runs, and the runner feeds each to
 * job_live_feed, which counts the sampled latencies in a histogram (histogram.h) until the
 * point is made. */
#ifndef CONLAB_JOB_LIVE_H
#define CONLAB_JOB_LIVE_H

#include <stdint.h>
#include "histogram.h"
#include "record.h"

struct cJSON;
struct mode_names;

#define JOB_LIVE_TICK_MS 250 /* a point per tick */
#define JOB_LIVE_POINTS 200  /* then every other point is dropped and the tick doubles */

struct job_live_point {
    int64_t t_ms;             /* since the mode started (on the dashboard's clock) */
    int64_t done, ok, errors; /* cumulative */
    double p50_ms, p99_ms;    /* of the point's sample of ok requests; NAN when it has none */
};

/* What is shown: shared (under the job's lock) and copied into job_progress. */
struct job_live {
    int mode;         /* enum bench_mode running now; -1 when none */
    int64_t start_us; /* clock_us() when the mode's start reached the dashboard */
    int64_t done, ok, errors;
    int npoints;
    struct job_live_point points[JOB_LIVE_POINTS];
};

/* The runner thread's side: the sample of the point being made (about 186 KB: allocate it, as
 * job_runner.c does, rather than put it on a stack). */
struct job_live_sampler {
    int64_t tick_ms; /* the points' spacing; doubles each time the points are halved */
    int64_t next_ms; /* the next point is made by the first tick at or after this (ms since the
                      * mode started, on the child's clock) */
    struct histogram lat; /* the sampled ok latencies (µs) of the ticks since the last point */
};

/* The point at t_ms for cumulative counters and the latencies (µs) of a sample of ok requests:
 * their p50/p99 (histogram_percentile: numpy's linear interpolation, within 1/2048 of the exact
 * value), NAN when the sample is empty. */
struct job_live_point job_live_point(int64_t t_ms, int64_t done, int64_t ok, int64_t errors,
                                     const struct histogram *lat);

/* A mode starts (mode >= 0) or none runs any more (mode -1): both sides restart. */
void job_live_begin(struct job_live *l, struct job_live_sampler *s, int mode, int64_t now_us);

/* A tick of the running mode from the child (call with the lock that guards l): its counters
 * are shown at once, its sample joins the point being made, and the point is appended once the
 * tick reaches next_ms. Returns 1 when a point was added, else 0. */
int job_live_feed(struct job_live *l, struct job_live_sampler *s, const struct bench_tick *t);

/* Appends a point, keeping at most JOB_LIVE_POINTS (then every other one is dropped: the
 * resolution halves) and the counters in l up to date. */
void job_live_append(struct job_live *l, const struct job_live_point *p);

/* {"mode", "elapsed_ms", "done", "ok", "errors", "points": [{"t_ms", "done", "ok", "errors",
 * "p50_ms", "p99_ms"}]} (percentiles null when a tick had no ok request), or JSON null when no
 * mode runs. */
struct cJSON *job_live_json(const struct job_live *l, const struct mode_names *names,
                            int64_t now_us);

#endif
