/* The engine: runs a spec's workload once per mode and reports what it measures to a sink.
 * The four modes sit behind one table (bench.c); they differ only in scheduling.
 *
 * Measuring without disturbing: while a mode runs, its workers record into logs of their own
 * (no lock, no system call but one write per 64 records, never a wait for the sink); the sink
 * only sees counters and a small sample a few times a second (`tick`). Every record reaches
 * the sink after the mode's clock stopped and before the next mode starts (`records`). */
#ifndef CONLAB_BENCH_H
#define CONLAB_BENCH_H

#include <signal.h>
#include <stddef.h>
#include "record.h"
#include "spec.h"

#define BENCH_TICK_US 250000 /* a tick every 250 ms while a mode runs */

/* Where measurements go. Calls never overlap; `tick` may come from a thread of the engine's
 * own (never a worker), everything else from the thread that called bench_run. Per mode:
 * mode_start, ticks, then (the mode's clock stopped) one last tick, records in batches of
 * ascending seq covering every request of the mode, mode_done. */
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

/* Non-zero once a cancel was asked: no new request starts, transfers in flight are aborted,
 * unstarted requests are recorded as REQ_ERR_CANCELLED, the current mode reports
 * `cancelled = 1` and later modes are skipped. Set it with bench_cancel. Atomic (lock-free, so
 * safe in a signal handler): written on one thread and read on the workers' (volatile
 * sig_atomic_t is only for a handler and the thread it interrupts). */
extern _Atomic int bench_cancel_flag;

/* Asks the engine to cancel, waking every worker that waits (for a socket, a due time, its
 * workers) at once. Async-signal-safe: call it from a signal handler. */
void bench_cancel(void);

/* Runs every mode of `s` at every concurrency level, one after another: levels outer, modes
 * inner (so that no mode always meets a cold or a warm server first). Returns 0 (also when
 * requests failed: they are data) or -1 when conlab itself could not run (err filled). */
int bench_run(const struct spec *s, const struct bench_sink *sink, char *err, size_t errlen);

/* Runs one mode at one concurrency level; fills `res` and also reports it through the sink. */
int bench_run_mode(const struct spec *s, enum bench_mode mode, int64_t concurrency,
                   const struct bench_sink *sink, struct mode_result *res, char *err,
                   size_t errlen);

struct client_registry;

/* The clients this process may run as modes (docs/CLIENTS.md); set once before bench_run, kept
 * by reference. A spec naming a client that is not in it fails its run. */
void bench_clients_use(const struct client_registry *r);

/* Entry point of `conlab __workers`: the `processes` mode's worker starter, exec'd by a
 * coordinator that has other threads (a fork of it would be unsafe); it forks the workers. */
int bench_starter_main(void);

#endif
