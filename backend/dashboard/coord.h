/* The coordinator of sharded runs (the contract's "Shards: one run over many machines"): a run
 * created with `"shards": n` waits for its n shards (`conlab run --join`), holds a barrier
 * before each point (a mode at one level) until every shard is ready and gives them a common
 * start instant, takes each shard's part of the point (part.h) and, once all n arrived, merges
 * them (part_merge) and stores the merged point through the recorder. A shard that never joins,
 * stops coming, or whose clock is off the bound ends the run "partial", naming it, with the
 * points that were complete kept. Thread-safe: the HTTP handlers call it from any thread. */
#ifndef CONLAB_COORD_H
#define CONLAB_COORD_H

#include <stddef.h>
#include <stdint.h>
#include "spec.h"

struct store;
struct coord;
struct cJSON;

struct coord_opts {
    int64_t join_ms;       /* every shard must have joined this long after the run's creation */
    int64_t point_ms;      /* a point's barrier and its uploads must be complete this long after
                            * the coordinator last saw progress (a join, a shard ready, a start,
                            * a part) */
    double skew_max_ms;    /* a shard whose clock is further off the dashboard's fails the run */
    int64_t lead_ms;       /* the common start is this long after the last shard was ready */
    size_t upload_max;     /* the largest part one upload may carry (bytes) */
};

/* 120 s to join, 600 s per point, 250 ms of skew, 200 ms lead, 64 MiB per upload. */
void coord_opts_default(struct coord_opts *o);

/* Starts the coordinator (and its watchdog thread) over store st, which must outlive it.
 * Returns 0 or -1 with err. */
int coord_start(struct store *st, const struct coord_opts *o, struct coord **out, char *err,
                size_t errlen);

/* Ends every run still waiting or running ("interrupted"), wakes every waiting request (they
 * answer at once from then on) and stops the watchdog. NULL is ignored. */
void coord_stop(struct coord *c);

/* Frees, after coord_stop and once no handler can call it any more. NULL is ignored. */
void coord_free(struct coord *c);

/* A user's cancel of run id: ends it "cancelled" (what was merged is kept) when it is waiting or
 * running its shards. Returns 0 so, 1 when the coordinator holds no such active run. */
int coord_cancel(struct coord *c, const char *id);

const struct coord_opts *coord_options(const struct coord *c);

#define COORD_MAX_ACTIVE 16 /* sharded runs waiting or running at once */
#define COORD_FULL 1         /* coord_create: COORD_MAX_ACTIVE runs are active already */

/* Creates run id (random, JOB_ID_LEN characters and a NUL into id) for spec s (s->shards > 0),
 * "waiting" for its shards. Returns 0, COORD_FULL, or -1 with err (the store failed). */
int coord_create(struct coord *c, const struct spec *s, char *id, char *err, size_t errlen);

/* The handlers' answers: an HTTP status and a JSON body (*reply, owned by the caller; an error
 * body {"error": text, "field": name|absent} for 4xx). */

/* Shard `shard` of `shards` joins run id: {"spec": SPEC (with its secrets: the shard runs it),
 * "shard", "shards", "points", "shard_concurrency": [C_i per level], "upload_max_bytes"}. */
int coord_join(struct coord *c, const char *id, int64_t shard, int64_t shards,
               struct cJSON **reply);

/* The shard is ready for point `point`; its clock is skew_ms ahead of the dashboard's (NAN: not
 * known). Waits up to wait_ms for the others: {"start_at_ms": T} once every shard is ready (T a
 * little in the future), else {"wait": true}. point == the run's number of
 * points asks how the run ended, once every point is stored: {"status", "message", "verdict",
 * "crossed"} (waiting up to wait_ms, else {"wait": true}). */
int coord_barrier(struct coord *c, const char *id, int64_t shard, int64_t point, double skew_ms,
                  int64_t wait_ms, struct cJSON **reply);

/* The shard's part of point `point` (text, NUL-terminated, overwritten: part_read_text): checked
 * against the run's spec and the shard, kept until every shard's part of the point arrived, then
 * merged and stored. {"point", "merged": bool}. */
int coord_results(struct coord *c, const char *id, int64_t shard, int64_t point, char *text,
                  size_t len, struct cJSON **reply);

#endif
