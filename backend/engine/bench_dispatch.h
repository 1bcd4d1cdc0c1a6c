/* Handing out a mode's requests (bench_dispatch.c): a shared counter, due times from the
 * spec's rate, and waiting for a due time or a cancel. */
#ifndef CONLAB_BENCH_DISPATCH_H
#define CONLAB_BENCH_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>
#include "bench_ctx.h"

/* Hands out the next request: true with its seq and due time (µs from t0; 0 without a rate),
 * false when none is left, the run is cancelled or the mode aborted. Lock-free; callable from
 * any worker process. */
bool bench_claim(struct bench_ctx *c, int64_t *seq, int64_t *due_us);

/* Due time of request seq (µs from t0). */
int64_t bench_due(const struct bench_ctx *c, int64_t seq);

/* Stops handing out requests (a worker could not start). */
void bench_abort(struct bench_ctx *c);

/* Waits until t0 + due_us or a cancel, whichever comes first. Returns false on cancel. */
bool bench_wait_due(const struct bench_ctx *c, int64_t due_us);

#endif
