/* `conlab __client MODE`: one of conlab's own modes as a client of docs/CLIENTS.md, so that the
 * protocol's cost can be measured against the same mode built in (bench/client_overhead.py).
 * It reads the workload, says hello, runs the mode with bench_run_mode and prints its records as
 * protocol lines once the mode's clock stopped (the engine hands them over only then), then
 * `done`. A record's times are its offsets from the mode's start added to the hello's time,
 * which comes just before that start: every time stays within the mode and none is late. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "commands.h"
#include "util.h"

struct client_out {
    int64_t hello_us;
};

static void on_start(void *ctx, enum bench_mode mode, int64_t concurrency, int64_t total,
                     int64_t lanes)
{
    (void)concurrency, (void)total, (void)lanes;
    struct client_out *o = ctx;
    o->hello_us = clock_us();
    printf("{\"hello\":\"conlab %s through the client protocol\",\"t_us\":%lld}\n", mode_name(mode),
           (long long)o->hello_us);
    fflush(stdout);
}

static void put_time(const char *key, int64_t base, int64_t us)
{
    if (us >= 0) printf(",\"%s\":%lld", key, (long long)(base + us));
}

static void on_records(void *ctx, enum bench_mode mode, const struct bench_record *r, size_t n,
                       const struct record_msgs *msgs)
{
    (void)mode;
    struct client_out *o = ctx;
    static const char *const kinds[] = {"ok", "connect", "timeout", "reset", "status", "other"};
    for (size_t i = 0; i < n; i++) {
        const struct bench_record *q = &r[i];
        /* Never run (cancelled) or lost: the protocol has no such request; report "other". */
        int64_t start = q->start_us >= 0 ? q->start_us : 0,
                end = q->end_us >= start ? q->end_us : start;
        printf("{\"seq\":%lld,\"lane\":%d,\"start_us\":%lld,\"end_us\":%lld", (long long)q->seq,
               q->lane >= 0 ? q->lane : 0, (long long)(o->hello_us + start),
               (long long)(o->hello_us + end));
        put_time("connect_us", o->hello_us,
                 q->connect_us >= start && q->connect_us <= end ? q->connect_us : -1);
        put_time("ttfb_us", o->hello_us,
                 q->ttfb_us >= start && q->ttfb_us <= end ? q->ttfb_us : -1);
        printf(",\"status\":%d,\"bytes\":%lld", q->status, (long long)q->bytes);
        if (q->err_kind != REQ_OK) {
            int k = q->err_kind > 0 && q->err_kind < 6 ? q->err_kind : 5;
            cJSON *e = cJSON_CreateString(record_msg(q, msgs));
            char *text = cJSON_PrintUnformatted(e);
            printf(",\"error_kind\":\"%s\",\"error\":%s", kinds[k], text ? text : "null");
            free(text);
            cJSON_Delete(e);
        }
        fputs("}\n", stdout);
    }
}

int cmd_client(int argc, char **argv)
{
    int mode = argc == 2 ? mode_from_name(argv[1]) : -1;
    if (mode < 0) {
        fprintf(stderr, "usage: conlab __client MODE (internal: a built-in mode as a client)\n");
        return 2;
    }
    static char line[1 << 20];
    if (!fgets(line, sizeof line, stdin)) return fprintf(stderr, "no workload on stdin\n"), 2;
    cJSON *w = cJSON_Parse(line);
    cJSON_DeleteItemFromObjectCaseSensitive(w, "mode");
    cJSON_DeleteItemFromObjectCaseSensitive(w, "modes");
    struct spec_limits lim;
    spec_limits_unbounded(&lim);
    struct spec s;
    char err[512];
    int rc = w ? spec_from_json(w, &lim, &s, err, sizeof err) : errf(err, sizeof err, "not JSON");
    cJSON_Delete(w);
    if (rc) return fprintf(stderr, "workload: %s\n", err), 2;
    s.modes[0] = (enum bench_mode)mode;
    s.nmodes = 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    struct client_out o = {0};
    struct bench_sink sink = {&o, on_start, NULL, on_records, NULL};
    struct mode_result res;
    rc = bench_run_mode(&s, s.modes[0], s.levels[0], &sink, &res, err, sizeof err);
    if (rc == 0) printf("{\"done\":%lld}\n", (long long)s.requests);
    fflush(stdout);
    curl_global_cleanup();
    spec_free(&s);
    if (rc) fprintf(stderr, "conlab __client: %s\n", err);
    return rc ? 1 : 0;
}
