/* The run queue, live progress, cancel and delete (job.h); one run's child is job_runner.c. */
#include "job.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "job_runner.h"
#include "job_state.h"
#include "recorder.h"
#include "store.h"
#include "util.h"

void job_opts_default(struct job_opts *o)
{
    o->queue_max = 16;
    o->queue_per_client = 4;
    o->exe = NULL;
    o->kill_grace_ms = 5000;
    o->max_run_ms = 0;
    o->max_runs = 0;
    o->max_db_bytes = 0;
}

static void job_sleep_cond(pthread_cond_t *c, pthread_mutex_t *m, int64_t timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(c, m, &ts);
}

static void *job_runner(void *arg)
{
    struct job *j = arg;
    struct job_reader *rd = job_reader_new(&j->o);
    job_prune(j);
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (!j->stopping && j->qlen == 0) pthread_cond_wait(&j->work, &j->mu);
        if (j->stopping) break;
        memset(&j->act, 0, sizeof j->act);
        j->act.on = true;
        j->act.cur = -1;
        j->act.live.mode = -1;
        j->act.item = j->queue[0];
        memmove(j->queue, j->queue + 1, (size_t)(j->qlen - 1) * sizeof *j->queue);
        j->qlen--;
        job_changed(j);
        pthread_mutex_unlock(&j->mu);
        if (rd) {
            job_run(j, rd);
        } else {
            /* No reader: the run ends through the recorder all the same, failed. */
            char err[300];
            struct recorder rec;
            const struct job_item *it = &j->act.item;
            recorder_start(&rec, j->rst, it->id, it->nmodes * it->nlevels, err, sizeof err);
            struct recorder_end end = {RECORDER_RAN, "out of memory", NULL};
            recorder_finish(&rec, &end, err, sizeof err);
            pthread_mutex_lock(&j->mu);
            j->act.on = false;
            job_item_free(&j->act.item);
            job_changed(j);
            pthread_mutex_unlock(&j->mu);
        }
        pthread_mutex_lock(&j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    job_reader_free(rd);
    return NULL;
}

int job_start(struct store *runner_st, struct store *api_st, const struct job_opts *o,
              struct job **out, char *err, size_t errlen)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) return errf(err, errlen, "out of memory");
    j->rst = runner_st;
    j->ast = api_st;
    j->o = *o;
    if (j->o.queue_max < 1) j->o.queue_max = 1;
    if (!j->o.exe) j->o.exe = self_exe();
    j->queue = calloc((size_t)j->o.queue_max, sizeof *j->queue);
    if (!j->queue) {
        free(j);
        return errf(err, errlen, "out of memory");
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->work, &ca);
    pthread_cond_init(&j->changed, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&j->thread, NULL, job_runner, j);
    if (rc) {
        job_free(j);
        return errf(err, errlen, "starting the runner thread: %s", strerror(rc));
    }
    j->thread_started = true;
    *out = j;
    return 0;
}

void job_stop(struct job *j)
{
    pthread_mutex_lock(&j->mu);
    j->stopping = true;
    if (j->act.on) job_term_locked(j);
    pthread_cond_broadcast(&j->work);
    job_changed(j);
    pthread_mutex_unlock(&j->mu);
    if (j->thread_started) {
        pthread_join(j->thread, NULL);
        j->thread_started = false;
    }
    pthread_mutex_lock(&j->mu);
    for (int i = 0; i < j->qlen; i++) {
        char err[256];
        if (store_run_set_status(j->rst, j->queue[i].id, "interrupted", wallclock_us(),
                                 "the dashboard stopped before this run started", err,
                                 sizeof err) < 0)
            fprintf(stderr, "conlab serve: run %s: %s\n", j->queue[i].id, err);
        job_item_free(&j->queue[i]);
    }
    j->qlen = 0;
    job_changed(j);
    pthread_mutex_unlock(&j->mu);
}

void job_free(struct job *j)
{
    if (!j) return;
    if (j->thread_started) job_stop(j);
    for (int i = 0; i < j->qlen; i++) job_item_free(&j->queue[i]);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->work);
    pthread_cond_destroy(&j->changed);
    free(j->queue);
    free(j);
}

int job_submit(struct job *j, const struct spec *s, char *id, char *err, size_t errlen)
{
    return job_submit_as(j, s, NULL, id, err, errlen);
}

/* Runs of `client` waiting in the queue. Call with j->mu held. */
static int job_queued_by(const struct job *j, const char *client)
{
    int n = 0;
    for (int i = 0; i < j->qlen; i++)
        n += !strcmp(j->queue[i].client, client);
    return n;
}

int job_submit_as(struct job *j, const struct spec *s, const char *client, char *id, char *err,
                  size_t errlen)
{
    struct job_item it = {.requests = s->requests, .nmodes = s->nmodes, .nlevels = s->nlevels};
    snprintf(it.client, sizeof it.client, "%s", client ? client : "");
    memcpy(it.modes, s->modes, sizeof it.modes);
    mode_names_from_spec(s, &it.names);
    random_id(it.id, JOB_ID_LEN);
    it.spec_text = spec_to_text(s);
    if (!it.spec_text) return errf(err, errlen, "out of memory");

    /* Reserve a slot, create the row without holding the lock, then queue it. */
    pthread_mutex_lock(&j->mu);
    int rc = j->stopping ? JOB_STOPPING
             : j->qlen + j->reserved >= j->o.queue_max ? JOB_QUEUE_FULL
             : it.client[0] && job_queued_by(j, it.client) >= j->o.queue_per_client
                 ? JOB_CLIENT_FULL
                 : JOB_SUBMITTED;
    if (rc == JOB_SUBMITTED) j->reserved++;
    pthread_mutex_unlock(&j->mu);
    if (rc != JOB_SUBMITTED) {
        job_item_free(&it);
        return rc;
    }
    if (store_run_create(j->ast, it.id, s, it.spec_text, "queued", wallclock_us(), err, errlen)) {
        pthread_mutex_lock(&j->mu);
        j->reserved--;
        pthread_mutex_unlock(&j->mu);
        job_item_free(&it);
        return -1;
    }
    pthread_mutex_lock(&j->mu);
    j->reserved--;
    if (j->stopping) {
        pthread_mutex_unlock(&j->mu);
        store_run_set_status(j->ast, it.id, "interrupted", wallclock_us(),
                             "the dashboard stopped before this run started", err, errlen);
        job_item_free(&it);
        return JOB_STOPPING;
    }
    j->queue[j->qlen++] = it;
    memcpy(id, it.id, JOB_ID_LEN + 1);
    job_changed(j);
    pthread_cond_signal(&j->work);
    pthread_mutex_unlock(&j->mu);
    return JOB_SUBMITTED;
}

static void job_fill_item(const struct job_item *it, struct job_progress *out)
{
    out->requests = it->requests;
    out->nmodes = it->nmodes;
    out->nlevels = it->nlevels;
    memcpy(out->modes, it->modes, sizeof out->modes);
    out->names = it->names;
}

/* Call with j->mu held. */
static enum job_state job_fill(struct job *j, const char *id, struct job_progress *out)
{
    memset(out, 0, sizeof *out);
    out->version = j->version;
    out->stopping = j->stopping;
    out->cur = -1;
    out->live.mode = -1;
    if (j->act.on && !strcmp(j->act.item.id, id)) {
        const struct job_active *a = &j->act;
        out->state = JOB_RUNNING;
        out->cancelling = a->cancel;
        job_fill_item(&a->item, out);
        out->cur = a->cur;
        out->concurrency = a->concurrency;
        memcpy(out->done, a->done, sizeof out->done);
        out->nresults = a->nresults;
        out->live = a->live;
        return out->state;
    }
    for (int i = 0; i < j->qlen; i++) {
        if (strcmp(j->queue[i].id, id)) continue;
        out->state = JOB_QUEUED;
        out->position = i;
        job_fill_item(&j->queue[i], out);
        return out->state;
    }
    out->state = JOB_NONE;
    return out->state;
}

enum job_state job_get(struct job *j, const char *id, struct job_progress *out)
{
    pthread_mutex_lock(&j->mu);
    enum job_state s = job_fill(j, id, out);
    pthread_mutex_unlock(&j->mu);
    return s;
}

int job_results(struct job *j, const char *id, int from, struct mode_result *out, int max)
{
    int n = 0;
    pthread_mutex_lock(&j->mu);
    if (j->act.on && !strcmp(j->act.item.id, id))
        for (int i = from; i >= 0 && i < j->act.nresults && n < max; i++) out[n++] = j->act.results[i];
    pthread_mutex_unlock(&j->mu);
    return n;
}

enum job_state job_wait(struct job *j, const char *id, uint64_t since, int64_t timeout_ms,
                        struct job_progress *out)
{
    pthread_mutex_lock(&j->mu);
    /* job_stop bumps the version, so a stop wakes every waiter once (and only once). */
    if (j->version == since && timeout_ms > 0)
        job_sleep_cond(&j->changed, &j->mu, timeout_ms);
    enum job_state s = job_fill(j, id, out);
    pthread_mutex_unlock(&j->mu);
    return s;
}

const char *job_state_name(enum job_state s)
{
    return s == JOB_QUEUED ? "queued" : s == JOB_RUNNING ? "running" : NULL;
}

/* Call with j->mu held. Returns 0 (cancel under way), JOB_NOT_ACTIVE, or -1 (store error). */
static int job_cancel_locked(struct job *j, const char *id, char *err, size_t errlen)
{
    if (j->act.on && !strcmp(j->act.item.id, id)) {
        if (!j->act.cancel) {
            j->act.cancel = true;
            job_term_locked(j); /* no child yet: the runner sends it once spawned */
            job_changed(j);
        }
        return 0;
    }
    for (int i = 0; i < j->qlen; i++) {
        if (strcmp(j->queue[i].id, id)) continue;
        struct job_item it = j->queue[i];
        memmove(j->queue + i, j->queue + i + 1, (size_t)(j->qlen - i - 1) * sizeof *j->queue);
        j->qlen--;
        /* Written before the lock is released, so that whoever sees it leave the queue finds
         * its final status in the store. */
        int rc = store_run_set_status(j->ast, it.id, "cancelled", wallclock_us(), NULL, err,
                                      errlen) < 0 ? -1 : 0;
        job_item_free(&it);
        job_changed(j);
        return rc;
    }
    return JOB_NOT_ACTIVE;
}

int job_cancel(struct job *j, const char *id, char *err, size_t errlen)
{
    pthread_mutex_lock(&j->mu);
    int rc = job_cancel_locked(j, id, err, errlen);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

int job_delete(struct job *j, const char *id, int64_t wait_ms, char *err, size_t errlen)
{
    pthread_mutex_lock(&j->mu);
    int rc = job_cancel_locked(j, id, err, errlen);
    if (rc < 0) {
        pthread_mutex_unlock(&j->mu);
        return -1;
    }
    int64_t deadline = clock_us() + wait_ms * 1000;
    while (j->act.on && !strcmp(j->act.item.id, id)) {
        int64_t left = deadline - clock_us();
        if (left <= 0) {
            pthread_mutex_unlock(&j->mu);
            return errf(err, errlen, "the run is still stopping; try again in a moment");
        }
        job_sleep_cond(&j->changed, &j->mu, (left + 999) / 1000);
    }
    pthread_mutex_unlock(&j->mu);
    return store_run_delete(j->ast, id, err, errlen);
}
