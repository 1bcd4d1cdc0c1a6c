/* HTTP/1.x connections of the demo server: reading a head and body, the response (and the
 * ?fault= that replaces it), keep-alive and pipelining, the graceful close. A plain connection
 * whose first bytes are the HTTP/2 preface becomes an HTTP/2 one (h2c, prior knowledge). */
#include "target_int.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define WRITE_BUDGET (4 << 20) /* bytes per connection per wake-up, for fairness */

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN (sizeof h2_preface - 1)

static void make_ready(struct target *t, struct conn *c)
{
    c->st = C_READY;
    target_conn_push(&t->ready, c);
    target_conn_set_events(t, c, EPOLLRDHUP);
}

void target_h1_due(struct target *t, struct conn *c)
{
    make_ready(t, c);
}

/* The response is in the kernel: give the worker back, then either wait for the next request
 * (the buffer may already hold it: t->parse gets to it this turn) or close gracefully. */
static void conn_done(struct target *t, struct conn *c)
{
    target_job_release(t, &c->job);
    c->out_len = c->out_off = 0;
    c->body_total = c->body_off = 0;
    c->last_us = clock_us();
    if (!c->job.req.keepalive) {
        /* Our FIN after the response, then drain until the client's: closing with unread
         * bytes would send a reset that can destroy the response before it is read. */
        target_tls_goodbye(c);
        shutdown(c->fd, SHUT_WR);
        free(c->buf);
        c->buf = NULL;
        c->len = c->cap = 0;
        c->st = C_LINGER;
        target_conn_set_events(t, c, EPOLLIN | EPOLLRDHUP);
        return;
    }
    c->st = C_HEAD;
    target_conn_push(&t->parse, c);
}

/* ?fault=slow_body: the next body byte is due in TARGET_SLOW_BODY_MS; the worker stays held. */
static void slow_wait(struct target *t, struct conn *c)
{
    c->st = C_SLOW;
    target_job_wait(t, &c->job, clock_us() + TARGET_SLOW_BODY_MS * 1000);
    target_conn_set_events(t, c, EPOLLRDHUP);
}

static void conn_write(struct target *t, struct conn *c)
{
    size_t budget = WRITE_BUDGET;
    for (;;) {
        struct iovec iov[2];
        int n = 0;
        if (c->out_off < c->out_len)
            iov[n++] = (struct iovec){c->out + c->out_off, c->out_len - c->out_off};
        if (c->body_off < c->body_total) {
            size_t k;
            const char *b = target_http_body(c->body_off, c->body_total - c->body_off, &k);
            iov[n++] = (struct iovec){(void *)b, k};
        }
        if (n == 0) {
            if (c->slow_left > 0)
                slow_wait(t, c);
            else
                conn_done(t, c);
            return;
        }
        if (budget == 0) break;
        ssize_t w = target_io_send(c, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            target_conn_close(t, c);
            return;
        }
        c->last_us = clock_us();
        size_t head = c->out_len - c->out_off;
        if ((size_t)w < head) head = (size_t)w;
        c->out_off += head;
        c->body_off += (int64_t)((size_t)w - head);
        budget = (size_t)w >= budget ? 0 : budget - (size_t)w;
    }
    target_conn_set_events(t, c, EPOLLOUT | EPOLLRDHUP);
}

/* Formats the response of the request (or of its reject) and starts sending it; a fault
 * changes what is sent (target_http.h). */
void target_h1_respond(struct target *t, struct conn *c)
{
    if (c->st != C_READY) return;
    int fault = target_job_fault(t, &c->job);
    if (fault == FAULT_RESET) {
        struct linger now = {.l_onoff = 1, .l_linger = 0}; /* close() sends RST */
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    }
    if (fault == FAULT_RESET || fault == FAULT_CLOSE_EARLY) {
        target_conn_close(t, c);
        return;
    }
    if (fault == FAULT_HANG) {
        target_job_release(t, &c->job);
        c->st = C_HANG;
        c->last_us = clock_us();
        target_conn_set_events(t, c, EPOLLIN | EPOLLRDHUP);
        return;
    }
    struct target_req *r = &c->job.req;
    if (fault == FAULT_GARBAGE || fault == FAULT_BAD_LENGTH) r->keepalive = 0;
    r->fault = fault; /* the server's --fault, when the request named none */
    int n = target_http_response(r, c->out, sizeof c->out, &c->body_total);
    if (n < 0) {
        target_conn_close(t, c);
        return;
    }
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->body_off = 0;
    c->slow_left = 0;
    if (fault == FAULT_SLOW_BODY) {
        c->slow_left = c->body_total; /* released one byte at a time by target_h1_expire() */
        c->body_total = 0;
    }
    c->st = C_WRITING;
    conn_write(t, c);
}

void target_h1_expire(struct target *t, struct conn *c)
{
    if (c->st != C_SLOW) {
        make_ready(t, c);
        return;
    }
    /* ?fault=slow_body: one more body byte may go out. */
    c->slow_left--;
    c->body_total++;
    c->st = C_WRITING;
    conn_write(t, c);
}

static void consume(struct conn *c, size_t k)
{
    memmove(c->buf, c->buf + k, c->len - k);
    c->len -= k;
}

/* Waits for more bytes: from the socket, or at once when TLS already holds some. */
static void want_more(struct target *t, struct conn *c)
{
    target_conn_set_events(t, c, EPOLLIN | EPOLLRDHUP);
    if (target_io_pending(c)) target_conn_push(&t->again, c);
}

/* Before the first request: 1 when the buffer starts the HTTP/2 preface (0 when it cannot). */
static int preface_start(const struct conn *c)
{
    size_t k = c->len < H2_PREFACE_LEN ? c->len : H2_PREFACE_LEN;
    return c->nreq == 0 && c->len > 0 && !memcmp(c->buf, h2_preface, k);
}

/* Moves a connection in C_HEAD or C_BODY along with the bytes it has buffered: parses a head,
 * discards the body, and hands the complete request to the FIFO (or to t->ready when it is
 * answered at once). */
void target_h1_advance(struct target *t, struct conn *c)
{
    if (c->st == C_HEAD) {
        if (c->len == 0) {
            free(c->buf);
            c->buf = NULL;
            c->cap = 0;
            want_more(t, c);
            return;
        }
        if (preface_start(c)) {
            if (c->len < H2_PREFACE_LEN) {
                want_more(t, c);
                return;
            }
            char *b = c->buf;
            size_t n = c->len;
            c->buf = NULL;
            c->len = c->cap = 0;
            target_h2_start(t, c, b, n);
            free(b);
            return;
        }
        struct target_req *r = &c->job.req;
        int rc = target_http_parse(c->buf, c->len, r);
        if (rc == 0) {
            want_more(t, c);
            return;
        }
        c->nreq++;
        if (rc < 0) {
            c->len = 0;
            make_ready(t, c);
            return;
        }
        consume(c, r->head_len);
        c->body_left = r->body_len;
        c->st = C_BODY;
        if (r->expect_continue && c->body_left > (int64_t)c->len) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            struct iovec iov = {(void *)cont, sizeof cont - 1};
            (void)!target_io_send(c, &iov, 1);
        }
    }
    if (c->st == C_BODY) {
        size_t k = c->body_left < (int64_t)c->len ? (size_t)c->body_left : c->len;
        consume(c, k);
        c->body_left -= (int64_t)k;
        if (c->body_left > 0) {
            want_more(t, c);
        } else if (c->job.req.reject) {
            make_ready(t, c);
        } else {
            c->st = C_QUEUED;
            target_job_enqueue(t, &c->job);
            /* Only hang-ups are watched until the response is sent: pipelined bytes wait. */
            target_conn_set_events(t, c, EPOLLRDHUP);
        }
    }
}

void target_h1_read(struct target *t, struct conn *c)
{
    if (c->st != C_HEAD && c->st != C_BODY) return;
    char *dst;
    size_t room;
    if (c->st == C_BODY && c->len == 0) {
        dst = t->scratch; /* body bytes are discarded straight from the socket */
        room = sizeof t->scratch;
        if ((int64_t)room > c->body_left) room = (size_t)c->body_left;
    } else {
        if (c->len == c->cap) {
            /* The parser answers 431 before a head fills TARGET_MAX_HEAD bytes. */
            size_t cap = c->cap ? 2 * c->cap : 2048;
            char *b = cap <= TARGET_MAX_HEAD ? realloc(c->buf, cap) : NULL;
            if (!b) {
                target_conn_close(t, c);
                return;
            }
            c->buf = b;
            c->cap = cap;
        }
        dst = c->buf + c->len;
        room = c->cap - c->len;
    }
    ssize_t n = target_io_recv(c, dst, room);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        /* The client went away (or reset): nothing is left to answer. */
        target_conn_close(t, c);
        return;
    }
    c->last_us = clock_us();
    if (dst == t->scratch)
        c->body_left -= n;
    else
        c->len += (size_t)n;
    target_h1_advance(t, c);
}

static void conn_drain(struct target *t, struct conn *c)
{
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(c->fd, t->scratch, sizeof t->scratch, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0 && !(n < 0 && errno == EINTR)) {
            target_conn_close(t, c);
            return;
        }
    }
}

void target_h1_event(struct target *t, struct conn *c, uint32_t ev)
{
    if (c->st == C_HEAD || c->st == C_BODY)
        target_h1_read(t, c);
    else if (c->st == C_LINGER || c->st == C_HANG)
        conn_drain(t, c);
    else if (c->st == C_WRITING && !(ev & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
        conn_write(t, c);
    else /* a hang-up: the only event registered while queued, waiting or ready */
        target_conn_close(t, c);
}
