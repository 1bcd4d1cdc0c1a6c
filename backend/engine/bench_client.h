/* Inside the engine: the client runner (bench_client.c) and its line checks
 * (bench_client_line.c). docs/CLIENTS.md is the protocol. */
#ifndef CONLAB_BENCH_CLIENT_H
#define CONLAB_BENCH_CLIENT_H

#include <stdbool.h>
#include <sys/types.h>
#include "bench_ctx.h"
#include "bench_sink.h"

#define CLIENT_LINE_MAX 4096         /* bytes of one stdout line, newline excluded */
#define CLIENT_STARTUP_US 10000000LL /* the hello must come within 10 s of the spawn */
#define CLIENT_EXIT_US 5000000LL     /* and the exit within 5 s of done */
#define CLIENT_GRACE_US 5000000LL    /* added to the longest silence a workload explains */
#define CLIENT_HELLO_SLACK_US 50000LL /* a hello without t_us: how early a start may be */

/* One client mode while it runs. */
struct client_run {
    struct bench_ctx *c; /* c->t0 is the hello's time once it came */
    const char *name;
    int64_t n, conc;
    pid_t pid; /* the client, leader of its own process group */
    int64_t spawn_us, hello_read_us, last_line_us, done_us, max_end;
    bool hello, done, failed;
    bool t0_given; /* the hello gave t_us (else t0 is when it was read) */
    int64_t nlines, ok, errors;
    int64_t max_lane;  /* the highest lane of a line, -1 before any */
    int32_t *seq_line; /* per seq: the line that gave it, 0 none */
    char hello_text[128];
    char rule[16];
    char failure[480];
};

/* Checks one stdout line (line[len] is a NUL, no newline) read at `now` (monotonic µs) and, when
 * it is a request, records it. Returns 0, or -1 once the client broke a rule (r->failure). */
int client_line(struct client_run *r, const char *line, size_t len, int64_t now);

/* Marks the run failed with `rule` (the first failure wins); `line` may be NULL. Returns -1. */
int client_fail(struct client_run *r, const char *rule, const char *line, size_t len,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Runs a client mode start to end: like bench_run_mode for a built-in mode. */
int bench_client_mode(const struct spec *s, enum bench_mode mode, int64_t concurrency,
                      const struct bench_sink *sink, struct mode_result *res, char *err,
                      size_t errlen);

#endif
