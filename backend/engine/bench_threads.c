/* `threads`: C POSIX threads, each with its own easy handle, each taking the next request as it
 * becomes free. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "bench_threads.h"
#include "bench_curl.h"
#include "bench_dispatch.h"
#include "bench_log.h"
#include "util.h"

/* 1,000 threads must not reserve 8 GiB. ThreadSanitizer keeps ~900 KiB of its own on each
 * thread's stack and refuses to start a thread with less (pthread_create fails). */
#if defined(__SANITIZE_THREAD__)
#define STACK_BYTES (2048 * 1024)
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STACK_BYTES (2048 * 1024)
#endif
#endif
#ifndef STACK_BYTES
#define STACK_BYTES (256 * 1024)
#endif
#define GUARD_BYTES 4096

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
    /* The lanes' stacks are this mode's own memory, unmapped when it ends: glibc would keep
     * the stacks of ended threads cached in the process, and every later fork (the processes
     * mode) would copy their mappings (measured at C=256: processes after threads took 1.24 s
     * and 0.6 s of CPU against 1.12 s and 0.3 s alone). */
    size_t per = STACK_BYTES + GUARD_BYTES, region = per * (size_t)c->lanes;
    char *stacks = mmap(NULL, region, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (stacks == MAP_FAILED) {
        free(lanes);
        return errf(err, errlen, "threads: no memory for the stacks of %lld lanes",
                    (long long)c->lanes);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    int64_t started = 0;
    int rc = 0;
    for (; started < c->lanes; started++) {
        lanes[started].c = c;
        lanes[started].id = started;
        char *base = stacks + per * (size_t)started;
        mprotect(base, GUARD_BYTES, PROT_NONE); /* an overflow faults instead of corrupting */
        pthread_attr_setstack(&attr, base + GUARD_BYTES, STACK_BYTES);
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
    munmap(stacks, region);
    free(lanes);
    return rc;
}
