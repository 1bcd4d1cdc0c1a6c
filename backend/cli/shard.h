/* `conlab run --shard i/n`: one shard of a run, written as a part (part.h) for `conlab merge`. */
#ifndef CONLAB_SHARD_H
#define CONLAB_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bench.h"
#include "part.h"
#include "spec.h"

struct shard_opts {
    int64_t index, count; /* count 0: not a shard */
    const char *out;      /* --out FILE: the part */
    bool no_rows;         /* --rows none */
    int64_t start_at_ms;  /* --start-at EPOCH_MS; -1 none */
    int64_t slot_ms;      /* --mode-slot-ms S; 0 none */
    bool given;           /* any of the flags above was given */
    const char *join;     /* --join URL: the dashboard coordinates the run; NULL none */
    const char *run;      /* --run ID */
    char token[4096];     /* --token-file's first line, else $CONLAB_TOKEN, else "" */
    bool token_file;      /* --token-file was given */
};

/* The flags' ids, after cmd_run's own. */
enum {
    SHARD_OPT_SHARD = 2000,
    SHARD_OPT_OUT,
    SHARD_OPT_ROWS,
    SHARD_OPT_START_AT,
    SHARD_OPT_SLOT,
    SHARD_OPT_JOIN,
    SHARD_OPT_RUN,
    SHARD_OPT_TOKEN_FILE,
};

/* Defaults: not a shard, rows kept, no slots. */
void shard_opts_init(struct shard_opts *o);

/* Takes one of the flags (id SHARD_OPT_*). Returns 0 or -1 with err naming `flag`. */
int shard_option(struct shard_opts *o, int id, const char *flag, const char *v, char *err,
                 size_t errlen);

/* Checks the flags together and against the spec (e.g. n > C). `other` names a flag given that
 * a shard refuses (--db, --requests-out) or is NULL. Returns 0 or -1 with err. */
int shard_check(const struct shard_opts *o, const struct spec *s, const char *other, char *err,
                size_t errlen);

/* Runs one point of shard o->index of o->count of spec s (`mode` at `level`) into a new point
 * of part p: started at wall-clock µs slot_wall_us (-1: at once), the shard's share of the
 * requests (local is s with `requests` the shard's share). res gets the shard's own RESULT.
 * Needs curl_global_init. Returns 0, or -1 with err (also when interrupted). */
int shard_run_point(const struct spec *s, const struct spec *local, const struct shard_opts *o,
                    struct part *p, enum bench_mode mode, int64_t level, int64_t slot_wall_us,
                    struct mode_result *res, char *err, size_t errlen);

/* Runs shard o->index of o->count of spec s: every mode at every level, each point started in
 * its slot with --start-at, and writes the part to o->out; prints the shard's own table (or JSON
 * with json). Returns 0 with *exit_code (0, 130 when interrupted: no part is written), or -1 with
 * err when conlab itself failed (a mode overran its slot: no part is written either). */
int shard_run(const struct spec *s, const struct shard_opts *o, bool json, char *err, size_t errlen,
              int *exit_code);

/* Checks the flags of a shard that joins a dashboard (--join URL --run ID --shard i/n, and
 * --rows, --token-file); `spec_flags` tells that workload flags were given (the spec comes from
 * the dashboard). Returns 0 or -1 with err naming the flag. */
int shard_join_check(const struct shard_opts *o, bool spec_flags, char *err, size_t errlen);

/* Runs shard o->index of o->count of run o->run that the dashboard at o->join coordinates
 * (shard_join.c): joins, and per point waits at the barrier, runs at the common start and
 * uploads its part; prints its own points and how the run ended. *exit_code: 0 the run is done,
 * 3 it crossed a threshold, 2 the dashboard refused this shard (err says why), 1 a failure or a
 * run that ended otherwise (err), 130 interrupted. Returns 0. */
int shard_join(const struct shard_opts *o, bool json, char *err, size_t errlen, int *exit_code);

#endif
