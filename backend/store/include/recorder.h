/* The recorder: the one path from a source of records into the store, and the one place that
 * decides how a run ended. `conlab run --db` feeds it from the engine's sink, the dashboard's
 * runner from its job child's frames; any other source (a shard's part file, an external client
 * program, HTTP/2 streams) plugs in the same way: per point (a mode at one concurrency level) a
 * begin, batches of records in the engine's types, then the point's mode_result; at the end,
 * how the source stopped. Not thread-safe: one source feeds one recorder.
 *
 *   recorder_start -> (recorder_begin -> recorder_records... -> recorder_result)... ->
 *   recorder_finish */
#ifndef CONLAB_RECORDER_H
#define CONLAB_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"

struct store;

#define RECORDER_ERROR_MAX 400

struct recorder {
    struct store *st;
    char id[64];
    int expected;  /* points the run has: its modes × its levels */
    int finished;  /* points whose result was stored */
    bool cut_short; /* a stored result says its mode was cancelled */
    bool broken;    /* storing failed: nothing more is stored */
    char error[RECORDER_ERROR_MAX]; /* the first storing failure ("storing ...: why") */
};

/* Starts recording run `id` (created with store_run_create) of `expected_points` points into
 * st, which must outlive the recorder, and marks it "running". Returns 0, or -1 with err when
 * that mark failed (the recorder is usable all the same: the final status is still written). */
int recorder_start(struct recorder *r, struct store *st, const char *id, int expected_points,
                   char *err, size_t errlen);

/* A point begins: its total requests and lanes (store_mode_begin). */
int recorder_begin(struct recorder *r, int mode, int64_t concurrency, int64_t total,
                   int64_t lanes);

/* A batch of the point's records (any size, in any order of seq; each seq once), their error
 * messages in msgs (store_add_records). */
int recorder_records(struct recorder *r, int mode, int64_t concurrency,
                     const struct bench_record *recs, size_t n, const struct record_msgs *msgs);

/* The point's result (res->mode at res->concurrency), after its last records
 * (store_mode_finish). */
int recorder_result(struct recorder *r, const struct mode_result *res);

/* recorder_begin, _records and _result return 0, or -1 once storing has failed: the first
 * failure is kept (recorder_error) and becomes the run's message; from then on nothing more is
 * stored and every call returns -1 at once, so that the source may stop early. */
const char *recorder_error(const struct recorder *r); /* "" while nothing failed */

/* How the source stopped. */
enum recorder_stop {
    RECORDER_RAN = 0,     /* nobody asked it to stop */
    RECORDER_CANCELLED,   /* a user's cancel, or the run's time limit */
    RECORDER_INTERRUPTED, /* the recording program itself is stopping (the dashboard) */
};

struct recorder_end {
    enum recorder_stop stop;
    const char *failure; /* the source could not run every point: why (NULL or "": it could) */
    const char *note;    /* the message of a cancelled or interrupted run (NULL: none) */
    const char *partial; /* a sharded run lost a shard: which and why (NULL or "": none) */
};

/* The run's end state, decided in one place:
 *   done         every point's result stored, none cut short by a cancel, no failure;
 *   interrupted  else, when the recording program is stopping (message: note);
 *   cancelled    else, when a cancel was asked (message: note, may be none);
 *   partial      else, when a shard was lost (message: partial): what arrived is kept (the
 *                source says `failure` instead when nothing did);
 *   failed       else: the storing failure, or the source's, or "the run ended before
 *                finishing every mode" (message).
 * Returns the status; msg gets its message ("" for none). */
const char *recorder_outcome(const struct recorder *r, const struct recorder_end *e, char *msg,
                             size_t msglen);

/* Decides the end state (recorder_outcome) and writes it with the finish time, retrying a write
 * that fails (a busy or briefly failing database) for about 2 s, so that a run is not left
 * "running" (what still fails is marked "interrupted" when the store is next opened by the
 * dashboard). Returns the status written; *status_err gets "" or why the final write failed
 * (NULL: not wanted). */
const char *recorder_finish(struct recorder *r, const struct recorder_end *e, char *status_err,
                            size_t errlen);

#endif
