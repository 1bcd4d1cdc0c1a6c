/* The `h2mux` mode (bench_h2mux.c). */
#ifndef CONLAB_BENCH_H2MUX_H
#define CONLAB_BENCH_H2MUX_H

#include <stddef.h>
#include "bench_ctx.h"

/* Runs the mode's requests as HTTP/2 streams, at most c->lanes in flight, over the spec's
 * `connections` connections. Returns 0 (failed requests are records) or -1 with err when the
 * mode itself failed, also when the target answered over HTTP/1.x. */
int bench_h2mux_run(struct bench_ctx *c, char *err, size_t errlen);

#endif
