/* The demo server: one epoll thread, non-blocking sockets, a FIFO of requests waiting for a
 * worker, and a min-heap of the deadlines of the requests that hold one (a timerfd wakes the
 * loop at the earliest). A "worker" is only a count: a request holds one from the moment it
 * leaves the FIFO until its response is fully handed on (to the kernel, or to the HTTP/2
 * session's output), so idle connections cost no worker and a slow reader of a large body
 * holds one, as with gunicorn's sync workers. HTTP/1.x lives in target_h1.c, HTTP/2 in
 * target_h2.c, TLS in target_tls.c. */
#include "target_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LINGER_US 2000000 /* after our FIN, how long we wait for the client's */
#define SWEEP_US 1000000  /* how often idle connections are looked for */
#define MAX_EVENTS 512
#define ACCEPT_BURST 256

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

static const char *const tls_fault_names[TARGET_TLS_FAULT_COUNT] = {NULL, "tls_bad_cert",
                                                                    "tls_hang", "tls_close"};

const char *target_tls_fault_name(int fault)
{
    return fault > 0 && fault < TARGET_TLS_FAULT_COUNT ? tls_fault_names[fault] : NULL;
}

int target_opts_fault(struct target_opts *o, const char *name, char *err, size_t errlen)
{
    for (int f = 1; f < TARGET_TLS_FAULT_COUNT; f++) {
        if (!strcmp(name, tls_fault_names[f])) {
            o->tls_fault = f;
            return 0;
        }
    }
    for (int f = FAULT_NONE + 1; f < FAULT_COUNT; f++) {
        if (!strcmp(name, target_fault_name(f))) {
            o->fault = f;
            return 0;
        }
    }
    return errf(err, errlen,
                "fault: unknown '%.40s': want reset, hang, slow_body, bad_length, close_early, "
                "garbage, tls_bad_cert, tls_hang or tls_close",
                name);
}

int target_port(const struct target *t)
{
    return t->port;
}

int target_tls(const struct target *t)
{
    return t->ssl_ctx != NULL;
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

void target_conn_push(struct clist *l, struct conn *c)
{
    if (!c->list && c->st != C_DEAD) list_push(l, c);
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

static void fifo_remove(struct target *t, struct job *j)
{
    if (!j->in_fifo) return;
    if (j->qprev)
        j->qprev->qnext = j->qnext;
    else
        t->fifo.head = j->qnext;
    if (j->qnext)
        j->qnext->qprev = j->qprev;
    else
        t->fifo.tail = j->qprev;
    j->qprev = j->qnext = NULL;
    j->in_fifo = 0;
}

void target_job_enqueue(struct target *t, struct job *j)
{
    j->in_fifo = 1;
    j->qnext = NULL;
    j->qprev = t->fifo.tail;
    if (t->fifo.tail)
        t->fifo.tail->qnext = j;
    else
        t->fifo.head = j;
    t->fifo.tail = j;
}

/* Restores the heap order around index i after its deadline changed or it was filled. */
static void heap_fix(struct target *t, size_t i)
{
    struct job **h = t->heap;
    for (;;) {
        size_t p = (i - 1) / 2, l = 2 * i + 1, r = l + 1, m = i;
        if (i > 0 && h[p]->deadline_us > h[i]->deadline_us) {
            m = p;
        } else {
            if (l < t->heap_n && h[l]->deadline_us < h[m]->deadline_us) m = l;
            if (r < t->heap_n && h[r]->deadline_us < h[m]->deadline_us) m = r;
        }
        if (m == i) return;
        struct job *x = h[i];
        h[i] = h[m];
        h[m] = x;
        h[i]->heap_idx = i;
        h[m]->heap_idx = m;
        i = m;
    }
}

/* The heap never holds more than `workers` entries: only requests holding a worker wait. */
void target_job_wait(struct target *t, struct job *j, int64_t deadline_us)
{
    j->deadline_us = deadline_us;
    j->heap_idx = t->heap_n;
    t->heap[t->heap_n++] = j;
    heap_fix(t, j->heap_idx);
}

static void heap_remove(struct target *t, struct job *j)
{
    size_t i = j->heap_idx;
    j->heap_idx = NO_HEAP;
    if (i == NO_HEAP) return;
    t->heap_n--;
    if (i == t->heap_n) return;
    t->heap[i] = t->heap[t->heap_n];
    t->heap[i]->heap_idx = i;
    heap_fix(t, i);
}

void target_job_release(struct target *t, struct job *j)
{
    if (!j->has_slot) return;
    j->has_slot = 0;
    t->busy--;
}

void target_job_cancel(struct target *t, struct job *j)
{
    fifo_remove(t, j);
    heap_remove(t, j);
    target_job_release(t, j);
}

int target_job_fault(const struct target *t, const struct job *j)
{
    if (j->req.reject) return FAULT_NONE;
    return j->req.fault ? j->req.fault : t->o.fault;
}

void target_conn_set_events(struct target *t, struct conn *c, uint32_t ev)
{
    if (c->ev == ev) return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &e) == 0) c->ev = ev;
}

void target_conn_close(struct target *t, struct conn *c)
{
    if (c->st == C_DEAD) return;
    /* Removed explicitly: a forked child of an embedding process may still share the socket,
     * and epoll would keep reporting it after our close(). */
    epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->h2) target_h2_free(t, c);
    target_tls_free(c);
    close(c->fd);
    c->fd = -1;
    list_remove(c);
    target_job_cancel(t, &c->job);
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

static void conn_event(struct target *t, struct conn *c, uint32_t ev)
{
    if (c->st == C_DEAD) return;
    if (c->st == C_TLS)
        target_tls_event(t, c, ev);
    else if (c->st == C_H2)
        target_h2_event(t, c, ev);
    else
        target_h1_event(t, c, ev);
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
        c->job.conn = c;
        c->job.heap_idx = NO_HEAP;
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
        if (t->ssl_ctx || t->o.tls_fault) target_tls_accept(t, c);
    }
}

static void job_due(struct target *t, struct job *j)
{
    if (j->stream)
        target_h2_due(t, j);
    else
        target_h1_due(t, j->conn);
}

/* Hands free workers to the FIFO's head, starts due responses and parses what keep-alive
 * connections have buffered, until nothing moves (bounded: the loop comes back at once). */
static void run_pending(struct target *t)
{
    for (int round = 0; round < 64; round++) {
        int64_t now = clock_us();
        struct job *j;
        while (t->busy < t->o.workers && (j = t->fifo.head)) {
            fifo_remove(t, j);
            j->has_slot = 1;
            t->busy++;
            int64_t d = j->req.delay_ms >= 0 ? j->req.delay_ms : t->o.delay_ms;
            if (d == 0) {
                job_due(t, j);
            } else {
                if (!j->stream) j->conn->st = C_WAITING;
                target_job_wait(t, j, now + d * 1000);
            }
        }
        if (!t->ready.head && !t->parse.head && !t->again.head) return;
        struct conn *c;
        while ((c = list_pop(&t->ready))) {
            if (c->st == C_H2)
                target_h2_flush(t, c);
            else
                target_h1_respond(t, c);
        }
        while ((c = list_pop(&t->parse)))
            target_h1_advance(t, c);
        while ((c = list_pop(&t->again)))
            target_h1_read(t, c);
    }
}

static void expire(struct target *t, int64_t now)
{
    while (t->heap_n && t->heap[0]->deadline_us <= now) {
        struct job *j = t->heap[0];
        heap_remove(t, j);
        if (j->stream)
            target_h2_expire(t, j);
        else
            target_h1_expire(t, j->conn);
    }
}

static void sweep(struct target *t, int64_t now)
{
    int64_t idle_us = t->o.idle_timeout_ms * 1000;
    for (struct conn *c = t->all, *next; c; c = next) {
        next = c->next;
        int64_t quiet = now - c->last_us;
        int idle_kind = c->st == C_HEAD || c->st == C_BODY || c->st == C_WRITING ||
                        c->st == C_HANG || c->st == C_TLS ||
                        (c->st == C_H2 && !target_h2_active(c));
        if (c->st == C_LINGER ? quiet > LINGER_US : idle_kind && quiet > idle_us)
            target_conn_close(t, c);
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
        int more = t->ready.head || t->parse.head || t->again.head ||
                   (t->fifo.head && t->busy < t->o.workers);
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
        target_conn_close(t, t->all);
    for (struct conn *c; (c = list_pop(&t->dead));)
        free(c);
    return NULL;
}

static void target_free(struct target *t)
{
    int fds[] = {t->lfd, t->ep, t->evfd, t->tfd, t->spare_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0) close(fds[i]);
    target_tls_cleanup(t);
    target_h2_cleanup(t);
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
    if (o->fault < 0 || o->fault >= FAULT_COUNT) return errf(err, errlen, "fault: out of range");
    if (o->tls_fault < 0 || o->tls_fault >= TARGET_TLS_FAULT_COUNT)
        return errf(err, errlen, "tls_fault: out of range");

    struct target *t = calloc(1, sizeof *t);
    if (!t) return errf(err, errlen, "out of memory");
    t->o = *o;
    t->o.host[sizeof t->o.host - 1] = '\0';
    t->o.tls_cert[sizeof t->o.tls_cert - 1] = '\0';
    t->o.tls_key[sizeof t->o.tls_key - 1] = '\0';
    t->o.tls_client_ca[sizeof t->o.tls_client_ca - 1] = '\0';
    if (!t->o.idle_timeout_ms) t->o.idle_timeout_ms = 120000; /* callers that predate it */
    t->lfd = t->ep = t->evfd = t->tfd = t->spare_fd = -1;
    raise_fd_limit();
    if (target_tls_init(t, err, errlen) || target_h2_init(t, err, errlen)) {
        target_free(t);
        return -1;
    }
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
