/* The store's writes: runs, modes, request rows, results. Each call is atomic: one statement
 * or one transaction, under st->lock. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "redact.h"
#include "result_json.h"
#include "spec.h"
#include "store.h"
#include "store_db.h"
#include "util.h"

static bool valid_mode(int mode)
{
    return (mode >= 0 && mode < MODE_COUNT) || mode_is_client(mode);
}

int store_run_create(struct store *st, const char *id, const struct spec *spec,
                     const char *spec_json, const char *status, int64_t created_us, char *err,
                     size_t errlen)
{
    /* The url column only serves the history filter, which the page fills with the URL as the
     * API shows it: with its password as "***" (the spec keeps the real one). */
    char url[8300];
    redact_url(spec->url ? spec->url : "", url, sizeof url);
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[Q_RUN_INSERT];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, created_us);
    sqlite3_bind_text(s, 4, spec_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, url, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, spec->label ? spec->label : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, err, errlen, "creating run");
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_run_set_status(struct store *st, const char *id, const char *status, int64_t finished_us,
                         const char *message, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[Q_RUN_SET_STATUS];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, finished_us);
    if (message) sqlite3_bind_text(s, 4, message, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, err, errlen, "setting run status");
    if (rc == 0 && sqlite3_changes(st->db) == 0) rc = STORE_NOT_FOUND;
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_mode_begin(struct store *st, const char *id, int mode, int64_t concurrency,
                     int64_t total, int64_t lanes, char *err, size_t errlen)
{
    if (!valid_mode(mode)) return errf(err, errlen, "starting mode %d: no such mode", mode);
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[Q_MODE_BEGIN];
    store_bind_point(s, id, mode, concurrency);
    sqlite3_bind_int64(s, 4, total);
    sqlite3_bind_int64(s, 5, lanes);
    sqlite3_bind_int64(s, 6, wallclock_us());
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, err, errlen, "starting mode");
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static void bind_time(sqlite3_stmt *s, int i, int64_t us)
{
    if (us < 0)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_int64(s, i, us);
}

/* Binds one record to Q_REQ_INSERT (parameters 4..18; 1 to 3 are the point). */
static void bind_record(sqlite3_stmt *s, const struct bench_record *r,
                        const struct record_msgs *msgs)
{
    sqlite3_bind_int64(s, 4, r->seq);
    sqlite3_bind_int64(s, 5, r->lane);
    bind_time(s, 6, r->sched_us);
    bind_time(s, 7, r->start_us);
    bind_time(s, 8, r->connect_us);
    bind_time(s, 9, r->ttfb_us);
    bind_time(s, 10, r->end_us);
    if (r->status)
        sqlite3_bind_int(s, 11, r->status);
    else
        sqlite3_bind_null(s, 11);
    sqlite3_bind_int64(s, 12, r->bytes);
    sqlite3_bind_int(s, 13, r->err_kind);
    const char *e = record_msg(r, msgs);
    if (*e)
        sqlite3_bind_text(s, 14, e, (int)strnlen(e, RECORD_ERROR_MAX - 1), SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 14);
    bind_time(s, 15, r->tls_us);
    if (r->reused >= 0)
        sqlite3_bind_int(s, 16, r->reused);
    else
        sqlite3_bind_null(s, 16);
    if (r->http_version)
        sqlite3_bind_int(s, 17, r->http_version);
    else
        sqlite3_bind_null(s, 17);
    bind_time(s, 18, r->conn);
}

/* Runs a statement bound to a point and optionally a fourth integer; 0 or -1. */
static int step_point(struct store *st, enum store_stmt q, const char *id, int mode,
                      int64_t concurrency, const int64_t *fourth, char *err, size_t errlen,
                      const char *what)
{
    sqlite3_stmt *s = st->q[q];
    store_bind_point(s, id, mode, concurrency);
    if (fourth) sqlite3_bind_int64(s, 4, *fourth);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, err, errlen, what);
    store_done(s);
    return rc;
}

int store_add_records(struct store *st, const char *id, int mode, int64_t concurrency,
                      const struct bench_record *recs, size_t n, const struct record_msgs *msgs,
                      char *err, size_t errlen)
{
    if (!valid_mode(mode)) return errf(err, errlen, "adding records: no such mode %d", mode);
    if (n == 0) return 0;
    pthread_mutex_lock(&st->lock);
    int rc = -1;
    if (store_exec(st, Q_BEGIN_WRITE, err, errlen, "adding records") != 0) goto out;
    /* The mode row holds the running count (progress without counting rows); it exists even
     * when the caller skipped store_mode_begin. */
    if (step_point(st, Q_MODE_ENSURE, id, mode, concurrency, NULL, err, errlen,
                   "adding records") != 0)
        goto end;
    sqlite3_stmt *s = st->q[Q_REQ_INSERT];
    store_bind_point(s, id, mode, concurrency);
    for (size_t i = 0; i < n; i++) {
        bind_record(s, &recs[i], msgs);
        if (sqlite3_step(s) != SQLITE_DONE) {
            char what[96];
            snprintf(what, sizeof what, "adding record seq %lld", (long long)recs[i].seq);
            store_fail(st, err, errlen, what);
            store_done(s);
            goto end;
        }
        sqlite3_reset(s);
    }
    store_done(s);
    int64_t added = (int64_t)n;
    if (step_point(st, Q_MODE_ADD_DONE, id, mode, concurrency, &added, err, errlen,
                   "adding records") != 0)
        goto end;
    rc = 0;
end:
    rc = store_end_write(st, rc, err, errlen, "adding records");
out:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_mode_finish(struct store *st, const char *id, const struct mode_result *res, char *err,
                      size_t errlen)
{
    if (!valid_mode(res->mode))
        return errf(err, errlen, "finishing mode %d: no such mode", res->mode);
    cJSON *result = result_to_json(res);
    char *result_text = result ? cJSON_PrintUnformatted(result) : NULL;
    cJSON_Delete(result);
    if (!result_text) return errf(err, errlen, "finishing mode: out of memory");

    pthread_mutex_lock(&st->lock);
    int rc = -1;
    char *charts_text = NULL;
    int64_t lanes; /* from mode_begin */
    if (store_int_by_point(st, Q_MODE_LANES, id, res->mode, res->concurrency, &lanes, err, errlen,
                           "finishing mode"))
        goto out;
    /* The rows of a finished mode no longer change, so the aggregates are read outside the
     * write transaction: other writers are not held up while a million rows are scanned. */
    cJSON *charts = store_charts_compute(st, id, res->mode, res->concurrency,
                                         lanes > 0 ? lanes : res->lanes, res->wall_ms, err, errlen);
    if (!charts) goto out;
    charts_text = cJSON_PrintUnformatted(charts);
    cJSON_Delete(charts);
    if (!charts_text) {
        errf(err, errlen, "finishing mode: out of memory");
        goto out;
    }
    if (store_exec(st, Q_BEGIN_WRITE, err, errlen, "finishing mode") != 0) goto out;
    if (step_point(st, Q_MODE_ENSURE, id, res->mode, res->concurrency, NULL, err, errlen,
                   "finishing mode") != 0)
        goto end;
    sqlite3_stmt *s = st->q[Q_MODE_FINISH];
    store_bind_point(s, id, res->mode, res->concurrency);
    sqlite3_bind_int64(s, 4, wallclock_us());
    sqlite3_bind_text(s, 5, result_text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, res->lanes);
    int step = sqlite3_step(s);
    if (step != SQLITE_DONE) store_fail(st, err, errlen, "finishing mode");
    store_done(s);
    if (step != SQLITE_DONE) goto end;
    s = st->q[Q_MODE_SET_CHARTS];
    store_bind_point(s, id, res->mode, res->concurrency);
    sqlite3_bind_text(s, 4, charts_text, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    if (step != SQLITE_DONE) store_fail(st, err, errlen, "finishing mode: its charts");
    store_done(s);
    if (step != SQLITE_DONE) goto end;
    rc = 0;
end:
    rc = store_end_write(st, rc, err, errlen, "finishing mode");
out:
    pthread_mutex_unlock(&st->lock);
    free(result_text);
    free(charts_text);
    return rc;
}

int store_mark_interrupted(struct store *st, int64_t now_us, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[Q_MARK_INTERRUPTED];
    sqlite3_bind_int64(s, 1, now_us);
    int rc = sqlite3_step(s) == SQLITE_DONE
                 ? sqlite3_changes(st->db)
                 : store_fail(st, err, errlen, "marking runs interrupted");
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_run_delete(struct store *st, const char *id, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    if (store_purge_rows(st, id, err, errlen)) {
        pthread_mutex_unlock(&st->lock);
        return -1;
    }
    sqlite3_stmt *s = st->q[Q_RUN_DELETE];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    /* ON DELETE CASCADE removes the run's modes and request rows in the same statement. */
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, err, errlen, "deleting run");
    if (rc == 0 && sqlite3_changes(st->db) == 0) rc = STORE_NOT_FOUND;
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* One integer pair from a statement without parameters; 0 or -1 with err. */
static int step_ints(struct store *st, enum store_stmt q, int64_t *a, int64_t *b, char *err,
                     size_t errlen, const char *what)
{
    sqlite3_stmt *s = st->q[q];
    int rc = sqlite3_step(s);
    *a = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    if (b) *b = rc == SQLITE_ROW ? sqlite3_column_int64(s, 1) : 0;
    if (rc != SQLITE_ROW) store_fail(st, err, errlen, what);
    store_done(s);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Deletes the n oldest ended runs, one at a time, each one's rows in batches (store_purge_rows);
 * returns how many went, or -1 with err. */
static int64_t prune_oldest(struct store *st, int64_t n, char *err, size_t errlen)
{
    int64_t gone = 0;
    for (; gone < n; gone++) {
        sqlite3_stmt *s = st->q[Q_OLDEST_ENDED];
        int rc = sqlite3_step(s);
        char id[64] = "";
        if (rc == SQLITE_ROW)
            snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(s, 0));
        else if (rc != SQLITE_DONE)
            store_fail(st, err, errlen, "pruning runs");
        store_done(s);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW || store_purge_rows(st, id, err, errlen)) return -1;
        s = st->q[Q_RUN_DELETE];
        sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(s);
        if (rc != SQLITE_DONE) store_fail(st, err, errlen, "pruning runs");
        store_done(s);
        if (rc != SQLITE_DONE) return -1;
    }
    return gone;
}

int64_t store_prune(struct store *st, int64_t max_runs, int64_t max_bytes, char *err,
                    size_t errlen)
{
    int64_t pruned = 0, ended, pages, page_size;
    pthread_mutex_lock(&st->lock);
    if (max_runs > 0) {
        if (step_ints(st, Q_PRUNE_ENDED, &ended, NULL, err, errlen, "pruning runs")) goto fail;
        if (ended > max_runs) {
            int64_t gone = prune_oldest(st, ended - max_runs, err, errlen);
            if (gone < 0) goto fail;
            pruned += gone;
        }
    }
    /* Oldest first, one at a time, until the data fits (bounded: each pass deletes a run). */
    for (int pass = 0; max_bytes > 0 && pass < 100000; pass++) {
        if (step_ints(st, Q_USED_BYTES, &pages, &page_size, err, errlen, "pruning runs"))
            goto fail;
        if (pages * page_size <= max_bytes) break;
        /* The newest ended run stays, even alone over the limit: it was just shown to someone. */
        if (step_ints(st, Q_PRUNE_ENDED, &ended, NULL, err, errlen, "pruning runs")) goto fail;
        if (ended <= 1) break;
        int64_t gone = prune_oldest(st, 1, err, errlen);
        if (gone < 0) goto fail;
        if (gone == 0) break; /* only queued or running runs are left */
        pruned += gone;
    }
    pthread_mutex_unlock(&st->lock);
    return pruned;
fail:
    pthread_mutex_unlock(&st->lock);
    return -1;
}
