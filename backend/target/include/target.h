/* The talk's slow server: every response waits delay_ms, at most `workers` responses are in
 * progress at once (further requests wait in arrival order, like gunicorn's sync workers),
 * idle keep-alive connections hold no worker. One epoll thread serves thousands of
 * connections. A request holds its worker from leaving the queue until its whole response is
 * in the kernel. A client that closes (or shuts down its sending side) while its request is
 * queued, waiting or being answered is taken as gone: its queue place or worker is freed. */
#ifndef CONLAB_TARGET_H
#define CONLAB_TARGET_H

#include <stddef.h>
#include <stdint.h>

#define TARGET_MAX_DELAY_MS 3600000 /* the largest delay_ms, also per request */

struct target_opts {
    char host[256]; /* "127.0.0.1" */
    int port;       /* 8000; 0 picks a free port */
    int64_t workers;  /* 3 */
    int64_t delay_ms; /* 1000 */
    int64_t max_conns; /* 20000: connections beyond are closed at once */
    int64_t idle_timeout_ms; /* 120000: an idle keep-alive connection, a request head or body
                                that stalls, or a response the client stops reading, is closed
                                after this long without progress; 0 means the default */
};

void target_opts_default(struct target_opts *o);

struct target;

/* Binds and starts serving on a thread of its own; the socket is listening when it returns.
 * Returns 0 or -1 with err (e.g. "127.0.0.1:8000: Address already in use"). */
int target_start(const struct target_opts *o, struct target **out, char *err, size_t errlen);

/* The port actually bound. */
int target_port(const struct target *t);

/* Stops serving, closes every connection, joins the thread, frees. Safe from any thread
 * (not the server's own); NULL is ignored. */
void target_stop(struct target *t);

#endif
