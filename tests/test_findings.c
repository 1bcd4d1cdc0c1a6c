/* Findings against hand-computed values: the ideal time, Little's law, the knee of a sweep, the
 * CPU cost and the errors, and that each appears only when the numbers support it. The inputs
 * are written as the contract's JSON (a spec without its target, RESULTs) and enter as C data
 * through the parsers of the store boundary (spec_from_json, result_from_json); the findings
 * leave through findings_to_json, as they do in the API and --json. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "findings.h"
#include "result_json.h"
#include "spec.h"

/* findings_to_json(findings_compute(spec, results)) with both read as C data first. */
static cJSON *compute(const cJSON *spec_json, const cJSON *results)
{
    cJSON *sj = cJSON_Duplicate(spec_json, 1);
    cJSON *t = cJSON_AddObjectToObject(sj, "target");
    cJSON_AddStringToObject(t, "url", "http://x/");
    struct spec_limits lim;
    spec_limits_default(&lim);
    struct spec s;
    char err[256];
    int rc = spec_from_json(sj, &lim, &s, err, sizeof err);
    cJSON_Delete(sj);
    if (rc) {
        fprintf(stderr, "spec refused: %s\n", err);
        CHECK(0);
        return cJSON_CreateArray();
    }
    struct mode_result rs[64];
    size_t n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, results)
    {
        CHECK(n < 64 && result_from_json(r, &rs[n], err, sizeof err) == 0);
        n++;
    }
    static struct findings f;
    findings_compute(&s, rs, n, &f);
    spec_free(&s);
    return findings_to_json(&f);
}

/* A RESULT as result_to_json shapes it, with the fields the findings read. */
static cJSON *result(const char *mode, int conc, int requests, int ok, double wall_ms,
                     double mean_ms, double p50_ms, double cpu_ms, int lanes)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"mode\":\"%s\",\"concurrency\":%d,\"requests\":%d,\"ok\":%d,\"errors\":%d,"
             "\"wall_ms\":%.3f,\"rps\":%.6f,\"latency_ms\":{\"min\":%.3f,\"mean\":%.3f,\"p50\":%.3f,"
             "\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},\"cpu_ms\":{\"user\":%.3f,\"sys\":0},"
             "\"peak_rss_kb\":1000,\"errors_by_kind\":{},\"top_error\":null,\"bytes\":0,"
             "\"lanes\":%d,\"cancelled\":false}",
             mode, conc, requests, ok, requests - ok, wall_ms, requests / (wall_ms / 1000.0),
             mean_ms, mean_ms, p50_ms, p50_ms, p50_ms, p50_ms, cpu_ms, lanes);
    cJSON *r = cJSON_Parse(text);
    if (!r) fprintf(stderr, "bad result JSON: %s\n", text);
    return r;
}

/* [a, b] */
static cJSON *pair(cJSON *a, cJSON *b)
{
    cJSON *rs = cJSON_CreateArray();
    cJSON_AddItemToArray(rs, a);
    cJSON_AddItemToArray(rs, b);
    return rs;
}

static cJSON *spec(const char *extra)
{
    char text[512];
    snprintf(text, sizeof text, "{\"requests\":9,\"concurrency\":3,\"rate\":0,\"work_us\":0%s}", extra);
    return cJSON_Parse(text);
}

/* The first finding of a kind (and mode, unless NULL); NULL when absent. */
static const cJSON *find(const cJSON *fs, const char *kind, const char *mode)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, fs)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(f, "kind");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(f, "mode");
        if (strcmp(k->valuestring, kind)) continue;
        if (mode && (!cJSON_IsString(m) || strcmp(m->valuestring, mode))) continue;
        return f;
    }
    return NULL;
}

static int count(const cJSON *fs, const char *kind)
{
    int n = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, fs)
    n += !strcmp(cJSON_GetObjectItemCaseSensitive(f, "kind")->valuestring, kind);
    return n;
}

static double val(const cJSON *f, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(f, "values"), key);
    return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static int text_has(const cJSON *f, const char *needle)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f, "text");
    if (cJSON_IsString(t) && strstr(t->valuestring, needle)) return 1;
    fprintf(stderr, "text '%s' lacks '%s'\n", cJSON_IsString(t) ? t->valuestring : "?", needle);
    return 0;
}

/* The talk's nine requests through three workers of 1000 ms. */
static void ideal_time(void)
{
    cJSON *s = spec(",\"expect\":{\"delay_ms\":1000,\"workers\":3}");
    cJSON *rs = pair(result("sync", 3, 9, 9, 9009, 1001, 1001, 2, 1),
                     result("threads", 3, 9, 9, 3002, 1000.5, 1000.4, 2, 3));
    cJSON *fs = compute(s, rs);
    const cJSON *sync = find(fs, "ideal", "sync"), *threads = find(fs, "ideal", "threads");
    CHECK(sync && threads);
    /* sync: 9 × 1000 = 9000 ms; 9009 / 9000 = 1.001; a concurrent client: ⌈9/3⌉ × 1000 = 3000. */
    CHECK_NEAR(val(sync, "ideal_ms"), 9000, 1e-9);
    CHECK_NEAR(val(sync, "ratio"), 1.001, 1e-9);
    CHECK_NEAR(val(sync, "concurrent_ideal_ms"), 3000, 1e-9);
    CHECK_NEAR(val(sync, "vs_concurrent_ideal"), 3.003, 1e-9);
    /* With the digits that tell a millisecond in a second: the ratio and the time over. */
    CHECK(text_has(sync, "sync took 9009.0 ms, 1.001× the ideal of 9000.0 ms (+9.0 ms over"));
    CHECK(text_has(sync, "3.003× the ideal of a client with 3 requests in flight (3000.0 ms)"));
    /* threads: ⌈9 / min(3, 3)⌉ × 1000 = 3000; 3002 / 3000 = 1.000667 → 1.001. */
    CHECK_NEAR(val(threads, "ideal_ms"), 3000, 1e-9);
    CHECK_NEAR(val(threads, "ratio"), 1.001, 1e-9);
    CHECK(text_has(threads, "⌈9 / min(3, 3)⌉ × 1000 ms"));
    /* 9 requests over 3 lanes is no steady state for Little's law; 9 requests are too few for
     * a cost per 1,000. */
    CHECK(count(fs, "little") == 0 && count(fs, "cost") == 0 && count(fs, "knee") == 0);
    cJSON_Delete(fs);

    /* No model, no ideal. */
    cJSON_DeleteItemFromObject(s, "expect");
    fs = compute(s, rs);
    CHECK(count(fs, "ideal") == 0);
    cJSON_Delete(fs);

    /* With a rate the last request is not due before (N - 1) / rate: 8 / 5 s + 100 ms. */
    cJSON_Delete(s);
    s = cJSON_Parse("{\"requests\":9,\"concurrency\":3,\"rate\":5,\"expect\":{\"delay_ms\":100,\"workers\":3}}");
    fs = compute(s, rs);
    CHECK_NEAR(val(find(fs, "ideal", "threads"), "ideal_ms"), 1700, 1e-9);
    cJSON_Delete(fs);
    cJSON_Delete(rs);
    cJSON_Delete(s);
}

static void little_and_cost(void)
{
    cJSON *s = cJSON_Parse("{\"requests\":100,\"concurrency\":10,\"rate\":0}");
    /* threads: 100 ok in 1 s at 20 ms each: 100 req/s × 0.020 s = 2.0 of 10 in flight.
     * async: 100 in 0.2 s: 500 req/s × 0.020 s = 10 of 10: the server was the limit. */
    cJSON *rs = pair(result("threads", 10, 100, 100, 1000, 20, 20, 40, 10),
                     result("async", 10, 100, 100, 200, 20, 20, 20, 10));
    cJSON *fs = compute(s, rs);
    const cJSON *l = find(fs, "little", "threads");
    CHECK(l && !find(fs, "little", "async"));
    CHECK_NEAR(val(l, "in_flight"), 2.0, 1e-9);
    CHECK_NEAR(val(l, "share"), 0.2, 1e-9);
    CHECK_NEAR(val(l, "rps_ok"), 100, 1e-9);
    CHECK(text_has(l, "threads kept 2.0 of 10 requests in flight"));
    /* CPU per 1,000 requests: threads 40 ms / 100 → 400 ms, async 200 ms: 2.00× the cheapest. */
    const cJSON *ct = find(fs, "cost", "threads"), *ca = find(fs, "cost", "async");
    CHECK(ct && ca);
    CHECK_NEAR(val(ct, "cpu_ms_per_1000"), 400, 1e-9);
    CHECK_NEAR(val(ct, "ratio"), 2.0, 1e-9);
    CHECK_NEAR(val(ca, "ratio"), 1.0, 1e-9);
    CHECK(text_has(ct, "2.00× async's 200 ms"));
    CHECK(text_has(ca, "the cheapest of 2 modes"));
    cJSON_Delete(fs);
    /* A rate paces the client on purpose: Little's law says nothing then. */
    cJSON_ReplaceItemInObject(s, "rate", cJSON_CreateNumber(50));
    fs = compute(s, rs);
    CHECK(count(fs, "little") == 0);
    cJSON_Delete(fs);
    cJSON_Delete(rs);
    cJSON_Delete(s);
}

/* A sweep over levels with the given req/s (p50 100 ms, then 200 ms at the last level). */
static cJSON *sweep_results(const char *mode, const int *levels, const double *rps, int n)
{
    cJSON *rs = cJSON_CreateArray();
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(rs, result(mode, levels[i], 30, 30, 30 / rps[i] * 1000, 100,
                                        i == n - 1 ? 200 : 100, 5, levels[i]));
    return rs;
}

/* The knee's level for a sweep over `levels` with the given req/s (0 when there is none); a
 * failed request is added at level index error_at when it is >= 0. */
static int knee_at(const char *levels, const double *rps, int n, int error_at)
{
    char text[128];
    snprintf(text, sizeof text, "{\"requests\":30,\"concurrency\":%s,\"rate\":0}", levels);
    cJSON *s = cJSON_Parse(text);
    const int lv[] = {1, 2, 3, 4, 6, 8};
    cJSON *rs = sweep_results("async", lv, rps, n);
    if (error_at >= 0) {
        cJSON *r = cJSON_GetArrayItem(rs, error_at);
        cJSON_ReplaceItemInObject(r, "errors", cJSON_CreateNumber(1));
        cJSON_ReplaceItemInObject(r, "ok", cJSON_CreateNumber(29));
    }
    cJSON *fs = compute(s, rs);
    const cJSON *k = find(fs, "knee", "async");
    int level = k ? (int)val(k, "concurrency") : 0;
    if (k) {
        CHECK(count(fs, "knee") == 1);
        char c[32];
        snprintf(c, sizeof c, "C=%d", level);
        CHECK(text_has(k, c));
    }
    cJSON_Delete(fs);
    cJSON_Delete(rs);
    cJSON_Delete(s);
    return level;
}

static void knee(void)
{
    const char *six = "[1,2,3,4,6,8]";
    /* 30 req/s at C=3, at most 31 beyond (< 33): the knee is 3; 20 at C=2 grows to 30 (> 22). */
    const double saturates[] = {10, 20, 30, 31, 30, 29};
    CHECK(knee_at(six, saturates, 6, -1) == 3);
    cJSON *s = cJSON_Parse("{\"requests\":30,\"concurrency\":[1,2,3,4,6,8],\"rate\":0}");
    const int lv[] = {1, 2, 3, 4, 6, 8};
    cJSON *rs = sweep_results("async", lv, saturates, 6);
    cJSON *fs = compute(s, rs);
    const cJSON *k = find(fs, "knee", "async");
    CHECK_NEAR(val(k, "rps"), 30, 1e-3);
    CHECK_NEAR(val(k, "rps_beyond_max"), 31, 1e-3);
    CHECK_NEAR(val(k, "p50_ms"), 100, 1e-9);
    CHECK_NEAR(val(k, "top_p50_ms"), 200, 1e-9);
    CHECK(text_has(k, "saturates at 3 concurrent") && text_has(k, "adds queueing"));
    cJSON_Delete(fs);
    /* Its times read as the page writes them (fmtMs): 1000.3 ms, not 1.00 s. */
    cJSON *p50 = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(rs, 2), "latency_ms"),
                                     "p50");
    cJSON_SetNumberValue(p50, 1000.3);
    fs = compute(s, rs);
    k = find(fs, "knee", "async");
    CHECK(k && text_has(k, "p50 1000.3 ms at C=3") && text_has(k, "200 ms at C=8"));
    cJSON_Delete(fs);
    cJSON_Delete(rs);
    cJSON_Delete(s);

    /* The ideal of a sweep: the worst level and the range of ratios; equal ratios said once. */
    s = cJSON_Parse("{\"requests\":30,\"concurrency\":[1,2,3],\"rate\":0,"
                    "\"expect\":{\"delay_ms\":100,\"workers\":3}}");
    const double exact[] = {10, 20, 30}; /* 30 requests: 3000, 1500, 1000 ms, each its ideal */
    rs = sweep_results("async", lv, exact, 3);
    fs = compute(s, rs);
    k = find(fs, "ideal", "async");
    CHECK(k && text_has(k, "1.000× the ideal at each of 3 levels"));
    CHECK_NEAR(val(k, "ratio"), 1, 1e-9);
    cJSON_Delete(fs);
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(rs, 1), "wall_ms", cJSON_CreateNumber(1650));
    fs = compute(s, rs);
    k = find(fs, "ideal", "async");
    /* C=2: 1650 ms against ⌈30 / 2⌉ × 100 ms = 1500 ms: 1.10×, the worst */
    CHECK(k && text_has(k, "1.000–1.100× the ideal over 3 levels (the worst at C=2: 1650.0 ms "
                           "against ⌈30 / min(2, 3)⌉ × 100 ms = 1500.0 ms, +150.0 ms)"));
    CHECK(val(k, "concurrency") == 2 && val(k, "ideal_ms") == 1500);
    cJSON_Delete(fs);
    cJSON_Delete(rs);
    cJSON_Delete(s);

    /* Exactly +10 % beyond is growth: the knee moves on to 4. */
    const double edge[] = {10, 20, 30, 33, 33, 32};
    CHECK(knee_at(six, edge, 6, -1) == 4);
    /* Flat (nothing grew), still growing, too short, errors at one level: no knee. */
    const double flat[] = {10, 10.5, 10.2, 10, 10.4, 10.1};
    const double growing[] = {10, 20, 30, 40, 60, 80};
    CHECK(knee_at(six, flat, 6, -1) == 0);
    CHECK(knee_at(six, growing, 6, -1) == 0);
    CHECK(knee_at("[1,2]", saturates, 2, -1) == 0);
    CHECK(knee_at(six, saturates, 6, 2) == 0);
}

static void errors(void)
{
    cJSON *s = cJSON_Parse("{\"requests\":10,\"concurrency\":[1,2],\"rate\":0}");
    cJSON *rs = cJSON_Parse(
        "[{\"mode\":\"threads\",\"concurrency\":1,\"requests\":10,\"ok\":7,\"errors\":3,\"wall_ms\":10,"
        "\"rps\":1000,\"latency_ms\":null,\"cpu_ms\":{\"user\":1,\"sys\":0},\"lanes\":1,"
        "\"errors_by_kind\":{\"connect\":2,\"timeout\":1},"
        "\"top_error\":{\"kind\":\"connect\",\"message\":\"Couldn't connect to server\",\"count\":2}},"
        "{\"mode\":\"threads\",\"concurrency\":2,\"requests\":10,\"ok\":3,\"errors\":7,\"wall_ms\":10,"
        "\"rps\":1000,\"latency_ms\":null,\"cpu_ms\":{\"user\":1,\"sys\":0},\"lanes\":2,"
        "\"errors_by_kind\":{\"connect\":2,\"cancelled\":5},\"cancelled\":true,"
        "\"top_error\":{\"kind\":\"connect\",\"message\":\"Couldn't connect to server\",\"count\":2}},"
        "{\"mode\":\"async\",\"concurrency\":1,\"requests\":10,\"ok\":5,\"errors\":5,\"wall_ms\":10,"
        "\"rps\":1000,\"latency_ms\":null,\"cpu_ms\":{\"user\":1,\"sys\":0},\"lanes\":1,"
        "\"errors_by_kind\":{\"cancelled\":5},\"cancelled\":true,"
        "\"top_error\":{\"kind\":\"cancelled\",\"message\":\"cancelled before it started\",\"count\":5}}]");
    cJSON *fs = compute(s, rs);
    const cJSON *e = find(fs, "errors", "threads");
    CHECK(e != NULL);
    /* 2 + 1 + 2 failed of 20 (the 5 cancelled aside): 25 %; connect 4 (80 %), timeout 1. */
    CHECK(val(e, "errors") == 5 && val(e, "requests") == 20);
    CHECK_NEAR(val(e, "share"), 0.25, 1e-9);
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "values"), "by_kind");
    CHECK(cJSON_GetObjectItemCaseSensitive(kinds, "connect")->valueint == 4);
    CHECK(cJSON_GetObjectItemCaseSensitive(kinds, "timeout")->valueint == 1);
    CHECK(!cJSON_HasObjectItem(kinds, "cancelled"));
    CHECK(val(e, "message_count") == 4);
    CHECK(text_has(e, "5 of 20 requests failed (25.0 %)") && text_has(e, "connect 80 %") &&
          text_has(e, "\"Couldn't connect to server\" (4)"));
    /* Only cancelled: no errors finding (a cancel is not the target failing). */
    CHECK(find(fs, "errors", "async") == NULL);
    cJSON_Delete(fs);
    cJSON_Delete(rs);
    cJSON_Delete(s);
}

int main(void)
{
    ideal_time();
    little_and_cost();
    knee();
    errors();
    /* Nothing to say about nothing. */
    cJSON *s = spec(""), *rs = cJSON_CreateArray();
    cJSON *fs = compute(s, rs);
    CHECK(fs && cJSON_GetArraySize(fs) == 0);
    cJSON_Delete(fs);
    cJSON_Delete(rs);
    cJSON_Delete(s);
    return check_done("test_findings");
}
