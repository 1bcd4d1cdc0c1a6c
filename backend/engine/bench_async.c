/* `async`: one thread, one libcurl multi handle, at most C transfers in flight; a slot is refilled
 * as soon as its transfer finishes (curl's 10-at-a-time pattern). The slot is the lane.
 *
 * The loop never sleeps while work is ready: a freed slot is refilled before the next wait, a
 * request not yet due bounds the wait, the last transfer's end ends the loop, and the cancel
 * pipe wakes it (no polling tick).
 *
 * Thousands of slots meet three scans of libcurl 7.88 that are linear in the multi handle's
 * connections or messages, so quadratic over a mode (measured with perf at C=10,000: 57 % of
 * the CPU): a new transfer looks for an idle connection to reuse (none can be idle when a slot
 * is used for the first time: a never-used slot is taken only when every used one is busy, so
 * its first transfer asks for a fresh connection); removing a handle walks the pending messages
 * (all are read first) and, with keep-alive, every cached connection (a handle that will not be
 * reused stays in the multi handle until curl_multi_cleanup, which releases them all at once). */
#include <stdlib.h>
#include "bench_async.h"
#include "bench_cancel.h"
#include "bench_curl.h"
#include "bench_dispatch.h"
#include "bench_log.h"
#include "util.h"

struct async_loop {
    struct bench_ctx *c;
    CURLM *multi;
    struct bench_xfer *slots;
    int64_t *free_slots; /* a stack of idle slots */
    bool *busy;
    bool *used; /* the slot has run a transfer */
    struct ended {
        struct bench_xfer *x;
        CURLcode rc;
    } * ended; /* transfers done, all read before any is removed */
    int64_t nfree, inflight;
    bool last_wave; /* no request is left to start: a freed handle will not be reused */
    struct bench_log *log;
};

static void finish(struct async_loop *a, struct bench_xfer *x, CURLcode result)
{
    if (!a->last_wave) curl_multi_remove_handle(a->multi, x->easy);
    bench_xfer_end(x, result);
    bench_log_put(a->c, a->log, &x->rec, x->error);
    bench_xfer_work(x); /* on the loop's one thread: every transfer waits for it */
    a->free_slots[a->nfree++] = x - a->slots;
    a->busy[x - a->slots] = false;
    a->inflight--;
}

/* Starts request seq in a free slot. */
static void start(struct async_loop *a, int64_t seq, int64_t due)
{
    struct bench_xfer *x = &a->slots[a->free_slots[--a->nfree]];
    int64_t i = x - a->slots;
    if (a->c->spec->keepalive && a->c->spec->http == SPEC_HTTP_1_1) /* fresh on first use */
        curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, a->used[i] ? 0L : 1L);
    a->used[i] = true;
    bench_xfer_begin(x, seq, i, due);
    a->busy[i] = true;
    a->inflight++;
    if (curl_multi_add_handle(a->multi, x->easy) != CURLM_OK) finish(a, x, CURLE_FAILED_INIT);
}

/* Records every finished transfer; returns how many. */
static int64_t reap(struct async_loop *a)
{
    int64_t n = 0;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(a->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        struct bench_xfer *x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        a->ended[n++] = (struct ended){x, msg->data.result};
    }
    for (int64_t i = 0; i < n; i++)
        finish(a, a->ended[i].x, a->ended[i].rc);
    return n;
}

static int run_loop(struct async_loop *a, char *err, size_t errlen)
{
    struct bench_ctx *c = a->c;
    int64_t pending = -1, pending_due = 0; /* handed out, not yet due */
    bool more = true;
    struct curl_waitfd cw = {.fd = bench_cancel_fd(), .events = CURL_WAIT_POLLIN};
    for (;;) {
        while (a->nfree > 0 && !bench_cancel_flag) {
            if (pending < 0 && !(more && (more = bench_claim(c, &pending, &pending_due)))) {
                pending = -1;
                a->last_wave = true;
                break;
            }
            if (c->t0 + pending_due > clock_us()) break;
            start(a, pending, pending_due);
            pending = -1;
        }
        if (bench_cancel_flag || (a->inflight == 0 && pending < 0)) return 0;
        int running = 0;
        CURLMcode mc = curl_multi_perform(a->multi, &running);
        if (mc != CURLM_OK)
            return errf(err, errlen, "async: curl_multi_perform: %s", curl_multi_strerror(mc));
        if (reap(a) > 0) continue; /* refill the freed slots before any wait */
        int timeout_ms = 60000;    /* libcurl shortens it to its own next timer */
        if (pending >= 0 && a->nfree > 0) {
            int64_t us = c->t0 + pending_due - clock_us();
            timeout_ms = us <= 0 ? 0 : (int)((us + 999) / 1000);
        }
        cw.revents = 0;
        curl_multi_poll(a->multi, &cw, cw.fd >= 0 ? 1 : 0, timeout_ms, NULL);
        if (cw.revents) bench_cancel_flag = 1;
    }
}

int bench_async_run(struct bench_ctx *c, char *err, size_t errlen)
{
    struct async_loop a = {.c = c, .log = &c->sh->logs[0]};
    a.multi = curl_multi_init();
    a.slots = calloc((size_t)c->lanes, sizeof *a.slots);
    a.free_slots = calloc((size_t)c->lanes, sizeof *a.free_slots);
    a.busy = calloc((size_t)c->lanes, sizeof *a.busy);
    a.used = calloc((size_t)c->lanes, sizeof *a.used);
    a.ended = calloc((size_t)c->lanes, sizeof *a.ended);
    int rc = 0;
    if (!a.multi || !a.slots || !a.free_slots || !a.busy || !a.used || !a.ended) {
        rc = errf(err, errlen, "async: out of memory for %lld slots", (long long)c->lanes);
        goto out;
    }
    raise_fd_limit();
    curl_multi_setopt(a.multi, CURLMOPT_MAXCONNECTS, (long)c->lanes);
    /* libcurl multiplexes HTTP/2 by default: `async` is one transfer per connection unless the
     * spec asked for HTTP/2 or 3, and then libcurl shares connections as it sees fit. */
    if (c->spec->http == SPEC_HTTP_1_1)
        curl_multi_setopt(a.multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    for (int64_t i = 0; i < c->lanes; i++) {
        if (bench_xfer_init(&a.slots[i], c->spec, c->headers, c->t0, err, errlen)) {
            rc = -1;
            goto out;
        }
        a.free_slots[a.nfree++] = c->lanes - 1 - i; /* slot 0 is used first */
    }
    rc = run_loop(&a, err, errlen);
    /* Cancelled (or failed): what is still in flight is aborted where it stands. */
    for (int64_t i = 0; i < c->lanes && a.inflight > 0; i++)
        if (a.busy[i]) finish(&a, &a.slots[i], CURLE_ABORTED_BY_CALLBACK);
    bench_log_flush(c, a.log);
out:
    /* The multi handle first: it lets go of the handles still in it (the last wave's) at once. */
    if (a.multi) curl_multi_cleanup(a.multi);
    if (a.slots) {
        for (int64_t i = 0; i < c->lanes; i++)
            bench_xfer_cleanup(&a.slots[i]);
    }
    free(a.slots);
    free(a.free_slots);
    free(a.busy);
    free(a.used);
    free(a.ended);
    return rc;
}
