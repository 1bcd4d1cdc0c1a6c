/* What the mode implementations share: the per-mode context (dispatch of the next request,
 * accounting of finished ones) and one libcurl transfer setup (bench_curl.c). */
#ifndef CONLAB_BENCH_INTERNAL_H
#define CONLAB_BENCH_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include "bench.h"
#include "stats.h"

struct bench_ctx {
    const struct spec *spec;
    enum bench_mode mode;
    const struct bench_sink *sink;
    int64_t t0;    /* the mode's start, monotonic µs */
    int64_t lanes; /* workers to start: min(level, requests); 1 for sync */
    struct curl_slist *headers; /* shared, read-only during the mode */

    pthread_mutex_t mu; /* guards everything below */
    int64_t next_seq;   /* next request to hand out */
    bool abort;         /* stop handing out (a worker could not start) */
    struct stats stats;
    struct mode_result *res;
    struct bench_error_tally {
        int32_t kind;
        int64_t n;
        char msg[RECORD_ERROR_MAX];
    } tally[RESULT_ERROR_MESSAGES]; /* distinct error messages met so far, with their counts */
    int ntally;
    int64_t child_rss_kb;       /* processes: sum of the workers' peak RSS */
    double child_user_ms, child_sys_ms; /* processes: the workers' CPU time */
};

/* Hands out the next request: returns true with its seq and due time (µs from t0; 0 without a
 * rate), false when none is left or the run is cancelled. Thread-safe. */
bool bench_next(struct bench_ctx *c, int64_t *seq, int64_t *due_us);

/* Sleeps until t0 + due_us or a cancel, whichever comes first. Returns false on cancel. */
bool bench_wait_due(const struct bench_ctx *c, int64_t due_us);

/* Accounts a finished request (counts, latency) and passes it to the sink. Thread-safe. */
void bench_emit(struct bench_ctx *c, const struct bench_record *r);

/* Records a request that never ran (cancelled, or no worker left) with lane -1. */
void bench_emit_unrun(struct bench_ctx *c, int64_t seq, enum req_error kind, const char *why);

/* One lane's libcurl transfer: an easy handle set up once from the spec and reused, so that
 * keep-alive connections are reused unless the spec says otherwise. */
struct bench_xfer {
    CURL *easy;
    CURLM *solo; /* bench_xfer_perform's own multi handle (and connection cache) */
    struct bench_record rec;
    int64_t t0;
    int64_t work_us;     /* the spec's work_us: CPU time to spend on each response */
    unsigned char *body; /* with work_us: the response body's first BENCH_BODY_KEEP bytes */
    size_t body_len, body_cap;
    uint64_t digest; /* what the work computed (kept so that it is not optimised away) */
    char errbuf[CURL_ERROR_SIZE];
};

#define BENCH_BODY_KEEP (64 * 1024)

/* Headers of the spec as a curl list (NULL when none; `Expect:` suppressed when a body is
 * sent). */
struct curl_slist *bench_curl_headers(const struct spec *s);

/* Sets up x->easy for the spec. Returns 0 or -1 with err. */
int bench_xfer_init(struct bench_xfer *x, const struct spec *s, struct curl_slist *headers,
                    int64_t t0, char *err, size_t errlen);

/* Runs the transfer to its end, blocking, like curl_easy_perform, but through a multi handle of
 * the lane's own polled at least every 50 ms, so that a cancel aborts it at once instead of at
 * libcurl's next once-a-second progress call. Connections are reused across calls. */
CURLcode bench_xfer_perform(struct bench_xfer *x);

/* Marks the start of request `seq` on `lane` (start_us = now). */
void bench_xfer_begin(struct bench_xfer *x, int64_t seq, int64_t lane, int64_t sched_us);

/* Fills x->rec from the finished transfer's result and curl's timings. */
void bench_xfer_end(struct bench_xfer *x, CURLcode rc);

/* The client's work on a response (the spec's work_us; nothing when 0 or when no response came):
 * hashes the kept body over and over until the calling thread has used work_us of CPU time on
 * its own clock (CLOCK_THREAD_CPUTIME_ID) — a computation, never a sleep, so that a lane that
 * shares a core with others takes longer in wall time. Call it after bench_xfer_end, before the
 * lane takes its next request; the record's times stay the transfer's own. */
void bench_xfer_work(struct bench_xfer *x);

void bench_xfer_cleanup(struct bench_xfer *x);

/* The modes. Each hands out requests with bench_next and reports them with bench_emit. */
int bench_sync_run(struct bench_ctx *c, char *err, size_t errlen);
int bench_threads_run(struct bench_ctx *c, char *err, size_t errlen);
int bench_async_run(struct bench_ctx *c, char *err, size_t errlen);
int bench_processes_run(struct bench_ctx *c, char *err, size_t errlen);

#endif
