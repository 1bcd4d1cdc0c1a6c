/* `h2mux`: one thread, C HTTP/2 streams in flight over K connections (the spec's
 * `connections`). Concurrency without threads, processes or more sockets: the talk's next
 * chapter. The stream slot is the lane; slot i always goes over connection i % K.
 *
 * Each connection is a multi handle of its own that may hold one connection to the host
 * (CURLMOPT_MAX_HOST_CONNECTIONS 1, CURLOPT_PIPEWAIT): its streams wait for that connection
 * and then multiplex on it, so K is exact and a record knows its connection. One epoll set
 * waits on the sockets of all K handles (libcurl's socket callbacks, as in curl's
 * ephiperfifo.c) and on the cancel pipe.
 *
 * HTTP/2 is required, never assumed: the first answer's version is checked, and an HTTP/1.1
 * answer fails the mode with a message saying how to get HTTP/2. */
#include "bench_h2mux.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "bench_cancel.h"
#include "bench_curl.h"
#include "bench_dispatch.h"
#include "bench_log.h"
#include "util.h"

#define CANCEL_TAG UINT64_MAX /* the cancel pipe's epoll data */

struct h2conn {
    struct h2mux *m;
    CURLM *multi;
    uint32_t index;
    int64_t timer_at; /* when libcurl wants CURL_SOCKET_TIMEOUT (monotonic µs); -1 none */
    bool need_pk;     /* the next stream opens the connection (libcurl < 8: see bench_curl.h) */
};

struct h2mux {
    struct bench_ctx *c;
    struct h2conn *conns;
    int64_t nconns;
    struct bench_xfer *slots;
    int64_t *free_slots; /* a stack of idle slots */
    bool *busy;
    int64_t nfree, inflight;
    int epfd;
    bool pk_reuse;   /* prior knowledge on a libcurl that breaks its reuse */
    bool version_ok; /* an answer came over HTTP/2 */
    char fail[300];  /* why the mode failed, "" while it has not */
    struct bench_log *log;
};

/* libcurl: watch socket s of connection conn for `what` (CURL_POLL_*). */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    (void)socketp;
    struct h2conn *conn = userp;
    int epfd = conn->m->epfd;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    struct epoll_event ev = {.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) |
                                       (what & CURL_POLL_OUT ? EPOLLOUT : 0u),
                             .data.u64 = (uint64_t)conn->index << 32 | (uint32_t)s};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT)
        epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev);
    return 0;
}

/* libcurl: call CURL_SOCKET_TIMEOUT on conn in timeout_ms (-1: no timer). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct h2conn *conn = userp;
    conn->timer_at = timeout_ms < 0 ? -1 : clock_us() + (int64_t)timeout_ms * 1000;
    return 0;
}

static void finish(struct h2mux *m, struct bench_xfer *x, CURLcode result)
{
    int64_t i = x - m->slots;
    struct h2conn *conn = &m->conns[i % m->nconns];
    curl_multi_remove_handle(conn->multi, x->easy);
    bench_xfer_end(x, result);
    x->rec.conn = (int32_t)conn->index;
    if (x->rec.reused < 0 && m->pk_reuse) conn->need_pk = true; /* no connection came of it */
    if (x->rec.status > 0 && !m->fail[0] && !m->version_ok) {
        if (x->rec.http_version >= 20) {
            m->version_ok = true;
        } else {
            const char *v = record_http_version_name(x->rec.http_version);
            snprintf(m->fail, sizeof m->fail,
                     "h2mux: the target answered over HTTP/%s; h2mux needs HTTP/2 (over TLS the "
                     "server must offer h2 by ALPN; on plain http, --http 2-prior-knowledge)",
                     v ? v : "?");
        }
    }
    bench_log_put(m->c, m->log, &x->rec, x->error);
    bench_xfer_work(x);
    m->free_slots[m->nfree++] = i;
    m->busy[i] = false;
    m->inflight--;
}

/* Starts request seq as a stream in a free slot. */
static void start(struct h2mux *m, int64_t seq, int64_t due)
{
    int64_t i = m->free_slots[--m->nfree];
    struct bench_xfer *x = &m->slots[i];
    struct h2conn *conn = &m->conns[i % m->nconns];
    if (m->pk_reuse) {
        curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION,
                         conn->need_pk ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                       : (long)CURL_HTTP_VERSION_2TLS);
        conn->need_pk = false;
    }
    bench_xfer_begin(x, seq, i, due);
    x->rec.conn = (int32_t)conn->index;
    m->busy[i] = true;
    m->inflight++;
    if (curl_multi_add_handle(conn->multi, x->easy) != CURLM_OK) finish(m, x, CURLE_FAILED_INIT);
}

/* Records every finished stream of every connection. */
static void reap(struct h2mux *m)
{
    for (int64_t k = 0; k < m->nconns; k++) {
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m->conns[k].multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            struct bench_xfer *x = NULL;
            CURL *e = msg->easy_handle;
            CURLcode rc = msg->data.result;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
            finish(m, x, rc); /* removing it invalidates msg: read first */
        }
    }
}

/* Runs what is due: the sockets epoll reported, then the expired timers. */
static int drive(struct h2mux *m, const struct epoll_event *ev, int n, char *err, size_t errlen)
{
    int running;
    for (int i = 0; i < n; i++) {
        if (ev[i].data.u64 == CANCEL_TAG) {
            bench_cancel_flag = 1;
            continue;
        }
        struct h2conn *conn = &m->conns[ev[i].data.u64 >> 32];
        int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                    (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                    (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        CURLMcode mc = curl_multi_socket_action(conn->multi, (curl_socket_t)(uint32_t)ev[i].data.u64,
                                                flags, &running);
        if (mc != CURLM_OK)
            return errf(err, errlen, "h2mux: curl_multi_socket_action: %s", curl_multi_strerror(mc));
    }
    int64_t now = clock_us();
    for (int64_t k = 0; k < m->nconns; k++) {
        struct h2conn *conn = &m->conns[k];
        if (conn->timer_at < 0 || conn->timer_at > now) continue;
        conn->timer_at = -1;
        CURLMcode mc = curl_multi_socket_action(conn->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        if (mc != CURLM_OK)
            return errf(err, errlen, "h2mux: curl_multi_socket_action: %s", curl_multi_strerror(mc));
    }
    reap(m);
    return 0;
}

static int run_loop(struct h2mux *m, char *err, size_t errlen)
{
    struct bench_ctx *c = m->c;
    int64_t pending = -1, pending_due = 0; /* handed out, not yet due */
    bool more = true;
    struct epoll_event ev[64];
    for (;;) {
        while (m->nfree > 0 && !bench_cancel_flag && !m->fail[0]) {
            if (pending < 0 && !(more && (more = bench_claim(c, &pending, &pending_due)))) {
                pending = -1;
                break;
            }
            if (c->t0 + pending_due > clock_us()) break;
            start(m, pending, pending_due);
            pending = -1;
        }
        if (bench_cancel_flag || m->fail[0] || (m->inflight == 0 && pending < 0)) return 0;
        int64_t now = clock_us(), wait = 60000000;
        for (int64_t k = 0; k < m->nconns; k++)
            if (m->conns[k].timer_at >= 0 && m->conns[k].timer_at - now < wait)
                wait = m->conns[k].timer_at - now;
        if (pending >= 0 && m->nfree > 0 && c->t0 + pending_due - now < wait)
            wait = c->t0 + pending_due - now;
        int n = epoll_wait(m->epfd, ev, 64, wait <= 0 ? 0 : (int)((wait + 999) / 1000));
        if (n < 0 && errno != EINTR) return errf(err, errlen, "h2mux: epoll_wait: %s", strerror(errno));
        if (drive(m, ev, n < 0 ? 0 : n, err, errlen)) return -1;
    }
}

/* The connections' multi handles and the slots' easy handles. */
static int setup(struct h2mux *m, char *err, size_t errlen)
{
    struct bench_ctx *c = m->c;
    int64_t per_conn = (c->lanes + m->nconns - 1) / m->nconns;
    for (int64_t k = 0; k < m->nconns; k++) {
        struct h2conn *conn = &m->conns[k];
        *conn = (struct h2conn){.m = m, .index = (uint32_t)k, .timer_at = -1, .need_pk = true};
        if (!(conn->multi = curl_multi_init()))
            return errf(err, errlen, "h2mux: curl_multi_init failed");
        curl_multi_setopt(conn->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(conn->multi, CURLMOPT_SOCKETDATA, conn);
        curl_multi_setopt(conn->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(conn->multi, CURLMOPT_TIMERDATA, conn);
        curl_multi_setopt(conn->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
        curl_multi_setopt(conn->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
        curl_multi_setopt(conn->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)per_conn);
    }
    /* HTTP/2 whatever the spec says: by ALPN over TLS when it asks for 1.1 (the default). */
    long version = c->spec->http == SPEC_HTTP_1_1 ? (long)CURL_HTTP_VERSION_2TLS : 0;
    for (int64_t i = 0; i < c->lanes; i++) {
        struct bench_xfer *x = &m->slots[i];
        if (bench_xfer_init(x, c->spec, c->headers, c->t0, err, errlen)) return -1;
        x->pk_reuse = false; /* per connection here: h2conn.need_pk */
        curl_easy_setopt(x->easy, CURLOPT_PIPEWAIT, 1L);
        if (version) curl_easy_setopt(x->easy, CURLOPT_HTTP_VERSION, version);
        m->free_slots[m->nfree++] = c->lanes - 1 - i; /* slot 0 is used first */
    }
    return 0;
}

int bench_h2mux_run(struct bench_ctx *c, char *err, size_t errlen)
{
    struct h2mux m = {.c = c, .log = &c->sh->logs[0], .epfd = -1};
    m.nconns = c->spec->connections < c->lanes ? c->spec->connections : c->lanes;
    if (m.nconns < 1) m.nconns = 1;
    m.pk_reuse = c->spec->http == SPEC_HTTP_2_PRIOR && bench_curl_pk_reuse_broken();
    m.conns = calloc((size_t)m.nconns, sizeof *m.conns);
    m.slots = calloc((size_t)c->lanes, sizeof *m.slots);
    m.free_slots = calloc((size_t)c->lanes, sizeof *m.free_slots);
    m.busy = calloc((size_t)c->lanes, sizeof *m.busy);
    int rc = 0;
    if (!m.conns || !m.slots || !m.free_slots || !m.busy) {
        rc = errf(err, errlen, "h2mux: out of memory for %lld streams", (long long)c->lanes);
        goto out;
    }
    raise_fd_limit();
    m.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (m.epfd < 0) {
        rc = errf(err, errlen, "h2mux: epoll_create1: %s", strerror(errno));
        goto out;
    }
    struct epoll_event cev = {.events = EPOLLIN, .data.u64 = CANCEL_TAG};
    if (bench_cancel_fd() >= 0) epoll_ctl(m.epfd, EPOLL_CTL_ADD, bench_cancel_fd(), &cev);
    if (setup(&m, err, errlen)) {
        rc = -1;
        goto out;
    }
    rc = run_loop(&m, err, errlen);
    /* Cancelled, failed, or the target is not HTTP/2: streams in flight end where they stand. */
    for (int64_t i = 0; i < c->lanes && m.inflight > 0; i++)
        if (m.busy[i]) finish(&m, &m.slots[i], CURLE_ABORTED_BY_CALLBACK);
    bench_log_flush(c, m.log);
    if (rc == 0 && m.fail[0]) rc = errf(err, errlen, "%s", m.fail);
out:
    for (int64_t k = 0; m.conns && k < m.nconns; k++)
        if (m.conns[k].multi) curl_multi_cleanup(m.conns[k].multi);
    for (int64_t i = 0; m.slots && i < c->lanes; i++)
        bench_xfer_cleanup(&m.slots[i]);
    if (m.epfd >= 0) close(m.epfd);
    free(m.conns);
    free(m.slots);
    free(m.free_slots);
    free(m.busy);
    return rc;
}
