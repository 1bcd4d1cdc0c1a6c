/* Internals shared by the store_*.c files: the connection, its prepared statements, and the row
 * helpers. Not for use outside the store. */
#ifndef CONLAB_STORE_DB_H
#define CONLAB_STORE_DB_H

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"
#include "spec.h"

struct cJSON;

/* Every statement the store runs, prepared once in store_open (SQL text in store.c). */
enum store_stmt {
    Q_BEGIN_WRITE,
    Q_BEGIN_READ,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_USER_VERSION,
    Q_RUN_INSERT,
    Q_RUN_SET_STATUS,
    Q_RUN_STATUS,
    Q_RUN_DELETE,
    Q_RUN_GET,
    Q_RUN_LIST,
    Q_RUN_LIST_URL,
    Q_RUN_LIST_LABEL,
    Q_RUN_LIST_URL_LABEL,
    Q_MARK_INTERRUPTED,
    Q_MODE_BEGIN,
    Q_MODE_ENSURE,
    Q_MODE_ADD_DONE,
    Q_MODE_DONE,
    Q_MODE_LANES,
    Q_MODE_FINISH,
    Q_MODE_SET_CHARTS,
    Q_MODES_OF_RUN,
    Q_MODES_OF_RUN_CHARTS,
    Q_REQ_INSERT,
    Q_REQ_ALL,
    Q_REQ_PAGE_OFFSET,
    Q_REQ_PAGE_FROM_SEQ,
    Q_REQ_ONE,
    Q_REQ_SEQ_BOUNDS,
    Q_CHART_STATS,
    Q_CHART_SCAN,
    Q_FAILURES,
    Q_REQ_WINDOW,
    Q_REQ_WINDOW_COUNT,
    Q_PRUNE_ENDED,
    Q_PRUNE_OLDEST,
    Q_USED_BYTES,
    Q_PURGE_BATCH,
    Q_OLDEST_ENDED,
    Q_COUNT
};

struct store {
    sqlite3 *db;
    pthread_mutex_t lock; /* held for every call; serializes use of db and the statements */
    sqlite3_stmt *q[Q_COUNT];
    char *path;
};

/* Columns of a request row as every Q_REQ_* statement returns them, from column `first` on:
 * seq, lane, sched_us, start_us, connect_us, ttfb_us, end_us, status, bytes, error_kind, error,
 * tls_us, reused, http_version, conn.
 * Returns the error's text ("" when none), valid until the statement steps again. */
const char *store_row_to_record(sqlite3_stmt *s, int first, struct bench_record *r);

/* Fills err with "what: <sqlite's message>" and returns -1. */
int store_fail(struct store *st, char *err, size_t errlen, const char *what);

/* Resets a statement after use and clears its bindings, so that no text stays referenced. */
void store_done(sqlite3_stmt *s);

/* A mode's name in run `id`: a built-in mode's, or the client's its stored spec names ("unknown"
 * when neither). `buf` holds the run's client names. Call with st->lock held. */
const char *store_mode_name(struct store *st, const char *id, int mode, struct mode_names *buf);

/* Runs a statement without result rows (BEGIN, COMMIT, ...). Returns 0 or -1 with err. */
int store_exec(struct store *st, enum store_stmt q, char *err, size_t errlen, const char *what);

/* Ends a write transaction: commits when rc is 0, rolls back otherwise (or when the commit
 * fails). Returns 0 when committed, -1 with err (already set on rc != 0). */
int store_end_write(struct store *st, int rc, char *err, size_t errlen, const char *what);

/* Binds a point of a run, one mode at one concurrency level, to parameters ?1 (run id, kept
 * by reference: it must outlive the statement's use), ?2 (mode) and ?3 (level), as every
 * statement about a mode's row or its requests takes them. */
void store_bind_point(sqlite3_stmt *s, const char *id, int mode, int64_t concurrency);

/* Runs statement q, bound to a point (store_bind_point), and sets *out to its first column as
 * an integer, 0 when it yields no row. Returns 0, or -1 with err ("what: sqlite's message") when
 * SQLite fails: a failed read is never taken for a zero. */
int store_int_by_point(struct store *st, enum store_stmt q, const char *id, int mode,
                       int64_t concurrency, int64_t *out, char *err, size_t errlen,
                       const char *what);

/* Computes the charts object of one point (a mode at a level) from its stored rows (see
 * store_mode_finish): returns a new cJSON object {"mode","concurrency","total","wall_ms",
 * "histogram","cdf","throughput","timeline"} or NULL with err. Bounded memory whatever the
 * number of rows. Caller holds st->lock. */
struct cJSON *store_charts_compute(struct store *st, const char *id, int mode,
                                   int64_t concurrency, int64_t lanes, double wall_ms, char *err,
                                   size_t errlen);

/* Deletes run id's request rows in batches, each its own short write, with st->lock (which the
 * caller holds) released and a pause between batches, so that other writers (the runner's
 * connection, a POST) get the database in turn. Returns 0, or -1 with err. */
int store_purge_rows(struct store *st, const char *id, char *err, size_t errlen);

#endif
