/* The workers' logs and the memory they share (bench_log.c): recording without disturbing. */
#ifndef CONLAB_BENCH_LOG_H
#define CONLAB_BENCH_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include "bench_ctx.h"
#include "record.h"

#define LOG_CHUNK 64  /* records a log holds before it writes them to the spill */
#define LOG_MSGS 64   /* distinct error messages a log keeps (more: the kind's name) */
#define LOG_SAMPLE 64 /* latest latencies a log keeps for the ticks */

/* One recording worker's log: the loop of `sync` or `async`, a thread of `threads`, a process of
 * `processes` (then in memory shared with the coordinator). Only its owner writes it while the
 * mode runs, with plain stores and no lock; the ticker reads the counters and the sample. A
 * full chunk goes to the mode's spill with one pwrite at an offset reserved by an atomic add. */
struct bench_log {
    int64_t done, ok, errors; /* live counters (relaxed atomics) */
    int64_t nsample;          /* latencies written to sample[] so far */
    int64_t sample[LOG_SAMPLE];
    /* processes: the worker's request in flight (-1 none), how and when it ended */
    int64_t busy_seq, busy_sched;
    int64_t ended_us; /* µs from t0 when its exit was seen */
    int64_t pss_kb, rss_kb;
    int32_t status; /* wait status; -1 while unknown */
    int32_t spill_failed;
    int32_t n; /* records in buf, published after the record is written */
    int32_t nmsg;
    struct bench_record buf[LOG_CHUNK];
    char msg[LOG_MSGS][RECORD_ERROR_MAX];
} __attribute__((aligned(64)));

/* What every worker of a mode shares. In memory shared with the workers for `processes`. */
struct bench_shared {
    int64_t next_seq;  /* the next request to hand out (atomic; bench_dispatch.c) */
    int64_t spill_end; /* bytes of the spill reserved so far (atomic) */
    int32_t abort;     /* a worker could not start: hand out nothing more (atomic) */
    int32_t nlogs;
    int64_t pad[5];
    struct bench_log logs[];
};

/* Sizes and places the shared state for `nlogs` logs: in memory of this process, or (shared
 * true) in a memfd that forked or exec'd workers map too. Returns 0 or -1 with err. */
int bench_shared_init(struct bench_ctx *c, int64_t nlogs, bool shared, char *err, size_t errlen);
void bench_shared_free(struct bench_ctx *c);

/* Records one finished request in log l (r->msg is ignored; `error` is its message, "" or NULL
 * for none). Never blocks on anything but its own spill write, once per LOG_CHUNK records. */
void bench_log_put(struct bench_ctx *c, struct bench_log *l, const struct bench_record *r,
                   const char *error);

/* Writes what log l still holds to the spill (a worker's end; or, for a dead worker, the
 * coordinator on its behalf). */
void bench_log_flush(struct bench_ctx *c, struct bench_log *l);

/* Sums the logs' counters and takes the latencies recorded since the previous tick (at most
 * BENCH_TICK_SAMPLE, spread evenly), then passes the tick to the sink. */
void bench_tick(struct bench_ctx *c);

#endif
