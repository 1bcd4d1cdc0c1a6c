/* Collecting a mode's records after its clock stopped (bench_collect.c). */
#ifndef CONLAB_BENCH_COLLECT_H
#define CONLAB_BENCH_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include "bench_ctx.h"
#include "record.h"

/* Reads the spill, passes every request of the mode to the sink in seq order (those never
 * recorded as never run: the mode failed, it was cancelled, or they were lost with their
 * worker), and fills the counts and latencies of res. `failed` says the mode itself failed,
 * `cancelled` that a cancel stopped it. Returns 0 or -1 (err). */
int bench_collect(struct bench_ctx *c, bool failed, bool cancelled, struct mode_result *res,
                  char *err, size_t errlen);

#endif
