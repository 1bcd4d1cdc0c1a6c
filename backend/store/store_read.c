/* The store's reads: runs and their modes as C data, request pages and streams, stored charts. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "result_json.h"
#include "spec.h"
#include "store.h"
#include "store_db.h"
#include "util.h"

#define MAX_MODES (SPEC_MAX_MODES * SPEC_MAX_LEVELS) /* rows of modes per run: (mode, level) points */
#define MAX_PAGE 100000

/* One row of modes: its RESULT parsed, its charts text copied out of the statement. */
struct mode_row {
    int mode;
    int64_t concurrency;
    int64_t total, lanes, done;
    bool finished;            /* a RESULT is stored and could be read */
    struct mode_result result; /* valid when finished */
    char *charts_json;        /* NULL until computed */
};

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? strdup((const char *)t) : NULL;
}

static void free_modes(struct mode_row *m, int n)
{
    for (int i = 0; i < n; i++)
        free(m[i].charts_json);
}

/* The store boundary of a RESULT: its stored text parsed once into m->result (the point's level
 * when it does not say its own). A text that cannot be read leaves the point unfinished, as a
 * point without a RESULT. */
static void read_result(const unsigned char *text, struct mode_row *m)
{
    m->finished = false;
    cJSON *j = text ? cJSON_Parse((const char *)text) : NULL;
    char err[128];
    if (j && result_from_json(j, &m->result, err, sizeof err) == 0) {
        m->finished = true;
        if (m->result.concurrency <= 0) m->result.concurrency = m->concurrency;
        if (m->result.client.is_client) m->result.mode = m->mode; /* 16 + its index in the spec */
    }
    cJSON_Delete(j);
}

/* The run's modes in run order. Returns how many, or -1 with err. */
/* The run's points in run order; their charts_json only `with_charts` (else NULL). */
static int read_modes(struct store *st, const char *id, struct mode_row *out, bool with_charts,
                      char *err, size_t errlen)
{
    sqlite3_stmt *s = st->q[with_charts ? Q_MODES_OF_RUN_CHARTS : Q_MODES_OF_RUN];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < MAX_MODES) {
        struct mode_row *m = &out[n++];
        m->mode = sqlite3_column_int(s, 0);
        m->concurrency = sqlite3_column_int64(s, 1);
        m->total = sqlite3_column_int64(s, 2);
        m->lanes = sqlite3_column_int64(s, 3);
        m->done = sqlite3_column_int64(s, 4);
        read_result(sqlite3_column_text(s, 5), m);
        m->charts_json = col_dup(s, 6);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_fail(st, err, errlen, "reading modes");
        free_modes(out, n);
        n = -1;
    }
    store_done(s);
    return n;
}

/* Fills `out` from a row of RUN_COLS (id, status, created_us, finished_us, spec_json, label,
 * message) and the run's mode rows. Returns 0 or -1 with err. */
static int fill_run(struct store *st, sqlite3_stmt *row, struct store_run *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->id = col_dup(row, 0);
    out->status = col_dup(row, 1);
    out->created_us = sqlite3_column_int64(row, 2);
    out->finished_us =
        sqlite3_column_type(row, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(row, 3);
    out->label = col_dup(row, 5);
    out->message = col_dup(row, 6);
    if (!out->label) out->label = strdup("");
    /* The store boundary of a spec: its canonical text, validated when it was created, parsed
     * once (without limits: a dashboard may have raised them). */
    const unsigned char *spec_text = sqlite3_column_text(row, 4);
    struct spec_limits lim;
    spec_limits_unbounded(&lim);
    char serr[256];
    out->has_spec =
        spec_text && spec_from_text((const char *)spec_text, &lim, &out->spec, serr, sizeof serr) == 0;
    if (!out->has_spec) spec_init(&out->spec);
    if (!out->id || !out->status || !out->label) {
        store_run_free(out);
        return errf(err, errlen, "out of memory");
    }
    /* On the heap: a handler thread's stack is small, and MAX_MODES rows are tens of KB. */
    struct mode_row *modes = calloc(MAX_MODES, sizeof *modes);
    int n = modes ? read_modes(st, out->id, modes, false, err, errlen)
                  : errf(err, errlen, "out of memory");
    if (n < 0) {
        free(modes);
        store_run_free(out);
        return -1;
    }
    out->modes = calloc(n > 0 ? (size_t)n : 1, sizeof *out->modes);
    if (!out->modes) {
        free_modes(modes, n);
        free(modes);
        store_run_free(out);
        return errf(err, errlen, "out of memory");
    }
    for (int i = 0; i < n; i++)
        out->modes[i] = (struct store_mode){.mode = modes[i].mode,
                                            .concurrency = modes[i].concurrency,
                                            .total = modes[i].total,
                                            .lanes = modes[i].lanes,
                                            .done = modes[i].done,
                                            .finished = modes[i].finished,
                                            .result = modes[i].result};
    out->nmodes = n;
    free_modes(modes, n);
    free(modes);
    return 0;
}

void store_run_free(struct store_run *r)
{
    if (!r) return;
    free(r->modes);
    free(r->id);
    free(r->status);
    spec_free(&r->spec);
    free(r->label);
    free(r->message);
    memset(r, 0, sizeof *r);
}

void store_runs_free(struct store_run *runs, int n)
{
    for (int i = 0; i < n; i++)
        store_run_free(&runs[i]);
    free(runs);
}

int store_run_get(struct store *st, const char *id, struct store_run *out, char *err, size_t errlen)
{
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[Q_RUN_GET];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = fill_run(st, s, out, err, errlen);
    else if (rc == SQLITE_DONE)
        rc = STORE_NOT_FOUND;
    else
        rc = store_fail(st, err, errlen, "reading run");
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_run_status(struct store *st, const char *id, char *buf, size_t buflen, char *err,
                     size_t errlen)
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
        rc = rc == SQLITE_DONE ? STORE_NOT_FOUND : store_fail(st, err, errlen, "reading run");
    }
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_run_list(struct store *st, int limit, int offset, const char *url, const char *label,
                   struct store_run **out, int *count, char *err, size_t errlen)
{
    if (limit < 1) limit = 1;
    if (limit > 1000) limit = 1000;
    if (offset < 0) offset = 0;
    *out = calloc((size_t)limit, sizeof **out);
    *count = 0;
    if (!*out) return errf(err, errlen, "out of memory");
    enum store_stmt q = url ? (label ? Q_RUN_LIST_URL_LABEL : Q_RUN_LIST_URL)
                            : (label ? Q_RUN_LIST_LABEL : Q_RUN_LIST);
    pthread_mutex_lock(&st->lock);
    sqlite3_stmt *s = st->q[q];
    if (url) sqlite3_bind_text(s, 1, url, -1, SQLITE_STATIC);
    if (label) sqlite3_bind_text(s, 2, label, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, limit);
    sqlite3_bind_int(s, 4, offset);
    int rc = SQLITE_DONE;
    while (*count < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (fill_run(st, s, &(*out)[*count], err, errlen)) break;
        (*count)++;
    }
    int ok = *count == limit || rc == SQLITE_DONE;
    if (!ok && rc != SQLITE_ROW) store_fail(st, err, errlen, "listing runs");
    store_done(s);
    pthread_mutex_unlock(&st->lock);
    if (ok) return 0;
    store_runs_free(*out, *count);
    *out = NULL;
    *count = 0;
    return -1;
}

/* Rows of one point through statement s (already bound past ?1..?3), appended as ROWs. */
static int append_rows(struct store *st, sqlite3_stmt *s, const char *id, int mode,
                       int64_t concurrency, cJSON *arr, char *err, size_t errlen)
{
    store_bind_point(s, id, mode, concurrency);
    int rc;
    struct bench_record r;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *e = store_row_to_record(s, 0, &r);
        cJSON_AddItemToArray(arr, record_to_json(&r, e));
    }
    if (rc != SQLITE_DONE) store_fail(st, err, errlen, "reading requests");
    store_done(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* True when the point's seqs are exactly 0..total-1, so that OFFSET k is seq k and a page is an
 * index seek instead of skipping k rows. */
static bool seqs_contiguous(struct store *st, const char *id, int mode, int64_t concurrency,
                            int64_t total)
{
    sqlite3_stmt *s = st->q[Q_REQ_SEQ_BOUNDS];
    store_bind_point(s, id, mode, concurrency);
    bool yes = total > 0 && sqlite3_step(s) == SQLITE_ROW &&
               sqlite3_column_type(s, 0) != SQLITE_NULL && sqlite3_column_int64(s, 0) == 0 &&
               sqlite3_column_int64(s, 1) == total - 1;
    store_done(s);
    return yes;
}

/* {"mode", "concurrency", "total", "requests": [the rows of s]} or NULL with err. */
static cJSON *rows_page(struct store *st, sqlite3_stmt *s, const char *id, int mode,
                        int64_t concurrency, int64_t total, char *err, size_t errlen)
{
    cJSON *out = cJSON_CreateObject();
    struct mode_names names;
    cJSON_AddStringToObject(out, "mode", store_mode_name(st, id, mode, &names));
    cJSON_AddNumberToObject(out, "concurrency", (double)concurrency);
    cJSON_AddNumberToObject(out, "total", (double)total);
    if (append_rows(st, s, id, mode, concurrency, cJSON_AddArrayToObject(out, "requests"), err,
                    errlen) != 0) {
        cJSON_Delete(out);
        out = NULL;
    }
    return out;
}

/* Binds (point, from_us, to_us) to the window count and returns the count, or -1 with err. */
static int64_t window_count(struct store *st, const char *id, int mode, int64_t concurrency,
                            int64_t from_us, int64_t to_us, char *err, size_t errlen)
{
    sqlite3_stmt *s = st->q[Q_REQ_WINDOW_COUNT];
    store_bind_point(s, id, mode, concurrency);
    sqlite3_bind_int64(s, 4, from_us);
    sqlite3_bind_int64(s, 5, to_us);
    int rc = sqlite3_step(s);
    int64_t total = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    if (rc != SQLITE_ROW) store_fail(st, err, errlen, "reading requests");
    store_done(s);
    return total;
}

/* A page of a point's rows in seq order, all of them (window false) or those that overlap
 * [from_us, to_us]; total counts every row of that selection, from the same snapshot. */
static int requests_page(struct store *st, const char *id, int mode, int64_t concurrency,
                         int64_t limit, int64_t offset, bool window, int64_t from_us,
                         int64_t to_us, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!mode_name(mode) && !mode_is_client(mode))
        return errf(err, errlen, "reading requests: no such mode %d", mode);
    if (limit < 0) limit = 0;
    if (limit > MAX_PAGE) limit = MAX_PAGE;
    if (offset < 0) offset = 0;
    pthread_mutex_lock(&st->lock);
    int rc = -1;
    /* One read transaction: the run, the total and the rows come from the same snapshot. */
    if (store_exec(st, Q_BEGIN_READ, err, errlen, "reading requests") != 0) goto unlock;
    sqlite3_stmt *s = st->q[Q_RUN_STATUS];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE) store_fail(st, err, errlen, "reading requests");
    store_done(s);
    if (step == SQLITE_DONE) rc = STORE_NOT_FOUND;
    if (step != SQLITE_ROW) goto end;
    int64_t total;
    if (window) {
        total = window_count(st, id, mode, concurrency, from_us, to_us, err, errlen);
        if (total < 0) goto end;
        s = st->q[Q_REQ_WINDOW];
        sqlite3_bind_int64(s, 4, from_us);
        sqlite3_bind_int64(s, 5, to_us);
        sqlite3_bind_int64(s, 6, limit);
        sqlite3_bind_int64(s, 7, offset);
    } else {
        /* stored rows */
        if (store_int_by_point(st, Q_MODE_DONE, id, mode, concurrency, &total, err, errlen,
                               "reading requests"))
            goto end;
        s = seqs_contiguous(st, id, mode, concurrency, total) ? st->q[Q_REQ_PAGE_FROM_SEQ]
                                                              : st->q[Q_REQ_PAGE_OFFSET];
        sqlite3_bind_int64(s, 4, limit);
        sqlite3_bind_int64(s, 5, offset);
    }
    *out = rows_page(st, s, id, mode, concurrency, total, err, errlen);
    rc = *out ? 0 : -1;
end:
    store_exec(st, Q_COMMIT, NULL, 0, "ending a read");
unlock:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_requests_page(struct store *st, const char *id, int mode, int64_t concurrency,
                        int64_t limit, int64_t offset, cJSON **out, char *err, size_t errlen)
{
    return requests_page(st, id, mode, concurrency, limit, offset, false, 0, 0, out, err,
                         errlen);
}

int store_requests_window(struct store *st, const char *id, int mode, int64_t concurrency,
                          int64_t from_us, int64_t to_us, int64_t limit, int64_t offset,
                          cJSON **out, char *err, size_t errlen)
{
    return requests_page(st, id, mode, concurrency, limit, offset, true, from_us, to_us, out,
                         err, errlen);
}

/* The failed rows of one point grouped by kind and message, appended to arr. */
static int append_failures(struct store *st, const char *id, int mode, int64_t concurrency,
                           cJSON *arr, char *err, size_t errlen)
{
    struct mode_names names;
    const char *name = store_mode_name(st, id, mode, &names);
    sqlite3_stmt *s = st->q[Q_FAILURES];
    store_bind_point(s, id, mode, concurrency);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *f = cJSON_CreateObject();
        const char *kind = req_error_name(sqlite3_column_int(s, 0));
        const char *msg = (const char *)sqlite3_column_text(s, 1);
        cJSON_AddStringToObject(f, "mode", name);
        cJSON_AddNumberToObject(f, "concurrency", (double)concurrency);
        cJSON_AddStringToObject(f, "kind", kind);
        cJSON_AddStringToObject(f, "message", msg && *msg ? msg : kind);
        cJSON_AddNumberToObject(f, "count", (double)sqlite3_column_int64(s, 2));
        cJSON_AddNumberToObject(f, "first_us", (double)sqlite3_column_int64(s, 3));
        cJSON_AddNumberToObject(f, "last_us", (double)sqlite3_column_int64(s, 4));
        cJSON_AddItemToArray(arr, f);
    }
    if (rc != SQLITE_DONE) store_fail(st, err, errlen, "reading failures");
    store_done(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The modes of a run that must exist: 0 with *n of them, STORE_NOT_FOUND, or -1 with err. */
static int read_run_modes(struct store *st, const char *id, struct mode_row *out, bool with_charts,
                          int *n, char *err, size_t errlen, const char *what)
{
    sqlite3_stmt *s = st->q[Q_RUN_STATUS];
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) store_fail(st, err, errlen, what);
    store_done(s);
    if (rc == SQLITE_DONE) return STORE_NOT_FOUND;
    if (rc != SQLITE_ROW) return -1;
    *n = read_modes(st, id, out, with_charts, err, errlen);
    return *n < 0 ? -1 : 0;
}

int store_failures(struct store *st, const char *id, cJSON **out, char *err, size_t errlen)
{
    *out = NULL;
    pthread_mutex_lock(&st->lock);
    int rc = -1, n = 0;
    if (store_exec(st, Q_BEGIN_READ, err, errlen, "reading failures") != 0) goto unlock;
    struct mode_row *modes = calloc(MAX_MODES, sizeof *modes);
    rc = modes ? read_run_modes(st, id, modes, false, &n, err, errlen, "reading failures")
               : errf(err, errlen, "out of memory");
    if (rc) {
        free(modes);
        goto end;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "failures");
    for (int i = 0; i < n && rc == 0; i++) {
        /* A finished mode without errors is not scanned: a clean million-row run answers at
         * once. */
        if (modes[i].finished && modes[i].result.errors <= 0) continue;
        rc = append_failures(st, id, modes[i].mode, modes[i].concurrency, arr, err, errlen);
    }
    if (rc == 0)
        *out = doc;
    else
        cJSON_Delete(doc);
    free_modes(modes, n);
    free(modes);
end:
    store_exec(st, Q_COMMIT, NULL, 0, "ending a read");
unlock:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_each_request(struct store *st, const char *id, int mode,
                       int (*fn)(void *ctx, int mode, int64_t concurrency,
                                 const struct bench_record *r, const char *error),
                       void *ctx, char *err, size_t errlen)
{
    if (mode >= 0 && !mode_name(mode) && !mode_is_client(mode))
        return errf(err, errlen, "reading requests: no such mode %d", mode);
    pthread_mutex_lock(&st->lock);
    int rc = -1;
    if (store_exec(st, Q_BEGIN_READ, err, errlen, "reading requests") != 0) goto unlock;
    struct mode_row *points = calloc(MAX_MODES, sizeof *points);
    int n = points ? read_modes(st, id, points, false, err, errlen)
                   : errf(err, errlen, "out of memory");
    if (n < 0) {
        free(points);
        goto end;
    }
    sqlite3_stmt *s = st->q[Q_REQ_ALL];
    bool stop = false;
    struct bench_record r;
    for (int i = 0; i < n && !stop; i++) {
        if (mode >= 0 && points[i].mode != mode) continue;
        store_bind_point(s, id, points[i].mode, points[i].concurrency);
        int step;
        while (!stop && (step = sqlite3_step(s)) == SQLITE_ROW) {
            const char *e = store_row_to_record(s, 0, &r);
            stop = fn(ctx, points[i].mode, points[i].concurrency, &r, e) != 0;
        }
        if (!stop && step != SQLITE_DONE) {
            store_fail(st, err, errlen, "reading requests");
            store_done(s);
            free_modes(points, n);
            free(points);
            goto end;
        }
        store_done(s);
    }
    free_modes(points, n);
    free(points);
    rc = 0;
end:
    store_exec(st, Q_COMMIT, NULL, 0, "ending a read");
unlock:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* A finished point's charts as JSON text (malloc'd): the stored text, or, for a point finished
 * before migration 0002 (or whose text is not an object), computed now and kept (best effort: a
 * failure to keep only means computing again next time). NULL with err. Caller holds the lock. */
static char *mode_charts_text(struct store *st, const char *id, const struct mode_row *m, char *err,
                              size_t errlen)
{
    size_t n = m->charts_json ? strlen(m->charts_json) : 0;
    if (n >= 2 && m->charts_json[0] == '{' && m->charts_json[n - 1] == '}')
        return strdup(m->charts_json);
    cJSON *c = store_charts_compute(st, id, m->mode, m->concurrency, m->lanes,
                                    m->finished ? m->result.wall_ms : 0, err, errlen);
    char *text = c ? cJSON_PrintUnformatted(c) : NULL;
    cJSON_Delete(c);
    if (!text) return c ? errf(err, errlen, "charts: out of memory"), NULL : NULL;
    sqlite3_stmt *u = st->q[Q_MODE_SET_CHARTS];
    store_bind_point(u, id, m->mode, m->concurrency);
    sqlite3_bind_text(u, 4, text, -1, SQLITE_STATIC);
    sqlite3_step(u);
    store_done(u);
    return text;
}

int store_charts_text(struct store *st, const char *id, int64_t concurrency, char **text,
                      char *err, size_t errlen)
{
    *text = NULL;
    pthread_mutex_lock(&st->lock);
    char *out = NULL;
    struct mode_row *modes = calloc(MAX_MODES, sizeof *modes);
    int n = 0, rc = modes ? read_run_modes(st, id, modes, true, &n, err, errlen, "reading charts")
                          : errf(err, errlen, "out of memory");
    if (rc) {
        free(modes);
        goto unlock;
    }
    /* The stored texts side by side: no parsing and printing megabytes again. */
    char *parts[MAX_MODES];
    size_t total = sizeof "{\"modes\":[]}", k = 0;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        if (!modes[i].finished) continue; /* not finished: no aggregates yet */
        if (concurrency > 0 && modes[i].concurrency != concurrency) continue;
        parts[k] = mode_charts_text(st, id, &modes[i], err, errlen);
        ok = parts[k] != NULL;
        if (ok) total += strlen(parts[k++]) + 1;
    }
    out = ok ? malloc(total) : NULL;
    if (ok && !out) errf(err, errlen, "charts: out of memory");
    if (out) {
        size_t at = (size_t)sprintf(out, "{\"modes\":[");
        for (size_t i = 0; i < k; i++)
            at += (size_t)sprintf(out + at, "%s%s", i ? "," : "", parts[i]);
        strcpy(out + at, "]}");
    }
    for (size_t i = 0; i < k; i++)
        free(parts[i]);
    free_modes(modes, n);
    free(modes);
    *text = out;
    rc = out ? 0 : -1;
unlock:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int store_charts(struct store *st, const char *id, int64_t concurrency, cJSON **out, char *err,
                 size_t errlen)
{
    char *text;
    *out = NULL;
    int rc = store_charts_text(st, id, concurrency, &text, err, errlen);
    if (rc) return rc;
    *out = cJSON_Parse(text);
    free(text);
    return *out ? 0 : errf(err, errlen, "reading charts: stored charts are not JSON");
}
