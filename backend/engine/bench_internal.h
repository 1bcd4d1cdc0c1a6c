/* What the mode implementations share: the per-mode context, the dispatch of requests (a
 * counter), the workers' logs (bench_log.c), the collection of a mode's records after its clock
 * stopped (bench_collect.c) and one libcurl transfer setup (bench_curl.c). */
#ifndef CONLAB_BENCH_INTERNAL_H
#define CONLAB_BENCH_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <sys/types.h>
#include "bench.h"

#define LOG_CHUNK 64  /* records a log holds before it writes them to the spill */
#define LOG_MSGS 64   /* distinct error messages a log keeps (more: the kind's name) */
#define LOG_SAMPLE 64 /* latest latencies a log keeps for the ticks */

/* One recording worker's log: the loop of `sync` or `async`, a thread of `threads`, a process of
 * `processes` (then in memory shared with the coordinator). Only its owner writes it while the
 * mode runs, with plain stores and no lock; the ticker reads the counters and the sample. A
 * full chunk goes to the mode's spill with one pwrite at an offset reserved by an atomic add. */
struct bench_log {
    int64_t done, ok, errors; /* live counters (relaxed atomics) */
    int64_t nsample;          /* latencies written to sample[] so far */
    int64_t sample[LOG_SAMPLE];
    /* processes: the worker's request in flight (-1 none), how and when it ended */
    int64_t busy_seq, busy_sched;
    int64_t ended_us; /* µs from t0 when its exit was seen */
    int64_t pss_kb, rss_kb;
    int32_t status; /* wait status; -1 while unknown */
    int32_t spill_failed;
    int32_t n; /* records in buf, published after the record is written */
    int32_t nmsg;
    struct bench_record buf[LOG_CHUNK];
    char msg[LOG_MSGS][RECORD_ERROR_MAX];
} __attribute__((aligned(64)));

/* What every worker of a mode shares. In memory shared with the workers for `processes`. */
struct bench_shared {
    int64_t next_seq;  /* the next request to hand out (atomic) */
    int64_t spill_end; /* bytes of the spill reserved so far (atomic) */
    int32_t abort;     /* a worker could not start: hand out nothing more (atomic) */
    int32_t nlogs;
    int64_t pad[5];
    struct bench_log logs[];
};

/* A request the mode knows was lost (its worker process died while running it). */
struct bench_lost {
    int64_t seq, lane, sched_us, end_us;
    char why[96];
};

struct bench_ctx {
    const struct spec *spec;
    enum bench_mode mode;
    const struct bench_sink *sink;
    int64_t t0;                 /* the mode's start, monotonic µs */
    int64_t lanes;              /* workers to start: min(level, requests); 1 for sync */
    struct curl_slist *headers; /* shared, read-only during the mode */
    struct bench_shared *sh;
    size_t sh_size;
    int sh_fd;    /* memfd behind sh (processes), else -1 */
    int spill_fd; /* memfd receiving the logs' full chunks */
    /* processes: filled by the mode, read by the collection */
    struct bench_lost *lost;
    int64_t nlost;
    bool no_worker_left; /* every worker died: what was never handed out is lost with them */
    int64_t workers_pss_kb, workers_rss_kb;
    /* the ticker's view */
    int64_t *seen; /* per log: sample entries already taken */
    int64_t next_tick_us; /* ticks fall on t0 + k × BENCH_TICK_US */
};

/* The engine's cancel pipe: readable once a cancel was asked (bench_cancel). Created by
 * bench_run before any worker; -1 before. */
int bench_cancel_fd(void);

/* In the exec'd worker starter: the cancel pipe's read end inherited from the coordinator. */
void bench_cancel_adopt(int read_fd);

/* Hands out the next request: true with its seq and due time (µs from t0; 0 without a rate),
 * false when none is left, the run is cancelled or the mode aborted. Lock-free; callable from
 * any worker process. */
bool bench_claim(struct bench_ctx *c, int64_t *seq, int64_t *due_us);

/* Due time of request seq (µs from t0). */
int64_t bench_due(const struct bench_ctx *c, int64_t seq);

/* Stops handing out requests (a worker could not start). */
void bench_abort(struct bench_ctx *c);

/* Waits until t0 + due_us or a cancel, whichever comes first. Returns false on cancel. */
bool bench_wait_due(const struct bench_ctx *c, int64_t due_us);

/* Sizes and places the shared state for `nlogs` logs: in memory of this process, or (shared
 * true) in a memfd that forked or exec'd workers map too. Returns 0 or -1 with err. */
int bench_shared_init(struct bench_ctx *c, int64_t nlogs, bool shared, char *err, size_t errlen);
void bench_shared_free(struct bench_ctx *c);

/* Records one finished request in log l (r->msg is ignored; `error` is its message, "" or NULL
 * for none). Never blocks on anything but its own spill write, once per LOG_CHUNK records. */
void bench_log_put(struct bench_ctx *c, struct bench_log *l, const struct bench_record *r,
                   const char *error);

/* Writes what log l still holds to the spill (a worker's end; or, for a dead worker, the
 * coordinator on its behalf). */
void bench_log_flush(struct bench_ctx *c, struct bench_log *l);

/* Sums the logs' counters and takes the latencies recorded since the previous tick (at most
 * BENCH_TICK_SAMPLE, spread evenly), then passes the tick to the sink. */
void bench_tick(struct bench_ctx *c);

/* After the mode's clock stopped: reads the spill, passes every request of the mode to the sink
 * in seq order (those never recorded as never run: cancelled, lost with their worker), and fills
 * the counts and latencies of res. `failed` says the mode itself failed. Returns 0 or -1 (err). */
int bench_collect(struct bench_ctx *c, bool failed, struct mode_result *res, char *err,
                  size_t errlen);

/* One lane's libcurl transfer: an easy handle set up once from the spec and reused, so that
 * keep-alive connections are reused unless the spec says otherwise. */
struct bench_xfer {
    CURL *easy;
    CURLM *solo; /* bench_xfer_perform's own multi handle (and connection cache) */
    struct bench_record rec;
    const char *error; /* the message of rec after bench_xfer_end ("" when ok) */
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
 * the lane's own that also waits on the cancel pipe, so that a cancel aborts it at once.
 * Connections are reused across calls. */
CURLcode bench_xfer_perform(struct bench_xfer *x);

/* Marks the start of request `seq` on `lane` (start_us = now). */
void bench_xfer_begin(struct bench_xfer *x, int64_t seq, int64_t lane, int64_t sched_us);

/* Fills x->rec and x->error from the finished transfer's result and curl's timings. */
void bench_xfer_end(struct bench_xfer *x, CURLcode rc);

/* The client's work on a response (the spec's work_us; nothing when 0 or when no response came):
 * hashes the kept body over and over until the calling thread has used work_us of CPU time on
 * its own clock (CLOCK_THREAD_CPUTIME_ID) — a computation, never a sleep, so that a lane that
 * shares a core with others takes longer in wall time. Call it after the request is recorded,
 * before the lane takes its next request; the record's times stay the transfer's own. */
void bench_xfer_work(struct bench_xfer *x);

void bench_xfer_cleanup(struct bench_xfer *x);

/* The modes. Each hands out requests with bench_claim and records them with bench_log_put. */
int bench_sync_run(struct bench_ctx *c, char *err, size_t errlen);
int bench_threads_run(struct bench_ctx *c, char *err, size_t errlen);
int bench_async_run(struct bench_ctx *c, char *err, size_t errlen);
int bench_processes_run(struct bench_ctx *c, char *err, size_t errlen);

/* Where the exec'd starter (bench_starter.c) finds what it shares with its coordinator. */
enum { BENCH_FD_SHARED = 3, BENCH_FD_SPILL = 4, BENCH_FD_CANCEL = 5 };

/* Forks the `processes` worker of `lane`; in the child it never returns. The caller is
 * single-threaded (the engine's own process, or the starter). */
pid_t bench_processes_fork(struct bench_ctx *c, int64_t lane);

/* Leaves in the worker's log how it ended (a wait status), for its request in flight. */
void bench_processes_ended(struct bench_ctx *c, int64_t lane, int status);

#endif
