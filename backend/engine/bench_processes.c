/* `processes`: C worker processes. Each worker claims the next request itself from a counter in
 * shared memory and records into its own log there (bench_log.c): no round trip to a
 * coordinator per request. The coordinator only starts the workers, reports progress and sees
 * them end (pidfds); a worker that dies turns its request in flight into an error, the others go
 * on.
 *
 * Forking is safe only from a single-threaded process. The engine's own processes (`conlab
 * run`, the job child) are single-threaded when this mode starts, so they fork the workers
 * directly. A caller with other threads execs one `conlab __workers` starter instead, which
 * maps the same shared memory and forks the workers (an exec per worker would cost C dynamic
 * loads of libcurl's thirty-odd libraries). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench_processes.h"
#include "bench_cancel.h"
#include "bench_curl.h"
#include "bench_dispatch.h"
#include "bench_log.h"
#include "util.h"
#include "wire.h"

extern char **environ;


static int threads_in_process(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    int n = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1) break;
    fclose(f);
    return n;
}

/* A field of a /proc file in kB ("Pss:", "VmHWM:"), 0 when absent. */
static int64_t proc_kb(const char *path, const char *field)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[256];
    long long kb = 0;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && sscanf(line + n, " %lld", &kb) == 1) break;
    fclose(f);
    return kb;
}

static void on_cancel_signal(int sig)
{
    (void)sig;
    bench_cancel();
}

/* A worker: claims, runs and records requests until none is left or the run is cancelled;
 * then leaves its memory cost in its log (Pss counts the pages it shares with its siblings
 * once, proportionally). */
static int worker_main(struct bench_ctx *c, int64_t lane)
{
    struct bench_log *log = &c->sh->logs[lane];
    struct bench_xfer x;
    char err[256];
    if (bench_xfer_init(&x, c->spec, c->headers, c->t0, err, sizeof err)) {
        bench_abort(c);
        fprintf(stderr, "conlab worker %lld: %s\n", (long long)lane, err);
        return 1;
    }
    int64_t seq, due;
    while (bench_claim(c, &seq, &due) && bench_wait_due(c, due)) {
        __atomic_store_n(&log->busy_sched, due, __ATOMIC_RELAXED);
        __atomic_store_n(&log->busy_seq, seq, __ATOMIC_RELEASE);
        bench_xfer_begin(&x, seq, lane, due);
        bench_xfer_end(&x, bench_xfer_perform(&x));
        bench_log_put(c, log, &x.rec, x.error);
        __atomic_store_n(&log->busy_seq, -1, __ATOMIC_RELEASE);
        bench_xfer_work(&x);
    }
    bench_log_flush(c, log);
    log->pss_kb = proc_kb("/proc/self/smaps_rollup", "Pss:");
    log->rss_kb = proc_kb("/proc/self/status", "VmHWM:");
    return 0;
}

pid_t bench_processes_fork(struct bench_ctx *c, int64_t lane)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the coordinator */
    if (getppid() != parent) _exit(1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_cancel_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* _exit without cleanup: the exit is part of the mode's measured time, and the kernel frees
     * all of it faster than libcurl and OpenSSL would. */
    _exit(worker_main(c, lane));
}

void bench_processes_ended(struct bench_ctx *c, int64_t lane, int status)
{
    struct bench_log *log = &c->sh->logs[lane];
    log->status = status;
    log->ended_us = clock_us() - c->t0;
}

/* Starts `conlab __workers` with the shared memory, the spill and the cancel pipe; its stdin
 * carries the setup (struct wire_worker_init, then the spec's text). */
static int spawn_starter(struct bench_ctx *c, pid_t *pid, char *err, size_t errlen)
{
    int in[2];
    if (pipe2(in, O_CLOEXEC)) return errf(err, errlen, "processes: pipe: %s", strerror(errno));
    /* The dup2s below run in order in the child: a source that is itself one of the targets
     * (the cancel pipe made by an earlier mode is often fd 3) would be overwritten before it is
     * copied. Copies at 10 and above cannot be. */
    int src[4] = {in[0], c->sh_fd, c->spill_fd, bench_cancel_fd()};
    const int dst[4] = {0, BENCH_FD_SHARED, BENCH_FD_SPILL, BENCH_FD_CANCEL};
    for (int i = 0; i < 4; i++) src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < 4; i++)
        if (src[i] >= 0) posix_spawn_file_actions_adddup2(&fa, src[i], dst[i]);
    /* stdout may be the dashboard's frame pipe (conlab __job): keep workers off it. */
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)"conlab", (char *)"__workers", NULL};
    int e = src[0] < 0 || src[1] < 0 || src[2] < 0 || src[3] < 0
                ? errno
                : posix_spawn(pid, self_exe(), &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 4; i++)
        if (src[i] >= 0) close(src[i]);
    close(in[0]);
    if (e) {
        close(in[1]);
        return errf(err, errlen, "processes: could not start %s __workers: %s", self_exe(),
                    strerror(e));
    }
    char *text = spec_to_text(c->spec);
    size_t len = text ? strlen(text) : 0;
    char *init = malloc(sizeof(struct wire_worker_init) + len);
    int rc = 0;
    if (!text || !init) {
        rc = errf(err, errlen, "processes: out of memory");
    } else {
        struct wire_worker_init wi = {c->t0, c->lanes, (int64_t)c->sh_size};
        memcpy(init, &wi, sizeof wi);
        memcpy(init + sizeof wi, text, len);
        /* A starter that died at once shows up as its exit. */
        wire_write(in[1], WIRE_INIT, init, (uint32_t)(sizeof wi + len));
    }
    free(text);
    free(init);
    close(in[1]);
    return rc;
}

/* Waits for the watched processes (workers, or the starter) to end, ticking meanwhile. */
static int watch(struct bench_ctx *c, const pid_t *pids, const int64_t *lanes, int64_t n, char *err,
                 size_t errlen)
{
    struct pollfd *pf = calloc((size_t)n + 1, sizeof *pf);
    int64_t *idx = calloc((size_t)n + 1, sizeof *idx);
    if (!pf || !idx) {
        free(pf);
        free(idx);
        return errf(err, errlen, "processes: out of memory");
    }
    int *pidfds = calloc((size_t)n, sizeof *pidfds);
    int rc = 0;
    int64_t live = 0;
    for (int64_t i = 0; pidfds && i < n; i++) {
        pidfds[i] = pidfd_open(pids[i], 0);
        if (pidfds[i] < 0)
            rc = errf(err, errlen, "processes: pidfd_open: %s", strerror(errno));
        else
            live++;
    }
    while (rc == 0 && live > 0) {
        nfds_t np = 0;
        for (int64_t i = 0; i < n; i++)
            if (pidfds[i] >= 0) {
                idx[np] = i;
                pf[np++] = (struct pollfd){.fd = pidfds[i], .events = POLLIN};
            }
        if (!bench_cancel_flag) {
            idx[np] = -1;
            pf[np++] = (struct pollfd){.fd = bench_cancel_fd(), .events = POLLIN};
        }
        bool ticks = c->sink && c->sink->tick;
        int64_t wait = ticks ? c->next_tick_us - clock_us() : -1;
        int pr = poll(pf, np, !ticks ? -1 : wait <= 0 ? 0 : (int)((wait + 999) / 1000));
        if (pr < 0 && errno != EINTR) {
            rc = errf(err, errlen, "processes: poll: %s", strerror(errno));
            break;
        }
        for (nfds_t k = 0; pr > 0 && k < np; k++) {
            if (!pf[k].revents) continue;
            if (idx[k] < 0) {
                bench_cancel_flag = 1; /* the workers saw the same pipe */
                continue;
            }
            int64_t i = idx[k];
            int status = 0;
            if (waitpid(pids[i], &status, WNOHANG) != pids[i]) continue;
            if (lanes) bench_processes_ended(c, lanes[i], status);
            close(pidfds[i]);
            pidfds[i] = -1;
            live--;
        }
        if (ticks && clock_us() >= c->next_tick_us) bench_tick(c);
    }
    for (int64_t i = 0; pidfds && i < n; i++) {
        if (pidfds[i] < 0) continue;
        kill(pids[i], SIGKILL); /* only after a failure above */
        while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR) {
        }
        close(pidfds[i]);
    }
    if (!pidfds) rc = errf(err, errlen, "processes: out of memory");
    free(pidfds);
    free(pf);
    free(idx);
    return rc;
}

/* After every worker ended: what died with them, and what they cost. */
static int settle(struct bench_ctx *c, char *err, size_t errlen)
{
    c->lost = calloc((size_t)c->lanes, sizeof *c->lost);
    if (!c->lost) return errf(err, errlen, "processes: out of memory");
    bool any_ok = false;
    for (int64_t i = 0; i < c->lanes; i++) {
        struct bench_log *log = &c->sh->logs[i];
        c->workers_pss_kb += log->pss_kb;
        c->workers_rss_kb += log->rss_kb;
        int st = log->status;
        bool clean = st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
        any_ok |= clean;
        int64_t seq = __atomic_load_n(&log->busy_seq, __ATOMIC_ACQUIRE);
        if (clean || seq < 0) continue;
        struct bench_lost *l = &c->lost[c->nlost++];
        l->seq = seq;
        l->lane = i;
        l->sched_us = log->busy_sched;
        l->end_us = log->ended_us;
        if (st < 0)
            snprintf(l->why, sizeof l->why, "worker process lost (its starter exited)");
        else if (WIFSIGNALED(st))
            snprintf(l->why, sizeof l->why, "worker process died (signal %d)", WTERMSIG(st));
        else
            snprintf(l->why, sizeof l->why, "worker process exited (status %d)", WEXITSTATUS(st));
    }
    c->no_worker_left = !any_ok;
    if (__atomic_load_n(&c->sh->abort, __ATOMIC_RELAXED))
        return errf(err, errlen, "processes: a worker could not set up libcurl");
    return 0;
}

int bench_processes_run(struct bench_ctx *c, char *err, size_t errlen)
{
    raise_fd_limit();
    int64_t n = c->lanes;
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    int64_t *lanes = calloc((size_t)n, sizeof *lanes);
    if (!pids || !lanes) {
        free(pids);
        free(lanes);
        return errf(err, errlen, "processes: out of memory");
    }
    int rc = 0;
    if (threads_in_process() == 1) {
        int64_t started = 0;
        for (; started < n; started++) {
            pids[started] = bench_processes_fork(c, started);
            if (pids[started] < 0) {
                rc = errf(err, errlen, "processes: fork: %s", strerror(errno));
                bench_abort(c);
                break;
            }
            lanes[started] = started;
        }
        int wrc = watch(c, pids, lanes, started, err, errlen);
        if (rc == 0) rc = wrc;
    } else {
        pid_t starter = -1;
        rc = spawn_starter(c, &starter, err, errlen);
        if (rc == 0) rc = watch(c, &starter, NULL, 1, err, errlen);
    }
    free(pids);
    free(lanes);
    int src = settle(c, rc ? NULL : err, errlen);
    return rc ? rc : src;
}
