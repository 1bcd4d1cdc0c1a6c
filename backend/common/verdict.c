/* The thresholds' verdict from RESULTs (verdict.h). */
#include "verdict.h"

#include <cjson/cJSON.h>
#include <math.h>
#include "spec.h"

static double num(const cJSON *o, const char *key, double missing)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : missing;
}

static void add_failed(cJSON *failed, const cJSON *r, const char *name, double limit, double value)
{
    cJSON *f = cJSON_CreateObject();
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(r, "mode");
    cJSON_AddStringToObject(f, "mode", cJSON_IsString(mode) ? mode->valuestring : "unknown");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "concurrency");
    if (cJSON_IsNumber(c)) cJSON_AddNumberToObject(f, "concurrency", c->valuedouble);
    cJSON_AddStringToObject(f, "threshold", name);
    cJSON_AddNumberToObject(f, "limit", limit);
    if (isnan(value))
        cJSON_AddNullToObject(f, "value");
    else
        cJSON_AddNumberToObject(f, "value", round(value * 1e6) / 1e6);
    cJSON_AddItemToArray(failed, f);
}

cJSON *verdict_json(const struct spec_thresholds *t, const cJSON *results)
{
    if (!t || !spec_thresholds_any(t)) return cJSON_CreateNull();
    cJSON *failed = cJSON_CreateArray();
    const cJSON *r;
    cJSON_ArrayForEach(r, results)
    {
        double requests = num(r, "requests", 0), ok = num(r, "ok", 0);
        double errors = num(r, "errors", 0), wall_ms = num(r, "wall_ms", 0);
        if (!isnan(t->p99_ms)) {
            double p99 = num(cJSON_GetObjectItemCaseSensitive(r, "latency_all_ms"), "p99", NAN);
            if (isnan(p99) || p99 > t->p99_ms) add_failed(failed, r, "p99_ms", t->p99_ms, p99);
        }
        if (!isnan(t->error_rate) && requests > 0 && errors / requests > t->error_rate)
            add_failed(failed, r, "error_rate", t->error_rate, errors / requests);
        if (!isnan(t->rps_min)) {
            double rps = wall_ms > 0 ? ok * 1000.0 / wall_ms : 0;
            if (rps < t->rps_min) add_failed(failed, r, "rps_min", t->rps_min, rps);
        }
    }
    cJSON *v = cJSON_CreateObject();
    cJSON_AddBoolToObject(v, "pass", cJSON_GetArraySize(failed) == 0);
    cJSON_AddItemToObject(v, "failed", failed);
    return v;
}

bool verdict_failed(const cJSON *v)
{
    return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "pass"));
}
