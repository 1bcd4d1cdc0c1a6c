/* Where the engine's measurements go (a type only: the caller of bench_run provides one). */
#ifndef CONLAB_BENCH_SINK_H
#define CONLAB_BENCH_SINK_H

#include <stddef.h>
#include <stdint.h>
#include "record.h"
#include "spec.h"

#define BENCH_TICK_US 250000 /* a tick every 250 ms while a mode runs */

/* Calls never overlap; `tick` may come from a thread of the engine's own (never a worker),
 * everything else from the thread that called bench_run. Per mode: mode_start, ticks, then (the
 * mode's clock stopped) one last tick, records in batches of ascending seq covering every
 * request of the mode, mode_done. */
struct bench_sink {
    void *ctx;
    void (*mode_start)(void *ctx, enum bench_mode mode, int64_t concurrency, int64_t total,
                       int64_t lanes);
    void (*tick)(void *ctx, const struct bench_tick *t);
    /* msgs is the mode's whole table of messages, the same in every call of the mode. */
    void (*records)(void *ctx, enum bench_mode mode, const struct bench_record *r, size_t n,
                    const struct record_msgs *msgs);
    void (*mode_done)(void *ctx, const struct mode_result *res);
};

#endif
