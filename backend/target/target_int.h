/* The demo server's insides, shared by its loop (target.c), its HTTP/1.x connections
 * (target_h1.c), HTTP/2 (target_h2.c) and TLS (target_tls.c).
 *
 * The talk's model lives in the loop: a `job` is one request (an HTTP/1.x connection's current
 * request, or one HTTP/2 stream). Complete jobs wait in t->fifo for one of the W workers; a job
 * that holds one sits in a min-heap until its delay is over (a timerfd wakes the loop at the
 * earliest deadline). So W counts requests across every connection and protocol. */
#ifndef CONLAB_TARGET_INT_H
#define CONLAB_TARGET_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "target.h"
#include "target_http.h"

struct ssl_st;
struct ssl_ctx_st;

enum cstate {
    C_TLS,     /* TLS handshake in progress (or a TLS fault's stand-in for one) */
    C_HEAD,    /* reading a request head; also idle between keep-alive requests */
    C_BODY,    /* reading and discarding a request body */
    C_QUEUED,  /* complete request in t->fifo, waiting for a worker */
    C_WAITING, /* holds a worker, in the heap until its deadline */
    C_READY,   /* in t->ready: its response starts at the next turn */
    C_WRITING, /* sending the response */
    C_LINGER,  /* response sent with our FIN; draining until the client closes */
    C_SLOW,    /* ?fault=slow_body: holds a worker, in the heap until its next body byte */
    C_HANG,    /* ?fault=hang (or tls_hang): never answered; drained until the client leaves */
    C_H2,      /* an HTTP/2 session: its streams are the jobs */
    C_DEAD,    /* closed; freed at the end of the loop turn (events may still name it) */
};

struct conn;
struct h2;

/* One request in the W-worker model. */
struct job {
    struct conn *conn;
    void *stream; /* the HTTP/2 stream, NULL for HTTP/1.x */
    struct target_req req;
    int has_slot;
    int in_fifo;
    int64_t deadline_us;
    size_t heap_idx; /* NO_HEAP when not in the heap */
    struct job *qprev, *qnext;
};

#define NO_HEAP SIZE_MAX

struct clist {
    struct conn *head, *tail;
};

struct jlist {
    struct job *head, *tail;
};

struct conn {
    int fd;
    enum cstate st;
    uint32_t ev;        /* the epoll events registered */
    struct ssl_st *ssl; /* NULL for plain TCP */
    struct h2 *h2;      /* C_H2: the session and its streams */
    int64_t nreq;       /* request heads parsed (the h2c preface is looked for before the first) */
    char *buf;          /* received bytes not yet parsed; NULL when empty and idle */
    size_t len, cap;
    struct job job; /* HTTP/1.x: the request in progress */
    int64_t body_left;
    int64_t last_us;            /* last progress, for the idle timeout */
    struct conn *prev, *next;   /* t->all */
    struct conn *lprev, *lnext; /* in at most one of ready, parse, again, dead */
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
    struct ssl_ctx_st *ssl_ctx; /* NULL: plain HTTP/1.1 and h2c */
    void *h2_callbacks;         /* nghttp2_session_callbacks, shared by every session */
    struct conn *all;
    int64_t nconns;
    struct jlist fifo;
    struct clist ready, parse, again, dead;
    struct job **heap;
    size_t heap_n;
    int64_t busy; /* workers in use */
    int64_t armed_us, next_sweep_us;
    char scratch[65536];
};

/* target.c: connections and the worker model */
void target_conn_set_events(struct target *t, struct conn *c, uint32_t ev);
/* Closes at once, wherever the connection stands: its jobs' queue places and workers are given
 * back. The struct is freed at the end of the loop turn. */
void target_conn_close(struct target *t, struct conn *c);
/* Puts c on list l (ready, parse or again) unless it already is on one. */
void target_conn_push(struct clist *l, struct conn *c);
/* A complete request joins the FIFO of those waiting for a worker. */
void target_job_enqueue(struct target *t, struct job *j);
/* Takes j out of the FIFO or the heap and gives back its worker. */
void target_job_cancel(struct target *t, struct job *j);
void target_job_release(struct target *t, struct job *j);
/* j (holding its worker) is woken at deadline_us. */
void target_job_wait(struct target *t, struct job *j, int64_t deadline_us);
/* The fault that j's response takes: its ?fault=, else the server's --fault, never for a
 * reject. */
int target_job_fault(const struct target *t, const struct job *j);

/* target_h1.c: HTTP/1.x connections */
void target_h1_event(struct target *t, struct conn *c, uint32_t ev);
void target_h1_read(struct target *t, struct conn *c);
void target_h1_advance(struct target *t, struct conn *c); /* parses what c has buffered */
void target_h1_respond(struct target *t, struct conn *c); /* c left t->ready: its response starts */
void target_h1_expire(struct target *t, struct conn *c);  /* its delay or slow-body tick is over */
void target_h1_due(struct target *t, struct conn *c);     /* it got a worker and has no delay */

/* target_h2.c: HTTP/2 sessions */
int target_h2_init(struct target *t, char *err, size_t errlen);
void target_h2_cleanup(struct target *t);
/* Turns c into an HTTP/2 connection; buf[0..len) are bytes already received (the preface of
 * h2c, or nothing after ALPN). Returns 0, or -1 after closing c. */
int target_h2_start(struct target *t, struct conn *c, const char *buf, size_t len);
void target_h2_event(struct target *t, struct conn *c, uint32_t ev);
void target_h2_flush(struct target *t, struct conn *c); /* c left t->ready: sends what is due */
void target_h2_expire(struct target *t, struct job *j);
void target_h2_due(struct target *t, struct job *j);
void target_h2_free(struct target *t, struct conn *c); /* from target_conn_close */
int target_h2_active(const struct conn *c);            /* streams that wait for or hold a worker */

/* target_tls.c: TLS contexts, handshakes and the byte I/O of every connection */
int target_tls_init(struct target *t, char *err, size_t errlen);
void target_tls_cleanup(struct target *t);
void target_tls_accept(struct target *t, struct conn *c); /* a new connection of a TLS target */
void target_tls_event(struct target *t, struct conn *c, uint32_t ev);
void target_tls_free(struct conn *c);
void target_tls_goodbye(struct conn *c); /* close_notify, best effort, before our FIN */
/* recv/sendmsg through TLS when c has it: bytes moved, 0 at EOF, -1 with errno (EAGAIN when
 * it would block). */
ssize_t target_io_recv(struct conn *c, void *buf, size_t len);
ssize_t target_io_send(struct conn *c, const struct iovec *iov, int n);
int target_io_pending(
    const struct conn *c); /* TLS holds decrypted bytes the socket will not signal */

#endif
