/* The dashboard's side of one run (job_runner.h): spawning `conlab __job`, reading its wire frames into the store
 * in batches, and deciding how the run ended. */
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
#include <unistd.h>
#include "job_runner.h"
#include "job_state.h"
#include "store.h"
#include "util.h"
#include "wire.h"

extern char **environ;

/* Batching of records between the child's pipe and the store. */
struct job_reader {
    void *frame; /* one frame's payload */
    struct bench_record *batch;
    size_t n;
    int mode; /* enum bench_mode of the mode being read, -1 between modes */
    int64_t concurrency; /* and its level */
    int idx;  /* its index in the run's modes */
    int64_t first_us;
    bool broken; /* the store failed: frames are read and dropped until the child is gone */
    struct job_live_sampler live; /* counters and sample of the running mode */
};

struct job_reader *job_reader_new(const struct job_opts *o)
{
    struct job_reader *rd = calloc(1, sizeof *rd);
    if (!rd) return NULL;
    rd->frame = malloc(WIRE_MAX_PAYLOAD);
    rd->batch = calloc((size_t)o->flush_rows, sizeof *rd->batch);
    if (!rd->frame || !rd->batch) {
        job_reader_free(rd);
        return NULL;
    }
    return rd;
}

void job_reader_free(struct job_reader *rd)
{
    if (!rd) return;
    free(rd->frame);
    free(rd->batch);
    free(rd);
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
void job_term_locked(struct job *j)
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
    if (store_add_records(j->rst, j->act.item.id, rd->mode, rd->concurrency, rd->batch, n, err,
                          sizeof err)) {
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
        job_live_add(&rd->live, r);
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
            store_mode_begin(j->rst, it->id, ms.mode, ms.concurrency, ms.total, ms.lanes, err,
                             sizeof err)) {
            errf(fail, faillen, "storing the start of a mode: %s", err);
            rd->broken = true;
        }
        rd->mode = ms.mode;
        rd->concurrency = ms.concurrency;
        rd->idx = idx;
        pthread_mutex_lock(&j->mu);
        j->act.cur = idx;
        job_live_begin(&j->act.live, &rd->live, ms.mode, clock_us());
        j->act.concurrency = ms.concurrency;
        job_changed(j);
        pthread_mutex_unlock(&j->mu);
        return 0;
    }
    case WIRE_MODE_DONE: {
        struct mode_result res;
        if (len != sizeof res || rd->idx < 0)
            return errf(fail, faillen, "job protocol: unexpected mode result frame");
        memcpy(&res, rd->frame, sizeof res);
        if (res.mode != rd->mode || res.concurrency != rd->concurrency)
            return errf(fail, faillen, "job protocol: a result for another mode or level");
        job_flush(j, rd, fail, faillen);
        if (!rd->broken && store_mode_finish(j->rst, it->id, &res, err, sizeof err)) {
            errf(fail, faillen, "storing a mode's result: %s", err);
            rd->broken = true;
        }
        pthread_mutex_lock(&j->mu);
        if (j->act.nresults < JOB_MAX_POINTS) j->act.results[j->act.nresults++] = res;
        job_live_begin(&j->act.live, &rd->live, -1, clock_us());
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
        /* A batch is also stored once the pipe has been quiet for flush_idle_ms, so that a slow
         * run's progress shows at once while a fast one's is stored in large batches. */
        if (rd->n) wake = rd->first_us + j->o.flush_ms * 1000;
        if (rd->n && now + j->o.flush_idle_ms * 1000 < wake) wake = now + j->o.flush_idle_ms * 1000;
        /* Live points every tick, whether or not records came (only this thread writes
         * act.live, so it reads it without the lock). */
        int64_t due = job_live_due_us(&j->act.live, &rd->live);
        if (now >= due) {
            pthread_mutex_lock(&j->mu);
            if (job_live_tick(&j->act.live, &rd->live, now)) job_changed(j);
            pthread_mutex_unlock(&j->mu);
            due = job_live_due_us(&j->act.live, &rd->live);
        }
        if (due < wake) wake = due;
        pthread_mutex_lock(&j->mu);
        /* A run that outlives max_run_ms is cancelled, so that one run against a target that
         * never answers does not hold the runner while later runs are refused. */
        if (j->o.max_run_ms > 0 && !j->act.cancel) {
            int64_t end_at = j->act.start_us + j->o.max_run_ms * 1000;
            if (now >= end_at) {
                j->act.cancel = j->act.overtime = true;
                job_term_locked(j);
                job_changed(j);
            } else if (end_at < wake) {
                wake = end_at;
            }
        }
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
        if (pr == 0 && rd->n) job_flush(j, rd, fail, faillen);
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

/* Decides how a run ended. `msg` gets the message stored with it (or ""). Runs on the runner
 * thread, the only writer of the results; the cancel and stop flags are written by handlers and
 * by the main thread, so they are read under the lock. */
static const char *job_outcome(struct job *j, const char *fail, int wst, bool reaped,
                               char *msg, size_t msglen)
{
    const struct job_active *a = &j->act;
    pthread_mutex_lock(&j->mu);
    bool stopping = j->stopping, cancel = a->cancel, overtime = a->overtime;
    pthread_mutex_unlock(&j->mu);
    bool complete = a->nresults == a->item.nmodes * a->item.nlevels;
    for (int i = 0; i < a->nresults; i++)
        if (a->results[i].cancelled) complete = false;
    bool exited_ok = !reaped || (WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
    msg[0] = '\0';
    if (complete && exited_ok && !fail[0]) return "done";
    if (stopping) {
        snprintf(msg, msglen, "the dashboard stopped while this run was running");
        return "interrupted";
    }
    if (overtime)
        snprintf(msg, msglen, "stopped after running longer than the dashboard's limit of %lld s "
                 "(--max-run-s)", (long long)(j->o.max_run_ms / 1000));
    if (cancel) return "cancelled";
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

void job_run(struct job *j, struct job_reader *rd)
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
        j->act.start_us = clock_us();
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
    job_prune(j);
    pthread_mutex_lock(&j->mu);
    j->act.on = false;
    job_item_free(it);
    job_changed(j);
    pthread_mutex_unlock(&j->mu);
}

void job_prune(struct job *j)
{
    if (j->o.max_runs <= 0 && j->o.max_db_bytes <= 0) return;
    char err[256];
    int64_t n = store_prune(j->rst, j->o.max_runs, j->o.max_db_bytes, err, sizeof err);
    if (n < 0)
        fprintf(stderr, "conlab serve: retention: %s\n", err);
    else if (n > 0)
        fprintf(stderr, "conlab serve: retention: deleted the %lld oldest run%s (--max-runs %lld, "
                "--max-db-mb %lld)\n", (long long)n, n == 1 ? "" : "s", (long long)j->o.max_runs,
                (long long)(j->o.max_db_bytes >> 20));
}
