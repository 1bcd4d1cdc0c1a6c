/* What the engine measures: one record per request, one result per mode. */
#ifndef CONLAB_RECORD_H
#define CONLAB_RECORD_H

#include <stdint.h>

/* Why a request failed. REQ_OK for a completed 2xx/3xx transfer. */
enum req_error {
    REQ_OK = 0,
    REQ_ERR_CONNECT,   /* could not resolve or connect */
    REQ_ERR_TIMEOUT,   /* timeout_ms elapsed */
    REQ_ERR_RESET,     /* connection reset / closed / nothing received / send or receive error */
    REQ_ERR_STATUS,    /* a response with a status outside 2xx/3xx */
    REQ_ERR_OTHER,     /* anything else curl reports (TLS, protocol, ...) */
    REQ_ERR_CANCELLED, /* the run was cancelled before or while it ran */
    REQ_ERR_WORKER,    /* the worker process running it died */
    REQ_ERR_TLS,       /* the TLS handshake failed: a certificate refused, no shared protocol */
    REQ_ERR_COUNT
};

/* "ok", "connect", "timeout", "reset", "status", "other", "cancelled", "worker", "tls". */
const char *req_error_name(enum req_error e);
int req_error_from_name(const char *name); /* -1 when unknown */

#define RECORD_ERROR_MAX 200 /* longest error message kept, NUL included */

/* One request, 88 bytes. All times are microseconds from the mode's start on the monotonic
 * clock; -1 means null (not reached). The error's text is kept once per mode in a table of
 * distinct messages (struct record_msgs) and referred to by index, so that a million failed
 * requests cost a million small records and a few messages. */
struct bench_record {
    int64_t seq;
    int64_t sched_us;   /* when the request became due: 0 without --rate, seq/rate with it */
    int64_t start_us;   /* when the transfer started */
    int64_t connect_us; /* connection established (== start_us on a reused connection) */
    int64_t ttfb_us;    /* first response byte */
    int64_t end_us;     /* transfer finished (or failed) */
    int64_t bytes;      /* response body bytes received */
    int32_t lane;
    int32_t status;   /* HTTP status, 0 when no response */
    int32_t err_kind; /* enum req_error */
    int32_t msg;      /* the error's message: an index into the mode's record_msgs, -1 none */
    /* The connection (added with TLS and HTTP/2). */
    int64_t tls_us;       /* TLS handshake done (== start_us on a reused connection); -1 for
                           * plain HTTP or when not reached */
    int32_t conn;         /* h2mux: the connection (0..K-1) its stream went over; -1 otherwise */
    int16_t http_version; /* the answer's HTTP version: 10, 11, 20, 30; 0 when none came */
    int8_t reused;        /* 1: it reused a connection, 0: it opened one, -1: none reached */
    int8_t pad;
};

/* "1.0", "1.1", "2", "3" for a record's http_version; NULL for 0 or an unknown value. */
const char *record_http_version_name(int v);

/* The index of a record's http_version in mode_result.http_versions (0..3), -1 for none. */
int record_http_version_slot(int v);

/* The distinct error messages of one mode; bench_record.msg indexes `text`. */
struct record_msgs {
    int32_t n;
    const char *const *text;
};

/* The message of r: its text from msgs, "" when it has none (or msgs is NULL). */
const char *record_msg(const struct bench_record *r, const struct record_msgs *msgs);

#define BENCH_TICK_SAMPLE 128 /* latencies at most in one tick's sample */

/* A look at a running mode, a few times a second: cumulative counters, and a sample of the
 * latencies (µs, ok requests) of requests that ended since the previous tick. */
struct bench_tick {
    int32_t mode; /* enum bench_mode */
    int32_t nsample;
    int64_t elapsed_us; /* since the mode's start */
    int64_t done, ok, errors;
    int64_t sample_us[BENCH_TICK_SAMPLE];
};

struct latency_summary {
    double min, mean, p50, p90, p99, max; /* milliseconds */
};

/* What a client mode's RESULT adds (docs/CLIENTS.md); all zero for a built-in mode. */
#define CLIENT_STDERR_KEEP 2000 /* the last bytes of a client's stderr kept */
struct client_info {
    int32_t is_client;
    int32_t failed; /* the client broke the protocol: `failure` names the rule and the line */
    char name[40];
    double startup_ms;     /* spawn to hello (never in wall_ms) */
    double startup_cpu_ms; /* CPU of the tree before hello (not in cpu_ms) */
    char hello[128];       /* the hello line's text */
    char failure[480];
    char stderr_tail[CLIENT_STDERR_KEEP + 1];
};

/* One mode's RESULT (the contract's fields plus extensions). */
struct mode_result {
    int32_t mode; /* enum bench_mode */
    int32_t has_latency; /* 0 when no request was ok (latency_ms is null) */
    int64_t concurrency; /* the level this mode ran at (the spec's, or one level of a sweep) */
    int64_t requests, ok, errors;
    int64_t errors_by_kind[REQ_ERR_COUNT]; /* index REQ_OK unused */
    /* The most common error message of the mode (a failed request without a message counts as
     * its kind's name) and how many requests failed with it; count 0 when nothing failed. */
    int64_t top_error_count;
    int32_t top_error_kind;
    char top_error[RECORD_ERROR_MAX];
    int64_t bytes;
    int64_t lanes; /* workers actually used: min(concurrency, requests) */
    double wall_ms;
    double rps; /* ok requests per second of wall time (failed requests are not throughput) */
    struct latency_summary latency_ms; /* over the ok requests */
    int32_t has_latency_from_due; /* 1 with a rate and at least one ok request */
    int32_t pad;
    struct latency_summary latency_from_due_ms; /* end - sched of the ok requests (with a rate) */
    double cpu_user_ms, cpu_sys_ms;
    int64_t peak_rss_kb;    /* processes: the coordinator's peak RSS + the workers' Pss */
    int64_t workers_rss_kb; /* processes: the sum of the workers' peak RSS (0 otherwise) */
    int32_t cancelled; /* 1 when the mode was cut short by a cancel */
    struct client_info client;
    int32_t has_latency_all; /* 0 only when the mode had no request */
    /* Over every request: an ok one at its latency, a failed one at its elapsed time (end -
     * start; 0 when it never started), a timeout at least timeout_ms. Latency thresholds judge
     * this one, so that failures cannot pass a latency bar. */
    struct latency_summary latency_all_ms;
    double attempts_per_s; /* every request (ok or not) per second of wall time */
    int64_t connections;      /* new connections the mode's requests opened */
    int64_t http_versions[4]; /* answers by HTTP version: 1.0, 1.1, 2, 3 */
    /* The TLS handshakes of the connections it opened (tls_us - connect_us, summed), and the
     * requests' own time (end_us - start_us, summed): the handshake's share of the latency. */
    double tls_ms, busy_ms;
};

#endif
