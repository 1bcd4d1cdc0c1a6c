/* RESULT in and out (result_json.h): result_from_json reads back exactly what result_to_json
 * wrote (the store's round trip), reads RESULTs stored by older conlabs under today's
 * definitions, and refuses what is no RESULT. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "result_json.h"
#include "spec.h"

static struct mode_result sample(void)
{
    struct mode_result r;
    memset(&r, 0, sizeof r);
    r.mode = MODE_PROCESSES;
    r.concurrency = 4;
    r.requests = 12;
    r.ok = 3;
    r.errors = 9;
    r.errors_by_kind[REQ_ERR_TIMEOUT] = 8;
    r.errors_by_kind[REQ_ERR_CONNECT] = 1;
    r.top_error_count = 8;
    r.top_error_kind = REQ_ERR_TIMEOUT;
    snprintf(r.top_error, sizeof r.top_error, "Operation timed out after 300 milliseconds");
    r.bytes = 66;
    r.lanes = 4;
    r.wall_ms = 1003.25;
    r.rps = 2.990;
    r.attempts_per_s = 11.961;
    r.has_latency = 1;
    r.latency_ms = (struct latency_summary){200.1, 200.5, 200.4, 200.9, 201.0, 201.2};
    r.has_latency_all = 1;
    r.latency_all_ms = (struct latency_summary){1.5, 250.25, 300.0, 300.4, 301.0, 301.2};
    r.cpu_user_ms = 3.125;
    r.cpu_sys_ms = 2.5;
    r.peak_rss_kb = 9120;
    r.workers_rss_kb = 4000;
    r.cancelled = 1;
    return r;
}

static void round_trip(void)
{
    struct mode_result a = sample(), b;
    cJSON *j = result_to_json(&a);
    char err[128] = "";
    CHECK(result_from_json(j, &b, err, sizeof err) == 0);
    /* what was written comes back field by field (values chosen at RESULT's precision) */
    cJSON *again = result_to_json(&b);
    char *t1 = cJSON_PrintUnformatted(j), *t2 = cJSON_PrintUnformatted(again);
    CHECK(t1 && t2 && !strcmp(t1, t2));
    if (t1 && t2 && strcmp(t1, t2)) fprintf(stderr, "  %s\n  %s\n", t1, t2);
    free(t1);
    free(t2);
    cJSON_Delete(again);
    cJSON_Delete(j);
    CHECK(b.mode == MODE_PROCESSES && b.concurrency == 4 && b.requests == 12 && b.ok == 3);
    CHECK(b.errors_by_kind[REQ_ERR_TIMEOUT] == 8 && b.errors_by_kind[REQ_ERR_CONNECT] == 1);
    CHECK(b.top_error_kind == REQ_ERR_TIMEOUT && b.top_error_count == 8 &&
          !strcmp(b.top_error, a.top_error));
    CHECK(b.rps == 2.99 && b.attempts_per_s == 11.961);
    CHECK(b.has_latency_all && b.latency_all_ms.p99 == 301.0 && b.latency_ms.p99 == 201.0);
    CHECK(!b.has_latency_from_due);
    CHECK(b.cpu_user_ms == 3.125 && b.workers_rss_kb == 4000 && b.cancelled == 1);

    /* no ok request: latency_ms null stays absent */
    a.has_latency = 0;
    j = result_to_json(&a);
    CHECK(result_from_json(j, &b, err, sizeof err) == 0 && !b.has_latency && b.has_latency_all);
    cJSON_Delete(j);
}

/* Stored before rps counted only ok requests: rps was every request per second. */
static void older_results(void)
{
    cJSON *j = cJSON_Parse("{\"mode\":\"sync\",\"requests\":12,\"ok\":3,\"errors\":9,"
                           "\"wall_ms\":1000,\"rps\":12,\"latency_ms\":{\"min\":1,\"mean\":2,"
                           "\"p50\":2,\"p90\":3,\"p99\":3,\"max\":3}}");
    struct mode_result r;
    char err[128];
    CHECK(result_from_json(j, &r, err, sizeof err) == 0);
    CHECK(r.attempts_per_s == 12 && r.rps == 3);
    CHECK(r.concurrency == 0);    /* the point's level is the caller's to give */
    CHECK(!r.has_latency_all);    /* failures happened: their times are unknown */
    cJSON_Delete(j);
    /* all ok: every request's latency is the ok requests' one */
    j = cJSON_Parse("{\"mode\":\"async\",\"requests\":2,\"ok\":2,\"errors\":0,\"wall_ms\":500,"
                    "\"rps\":4,\"latency_ms\":{\"min\":1,\"mean\":2,\"p50\":2,\"p90\":3,"
                    "\"p99\":3,\"max\":3}}");
    CHECK(result_from_json(j, &r, err, sizeof err) == 0);
    CHECK(r.rps == 4 && r.has_latency_all && r.latency_all_ms.p99 == 3);
    cJSON_Delete(j);
}

static void refused(void)
{
    const char *bad[] = {"[]", "3", "{\"requests\":3}", "{\"mode\":\"warp\"}", "{\"mode\":7}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = cJSON_Parse(bad[i]);
        struct mode_result r;
        char err[128] = "";
        CHECK(result_from_json(j, &r, err, sizeof err) == -1 && !strncmp(err, "RESULT", 6));
        cJSON_Delete(j);
    }
}

int main(void)
{
    round_trip();
    older_results();
    refused();
    return check_done("test_result_json");
}
