/* The thresholds' verdict from results (verdict.h). */
#include "verdict.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include "util.h"

static const char *const names[VERDICT_COUNT] = {"p99_ms", "error_rate", "rps_min"};

const char *verdict_threshold_name(enum verdict_threshold t)
{
    return t >= 0 && t < VERDICT_COUNT ? names[t] : "unknown";
}

static void add_failed(struct verdict *v, const struct mode_result *r, enum verdict_threshold t,
                       double limit, double value)
{
    if (v->nfailed == VERDICT_MAX_FAILED) return;
    v->failed[v->nfailed++] = (struct verdict_failure){.mode = r->mode,
                                                       .concurrency = r->concurrency,
                                                       .threshold = t,
                                                       .limit = limit,
                                                       .value = value};
}

void verdict_compute(const struct spec *s, const struct mode_result *rs, size_t n,
                     struct verdict *out)
{
    out->nfailed = 0;
    if (s) mode_names_from_spec(s, &out->names);
    else memset(&out->names, 0, sizeof out->names);
    out->judged = s && spec_thresholds_any(&s->thresholds);
    out->pass = out->judged;
    if (!out->judged) return;
    const struct spec_thresholds *t = &s->thresholds;
    for (size_t i = 0; i < n; i++) {
        const struct mode_result *r = &rs[i];
        double requests = (double)r->requests, ok = (double)r->ok, errors = (double)r->errors;
        /* at RESULT's precision: fresh and stored results are judged alike */
        double wall_ms = round3(r->wall_ms);
        if (!isnan(t->p99_ms)) {
            double p99 = r->has_latency_all ? round3(r->latency_all_ms.p99) : NAN;
            if (isnan(p99) || p99 > t->p99_ms) add_failed(out, r, VERDICT_P99_MS, t->p99_ms, p99);
        }
        if (!isnan(t->error_rate) && requests > 0 && errors / requests > t->error_rate)
            add_failed(out, r, VERDICT_ERROR_RATE, t->error_rate, errors / requests);
        if (!isnan(t->rps_min)) {
            double rps = wall_ms > 0 ? ok * 1000.0 / wall_ms : 0;
            if (rps < t->rps_min) add_failed(out, r, VERDICT_RPS_MIN, t->rps_min, rps);
        }
    }
    out->pass = out->nfailed == 0;
}

cJSON *verdict_to_json(const struct verdict *v)
{
    if (!v->judged) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "pass", v->pass);
    cJSON *failed = cJSON_AddArrayToObject(o, "failed");
    for (int i = 0; i < v->nfailed; i++) {
        const struct verdict_failure *f = &v->failed[i];
        cJSON *x = cJSON_CreateObject();
        const char *mode = mode_names_get(&v->names, f->mode);
        cJSON_AddStringToObject(x, "mode", mode ? mode : "unknown");
        cJSON_AddNumberToObject(x, "concurrency", (double)f->concurrency);
        cJSON_AddStringToObject(x, "threshold", verdict_threshold_name(f->threshold));
        cJSON_AddNumberToObject(x, "limit", f->limit);
        if (isnan(f->value))
            cJSON_AddNullToObject(x, "value");
        else
            cJSON_AddNumberToObject(x, "value", round(f->value * 1e6) / 1e6);
        cJSON_AddItemToArray(failed, x);
    }
    return o;
}
