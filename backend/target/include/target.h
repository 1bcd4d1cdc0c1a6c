/* The talk's slow server: every response waits delay_ms, at most `workers` responses are in
 * progress at once (further requests wait in arrival order, like gunicorn's sync workers),
 * idle keep-alive connections hold no worker. One epoll thread serves thousands of
 * connections. A request holds its worker from leaving the queue until its whole response is
 * in the kernel. A client that closes (or shuts down its sending side) while its request is
 * queued, waiting or being answered is taken as gone: its queue place or worker is freed.
 * HTTP/1.1 and HTTP/2 (h2c by prior knowledge, or h2 by ALPN over TLS) are served on the same
 * port; an HTTP/2 stream is a request like any other, so W counts streams, not connections. */
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
    char tls_cert[4096]; /* PEM files (the chain, the key): both set serves HTTPS, offering h2 */
    char tls_key[4096];  /* and http/1.1 by ALPN; both empty serves HTTP/1.1 and h2c */
    char tls_client_ca[4096]; /* PEM CA file: clients must show a certificate it signed (mTLS) */
    int fault;           /* a ?fault= for every request that names none (0: none) */
    int tls_fault;       /* enum target_tls_fault: the handshake goes wrong on purpose */
};

/* How the TLS handshake goes wrong on purpose (each serves TLS even without a certificate). */
enum target_tls_fault {
    TARGET_TLS_FAULT_NONE = 0,
    TARGET_TLS_BAD_CERT, /* a self-signed certificate made at start for another name */
    TARGET_TLS_HANG,     /* the connection is accepted; the ClientHello is never answered */
    TARGET_TLS_CLOSE,    /* the ClientHello is read, then the connection is reset */
    TARGET_TLS_FAULT_COUNT
};

/* "tls_bad_cert", "tls_hang", "tls_close"; NULL for none or out of range. */
const char *target_tls_fault_name(int fault);

/* Sets o->fault or o->tls_fault from a fault's name (reset, hang, slow_body, bad_length,
 * close_early, garbage, tls_bad_cert, tls_hang, tls_close). Returns 0, or -1 with err naming
 * the known ones. */
int target_opts_fault(struct target_opts *o, const char *name, char *err, size_t errlen);

void target_opts_default(struct target_opts *o);

struct target;

/* Binds and starts serving on a thread of its own; the socket is listening when it returns.
 * Returns 0 or -1 with err (e.g. "127.0.0.1:8000: Address already in use"). */
int target_start(const struct target_opts *o, struct target **out, char *err, size_t errlen);

/* The port actually bound. */
int target_port(const struct target *t);

/* 1 when it serves TLS (a certificate, or a TLS fault), else 0. */
int target_tls(const struct target *t);

/* Stops serving, closes every connection, joins the thread, frees. Safe from any thread
 * (not the server's own); NULL is ignored. */
void target_stop(struct target *t);

#endif
