/* What every command that runs the engine does first (conlab run, --shard, --join). */
#ifndef CONLAB_RUN_START_H
#define CONLAB_RUN_START_H

#include <stddef.h>

/* Initialises libcurl and makes SIGINT and SIGTERM cancel the run (bench_cancel: the modes end
 * their transfers, and the command reports what it has). The caller calls curl_global_cleanup()
 * when it returned 0. Returns 0, or -1 with err. */
int run_start(char *err, size_t errlen);

#endif
