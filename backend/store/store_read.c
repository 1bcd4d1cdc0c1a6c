/* The store's reads: RUN objects, history lists, request pages and streams, stored charts. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "result_json.h"
#include "spec.h"
#include "store.h"
#include "store_db.h"
#include "util.h"

#define MAX_MODES 16 /* modes.mode references mode_names: MODE_COUNT rows at most */
#define MAX_PAGE 100000

/* One row of modes, its texts copied out of the statement. */
struct mode_row {
    int mode;
    int64_t total, lanes, done;
    char *result_json; /* NULL until the mode finished */
    char *charts_json; /* NULL until computed */
};

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? strdup((const char *)t) : NULL;
}

static void free_modes(struct mode_row *m, int n)
{
    for (int i = 0; i < n; i++) {
        free(m[i].result_json);
        free(m[i].charts_json);
    }
}

/* The run's modes in run order. Returns how many, or -1 with err. */
static int read_modes(struct store *st, const char *id, struct mode_row *out, char *err,
                      size_t errlen)
{
    sqlite3_stmt *s = st->q[Q_MODES_OF_RUN];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < MAX_MODES) {
        struct mode_row *m = &out[n++];
        m->mode = sqlite3_column_int(s, 0);
        m->total = sqlite3_column_int64(s, 1);
        m->lanes = sqlite3_column_int64(s, 2);
        m->done = sqlite3_column_int64(s, 3);
        m->result_json = col_dup(s, 4);
        m->charts_json = col_dup(s, 5);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_fail(st, err, errlen, "reading modes");
        free_modes(out, n);
        n = -1;
    }
    store_done(s);
    return n;
}

static const char *name_of(int mode)
{
    const char *name = mode_name(mode);
    return name ? name : "unknown";
}

static void add_time(cJSON *o, const char *key, sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) == SQLITE_NULL) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char iso[32];
    iso8601_utc(sqlite3_column_int64(s, col), iso);
    cJSON_AddStringToObject(o, key, iso);
}

/* progress: done counts stored rows (modes.done moves with them); total is the spec's
 * requests × its number of modes, or the begun modes' totals for a spec without them. */
static cJSON *progress_json(const cJSON *spec, const struct mode_row *m, int n)
{
    int64_t done = 0, begun_total = 0;
    for (int i = 0; i < n; i++) {
        done += m[i].done;
        begun_total += m[i].total;
    }
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(spec, "requests");
    const cJSON *modes = cJSON_GetObjectItemCaseSensitive(spec, "modes");
    int64_t per_mode = cJSON_IsNumber(req) ? (int64_t)req->valuedouble : 0;
    int64_t total =
        cJSON_IsArray(modes) && per_mode > 0 ? per_mode * cJSON_GetArraySize(modes) : begun_total;

    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "done", (double)done);
    cJSON_AddNumberToObject(p, "total", (double)(total > done ? total : done));
    if (n > 0)
        cJSON_AddStringToObject(p, "mode", name_of(m[n - 1].mode));
    else
        cJSON_AddNullToObject(p, "mode");
    cJSON *per = cJSON_AddObjectToObject(p, "modes");
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_AddObjectToObject(per, name_of(m[i].mode));
        cJSON_AddNumberToObject(o, "done", (double)m[i].done);
        cJSON_AddNumberToObject(o, "total", (double)(m[i].total > 0 ? m[i].total : per_mode));
    }
    return p;
}

/* RUN from a row of RUN_COLS (id, status, created_us, finished_us, spec_json, label, message). */
static cJSON *build_run(struct store *st, sqlite3_stmt *row, char *err, size_t errlen)
{
    const char *id = (const char *)sqlite3_column_text(row, 0);
    struct mode_row modes[MAX_MODES];
    int n = read_modes(st, id, modes, err, errlen);
    if (n < 0) return NULL;

    cJSON *run = cJSON_CreateObject();
    cJSON_AddStringToObject(run, "id", id);
    cJSON_AddStringToObject(run, "status", (const char *)sqlite3_column_text(row, 1));
    add_time(run, "created_at", row, 2);
    add_time(run, "finished_at", row, 3);
    const unsigned char *label = sqlite3_column_text(row, 5);
    cJSON_AddStringToObject(run, "label", label ? (const char *)label : "");
    const unsigned char *message = sqlite3_column_text(row, 6);
    if (message)
        cJSON_AddStringToObject(run, "message", (const char *)message);
    else
        cJSON_AddNullToObject(run, "message");
    cJSON *spec = cJSON_Parse((const char *)sqlite3_column_text(row, 4));
    cJSON_AddItemToObject(run, "spec", spec ? spec : cJSON_CreateNull());
    cJSON_AddItemToObject(run, "progress", progress_json(spec, modes, n));
    cJSON *results = cJSON_AddArrayToObject(run, "results");
    for (int i = 0; i < n; i++) {
        cJSON *r = modes[i].result_json ? cJSON_Parse(modes[i].result_json) : NULL;
        if (r) cJSON_AddItemToArray(results, r);
    }
    free_modes(modes, n);
    return run;
}

cJSON *store_run_get(struct store *st, const char *id, bool *found, char *err, size_t errlen)
{
    bool dummy;
    if (!found) found = &dummy;
    *found = true;
    pthread_mutex_lock(&st->lock);
    cJSON *run = NULL;
    sqlite3_stmt *s = st->q[Q_RUN_GET];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        run = build_run(st, s, err, errlen);
    else if (rc == SQLITE_DONE)
        *found = false;
    else
        store_fail(st, err, errlen, "reading run");
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return run;
}

int store_run_status(struct store *st, const char *id, char *buf, size_t buflen)
{
    if (buflen) buf[0] = '\0';
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[Q_RUN_STATUS];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(buf, buflen, "%s", (const char *)sqlite3_column_text(s, 0));
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? 1 : -1;
    }
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

cJSON *store_run_list(struct store *st, int limit, int offset, const char *url, const char *label,
                      char *err, size_t errlen)
{
    if (limit < 1) limit = 1;
    if (limit > 1000) limit = 1000;
    if (offset < 0) offset = 0;
    enum store_stmt q = url ? (label ? Q_RUN_LIST_URL_LABEL : Q_RUN_LIST_URL)
                            : (label ? Q_RUN_LIST_LABEL : Q_RUN_LIST);
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[q];
    if (url) sqlite3_bind_text(s, 1, url, -1, SQLITE_STATIC);
    if (label) sqlite3_bind_text(s, 2, label, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, limit);
    sqlite3_bind_int(s, 4, offset);
    cJSON *out = cJSON_CreateObject();
    cJSON *runs = cJSON_AddArrayToObject(out, "runs");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *run = build_run(st, s, err, errlen);
        if (!run) break;
        cJSON_AddItemToArray(runs, run);
    }
    if (rc != SQLITE_DONE) {
        if (rc != SQLITE_ROW) store_fail(st, err, errlen, "listing runs");
        cJSON_Delete(out);
        out = NULL;
    }
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return out;
}

/* Rows of one mode through statement s (already bound past ?1, ?2), appended as ROWs. */
static int append_rows(struct store *st, sqlite3_stmt *s, const char *id, int mode, cJSON *arr,
                       char *err, size_t errlen)
{
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, mode);
    int rc;
    struct bench_record r;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        store_row_to_record(s, 0, &r);
        cJSON_AddItemToArray(arr, record_to_json(&r));
    }
    if (rc != SQLITE_DONE) store_fail(st, err, errlen, "reading requests");
    store_done(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* True when the mode's seqs are exactly 0..total-1, so that OFFSET k is seq k and a page is an
 * index seek instead of skipping k rows. */
static bool seqs_contiguous(struct store *st, const char *id, int mode, int64_t total)
{
    sqlite3_stmt *s = st->q[Q_REQ_SEQ_BOUNDS];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, mode);
    bool yes = total > 0 && sqlite3_step(s) == SQLITE_ROW &&
               sqlite3_column_type(s, 0) != SQLITE_NULL && sqlite3_column_int64(s, 0) == 0 &&
               sqlite3_column_int64(s, 1) == total - 1;
    store_done(s);
    return yes;
}

cJSON *store_requests_page(struct store *st, const char *id, int mode, int64_t limit,
                           int64_t offset, char *err, size_t errlen)
{
    if (!mode_name(mode)) return errf(err, errlen, "reading requests: no such mode %d", mode), NULL;
    if (limit < 0) limit = 0;
    if (limit > MAX_PAGE) limit = MAX_PAGE;
    if (offset < 0) offset = 0;
    pthread_mutex_lock(&st->lock);
    cJSON *out = NULL;
    /* One read transaction: the total and the rows come from the same snapshot. */
    if (store_exec(st, Q_BEGIN_READ, err, errlen, "reading requests") != 0) goto unlock;
    int64_t total; /* stored rows */
    if (store_int_by_id_mode(st, Q_MODE_DONE, id, mode, &total, err, errlen,
                             "reading requests")) {
        store_exec(st, Q_COMMIT, NULL, 0, NULL);
        goto unlock;
    }
    sqlite3_stmt *s = seqs_contiguous(st, id, mode, total) ? st->q[Q_REQ_PAGE_FROM_SEQ]
                                                           : st->q[Q_REQ_PAGE_OFFSET];
    sqlite3_bind_int64(s, 3, limit);
    sqlite3_bind_int64(s, 4, offset);
    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "mode", mode_name(mode));
    cJSON_AddNumberToObject(out, "total", (double)total);
    if (append_rows(st, s, id, mode, cJSON_AddArrayToObject(out, "requests"), err, errlen) != 0) {
        cJSON_Delete(out);
        out = NULL;
    }
    store_exec(st, Q_COMMIT, NULL, 0, NULL);
unlock:
    pthread_mutex_unlock(&st->lock);
    return out;
}

int store_each_request(struct store *st, const char *id, int mode,
                       int (*fn)(void *ctx, int mode, const struct bench_record *r), void *ctx,
                       char *err, size_t errlen)
{
    if (mode >= 0 && !mode_name(mode))
        return errf(err, errlen, "reading requests: no such mode %d", mode);
    pthread_mutex_lock(&st->lock);
    int rc = -1;
    if (store_exec(st, Q_BEGIN_READ, err, errlen, "reading requests") != 0) goto unlock;
    int order[MAX_MODES], n = 0;
    if (mode >= 0) {
        order[n++] = mode;
    } else {
        struct mode_row modes[MAX_MODES];
        n = read_modes(st, id, modes, err, errlen);
        if (n < 0) goto end;
        for (int i = 0; i < n; i++)
            order[i] = modes[i].mode;
        free_modes(modes, n);
    }
    sqlite3_stmt *s = st->q[Q_REQ_ALL];
    bool stop = false;
    struct bench_record r;
    for (int i = 0; i < n && !stop; i++) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, order[i]);
        int step;
        while (!stop && (step = sqlite3_step(s)) == SQLITE_ROW) {
            store_row_to_record(s, 0, &r);
            stop = fn(ctx, order[i], &r) != 0;
        }
        if (!stop && step != SQLITE_DONE) {
            store_fail(st, err, errlen, "reading requests");
            store_done(s);
            goto end;
        }
        store_done(s);
    }
    rc = 0;
end:
    store_exec(st, Q_COMMIT, NULL, 0, NULL);
unlock:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Wall time of a stored RESULT, 0 when unreadable. */
static double result_wall_ms(const char *result_json)
{
    cJSON *r = cJSON_Parse(result_json);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(r, "wall_ms");
    double v = cJSON_IsNumber(w) ? w->valuedouble : 0;
    cJSON_Delete(r);
    return v;
}

cJSON *store_charts(struct store *st, const char *id, bool *found, char *err, size_t errlen)
{
    bool dummy;
    if (!found) found = &dummy;
    *found = true;
    pthread_mutex_lock(&st->lock);
    cJSON *out = NULL;
    sqlite3_stmt *s = st->q[Q_RUN_STATUS];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    store_done(s);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            *found = false;
        else
            store_fail(st, err, errlen, "reading charts");
        goto unlock;
    }
    struct mode_row modes[MAX_MODES];
    int n = read_modes(st, id, modes, err, errlen);
    if (n < 0) goto unlock;
    out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "modes");
    for (int i = 0; i < n; i++) {
        struct mode_row *m = &modes[i];
        if (!m->result_json) continue; /* not finished: no aggregates yet */
        cJSON *c = m->charts_json ? cJSON_Parse(m->charts_json) : NULL;
        if (!c) {
            /* Finished before migration 0002 (or unreadable): compute now and keep them. */
            c = store_charts_compute(st, id, m->mode, m->lanes, result_wall_ms(m->result_json), err,
                                     errlen);
            if (!c) {
                cJSON_Delete(out);
                out = NULL;
                break;
            }
            char *text = cJSON_PrintUnformatted(c);
            sqlite3_stmt *u = st->q[Q_MODE_SET_CHARTS];
            sqlite3_bind_text(u, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_int(u, 2, m->mode);
            sqlite3_bind_text(u, 3, text, -1, SQLITE_STATIC);
            sqlite3_step(u); /* best effort: a failure only means computing again next time */
            store_done(u);
            free(text);
        }
        cJSON_AddItemToArray(arr, c);
    }
    free_modes(modes, n);
unlock:
    pthread_mutex_unlock(&st->lock);
    return out;
}
