/* The running mode's live view (job_live.h): one point from counters and a sample, a point per
 * tick whether or not records came, the bounded number of points, and its JSON. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include "check.h"
#include "job_live.h"

static struct bench_record rec(int64_t start_us, int64_t end_us, int err)
{
    struct bench_record r;
    memset(&r, 0, sizeof r);
    r.start_us = start_us;
    r.end_us = end_us;
    r.err_kind = err;
    return r;
}

static void test_point(void)
{
    struct bench_record s[5];
    /* ok latencies 10, 20, 30, 40 ms and one failure that must not count */
    for (int i = 0; i < 4; i++)
        s[i] = rec(1000, 1000 + (i + 1) * 10000, REQ_OK);
    s[4] = rec(0, 999000, REQ_ERR_TIMEOUT);
    struct job_live_point p = job_live_point(750, 12, 9, 3, s, 5);
    CHECK(p.t_ms == 750 && p.done == 12 && p.ok == 9 && p.errors == 3);
    CHECK_NEAR(p.p50_ms, 25.0, 1e-9); /* numpy: 10,20,30,40 -> 25 */
    CHECK_NEAR(p.p99_ms, 39.7, 1e-9);
    p = job_live_point(1000, 12, 9, 3, s + 4, 1); /* only a failure: no percentiles */
    CHECK(isnan(p.p50_ms) && isnan(p.p99_ms));
    p = job_live_point(1000, 0, 0, 0, NULL, 0);
    CHECK(isnan(p.p50_ms));
}

static void test_ticks(void)
{
    static struct job_live l;
    static struct job_live_sampler s;
    int64_t t0 = 5000000;
    job_live_begin(&l, &s, 1, t0);
    CHECK(l.mode == 1 && l.npoints == 0);
    CHECK(job_live_due_us(&l, &s) == t0 + JOB_LIVE_TICK_MS * 1000);
    struct bench_record r = rec(0, 100000, REQ_OK);
    job_live_add(&s, &r);
    job_live_add(&s, &r);
    r.err_kind = REQ_ERR_CONNECT;
    job_live_add(&s, &r);
    CHECK(job_live_tick(&l, &s, t0 + 249000) == 0); /* not due yet */
    CHECK(job_live_tick(&l, &s, t0 + 251000) == 1);
    CHECK(l.npoints == 1 && l.points[0].t_ms == 250 && l.points[0].done == 3 &&
          l.points[0].ok == 2 && l.points[0].errors == 1);
    CHECK_NEAR(l.points[0].p50_ms, 100.0, 1e-9);
    CHECK(l.done == 3 && l.ok == 2 && l.errors == 1);
    /* a tick without records still makes a point: nothing ended then */
    CHECK(job_live_tick(&l, &s, t0 + 501000) == 1);
    CHECK(l.npoints == 2 && l.points[1].t_ms == 500 && l.points[1].done == 3 &&
          isnan(l.points[1].p50_ms));
    /* a late runner gets one point, and the next tick ends after now */
    CHECK(job_live_tick(&l, &s, t0 + 1600000) == 1);
    CHECK(l.npoints == 3 && l.points[2].t_ms == 750);
    CHECK(job_live_due_us(&l, &s) == t0 + 1750000);
    /* bounded: past JOB_LIVE_POINTS every other point goes and the tick doubles */
    int64_t now = t0 + 1750000;
    for (int i = 0; i < 400; i++, now = job_live_due_us(&l, &s))
        job_live_tick(&l, &s, now);
    CHECK(l.npoints <= JOB_LIVE_POINTS && l.npoints > JOB_LIVE_POINTS / 2);
    CHECK(s.tick_ms >= 2 * JOB_LIVE_TICK_MS);
    for (int i = 1; i < l.npoints; i++)
        CHECK(l.points[i].t_ms > l.points[i - 1].t_ms);
    /* no mode: nothing due, JSON null */
    job_live_begin(&l, &s, -1, now);
    CHECK(job_live_due_us(&l, &s) == INT64_MAX && job_live_tick(&l, &s, now + 10000000) == 0);
    cJSON *j = job_live_json(&l, now);
    CHECK(cJSON_IsNull(j));
    cJSON_Delete(j);
}

static void test_json(void)
{
    static struct job_live l;
    static struct job_live_sampler s;
    job_live_begin(&l, &s, 2, 0);
    struct bench_record r = rec(0, 3000, REQ_OK);
    job_live_add(&s, &r);
    job_live_tick(&l, &s, 260000);
    job_live_tick(&l, &s, 510000);
    cJSON *j = job_live_json(&l, 600000);
    CHECK(!strcmp(cJSON_GetObjectItem(j, "mode")->valuestring, "async"));
    CHECK(cJSON_GetObjectItem(j, "elapsed_ms")->valuedouble == 600);
    CHECK(cJSON_GetObjectItem(j, "done")->valuedouble == 1);
    cJSON *pts = cJSON_GetObjectItem(j, "points");
    CHECK(cJSON_GetArraySize(pts) == 2);
    cJSON *p0 = cJSON_GetArrayItem(pts, 0), *p1 = cJSON_GetArrayItem(pts, 1);
    CHECK(cJSON_GetObjectItem(p0, "t_ms")->valuedouble == 250);
    CHECK(cJSON_GetObjectItem(p0, "p50_ms")->valuedouble == 3);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(p1, "p99_ms")));
    cJSON_Delete(j);
}

int main(void)
{
    test_point();
    test_ticks();
    test_json();
    return check_done("test_dashboard_live");
}
