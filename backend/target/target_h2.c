/* HTTP/2 for the demo server (libnghttp2): one server session per connection, h2c by prior
 * knowledge on a plain connection or h2 chosen by ALPN over TLS. Every stream is a job of the
 * talk's model (target_int.h): a complete request waits in the same FIFO for one of the same W
 * workers, holds it for its delay, and gives it back when its last frame is handed on. The
 * per-request overrides and faults of HTTP/1.x apply per stream; reset is a RST_STREAM, and
 * close_early and garbage, which are about the connection, end the whole connection. */
#include "target_int.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <nghttp2/nghttp2.h>

#define H2_MAX_STREAMS 10000   /* advertised SETTINGS_MAX_CONCURRENT_STREAMS */
#define OUT_FILL 32768         /* serialized frames gathered before a write */
#define FLUSH_BUDGET (4 << 20) /* bytes per connection per wake-up, for fairness */
#define READ_ROUNDS 16

enum sstate {
    S_READING,   /* its request (headers, body) is arriving */
    S_QUEUED,    /* complete: in the FIFO, or holding a worker until its delay is over */
    S_ANSWERING, /* its response is submitted (or it was reset) */
    S_HANG,      /* ?fault=hang: never answered */
};

struct h2_stream {
    struct job job; /* job.stream points back here */
    struct h2 *h;
    int32_t id;
    enum sstate st;
    size_t head_bytes;
    int64_t body_total, body_off, slow_left; /* as struct conn's, per stream */
    struct h2_stream *prev, *next;
};

struct h2 {
    struct target *t;
    struct conn *c;
    nghttp2_session *s;
    struct h2_stream *streams;
    uint8_t *out; /* frames serialized, not yet written */
    size_t out_len, out_off, out_cap;
    int close_now; /* ?fault=close_early: closed without another byte */
    int garbage;   /* ?fault=garbage: a line that is not HTTP/2 goes out next, then close */
    int close_after;
};

static struct h2_stream *stream_of(nghttp2_session *s, int32_t id)
{
    return nghttp2_session_get_stream_user_data(s, id);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct h2 *h = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    struct h2_stream *st = calloc(1, sizeof *st);
    if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the stream is reset */
    st->h = h;
    st->id = f->hd.stream_id;
    st->job.conn = h->c;
    st->job.stream = st;
    st->job.heap_idx = NO_HEAP;
    st->job.req.delay_ms = st->job.req.status = st->job.req.bytes = -1;
    st->job.req.keepalive = 1;
    st->next = h->streams;
    if (h->streams) h->streams->prev = st;
    h->streams = st;
    nghttp2_session_set_stream_user_data(s, st->id, st);
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ud;
    struct h2_stream *st = stream_of(s, f->hd.stream_id);
    if (!st || st->st != S_READING) return 0;
    struct target_req *r = &st->job.req;
    st->head_bytes += namelen + valuelen + 32; /* RFC 9113's size of a field */
    if (st->head_bytes > TARGET_MAX_HEAD && r->reject != 431) {
        r->reject = 431;
        snprintf(r->msg, sizeof r->msg, "request head too large (limit %d bytes)", TARGET_MAX_HEAD);
    }
    if (namelen == 7 && !memcmp(name, ":method", 7))
        r->head_only = valuelen == 4 && !memcmp(value, "HEAD", 4);
    else if (namelen == 5 && !memcmp(name, ":path", 5))
        target_http_path((const char *)value, valuelen, r);
    return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)ud;
    struct h2_stream *st = src->ptr;
    int64_t rem = st->body_total - st->body_off;
    if (rem == 0 && st->slow_left > 0) return NGHTTP2_ERR_DEFERRED;
    size_t want = rem < (int64_t)len ? (size_t)rem : len, done = 0;
    const struct target_req *r = &st->job.req;
    if (r->reject) {
        size_t mlen = strlen(r->msg); /* the body of a reject: its message and a newline */
        for (; done < want; done++) {
            size_t i = (size_t)st->body_off + done;
            buf[done] = i < mlen ? (uint8_t)r->msg[i] : '\n';
        }
    }
    while (done < want) {
        size_t k;
        const char *b = target_http_body(st->body_off + (int64_t)done, (int64_t)(want - done), &k);
        memcpy(buf + done, b, k);
        done += k;
    }
    st->body_off += (int64_t)done;
    if (st->body_off == st->body_total && st->slow_left == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)done;
}

/* Submits the response of st (headers, and the body as a data source). */
static void submit(struct h2 *h, struct h2_stream *st, int fault)
{
    struct target_req *r = &st->job.req;
    r->fault = fault;
    int64_t declared, body;
    int status = target_http_plan(r, &declared, &body);
    char sb[16], lb[32];
    snprintf(sb, sizeof sb, "%d", status);
    snprintf(lb, sizeof lb, "%" PRId64, declared);
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv nv[] = {NV(":status", sb), NV("server", "conlab-target"),
                       NV("content-type", "text/plain; charset=utf-8"), NV("content-length", lb)};
#undef NV
    st->body_total = body;
    st->body_off = st->slow_left = 0;
    if (fault == FAULT_SLOW_BODY) {
        st->slow_left = body; /* released one byte at a time by target_h2_expire() */
        st->body_total = 0;
    }
    nghttp2_data_provider dp = {.source.ptr = st, .read_callback = body_read};
    int has_body = body > 0;
    st->st = S_ANSWERING;
    if (nghttp2_submit_response(h->s, st->id, nv, declared >= 0 ? 4 : 3, has_body ? &dp : NULL) !=
        0)
        nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}

/* The request of st is complete: a reject is answered at once, anything else queues. */
static void request_done(struct h2 *h, struct h2_stream *st)
{
    if (st->job.req.reject) {
        submit(h, st, FAULT_NONE);
        return;
    }
    st->st = S_QUEUED;
    target_job_enqueue(h->t, &st->job);
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
    struct h2 *h = ud;
    if ((f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) ||
        !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    struct h2_stream *st = stream_of(s, f->hd.stream_id);
    if (st && st->st == S_READING) request_done(h, st);
    return 0;
}

/* The stream ended (answered, reset by either side): its queue place or worker goes back. */
static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    (void)code;
    struct h2 *h = ud;
    struct h2_stream *st = stream_of(s, id);
    if (!st) return 0;
    nghttp2_session_set_stream_user_data(s, id, NULL);
    target_job_cancel(h->t, &st->job);
    if (st->prev)
        st->prev->next = st->next;
    else
        h->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    free(st);
    return 0;
}

int target_h2_init(struct target *t, char *err, size_t errlen)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb)) return errf(err, errlen, "out of memory");
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    t->h2_callbacks = cb;
    return 0;
}

void target_h2_cleanup(struct target *t)
{
    nghttp2_session_callbacks_del(t->h2_callbacks);
    t->h2_callbacks = NULL;
}

int target_h2_start(struct target *t, struct conn *c, const char *buf, size_t len)
{
    struct h2 *h = calloc(1, sizeof *h);
    if (!h || nghttp2_session_server_new(&h->s, t->h2_callbacks, h)) {
        free(h);
        target_conn_close(t, c);
        return -1;
    }
    h->t = t;
    h->c = c;
    c->h2 = h;
    c->st = C_H2;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
                                   {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, TARGET_MAX_HEAD}};
    nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]);
    if (len && nghttp2_session_mem_recv(h->s, (const uint8_t *)buf, len) < 0) {
        target_conn_close(t, c);
        return -1;
    }
    target_h2_event(t, c, EPOLLIN); /* TLS may hold more; then answers the SETTINGS */
    return 0;
}

/* Appends n bytes to the output; returns 0 or -1 (out of memory). */
static int out_add(struct h2 *h, const void *p, size_t n)
{
    if (h->out_len + n > h->out_cap) {
        size_t cap = h->out_cap ? h->out_cap : OUT_FILL;
        while (cap < h->out_len + n)
            cap *= 2;
        uint8_t *b = realloc(h->out, cap);
        if (!b) return -1;
        h->out = b;
        h->out_cap = cap;
    }
    memcpy(h->out + h->out_len, p, n);
    h->out_len += n;
    return 0;
}

void target_h2_flush(struct target *t, struct conn *c)
{
    struct h2 *h = c->h2;
    if (c->st != C_H2 || !h) return;
    for (size_t sent = 0;;) {
        if (h->close_now) {
            target_conn_close(t, c);
            return;
        }
        while (h->out_off < h->out_len) {
            struct iovec iov = {h->out + h->out_off, h->out_len - h->out_off};
            ssize_t w = target_io_send(c, &iov, 1);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                target_conn_set_events(t, c, EPOLLOUT | EPOLLRDHUP); /* no reading meanwhile */
                return;
            }
            if (w <= 0) {
                target_conn_close(t, c);
                return;
            }
            h->out_off += (size_t)w;
            sent += (size_t)w;
            c->last_us = clock_us();
        }
        h->out_off = h->out_len = 0;
        if (h->close_after) {
            target_conn_close(t, c);
            return;
        }
        if (sent >= FLUSH_BUDGET) {
            target_conn_push(&t->ready, c); /* more at the next turn */
            return;
        }
        if (h->garbage) {
            static const char junk[] = "this is not HTTP at all\r\n\r\n";
            h->close_after = 1;
            if (out_add(h, junk, sizeof junk - 1) == 0) continue;
        }
        while (h->out_len < OUT_FILL) {
            const uint8_t *p;
            ssize_t n = nghttp2_session_mem_send(h->s, &p);
            if (n < 0 || (n > 0 && out_add(h, p, (size_t)n))) {
                target_conn_close(t, c);
                return;
            }
            if (n == 0) break;
        }
        if (h->out_len == 0) break;
    }
    if (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s)) {
        target_conn_close(t, c); /* after a GOAWAY, both ways */
        return;
    }
    target_conn_set_events(t, c, EPOLLIN | EPOLLRDHUP);
}

void target_h2_event(struct target *t, struct conn *c, uint32_t ev)
{
    struct h2 *h = c->h2;
    if (ev & (EPOLLERR | EPOLLHUP)) {
        target_conn_close(t, c);
        return;
    }
    if (ev & (EPOLLIN | EPOLLRDHUP)) {
        /* Bounded rounds from the socket, and whatever TLS has decrypted already (at most a
         * record, which the socket would never signal). */
        for (int i = 0; i < READ_ROUNDS || target_io_pending(c); i++) {
            ssize_t n = target_io_recv(c, t->scratch, sizeof t->scratch);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
            if (n <= 0) {
                target_conn_close(t, c); /* the client left: its streams are gone with it */
                return;
            }
            c->last_us = clock_us();
            if (nghttp2_session_mem_recv(h->s, (const uint8_t *)t->scratch, (size_t)n) < 0) {
                target_conn_close(t, c);
                return;
            }
        }
    }
    target_h2_flush(t, c);
}

void target_h2_due(struct target *t, struct job *j)
{
    struct h2_stream *st = j->stream;
    struct h2 *h = st->h;
    int fault = target_job_fault(t, j);
    if (fault == FAULT_RESET) {
        target_job_release(t, j);
        st->st = S_ANSWERING;
        nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    } else if (fault == FAULT_CLOSE_EARLY) {
        h->close_now = 1;
    } else if (fault == FAULT_HANG) {
        target_job_release(t, j);
        st->st = S_HANG;
    } else if (fault == FAULT_GARBAGE) {
        target_job_release(t, j);
        st->st = S_ANSWERING;
        h->garbage = 1;
    } else {
        submit(h, st, fault);
        if (fault == FAULT_SLOW_BODY && st->slow_left > 0)
            target_job_wait(t, j, clock_us() + TARGET_SLOW_BODY_MS * 1000);
    }
    target_conn_push(&t->ready, h->c);
}

void target_h2_expire(struct target *t, struct job *j)
{
    struct h2_stream *st = j->stream;
    if (st->st == S_QUEUED) {
        target_h2_due(t, j);
        return;
    }
    /* ?fault=slow_body: one more body byte may go out. */
    st->slow_left--;
    st->body_total++;
    nghttp2_session_resume_data(st->h->s, st->id);
    if (st->slow_left > 0) target_job_wait(t, j, clock_us() + TARGET_SLOW_BODY_MS * 1000);
    target_conn_push(&t->ready, st->h->c);
}

void target_h2_free(struct target *t, struct conn *c)
{
    struct h2 *h = c->h2;
    c->h2 = NULL;
    nghttp2_session_del(h->s); /* calls no callbacks */
    for (struct h2_stream *st = h->streams, *next; st; st = next) {
        next = st->next;
        target_job_cancel(t, &st->job);
        free(st);
    }
    free(h->out);
    free(h);
}

int target_h2_active(const struct conn *c)
{
    int n = 0;
    for (const struct h2_stream *st = c->h2 ? c->h2->streams : NULL; st; st = st->next)
        n += st->job.in_fifo || st->job.has_slot;
    return n;
}
