/* The engine: runs a spec's workload once per mode and streams what it measures to a sink.
 * The four modes sit behind one table (bench.c); they differ only in scheduling. */
#ifndef CONLAB_BENCH_H
#define CONLAB_BENCH_H

#include <signal.h>
#include "record.h"
#include "spec.h"

/* Where measurements go. Calls are serialized by the engine (never two at once) but may come
 * from any of its threads. */
struct bench_sink {
    void *ctx;
    void (*mode_start)(void *ctx, enum bench_mode mode, int64_t concurrency, int64_t total,
                       int64_t lanes);
    void (*record)(void *ctx, const struct bench_record *r);
    void (*mode_done)(void *ctx, const struct mode_result *res);
};

/* Set to non-zero (e.g. from a signal handler) to cancel: no new request starts, transfers in
 * flight are aborted, unstarted requests are recorded as REQ_ERR_CANCELLED, the current mode
 * reports `cancelled = 1` and later modes are skipped. */
extern volatile sig_atomic_t bench_cancel_flag;

/* Runs every mode of `s` at every concurrency level, one after another: levels outer, modes
 * inner (so that no mode always meets a cold or a warm server first). Returns 0 (also when
 * requests failed: they are data) or -1 when conlab itself could not run (err filled). */
int bench_run(const struct spec *s, const struct bench_sink *sink, char *err, size_t errlen);

/* Runs one mode at one concurrency level; fills `res` and also reports it through the sink. */
int bench_run_mode(const struct spec *s, enum bench_mode mode, int64_t concurrency,
                   const struct bench_sink *sink, struct mode_result *res, char *err,
                   size_t errlen);

/* Entry point of the `processes` mode's worker starter (`conlab __workers`), exec'd by the
 * coordinator; it forks the workers. */
int bench_worker_main(void);

#endif
