/* The engine: runs a spec's workload once per mode and reports what it measures to a sink.
 * The modes sit behind one table (bench.c); they differ only in scheduling.
 *
 * Measuring without disturbing: while a mode runs, its workers record into logs of their own
 * (no lock, no system call but one write per 64 records, never a wait for the sink); the sink
 * only sees counters and a small sample a few times a second (`tick`). Every record reaches
 * the sink after the mode's clock stopped and before the next mode starts (`records`). */
#ifndef CONLAB_BENCH_H
#define CONLAB_BENCH_H

#include <stddef.h>
#include "bench_cancel.h"
#include "bench_sink.h"
#include "record.h"
#include "spec.h"

/* Runs every mode of `s` at every concurrency level, one after another: levels outer, modes
 * inner (so that no mode always meets a cold or a warm server first). Returns 0 (also when
 * requests failed: they are data) or -1 when conlab itself could not run (err filled). */
int bench_run(const struct spec *s, const struct bench_sink *sink, char *err, size_t errlen);

/* Runs one mode at one concurrency level; fills `res` and also reports it through the sink. */
int bench_run_mode(const struct spec *s, enum bench_mode mode, int64_t concurrency,
                   const struct bench_sink *sink, struct mode_result *res, char *err,
                   size_t errlen);

/* Makes the engine run one shard of a workload (`conlab run --shard index/count`): the k-th
 * request a mode hands out (its record's seq is k) is the spec's request index + k × count,
 * and is due at that request's time (seq / rate), so that the shards' due times interleave and
 * together keep the spec's rate. The caller gives the engine a spec whose `requests` is the
 * shard's own share. {0, 1}, the default, is the whole workload. Call before bench_run. */
void bench_set_shard(int64_t index, int64_t count);

struct client_registry;

/* The clients this process may run as modes (docs/CLIENTS.md); set once before bench_run, kept
 * by reference. A spec naming a client that is not in it fails its run. */
void bench_clients_use(const struct client_registry *r);

/* Entry point of `conlab __workers`: the `processes` mode's worker starter, exec'd by a
 * coordinator that has other threads (a fork of it would be unsafe); it forks the workers. */
int bench_starter_main(void);

#endif
