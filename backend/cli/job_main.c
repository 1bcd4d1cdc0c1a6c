/* `conlab __job`: the dashboard's job child (see commands.h). Running each job in a process of
 * its own keeps the dashboard's threads out of the measured CPU time and memory, and a cancel or
 * a crash out of the dashboard. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "bench.h"
#include "client_registry.h"
#include "commands.h"
#include "util.h"
#include "wire.h"

/* Frames go straight to stdout from one thread at a time (the engine's sink calls never
 * overlap). While a mode runs only ticks are written, without blocking: the pipe is put in
 * non-blocking mode and a tick that does not fit is dropped (the next one carries the same
 * cumulative counters). Everything else is written blocking, between modes. */
struct job_out {
    int nonblocking;
    int broken; /* the dashboard went away */
    int msgs_sent; /* the current mode's messages went out */
};

static void out_blocking(struct job_out *o, int nonblocking)
{
    if (o->nonblocking == nonblocking) return;
    int fl = fcntl(1, F_GETFL);
    if (fl >= 0) fcntl(1, F_SETFL, nonblocking ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
    o->nonblocking = nonblocking;
}

static void put_frame(struct job_out *o, uint32_t type, const void *payload, uint32_t len)
{
    out_blocking(o, 0);
    if (!o->broken && wire_write(1, type, payload, len)) o->broken = 1;
}

static void on_mode_start(void *ctx, enum bench_mode mode, int64_t concurrency, int64_t total,
                          int64_t lanes)
{
    struct job_out *o = ctx;
    struct wire_mode_start m = {(int32_t)mode, 0, concurrency, total, lanes};
    put_frame(o, WIRE_MODE_START, &m, sizeof m);
    o->msgs_sent = 0;
    out_blocking(o, 1);
}

static void on_tick(void *ctx, const struct bench_tick *t)
{
    struct job_out *o = ctx;
    if (o->broken) return;
    /* At most PIPE_BUF bytes: written whole or not at all. */
    uint32_t len = (uint32_t)(offsetof(struct bench_tick, sample_us) + (size_t)t->nsample * sizeof t->sample_us[0]);
    if (wire_write(1, WIRE_TICK, t, len) && errno != EAGAIN) o->broken = 1;
}

static void on_records(void *ctx, enum bench_mode mode, const struct bench_record *r, size_t n,
                       const struct record_msgs *msgs)
{
    (void)mode;
    struct job_out *o = ctx;
    for (int32_t i = 0; !o->msgs_sent && i < msgs->n; i++) {
        char buf[sizeof(int32_t) + RECORD_ERROR_MAX];
        size_t len = strnlen(msgs->text[i], RECORD_ERROR_MAX - 1);
        memcpy(buf, &i, sizeof i);
        memcpy(buf + sizeof i, msgs->text[i], len);
        put_frame(o, WIRE_MSG, buf, (uint32_t)(sizeof i + len));
    }
    o->msgs_sent = 1;
    const size_t per_frame = WIRE_MAX_PAYLOAD / sizeof *r;
    for (size_t at = 0; at < n; at += per_frame) {
        size_t k = n - at < per_frame ? n - at : per_frame;
        put_frame(o, WIRE_RECORDS, r + at, (uint32_t)(k * sizeof *r));
    }
}

/* Sends the result, then waits until the dashboard stored the mode: the next mode starts only
 * then, so that storing never competes with a measured mode. */
static void on_mode_done(void *ctx, const struct mode_result *res)
{
    struct job_out *o = ctx;
    put_frame(o, WIRE_MODE_DONE, res, sizeof *res);
    uint32_t type = 0, len = 0;
    char ack[8];
    if (!o->broken && (wire_read(0, &type, ack, sizeof ack, &len) != 1 || type != WIRE_ACK))
        o->broken = 1;
}

static void on_term(int sig)
{
    (void)sig;
    bench_cancel();
}

static int fail(const char *msg)
{
    wire_write(1, WIRE_FAIL, msg, (uint32_t)strlen(msg));
    fprintf(stderr, "conlab __job: %s\n", msg);
    return 1;
}

int cmd_workers(void)
{
    return bench_starter_main();
}

int cmd_job(int argc, char **argv)
{
    (void)argv;
    if (argc > 1 || isatty(0)) {
        fprintf(stderr, "conlab __job: internal command of `conlab serve` (spec on stdin, frames on stdout)\n");
        return 2;
    }
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) return 1; /* the dashboard already died */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* The dashboard validated the spec against its own (possibly raised) limits. */
    static char text[WIRE_MAX_PAYLOAD + 1];
    uint32_t type = 0, len = 0;
    static struct client_registry clients;
    int got = wire_read(0, &type, text, WIRE_MAX_PAYLOAD, &len);
    if (got == 1 && type == WIRE_CLIENTS) {
        text[len] = '\0';
        char cerr[512];
        if (client_registry_from_text(&clients, text, cerr, sizeof cerr)) return fail(cerr);
        got = wire_read(0, &type, text, WIRE_MAX_PAYLOAD, &len);
    }
    if (got != 1 || type != WIRE_SPEC) return fail("no spec frame on stdin");
    bench_clients_use(&clients);
    text[len] = '\0';
    struct spec_limits lim;
    spec_limits_unbounded(&lim);
    struct spec s;
    char err[512];
    int rc = spec_from_text(text, &lim, &s, err, sizeof err);
    if (rc) return fail(err);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        spec_free(&s);
        return fail("libcurl could not be initialised");
    }
    /* No thread of our own: the processes mode forks its workers from this process. */
    struct job_out out = {0, 0, 0};
    struct bench_sink sink = {&out, on_mode_start, on_tick, on_records, on_mode_done};
    rc = bench_run(&s, &sink, err, sizeof err);
    out_blocking(&out, 0);
    curl_global_cleanup();
    spec_free(&s);
    return rc ? fail(err) : 0;
}
