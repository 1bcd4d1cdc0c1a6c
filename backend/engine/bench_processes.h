/* The `processes` mode (bench_processes.c) and what its exec'd starter (bench_starter.c) shares
 * with it. */
#ifndef CONLAB_BENCH_PROCESSES_H
#define CONLAB_BENCH_PROCESSES_H

#include <stddef.h>
#include <sys/types.h>
#include "bench_ctx.h"

/* Runs the mode's requests in C worker processes. Returns 0 (failed requests and dead workers
 * are records) or -1 with err when the mode itself failed. */
int bench_processes_run(struct bench_ctx *c, char *err, size_t errlen);

/* Where the exec'd starter finds what it shares with its coordinator. */
enum { BENCH_FD_SHARED = 3, BENCH_FD_SPILL = 4, BENCH_FD_CANCEL = 5 };

/* Forks the `processes` worker of `lane`; in the child it never returns. The caller is
 * single-threaded (the engine's own process, or the starter). */
pid_t bench_processes_fork(struct bench_ctx *c, int64_t lane);

/* Leaves in the worker's log how it ended (a wait status), for its request in flight. */
void bench_processes_ended(struct bench_ctx *c, int64_t lane, int status);

#endif
