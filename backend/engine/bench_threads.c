/* `threads`: C POSIX threads, each with its own easy handle, each taking the next request as it
 * becomes free. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "bench_internal.h"
#include "util.h"

struct lane {
    struct bench_ctx *c;
    int64_t id;
    pthread_t thread;
    int failed;
    char err[256];
};

static void *lane_main(void *arg)
{
    struct lane *l = arg;
    struct bench_ctx *c = l->c;
    struct bench_xfer x;
    if (bench_xfer_init(&x, c->spec, c->headers, c->t0, l->err, sizeof l->err)) {
        l->failed = 1;
        bench_abort(c);
        return NULL;
    }
    struct bench_log *log = &c->sh->logs[l->id];
    int64_t seq, due;
    while (bench_claim(c, &seq, &due) && bench_wait_due(c, due)) {
        bench_xfer_begin(&x, seq, l->id, due);
        bench_xfer_end(&x, bench_xfer_perform(&x));
        bench_log_put(c, log, &x.rec, x.error);
        bench_xfer_work(&x);
    }
    bench_log_flush(c, log);
    bench_xfer_cleanup(&x);
    return NULL;
}

int bench_threads_run(struct bench_ctx *c, char *err, size_t errlen)
{
    struct lane *lanes = calloc((size_t)c->lanes, sizeof *lanes);
    if (!lanes)
        return errf(err, errlen, "threads: out of memory for %lld lanes", (long long)c->lanes);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024); /* 1,000 threads must not reserve 8 GiB */
    int64_t started = 0;
    int rc = 0;
    for (; started < c->lanes; started++) {
        lanes[started].c = c;
        lanes[started].id = started;
        int e = pthread_create(&lanes[started].thread, &attr, lane_main, &lanes[started]);
        if (e) {
            errf(err, errlen, "threads: could not start thread %lld of %lld: %s",
                 (long long)started + 1, (long long)c->lanes, strerror(e));
            bench_abort(c);
            rc = -1;
            break;
        }
    }
    pthread_attr_destroy(&attr);
    for (int64_t i = 0; i < started; i++) {
        pthread_join(lanes[i].thread, NULL);
        if (lanes[i].failed && rc == 0) {
            rc = errf(err, errlen, "threads: lane %lld: %s", (long long)i, lanes[i].err);
        }
    }
    free(lanes);
    return rc;
}
