/* The client runner: a registered program as a mode (docs/CLIENTS.md). conlab spawns it in a
 * process group of its own with the workload on stdin, reads its stdout line by line
 * (bench_client_line.c checks each line and records its request in the mode's log, like a
 * built-in mode's worker), keeps the end of its stderr, and measures it from outside: start-up
 * (spawn to hello) apart, wall from hello to the last request's end, CPU of the whole tree
 * (wait4 of everything reaped: conlab is the tree's subreaper), Pss of the tree. A client that
 * breaks a rule fails its mode, never the run. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench_client.h"
#include "bench_cancel.h"
#include "bench_client_tree.h"
#include "bench_collect.h"
#include "bench_dispatch.h"
#include "bench_log.h"
#include "client_registry.h"
#include "utf8.h"
#include "util.h"

static const struct client_registry *registry;

void bench_clients_use(const struct client_registry *r)
{
    registry = r;
}

/* The workload line: the spec as in the API, `concurrency` the level, `mode` the name. */
static int workload_fd(const struct spec *s, const char *name, int64_t conc, char *err,
                       size_t errlen)
{
    cJSON *o = spec_to_json(s);
    if (!o) return errf(err, errlen, "client %s: out of memory", name);
    cJSON_ReplaceItemInObjectCaseSensitive(o, "concurrency", cJSON_CreateNumber((double)conc));
    cJSON_AddStringToObject(o, "mode", name);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int fd = memfd_create("conlab-workload", MFD_CLOEXEC);
    int rc = text && fd >= 0 && write_all(fd, text, strlen(text)) == 0 &&
                     write_all(fd, "\n", 1) == 0 && lseek(fd, 0, SEEK_SET) == 0
                 ? 0
                 : -1;
    free(text);
    if (rc) {
        if (fd >= 0) close(fd);
        return errf(err, errlen, "client %s: writing its workload: %s", name, strerror(errno));
    }
    return fd;
}

/* Forks the client: its own process group, killed with conlab (PDEATHSIG), stdin the workload,
 * stdout and stderr our pipes; /bin/sh -c COMMAND. The caller is single-threaded. */
static pid_t spawn(const char *command, int in_fd, int out_w, int err_w)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) {
        if (pid > 0) setpgid(pid, pid);
        return pid;
    }
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (dup2(in_fd, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) _exit(127);
    /* A simple command replaces the shell, so that its exit status (a signal too) is its own. */
    char *line = NULL;
    if (!strpbrk(command, ";&|<>()`\n") && asprintf(&line, "exec %s", command) > 0) command = line;
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
}

/* What the runner holds besides the protocol state. */
struct runner {
    struct client_run r;
    int out_fd, err_fd;
    char line[CLIENT_LINE_MAX + 2];
    size_t nline;
    bool out_eof, exited;
    int status;       /* the client's wait status once exited */
    struct rusage ru; /* summed over every process of the tree reaped */
    char tail[CLIENT_STDERR_KEEP];
    size_t ntail; /* bytes of stderr seen (the tail keeps the last ones) */
    int64_t peak_pss_kb;
    double startup_user_ms, startup_sys_ms;
};

static void ru_add(struct rusage *to, const struct rusage *r)
{
    to->ru_utime.tv_sec += r->ru_utime.tv_sec;
    to->ru_utime.tv_usec += r->ru_utime.tv_usec;
    to->ru_stime.tv_sec += r->ru_stime.tv_sec;
    to->ru_stime.tv_usec += r->ru_stime.tv_usec;
}

static double tv_ms(struct timeval tv)
{
    return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

/* Reaps what of the tree has ended (blocking: until nothing of the group is left). */
static void reap(struct runner *x, bool block)
{
    for (;;) {
        int st;
        struct rusage ru;
        pid_t p = wait4(-x->r.pid, &st, block ? 0 : WNOHANG, &ru);
        if (p < 0 && errno == EINTR) continue;
        if (p <= 0) return;
        ru_add(&x->ru, &ru);
        if (p == x->r.pid) {
            x->exited = true;
            x->status = st;
        }
    }
}

static void sample_tree(struct runner *x)
{
    struct client_tree t;
    if (client_tree_scan(x->r.pid, true, &t) == 0 && t.pss_kb > x->peak_pss_kb)
        x->peak_pss_kb = t.pss_kb;
}

/* The tree's CPU before the hello: what its live processes used so far (ticks) and what was
 * reaped already. */
static void startup_cpu(struct runner *x)
{
    struct client_tree t;
    if (client_tree_scan(x->r.pid, true, &t)) return;
    x->startup_user_ms = t.user_ms + tv_ms(x->ru.ru_utime);
    x->startup_sys_ms = t.sys_ms + tv_ms(x->ru.ru_stime);
    x->peak_pss_kb = t.pss_kb;
}

static void keep_stderr(struct runner *x, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x->tail[(x->ntail + i) % CLIENT_STDERR_KEEP] = buf[i];
    x->ntail += n;
}

static void read_stderr(struct runner *x)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(x->err_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) {
                close(x->err_fd);
                x->err_fd = -1;
            }
            return;
        }
        keep_stderr(x, buf, (size_t)n);
    }
}

static void read_stdout(struct runner *x)
{
    char buf[8192];
    for (;;) {
        ssize_t n = read(x->out_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;
        if (n == 0) {
            x->out_eof = true;
            return;
        }
        int64_t now = clock_us();
        x->r.last_line_us = now;
        for (ssize_t i = 0; i < n && !x->r.failed; i++) {
            if (buf[i] != '\n') {
                if (x->nline == CLIENT_LINE_MAX) {
                    x->r.nlines++;
                    client_fail(&x->r, "flood", x->line, x->nline, "a line longer than %d bytes",
                                CLIENT_LINE_MAX);
                    break;
                }
                x->line[x->nline++] = buf[i];
                continue;
            }
            x->line[x->nline] = '\0';
            client_line(&x->r, x->line, x->nline, now);
            x->nline = 0;
            if (x->r.done && !x->r.done_us) x->r.done_us = now;
        }
        if (x->r.failed) return;
    }
}

/* The longest silence the workload explains after the hello. */
static int64_t silence_us(const struct spec *s, int64_t conc)
{
    int64_t us = s->timeout_ms * 1000 + conc * s->work_us + CLIENT_GRACE_US;
    if (s->rate > 0) us += (int64_t)(1e6 / s->rate);
    return us;
}

/* Runs the client until it is done and exited, failed, or the run is cancelled. */
static void run_loop(struct runner *x, const struct spec *s)
{
    struct client_run *r = &x->r;
    struct bench_ctx *c = r->c;
    int64_t quiet = silence_us(s, r->conc);
    while (!r->failed && !bench_cancel_flag && !(x->out_eof && x->exited)) {
        int64_t now = clock_us();
        int64_t deadline = !r->hello ? r->spawn_us + CLIENT_STARTUP_US
                           : r->done ? r->done_us + CLIENT_EXIT_US
                                     : r->last_line_us + quiet;
        if (now >= deadline) {
            if (!r->hello)
                client_fail(r, "timeout", NULL, 0, "no hello within %lld s of the spawn",
                            CLIENT_STARTUP_US / 1000000);
            else if (r->done)
                client_fail(r, "exit", NULL, 0, "still running %lld s after done",
                            CLIENT_EXIT_US / 1000000);
            else
                client_fail(r, "timeout", NULL, 0, "no line for %.1f s (after line %lld)",
                            (double)quiet / 1e6, (long long)r->nlines);
            break;
        }
        if (r->hello && now >= c->next_tick_us) {
            bench_tick(c);
            sample_tree(x);
        }
        int64_t wake = deadline;
        if (r->hello && c->next_tick_us < wake) wake = c->next_tick_us;
        if (x->out_eof && wake > now + 10000) wake = now + 10000; /* waiting for the exit */
        struct pollfd p[3] = {{x->out_eof ? -1 : x->out_fd, POLLIN, 0},
                              {x->err_fd, POLLIN, 0},
                              {bench_cancel_fd(), POLLIN, 0}};
        int ms = (int)((wake - now + 999) / 1000);
        int k = poll(p, 3, ms > 0 ? ms : 0);
        if (k < 0 && errno != EINTR) break;
        if (p[2].revents & POLLIN) bench_cancel_flag = 1;
        if (p[1].revents) read_stderr(x);
        bool was_hello = r->hello;
        if (p[0].revents) read_stdout(x);
        if (!was_hello && r->hello) {
            startup_cpu(x);
            c->next_tick_us = c->t0 + BENCH_TICK_US;
        }
        if (r->done) sample_tree(x);
        reap(x, false);
        if (x->exited && !r->failed) {
            int st = x->status;
            if (!r->done && x->out_eof)
                client_fail(r, "exit", NULL, 0, "exited before done (%s %d)",
                            WIFSIGNALED(st) ? "signal" : "status",
                            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            else if (WIFSIGNALED(st) || WEXITSTATUS(st) != 0)
                client_fail(r, "exit", NULL, 0, "%s %d",
                            WIFSIGNALED(st) ? "killed by signal" : "exited with status",
                            WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        }
    }
    if (!r->failed && r->done && !bench_cancel_flag) {
        for (int64_t seq = 0; seq < r->n; seq++)
            if (!r->seq_line[seq]) {
                client_fail(r, "seq", NULL, 0, "seq %lld missing at done", (long long)seq);
                break;
            }
    }
}

/* The end of stderr as text for the RESULT. */
static void stderr_text(const struct runner *x, char *out)
{
    size_t n = x->ntail < CLIENT_STDERR_KEEP ? x->ntail : CLIENT_STDERR_KEEP;
    size_t from = x->ntail - n;
    for (size_t i = 0; i < n; i++) {
        char ch = x->tail[(from + i) % CLIENT_STDERR_KEEP];
        out[i] = ch == '\0' ? '?' : ch;
    }
    out[n] = '\0';
    utf8_clean(out);
}

/* A failed client's requests: each recorded as failed with the rule (kind worker). */
static int record_failure(struct runner *x, char *err, size_t errlen)
{
    struct bench_ctx *c = x->r.c;
    bench_shared_free(c);
    if (bench_shared_init(c, 1, false, err, errlen)) return -1;
    char msg[RECORD_ERROR_MAX];
    snprintf(msg, sizeof msg, "the client broke the protocol (rule '%s')", x->r.rule);
    for (int64_t seq = 0; seq < x->r.n; seq++) {
        struct bench_record rec = {0};
        rec.seq = seq;
        rec.lane = -1;
        rec.sched_us = bench_due(c, seq);
        rec.start_us = rec.connect_us = rec.ttfb_us = rec.end_us = -1;
        rec.err_kind = REQ_ERR_WORKER;
        bench_log_put(c, &c->sh->logs[0], &rec, msg);
    }
    return 0;
}

static void fill_result(struct runner *x, struct mode_result *res, int64_t end_us)
{
    struct client_run *r = &x->r;
    struct client_info *ci = &res->client;
    ci->is_client = 1;
    snprintf(ci->name, sizeof ci->name, "%s", r->name);
    snprintf(ci->hello, sizeof ci->hello, "%s", r->hello_text);
    ci->startup_ms = r->hello ? (double)(r->hello_read_us - r->spawn_us) / 1000.0
                              : (double)(end_us - r->spawn_us) / 1000.0;
    ci->startup_cpu_ms = x->startup_user_ms + x->startup_sys_ms;
    int64_t t0 = r->hello ? r->c->t0 : r->spawn_us;
    int64_t last = r->failed || !r->hello ? end_us : r->max_end > t0 ? r->max_end : t0;
    res->wall_ms = (double)(last - t0) / 1000.0;
    res->cpu_user_ms = tv_ms(x->ru.ru_utime) - x->startup_user_ms;
    res->cpu_sys_ms = tv_ms(x->ru.ru_stime) - x->startup_sys_ms;
    if (res->cpu_user_ms < 0) res->cpu_user_ms = 0;
    if (res->cpu_sys_ms < 0) res->cpu_sys_ms = 0;
    res->peak_rss_kb = x->peak_pss_kb;
    if (!r->failed && r->max_lane >= 0) res->lanes = r->max_lane + 1;
    res->cancelled = bench_cancel_flag != 0;
    if (r->failed) {
        ci->failed = 1;
        snprintf(ci->failure, sizeof ci->failure, "%s", r->failure);
        stderr_text(x, ci->stderr_tail);
    }
}

int bench_client_mode(const struct spec *s, enum bench_mode mode, int64_t concurrency,
                      const struct bench_sink *sink, struct mode_result *res, char *err,
                      size_t errlen)
{
    const char *name = spec_mode_name(s, mode);
    const struct client_entry *e = name ? client_registry_find(registry, name) : NULL;
    if (!e)
        return errf(err, errlen, "modes: client '%s' is not registered here", name ? name : "?");
    struct bench_ctx c;
    bench_ctx_init(&c, res, s, mode, concurrency,
                   concurrency < s->requests ? concurrency : s->requests, sink);
    struct runner *x = calloc(1, sizeof *x);
    if (!x) return errf(err, errlen, "client %s: out of memory", name);
    x->r.c = &c;
    x->r.name = name;
    x->r.n = s->requests;
    x->r.conc = concurrency;
    x->r.max_lane = -1;
    x->out_fd = x->err_fd = -1;
    x->r.seq_line = calloc((size_t)s->requests, sizeof *x->r.seq_line);
    int in_fd = -1, out_w = -1, err_w = -1, rc = -1;
    if (!x->r.seq_line || bench_shared_init(&c, 1, false, err, errlen)) {
        if (!x->r.seq_line) errf(err, errlen, "client %s: out of memory", name);
        goto out;
    }
    in_fd = workload_fd(s, name, concurrency, err, errlen);
    if (in_fd < 0) goto out;
    int p1[2], p2[2];
    if (pipe2(p1, O_CLOEXEC)) {
        errf(err, errlen, "client %s: creating its pipes: %s", name, strerror(errno));
        goto out;
    }
    x->out_fd = p1[0], out_w = p1[1];
    if (pipe2(p2, O_CLOEXEC)) {
        errf(err, errlen, "client %s: creating its pipes: %s", name, strerror(errno));
        goto out;
    }
    x->err_fd = p2[0], err_w = p2[1];
    fcntl(x->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(x->err_fd, F_SETFL, O_NONBLOCK);
    /* The lanes a client uses are known once it ran (py-sync: 1): 0 until then. */
    if (sink && sink->mode_start) sink->mode_start(sink->ctx, mode, concurrency, s->requests, 0);
    int was_subreaper = 0;
    prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    x->r.spawn_us = clock_us();
    x->r.pid = spawn(e->command, in_fd, out_w, err_w);
    close(out_w);
    close(err_w);
    out_w = err_w = -1;
    if (x->r.pid < 0) {
        prctl(PR_SET_CHILD_SUBREAPER, was_subreaper);
        errf(err, errlen, "client %s: fork: %s", name, strerror(errno));
        goto out;
    }
    run_loop(x, s);
    int64_t end_us = clock_us();
    kill(-x->r.pid, SIGKILL); /* whatever of the tree is left, a failed client's whole tree */
    reap(x, true);
    if (x->err_fd >= 0) read_stderr(x);
    prctl(PR_SET_CHILD_SUBREAPER, was_subreaper);
    fill_result(x, res, end_us);

    /* The clock has stopped: from here on, as for a built-in mode. */
    if (sink && sink->tick && x->r.hello) bench_tick(&c);
    if (x->r.failed && record_failure(x, err, errlen)) goto out;
    rc = bench_collect(&c, false, res->cancelled, res, err, errlen);
    /* as for a built-in mode: rps counts the ok requests, attempts_per_s every request */
    res->rps = res->wall_ms > 0 ? (double)res->ok / (res->wall_ms / 1000.0) : 0;
    res->attempts_per_s = res->wall_ms > 0 ? (double)res->requests / (res->wall_ms / 1000.0) : 0;
    if (rc == 0 && sink && sink->mode_done) sink->mode_done(sink->ctx, res);
out:
    if (in_fd >= 0) close(in_fd);
    if (out_w >= 0) close(out_w);
    if (err_w >= 0) close(err_w);
    if (x->out_fd >= 0) close(x->out_fd);
    if (x->err_fd >= 0) close(x->err_fd);
    bench_shared_free(&c);
    free(x->r.seq_line);
    free(x);
    return rc;
}
