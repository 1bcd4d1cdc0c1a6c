/* The SQLite store: runs, per-mode results and chart aggregates, per-request rows.
 * One `struct store` is one connection guarded by its own mutex, so any thread may call it;
 * open two (writer and reader) for concurrency under WAL. */
#ifndef CONLAB_STORE_H
#define CONLAB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"
#include "spec.h"

struct cJSON;
struct store;

/* One error shape for every store function: 0 on success; -1 with a message in `err` on a
 * failure; and, for a function that names a run, STORE_NOT_FOUND when that run does not exist
 * (err is left as it is). Results come back through out parameters. */
#define STORE_NOT_FOUND 1

/* Opens (creating the file and its parent folder) and migrates to the newest schema known to
 * this binary, applying migrations/NNNN_*.sql (compiled in) in order inside one transaction,
 * tracked by PRAGMA user_version. A database newer than the binary is refused with a message.
 * Sets WAL, busy_timeout, foreign_keys. Returns 0 or -1 with err. */
int store_open(const char *path, struct store **out, char *err, size_t errlen);
void store_close(struct store *st);

/* Writes through this connection may not grow the database file past `bytes` (0: no limit):
 * beyond, they fail with "database or disk is full" and what was written before stays. Other
 * connections are not held to it. Returns 0, or -1 with err. */
int store_limit_bytes(struct store *st, int64_t bytes, char *err, size_t errlen);

/* Schema version of the open database (PRAGMA user_version) and the newest this binary knows. */
int store_schema_version(struct store *st);
int store_schema_latest(void);

/* Creates a run row for the validated spec `s`, whose canonical text (spec_to_text) is
 * `spec_json`: the caller has both, so the spec is never parsed again. status is "queued" or
 * "running"; created_us is wall-clock µs since the epoch. */
int store_run_create(struct store *st, const char *id, const struct spec *s,
                     const char *spec_json, const char *status,
                     int64_t created_us, char *err, size_t errlen);

/* Sets a run's status; finished_us >= 0 also sets finished_at; message (may be NULL) is kept as
 * the run's "message" (why it failed, ...); NULL leaves the current message as it is.
 * Returns 0, STORE_NOT_FOUND, or -1 with err (also for a status outside the contract's). */
int store_run_set_status(struct store *st, const char *id, const char *status, int64_t finished_us,
                         const char *message, char *err, size_t errlen);

/* A run's modes are stored per point: one mode at one concurrency level (a sweep has several
 * levels; every other run one). The calls below name a point by (mode, concurrency). */

/* Marks a point as started (total requests, lanes); its position in the run is the order of
 * the first call for it. */
int store_mode_begin(struct store *st, const char *id, int mode, int64_t concurrency,
                     int64_t total, int64_t lanes, char *err, size_t errlen);

/* Inserts n request rows of one point in one transaction: all or nothing (a duplicate seq or an
 * unknown run stores none). Creates the point's row when store_mode_begin was skipped. -1 times
 * are stored NULL, status 0 NULL; the error is the record's message in msgs (may be NULL), NULL
 * when it has none. */
int store_add_records(struct store *st, const char *id, int mode, int64_t concurrency,
                      const struct bench_record *recs, size_t n, const struct record_msgs *msgs,
                      char *err, size_t errlen);

/* Stores a point's RESULT (res->mode at res->concurrency) and computes its chart aggregates
 * (histogram, CDF, throughput per interval, sampled timeline) from the stored rows, once,
 * streaming (bounded memory; ~0.4 s for a million rows). Call it after the point's last
 * store_add_records. */
int store_mode_finish(struct store *st, const char *id, const struct mode_result *res, char *err,
                      size_t errlen);

/* One shard of a run the dashboard coordinates (the contract's RUN "shards"). */
struct store_shard {
    int64_t shard;
    char status[16];    /* waiting, joined, running, done, failed */
    int64_t joined_us;  /* wall-clock µs of its join; -1 not joined */
    double skew_ms;     /* its clock − the dashboard's at the latest barrier; NAN unknown */
    double rps;         /* ok requests per second over the points it finished; NAN none */
    int64_t errors;     /* failed requests so far */
    double cpu_ms;      /* user + system CPU */
    char message[200];  /* why it failed; "" none */
};

/* Creates the rows of shards 0..n-1 of run id, "waiting". Returns 0 or -1 with err. */
int store_shards_create(struct store *st, const char *id, int64_t n, char *err, size_t errlen);

/* Writes every field of one shard's row. Returns 0, STORE_NOT_FOUND, or -1 with err. */
int store_shard_set(struct store *st, const char *id, const struct store_shard *sh, char *err,
                    size_t errlen);

/* The shards of run id in order into a new array *out (free()), *n of them (0 for a run that
 * is not sharded). Returns 0 or -1 with err. */
int store_shards_get(struct store *st, const char *id, struct store_shard **out, int *n,
                     char *err, size_t errlen);

/* Runs left "running", "waiting" or "queued" (by a crash) become "interrupted"; returns how many, or -1. */
int store_mark_interrupted(struct store *st, int64_t now_us, char *err, size_t errlen);

/* One begun point of a run (a mode at one concurrency level), in run order. */
struct store_mode {
    int mode;                 /* enum bench_mode */
    int64_t total, lanes;     /* as begun */
    int64_t done;             /* request rows stored so far */
    int64_t concurrency;      /* the level */
    bool finished;            /* its RESULT is stored (and could be read) */
    struct mode_result result; /* that RESULT, parsed once when read (result_from_json), its
                                * concurrency the point's when it did not say; valid when
                                * finished */
};

/* A stored run, as C data; the dashboard shapes it into the API's RUN. Nothing in it is JSON:
 * the texts stored are parsed once, here, when read. */
struct store_run {
    char *id, *status, *label;
    char *message;            /* NULL when none */
    bool has_spec;            /* the stored spec could be read (always, unless the row was
                               * written by hand or by an incompatible conlab) */
    struct spec spec;         /* the spec it was created with (secrets in clear: redact where it
                               * leaves); defaults when !has_spec */
    int64_t created_us;       /* wall-clock µs since the epoch */
    int64_t finished_us;      /* -1 while it has not ended */
    struct store_mode *modes; /* the begun points in run order */
    int nmodes;
};

/* Reads run `id` into `out` (free with store_run_free on 0). Returns 0, STORE_NOT_FOUND, or -1
 * with err. */
int store_run_get(struct store *st, const char *id, struct store_run *out, char *err,
                  size_t errlen);

void store_run_free(struct store_run *r);

/* Status of a run into buf ("" unless 0). Returns 0, STORE_NOT_FOUND, or -1 with err. */
int store_run_status(struct store *st, const char *id, char *buf, size_t buflen, char *err,
                     size_t errlen);

/* Runs newest first into a new array *out of *count runs (free with store_runs_free); url
 * (the spec's target.url with its password shown as "***", see redact.h) and label filter
 * exactly when non-NULL. limit is clamped to 1..1000,
 * offset to >= 0. Returns 0 or -1 with err. */
int store_run_list(struct store *st, int limit, int offset, const char *url, const char *label,
                   struct store_run **out, int *count, char *err, size_t errlen);

void store_runs_free(struct store_run *runs, int n);

/* Retention: deletes the oldest ended runs (never a queued or running one) beyond max_runs, then
 * while the stored data takes more than max_bytes, keeping the newest ended run whatever its size
 * (0: no limit for either). The file keeps its size: SQLite reuses the freed pages. Returns how
 * many runs were deleted, or -1 with err. */
int64_t store_prune(struct store *st, int64_t max_runs, int64_t max_bytes, char *err,
                    size_t errlen);

/* Removes a run and all its rows. Returns 0, STORE_NOT_FOUND, or -1 with err. */
int store_run_delete(struct store *st, const char *id, char *err, size_t errlen);

/* {"mode", "concurrency", "total", "requests": [row...]} of one point in seq order (rows as
 * record_to_json) in *out; total is the number of rows stored for that point (0 for a level the
 * run does not have). limit is capped at 100,000. Returns 0, STORE_NOT_FOUND for an unknown run,
 * or -1 with err for a mode out of range or a database error (*out NULL but on 0). */
int store_requests_page(struct store *st, const char *id, int mode, int64_t concurrency,
                        int64_t limit, int64_t offset, struct cJSON **out, char *err,
                        size_t errlen);

/* The same for the rows that overlap the window [from_us, to_us] (µs from the mode's start):
 * rows that started (or, never started, were due) at or before to_us and ended (or, never ended,
 * started or were due) at or after from_us. total counts every such row. */
int store_requests_window(struct store *st, const char *id, int mode, int64_t concurrency,
                          int64_t from_us, int64_t to_us, int64_t limit, int64_t offset,
                          struct cJSON **out, char *err, size_t errlen);

/* {"failures": [{"mode", "concurrency", "kind", "message", "count", "first_us", "last_us"}...]}:
 * the failed rows of the run grouped by point (mode and level, in run order), error kind and
 * message, most frequent first within a point; first_us/last_us are the earliest and latest
 * time one was seen (its end_us, else start_us, else sched_us). Points whose RESULT counts no
 * error are not scanned. Into *out (caller frees with cJSON_Delete). Returns 0,
 * STORE_NOT_FOUND, or -1 with err (*out NULL unless 0). */
int store_failures(struct store *st, const char *id, struct cJSON **out, char *err,
                   size_t errlen);

/* Calls fn for every stored request of the run (mode < 0: every point, else every level of that
 * mode; points in run order, then seq), streaming from SQLite without loading them all, from one
 * consistent snapshot. fn returns non-zero to stop. fn runs with the store's lock held: it must
 * not call into the same store, and other callers of this store wait until the stream ends (use
 * a second store for exports). Returns 0 (also when fn stopped it) or -1 with err. */
int store_each_request(struct store *st, const char *id, int mode,
                       int (*fn)(void *ctx, int mode, int64_t concurrency,
                                 const struct bench_record *r, const char *error),
                       void *ctx, char *err, size_t errlen);

/* {"modes": [{"mode", "concurrency", "total", "ok", "wall_ms", "histogram", "cdf", "throughput",
 * "timeline"}...]} for the finished points in run order, only those at `concurrency` when it is
 * above 0, as computed by store_mode_finish (see docs/API.md); points finished before schema 2
 * get theirs computed (and kept) here. Into *out (caller frees with cJSON_Delete). Returns 0,
 * STORE_NOT_FOUND, or -1 with err (*out NULL unless 0). */
int store_charts(struct store *st, const char *id, int64_t concurrency, struct cJSON **out,
                 char *err, size_t errlen);

/* The same document as JSON text into *out (malloc'd; free with free()), made from the stored
 * texts without parsing them: what the API serves. Returns as store_charts. */
int store_charts_text(struct store *st, const char *id, int64_t concurrency, char **out,
                      char *err, size_t errlen);

#endif
