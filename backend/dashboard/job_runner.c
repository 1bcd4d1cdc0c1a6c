/* The dashboard's side of one run (job_runner.h): spawning `conlab __job`, reading its wire frames into the store
 * in batches, and deciding how the run ended. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "client_registry.h"
#include "job_runner.h"
#include "job_state.h"
#include "recorder.h"
#include "store.h"
#include "util.h"
#include "wire.h"

extern char **environ;

/* One run's frames: the payload buffer and the current mode's table of messages. */
struct job_reader {
    void *frame; /* one frame's payload */
    char **msgs; /* the current mode's messages, by index (WIRE_MSG) */
    int32_t nmsgs, capmsgs;
    int mode; /* enum bench_mode of the mode being read, -1 between modes */
    int64_t concurrency; /* and its level */
    int64_t done_before; /* requests of this mode done at its earlier levels */
    int idx;  /* its index in the run's modes */
    struct recorder rec; /* the run's records and results into the store, and its end state */
    struct job_live_sampler live; /* the running mode's sample for its next live point */
};

struct job_reader *job_reader_new(const struct job_opts *o)
{
    (void)o;
    struct job_reader *rd = calloc(1, sizeof *rd);
    if (!rd) return NULL;
    rd->frame = malloc(WIRE_MAX_PAYLOAD);
    if (!rd->frame) {
        job_reader_free(rd);
        return NULL;
    }
    return rd;
}

static void job_msgs_clear(struct job_reader *rd)
{
    for (int32_t i = 0; i < rd->capmsgs; i++) free(rd->msgs[i]);
    free(rd->msgs);
    rd->msgs = NULL;
    rd->nmsgs = rd->capmsgs = 0;
}

void job_reader_free(struct job_reader *rd)
{
    if (!rd) return;
    job_msgs_clear(rd);
    free(rd->frame);
    free(rd);
}

/* Keeps message `i` of the current mode. Returns 0 or -1 (out of memory, absurd index). */
static int job_msg_put(struct job_reader *rd, int32_t i, const char *text, size_t len)
{
    if (i < 0 || i > (1 << 24)) return -1;
    if (i >= rd->capmsgs) {
        int32_t cap = rd->capmsgs ? rd->capmsgs : 16;
        while (cap <= i) cap *= 2;
        char **m = realloc(rd->msgs, (size_t)cap * sizeof *m);
        if (!m) return -1;
        memset(m + rd->capmsgs, 0, (size_t)(cap - rd->capmsgs) * sizeof *m);
        rd->msgs = m;
        rd->capmsgs = cap;
    }
    free(rd->msgs[i]);
    rd->msgs[i] = strndup(text, len);
    if (i >= rd->nmsgs) rd->nmsgs = i + 1;
    return rd->msgs[i] ? 0 : -1;
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

static int job_mode_index(const struct job_item *it, int32_t mode)
{
    for (int i = 0; i < it->nmodes; i++)
        if ((int32_t)it->modes[i] == mode) return i;
    return -1;
}

/* Stores a mode's records as they come (the child sends them once the mode's clock stopped).
 * Once storing failed, frames are read and dropped until the child is gone: it is killed at the
 * first failure, since nothing more of its run can be kept. */
static int job_records(struct job *j, struct job_reader *rd, uint32_t len, char *fail,
                       size_t faillen)
{
    const size_t size = sizeof(struct bench_record);
    if (len % size || rd->idx < 0) return errf(fail, faillen, "job protocol: unexpected records frame");
    if (recorder_error(&rd->rec)[0]) return 0;
    const struct record_msgs msgs = {rd->nmsgs, (const char *const *)rd->msgs};
    if (recorder_records(&rd->rec, rd->mode, rd->concurrency, rd->frame, len / size, &msgs)) {
        pthread_mutex_lock(&j->mu);
        job_kill_locked(j);
        pthread_mutex_unlock(&j->mu);
    }
    return 0;
}

/* Handles one frame; `ack_fd` is the child's stdin. Returns 0, or -1 when the stream makes no
 * sense (fail filled). */
static int job_frame(struct job *j, struct job_reader *rd, int ack_fd, uint32_t type,
                     uint32_t len, char *fail, size_t faillen)
{
    const struct job_item *it = &j->act.item;
    switch (type) {
    case WIRE_TICK: {
        struct bench_tick t;
        const size_t head = offsetof(struct bench_tick, sample_us);
        if (len < head || len > sizeof t || rd->idx < 0)
            return errf(fail, faillen, "job protocol: unexpected tick frame");
        memcpy(&t, rd->frame, len);
        if (t.nsample < 0 || head + (size_t)t.nsample * sizeof t.sample_us[0] != len)
            return errf(fail, faillen, "job protocol: bad tick frame");
        pthread_mutex_lock(&j->mu);
        j->act.done[rd->idx] = rd->done_before + t.done;
        job_live_feed(&j->act.live, &rd->live, &t);
        job_changed(j);
        pthread_mutex_unlock(&j->mu);
        return 0;
    }
    case WIRE_MSG: {
        int32_t i;
        if (len < sizeof i || rd->idx < 0) return errf(fail, faillen, "job protocol: unexpected message frame");
        memcpy(&i, rd->frame, sizeof i);
        if (job_msg_put(rd, i, (const char *)rd->frame + sizeof i, len - sizeof i))
            return errf(fail, faillen, "job protocol: message %d could not be kept", i);
        return 0;
    }
    case WIRE_RECORDS:
        return job_records(j, rd, len, fail, faillen);
    case WIRE_MODE_START: {
        struct wire_mode_start ms;
        if (len != sizeof ms) return errf(fail, faillen, "job protocol: bad mode start frame");
        memcpy(&ms, rd->frame, sizeof ms);
        int idx = job_mode_index(it, ms.mode);
        if (idx < 0) return errf(fail, faillen, "job protocol: mode %d is not in the spec", ms.mode);
        recorder_begin(&rd->rec, ms.mode, ms.concurrency, ms.total, ms.lanes);
        job_msgs_clear(rd);
        rd->mode = ms.mode;
        rd->concurrency = ms.concurrency;
        rd->idx = idx;
        pthread_mutex_lock(&j->mu);
        j->act.cur = idx;
        rd->done_before = j->act.done[idx];
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
        recorder_result(&rd->rec, &res);
        pthread_mutex_lock(&j->mu);
        j->act.done[rd->idx] = rd->done_before + res.ok + res.errors;
        if (j->act.nresults < JOB_MAX_POINTS) j->act.results[j->act.nresults++] = res;
        job_live_begin(&j->act.live, &rd->live, -1, clock_us());
        job_changed(j);
        pthread_mutex_unlock(&j->mu);
        rd->mode = -1;
        rd->idx = -1;
        job_msgs_clear(rd);
        /* The mode is stored: the child may start the next one. */
        wire_write(ack_fd, WIRE_ACK, NULL, 0);
        return 0;
    }
    case WIRE_FAIL:
        errf(fail, faillen, "%.*s", (int)(len < 400 ? len : 400), (const char *)rd->frame);
        return 0;
    default:
        return errf(fail, faillen, "job protocol: unknown frame type %u", type);
    }
}

/* Reads frames until the child closes its stdout; a cancelled child that does not exit within
 * the grace time is killed. */
static void job_read_frames(struct job *j, struct job_reader *rd, int fd, int ack_fd, char *fail,
                            size_t faillen)
{
    rd->mode = -1;
    rd->idx = -1;
    job_msgs_clear(rd);
    for (;;) {
        int64_t now = clock_us(), wake = INT64_MAX;
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
            else wake = kill_at;
        }
        pthread_mutex_unlock(&j->mu);
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
        if (r <= 0) break; /* EOF; or a child killed mid-frame: its exit status tells why */
        if (job_frame(j, rd, ack_fd, type, len, fail, faillen)) {
            pthread_mutex_lock(&j->mu);
            job_kill_locked(j);
            pthread_mutex_unlock(&j->mu);
            break;
        }
    }
}

/* How the source of this run stopped, for the recorder (which decides the end state): a stop
 * asked by the dashboard or a user, and the failure of the child process, if any. Runs on the
 * runner thread; the cancel and stop flags are written by handlers and by the main thread, so
 * they are read under the lock. */
static struct recorder_end job_end(struct job *j, struct job_reader *rd, const char *fail,
                                   int wst, bool reaped, char *why, size_t whylen, char *note,
                                   size_t notelen)
{
    pthread_mutex_lock(&j->mu);
    bool stopping = j->stopping, cancel = j->act.cancel, overtime = j->act.overtime;
    pthread_mutex_unlock(&j->mu);
    struct recorder_end e = {.stop = stopping ? RECORDER_INTERRUPTED
                                     : cancel ? RECORDER_CANCELLED
                                              : RECORDER_RAN};
    why[0] = note[0] = '\0';
    if (fail[0])
        snprintf(why, whylen, "%s", fail);
    else if (recorder_error(&rd->rec)[0])
        ; /* the child was killed because storing failed: the recorder says so */
    else if (reaped && WIFSIGNALED(wst))
        snprintf(why, whylen, "the job process was killed by signal %d (%s)", WTERMSIG(wst),
                 strsignal(WTERMSIG(wst)));
    else if (reaped && WIFEXITED(wst) && WEXITSTATUS(wst) != 0)
        snprintf(why, whylen, "the job process exited with status %d", WEXITSTATUS(wst));
    e.failure = why;
    if (stopping)
        snprintf(note, notelen, "the dashboard stopped while this run was running");
    else if (overtime)
        snprintf(note, notelen, "stopped after running longer than the dashboard's limit of "
                 "%lld s (--max-run-s)", (long long)(j->o.max_run_ms / 1000));
    e.note = note[0] ? note : NULL;
    return e;
}

void job_run(struct job *j, struct job_reader *rd)
{
    struct job_item *it = &j->act.item;
    char err[300], fail[512] = "", why[600], note[200];
    if (recorder_start(&rd->rec, j->rst, it->id, it->nmodes * it->nlevels, err, sizeof err))
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
        /* The child reads the spec before it writes anything; EPIPE means it died and its exit
         * status tells why. Its stdin stays open for the ACKs. */
        if (j->o.clients && j->o.clients->n) {
            char *cl = client_registry_to_text(j->o.clients, NULL);
            if (cl) wire_write(in_fd, WIRE_CLIENTS, cl, (uint32_t)strlen(cl));
            free(cl);
        }
        wire_write(in_fd, WIRE_SPEC, it->spec_text, (uint32_t)strlen(it->spec_text));
        job_read_frames(j, rd, out_fd, in_fd, fail, sizeof fail);
        close(in_fd);
        close(out_fd);
        pthread_mutex_lock(&j->mu);
        j->act.pid = 0; /* from here on nobody signals it: the pid may be reused once reaped */
        pthread_mutex_unlock(&j->mu);
        pid_t w;
        while ((w = waitpid(pid, &wst, 0)) < 0 && errno == EINTR)
            ;
        reaped = w == pid;
    }
    struct recorder_end end = job_end(j, rd, fail, wst, reaped, why, sizeof why, note, sizeof note);
    const char *status = recorder_finish(&rd->rec, &end, err, sizeof err);
    if (err[0])
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
