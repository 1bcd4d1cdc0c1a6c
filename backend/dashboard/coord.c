/* The coordinator of sharded runs (coord.h): the runs waiting for or running their shards, in
 * memory under one mutex; their state goes to the store (the run through the recorder, each
 * shard's row through store_shard_set) as it changes. */
#include "coord.h"
#include "coord_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "job.h"
#include "part.h"
#include "recorder.h"
#include "store.h"
#include "util.h"
#include "verdict.h"

void coord_opts_default(struct coord_opts *o)
{
    *o = (struct coord_opts){.join_ms = 120000,
                             .point_ms = 600000,
                             .skew_max_ms = 250,
                             .lead_ms = 200,
                             .upload_max = (size_t)64 << 20};
}

const struct coord_opts *coord_options(const struct coord *c)
{
    return &c->o;
}

cJSON *coord_error(const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    if (field) cJSON_AddStringToObject(o, "field", field);
    return o;
}

struct crun *coord_find(struct coord *c, const char *id)
{
    for (struct crun *r = c->runs; r; r = r->next)
        if (!strcmp(r->id, id)) return r;
    return NULL;
}

static void free_run(struct crun *r)
{
    for (int64_t i = 0; r->sh && i < r->n; i++)
        if (r->sh[i].has_part) part_free(&r->sh[i].part);
    free(r->sh);
    free(r->results);
    spec_free(&r->spec);
    free(r);
}

void coord_save_shard(struct coord *c, struct crun *r, int64_t i)
{
    char err[256];
    if (store_shard_set(c->st, r->id, &r->sh[i].row, err, sizeof err) < 0)
        fprintf(stderr, "conlab serve: run %s, shard %" PRId64 ": %s\n", r->id, i, err);
}

/* The point's name for messages: "threads at C=8". */
void coord_point_name(const struct crun *r, int k, char *out, size_t outlen)
{
    if (k >= r->npoints) {
        snprintf(out, outlen, "the end of the run");
        return;
    }
    snprintf(out, outlen, "point %d (%s at C=%" PRId64 ")", k,
             mode_name(r->spec.modes[k % r->spec.nmodes]), r->spec.levels[k / r->spec.nmodes]);
}

/* Ends run r: partial (why: a shard was lost), failed (failure), done, or interrupted. */
void coord_end_run(struct coord *c, struct crun *r, enum recorder_stop stop, const char *partial,
                   const char *failure)
{
    if (r->ended) return;
    char err[300];
    if (!r->recording) {
        recorder_start(&r->rec, c->st, r->id, r->npoints, err, sizeof err);
        r->recording = true;
    }
    struct recorder_end e = {.stop = stop,
                             .failure = failure,
                             .partial = partial,
                             .note = stop == RECORDER_INTERRUPTED
                                         ? "conlab stopped while this run was coordinating its "
                                           "shards"
                                         : NULL};
    const char *status = recorder_finish(&r->rec, &e, err, sizeof err);
    recorder_outcome(&r->rec, &e, r->message, sizeof r->message);
    snprintf(r->status, sizeof r->status, "%s", status);
    r->ended = true;
    r->ended_us = clock_us();
    for (int64_t i = 0; i < r->n; i++) {
        struct store_shard *row = &r->sh[i].row;
        if (!strcmp(row->status, "failed")) continue;
        if (!strcmp(status, "done")) snprintf(row->status, sizeof row->status, "done");
        coord_save_shard(c, r, i);
    }
    pthread_cond_broadcast(&c->cv);
}

/* Marks shard i failed with a message (the run's end names it). */
void coord_shard_failed(struct coord *c, struct crun *r, int64_t i, const char *msg)
{
    struct store_shard *row = &r->sh[i].row;
    snprintf(row->status, sizeof row->status, "failed");
    snprintf(row->message, sizeof row->message, "%s", msg);
    coord_save_shard(c, r, i);
}

/* The watchdog's verdict on a run past its deadline: the shards behind are named. */
static void expire(struct coord *c, struct crun *r)
{
    char why[RECORDER_ERROR_MAX], pname[96];
    size_t at = 0;
    int behind = 0;
    bool joining = r->joined < r->n;
    coord_point_name(r, r->point, pname, sizeof pname);
    for (int64_t i = 0; i < r->n; i++) {
        struct cshard *s = &r->sh[i];
        bool late = joining               ? s->row.joined_us < 0
                    : r->start_at_ms == 0 ? s->ready != r->point
                                          : !s->has_part;
        if (!late) continue;
        behind++;
        char msg[160];
        if (joining)
            snprintf(msg, sizeof msg, "never joined within %.0f s", (double)c->o.join_ms / 1000.0);
        else
            snprintf(msg, sizeof msg, "%s %s within %.0f s",
                     r->start_at_ms == 0 ? "did not come to the barrier of" : "sent no results for",
                     pname, (double)c->o.point_ms / 1000.0);
        coord_shard_failed(c, r, i, msg);
        if (at < sizeof why - 1)
            at += (size_t)snprintf(why + at, sizeof why - at, "%sshard %" PRId64 " %s",
                                   behind > 1 ? "; " : "", i, msg);
    }
    if (joining && r->joined == 0)
        coord_end_run(c, r, RECORDER_RAN, NULL, why);
    else
        coord_end_run(c, r, RECORDER_RAN, why, NULL);
}

static void *watchdog(void *arg)
{
    struct coord *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        int64_t now = clock_us();
        for (struct crun **p = &c->runs; *p;) {
            struct crun *r = *p;
            if (!r->ended && now > r->deadline_us) expire(c, r);
            if (r->ended && now - r->ended_us > COORD_KEEP_US) {
                *p = r->next;
                free_run(r);
                continue;
            }
            p = &r->next;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int coord_start(struct store *st, const struct coord_opts *o, struct coord **out, char *err,
                size_t errlen)
{
    struct coord *c = calloc(1, sizeof *c);
    if (!c) return errf(err, errlen, "out of memory");
    c->st = st;
    c->o = *o;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->watchdog, NULL, watchdog, c)) {
        free(c);
        return errf(err, errlen, "cannot start the shards' watchdog");
    }
    *out = c;
    return 0;
}

void coord_stop(struct coord *c)
{
    if (!c || c->stop) return;
    pthread_mutex_lock(&c->mu);
    for (struct crun *r = c->runs; r; r = r->next)
        coord_end_run(c, r, RECORDER_INTERRUPTED, NULL, NULL);
    c->stop = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->watchdog, NULL);
}

void coord_free(struct coord *c)
{
    if (!c) return;
    while (c->runs) {
        struct crun *r = c->runs;
        c->runs = r->next;
        free_run(r);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int coord_cancel(struct coord *c, const char *id)
{
    pthread_mutex_lock(&c->mu);
    struct crun *r = coord_find(c, id);
    bool active = r && !r->ended;
    if (active) coord_end_run(c, r, RECORDER_CANCELLED, NULL, NULL);
    pthread_mutex_unlock(&c->mu);
    return active ? 0 : 1;
}

int coord_create(struct coord *c, const struct spec *s, char *id, char *err, size_t errlen)
{
    int active = 0;
    pthread_mutex_lock(&c->mu);
    for (struct crun *r = c->runs; r; r = r->next)
        active += !r->ended;
    pthread_mutex_unlock(&c->mu);
    if (active >= COORD_MAX_ACTIVE) return COORD_FULL;
    struct crun *r = calloc(1, sizeof *r);
    if (!r) return errf(err, errlen, "out of memory");
    spec_init(&r->spec);
    r->n = s->shards;
    r->npoints = s->nlevels * s->nmodes;
    r->sh = calloc((size_t)r->n, sizeof *r->sh);
    r->results = calloc((size_t)r->npoints, sizeof *r->results);
    char *text = NULL;
    if (!r->sh || !r->results || spec_copy(&r->spec, s) || !(text = spec_to_text(s))) {
        free(text);
        free_run(r);
        return errf(err, errlen, "out of memory");
    }
    for (int64_t i = 0; i < r->n; i++)
        r->sh[i] = (struct cshard){
            .row = {.shard = i, .status = "waiting", .joined_us = -1, .skew_ms = NAN, .rps = NAN},
            .ready = -1};
    random_id(r->id, JOB_ID_LEN);
    int rc = store_run_create(c->st, r->id, s, text, "waiting", wallclock_us(), err, errlen);
    free(text);
    if (rc == 0) rc = store_shards_create(c->st, r->id, r->n, err, errlen);
    if (rc) {
        store_run_delete(c->st, r->id, NULL, 0);
        free_run(r);
        return -1;
    }
    r->created_us = clock_us();
    r->deadline_us = r->created_us + c->o.join_ms * 1000;
    memcpy(id, r->id, JOB_ID_LEN + 1);
    pthread_mutex_lock(&c->mu);
    r->next = c->runs;
    c->runs = r;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

/* The run a shard names, checked: known to the coordinator and the shard in range. Answers
 * (status, *reply) and returns NULL when not. */
struct crun *coord_shard_run(struct coord *c, const char *id, int64_t shard, int *status,
                             cJSON **reply)
{
    struct crun *r = coord_find(c, id);
    if (!r) {
        char st[32] = "", err[256];
        int rc = store_run_status(c->st, id, st, sizeof st, err, sizeof err);
        *status = rc == STORE_NOT_FOUND ? 404 : rc ? 500 : 409;
        *reply = rc == STORE_NOT_FOUND ? coord_error(NULL, "no run with id '%.40s'", id)
                 : rc                  ? coord_error(NULL, "store: %s", err)
                                       : coord_error(NULL,
                                                     "run %s does not take shards (it is %s: only "
                                                                      "a run created with \"shards\" waits for them)",
                                                     id, st);
        return NULL;
    }
    if (shard < 0 || shard >= r->n) {
        *status = 400;
        *reply = coord_error("shard", "shard: %" PRId64 " is out of range (0..%" PRId64 ")", shard,
                             r->n - 1);
        return NULL;
    }
    return r;
}

cJSON *coord_ended(const struct crun *r)
{
    return coord_error(NULL, "run %s has ended (%s)%s%s", r->id, r->status,
                       r->message[0] ? ": " : "", r->message);
}

int coord_join(struct coord *c, const char *id, int64_t shard, int64_t shards, cJSON **reply)
{
    int status = 200;
    pthread_mutex_lock(&c->mu);
    struct crun *r = coord_shard_run(c, id, shard, &status, reply);
    if (!r) goto out;
    if (r->ended) {
        status = 409;
        *reply = coord_ended(r);
        goto out;
    }
    if (shards != r->n) {
        status = 400;
        *reply = coord_error("shards", "shards: the run has %" PRId64 " shards, not %" PRId64, r->n,
                             shards);
        goto out;
    }
    struct cshard *s = &r->sh[shard];
    if (s->row.joined_us >= 0) {
        status = 409;
        *reply = coord_error("shard", "shard: %" PRId64 " has joined run %s already", shard, id);
        goto out;
    }
    s->row.joined_us = wallclock_us();
    snprintf(s->row.status, sizeof s->row.status, "joined");
    coord_save_shard(c, r, shard);
    r->joined++;
    if (r->joined == r->n) { /* every shard is here: the run runs */
        char err[300];
        if (recorder_start(&r->rec, c->st, r->id, r->npoints, err, sizeof err))
            fprintf(stderr, "conlab serve: run %s: %s\n", r->id, err);
        r->recording = true;
        r->deadline_us = clock_us() + c->o.point_ms * 1000;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "spec", spec_to_json(&r->spec));
    cJSON_AddNumberToObject(o, "shard", (double)shard);
    cJSON_AddNumberToObject(o, "shards", (double)r->n);
    cJSON_AddNumberToObject(o, "points", r->npoints);
    cJSON *ci = cJSON_AddArrayToObject(o, "shard_concurrency");
    for (int l = 0; l < r->spec.nlevels; l++)
        cJSON_AddItemToArray(
            ci, cJSON_CreateNumber((double)part_share(r->spec.levels[l], shard, r->n)));
    cJSON_AddNumberToObject(o, "upload_max_bytes", (double)c->o.upload_max);
    *reply = o;
    pthread_cond_broadcast(&c->cv);
out:
    pthread_mutex_unlock(&c->mu);
    return status;
}
