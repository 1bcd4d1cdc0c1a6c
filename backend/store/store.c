/* The store's connection: opening, migrating, the prepared statements and their helpers.
 * Writes live in store_write.c, reads in store_read.c, chart aggregates in store_charts.c. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "migrations.h"
#include "store_db.h"
#include "util.h"

/* A writer waits this long for another (a batch of a delete, the runner's commit) before it gives
 * up with "database is locked", polling every millisecond (store_busy). */
#define BUSY_TIMEOUT_MS 10000
/* Rows deleted per write when a run goes (a few ms each on this kind of machine), and the pause
 * between two, in which a waiting writer takes the database. */
#define PURGE_BATCH_ROWS 10000
#define PURGE_PAUSE_US 3000

#define RUN_COLS "id, status, created_us, finished_us, spec_json, label, message"
#define RUN_ORDER " ORDER BY created_us DESC, id DESC LIMIT ?3 OFFSET ?4"
#define REQ_COLS                                                                                   \
    "seq, lane, sched_us, start_us, connect_us, ttfb_us, end_us, status, bytes, error_kind, error, " \
    "tls_us, reused, http_version, conn"
/* A point of a run: one mode at one concurrency level, always ?1 run, ?2 mode, ?3 level. */
#define POINT " WHERE run_id = ?1 AND mode = ?2 AND concurrency = ?3"
#define REQ_OF_POINT " FROM requests" POINT
#define REQ_IN_WINDOW                                                                              \
    " AND coalesce(start_us, sched_us, 0) <= ?5 AND coalesce(end_us, start_us, sched_us, 0) >= ?4"
#define NEXT_POSITION "(SELECT coalesce(max(position) + 1, 0) FROM modes WHERE run_id = ?1)"

/* Parameters: the list statements all take ?1 url, ?2 label, ?3 limit, ?4 offset (unused ones
 * are simply not referenced), so that one binding code serves the four filters. */
static const char *const sql_text[Q_COUNT] = {
    [Q_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [Q_BEGIN_READ] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_USER_VERSION] = "PRAGMA user_version",
    [Q_RUN_INSERT] = "INSERT INTO runs (id, status, created_us, spec_json, url, label) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_RUN_SET_STATUS] = "UPDATE runs SET status = ?2, "
                         "finished_us = CASE WHEN ?3 >= 0 THEN ?3 ELSE finished_us END, "
                         "message = coalesce(?4, message) WHERE id = ?1",
    [Q_RUN_STATUS] = "SELECT status FROM runs WHERE id = ?1",
    [Q_RUN_DELETE] = "DELETE FROM runs WHERE id = ?1",
    [Q_RUN_GET] = "SELECT " RUN_COLS " FROM runs WHERE id = ?1",
    [Q_RUN_LIST] = "SELECT " RUN_COLS " FROM runs" RUN_ORDER,
    [Q_RUN_LIST_URL] = "SELECT " RUN_COLS " FROM runs WHERE url = ?1" RUN_ORDER,
    [Q_RUN_LIST_LABEL] = "SELECT " RUN_COLS " FROM runs WHERE label = ?2" RUN_ORDER,
    [Q_RUN_LIST_URL_LABEL] =
        "SELECT " RUN_COLS " FROM runs WHERE url = ?1 AND label = ?2" RUN_ORDER,
    [Q_MARK_INTERRUPTED] =
        "UPDATE runs SET status = 'interrupted', finished_us = ?1, message = CASE status "
        "WHEN 'running' THEN 'conlab stopped while this run was running' "
        "ELSE 'conlab stopped before this run started' END "
        "WHERE status IN ('queued', 'running')",
    [Q_MODE_BEGIN] =
        "INSERT INTO modes (run_id, mode, concurrency, position, total, lanes, started_us) "
        "VALUES (?1, ?2, ?3, " NEXT_POSITION ", ?4, ?5, ?6) "
        "ON CONFLICT (run_id, mode, concurrency) DO UPDATE SET total = excluded.total, "
        "lanes = excluded.lanes, started_us = excluded.started_us",
    [Q_MODE_ENSURE] = "INSERT INTO modes (run_id, mode, concurrency, position) "
                      "VALUES (?1, ?2, ?3, " NEXT_POSITION ") "
                      "ON CONFLICT (run_id, mode, concurrency) DO NOTHING",
    [Q_MODE_ADD_DONE] = "UPDATE modes SET done = done + ?4" POINT,
    [Q_MODE_DONE] = "SELECT done FROM modes" POINT,
    [Q_MODE_LANES] = "SELECT lanes FROM modes" POINT,
    [Q_MODE_FINISH] = "UPDATE modes SET finished_us = ?4, result_json = ?5, "
                      "lanes = CASE WHEN lanes > 0 THEN lanes ELSE ?6 END" POINT,
    /* A point's charts live apart (migration 0004): reading a run never touches them. */
    [Q_MODE_SET_CHARTS] = "INSERT INTO charts (run_id, mode, concurrency, charts_json) "
                          "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (run_id, mode, concurrency) "
                          "DO UPDATE SET charts_json = excluded.charts_json",
    [Q_MODES_OF_RUN] = "SELECT mode, concurrency, total, lanes, done, result_json, NULL "
                       "FROM modes WHERE run_id = ?1 ORDER BY position",
    [Q_MODES_OF_RUN_CHARTS] = "SELECT m.mode, m.concurrency, m.total, m.lanes, m.done, "
                              "m.result_json, c.charts_json FROM modes m LEFT JOIN charts c "
                              "ON c.run_id = m.run_id AND c.mode = m.mode "
                              "AND c.concurrency = m.concurrency "
                              "WHERE m.run_id = ?1 ORDER BY m.position",
    [Q_REQ_INSERT] = "INSERT INTO requests (run_id, mode, concurrency, " REQ_COLS ") "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                     "?17, ?18)",
    [Q_REQ_ALL] = "SELECT " REQ_COLS REQ_OF_POINT " ORDER BY seq",
    [Q_REQ_PAGE_OFFSET] = "SELECT " REQ_COLS REQ_OF_POINT " ORDER BY seq LIMIT ?4 OFFSET ?5",
    [Q_REQ_PAGE_FROM_SEQ] = "SELECT " REQ_COLS REQ_OF_POINT " AND seq >= ?5 ORDER BY seq LIMIT ?4",
    [Q_REQ_ONE] = "SELECT " REQ_COLS REQ_OF_POINT " AND seq = ?4",
    [Q_REQ_SEQ_BOUNDS] = "SELECT (SELECT seq" REQ_OF_POINT " ORDER BY seq LIMIT 1), "
                         "(SELECT seq" REQ_OF_POINT " ORDER BY seq DESC LIMIT 1)",
    /* rows, ok rows with a latency, min/max ok latency, last end, highest lane, last start */
    [Q_CHART_STATS] = "SELECT count(*), "
                      "count(CASE WHEN error_kind = 0 THEN end_us - start_us END), "
                      "min(CASE WHEN error_kind = 0 THEN end_us - start_us END), "
                      "max(CASE WHEN error_kind = 0 THEN end_us - start_us END), "
                      "max(end_us), max(lane), max(start_us)" REQ_OF_POINT,
    [Q_CHART_SCAN] = "SELECT seq, lane, start_us, end_us, error_kind" REQ_OF_POINT,
    /* failed rows of a point by kind and message: count, first and last seen (when each ended,
     * or started, or was due) */
    [Q_FAILURES] = "SELECT error_kind, coalesce(error, ''), count(*), "
                   "min(coalesce(end_us, start_us, sched_us, 0)), "
                   "max(coalesce(end_us, start_us, sched_us, 0))" REQ_OF_POINT
                   " AND error_kind != 0 GROUP BY error_kind, error "
                   "ORDER BY count(*) DESC, error_kind, error",
    /* rows that overlap [?4, ?5] µs: began (or were due) by ?5 and ended (or not) after ?4 */
    [Q_REQ_WINDOW] = "SELECT " REQ_COLS REQ_OF_POINT REQ_IN_WINDOW " ORDER BY seq LIMIT ?6 OFFSET ?7",
    [Q_REQ_WINDOW_COUNT] = "SELECT count(*)" REQ_OF_POINT REQ_IN_WINDOW,
    /* Retention: ended runs counted, the oldest ?1 of them deleted (with their rows), and the
     * bytes the database's data takes (free pages are reused, not given back to the disk). */
    [Q_PRUNE_ENDED] = "SELECT count(*) FROM runs WHERE status NOT IN ('queued', 'running')",
    [Q_PRUNE_OLDEST] = "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE status NOT IN "
                       "('queued', 'running') ORDER BY created_us, id LIMIT ?1)",
    [Q_USED_BYTES] = "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT "
                     "freelist_count FROM pragma_freelist_count()), (SELECT page_size FROM "
                     "pragma_page_size())",
    [Q_PURGE_BATCH] = "DELETE FROM requests WHERE (run_id, mode, concurrency, seq) IN (SELECT "
                      "run_id, mode, concurrency, seq FROM requests WHERE run_id = ?1 LIMIT ?2)",
    [Q_OLDEST_ENDED] = "SELECT id FROM runs WHERE status NOT IN ('queued', 'running') "
                       "ORDER BY created_us, id LIMIT 1",
};

/* SQLite's own busy handler sleeps up to 100 ms between its tries: a writer waiting behind
 * short batches would keep missing the gaps between them. This one tries every millisecond until
 * BUSY_TIMEOUT_MS. */
static int store_busy(void *arg, int tries)
{
    (void)arg;
    if (tries >= BUSY_TIMEOUT_MS) return 0;
    usleep(1000);
    return 1;
}

int store_purge_rows(struct store *st, const char *id, char *err, size_t errlen)
{
    sqlite3_stmt *s = st->q[Q_PURGE_BATCH];
    for (;;) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 2, PURGE_BATCH_ROWS);
        int rc = sqlite3_step(s);
        int gone = rc == SQLITE_DONE ? sqlite3_changes(st->db) : -1;
        if (rc != SQLITE_DONE) store_fail(st, err, errlen, "deleting a run's requests");
        store_done(s);
        if (gone <= 0) return gone < 0 ? -1 : 0;
        pthread_mutex_unlock(&st->lock);
        usleep(PURGE_PAUSE_US);
        pthread_mutex_lock(&st->lock);
    }
}

int store_fail(struct store *st, char *err, size_t errlen, const char *what)
{
    return errf(err, errlen, "%s: %s", what, sqlite3_errmsg(st->db));
}

void store_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

int store_exec(struct store *st, enum store_stmt q, char *err, size_t errlen, const char *what)
{
    sqlite3_stmt *s = st->q[q];
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        store_fail(st, err, errlen, what);
        sqlite3_reset(s);
        return -1;
    }
    sqlite3_reset(s);
    return 0;
}

static int64_t col_time(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, i);
}

const char *store_row_to_record(sqlite3_stmt *s, int first, struct bench_record *r)
{
    r->seq = sqlite3_column_int64(s, first);
    r->lane = sqlite3_column_int(s, first + 1);
    r->sched_us = col_time(s, first + 2);
    r->start_us = col_time(s, first + 3);
    r->connect_us = col_time(s, first + 4);
    r->ttfb_us = col_time(s, first + 5);
    r->end_us = col_time(s, first + 6);
    r->status = sqlite3_column_int(s, first + 7); /* NULL reads as 0: no response */
    r->bytes = sqlite3_column_int64(s, first + 8);
    r->err_kind = sqlite3_column_int(s, first + 9);
    r->msg = -1;
    r->tls_us = col_time(s, first + 11);
    r->reused = sqlite3_column_type(s, first + 12) == SQLITE_NULL
                    ? -1
                    : (int8_t)(sqlite3_column_int(s, first + 12) != 0);
    r->http_version = (int16_t)sqlite3_column_int(s, first + 13); /* NULL reads as 0: none */
    r->conn = (int32_t)col_time(s, first + 14);
    const unsigned char *e = sqlite3_column_text(s, first + 10);
    return e ? (const char *)e : "";
}

int store_schema_latest(void)
{
    return conlab_migrations_count > 0 ? conlab_migrations[conlab_migrations_count - 1].version : 0;
}

/* PRAGMA user_version on a connection; -1 with err when the file cannot be read (not a
 * database, locked past the busy timeout, ...). */
static int read_user_version(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    else
        errf(err, errlen, "cannot open database %s: %s", path, sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return v;
}

static int refuse_newer(const char *path, int version, char *err, size_t errlen)
{
    return errf(err, errlen,
                "database %s has schema version %d, newer than this conlab knows (%d); "
                "upgrade conlab",
                path, version, store_schema_latest());
}

/* Applies every compiled-in migration newer than the database inside one BEGIN IMMEDIATE
 * transaction, then records the newest version in PRAGMA user_version. Another process that
 * migrated first makes this a no-op (the version is read again under the write lock). */
static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    int current = read_user_version(db, path, err, errlen);
    if (current < 0) return -1;
    if (current > store_schema_latest()) return refuse_newer(path, current, err, errlen);
    if (current == store_schema_latest()) return 0;

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return errf(err, errlen, "migrating %s: %s", path, sqlite3_errmsg(db));
    current = read_user_version(db, path, err, errlen);
    if (current < 0) goto fail;
    if (current > store_schema_latest()) {
        refuse_newer(path, current, err, errlen);
        goto fail;
    }
    for (int i = 0; i < conlab_migrations_count; i++) {
        const struct migration *m = &conlab_migrations[i];
        if (m->version <= current) continue;
        if (sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK) {
            errf(err, errlen, "migrating %s: %s: %s", path, m->name, sqlite3_errmsg(db));
            goto fail;
        }
        current = m->version;
    }
    /* PRAGMA takes no parameters; the number is ours, not user data. */
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", current);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        errf(err, errlen, "migrating %s: %s", path, sqlite3_errmsg(db));
        goto fail;
    }
    return 0;
fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* mkdir -p of the folder holding `path` (nothing for a bare file name). */
static int make_parents(const char *path, char *err, size_t errlen)
{
    char *dir = strdup(path);
    if (!dir) return errf(err, errlen, "out of memory");
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        free(dir);
        return 0;
    }
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            errf(err, errlen, "cannot create folder %s: %s", dir, strerror(errno));
            free(dir);
            return -1;
        }
        *p = c;
        if (c == '\0') break;
    }
    free(dir);
    return 0;
}

static int pragma(sqlite3 *db, const char *path, const char *sql, char *err, size_t errlen)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK) return 0;
    return errf(err, errlen, "cannot open database %s: %s: %s", path, sql, sqlite3_errmsg(db));
}

int store_open(const char *path, struct store **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !*path) return errf(err, errlen, "database path is empty");
    bool special = !strcmp(path, ":memory:") || !strncmp(path, "file:", 5);
    if (!special && make_parents(path, err, errlen) != 0) return -1;

    struct store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return errf(err, errlen, "out of memory");
    }
    pthread_mutex_init(&st->lock, NULL);
    /* NOMUTEX: st->lock already serializes every use of this connection. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (special) flags |= SQLITE_OPEN_URI;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        errf(err, errlen, "cannot open database %s: %s", path,
             st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_handler(st->db, store_busy, NULL);
    /* Reading the version first is what tells a file that is not a database, and refuses a
     * newer schema before anything (even the journal mode) is changed in it. */
    int version = read_user_version(st->db, path, err, errlen);
    if (version < 0) goto fail;
    if (version > store_schema_latest()) {
        refuse_newer(path, version, err, errlen);
        goto fail;
    }
    if (pragma(st->db, path, "PRAGMA foreign_keys = ON", err, errlen) ||
        pragma(st->db, path, "PRAGMA journal_mode = WAL", err, errlen) ||
        pragma(st->db, path, "PRAGMA synchronous = NORMAL", err, errlen) ||
        pragma(st->db, path, "PRAGMA cache_size = -16384", err, errlen))
        goto fail;
    if (migrate(st->db, path, err, errlen) != 0) goto fail;
    for (int i = 0; i < Q_COUNT; i++) {
        if (sqlite3_prepare_v3(st->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &st->q[i],
                               NULL) != SQLITE_OK) {
            errf(err, errlen, "database %s: preparing statement %d: %s", path, i,
                 sqlite3_errmsg(st->db));
            goto fail;
        }
    }
    *out = st;
    return 0;
fail:
    store_close(st);
    return -1;
}

void store_close(struct store *st)
{
    if (!st) return;
    bool opened = st->q[Q_COUNT - 1] != NULL;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(st->q[i]);
    /* Cheap, and keeps the planner's statistics fresh; only on a database we opened fully
     * (never on one refused as newer or foreign). */
    if (st->db && opened) sqlite3_exec(st->db, "PRAGMA optimize", NULL, NULL, NULL);
    if (st->db) sqlite3_close(st->db);
    pthread_mutex_destroy(&st->lock);
    free(st->path);
    free(st);
}

int store_limit_bytes(struct store *st, int64_t bytes, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    int64_t page = 4096;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "PRAGMA page_size", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        page = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    /* PRAGMA takes no parameters; the number is ours, not user data. 0 pages means the
     * largest SQLite allows. */
    char sql[80];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
             bytes > 0 ? (long long)((bytes + page - 1) / page) : 4294967294LL);
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK
                 ? 0
                 : store_fail(st, err, errlen, "limiting the database's size");
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_schema_version(struct store *st)
{
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[Q_USER_VERSION];
    int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return v;
}

void store_bind_point(sqlite3_stmt *s, const char *id, int mode, int64_t concurrency)
{
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, mode);
    sqlite3_bind_int64(s, 3, concurrency);
}

int store_int_by_point(struct store *st, enum store_stmt q, const char *id, int mode,
                       int64_t concurrency, int64_t *out, char *err, size_t errlen,
                       const char *what)
{
    sqlite3_stmt *s = st->q[q];
    store_bind_point(s, id, mode, concurrency);
    int rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) store_fail(st, err, errlen, what);
    store_done(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int store_end_write(struct store *st, int rc, char *err, size_t errlen, const char *what)
{
    if (rc == 0 && store_exec(st, Q_COMMIT, err, errlen, what) == 0) return 0;
    store_exec(st, Q_ROLLBACK, NULL, 0, "rolling back");
    return -1;
}
