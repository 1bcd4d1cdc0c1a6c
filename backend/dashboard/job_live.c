/* The running mode, live (job_live.h). */
#include "job_live.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "spec.h"
#include "util.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy's default (linear) percentile of n sorted values. */
static double sorted_percentile(const double *v, int n, double p)
{
    double rank = p / 100.0 * (n - 1);
    int lo = (int)floor(rank), hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (rank - lo);
}

struct job_live_point job_live_point(int64_t t_ms, int64_t done, int64_t ok, int64_t errors,
                                     const struct bench_record *sample, int n)
{
    struct job_live_point p = {t_ms, done, ok, errors, NAN, NAN};
    double lat[JOB_LIVE_SAMPLE];
    int k = 0;
    for (int i = 0; i < n && k < JOB_LIVE_SAMPLE; i++)
        if (sample[i].err_kind == REQ_OK && sample[i].start_us >= 0 &&
            sample[i].end_us >= sample[i].start_us)
            lat[k++] = (double)(sample[i].end_us - sample[i].start_us) / 1000.0;
    if (k) {
        qsort(lat, (size_t)k, sizeof *lat, cmp_double);
        p.p50_ms = sorted_percentile(lat, k, 50);
        p.p99_ms = sorted_percentile(lat, k, 99);
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

void job_live_add(struct job_live_sampler *s, const struct bench_record *r)
{
    s->done++;
    if (r->err_kind == REQ_OK)
        s->ok++;
    else
        s->errors++;
    s->sample[s->at] = *r;
    s->at = (s->at + 1) % JOB_LIVE_SAMPLE;
    if (s->nsample < JOB_LIVE_SAMPLE) s->nsample++;
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

int job_live_tick(struct job_live *l, struct job_live_sampler *s, int64_t now_us)
{
    if (l->mode < 0 || (now_us - l->start_us) / 1000 < s->next_ms) return 0;
    struct job_live_point p =
        job_live_point(s->next_ms, s->done, s->ok, s->errors, s->sample, s->nsample);
    bool halved = l->npoints == JOB_LIVE_POINTS;
    job_live_append(l, &p);
    if (halved) s->tick_ms *= 2;
    s->nsample = s->at = 0;
    /* the next tick ends after now, even when the runner was late (no empty catch-up points) */
    int64_t elapsed_ms = (now_us - l->start_us) / 1000;
    while (s->next_ms <= elapsed_ms)
        s->next_ms += s->tick_ms;
    return 1;
}

int64_t job_live_due_us(const struct job_live *l, const struct job_live_sampler *s)
{
    return l->mode < 0 ? INT64_MAX : l->start_us + s->next_ms * 1000;
}

static void add_ms(cJSON *o, const char *key, double v)
{
    if (isnan(v))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, round3(v));
}

cJSON *job_live_json(const struct job_live *l, int64_t now_us)
{
    if (l->mode < 0 || !mode_name(l->mode)) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "mode", mode_name(l->mode));
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
