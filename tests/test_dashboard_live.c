/* The running mode's live view (job_live.h): one point from counters and a sample, a point per
 * tick of the child whether or not requests ended, the bounded number of points, and its JSON. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include "check.h"
#include "job_live.h"

/* A tick of mode `mode` at elapsed_ms with counters and the given ok latencies (ms). */
static struct bench_tick tick(int mode, int64_t elapsed_ms, int64_t done, int64_t ok,
                              int64_t errors, const double *lat_ms, int n)
{
    struct bench_tick t;
    memset(&t, 0, sizeof t);
    t.mode = mode;
    t.elapsed_us = elapsed_ms * 1000;
    t.done = done;
    t.ok = ok;
    t.errors = errors;
    for (int i = 0; i < n; i++)
        t.sample_us[t.nsample++] = (int64_t)(lat_ms[i] * 1000);
    return t;
}

static void test_point(void)
{
    static struct histogram lat; /* ok latencies 10, 20, 30, 40 ms */
    for (int i = 1; i <= 4; i++) histogram_add(&lat, i * 10000);
    struct job_live_point p = job_live_point(750, 12, 9, 3, &lat);
    CHECK(p.t_ms == 750 && p.done == 12 && p.ok == 9 && p.errors == 3);
    /* numpy: 10,20,30,40 -> 25 and 39.7, within the histogram's precision (1/2048) */
    CHECK_NEAR(p.p50_ms, 25.0, 25.0 / 2048);
    CHECK_NEAR(p.p99_ms, 39.7, 39.7 / 2048);
    histogram_init(&lat); /* nothing ok in the tick: no percentiles */
    p = job_live_point(1000, 12, 9, 3, &lat);
    CHECK(isnan(p.p50_ms) && isnan(p.p99_ms));
}

/* A point's percentiles are over every latency sampled by the ticks it closes (three ticks of
 * 128 here), and the next point starts from an empty sample. */
static void test_sample_of_several_ticks(void)
{
    static struct job_live l;
    static struct job_live_sampler s;
    job_live_begin(&l, &s, 0, 0);
    double one[BENCH_TICK_SAMPLE], hundred[BENCH_TICK_SAMPLE];
    for (int i = 0; i < BENCH_TICK_SAMPLE; i++) {
        one[i] = 1;
        hundred[i] = 100;
    }
    struct bench_tick t = tick(0, 50, 128, 128, 0, one, BENCH_TICK_SAMPLE);
    CHECK(job_live_feed(&l, &s, &t) == 0);
    t = tick(0, 100, 256, 256, 0, one, BENCH_TICK_SAMPLE);
    CHECK(job_live_feed(&l, &s, &t) == 0);
    t = tick(0, 250, 384, 384, 0, hundred, BENCH_TICK_SAMPLE);
    CHECK(job_live_feed(&l, &s, &t) == 1);
    /* 256 at 1 ms and 128 at 100 ms: p50 is 1 ms (exact below 2048 µs), p99 100 ms (within
     * 1/2048); the latest 256 alone would give a p50 of 50.5 ms */
    CHECK(l.npoints == 1 && l.points[0].p50_ms == 1.0);
    CHECK_NEAR(l.points[0].p99_ms, 100.0, 100.0 / 2048);
    t = tick(0, 500, 385, 385, 0, hundred, 1);
    CHECK(job_live_feed(&l, &s, &t) == 1);
    CHECK(l.npoints == 2 && l.points[1].p50_ms == 100.0 && l.points[1].p99_ms == 100.0);
}

static void test_ticks(void)
{
    static struct job_live l;
    static struct job_live_sampler s;
    int64_t t0 = 5000000;
    job_live_begin(&l, &s, 1, t0);
    CHECK(l.mode == 1 && l.npoints == 0);
    const double hundred[2] = {100, 100};
    /* an early tick shows its counters, and its sample waits for the point */
    struct bench_tick t = tick(1, 120, 2, 2, 0, hundred, 2);
    CHECK(job_live_feed(&l, &s, &t) == 0);
    CHECK(l.npoints == 0 && l.done == 2 && l.ok == 2);
    t = tick(1, 251, 3, 2, 1, NULL, 0);
    CHECK(job_live_feed(&l, &s, &t) == 1);
    CHECK(l.npoints == 1 && l.points[0].t_ms == 250 && l.points[0].done == 3 &&
          l.points[0].ok == 2 && l.points[0].errors == 1);
    CHECK_NEAR(l.points[0].p50_ms, 100.0, 1e-9);
    CHECK(l.done == 3 && l.ok == 2 && l.errors == 1);
    /* a tick without an ended request still makes a point: nothing ended then */
    t = tick(1, 501, 3, 2, 1, NULL, 0);
    CHECK(job_live_feed(&l, &s, &t) == 1);
    CHECK(l.npoints == 2 && l.points[1].t_ms == 500 && l.points[1].done == 3 &&
          isnan(l.points[1].p50_ms));
    /* a late tick makes one point (at the tick it closes), and the next is due after it */
    t = tick(1, 1600, 4, 3, 1, NULL, 0);
    CHECK(job_live_feed(&l, &s, &t) == 1);
    CHECK(l.npoints == 3 && l.points[2].t_ms == 750 && s.next_ms == 1750);
    /* a tick of another mode is not this one's */
    t = tick(2, 1800, 99, 99, 0, NULL, 0);
    CHECK(job_live_feed(&l, &s, &t) == 0 && l.done == 4);
    /* bounded: past JOB_LIVE_POINTS every other point goes and the spacing doubles */
    int64_t ms = 1750;
    for (int i = 0; i < 400; i++, ms += JOB_LIVE_TICK_MS) {
        t = tick(1, ms, 4, 3, 1, NULL, 0);
        job_live_feed(&l, &s, &t);
    }
    CHECK(l.npoints <= JOB_LIVE_POINTS && l.npoints > JOB_LIVE_POINTS / 2);
    CHECK(s.tick_ms >= 2 * JOB_LIVE_TICK_MS);
    for (int i = 1; i < l.npoints; i++)
        CHECK(l.points[i].t_ms > l.points[i - 1].t_ms);
    /* no mode: nothing is fed, JSON null */
    job_live_begin(&l, &s, -1, t0);
    t = tick(1, ms, 4, 3, 1, NULL, 0);
    CHECK(job_live_feed(&l, &s, &t) == 0 && l.npoints == 0);
    cJSON *j = job_live_json(&l, NULL, t0);
    CHECK(cJSON_IsNull(j));
    cJSON_Delete(j);
}

static void test_json(void)
{
    static struct job_live l;
    static struct job_live_sampler s;
    job_live_begin(&l, &s, 2, 0);
    const double three = 3;
    struct bench_tick t = tick(2, 250, 1, 1, 0, &three, 1);
    job_live_feed(&l, &s, &t);
    t = tick(2, 500, 1, 1, 0, NULL, 0);
    job_live_feed(&l, &s, &t);
    cJSON *j = job_live_json(&l, NULL, 600000);
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
    test_sample_of_several_ticks();
    test_json();
    return check_done("test_dashboard_live");
}
