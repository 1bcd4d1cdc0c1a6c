#include "http_stream.h"

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_ctx.h"
#include "http_json.h"
#include "job.h"
#include "run_json.h"
#include "result_json.h"
#include "store.h"
#include "util.h"

#define SSE_PROGRESS_EVERY_US 100000 /* at most 10 progress events a second */
#define SSE_PING_EVERY_US 10000000   /* a comment line now and then finds clients that left */

/* Writes one event; `data` is freed. Returns 0, or -1 when the client went away. */
static int sse_send(struct mg_connection *c, const char *event, cJSON *data)
{
    char *text = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    if (!text) return -1;
    size_t tl = strlen(text), cap = tl + strlen(event) + 32;
    char *buf = malloc(cap);
    if (!buf) {
        free(text);
        return -1;
    }
    int n = snprintf(buf, cap, "event: %s\ndata: %s\n\n", event, text);
    int w = mg_write(c, buf, (size_t)n);
    free(buf);
    free(text);
    return w == n ? 0 : -1;
}

static int sse_progress(struct mg_connection *c, const struct job_progress *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", job_state_name(p->state));
    if (p->cancelling) cJSON_AddBoolToObject(o, "cancelling", true);
    cJSON_AddItemToObject(o, "progress", run_json_progress(p));
    return sse_send(c, "progress", o);
}

static int sse_mode(struct mg_connection *c, const char *mode, cJSON *result)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "mode", mode);
    const cJSON *level = cJSON_GetObjectItemCaseSensitive(result, "concurrency");
    if (cJSON_IsNumber(level)) cJSON_AddNumberToObject(o, "concurrency", level->valuedouble);
    cJSON_AddItemToObject(o, "result", result);
    return sse_send(c, "mode", o);
}

/* What a progress event shows; a new event is due only when it changes. */
static int64_t sse_fingerprint(const struct job_progress *p)
{
    int64_t done = 0;
    for (int i = 0; i < p->nmodes; i++) done += p->done[i];
    /* a new live point is news too */
    return (done * 64 + (p->cur + 1) * 8 + p->state * 2 + p->cancelling) * 2048 +
           (p->live.mode + 1) * 256 + p->live.npoints;
}

/* Sends the `mode` events of the points finished since *sent (up to `upto`), read a few at a
 * time from the runner. Returns 0, or -1 when the client went away. A run that has just ended
 * leaves the rest to sse_finish (from the store). */
static int sse_results(struct mg_connection *c, struct http_api *api, const char *id, int *sent,
                       int upto)
{
    struct mode_result buf[4];
    while (*sent < upto) {
        int n = job_results(api->job, id, *sent, buf, 4);
        if (n <= 0) return 0;
        for (int i = 0; i < n; i++, (*sent)++)
            if (sse_mode(c, result_mode_name(&buf[i]), result_to_json(&buf[i]))) return -1;
    }
    return 0;
}

/* The run has ended: sends the `mode` events not sent yet (from the store), then `end`. */
static int sse_finish(struct mg_connection *c, struct http_api *api, const char *id,
                      int sent_modes)
{
    char err[256];
    cJSON *run;
    int rc = run_json_get(api, api->st, id, &run, err, sizeof err);
    if (rc) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", rc == STORE_NOT_FOUND ? "the run was deleted" : err);
        return sse_send(c, "error", o);
    }
    cJSON *results = cJSON_GetObjectItemCaseSensitive(run, "results");
    int n = cJSON_GetArraySize(results);
    for (int i = sent_modes; i < n; i++) {
        cJSON *r = cJSON_GetArrayItem(results, i);
        cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "mode");
        if (sse_mode(c, cJSON_IsString(m) ? m->valuestring : "", cJSON_Duplicate(r, 1))) {
            cJSON_Delete(run);
            return -1;
        }
    }
    return sse_send(c, "end", run);
}

/* The stream itself: the current state at once, then changes until the run ends. */
static int sse_stream(struct mg_connection *c, struct http_api *api, const char *id,
                      enum job_state st, struct job_progress *pp)
{
    struct job_progress p = *pp;
    /* The stream ends when the run does: the connection closes with it. */
    mg_disable_connection_keep_alive(c);
    mg_response_header_start(c, 200);
    mg_response_header_add(c, "Content-Type", "text/event-stream", -1);
    mg_response_header_add(c, "Cache-Control", "no-store", -1);
    mg_response_header_add(c, "X-Accel-Buffering", "no", -1);
    mg_response_header_add_lines(c, HTTP_API_SECURITY_HEADERS);
    if (mg_response_header_send(c) != 0) return 200;
    if (mg_write(c, "retry: 3000\n\n", 13) != 13) return 200;
    if (st == JOB_NONE) {
        sse_finish(c, api, id, JOB_MAX_POINTS); /* the RUN in `end` has every result */
        return 200;
    }

    int sent_modes = 0;
    uint64_t version = p.version;
    int64_t shown = sse_fingerprint(&p), now = clock_us();
    int64_t last_progress = now, last_write = now;
    bool pending = false;
    if (sse_progress(c, &p) || sse_results(c, api, id, &sent_modes, p.nresults)) return 200;
    for (;;) {
        now = clock_us();
        int64_t wake = last_write + SSE_PING_EVERY_US;
        if (pending && last_progress + SSE_PROGRESS_EVERY_US < wake)
            wake = last_progress + SSE_PROGRESS_EVERY_US;
        st = job_wait(api->job, id, version, wake > now ? (wake - now + 999) / 1000 : 0, &p);
        if (st == JOB_NONE) break;
        version = p.version;
        if (sent_modes < p.nresults) {
            if (sse_results(c, api, id, &sent_modes, p.nresults)) return 200;
            last_write = clock_us();
        }
        if (sse_fingerprint(&p) != shown) pending = true;
        now = clock_us();
        if (pending && now - last_progress >= SSE_PROGRESS_EVERY_US) {
            if (sse_progress(c, &p)) return 200;
            shown = sse_fingerprint(&p);
            pending = false;
            last_progress = last_write = now;
        }
        if (now - last_write >= SSE_PING_EVERY_US) {
            if (mg_write(c, ": ping\n\n", 8) != 8) return 200;
            last_write = now;
        }
    }
    sse_finish(c, api, id, sent_modes);
    return 200;
}

int http_stream_events(struct mg_connection *c, struct http_api *api, const char *id)
{
    struct job_progress p;
    enum job_state st = job_get(api->job, id, &p);
    if (st == JOB_NONE) {
        char status[32], err[256];
        int rc = store_run_status(api->st, id, status, sizeof status, err, sizeof err);
        if (rc == STORE_NOT_FOUND) return http_reply_error(c, 404, "no run with id '%s'", id);
        if (rc < 0) return http_reply_error(c, 500, "store: %s", err);
    }
    /* Each stream holds one of the server's threads until its run ends: keep some for the API. */
    if (__atomic_add_fetch(&api->sse_open, 1, __ATOMIC_SEQ_CST) > api->sse_max) {
        __atomic_sub_fetch(&api->sse_open, 1, __ATOMIC_SEQ_CST);
        return http_reply_error(c, 503, "too many event streams are open (%d); poll "
                                "GET /api/runs/%s instead", api->sse_max, id);
    }
    int rc = sse_stream(c, api, id, st, &p);
    __atomic_sub_fetch(&api->sse_open, 1, __ATOMIC_SEQ_CST);
    return rc;
}

/* A buffer in front of mg_send_chunk, so that rows go out in large chunks. */
struct http_export {
    struct mg_connection *c;
    char *buf;
    size_t len, cap;
    bool failed;
    bool first; /* no row written yet in the current JSON array */
    struct mode_names names; /* the run's clients */
};

static void export_flush(struct http_export *x)
{
    if (x->len && !x->failed && mg_send_chunk(x->c, x->buf, (unsigned)x->len) < 0)
        x->failed = true;
    x->len = 0;
}

static void export_put(struct http_export *x, const char *s, size_t n)
{
    if (x->len + n > x->cap) export_flush(x);
    if (n > x->cap) {
        if (!x->failed && mg_send_chunk(x->c, s, (unsigned)n) < 0) x->failed = true;
        return;
    }
    memcpy(x->buf + x->len, s, n);
    x->len += n;
}

static void export_puts(struct http_export *x, const char *s)
{
    export_put(x, s, strlen(s));
}

/* Opens a connection of the export's own, so that a long export does not hold the handlers'
 * connection; answers 404/500 itself and returns non-zero when it cannot go on. */
static int export_open(struct mg_connection *c, struct http_api *api, const char *id,
                       struct store **st, cJSON **run)
{
    char err[256];
    if (store_open(api->db_path, st, err, sizeof err))
        return http_reply_error(c, 500, "store: %s", err);
    int rc = run_json_get(api, *st, id, run, err, sizeof err);
    if (rc) {
        store_close(*st);
        return rc == STORE_NOT_FOUND ? http_reply_error(c, 404, "no run with id '%s'", id)
                                     : http_reply_error(c, 500, "store: %s", err);
    }
    return 0;
}

static int export_begin(struct http_export *x, struct mg_connection *c, const char *id,
                        const char *ctype, const char *ext)
{
    char extra[160];
    snprintf(extra, sizeof extra,
             "Content-Disposition: attachment; filename=\"conlab-%s.%s\"\r\n", id, ext);
    x->c = c;
    x->cap = 64 * 1024;
    x->len = 0;
    x->buf = malloc(x->cap);
    x->failed = x->buf == NULL;
    if (x->failed) return http_reply_error(c, 500, "out of memory");
    if (http_chunked_begin(c, 200, ctype, extra)) x->failed = true;
    return 0;
}

static int export_end(struct http_export *x)
{
    export_flush(x);
    /* Cut short: closing the connection tells the client the download is incomplete. */
    if (x->failed) mg_disable_connection_keep_alive(x->c);
    else http_chunked_end(x->c);
    free(x->buf);
    return 200;
}

static int export_json_row(void *ctx, int mode, int64_t concurrency, const struct bench_record *r,
                           const char *error)
{
    (void)mode;
    struct http_export *x = ctx;
    cJSON *o = record_to_json(r, error);
    if (o) cJSON_AddNumberToObject(o, "concurrency", (double)concurrency);
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) return 1;
    if (!x->first) export_put(x, ",", 1);
    x->first = false;
    export_puts(x, text);
    free(text);
    return x->failed;
}

int http_stream_export_json(struct mg_connection *c, struct http_api *api, const char *id)
{
    struct store *st;
    cJSON *run;
    int rc = export_open(c, api, id, &st, &run);
    if (rc) return rc;
    struct http_export x;
    char *text = cJSON_PrintUnformatted(run);
    if (!text || export_begin(&x, c, id, "application/json", "json")) {
        if (!text) http_reply_error(c, 500, "out of memory");
        free(text);
        cJSON_Delete(run);
        store_close(st);
        return 500;
    }
    export_puts(&x, "{\"run\":");
    export_puts(&x, text);
    export_puts(&x, ",\"requests\":{");
    free(text);
    /* Every mode of the spec gets its array, empty when it never ran. */
    cJSON *modes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(run, "spec"),
                                                    "modes");
    cJSON *m;
    bool first_mode = true;
    char err[256];
    mode_names_from_json(cJSON_GetObjectItemCaseSensitive(run, "spec"), &x.names);
    cJSON_ArrayForEach(m, modes)
    {
        int mode = cJSON_IsString(m) ? mode_names_find(&x.names, m->valuestring) : -1;
        if (mode < 0 || x.failed) continue;
        char head[64];
        snprintf(head, sizeof head, "%s\"%s\":[", first_mode ? "" : ",", mode_names_get(&x.names, mode));
        export_puts(&x, head);
        first_mode = false;
        x.first = true;
        if (store_each_request(st, id, mode, export_json_row, &x, err, sizeof err) < 0)
            x.failed = true; /* the reply is cut short: the client sees a truncated download */
        export_put(&x, "]", 1);
    }
    export_puts(&x, "}}\n");
    cJSON_Delete(run);
    store_close(st);
    return export_end(&x);
}

static int export_csv_row(void *ctx, int mode, int64_t concurrency, const struct bench_record *r,
                          const char *error)
{
    struct http_export *x = ctx;
    char line[RECORD_CSV_MAX];
    const char *name = mode_names_get(&x->names, mode);
    size_t n = record_to_csv(name ? name : "unknown", concurrency, r, error, line);
    export_put(x, line, n);
    return x->failed;
}

int http_stream_export_csv(struct mg_connection *c, struct http_api *api, const char *id)
{
    struct store *st;
    cJSON *run;
    int rc = export_open(c, api, id, &st, &run);
    if (rc) return rc;
    struct http_export x;
    mode_names_from_json(cJSON_GetObjectItemCaseSensitive(run, "spec"), &x.names);
    cJSON_Delete(run);
    if (export_begin(&x, c, id, "text/csv; charset=utf-8", "csv")) {
        store_close(st);
        return 500;
    }
    export_puts(&x, RECORD_CSV_HEADER);
    char err[256];
    if (!x.failed && store_each_request(st, id, -1, export_csv_row, &x, err, sizeof err) < 0)
        x.failed = true;
    store_close(st);
    return export_end(&x);
}
