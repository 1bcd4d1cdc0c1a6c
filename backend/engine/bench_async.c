/* `async`: one thread, one libcurl multi handle, at most C transfers in flight; a slot is refilled
 * as soon as its transfer finishes (curl's 10-at-a-time pattern). The slot is the lane. */
#include <stdlib.h>
#include "bench_internal.h"
#include "util.h"

int bench_async_run(struct bench_ctx *c, char *err, size_t errlen)
{
    CURLM *multi = curl_multi_init();
    struct bench_xfer *slots = calloc((size_t)c->lanes, sizeof *slots);
    int64_t *free_slots = calloc((size_t)c->lanes, sizeof *free_slots);
    int rc = 0;
    if (!multi || !slots || !free_slots) {
        rc = errf(err, errlen, "async: out of memory for %lld slots", (long long)c->lanes);
        goto out;
    }
    raise_fd_limit();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)c->lanes);
    int64_t nfree = 0;
    for (int64_t i = 0; i < c->lanes; i++) {
        if (bench_xfer_init(&slots[i], c->spec, c->headers, c->t0, err, errlen)) {
            rc = -1;
            goto out;
        }
        free_slots[nfree++] = c->lanes - 1 - i; /* a stack: slot 0 is used first */
    }

    int64_t pending_seq = -1, pending_due = 0; /* handed out but not yet due */
    int64_t inflight = 0;
    bool more = true;
    for (;;) {
        /* Fill free slots with due requests. */
        while (nfree > 0 && !bench_cancel_flag) {
            if (pending_seq < 0) {
                if (!more || !bench_next(c, &pending_seq, &pending_due)) {
                    more = false;
                    pending_seq = -1;
                    break;
                }
            }
            if (c->t0 + pending_due > clock_us()) break;
            struct bench_xfer *x = &slots[free_slots[--nfree]];
            bench_xfer_begin(x, pending_seq, x - slots, pending_due);
            CURLMcode mc = curl_multi_add_handle(multi, x->easy);
            if (mc != CURLM_OK) {
                bench_xfer_end(x, CURLE_FAILED_INIT);
                bench_emit(c, &x->rec);
                free_slots[nfree++] = x - slots;
            } else {
                inflight++;
            }
            pending_seq = -1;
        }
        if (bench_cancel_flag && pending_seq >= 0) {
            bench_emit_unrun(c, pending_seq, REQ_ERR_CANCELLED, "cancelled before it started");
            pending_seq = -1;
        }
        if (inflight == 0 && (pending_seq < 0) && (!more || bench_cancel_flag)) break;

        int running = 0;
        CURLMcode mc = curl_multi_perform(multi, &running);
        if (mc != CURLM_OK) {
            rc = errf(err, errlen, "async: curl_multi_perform: %s", curl_multi_strerror(mc));
            break;
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            struct bench_xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode result = msg->data.result;
            curl_multi_remove_handle(multi, msg->easy_handle);
            bench_xfer_end(x, result);
            bench_emit(c, &x->rec);
            bench_xfer_work(x); /* on the loop's one thread: every transfer waits for it */
            free_slots[nfree++] = x - slots;
            inflight--;
        }
        /* Wake for curl's sockets, the next due request, or at least every 50 ms to notice a
         * cancel. */
        int64_t wait_ms = 50;
        if (pending_seq >= 0 && nfree > 0) {
            int64_t until = (c->t0 + pending_due - clock_us()) / 1000;
            if (until < wait_ms) wait_ms = until < 0 ? 0 : until;
        }
        if (nfree > 0 && pending_seq < 0 && more && !bench_cancel_flag) wait_ms = 0;
        if (wait_ms > 0 || inflight > 0) curl_multi_poll(multi, NULL, 0, (int)wait_ms, NULL);
    }

out:
    if (slots) {
        for (int64_t i = 0; i < c->lanes; i++) {
            if (slots[i].easy) curl_multi_remove_handle(multi, slots[i].easy);
            bench_xfer_cleanup(&slots[i]);
        }
    }
    if (multi) curl_multi_cleanup(multi);
    free(slots);
    free(free_slots);
    return rc;
}
