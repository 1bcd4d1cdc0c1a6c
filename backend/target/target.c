/* The demo server: one epoll thread, non-blocking sockets, a FIFO of requests waiting for a
 * worker, and a min-heap of the deadlines of the requests that hold one (a timerfd wakes the
 * loop at the earliest). A "worker" is only a count: a request holds one from the moment it
 * leaves the FIFO until its response is fully handed to the kernel, so idle connections cost
 * no worker and a slow reader of a large body holds one, as with gunicorn's sync workers. */
#include "target.h"
#include "target_http.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#define LINGER_US 2000000      /* after our FIN, how long we wait for the client's */
#define SWEEP_US 1000000       /* how often idle connections are looked for */
#define WRITE_BUDGET (4 << 20) /* bytes per connection per wake-up, for fairness */
#define MAX_EVENTS 512
#define ACCEPT_BURST 256
#define NO_HEAP SIZE_MAX

enum cstate {
    C_HEAD,    /* reading a request head; also idle between keep-alive requests */
    C_BODY,    /* reading and discarding a request body */
    C_QUEUED,  /* complete request in t->fifo, waiting for a worker */
    C_WAITING, /* holds a worker, in the heap until its deadline */
    C_READY,   /* in t->ready: its response starts at the next turn */
    C_WRITING, /* sending the response */
    C_LINGER,  /* response sent with our FIN; draining until the client closes */
    C_SLOW,    /* ?fault=slow_body: holds a worker, in the heap until its next body byte */
    C_HANG,    /* ?fault=hang: never answered; holds no worker; drained until the client leaves */
    C_DEAD,    /* closed; freed at the end of the loop turn (events may still name it) */
};

struct conn;
struct clist {
    struct conn *head, *tail;
};

struct conn {
    int fd;
    enum cstate st;
    uint32_t ev; /* the epoll events registered */
    int has_slot;
    char *buf; /* received bytes not yet parsed; NULL when empty and idle */
    size_t len, cap;
    struct target_req req;
    int64_t body_left;
    int64_t deadline_us;
    size_t heap_idx;
    int64_t last_us;            /* last progress, for the idle timeout */
    struct conn *prev, *next;   /* t->all */
    struct conn *lprev, *lnext; /* in at most one of fifo, ready, parse, dead */
    struct clist *list;
    char out[512]; /* response head, and the body of a reject */
    size_t out_len, out_off;
    int64_t body_total, body_off; /* the generated body */
    int64_t slow_left;            /* ?fault=slow_body: body bytes not yet released to send */
};

struct target {
    struct target_opts o;
    int lfd, ep, evfd, tfd, spare_fd;
    int port;
    pthread_t thread;
    struct conn *all;
    int64_t nconns;
    struct clist fifo, ready, parse, dead;
    struct conn **heap;
    size_t heap_n;
    int64_t busy; /* workers in use */
    int64_t armed_us, next_sweep_us;
    char scratch[65536];
};

void target_opts_default(struct target_opts *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->host, sizeof o->host, "127.0.0.1");
    o->port = 8000;
    o->workers = 3;
    o->delay_ms = 1000;
    o->max_conns = 20000;
    o->idle_timeout_ms = 120000;
}

int target_port(const struct target *t)
{
    return t->port;
}

static void list_push(struct clist *l, struct conn *c)
{
    c->list = l;
    c->lnext = NULL;
    c->lprev = l->tail;
    if (l->tail)
        l->tail->lnext = c;
    else
        l->head = c;
    l->tail = c;
}

static void list_remove(struct conn *c)
{
    struct clist *l = c->list;
    if (!l) return;
    if (c->lprev)
        c->lprev->lnext = c->lnext;
    else
        l->head = c->lnext;
    if (c->lnext)
        c->lnext->lprev = c->lprev;
    else
        l->tail = c->lprev;
    c->list = NULL;
    c->lprev = c->lnext = NULL;
}

static struct conn *list_pop(struct clist *l)
{
    struct conn *c = l->head;
    if (c) list_remove(c);
    return c;
}

/* Restores the heap order around index i after its deadline changed or it was filled. */
static void heap_fix(struct target *t, size_t i)
{
    struct conn **h = t->heap;
    for (;;) {
        size_t p = (i - 1) / 2, l = 2 * i + 1, r = l + 1, m = i;
        if (i > 0 && h[p]->deadline_us > h[i]->deadline_us) {
            m = p;
        } else {
            if (l < t->heap_n && h[l]->deadline_us < h[m]->deadline_us) m = l;
            if (r < t->heap_n && h[r]->deadline_us < h[m]->deadline_us) m = r;
        }
        if (m == i) return;
        struct conn *x = h[i];
        h[i] = h[m];
        h[m] = x;
        h[i]->heap_idx = i;
        h[m]->heap_idx = m;
        i = m;
    }
}

/* The heap never holds more than `workers` entries: only requests holding a worker wait. */
static void heap_push(struct target *t, struct conn *c)
{
    c->heap_idx = t->heap_n;
    t->heap[t->heap_n++] = c;
    heap_fix(t, c->heap_idx);
}

static void heap_remove(struct target *t, struct conn *c)
{
    size_t i = c->heap_idx;
    c->heap_idx = NO_HEAP;
    if (i == NO_HEAP) return;
    t->heap_n--;
    if (i == t->heap_n) return;
    t->heap[i] = t->heap[t->heap_n];
    t->heap[i]->heap_idx = i;
    heap_fix(t, i);
}

static void set_events(struct target *t, struct conn *c, uint32_t ev)
{
    if (c->ev == ev) return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &e) == 0) c->ev = ev;
}

static void release_slot(struct target *t, struct conn *c)
{
    if (!c->has_slot) return;
    c->has_slot = 0;
    t->busy--;
}

/* Closes at once, wherever the connection stands: its queue place and worker are given back.
 * The struct is freed at the end of the loop turn. */
static void conn_close(struct target *t, struct conn *c)
{
    if (c->st == C_DEAD) return;
    /* Removed explicitly: a forked child of an embedding process may still share the socket,
     * and epoll would keep reporting it after our close(). */
    epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    list_remove(c);
    heap_remove(t, c);
    release_slot(t, c);
    free(c->buf);
    c->buf = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->all = c->next;
    if (c->next) c->next->prev = c->prev;
    t->nconns--;
    c->st = C_DEAD;
    list_push(&t->dead, c);
}

static void make_ready(struct target *t, struct conn *c)
{
    c->st = C_READY;
    list_push(&t->ready, c);
    set_events(t, c, EPOLLRDHUP);
}

/* The response is in the kernel: give the worker back, then either wait for the next request
 * (the buffer may already hold it: t->parse gets to it this turn) or close gracefully. */
static void conn_done(struct target *t, struct conn *c)
{
    release_slot(t, c);
    c->out_len = c->out_off = 0;
    c->body_total = c->body_off = 0;
    c->last_us = clock_us();
    if (!c->req.keepalive) {
        /* Our FIN after the response, then drain until the client's: closing with unread
         * bytes would send a reset that can destroy the response before it is read. */
        shutdown(c->fd, SHUT_WR);
        free(c->buf);
        c->buf = NULL;
        c->len = c->cap = 0;
        c->st = C_LINGER;
        set_events(t, c, EPOLLIN | EPOLLRDHUP);
        return;
    }
    c->st = C_HEAD;
    list_push(&t->parse, c);
}

/* ?fault=slow_body: the next body byte is due in TARGET_SLOW_BODY_MS; the worker stays held. */
static void slow_wait(struct target *t, struct conn *c)
{
    c->st = C_SLOW;
    c->deadline_us = clock_us() + TARGET_SLOW_BODY_MS * 1000;
    heap_push(t, c);
    set_events(t, c, EPOLLRDHUP);
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
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            conn_close(t, c);
            return;
        }
        c->last_us = clock_us();
        size_t head = c->out_len - c->out_off;
        if ((size_t)w < head) head = (size_t)w;
        c->out_off += head;
        c->body_off += (int64_t)((size_t)w - head);
        budget = (size_t)w >= budget ? 0 : budget - (size_t)w;
    }
    set_events(t, c, EPOLLOUT | EPOLLRDHUP);
}

/* Formats the response of c->req (or of its reject) and starts sending it; a ?fault= changes
 * what is sent (target_http.h). */
static void start_response(struct target *t, struct conn *c)
{
    int fault = c->req.reject ? FAULT_NONE : c->req.fault;
    if (fault == FAULT_RESET) {
        struct linger now = {.l_onoff = 1, .l_linger = 0}; /* close() sends RST */
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
    }
    if (fault == FAULT_RESET || fault == FAULT_CLOSE_EARLY) {
        conn_close(t, c);
        return;
    }
    if (fault == FAULT_HANG) {
        release_slot(t, c);
        c->st = C_HANG;
        c->last_us = clock_us();
        set_events(t, c, EPOLLIN | EPOLLRDHUP);
        return;
    }
    if (fault == FAULT_GARBAGE || fault == FAULT_BAD_LENGTH) c->req.keepalive = 0;
    int n = target_http_response(&c->req, c->out, sizeof c->out, &c->body_total);
    if (n < 0) {
        conn_close(t, c);
        return;
    }
    c->out_len = (size_t)n;
    c->out_off = 0;
    c->body_off = 0;
    c->slow_left = 0;
    if (fault == FAULT_SLOW_BODY) {
        c->slow_left = c->body_total; /* released one byte at a time by expire() */
        c->body_total = 0;
    }
    c->st = C_WRITING;
    conn_write(t, c);
}

/* ?fault=slow_body: one more body byte may go out. */
static void slow_next(struct target *t, struct conn *c)
{
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

/* Moves a connection in C_HEAD or C_BODY along with the bytes it has buffered: parses a head,
 * discards the body, and hands the complete request to the FIFO (or to t->ready when it is
 * answered at once). */
static void conn_advance(struct target *t, struct conn *c)
{
    if (c->st == C_HEAD) {
        if (c->len == 0) {
            free(c->buf);
            c->buf = NULL;
            c->cap = 0;
            set_events(t, c, EPOLLIN | EPOLLRDHUP);
            return;
        }
        int rc = target_http_parse(c->buf, c->len, &c->req);
        if (rc == 0) {
            set_events(t, c, EPOLLIN | EPOLLRDHUP);
            return;
        }
        if (rc < 0) {
            c->len = 0;
            make_ready(t, c);
            return;
        }
        consume(c, c->req.head_len);
        c->body_left = c->req.body_len;
        c->st = C_BODY;
        if (c->req.expect_continue && c->body_left > (int64_t)c->len) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            (void)!send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
    }
    if (c->st == C_BODY) {
        size_t k = c->body_left < (int64_t)c->len ? (size_t)c->body_left : c->len;
        consume(c, k);
        c->body_left -= (int64_t)k;
        if (c->body_left > 0) {
            set_events(t, c, EPOLLIN | EPOLLRDHUP);
        } else if (c->req.reject) {
            make_ready(t, c);
        } else {
            c->st = C_QUEUED;
            list_push(&t->fifo, c);
            /* Only hang-ups are watched until the response is sent: pipelined bytes wait. */
            set_events(t, c, EPOLLRDHUP);
        }
    }
}

static void conn_read(struct target *t, struct conn *c)
{
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
                conn_close(t, c);
                return;
            }
            c->buf = b;
            c->cap = cap;
        }
        dst = c->buf + c->len;
        room = c->cap - c->len;
    }
    ssize_t n = recv(c->fd, dst, room, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
        /* The client went away (or reset): nothing is left to answer. */
        conn_close(t, c);
        return;
    }
    c->last_us = clock_us();
    if (dst == t->scratch)
        c->body_left -= n;
    else
        c->len += (size_t)n;
    conn_advance(t, c);
}

static void conn_drain(struct target *t, struct conn *c)
{
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(c->fd, t->scratch, sizeof t->scratch, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0 && !(n < 0 && errno == EINTR)) {
            conn_close(t, c);
            return;
        }
    }
}

static void conn_event(struct target *t, struct conn *c, uint32_t ev)
{
    if (c->st == C_HEAD || c->st == C_BODY)
        conn_read(t, c);
    else if (c->st == C_LINGER || c->st == C_HANG)
        conn_drain(t, c);
    else if (c->st == C_WRITING && !(ev & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
        conn_write(t, c);
    else /* a hang-up: the only event registered while queued, waiting or ready */
        conn_close(t, c);
}

static void accept_some(struct target *t)
{
    for (int i = 0; i < ACCEPT_BURST; i++) {
        int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if ((errno == EMFILE || errno == ENFILE) && t->spare_fd >= 0) {
                /* Out of descriptors: accept and drop one so that the backlog drains instead
                 * of waking us forever. */
                close(t->spare_fd);
                fd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0) close(fd);
                t->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                continue;
            }
            return;
        }
        struct conn *c = t->nconns < t->o.max_conns ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->st = C_HEAD;
        c->ev = EPOLLIN | EPOLLRDHUP;
        c->heap_idx = NO_HEAP;
        c->last_us = clock_us();
        struct epoll_event e = {.events = c->ev, .data.ptr = c};
        if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = t->all;
        if (t->all) t->all->prev = c;
        t->all = c;
        t->nconns++;
    }
}

/* Hands free workers to the FIFO's head, starts due responses and parses what keep-alive
 * connections have buffered, until nothing moves (bounded: the loop comes back at once). */
static void run_pending(struct target *t)
{
    for (int round = 0; round < 64; round++) {
        int64_t now = clock_us();
        struct conn *c;
        while (t->busy < t->o.workers && (c = list_pop(&t->fifo))) {
            c->has_slot = 1;
            t->busy++;
            int64_t d = c->req.delay_ms >= 0 ? c->req.delay_ms : t->o.delay_ms;
            if (d == 0) {
                make_ready(t, c);
            } else {
                c->st = C_WAITING;
                c->deadline_us = now + d * 1000;
                heap_push(t, c);
            }
        }
        if (!t->ready.head && !t->parse.head) return;
        while ((c = list_pop(&t->ready)))
            start_response(t, c);
        while ((c = list_pop(&t->parse)))
            conn_advance(t, c);
    }
}

static void expire(struct target *t, int64_t now)
{
    while (t->heap_n && t->heap[0]->deadline_us <= now) {
        struct conn *c = t->heap[0];
        heap_remove(t, c);
        if (c->st == C_SLOW)
            slow_next(t, c);
        else
            make_ready(t, c);
    }
}

static void sweep(struct target *t, int64_t now)
{
    int64_t idle_us = t->o.idle_timeout_ms * 1000;
    for (struct conn *c = t->all, *next; c; c = next) {
        next = c->next;
        int64_t quiet = now - c->last_us;
        if (c->st == C_LINGER
                ? quiet > LINGER_US
                : (c->st == C_HEAD || c->st == C_BODY || c->st == C_WRITING || c->st == C_HANG) &&
                      quiet > idle_us)
            conn_close(t, c);
    }
}

/* Arms the timerfd for the earliest deadline (and the next sweep while connections exist). */
static void arm_timer(struct target *t)
{
    int64_t next = t->heap_n ? t->heap[0]->deadline_us : INT64_MAX;
    if (t->all && t->next_sweep_us < next) next = t->next_sweep_us;
    if (next == t->armed_us) return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (next != INT64_MAX) {
        if (next < 1) next = 1;
        its.it_value.tv_sec = next / 1000000;
        its.it_value.tv_nsec = (next % 1000000) * 1000;
    }
    if (timerfd_settime(t->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0) t->armed_us = next;
}

static void *target_loop(void *arg)
{
    struct target *t = arg;
    struct epoll_event evs[MAX_EVENTS];
    t->next_sweep_us = clock_us() + SWEEP_US;
    for (int stop = 0; !stop;) {
        int more = t->ready.head || t->parse.head || (t->fifo.head && t->busy < t->o.workers);
        int n = epoll_wait(t->ep, evs, MAX_EVENTS, more ? 0 : -1);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &t->evfd) {
                stop = 1;
            } else if (p == &t->lfd) {
                accept_some(t);
            } else if (p == &t->tfd) {
                uint64_t ticks;
                (void)!read(t->tfd, &ticks, sizeof ticks);
                t->armed_us = 0; /* expired: must be set again */
            } else {
                conn_event(t, p, evs[i].events);
            }
        }
        int64_t now = clock_us();
        expire(t, now);
        if (now >= t->next_sweep_us) {
            sweep(t, now);
            t->next_sweep_us = now + SWEEP_US;
        }
        run_pending(t);
        for (struct conn *c; (c = list_pop(&t->dead));)
            free(c);
        arm_timer(t);
    }
    while (t->all)
        conn_close(t, t->all);
    for (struct conn *c; (c = list_pop(&t->dead));)
        free(c);
    return NULL;
}

static void target_free(struct target *t)
{
    int fds[] = {t->lfd, t->ep, t->evfd, t->tfd, t->spare_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0) close(fds[i]);
    free(t->heap);
    free(t);
}

static int watch(struct target *t, int fd, void *tag)
{
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = tag};
    return epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &e);
}

int target_start(const struct target_opts *o, struct target **out, char *err, size_t errlen)
{
    *out = NULL;
    if (o->workers < 1) return errf(err, errlen, "workers: must be at least 1");
    if (o->delay_ms < 0 || o->delay_ms > TARGET_MAX_DELAY_MS)
        return errf(err, errlen, "delay_ms: must be between 0 and %d", TARGET_MAX_DELAY_MS);
    if (o->max_conns < 1) return errf(err, errlen, "max_conns: must be at least 1");
    if (o->idle_timeout_ms < 0) return errf(err, errlen, "idle_timeout_ms: must not be negative");
    if (o->port < 0 || o->port > 65535) return errf(err, errlen, "port: must be 0..65535");

    struct target *t = calloc(1, sizeof *t);
    if (!t) return errf(err, errlen, "out of memory");
    t->o = *o;
    t->o.host[sizeof t->o.host - 1] = '\0';
    if (!t->o.idle_timeout_ms) t->o.idle_timeout_ms = 120000; /* callers that predate it */
    t->ep = t->evfd = t->tfd = t->spare_fd = -1;
    raise_fd_limit();
    if ((t->lfd = target_http_listen(t->o.host, t->o.port, &t->port, err, errlen)) < 0) {
        target_free(t);
        return -1;
    }
    t->ep = epoll_create1(EPOLL_CLOEXEC);
    t->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    t->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    t->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (t->ep < 0 || t->evfd < 0 || t->tfd < 0 || watch(t, t->lfd, &t->lfd) ||
        watch(t, t->evfd, &t->evfd) || watch(t, t->tfd, &t->tfd)) {
        errf(err, errlen, "target: %s", strerror(errno));
        target_free(t);
        return -1;
    }
    if (!(t->heap = calloc((size_t)o->workers, sizeof *t->heap))) {
        target_free(t);
        return errf(err, errlen, "out of memory");
    }

    /* The loop thread takes no signals: they stay with the embedding program's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t->thread, NULL, target_loop, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        target_free(t);
        return errf(err, errlen, "target: pthread_create: %s", strerror(rc));
    }
    *out = t;
    return 0;
}

void target_stop(struct target *t)
{
    if (!t) return;
    uint64_t one = 1;
    (void)!write(t->evfd, &one, sizeof one);
    pthread_join(t->thread, NULL);
    target_free(t);
}
