/* One lane's libcurl transfer (bench_curl.c): the shared curl setup and timing extraction of
 * every mode. */
#ifndef CONLAB_BENCH_CURL_H
#define CONLAB_BENCH_CURL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"
#include "spec.h"

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
    bool tls;        /* an https target: records carry tls_us */
    bool keepalive;
    bool pk_reuse; /* HTTP/2 prior knowledge on a libcurl that cannot reuse it */
    bool live;     /* the last transfer left an HTTP/2 connection open to reuse */
    struct curl_slist *resolve; /* the spec's target.resolve, owned */
    char errbuf[CURL_ERROR_SIZE];
};

#define BENCH_BODY_KEEP (64 * 1024)

/* Headers of the spec as a curl list (NULL when none; `Expect:` suppressed when a body is
 * sent). */
struct curl_slist *bench_curl_headers(const struct spec *s);

/* Sets up x->easy for the spec: the request, the HTTP version (target.http), TLS (target.tls:
 * PEM held in memory, never a file) and target.resolve. Returns 0 or -1 with err. */
int bench_xfer_init(struct bench_xfer *x, const struct spec *s, struct curl_slist *headers,
                    int64_t t0, char *err, size_t errlen);

/* Runs the transfer to its end, blocking, like curl_easy_perform, but through a multi handle of
 * the lane's own that also waits on the cancel pipe, so that a cancel aborts it at once.
 * Connections are reused across calls. */
CURLcode bench_xfer_perform(struct bench_xfer *x);

/* libcurl before 8.0 breaks a connection opened with HTTP/2 prior knowledge when a later
 * transfer reuses it asking for prior knowledge again ("Error in the HTTP2 framing layer";
 * fixed upstream in 8.0.0). Such a transfer asks for CURL_HTTP_VERSION_2TLS instead, which
 * reuses the HTTP/2 connection as it is; only a transfer that opens a connection asks for prior
 * knowledge. True on such a libcurl (asked at run time). */
bool bench_curl_pk_reuse_broken(void);

/* Marks the start of request `seq` on `lane` (start_us = now). */
void bench_xfer_begin(struct bench_xfer *x, int64_t seq, int64_t lane, int64_t sched_us);

/* Fills x->rec and x->error from the finished transfer's result and curl's timings, the
 * connection's TLS phase, whether it was reused and the answer's HTTP version. */
void bench_xfer_end(struct bench_xfer *x, CURLcode rc);

/* The client's work on a response (the spec's work_us; nothing when 0 or when no response came):
 * hashes the kept body over and over until the calling thread has used work_us of CPU time on
 * its own clock (CLOCK_THREAD_CPUTIME_ID) — a computation, never a sleep, so that a lane that
 * shares a core with others takes longer in wall time. Call it after the request is recorded,
 * before the lane takes its next request; the record's times stay the transfer's own. */
void bench_xfer_work(struct bench_xfer *x);

void bench_xfer_cleanup(struct bench_xfer *x);

#endif
