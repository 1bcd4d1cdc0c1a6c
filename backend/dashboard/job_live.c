/* The running mode, live (job_live.h). */
#include "job_live.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "spec.h"
#include "util.h"

struct job_live_point job_live_point(int64_t t_ms, int64_t done, int64_t ok, int64_t errors,
                                     const struct histogram *lat)
{
    struct job_live_point p = {t_ms, done, ok, errors, NAN, NAN};
    if (histogram_count(lat)) {
        p.p50_ms = histogram_percentile(lat, 50) / 1000.0;
        p.p99_ms = histogram_percentile(lat, 99) / 1000.0;
    }
    return p;
}

void job_live_begin(struct job_live *l, struct job_live_sampler *s, int mode, int64_t now_us)
{
    l->mode = mode;
    l->start_us = now_us;
    l->done = l->ok = l->errors = 0;
    l->npoints = 0;
    memset(s, 0, sizeof *s);
    s->tick_ms = JOB_LIVE_TICK_MS;
    s->next_ms = JOB_LIVE_TICK_MS;
}

void job_live_append(struct job_live *l, const struct job_live_point *p)
{
    if (l->npoints == JOB_LIVE_POINTS) {
        for (int i = 0; i < JOB_LIVE_POINTS / 2; i++)
            l->points[i] = l->points[2 * i + 1];
        l->npoints = JOB_LIVE_POINTS / 2;
    }
    l->points[l->npoints++] = *p;
    l->done = p->done;
    l->ok = p->ok;
    l->errors = p->errors;
}

int job_live_feed(struct job_live *l, struct job_live_sampler *s, const struct bench_tick *t)
{
    if (l->mode < 0 || t->mode != l->mode) return 0;
    l->done = t->done;
    l->ok = t->ok;
    l->errors = t->errors;
    for (int i = 0; i < t->nsample && i < BENCH_TICK_SAMPLE; i++)
        if (t->sample_us[i] >= 0) histogram_add(&s->lat, t->sample_us[i]);
    int64_t elapsed_ms = t->elapsed_us / 1000;
    if (elapsed_ms < s->next_ms) return 0;
    /* The point's time is the tick it closes (on the 250 ms grid), as the child's ticks fall on
     * it up to scheduling delays. */
    struct job_live_point p = job_live_point(s->next_ms, t->done, t->ok, t->errors, &s->lat);
    bool halved = l->npoints == JOB_LIVE_POINTS;
    job_live_append(l, &p);
    if (halved) s->tick_ms *= 2;
    if (histogram_count(&s->lat)) histogram_init(&s->lat);
    while (s->next_ms <= elapsed_ms) /* a late tick makes one point, not several */
        s->next_ms += s->tick_ms;
    return 1;
}

static void add_ms(cJSON *o, const char *key, double v)
{
    if (isnan(v))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, round3(v));
}

cJSON *job_live_json(const struct job_live *l, const struct mode_names *names, int64_t now_us)
{
    if (l->mode < 0 || !mode_names_get(names, l->mode)) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "mode", mode_names_get(names, l->mode));
    cJSON_AddNumberToObject(o, "elapsed_ms", (double)((now_us - l->start_us) / 1000));
    cJSON_AddNumberToObject(o, "done", (double)l->done);
    cJSON_AddNumberToObject(o, "ok", (double)l->ok);
    cJSON_AddNumberToObject(o, "errors", (double)l->errors);
    cJSON *pts = cJSON_AddArrayToObject(o, "points");
    for (int i = 0; i < l->npoints; i++) {
        const struct job_live_point *p = &l->points[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "t_ms", (double)p->t_ms);
        cJSON_AddNumberToObject(x, "done", (double)p->done);
        cJSON_AddNumberToObject(x, "ok", (double)p->ok);
        cJSON_AddNumberToObject(x, "errors", (double)p->errors);
        add_ms(x, "p50_ms", p->p50_ms);
        add_ms(x, "p99_ms", p->p99_ms);
        cJSON_AddItemToArray(pts, x);
    }
    return o;
}
