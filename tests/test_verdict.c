/* Thresholds: the spec's field (parsed, range-checked, printed back) and the verdict over
 * RESULTs (verdict.h): what each threshold compares, limits that pass when equal, modes without
 * an ok request, no verdict without thresholds. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "result_json.h"
#include "spec.h"
#include "verdict.h"

static cJSON *result(const char *mode, double requests, double ok, double wall_ms, double p99)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "mode", mode);
    cJSON_AddNumberToObject(r, "concurrency", 3);
    cJSON_AddNumberToObject(r, "requests", requests);
    cJSON_AddNumberToObject(r, "ok", ok);
    cJSON_AddNumberToObject(r, "errors", requests - ok);
    cJSON_AddNumberToObject(r, "wall_ms", wall_ms);
    cJSON_AddNumberToObject(r, "rps", ok * 1000.0 / wall_ms);
    cJSON_AddNumberToObject(r, "attempts_per_s", requests * 1000.0 / wall_ms);
    if (isnan(p99)) {
        cJSON_AddNullToObject(r, "latency_all_ms");
    } else {
        cJSON *l = cJSON_AddObjectToObject(r, "latency_all_ms");
        cJSON_AddNumberToObject(l, "p99", p99);
    }
    return r;
}

/* The verdict of `spec_text`'s thresholds over results. */
static cJSON *judge(const char *spec_text, cJSON *results)
{
    struct spec_limits lim;
    spec_limits_default(&lim);
    struct spec s;
    char err[256];
    if (spec_from_text(spec_text, &lim, &s, err, sizeof err)) {
        fprintf(stderr, "spec refused: %s\n", err);
        return NULL;
    }
    /* The results enter as C data, as they do from the store or the engine. */
    struct mode_result rs[16];
    size_t n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, results)
    {
        CHECK(n < 16 && result_from_json(r, &rs[n], err, sizeof err) == 0);
        n++;
    }
    static struct verdict v;
    verdict_compute(&s, rs, n, &v);
    spec_free(&s);
    CHECK(v.pass == (v.judged && v.nfailed == 0));
    return verdict_to_json(&v);
}

static bool verdict_failed(const cJSON *v)
{
    return cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "pass"));
}

static int nfailed(const cJSON *v)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(v, "failed"));
}

static const cJSON *failed_at(const cJSON *v, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "failed"), i);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void test_spec_field(void)
{
    struct spec_limits lim;
    spec_limits_default(&lim);
    struct spec s;
    char err[256] = "";
    CHECK(spec_from_text("{\"target\":{\"url\":\"http://x/\"},\"thresholds\":{\"p99_ms\":500,"
                         "\"error_rate\":0.01,\"rps_min\":20}}",
                         &lim, &s, err, sizeof err) == 0);
    CHECK(s.thresholds.p99_ms == 500 && s.thresholds.error_rate == 0.01 &&
          s.thresholds.rps_min == 20);
    char *text = spec_to_text(&s);
    CHECK(text &&
          strstr(text, "\"thresholds\":{\"p99_ms\":500,\"error_rate\":0.01,\"rps_min\":20}"));
    free(text);
    spec_free(&s);

    /* none given, null and {} all mean no thresholds, printed back as null */
    const char *none[] = {"{\"target\":{\"url\":\"http://x/\"}}",
                          "{\"target\":{\"url\":\"http://x/\"},\"thresholds\":null}",
                          "{\"target\":{\"url\":\"http://x/\"},\"thresholds\":{}}"};
    for (int i = 0; i < 3; i++) {
        CHECK(spec_from_text(none[i], &lim, &s, err, sizeof err) == 0);
        CHECK(!spec_thresholds_any(&s.thresholds));
        text = spec_to_text(&s);
        CHECK(text && strstr(text, "\"thresholds\":null"));
        free(text);
        spec_free(&s);
    }

    /* each bad value is refused naming its field */
    const char *bad[][2] = {
        {"{\"p99_ms\":0}", "thresholds.p99_ms:"},
        {"{\"p99_ms\":-5}", "thresholds.p99_ms:"},
        {"{\"p99_ms\":\"fast\"}", "thresholds.p99_ms:"},
        {"{\"error_rate\":1.5}", "thresholds.error_rate:"},
        {"{\"error_rate\":-0.1}", "thresholds.error_rate:"},
        {"{\"rps_min\":-1}", "thresholds.rps_min:"},
        {"{\"p95_ms\":10}", "thresholds.p95_ms:"},
        {"[1]", "thresholds:"},
        {"5", "thresholds:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char spec_text[256];
        snprintf(spec_text, sizeof spec_text,
                 "{\"target\":{\"url\":\"http://x/\"},\"thresholds\":%s}", bad[i][0]);
        err[0] = '\0';
        CHECK(spec_from_text(spec_text, &lim, &s, err, sizeof err) == -1);
        CHECK(!strncmp(err, bad[i][1], strlen(bad[i][1])));
        if (strncmp(err, bad[i][1], strlen(bad[i][1])))
            fprintf(stderr, "  %s -> %s\n", bad[i][0], err);
    }

    /* --threshold NAME=X */
    struct spec_thresholds t;
    spec_thresholds_init(&t);
    CHECK(spec_thresholds_set(&t, "p99_ms", "250.5", err, sizeof err) == 0 && t.p99_ms == 250.5);
    CHECK(spec_thresholds_set(&t, "p99", "1", err, sizeof err) == -1 &&
          strstr(err, "not a threshold"));
    CHECK(spec_thresholds_set(&t, "rps_min", "many", err, sizeof err) == -1 &&
          strstr(err, "rps_min"));
    CHECK(spec_thresholds_set(&t, "error_rate", "2", err, sizeof err) == -1 &&
          strstr(err, "error_rate"));
}

static void test_verdict(void)
{
    cJSON *results = cJSON_CreateArray();
    cJSON_AddItemToArray(results, result("sync", 10, 10, 1000, 120));  /* 10 ok/s, p99 120 */
    cJSON_AddItemToArray(results, result("threads", 10, 9, 500, 100)); /* 18 ok/s, 10 % err */
    cJSON_AddItemToArray(results, result("async", 10, 0, 5, NAN));     /* all failed */

    cJSON *v = judge("{\"target\":{\"url\":\"http://x/\"}}", results);
    CHECK(cJSON_IsNull(v)); /* no thresholds: no verdict */
    CHECK(!verdict_failed(v));
    cJSON_Delete(v);

    /* p99 at its limit passes; above it fails; no ok request fails with value null */
    v = judge("{\"target\":{\"url\":\"http://x/\"},\"thresholds\":{\"p99_ms\":100}}", results);
    CHECK(verdict_failed(v) && nfailed(v) == 2);
    CHECK(!strcmp(str(failed_at(v, 0), "mode"), "sync") && num(failed_at(v, 0), "value") == 120 &&
          num(failed_at(v, 0), "limit") == 100 &&
          !strcmp(str(failed_at(v, 0), "threshold"), "p99_ms"));
    CHECK(num(failed_at(v, 0), "concurrency") == 3);
    CHECK(!strcmp(str(failed_at(v, 1), "mode"), "async") &&
          cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(failed_at(v, 1), "value")));
    cJSON_Delete(v);

    /* error rate: errors / requests, equal passes */
    v = judge("{\"target\":{\"url\":\"http://x/\"},\"thresholds\":{\"error_rate\":0.1}}", results);
    CHECK(nfailed(v) == 1 && !strcmp(str(failed_at(v, 0), "mode"), "async") &&
          num(failed_at(v, 0), "value") == 1);
    cJSON_Delete(v);

    /* rps_min: ok requests per second of wall time, so all-failed async (2000 req/s of
     * failures) does not pass it */
    v = judge("{\"target\":{\"url\":\"http://x/\"},\"thresholds\":{\"rps_min\":15}}", results);
    CHECK(nfailed(v) == 2);
    CHECK(!strcmp(str(failed_at(v, 0), "mode"), "sync") && num(failed_at(v, 0), "value") == 10);
    CHECK(!strcmp(str(failed_at(v, 1), "mode"), "async") && num(failed_at(v, 1), "value") == 0);
    cJSON_Delete(v);

    /* everything within: pass */
    cJSON *only_sync = cJSON_CreateArray();
    cJSON_AddItemReferenceToArray(only_sync, cJSON_GetArrayItem(results, 0));
    v = judge("{\"target\":{\"url\":\"http://x/\"},\"thresholds\":{\"p99_ms\":120,\"error_rate\":0,"
              "\"rps_min\":10}}",
              only_sync);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "pass")) && nfailed(v) == 0);
    CHECK(!verdict_failed(v));
    cJSON_Delete(v);
    cJSON_Delete(only_sync);
    cJSON_Delete(results);
}

int main(void)
{
    test_spec_field();
    test_verdict();
    return check_done("test_verdict");
}
