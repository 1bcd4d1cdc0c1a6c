/* The context of one mode while it runs: what every part of the engine reads (a type only).
 * The engine's frame (bench.c) fills it; the modes, the dispatch, the logs and the collection
 * work on it. */
#ifndef CONLAB_BENCH_CTX_H
#define CONLAB_BENCH_CTX_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "bench_sink.h"
#include "record.h"
#include "spec.h"

struct bench_shared; /* bench_log.h */

/* A request the mode knows was lost (its worker process died while running it). */
struct bench_lost {
    int64_t seq, lane, sched_us, end_us;
    char why[96];
};

struct bench_ctx {
    const struct spec *spec;
    enum bench_mode mode;
    const struct bench_sink *sink;
    int64_t t0;                 /* the mode's start, monotonic µs */
    int64_t lanes;              /* workers to start: min(level, requests); 1 for sync */
    struct curl_slist *headers; /* shared, read-only during the mode */
    struct bench_shared *sh;
    size_t sh_size;
    int sh_fd;    /* memfd behind sh (processes), else -1 */
    int spill_fd; /* memfd receiving the logs' full chunks */
    /* processes: filled by the mode, read by the collection */
    struct bench_lost *lost;
    int64_t nlost;
    bool no_worker_left; /* every worker died: what was never handed out is lost with them */
    int64_t workers_pss_kb, workers_rss_kb;
    /* the ticker's view */
    int64_t *seen;        /* per log: sample entries already taken */
    int64_t next_tick_us; /* ticks fall on t0 + k × BENCH_TICK_US */
};

/* A mode's start, for the engine's frame and the client runner alike: res zeroed and named (mode,
 * concurrency, requests, lanes), c zeroed with the spec, the mode, the sink, `lanes` workers and
 * no shared memory yet. */
static inline void bench_ctx_init(struct bench_ctx *c, struct mode_result *res,
                                  const struct spec *s, enum bench_mode mode, int64_t concurrency,
                                  int64_t lanes, const struct bench_sink *sink)
{
    memset(res, 0, sizeof *res);
    res->mode = mode;
    res->concurrency = concurrency;
    res->requests = s->requests;
    res->lanes = lanes;
    memset(c, 0, sizeof *c);
    c->spec = s;
    c->mode = mode;
    c->sink = sink;
    c->sh_fd = c->spill_fd = -1;
    c->lanes = lanes;
}

#endif
