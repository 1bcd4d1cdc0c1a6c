/* The `sync` mode (bench_sync.c). */
#ifndef CONLAB_BENCH_SYNC_H
#define CONLAB_BENCH_SYNC_H

#include <stddef.h>
#include "bench_ctx.h"

/* Runs the mode's requests, handed out with bench_claim and recorded with bench_log_put.
 * Returns 0 (failed requests are records) or -1 with err when the mode itself failed. */
int bench_sync_run(struct bench_ctx *c, char *err, size_t errlen);

#endif
