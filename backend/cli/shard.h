/* `conlab run --shard i/n`: one shard of a run, written as a part (part.h) for `conlab merge`. */
#ifndef CONLAB_SHARD_H
#define CONLAB_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "spec.h"

struct shard_opts {
    int64_t index, count; /* count 0: not a shard */
    const char *out;      /* --out FILE: the part */
    bool no_rows;         /* --rows none */
    int64_t start_at_ms;  /* --start-at EPOCH_MS; -1 none */
    int64_t slot_ms;      /* --mode-slot-ms S; 0 none */
    bool given;           /* any of the flags above was given */
};

/* The flags' ids, after cmd_run's own. */
enum { SHARD_OPT_SHARD = 2000, SHARD_OPT_OUT, SHARD_OPT_ROWS, SHARD_OPT_START_AT, SHARD_OPT_SLOT };

/* Defaults: not a shard, rows kept, no slots. */
void shard_opts_init(struct shard_opts *o);

/* Takes one of the flags (id SHARD_OPT_*). Returns 0 or -1 with err naming `flag`. */
int shard_option(struct shard_opts *o, int id, const char *flag, const char *v, char *err,
                 size_t errlen);

/* Checks the flags together and against the spec (e.g. n > C). `other` names a flag given that
 * a shard refuses (--db, --requests-out) or is NULL. Returns 0 or -1 with err. */
int shard_check(const struct shard_opts *o, const struct spec *s, const char *other, char *err,
                size_t errlen);

/* Runs shard o->index of o->count of spec s: every mode at every level, each point started in
 * its slot with --start-at, and writes the part to o->out; prints the shard's own table (or JSON
 * with json). Returns 0 with *exit_code (0, 130 when interrupted: no part is written), or -1 with
 * err when conlab itself failed (a mode overran its slot: no part is written either). */
int shard_run(const struct spec *s, const struct shard_opts *o, bool json, char *err, size_t errlen,
              int *exit_code);

#endif
