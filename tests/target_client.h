/* Helpers of the demo target's HTTP/1.1 tests (test_target.c, test_target_faults.c): a target
 * started in-process, a blocking client with timeouts (so that no test can hang), requests run
 * at once from threads, and a CHECK counted from every thread. */
#ifndef CONLAB_TEST_TARGET_CLIENT_H
#define CONLAB_TEST_TARGET_CLIENT_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "target.h"
#include "target_http.h"
#include "checks.h"
#include "util.h"


static inline double ms_since(int64_t t0)
{
    return (double)(clock_us() - t0) / 1000.0;
}

static inline struct target *start(int64_t workers, int64_t delay_ms)
{
    struct target_opts o;
    target_opts_default(&o);
    o.port = 0;
    o.workers = workers;
    o.delay_ms = delay_ms;
    struct target *t = NULL;
    char err[256];
    if (target_start(&o, &t, err, sizeof err)) {
        fprintf(stderr, "target_start: %s\n", err);
        exit(1);
    }
    return t;
}

/* A blocking client connection with a 10 s receive timeout, so no test can hang. */
struct client {
    int fd;
    char buf[1 << 16];
    size_t len;
};

struct resp {
    int status;
    long long content_length; /* -1 when absent */
    int closing;              /* "Connection: close" */
    char *body;               /* NUL-terminated, malloc'd */
    size_t body_len;
};

static inline int cl_open(struct client *c, int port)
{
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(c->fd, (struct sockaddr *)&a, sizeof a);
}

static inline int cl_send(struct client *c, const char *s)
{
    return write_all(c->fd, s, strlen(s));
}

/* Reads one response; bodyless when is_head or the status has none. Returns 0 or -1. */
static inline int cl_read(struct client *c, struct resp *r, int is_head)
{
    memset(r, 0, sizeof *r);
    char *end;
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
        if (c->len == sizeof c->buf) return -1;
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (n <= 0) return -1;
        c->len += (size_t)n;
    }
    size_t head = (size_t)(end - c->buf) + 4;
    char h[4096];
    snprintf(h, sizeof h, "%.*s", (int)head, c->buf);
    if (sscanf(h, "HTTP/1.1 %d", &r->status) != 1) return -1;
    char *cl = strcasestr(h, "\r\nContent-Length: ");
    r->content_length = cl ? atoll(cl + 18) : -1;
    r->closing = strcasestr(h, "\r\nConnection: close") != NULL;
    memmove(c->buf, c->buf + head, c->len - head);
    c->len -= head;
    size_t want = is_head || r->content_length < 0 ? 0 : (size_t)r->content_length;
    r->body = malloc(want + 1);
    while (r->body_len < want) {
        if (c->len == 0) {
            ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
            if (n <= 0) return -1;
            c->len = (size_t)n;
        }
        size_t k = want - r->body_len < c->len ? want - r->body_len : c->len;
        memcpy(r->body + r->body_len, c->buf, k);
        r->body_len += k;
        memmove(c->buf, c->buf + k, c->len - k);
        c->len -= k;
    }
    r->body[r->body_len] = '\0';
    return 0;
}

/* 1 when the server closed the connection (EOF) within the receive timeout. */
static inline int cl_eof(struct client *c)
{
    char b[256];
    ssize_t n;
    while ((n = recv(c->fd, b, sizeof b, 0)) > 0) {
    }
    return n == 0;
}

/* 1 when the connection ended, cleanly or by a reset (not by the receive timeout). */
static inline int cl_gone(struct client *c)
{
    return cl_eof(c) || errno == ECONNRESET;
}

/* One request on a fresh connection ("Connection: close"); returns the status or -1. */
static inline int get(int port, const char *path, struct resp *r)
{
    struct client *c = malloc(sizeof *c);
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    int rc = cl_open(c, port) || cl_send(c, req) || cl_read(c, r, 0) ? -1 : r->status;
    close(c->fd);
    free(c);
    return rc;
}

struct job {
    int port;
    const char *path;
    int64_t t0, start_after_us;
    double done_ms;
    int status;
};

static inline void *job_run(void *arg)
{
    struct job *j = arg;
    clock_sleep_until(j->t0 + j->start_after_us);
    struct resp r;
    j->status = get(j->port, j->path, &r);
    free(r.body);
    j->done_ms = ms_since(j->t0);
    return NULL;
}

/* Runs n requests at once (job i starts at t0 + i * stagger_us); fills jobs[].done_ms. */
static inline void run_jobs(struct job *jobs, int n, int port, const char *path, int64_t stagger_us)
{
    pthread_t th[16];
    int64_t t0 = clock_us() + 20000;
    for (int i = 0; i < n; i++) {
        jobs[i] =
            (struct job){.port = port, .path = path, .t0 = t0, .start_after_us = i * stagger_us};
        pthread_create(&th[i], NULL, job_run, &jobs[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#endif
