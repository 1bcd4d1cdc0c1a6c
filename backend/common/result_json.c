#include "result_json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "spec.h"
#include "util.h"

static const char *const error_names[REQ_ERR_COUNT] = {
    "ok", "connect", "timeout", "reset", "status", "other", "cancelled", "worker", "tls"};

static const char *const http_version_names[4] = {"1.0", "1.1", "2", "3"};

int record_http_version_slot(int v)
{
    return v == 10 ? 0 : v == 11 ? 1 : v == 20 ? 2 : v == 30 ? 3 : -1;
}

const char *record_http_version_name(int v)
{
    int i = record_http_version_slot(v);
    return i < 0 ? NULL : http_version_names[i];
}

const char *req_error_name(enum req_error e)
{
    return (e >= 0 && e < REQ_ERR_COUNT) ? error_names[e] : "other";
}

int req_error_from_name(const char *name)
{
    for (int i = 0; i < REQ_ERR_COUNT; i++)
        if (name && !strcmp(name, error_names[i])) return i;
    return -1;
}

const char *record_msg(const struct bench_record *r, const struct record_msgs *msgs)
{
    if (!msgs || r->msg < 0 || r->msg >= msgs->n || !msgs->text[r->msg]) return "";
    return msgs->text[r->msg];
}

/* A latency_summary as {"min", "mean", "p50", "p90", "p99", "max"}, or null. */
static void add_latency(cJSON *o, const char *key, int has, const struct latency_summary *s)
{
    if (!has) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    cJSON *l = cJSON_AddObjectToObject(o, key);
    cJSON_AddNumberToObject(l, "min", round3(s->min));
    cJSON_AddNumberToObject(l, "mean", round3(s->mean));
    cJSON_AddNumberToObject(l, "p50", round3(s->p50));
    cJSON_AddNumberToObject(l, "p90", round3(s->p90));
    cJSON_AddNumberToObject(l, "p99", round3(s->p99));
    cJSON_AddNumberToObject(l, "max", round3(s->max));
}

const char *result_mode_name(const struct mode_result *r)
{
    const char *name = r->client.is_client ? r->client.name : mode_name(r->mode);
    return name ? name : "unknown";
}

/* A client's additions to its RESULT. */
static void client_info_to_json(cJSON *o, const struct client_info *c)
{
    cJSON_AddBoolToObject(o, "client", 1);
    cJSON_AddNumberToObject(o, "startup_ms", round3(c->startup_ms));
    cJSON_AddNumberToObject(o, "startup_cpu_ms", round3(c->startup_cpu_ms));
    cJSON_AddStringToObject(o, "hello", c->hello);
    if (c->failed) {
        cJSON_AddStringToObject(o, "error", c->failure);
        cJSON_AddStringToObject(o, "stderr", c->stderr_tail);
    }
}

cJSON *result_to_json(const struct mode_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "mode", result_mode_name(r));
    cJSON_AddNumberToObject(o, "concurrency", (double)r->concurrency);
    cJSON_AddNumberToObject(o, "requests", (double)r->requests);
    cJSON_AddNumberToObject(o, "ok", (double)r->ok);
    cJSON_AddNumberToObject(o, "errors", (double)r->errors);
    cJSON_AddNumberToObject(o, "wall_ms", round3(r->wall_ms));
    cJSON_AddNumberToObject(o, "rps", round3(r->rps));
    cJSON_AddNumberToObject(o, "attempts_per_s", round3(r->attempts_per_s));
    add_latency(o, "latency_ms", r->has_latency, &r->latency_ms);
    add_latency(o, "latency_all_ms", r->has_latency_all, &r->latency_all_ms);
    add_latency(o, "latency_from_due_ms", r->has_latency_from_due, &r->latency_from_due_ms);
    cJSON *c = cJSON_AddObjectToObject(o, "cpu_ms");
    cJSON_AddNumberToObject(c, "user", round3(r->cpu_user_ms));
    cJSON_AddNumberToObject(c, "sys", round3(r->cpu_sys_ms));
    cJSON_AddNumberToObject(o, "peak_rss_kb", (double)r->peak_rss_kb);
    if (r->mode == MODE_PROCESSES) cJSON_AddNumberToObject(o, "workers_rss_kb", (double)r->workers_rss_kb);
    cJSON *k = cJSON_AddObjectToObject(o, "errors_by_kind");
    for (int i = 1; i < REQ_ERR_COUNT; i++)
        if (r->errors_by_kind[i]) cJSON_AddNumberToObject(k, error_names[i], (double)r->errors_by_kind[i]);
    if (r->top_error_count > 0) {
        cJSON *t = cJSON_AddObjectToObject(o, "top_error");
        cJSON_AddStringToObject(t, "kind", req_error_name(r->top_error_kind));
        cJSON_AddStringToObject(t, "message", r->top_error);
        cJSON_AddNumberToObject(t, "count", (double)r->top_error_count);
    } else {
        cJSON_AddNullToObject(o, "top_error");
    }
    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
    cJSON_AddNumberToObject(o, "lanes", (double)r->lanes);
    cJSON_AddBoolToObject(o, "cancelled", r->cancelled != 0);
    cJSON_AddNumberToObject(o, "connections", (double)r->connections);
    cJSON_AddNumberToObject(o, "tls_ms", round3(r->tls_ms));
    cJSON_AddNumberToObject(o, "busy_ms", round3(r->busy_ms));
    cJSON *v = cJSON_AddObjectToObject(o, "http_versions");
    for (int i = 0; i < 4; i++)
        if (r->http_versions[i])
            cJSON_AddNumberToObject(v, http_version_names[i], (double)r->http_versions[i]);
    if (r->client.is_client) client_info_to_json(o, &r->client);
    return o;
}

static double get_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int64_t get_int(const cJSON *o, const char *key)
{
    return (int64_t)get_num(o, key);
}

/* A latency object into s; returns 1 when present, 0 for null or missing. */
static int32_t get_latency(const cJSON *o, const char *key, struct latency_summary *s)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsObject(l)) return 0;
    *s = (struct latency_summary){get_num(l, "min"), get_num(l, "mean"), get_num(l, "p50"),
                                  get_num(l, "p90"), get_num(l, "p99"), get_num(l, "max")};
    return 1;
}

/* A client's RESULT additions back from JSON (the reverse of client_info_to_json). */
static int client_info_from_json(const cJSON *j, const char *name, struct client_info *c)
{
    char why[128];
    if (client_name_check(name, why, sizeof why)) return -1;
    c->is_client = 1;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->startup_ms = get_num(j, "startup_ms");
    c->startup_cpu_ms = get_num(j, "startup_cpu_ms");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "hello");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "stderr");
    if (cJSON_IsString(h)) snprintf(c->hello, sizeof c->hello, "%s", h->valuestring);
    if (cJSON_IsString(e)) {
        c->failed = 1;
        snprintf(c->failure, sizeof c->failure, "%s", e->valuestring);
    }
    if (cJSON_IsString(t)) snprintf(c->stderr_tail, sizeof c->stderr_tail, "%s", t->valuestring);
    return 0;
}

int result_from_json(const cJSON *j, struct mode_result *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(j)) return errf(err, errlen, "RESULT: not an object");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "mode");
    int mode = cJSON_IsString(m) ? mode_from_name(m->valuestring) : -1;
    if (mode < 0 && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "client"))) {
        if (client_info_from_json(j, m->valuestring, &out->client))
            return errf(err, errlen, "RESULT: mode: not a client's name");
        mode = MODE_CLIENT_BASE; /* its number is its run's business: the caller sets it */
    }
    if (mode < 0) return errf(err, errlen, "RESULT: mode: not a known mode");
    out->mode = mode;
    out->concurrency = get_int(j, "concurrency");
    out->requests = get_int(j, "requests");
    out->ok = get_int(j, "ok");
    out->errors = get_int(j, "errors");
    out->wall_ms = get_num(j, "wall_ms");
    out->rps = get_num(j, "rps");
    if (cJSON_HasObjectItem(j, "attempts_per_s")) {
        out->attempts_per_s = get_num(j, "attempts_per_s");
    } else { /* stored before rps counted only ok requests */
        out->attempts_per_s = out->rps;
        out->rps = out->wall_ms > 0 ? round3((double)out->ok / (out->wall_ms / 1000.0)) : 0;
    }
    out->has_latency = get_latency(j, "latency_ms", &out->latency_ms);
    out->has_latency_all = get_latency(j, "latency_all_ms", &out->latency_all_ms);
    if (!cJSON_HasObjectItem(j, "latency_all_ms") && out->has_latency && out->errors == 0) {
        out->has_latency_all = 1;
        out->latency_all_ms = out->latency_ms;
    }
    out->has_latency_from_due =
        get_latency(j, "latency_from_due_ms", &out->latency_from_due_ms);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "cpu_ms");
    out->cpu_user_ms = get_num(c, "user");
    out->cpu_sys_ms = get_num(c, "sys");
    out->peak_rss_kb = get_int(j, "peak_rss_kb");
    out->workers_rss_kb = get_int(j, "workers_rss_kb");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "errors_by_kind");
    for (int i = 1; i < REQ_ERR_COUNT; i++)
        out->errors_by_kind[i] = get_int(k, error_names[i]);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "top_error");
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(t, "message");
    const cJSON *tk = cJSON_GetObjectItemCaseSensitive(t, "kind");
    if (cJSON_IsString(tm) && cJSON_IsString(tk)) {
        int kind = req_error_from_name(tk->valuestring);
        out->top_error_kind = kind > 0 ? kind : REQ_ERR_OTHER;
        out->top_error_count = get_int(t, "count");
        snprintf(out->top_error, sizeof out->top_error, "%s", tm->valuestring);
    }
    out->bytes = get_int(j, "bytes");
    out->lanes = get_int(j, "lanes");
    out->cancelled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "cancelled"));
    out->connections = get_int(j, "connections");
    out->tls_ms = get_num(j, "tls_ms");
    out->busy_ms = get_num(j, "busy_ms");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "http_versions");
    for (int i = 0; i < 4; i++)
        out->http_versions[i] = get_int(v, http_version_names[i]);
    return 0;
}

static void add_time(cJSON *o, const char *key, int64_t us)
{
    if (us < 0) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, (double)us);
}

cJSON *record_to_json(const struct bench_record *r, const char *error)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "seq", (double)r->seq);
    cJSON_AddNumberToObject(o, "lane", (double)r->lane);
    add_time(o, "sched_us", r->sched_us);
    add_time(o, "start_us", r->start_us);
    add_time(o, "connect_us", r->connect_us);
    add_time(o, "ttfb_us", r->ttfb_us);
    add_time(o, "end_us", r->end_us);
    if (r->status) cJSON_AddNumberToObject(o, "status", r->status);
    else cJSON_AddNullToObject(o, "status");
    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
    if (r->err_kind == REQ_OK) {
        cJSON_AddNullToObject(o, "error");
        cJSON_AddNullToObject(o, "error_kind");
    } else {
        cJSON_AddStringToObject(o, "error", error && *error ? error : req_error_name(r->err_kind));
        cJSON_AddStringToObject(o, "error_kind", req_error_name(r->err_kind));
    }
    add_time(o, "tls_us", r->tls_us);
    if (r->reused < 0) cJSON_AddNullToObject(o, "reused");
    else cJSON_AddBoolToObject(o, "reused", r->reused > 0);
    const char *hv = record_http_version_name(r->http_version);
    if (hv) cJSON_AddStringToObject(o, "http_version", hv);
    else cJSON_AddNullToObject(o, "http_version");
    add_time(o, "conn", r->conn);
    return o;
}

/* Appends a CSV number field: empty for null (-1). */
static size_t csv_num(char *out, int64_t v)
{
    return v < 0 ? 0 : (size_t)sprintf(out, "%lld", (long long)v);
}

size_t record_to_csv(const char *mode, int64_t concurrency, const struct bench_record *r,
                     const char *error, char *out)
{
    size_t n = (size_t)sprintf(out, "%s,%lld,%d,", mode, (long long)r->seq, r->lane);
    const int64_t times[] = {r->sched_us, r->start_us, r->connect_us, r->ttfb_us, r->end_us};
    for (int i = 0; i < 5; i++) {
        n += csv_num(out + n, times[i]);
        out[n++] = ',';
    }
    if (r->status) n += (size_t)sprintf(out + n, "%d", r->status);
    n += (size_t)sprintf(out + n, ",%lld,", (long long)r->bytes);
    if (r->err_kind != REQ_OK) {
        const char *e = error && *error ? error : req_error_name(r->err_kind);
        n += (size_t)sprintf(out + n, "%s,\"", req_error_name(r->err_kind));
        for (size_t i = 0; i < RECORD_ERROR_MAX && e[i]; i++) {
            char ch = e[i] == '\n' || e[i] == '\r' ? ' ' : e[i];
            if (ch == '"') out[n++] = '"';
            out[n++] = ch;
        }
        out[n++] = '"';
    } else {
        out[n++] = ',';
    }
    n += (size_t)sprintf(out + n, ",%lld,", (long long)concurrency);
    n += csv_num(out + n, r->tls_us);
    out[n++] = ',';
    if (r->reused >= 0) n += (size_t)sprintf(out + n, "%s", r->reused ? "true" : "false");
    const char *hv = record_http_version_name(r->http_version);
    n += (size_t)sprintf(out + n, ",%s,", hv ? hv : "");
    n += csv_num(out + n, r->conn);
    out[n++] = '\n';
    out[n] = '\0';
    return n;
}
