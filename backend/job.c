#include "job.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "store.h"
#include "util.h"
#include "wire.h"

extern char **environ;

struct job_item {
    char id[JOB_ID_LEN + 1];
    char *spec_text; /* what the child reads on stdin */
    int64_t requests;
    int nmodes;
    enum bench_mode modes[MODE_COUNT];
};

/* The running run. Only the runner thread changes `item`; everything else is under j->mu. */
struct job_active {
    bool on;
    struct job_item item;
    pid_t pid;         /* the child while it runs; 0 before the spawn and once it is being reaped */
    bool cancel;       /* a cancel was asked */
    int64_t term_us;   /* when SIGTERM was sent (0: not yet) */
    bool killed;       /* SIGKILL sent after the grace time */
    int cur;
    int64_t done[MODE_COUNT];
    int nresults;
    struct mode_result results[MODE_COUNT];
};

struct job {
    pthread_mutex_t mu;
    pthread_cond_t work;    /* the runner waits here for queued runs */
    pthread_cond_t changed; /* progress waiters wait here; broadcast on every version change */
    struct store *rst;      /* the runner's connection */
    struct store *ast;      /* the handlers' connection */
    struct job_opts o;
    struct job_item *queue; /* FIFO, queue[0] runs next */
    int qlen;
    int reserved; /* slots promised to submitters that are creating their store row */
    struct job_active act;
    uint64_t version;
    bool stopping;
    bool thread_started;
    pthread_t thread;
};

/* Batching of records between the child's pipe and the store. */
struct job_reader {
    void *frame; /* one frame's payload */
    struct bench_record *batch;
    size_t n;
    int mode; /* enum bench_mode of the mode being read, -1 between modes */
    int idx;  /* its index in the run's modes */
    int64_t first_us;
    bool broken; /* the store failed: frames are read and dropped until the child is gone */
};

void job_opts_default(struct job_opts *o)
{
    o->queue_max = 16;
    o->exe = NULL;
    o->flush_rows = 1000;
    o->flush_ms = 200;
    o->kill_grace_ms = 5000;
}

/* Call with j->mu held. */
static void job_changed(struct job *j)
{
    j->version++;
    pthread_cond_broadcast(&j->changed);
}

static void job_item_free(struct job_item *it)
{
    free(it->spec_text);
    it->spec_text = NULL;
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

/* Spawns `exe __job` with pipes on its stdin and stdout, in a process group of its own (a ^C in
 * the terminal reaches the dashboard only, which then stops the child itself), with default
 * signal dispositions and an empty signal mask (the dashboard blocks and ignores some), and no
 * other descriptor of ours. */
static int job_spawn(const char *exe, pid_t *pid, int *in_fd, int *out_fd, char *err,
                     size_t errlen)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC)) return errf(err, errlen, "pipe: %s", strerror(errno));
    if (pipe2(out, O_CLOEXEC)) {
        close(in[0]);
        close(in[1]);
        return errf(err, errlen, "pipe: %s", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&at);
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGCHLD);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
    char *argv[] = {(char *)exe, (char *)"__job", NULL};
    int rc = posix_spawn(pid, exe, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[0]);
    close(out[1]);
    if (rc) {
        close(in[1]);
        close(out[0]);
        return errf(err, errlen, "could not start '%s __job': %s", exe, strerror(rc));
    }
    *in_fd = in[1];
    *out_fd = out[0];
    return 0;
}

/* Kills the child's whole process group (it and its `processes` workers). Call with j->mu. */
static void job_kill_locked(struct job *j)
{
    if (j->act.pid > 0 && !j->act.killed) {
        kill(-j->act.pid, SIGKILL);
        kill(j->act.pid, SIGKILL);
        j->act.killed = true;
    }
}

/* Asks the running child to stop (the engine ends the current mode with cancelled records).
 * Call with j->mu. */
static void job_term_locked(struct job *j)
{
    if (j->act.pid > 0 && !j->act.term_us) {
        kill(j->act.pid, SIGTERM);
        j->act.term_us = clock_us();
    }
}

static int job_flush(struct job *j, struct job_reader *rd, char *fail, size_t faillen)
{
    if (!rd->n) return 0;
    size_t n = rd->n;
    rd->n = 0;
    if (rd->broken) return 0;
    char err[256];
    if (store_add_records(j->rst, j->act.item.id, rd->mode, rd->batch, n, err, sizeof err)) {
        errf(fail, faillen, "storing request records: %s", err);
        rd->broken = true;
        pthread_mutex_lock(&j->mu);
        job_kill_locked(j);
        pthread_mutex_unlock(&j->mu);
        return -1;
    }
    pthread_mutex_lock(&j->mu);
    j->act.done[rd->idx] += (int64_t)n;
    job_changed(j);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

static int job_mode_index(const struct job_item *it, int32_t mode)
{
    for (int i = 0; i < it->nmodes; i++)
        if ((int32_t)it->modes[i] == mode) return i;
    return -1;
}

/* Handles one frame. Returns 0, or -1 when the stream makes no sense (fail filled). */
static int job_frame(struct job *j, struct job_reader *rd, uint32_t type, uint32_t len,
                     char *fail, size_t faillen)
{
    const struct job_item *it = &j->act.item;
    char err[256];
    switch (type) {
    case WIRE_RECORD: {
        if (len != sizeof(struct bench_record) || rd->idx < 0)
            return errf(fail, faillen, "job protocol: unexpected record frame");
        struct bench_record *r = &rd->batch[rd->n];
        memcpy(r, rd->frame, sizeof *r);
        r->error[RECORD_ERROR_MAX - 1] = '\0';
        if (rd->n++ == 0) rd->first_us = clock_us();
        if ((int64_t)rd->n >= j->o.flush_rows ||
            clock_us() - rd->first_us >= j->o.flush_ms * 1000)
            job_flush(j, rd, fail, faillen);
        return 0;
    }
    case WIRE_MODE_START: {
        struct wire_mode_start ms;
        if (len != sizeof ms) return errf(fail, faillen, "job protocol: bad mode start frame");
        memcpy(&ms, rd->frame, sizeof ms);
        int idx = job_mode_index(it, ms.mode);
        if (idx < 0) return errf(fail, faillen, "job protocol: mode %d is not in the spec", ms.mode);
        job_flush(j, rd, fail, faillen);
        if (!rd->broken &&
            store_mode_begin(j->rst, it->id, ms.mode, ms.total, ms.lanes, err, sizeof err)) {
            errf(fail, faillen, "storing the start of a mode: %s", err);
            rd->broken = true;
        }
        rd->mode = ms.mode;
        rd->idx = idx;
        pthread_mutex_lock(&j->mu);
        j->act.cur = idx;
        job_changed(j);
        pthread_mutex_unlock(&j->mu);
        return 0;
    }
    case WIRE_MODE_DONE: {
        struct mode_result res;
        if (len != sizeof res || rd->idx < 0 || ((struct mode_result *)rd->frame)->mode != rd->mode)
            return errf(fail, faillen, "job protocol: unexpected mode result frame");
        memcpy(&res, rd->frame, sizeof res);
        job_flush(j, rd, fail, faillen);
        if (!rd->broken && store_mode_finish(j->rst, it->id, &res, err, sizeof err)) {
            errf(fail, faillen, "storing a mode's result: %s", err);
            rd->broken = true;
        }
        pthread_mutex_lock(&j->mu);
        if (j->act.nresults < MODE_COUNT) j->act.results[j->act.nresults++] = res;
        job_changed(j);
        pthread_mutex_unlock(&j->mu);
        rd->mode = -1;
        rd->idx = -1;
        return 0;
    }
    case WIRE_FAIL:
        errf(fail, faillen, "%.*s", (int)(len < 400 ? len : 400), (const char *)rd->frame);
        return 0;
    default:
        return errf(fail, faillen, "job protocol: unknown frame type %u", type);
    }
}

/* Reads frames until the child closes its stdout. Records are stored in batches of flush_rows
 * or every flush_ms, whichever comes first; a cancelled child that does not exit within the grace
 * time is killed. */
static void job_read_frames(struct job *j, struct job_reader *rd, int fd, char *fail,
                            size_t faillen)
{
    rd->n = 0;
    rd->mode = -1;
    rd->idx = -1;
    rd->broken = false;
    for (;;) {
        int64_t now = clock_us();
        int64_t wake = INT64_MAX;
        if (rd->n) wake = rd->first_us + j->o.flush_ms * 1000;
        pthread_mutex_lock(&j->mu);
        if (j->act.term_us && !j->act.killed) {
            int64_t kill_at = j->act.term_us + j->o.kill_grace_ms * 1000;
            if (now >= kill_at) job_kill_locked(j);
            else if (kill_at < wake) wake = kill_at;
        }
        pthread_mutex_unlock(&j->mu);
        if (rd->n && now >= rd->first_us + j->o.flush_ms * 1000) {
            job_flush(j, rd, fail, faillen);
            continue;
        }
        int timeout = wake == INT64_MAX ? -1 : (int)((wake - now + 999) / 1000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, timeout);
        if (pr < 0 && errno != EINTR) {
            errf(fail, faillen, "poll: %s", strerror(errno));
            break;
        }
        if (pr <= 0) continue;
        uint32_t type, len;
        int r = wire_read(fd, &type, rd->frame, WIRE_MAX_PAYLOAD, &len);
        if (r == 0) break;
        if (r < 0) break; /* a child killed mid-frame: its exit status tells why */
        if (job_frame(j, rd, type, len, fail, faillen)) {
            pthread_mutex_lock(&j->mu);
            job_kill_locked(j);
            pthread_mutex_unlock(&j->mu);
            break;
        }
    }
    job_flush(j, rd, fail, faillen);
}

/* Decides how a run ended. `msg` gets the message stored with it (or ""). */
static const char *job_outcome(struct job *j, const char *fail, int wst, bool reaped,
                               char *msg, size_t msglen)
{
    const struct job_active *a = &j->act;
    bool complete = a->nresults == a->item.nmodes;
    for (int i = 0; i < a->nresults; i++)
        if (a->results[i].cancelled) complete = false;
    bool exited_ok = !reaped || (WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
    msg[0] = '\0';
    if (complete && exited_ok && !fail[0]) return "done";
    if (j->stopping) {
        snprintf(msg, msglen, "the dashboard stopped while this run was running");
        return "interrupted";
    }
    if (a->cancel) return "cancelled";
    if (fail[0]) snprintf(msg, msglen, "%s", fail);
    else if (reaped && WIFSIGNALED(wst))
        snprintf(msg, msglen, "the job process was killed by signal %d (%s)", WTERMSIG(wst),
                 strsignal(WTERMSIG(wst)));
    else if (reaped && WIFEXITED(wst) && WEXITSTATUS(wst) != 0)
        snprintf(msg, msglen, "the job process exited with status %d", WEXITSTATUS(wst));
    else
        snprintf(msg, msglen, "the job process ended before finishing every mode");
    return "failed";
}

/* Runs j->act from start to its final status. Runs on the runner thread. */
static void job_run(struct job *j, struct job_reader *rd)
{
    struct job_item *it = &j->act.item;
    char err[256], fail[512] = "", msg[600];
    if (store_run_set_status(j->rst, it->id, "running", -1, NULL, err, sizeof err) < 0)
        fprintf(stderr, "conlab serve: run %s: %s\n", it->id, err);
    pid_t pid = 0;
    int in_fd = -1, out_fd = -1, wst = 0;
    bool reaped = false;
    if (job_spawn(j->o.exe, &pid, &in_fd, &out_fd, fail, sizeof fail) == 0) {
        pthread_mutex_lock(&j->mu);
        j->act.pid = pid;
        if (j->act.cancel || j->stopping) job_term_locked(j);
        pthread_mutex_unlock(&j->mu);
        /* The child reads its whole stdin before it writes anything; EPIPE means it died and
         * its exit status tells why. */
        write_all(in_fd, it->spec_text, strlen(it->spec_text));
        close(in_fd);
        job_read_frames(j, rd, out_fd, fail, sizeof fail);
        close(out_fd);
        pthread_mutex_lock(&j->mu);
        j->act.pid = 0; /* from here on nobody signals it: the pid may be reused once reaped */
        pthread_mutex_unlock(&j->mu);
        pid_t w;
        while ((w = waitpid(pid, &wst, 0)) < 0 && errno == EINTR)
            ;
        reaped = w == pid;
    }
    const char *status = job_outcome(j, fail, wst, reaped, msg, sizeof msg);
    if (store_run_set_status(j->rst, it->id, status, wallclock_us(), msg[0] ? msg : NULL, err,
                             sizeof err) < 0)
        fprintf(stderr, "conlab serve: run %s: setting status %s: %s\n", it->id, status, err);
    pthread_mutex_lock(&j->mu);
    j->act.on = false;
    job_item_free(it);
    job_changed(j);
    pthread_mutex_unlock(&j->mu);
}

static void *job_runner(void *arg)
{
    struct job *j = arg;
    struct job_reader rd = {0};
    rd.frame = malloc(WIRE_MAX_PAYLOAD);
    rd.batch = calloc((size_t)j->o.flush_rows, sizeof *rd.batch);
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (!j->stopping && j->qlen == 0) pthread_cond_wait(&j->work, &j->mu);
        if (j->stopping) break;
        memset(&j->act, 0, sizeof j->act);
        j->act.on = true;
        j->act.cur = -1;
        j->act.item = j->queue[0];
        memmove(j->queue, j->queue + 1, (size_t)(j->qlen - 1) * sizeof *j->queue);
        j->qlen--;
        job_changed(j);
        pthread_mutex_unlock(&j->mu);
        if (rd.frame && rd.batch) {
            job_run(j, &rd);
        } else {
            char err[128];
            store_run_set_status(j->rst, j->act.item.id, "failed", wallclock_us(),
                                 "out of memory", err, sizeof err);
            pthread_mutex_lock(&j->mu);
            j->act.on = false;
            job_item_free(&j->act.item);
            job_changed(j);
            pthread_mutex_unlock(&j->mu);
        }
        pthread_mutex_lock(&j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    free(rd.frame);
    free(rd.batch);
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
    if (j->o.flush_rows < 1) j->o.flush_rows = 1;
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
    struct job_item it = {.requests = s->requests, .nmodes = s->nmodes};
    memcpy(it.modes, s->modes, sizeof it.modes);
    random_id(it.id, JOB_ID_LEN);
    it.spec_text = spec_to_text(s);
    if (!it.spec_text) return errf(err, errlen, "out of memory");

    /* Reserve a slot, create the row without holding the lock, then queue it. */
    pthread_mutex_lock(&j->mu);
    int rc = j->stopping ? JOB_STOPPING
             : j->qlen + j->reserved >= j->o.queue_max ? JOB_QUEUE_FULL
                                                         : JOB_SUBMITTED;
    if (rc == JOB_SUBMITTED) j->reserved++;
    pthread_mutex_unlock(&j->mu);
    if (rc != JOB_SUBMITTED) {
        job_item_free(&it);
        return rc;
    }
    if (store_run_create(j->ast, it.id, it.spec_text, "queued", wallclock_us(), err, errlen)) {
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
    memcpy(out->modes, it->modes, sizeof out->modes);
}

/* Call with j->mu held. */
static enum job_state job_fill(struct job *j, const char *id, struct job_progress *out)
{
    memset(out, 0, sizeof *out);
    out->version = j->version;
    out->stopping = j->stopping;
    out->cur = -1;
    if (j->act.on && !strcmp(j->act.item.id, id)) {
        const struct job_active *a = &j->act;
        out->state = JOB_RUNNING;
        out->cancelling = a->cancel;
        job_fill_item(&a->item, out);
        out->cur = a->cur;
        memcpy(out->done, a->done, sizeof out->done);
        out->nresults = a->nresults;
        memcpy(out->results, a->results, (size_t)a->nresults * sizeof *a->results);
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

cJSON *job_progress_json(const struct job_progress *p)
{
    cJSON *o = cJSON_CreateObject();
    int64_t done = 0;
    for (int i = 0; i < p->nmodes; i++) done += p->done[i];
    cJSON_AddNumberToObject(o, "done", (double)done);
    cJSON_AddNumberToObject(o, "total", (double)(p->requests * p->nmodes));
    if (p->cur >= 0) cJSON_AddStringToObject(o, "mode", mode_name(p->modes[p->cur]));
    else cJSON_AddNullToObject(o, "mode");
    /* The modes begun so far, as the store lists them for a run that has ended. */
    cJSON *m = cJSON_AddObjectToObject(o, "modes");
    for (int i = 0; i <= p->cur && i < p->nmodes; i++) {
        cJSON *e = cJSON_AddObjectToObject(m, mode_name(p->modes[i]));
        cJSON_AddNumberToObject(e, "done", (double)p->done[i]);
        cJSON_AddNumberToObject(e, "total", (double)p->requests);
    }
    if (p->state == JOB_QUEUED) cJSON_AddNumberToObject(o, "position", p->position);
    return o;
}

/* Call with j->mu held. Returns 0 (cancel under way), 1 (not active here), -1 (store error). */
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
    return 1;
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
