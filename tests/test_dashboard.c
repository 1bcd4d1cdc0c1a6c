/* The dashboard's one RUN builder (run_json_build): a stored run's C data, and the runner's live
 * state over it, shaped as the API serves them. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "job.h"
#include "result_json.h"
#include "run_json.h"
#include "store.h"

/* A begun point as the store reads it: its RESULT (JSON text, NULL while unfinished) parsed as
 * store_read.c does, the point's level when it does not say its own. */
static struct store_mode point(int mode, int64_t total, int64_t lanes, int64_t done,
                               const char *result, int64_t concurrency)
{
    struct store_mode m = {.mode = mode, .total = total, .lanes = lanes, .done = done,
                           .concurrency = concurrency};
    cJSON *j = result ? cJSON_Parse(result) : NULL;
    char err[128];
    m.finished = j && result_from_json(j, &m.result, err, sizeof err) == 0;
    if (m.finished && m.result.concurrency <= 0) m.result.concurrency = concurrency;
    cJSON_Delete(j);
    return m;
}

/* The spec of a stored run as C data (free with spec_free). */
static struct spec parsed(const char *text)
{
    struct spec_limits lim;
    spec_limits_unbounded(&lim);
    struct spec s;
    char err[256];
    if (spec_from_text(text, &lim, &s, err, sizeof err)) {
        fprintf(stderr, "spec refused: %s\n", err);
        CHECK(0);
        spec_init(&s);
    }
    return s;
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

#define SPEC "{\"target\":{\"url\":\"http://a/\"},\"requests\":10,\"modes\":[\"async\",\"sync\"]}"

static void test_stored_run(void)
{
    const char *res = "{\"mode\":\"async\",\"requests\":10,\"ok\":10}";
    struct store_mode modes[2] = {point(MODE_ASYNC, 10, 3, 10, res, 3),
                                  point(MODE_SYNC, 10, 1, 4, NULL, 3)};
    struct store_run r = {.id = "abc", .status = "running", .label = "x", .message = NULL,
                          .has_spec = true, .spec = parsed(SPEC), .created_us = 1700000000000000,
                          .finished_us = -1, .modes = modes, .nmodes = 2};
    cJSON *run = run_json_build(&r, NULL);
    CHECK(!strcmp(str(run, "id"), "abc") && !strcmp(str(run, "status"), "running"));
    CHECK(!strcmp(str(run, "created_at"), "2023-11-14T22:13:20.000Z"));
    CHECK(cJSON_IsNull(get(run, "finished_at")) && cJSON_IsNull(get(run, "message")));
    CHECK(!strcmp(str(get(get(run, "spec"), "target"), "url"), "http://a/"));
    const cJSON *p = get(run, "progress");
    CHECK(num(p, "done") == 14 && num(p, "total") == 20); /* requests × modes of the spec */
    CHECK(!strcmp(str(p, "mode"), "sync"));
    CHECK(num(get(get(p, "modes"), "async"), "done") == 10);
    CHECK(num(get(get(p, "modes"), "sync"), "total") == 10);
    CHECK(!get(p, "position"));
    CHECK(cJSON_GetArraySize(get(run, "results")) == 1);
    CHECK(!strcmp(str(cJSON_GetArrayItem(get(run, "results"), 0), "mode"), "async"));
    CHECK(!get(run, "cancelling"));
    cJSON_Delete(run);

    /* more rows than the spec announced: total never falls below done */
    modes[1].done = 20000;
    run = run_json_build(&r, NULL);
    CHECK(num(get(run, "progress"), "done") == 20010 && num(get(run, "progress"), "total") == 20010);
    cJSON_Delete(run);

    /* nothing begun: mode null, no modes */
    r.nmodes = 0;
    r.finished_us = 1700000009123000;
    r.message = "no target";
    r.status = "failed";
    run = run_json_build(&r, NULL);
    CHECK(cJSON_IsNull(get(get(run, "progress"), "mode")));
    CHECK(num(get(run, "progress"), "done") == 0 && num(get(run, "progress"), "total") == 20);
    CHECK(!strcmp(str(run, "finished_at"), "2023-11-14T22:13:29.123Z"));
    CHECK(!strcmp(str(run, "message"), "no target"));
    cJSON_Delete(run);
    spec_free(&r.spec);
}

static void test_live_wins(void)
{
    struct store_mode modes[1] = {point(MODE_ASYNC, 10, 3, 2, NULL, 3)};
    struct store_run r = {.id = "abc", .status = "queued", .label = "", .has_spec = true,
                          .spec = parsed(SPEC), .created_us = 0, .finished_us = -1,
                          .modes = modes, .nmodes = 1};
    struct job_progress live = {.state = JOB_RUNNING, .cancelling = true, .requests = 10,
                                .nmodes = 2, .modes = {MODE_ASYNC, MODE_SYNC}, .cur = 0,
                                .done = {7, 0}};
    cJSON *run = run_json_build(&r, &live);
    CHECK(!strcmp(str(run, "status"), "running"));
    const cJSON *p = get(run, "progress");
    CHECK(num(p, "done") == 7 && num(p, "total") == 20); /* the runner is ahead of the store */
    CHECK(!strcmp(str(p, "mode"), "async"));
    CHECK(cJSON_GetArraySize(get(p, "modes")) == 1);
    CHECK(cJSON_IsTrue(get(run, "cancelling")));
    cJSON_Delete(run);

    struct job_progress queued = {.state = JOB_QUEUED, .position = 2, .requests = 10,
                                  .nmodes = 2, .modes = {MODE_ASYNC, MODE_SYNC}, .cur = -1};
    run = run_json_build(&r, &queued);
    CHECK(!strcmp(str(run, "status"), "queued"));
    CHECK(num(get(run, "progress"), "position") == 2);
    CHECK(cJSON_IsNull(get(get(run, "progress"), "mode")));
    cJSON_Delete(run);
    spec_free(&r.spec);
}

/* A sweep's RUN: progress over every level, each RESULT with its level (a stored RESULT without
 * one gets its point's), and findings once the run has ended, [] while it runs. */
static void test_sweep_run(void)
{
    const char *spec = "{\"target\":{\"url\":\"http://a/\"},\"requests\":10,\"concurrency\":[1,2,4],"
                  "\"modes\":[\"threads\"],\"expect\":{\"delay_ms\":100,\"workers\":3}}";
    const char *r1 = "{\"mode\":\"threads\",\"concurrency\":1,\"requests\":10,\"ok\":10,\"errors\":0,"
                "\"wall_ms\":1000,\"rps\":10}";
    const char *r2 = "{\"mode\":\"threads\",\"requests\":10,\"ok\":10,\"errors\":0,\"wall_ms\":500,"
                "\"rps\":20}";
    struct store_mode modes[3] = {point(MODE_THREADS, 10, 1, 10, r1, 1),
                                  point(MODE_THREADS, 10, 2, 10, r2, 2),
                                  point(MODE_THREADS, 10, 4, 3, NULL, 4)};
    struct store_run r = {.id = "swp", .status = "running", .label = "", .has_spec = true,
                          .spec = parsed(spec), .finished_us = -1, .modes = modes, .nmodes = 3};
    cJSON *run = run_json_build(&r, NULL);
    const cJSON *p = get(run, "progress");
    CHECK(num(p, "done") == 23 && num(p, "total") == 30); /* 10 requests × 1 mode × 3 levels */
    CHECK(!strcmp(str(p, "mode"), "threads") && num(p, "concurrency") == 4);
    CHECK(num(get(get(p, "modes"), "threads"), "done") == 23);
    CHECK(num(get(get(p, "modes"), "threads"), "total") == 30);
    const cJSON *results = get(run, "results");
    CHECK(cJSON_GetArraySize(results) == 2);
    CHECK(num(cJSON_GetArrayItem(results, 1), "concurrency") == 2);
    CHECK(cJSON_IsArray(get(run, "findings")) && cJSON_GetArraySize(get(run, "findings")) == 0);
    cJSON_Delete(run);

    r.status = "done";
    run = run_json_build(&r, NULL);
    const cJSON *f = cJSON_GetArrayItem(get(run, "findings"), 0);
    CHECK(f && !strcmp(str(f, "kind"), "ideal") && !strcmp(str(f, "mode"), "threads"));
    /* C=1: 1000 ms against ⌈10 / 1⌉ × 100 ms = 1000 ms; C=2: 500 ms against 500 ms; both 1.00×,
     * the first of equals is named */
    CHECK(num(get(f, "values"), "ideal_ms") == 1000 && num(get(f, "values"), "concurrency") == 1);
    CHECK(num(get(f, "values"), "ratio") == 1 && num(get(f, "values"), "ratio_min") == 1);
    cJSON_Delete(run);

    /* The runner's view of a sweep in its second level: every mode begun. */
    struct job_progress live = {.state = JOB_RUNNING, .requests = 10, .nmodes = 2, .nlevels = 3,
                                .modes = {MODE_THREADS, MODE_ASYNC}, .cur = 0, .concurrency = 2,
                                .done = {15, 10}, .nresults = 2};
    run = run_json_build(&r, &live);
    p = get(run, "progress");
    CHECK(num(p, "done") == 25 && num(p, "total") == 60 && num(p, "concurrency") == 2);
    CHECK(cJSON_GetArraySize(get(p, "modes")) == 2);
    CHECK(num(get(get(p, "modes"), "async"), "total") == 30);
    CHECK(cJSON_GetArraySize(get(run, "findings")) == 0);
    cJSON_Delete(run);
    spec_free(&r.spec);
}

int main(void)
{
    test_stored_run();
    test_live_wins();
    test_sweep_run();
    return check_done("test_dashboard");
}
