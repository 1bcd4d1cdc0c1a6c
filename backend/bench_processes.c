/* `processes`: C worker processes, each started by exec of conlab itself (`conlab __worker`), never
 * a bare fork, since the caller may be multi-threaded. The coordinator hands each idle worker
 * the next request over its stdin (WIRE_SEQ) and reads the measured record from its stdout
 * (WIRE_RECORD). A worker that dies turns its request in flight into an error; the others go on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "bench_internal.h"
#include "util.h"
#include "wire.h"

extern char **environ;

struct worker {
    pid_t pid;
    int to_fd, from_fd; /* -1 when closed */
    int64_t busy_seq;   /* request in flight, -1 when idle */
    int64_t busy_due;
};

static int spawn_worker(struct worker *w, char *err, size_t errlen)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC)) return errf(err, errlen, "processes: pipe: %s", strerror(errno));
    if (pipe2(out, O_CLOEXEC)) {
        close(in[0]);
        close(in[1]);
        return errf(err, errlen, "processes: pipe: %s", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char *argv[] = {(char *)"conlab", (char *)"__worker", NULL};
    int e = posix_spawn(&w->pid, self_exe(), &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    if (e) {
        close(in[1]);
        close(out[0]);
        w->pid = -1;
        return errf(err, errlen, "processes: could not start %s __worker: %s", self_exe(), strerror(e));
    }
    w->to_fd = in[1];
    w->from_fd = out[0];
    w->busy_seq = -1;
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

/* Waits for a worker that has exited (or is about to) and adds its cost to the mode's. */
static void reap(struct bench_ctx *c, struct worker *w, char *why, size_t whylen)
{
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (w->pid > 0) {
        while (wait4(w->pid, &status, 0, &ru) < 0 && errno == EINTR) {
        }
        c->child_user_ms += (double)ru.ru_utime.tv_sec * 1000.0 + ru.ru_utime.tv_usec / 1000.0;
        c->child_sys_ms += (double)ru.ru_stime.tv_sec * 1000.0 + ru.ru_stime.tv_usec / 1000.0;
        c->child_rss_kb += ru.ru_maxrss;
    }
    if (why) {
        if (WIFSIGNALED(status))
            snprintf(why, whylen, "worker process died (signal %d)", WTERMSIG(status));
        else
            snprintf(why, whylen, "worker process exited (status %d)", WEXITSTATUS(status));
    }
    w->pid = -1;
}

/* Gives an idle worker the next request, or closes its stdin when none is left. Returns the
 * due time of a request it holds back (rate) in *wait_until, else leaves it. */
static void feed(struct bench_ctx *c, struct worker *w, int64_t *held_seq, int64_t *held_due)
{
    if (w->to_fd < 0 || w->busy_seq >= 0) return;
    if (*held_seq < 0 && !bench_next(c, held_seq, held_due)) {
        *held_seq = -1;
        close_fd(&w->to_fd); /* no more work: the worker exits on EOF */
        return;
    }
    if (c->t0 + *held_due > clock_us()) return; /* not due yet */
    struct wire_seq s = {*held_seq, *held_due};
    if (wire_write(w->to_fd, WIRE_SEQ, &s, sizeof s) == 0) {
        w->busy_seq = *held_seq;
        w->busy_due = *held_due;
        *held_seq = -1;
    } else {
        close_fd(&w->to_fd); /* it died: its EOF on from_fd reports it */
    }
}

int bench_processes_run(struct bench_ctx *c, char *err, size_t errlen)
{
    int64_t n = c->lanes;
    struct worker *ws = calloc((size_t)n, sizeof *ws);
    struct pollfd *pfds = calloc((size_t)n, sizeof *pfds);
    char *spec_text = spec_to_text(c->spec);
    int rc = 0;
    if (!ws || !pfds || !spec_text) {
        rc = errf(err, errlen, "processes: out of memory");
        goto out;
    }
    raise_fd_limit();
    for (int64_t i = 0; i < n; i++) ws[i].pid = -1, ws[i].to_fd = ws[i].from_fd = -1;
    size_t speclen = strlen(spec_text);
    char *init = malloc(sizeof(struct wire_worker_init) + speclen);
    if (!init) {
        rc = errf(err, errlen, "processes: out of memory");
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        if (spawn_worker(&ws[i], err, errlen)) {
            rc = -1;
            break;
        }
        struct wire_worker_init wi = {c->t0, i};
        memcpy(init, &wi, sizeof wi);
        memcpy(init + sizeof wi, spec_text, speclen);
        if (wire_write(ws[i].to_fd, WIRE_INIT, init, (uint32_t)(sizeof wi + speclen)))
            close_fd(&ws[i].to_fd);
    }
    free(init);
    if (rc) {
        pthread_mutex_lock(&c->mu);
        c->abort = true;
        pthread_mutex_unlock(&c->mu);
    }

    int64_t held_seq = -1, held_due = 0, alive = 0;
    for (int64_t i = 0; i < n; i++) alive += ws[i].pid > 0;
    bool signalled = false;
    while (alive > 0) {
        if (bench_cancel_flag && !signalled) {
            /* Busy workers abort their transfer and report it. */
            for (int64_t i = 0; i < n; i++)
                if (ws[i].pid > 0 && ws[i].busy_seq >= 0) kill(ws[i].pid, SIGTERM);
            signalled = true;
        }
        int64_t np = 0, wait_ms = 100;
        for (int64_t i = 0; i < n; i++) {
            if (ws[i].pid <= 0) continue;
            if (!bench_cancel_flag) feed(c, &ws[i], &held_seq, &held_due);
            else if (ws[i].busy_seq < 0) close_fd(&ws[i].to_fd); /* idle: EOF ends it */
            pfds[np].fd = ws[i].from_fd;
            pfds[np].events = POLLIN;
            pfds[np].revents = 0;
            np++;
        }
        if (held_seq >= 0) {
            int64_t until = (c->t0 + held_due - clock_us()) / 1000;
            wait_ms = until < 0 ? 0 : (until < wait_ms ? until : wait_ms);
        }
        if (poll(pfds, (nfds_t)np, (int)wait_ms) < 0 && errno != EINTR) {
            rc = errf(err, errlen, "processes: poll: %s", strerror(errno));
            break;
        }
        np = 0;
        for (int64_t i = 0; i < n; i++) {
            struct worker *w = &ws[i];
            if (w->pid <= 0) continue;
            short rev = pfds[np++].revents;
            if (!rev) continue;
            struct bench_record r;
            uint32_t type = 0, len = 0;
            int got = wire_read(w->from_fd, &type, &r, sizeof r, &len);
            if (got == 1 && type == WIRE_RECORD && len == sizeof r) {
                bench_emit(c, &r);
                w->busy_seq = -1;
                continue;
            }
            /* EOF or garbage: the worker is gone (or going). */
            close_fd(&w->from_fd);
            close_fd(&w->to_fd);
            char why[128];
            reap(c, w, why, sizeof why);
            alive--;
            if (w->busy_seq >= 0) {
                struct bench_record lost;
                memset(&lost, 0, sizeof lost);
                lost.seq = w->busy_seq;
                lost.lane = i;
                lost.sched_us = w->busy_due;
                lost.start_us = lost.connect_us = lost.ttfb_us = -1;
                lost.end_us = clock_us() - c->t0;
                lost.err_kind = REQ_ERR_WORKER;
                snprintf(lost.error, sizeof lost.error, "%s", why);
                bench_emit(c, &lost);
                w->busy_seq = -1;
            }
        }
    }
    if (held_seq >= 0)
        bench_emit_unrun(c, held_seq, bench_cancel_flag ? REQ_ERR_CANCELLED : REQ_ERR_WORKER,
                         bench_cancel_flag ? "cancelled before it started" : "no worker process left");
    /* Requests never handed out because every worker died. */
    if (!bench_cancel_flag && rc == 0) {
        int64_t seq, due;
        while (bench_next(c, &seq, &due)) bench_emit_unrun(c, seq, REQ_ERR_WORKER, "no worker process left");
    }

out:
    if (ws) {
        for (int64_t i = 0; i < n; i++) {
            close_fd(&ws[i].to_fd);
            close_fd(&ws[i].from_fd);
            if (ws[i].pid > 0) {
                kill(ws[i].pid, SIGKILL);
                reap(c, &ws[i], NULL, 0);
            }
        }
    }
    free(ws);
    free(pfds);
    free(spec_text);
    return rc;
}

static void on_term(int sig)
{
    (void)sig;
    bench_cancel_flag = 1;
}

int bench_worker_main(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the coordinator */
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);

    static char buf[WIRE_MAX_PAYLOAD + 1];
    uint32_t type = 0, len = 0;
    if (wire_read(0, &type, buf, WIRE_MAX_PAYLOAD, &len) != 1 || type != WIRE_INIT ||
        len < sizeof(struct wire_worker_init)) {
        fprintf(stderr, "conlab __worker: no setup message on stdin (it is started by `conlab run`)\n");
        return 2;
    }
    buf[len] = '\0';
    struct wire_worker_init wi;
    memcpy(&wi, buf, sizeof wi);
    struct spec_limits lim;
    spec_limits_default(&lim);
    lim.max_requests = INT64_MAX;
    for (int i = 0; i < MODE_COUNT; i++) lim.max_concurrency[i] = INT64_MAX;
    lim.max_timeout_ms = INT64_MAX;
    lim.max_body_bytes = INT64_MAX;
    struct spec s;
    char err[256];
    if (spec_from_text(buf + sizeof wi, &lim, &s, err, sizeof err)) {
        fprintf(stderr, "conlab __worker: %s\n", err);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct curl_slist *headers = bench_curl_headers(&s);
    struct bench_xfer x;
    int rc = 0;
    if (bench_xfer_init(&x, &s, headers, wi.t0_us, err, sizeof err)) {
        fprintf(stderr, "conlab __worker: %s\n", err);
        rc = 1;
    } else {
        struct wire_seq q;
        while (wire_read(0, &type, &q, sizeof q, &len) == 1 && type == WIRE_SEQ && len == sizeof q) {
            bench_xfer_begin(&x, q.seq, wi.lane, q.sched_us);
            bench_xfer_end(&x, bench_cancel_flag ? CURLE_ABORTED_BY_CALLBACK : curl_easy_perform(x.easy));
            if (wire_write(1, WIRE_RECORD, &x.rec, sizeof x.rec)) break;
        }
        bench_xfer_cleanup(&x);
    }
    curl_slist_free_all(headers);
    spec_free(&s);
    curl_global_cleanup();
    return rc;
}
