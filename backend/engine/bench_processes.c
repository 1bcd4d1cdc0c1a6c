/* `processes`: C worker processes. The caller may be multi-threaded (the dashboard), so workers
 * are never a bare fork of it: the coordinator execs one `conlab __workers` (single-threaded, so
 * forking it is safe), which forks the C workers — an exec per worker would cost C dynamic
 * loads of libcurl's thirty-odd libraries. Each worker talks to the coordinator over a socket
 * of its own, passed up with SCM_RIGHTS: the coordinator hands an idle worker the next request
 * (WIRE_SEQ) and reads back the measured record (WIRE_RECORD). The starter reaps the workers
 * and reports each exit (signal, peak RSS). A worker that dies turns its request in flight into
 * an error; the others go on. */
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench_internal.h"
#include "util.h"
#include "wire.h"

extern char **environ;

enum { CTL_FD = 3 }; /* the starter's end of the control socket */

/* Starter -> coordinator, one SOCK_SEQPACKET message each. */
struct ctl_msg {
    int32_t type; /* CTL_WORKER (a worker's socket attached) or CTL_EXIT */
    int32_t lane;
    int32_t pid;
    int32_t status; /* CTL_EXIT: wait status */
    int64_t maxrss_kb;
};
enum { CTL_WORKER = 1, CTL_EXIT = 2 };

struct worker {
    int fd; /* -1 until received, and again once closed */
    pid_t pid;
    int64_t busy_seq; /* request in flight, -1 when idle */
    int64_t busy_due;
    bool eof, exited, done, shut;
    int status;
};

static int spawn_starter(const struct spec *s, int64_t t0, int64_t lanes, pid_t *pid, int *ctl,
                         char *err, size_t errlen)
{
    int in[2], sv[2];
    if (pipe2(in, O_CLOEXEC)) return errf(err, errlen, "processes: pipe: %s", strerror(errno));
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
        close(in[0]);
        close(in[1]);
        return errf(err, errlen, "processes: socketpair: %s", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, sv[1], CTL_FD);
    /* stdout may be the dashboard's frame pipe (conlab __job): keep workers off it. */
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)"conlab", (char *)"__workers", NULL};
    int e = posix_spawn(pid, self_exe(), &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(sv[1]);
    if (e) {
        close(in[1]);
        close(sv[0]);
        return errf(err, errlen, "processes: could not start %s __workers: %s", self_exe(), strerror(e));
    }
    char *text = spec_to_text(s);
    size_t len = text ? strlen(text) : 0;
    char *init = malloc(sizeof(struct wire_worker_init) + len);
    int rc = 0;
    if (!text || !init) {
        rc = errf(err, errlen, "processes: out of memory");
    } else {
        struct wire_worker_init wi = {t0, lanes};
        memcpy(init, &wi, sizeof wi);
        memcpy(init + sizeof wi, text, len);
        /* A starter that died at once shows up as EOF on the control socket. */
        wire_write(in[1], WIRE_INIT, init, (uint32_t)(sizeof wi + len));
    }
    free(text);
    free(init);
    close(in[1]);
    *ctl = sv[0];
    return rc;
}

/* Receives one starter message; *fd gets an attached socket or -1. Returns 1, 0 on EOF, -1. */
static int ctl_recv(int ctl, struct ctl_msg *m, int *fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {m, sizeof *m};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n;
    while ((n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
    }
    if (n == 0) return 0;
    if (n != (ssize_t)sizeof *m) return -1;
    *fd = -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(fd, CMSG_DATA(c), sizeof(int));
    return 1;
}

/* Gives an idle worker the next due request, or ends its input when none is left. */
static void feed(struct bench_ctx *c, struct worker *w, int64_t *held_seq, int64_t *held_due)
{
    if (w->fd < 0 || w->eof || w->shut || w->busy_seq >= 0) return;
    if (*held_seq < 0 && !bench_next(c, held_seq, held_due)) {
        *held_seq = -1;
        shutdown(w->fd, SHUT_WR); /* no more work: the worker exits on EOF */
        w->shut = true;
        return;
    }
    if (c->t0 + *held_due > clock_us()) return; /* not due yet (rate) */
    struct wire_seq q = {*held_seq, *held_due};
    if (wire_write(w->fd, WIRE_SEQ, &q, sizeof q) == 0) {
        w->busy_seq = *held_seq;
        w->busy_due = *held_due;
        *held_seq = -1;
    }
}

/* Once a worker's socket closed and its exit is known, its request in flight is an error. */
static void settle(struct bench_ctx *c, struct worker *w, int64_t lane)
{
    if (w->done || !w->eof || !w->exited) return;
    w->done = true;
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    if (w->busy_seq < 0) return;
    struct bench_record lost;
    memset(&lost, 0, sizeof lost);
    lost.seq = w->busy_seq;
    lost.lane = lane;
    lost.sched_us = w->busy_due;
    lost.start_us = lost.connect_us = lost.ttfb_us = -1;
    lost.end_us = clock_us() - c->t0;
    lost.err_kind = REQ_ERR_WORKER;
    if (w->status < 0)
        snprintf(lost.error, sizeof lost.error, "worker process lost (its starter exited)");
    else if (WIFSIGNALED(w->status))
        snprintf(lost.error, sizeof lost.error, "worker process died (signal %d)", WTERMSIG(w->status));
    else
        snprintf(lost.error, sizeof lost.error, "worker process exited (status %d)", WEXITSTATUS(w->status));
    bench_emit(c, &lost);
    w->busy_seq = -1;
}

int bench_processes_run(struct bench_ctx *c, char *err, size_t errlen)
{
    int64_t n = c->lanes;
    struct worker *ws = calloc((size_t)n, sizeof *ws);
    struct pollfd *pfds = calloc((size_t)n + 1, sizeof *pfds);
    if (!ws || !pfds) {
        free(ws);
        free(pfds);
        return errf(err, errlen, "processes: out of memory");
    }
    for (int64_t i = 0; i < n; i++) ws[i].fd = -1, ws[i].busy_seq = -1, ws[i].status = -1;
    raise_fd_limit();
    pid_t starter = -1;
    int ctl = -1, rc = spawn_starter(c->spec, c->t0, n, &starter, &ctl, err, errlen);

    int64_t held_seq = -1, held_due = 0, settled = 0;
    bool signalled = false;
    while (rc == 0 && (ctl >= 0 || settled < n)) {
        if (bench_cancel_flag && !signalled) {
            for (int64_t i = 0; i < n; i++) /* busy workers abort their transfer and report it */
                if (ws[i].pid > 0 && ws[i].busy_seq >= 0 && !ws[i].exited) kill(ws[i].pid, SIGTERM);
            signalled = true;
        }
        nfds_t np = 0;
        int64_t wait_ms = 100;
        if (ctl >= 0) pfds[np++] = (struct pollfd){.fd = ctl, .events = POLLIN};
        for (int64_t i = 0; i < n; i++) {
            struct worker *w = &ws[i];
            if (w->fd < 0 || w->eof) continue;
            if (!bench_cancel_flag) {
                feed(c, w, &held_seq, &held_due);
            } else if (w->busy_seq < 0 && !w->shut) {
                shutdown(w->fd, SHUT_WR);
                w->shut = true;
            }
            pfds[np++] = (struct pollfd){.fd = w->fd, .events = POLLIN};
        }
        if (held_seq >= 0) {
            int64_t until = (c->t0 + held_due - clock_us()) / 1000;
            wait_ms = until < 0 ? 0 : (until < wait_ms ? until : wait_ms);
        }
        if (poll(pfds, np, (int)wait_ms) < 0 && errno != EINTR) {
            rc = errf(err, errlen, "processes: poll: %s", strerror(errno));
            break;
        }
        for (nfds_t k = 0; k < np; k++) {
            if (!pfds[k].revents) continue;
            if (pfds[k].fd == ctl) {
                struct ctl_msg m;
                int fd = -1;
                int got = ctl_recv(ctl, &m, &fd);
                if (got == 1 && m.lane >= 0 && m.lane < n) {
                    struct worker *w = &ws[m.lane];
                    if (m.type == CTL_WORKER && fd >= 0 && w->fd < 0 && !w->done) {
                        w->fd = fd;
                        w->pid = m.pid;
                        fd = -1;
                    } else if (m.type == CTL_EXIT) {
                        w->exited = true;
                        w->status = m.status;
                        c->child_rss_kb += m.maxrss_kb;
                        if (w->fd < 0) w->eof = true; /* died before its socket arrived */
                    }
                    if (fd >= 0) close(fd);
                    if (!w->done && w->eof && w->exited) {
                        settle(c, w, m.lane);
                        settled++;
                    }
                } else {
                    if (fd >= 0) close(fd);
                    /* The starter is gone: every worker is gone or going with it. */
                    close(ctl);
                    ctl = -1;
                    for (int64_t i = 0; i < n; i++) {
                        struct worker *w = &ws[i];
                        if (w->done) continue;
                        if (w->fd < 0) w->eof = true;
                        w->exited = true; /* status unknown (-1) unless reported */
                        if (w->eof) {
                            settle(c, w, i);
                            settled++;
                        }
                    }
                }
                continue;
            }
            for (int64_t i = 0; i < n; i++) {
                struct worker *w = &ws[i];
                if (w->fd != pfds[k].fd || w->eof) continue;
                struct bench_record r;
                uint32_t type = 0, len = 0;
                if (wire_read(w->fd, &type, &r, sizeof r, &len) == 1 && type == WIRE_RECORD &&
                    len == sizeof r) {
                    bench_emit(c, &r);
                    w->busy_seq = -1;
                } else {
                    w->eof = true;
                    if (ctl < 0) w->exited = true;
                    if (w->exited) {
                        settle(c, w, i);
                        settled++;
                    }
                }
                break;
            }
        }
    }
    if (held_seq >= 0)
        bench_emit_unrun(c, held_seq, bench_cancel_flag ? REQ_ERR_CANCELLED : REQ_ERR_WORKER,
                         bench_cancel_flag ? "cancelled before it started" : "no worker process left");
    if (!bench_cancel_flag && rc == 0) { /* never handed out: every worker died */
        int64_t seq, due;
        while (bench_next(c, &seq, &due)) bench_emit_unrun(c, seq, REQ_ERR_WORKER, "no worker process left");
    }
    for (int64_t i = 0; i < n; i++)
        if (ws[i].fd >= 0) close(ws[i].fd);
    if (ctl >= 0) close(ctl);
    if (starter > 0) {
        if (rc) kill(starter, SIGKILL);
        int status;
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        while (wait4(starter, &status, 0, &ru) < 0 && errno == EINTR) {
        }
        /* The starter reaped the workers, so its usage includes theirs. */
        c->child_user_ms += (double)ru.ru_utime.tv_sec * 1000.0 + ru.ru_utime.tv_usec / 1000.0;
        c->child_sys_ms += (double)ru.ru_stime.tv_sec * 1000.0 + ru.ru_stime.tv_usec / 1000.0;
    }
    free(ws);
    free(pfds);
    return rc;
}

static void on_term(int sig)
{
    (void)sig;
    bench_cancel_flag = 1;
}

/* A worker: requests in on its socket, records out on the same socket, until EOF. */
static int worker_loop(int sock, int64_t lane, const struct spec *s, struct curl_slist *headers,
                       int64_t t0)
{
    struct bench_xfer x;
    char err[256];
    if (bench_xfer_init(&x, s, headers, t0, err, sizeof err)) {
        fprintf(stderr, "conlab worker %lld: %s\n", (long long)lane, err);
        return 1;
    }
    struct wire_seq q;
    uint32_t type = 0, len = 0;
    while (wire_read(sock, &type, &q, sizeof q, &len) == 1 && type == WIRE_SEQ && len == sizeof q) {
        bench_xfer_begin(&x, q.seq, lane, q.sched_us);
        bench_xfer_end(&x, bench_cancel_flag ? CURLE_ABORTED_BY_CALLBACK : bench_xfer_perform(&x));
        if (wire_write(sock, WIRE_RECORD, &x.rec, sizeof x.rec)) break;
        bench_xfer_work(&x);
    }
    return 0;
}

static int send_ctl(const struct ctl_msg *m, int fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {(void *)m, sizeof *m};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof cbuf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    while ((n = sendmsg(CTL_FD, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    return n == (ssize_t)sizeof *m ? 0 : -1;
}

int bench_worker_main(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the coordinator */
    static char buf[WIRE_MAX_PAYLOAD + 1];
    uint32_t type = 0, len = 0;
    if (wire_read(0, &type, buf, WIRE_MAX_PAYLOAD, &len) != 1 || type != WIRE_INIT ||
        len < sizeof(struct wire_worker_init)) {
        fprintf(stderr, "conlab __workers: internal command of the processes mode (no setup on stdin)\n");
        return 2;
    }
    buf[len] = '\0';
    close(0);
    struct wire_worker_init wi;
    memcpy(&wi, buf, sizeof wi);
    struct spec_limits lim;
    spec_limits_unbounded(&lim);
    struct spec s;
    char err[256];
    if (spec_from_text(buf + sizeof wi, &lim, &s, err, sizeof err)) {
        fprintf(stderr, "conlab __workers: %s\n", err);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any fork: the workers inherit it */
    struct curl_slist *headers = bench_curl_headers(&s);
    pid_t *pids = calloc((size_t)wi.lanes, sizeof *pids);
    int rc = pids ? 0 : 1;
    for (int64_t lane = 0; rc == 0 && lane < wi.lanes; lane++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
            fprintf(stderr, "conlab __workers: socketpair: %s\n", strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(CTL_FD);
            close(sv[0]);
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_term;
            sigaction(SIGTERM, &sa, NULL);
            /* _exit without cleanup: the exit is part of the mode's measured time, and the
             * kernel frees all of it faster than libcurl and OpenSSL would. */
            _exit(worker_loop(sv[1], lane, &s, headers, wi.t0_us));
        }
        close(sv[1]);
        if (pid < 0) {
            fprintf(stderr, "conlab __workers: fork: %s\n", strerror(errno));
            close(sv[0]);
            break;
        }
        pids[lane] = pid;
        struct ctl_msg m = {CTL_WORKER, (int32_t)lane, pid, 0, 0};
        send_ctl(&m, sv[0]);
        close(sv[0]);
    }
    /* Reap every worker and report how it ended. */
    int status;
    struct rusage ru;
    pid_t pid;
    while ((pid = wait4(-1, &status, 0, &ru)) > 0 || (pid < 0 && errno == EINTR)) {
        if (pid < 0) continue;
        for (int64_t lane = 0; lane < wi.lanes; lane++) {
            if (pids[lane] != pid) continue;
            struct ctl_msg m = {CTL_EXIT, (int32_t)lane, pid, status, ru.ru_maxrss};
            send_ctl(&m, -1);
        }
    }
    fflush(stderr);
    _exit(rc); /* as the workers: the coordinator waits for this exit */
}
