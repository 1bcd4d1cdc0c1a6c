#include "result_json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include "spec.h"

static const char *const error_names[REQ_ERR_COUNT] = {
    "ok", "connect", "timeout", "reset", "status", "other", "cancelled", "worker"};

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

/* Rounds to 3 decimals so that JSON stays readable (µs resolution for ms values). */
static double r3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

cJSON *result_to_json(const struct mode_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "mode", mode_name(r->mode) ? mode_name(r->mode) : "unknown");
    cJSON_AddNumberToObject(o, "requests", (double)r->requests);
    cJSON_AddNumberToObject(o, "ok", (double)r->ok);
    cJSON_AddNumberToObject(o, "errors", (double)r->errors);
    cJSON_AddNumberToObject(o, "wall_ms", r3(r->wall_ms));
    cJSON_AddNumberToObject(o, "rps", r3(r->rps));
    if (r->has_latency) {
        cJSON *l = cJSON_AddObjectToObject(o, "latency_ms");
        cJSON_AddNumberToObject(l, "min", r3(r->latency_ms.min));
        cJSON_AddNumberToObject(l, "mean", r3(r->latency_ms.mean));
        cJSON_AddNumberToObject(l, "p50", r3(r->latency_ms.p50));
        cJSON_AddNumberToObject(l, "p90", r3(r->latency_ms.p90));
        cJSON_AddNumberToObject(l, "p99", r3(r->latency_ms.p99));
        cJSON_AddNumberToObject(l, "max", r3(r->latency_ms.max));
    } else {
        cJSON_AddNullToObject(o, "latency_ms");
    }
    cJSON *c = cJSON_AddObjectToObject(o, "cpu_ms");
    cJSON_AddNumberToObject(c, "user", r3(r->cpu_user_ms));
    cJSON_AddNumberToObject(c, "sys", r3(r->cpu_sys_ms));
    cJSON_AddNumberToObject(o, "peak_rss_kb", (double)r->peak_rss_kb);
    cJSON *k = cJSON_AddObjectToObject(o, "errors_by_kind");
    for (int i = 1; i < REQ_ERR_COUNT; i++)
        if (r->errors_by_kind[i]) cJSON_AddNumberToObject(k, error_names[i], (double)r->errors_by_kind[i]);
    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
    cJSON_AddNumberToObject(o, "lanes", (double)r->lanes);
    cJSON_AddBoolToObject(o, "cancelled", r->cancelled != 0);
    return o;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

int result_from_json(const cJSON *j, struct mode_result *r)
{
    memset(r, 0, sizeof *r);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "mode");
    if (!cJSON_IsString(m) || mode_from_name(m->valuestring) < 0) return -1;
    r->mode = mode_from_name(m->valuestring);
    r->requests = (int64_t)num(j, "requests");
    r->ok = (int64_t)num(j, "ok");
    r->errors = (int64_t)num(j, "errors");
    r->wall_ms = num(j, "wall_ms");
    r->rps = num(j, "rps");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(j, "latency_ms");
    if (cJSON_IsObject(l)) {
        r->has_latency = 1;
        r->latency_ms = (struct latency_summary){num(l, "min"), num(l, "mean"), num(l, "p50"),
                                                 num(l, "p90"), num(l, "p99"), num(l, "max")};
    }
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "cpu_ms");
    r->cpu_user_ms = num(c, "user");
    r->cpu_sys_ms = num(c, "sys");
    r->peak_rss_kb = (int64_t)num(j, "peak_rss_kb");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "errors_by_kind");
    for (int i = 1; i < REQ_ERR_COUNT; i++) r->errors_by_kind[i] = (int64_t)num(k, error_names[i]);
    r->bytes = (int64_t)num(j, "bytes");
    r->lanes = (int64_t)num(j, "lanes");
    r->cancelled = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "cancelled"));
    return 0;
}

static void add_time(cJSON *o, const char *key, int64_t us)
{
    if (us < 0) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, (double)us);
}

cJSON *record_to_json(const struct bench_record *r)
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
        cJSON_AddStringToObject(o, "error", r->error[0] ? r->error : req_error_name(r->err_kind));
        cJSON_AddStringToObject(o, "error_kind", req_error_name(r->err_kind));
    }
    return o;
}
