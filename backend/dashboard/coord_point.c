/* The coordinator's points (coord.h): the barrier before each point, the shards' parts of it,
 * and their merge once every part arrived. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "coord.h"
#include "coord_int.h"
#include "util.h"
#include "verdict.h"

/* How the run ended, for the final barrier. */
static cJSON *outcome_body(const struct crun *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", r->status);
    cJSON_AddStringToObject(o, "message", r->message);
    static struct verdict v; /* under c->mu */
    verdict_compute(&r->spec, r->results, (size_t)r->nresults, &v);
    cJSON_AddItemToObject(o, "verdict", verdict_to_json(&v));
    cJSON_AddBoolToObject(o, "crossed", v.judged && !v.pass);
    return o;
}

/* Waits on c->cv until wall-clock µs `until` (or a broadcast). */
static void wait_until(struct coord *c, int64_t until_wall_us)
{
    struct timespec ts = {.tv_sec = until_wall_us / 1000000,
                          .tv_nsec = (until_wall_us % 1000000) * 1000};
    pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

int coord_barrier(struct coord *c, const char *id, int64_t shard, int64_t point, double skew_ms,
                  int64_t wait_ms, cJSON **reply)
{
    int status = 200;
    int64_t until = wallclock_us() + wait_ms * 1000;
    pthread_mutex_lock(&c->mu);
    struct crun *r = coord_shard_run(c, id, shard, &status, reply);
    if (!r) goto out;
    struct cshard *s = &r->sh[shard];
    if (s->row.joined_us < 0) {
        status = 409;
        *reply = coord_error("shard", "shard: %" PRId64 " has not joined run %s", shard, id);
        goto out;
    }
    if (point < 0 || point > r->npoints) {
        status = 400;
        *reply =
            coord_error("point", "point: %" PRId64 " is out of range (0..%d)", point, r->npoints);
        goto out;
    }
    /* Its part of the current point is in, the others' not yet: it waits for the next point. */
    while (point == r->point + 1 && s->has_part && !r->ended && !c->stop && wallclock_us() < until)
        wait_until(c, until);
    if (point == r->point + 1 && s->has_part && !r->ended) {
        *reply = cJSON_CreateObject();
        cJSON_AddBoolToObject(*reply, "wait", true);
        goto out;
    }
    if (point == r->npoints) { /* how did it end? */
        while (!r->ended && !c->stop && wallclock_us() < until)
            wait_until(c, until);
        *reply = r->ended ? outcome_body(r) : cJSON_CreateObject();
        if (!r->ended) cJSON_AddBoolToObject(*reply, "wait", true);
        goto out;
    }
    if (r->ended) {
        status = 409;
        *reply = coord_ended(r);
        goto out;
    }
    if (point != r->point) {
        status = 409;
        *reply =
            coord_error("point", "point: the run is at point %d, not %" PRId64, r->point, point);
        goto out;
    }
    if (!isnan(skew_ms)) {
        s->row.skew_ms = skew_ms;
        coord_save_shard(c, r, shard);
        if (fabs(s->row.skew_ms) > c->o.skew_max_ms) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "shard %" PRId64 "'s clock is %.1f ms off the dashboard's (bound %.0f ms)",
                     shard, s->row.skew_ms, c->o.skew_max_ms);
            coord_shard_failed(c, r, shard, msg);
            coord_end_run(c, r, RECORDER_RAN, msg, NULL);
            status = 409;
            *reply = coord_ended(r);
            goto out;
        }
    }
    if (s->ready != point) {
        s->ready = (int)point;
        r->nready++;
        r->deadline_us = clock_us() + c->o.point_ms * 1000;
        if (r->nready == r->n && r->start_at_ms == 0) {
            r->start_at_ms = wallclock_us() / 1000 + c->o.lead_ms;
            for (int64_t i = 0; i < r->n; i++) {
                snprintf(r->sh[i].row.status, sizeof r->sh[i].row.status, "running");
                coord_save_shard(c, r, i);
            }
        }
        pthread_cond_broadcast(&c->cv);
    }
    while (!r->start_at_ms && !r->ended && !c->stop && wallclock_us() < until)
        wait_until(c, until);
    if (r->ended) {
        status = 409;
        *reply = coord_ended(r);
    } else {
        *reply = cJSON_CreateObject();
        if (r->start_at_ms)
            cJSON_AddNumberToObject(*reply, "start_at_ms", (double)r->start_at_ms);
        else
            cJSON_AddBoolToObject(*reply, "wait", true);
    }
out:
    pthread_mutex_unlock(&c->mu);
    return status;
}

/* Every shard's part of the current point arrived: merged, stored, and the next point begins. */
static void merge_point(struct coord *c, struct crun *r)
{
    struct part *parts = calloc((size_t)r->n, sizeof *parts);
    struct merged m;
    memset(&m, 0, sizeof m);
    char err[768];
    char pname[96];
    coord_point_name(r, r->point, pname, sizeof pname);
    if (!parts) {
        coord_end_run(c, r, RECORDER_RAN, NULL, "out of memory");
        return;
    }
    for (int64_t i = 0; i < r->n; i++)
        parts[i] = r->sh[i].part;
    int rc = part_merge(parts, (int)r->n, &m, err, sizeof err);
    if (rc == 0) {
        const struct merged_point *mp = &m.points[0];
        const struct record_msgs msgs = {mp->nmsgs, mp->msgs};
        if (recorder_begin(&r->rec, mp->res.mode, mp->res.concurrency, mp->res.requests,
                           mp->res.lanes) == 0 &&
            (!mp->nrecs || recorder_records(&r->rec, mp->res.mode, mp->res.concurrency, mp->recs,
                                            (size_t)mp->nrecs, &msgs) == 0))
            recorder_result(&r->rec, &mp->res);
        r->results[r->nresults++] = mp->res;
        for (int64_t i = 0; i < r->n; i++) {
            const struct merged_shard *ms = &mp->shards[i];
            struct cshard *s = &r->sh[ms->shard];
            s->ok += ms->ok;
            s->wall_ms += ms->wall_ms;
            s->row.errors += ms->errors;
            s->row.cpu_ms += ms->cpu_user_ms + ms->cpu_sys_ms;
            s->row.rps = s->wall_ms > 0 ? (double)s->ok * 1000.0 / s->wall_ms : 0;
            coord_save_shard(c, r, ms->shard);
        }
    }
    merged_free(&m);
    free(parts);
    for (int64_t i = 0; i < r->n; i++) {
        part_free(&r->sh[i].part);
        r->sh[i].has_part = false;
    }
    if (rc) {
        char why[sizeof err + sizeof pname + 16];
        snprintf(why, sizeof why, "merging %s: %s", pname, err);
        coord_end_run(c, r, RECORDER_RAN, NULL, why);
        return;
    }
    r->point++;
    r->start_at_ms = 0;
    r->nready = r->nparts = 0;
    r->deadline_us = clock_us() + c->o.point_ms * 1000;
    if (recorder_error(&r->rec)[0])
        coord_end_run(c, r, RECORDER_RAN, NULL, NULL);
    else if (r->point == r->npoints)
        coord_end_run(c, r, RECORDER_RAN, NULL, NULL);
    pthread_cond_broadcast(&c->cv);
}

int coord_results(struct coord *c, const char *id, int64_t shard, int64_t point, char *text,
                  size_t len, cJSON **reply)
{
    int status = 200;
    pthread_mutex_lock(&c->mu);
    struct crun *r = coord_shard_run(c, id, shard, &status, reply);
    if (!r) goto out;
    struct cshard *s = &r->sh[shard];
    if (r->ended) {
        status = 409;
        *reply = coord_ended(r);
        goto out;
    }
    if (point != r->point || !r->start_at_ms || s->ready != point) {
        status = 409;
        *reply = coord_error("point", "point: the run is at point %d%s, not %" PRId64, r->point,
                             r->start_at_ms ? "" : " (its barrier)", point);
        goto out;
    }
    if (s->has_part) {
        status = 409;
        *reply = coord_error("point", "point: shard %" PRId64 " sent point %" PRId64 " already",
                             shard, point);
        goto out;
    }
    /* Parsing a big part takes a while: not under the lock. */
    pthread_mutex_unlock(&c->mu);
    struct part p;
    char err[768], name[64];
    snprintf(name, sizeof name, "part of shard %" PRId64, shard);
    int rc = part_read_text(text, len, name, &p, err, sizeof err);
    pthread_mutex_lock(&c->mu);
    if (rc) {
        status = 400;
        *reply = coord_error("part", "%s", err);
        goto out;
    }
    /* The run may have moved on (or ended) meanwhile: the same checks again. */
    if ((r = coord_find(c, id)) == NULL || r->ended || point != r->point || r->sh[shard].has_part) {
        part_free(&p);
        status = 409;
        *reply = r && r->ended ? coord_ended(r) : coord_error("point", "point: no longer expected");
        goto out;
    }
    s = &r->sh[shard];
    struct spec ps;
    char *ptext = NULL, hash[17] = "";
    if (part_point_spec(&r->spec, (int)point, &ps) == 0 && (ptext = spec_to_text(&ps)))
        part_spec_hash(ptext, hash);
    free(ptext);
    spec_free(&ps);
    if (p.shard != shard || p.shards != r->n || strcmp(p.spec_hash, hash)) {
        status = 400;
        *reply = coord_error("part",
                             "part: it is shard %" PRId64 " of %" PRId64 " of spec %s; expected "
                             "shard %" PRId64 " of %" PRId64 " of point %" PRId64 " (spec %s)",
                             p.shard, p.shards, p.spec_hash, shard, r->n, point, hash);
        part_free(&p);
        goto out;
    }
    if (p.npoints > 0 && p.points[0].cancelled) {
        /* A shard interrupted during the point (SIGTERM from its scheduler, Ctrl-C) sends what it
         * had: that part is not whole, so the point is never merged from it. The run ends
         * partial at once, naming the shard, as when one is killed outright. */
        char msg[256], pname[96];
        coord_point_name(r, (int)point, pname, sizeof pname);
        snprintf(msg, sizeof msg, "shard %" PRId64 " was interrupted during %s: its part is not whole",
                 shard, pname);
        part_free(&p);
        coord_shard_failed(c, r, shard, msg);
        coord_end_run(c, r, RECORDER_RAN, msg, NULL);
        status = 409;
        *reply = coord_ended(r);
        goto out;
    }
    s->part = p;
    s->has_part = true;
    r->nparts++;
    r->deadline_us = clock_us() + c->o.point_ms * 1000;
    bool merged = r->nparts == r->n;
    if (merged) merge_point(c, r);
    *reply = cJSON_CreateObject();
    cJSON_AddNumberToObject(*reply, "point", (double)point);
    cJSON_AddBoolToObject(*reply, "merged", merged);
out:
    pthread_mutex_unlock(&c->mu);
    return status;
}
