#include "http_guard.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "util.h"

/* How often the watchdog looks, and how long a connection must have waited for its head before
 * pressure may close it (a client's head arrives within a few ms of its connect). */
#define GUARD_TICK_US 50000
#define GUARD_GRACE_US 100000
/* Over its client's budget (but with threads to spare), a keep-alive connection that has served
 * requests is closed only after this long idle: one closed just as its client reuses it costs
 * that client a failed request. */
#define GUARD_IDLE_US 2000000

enum { SLOT_FREE, SLOT_HEAD, SLOT_REQUEST };

struct http_guard_conn {
    int state;
    bool body;           /* its request has a body (counted in g->bodies) */
    bool served;         /* it has sent a request head already */
    uint32_t addr;       /* the peer, network order */
    uint16_t port;       /* host order */
    int64_t since_us;    /* when it began waiting for a head, or its head arrived */
    int64_t deadline_us; /* 0: none */
    int shut;            /* 0, or 1 + the shutdown() already asked for (SHUT_RD is 0) */
    bool known;          /* addr and port are filled in */
    const struct mg_connection *conn;
};

struct http_guard {
    struct http_guard_opts o;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    pthread_t thread;
    int bodies, body_max;
    struct http_guard_conn *slots; /* o.threads of them */
};

struct victim {
    uint32_t addr;
    uint16_t port;
    int how;
};

/* Shuts down the server's sockets whose peer is one of v[0..n). civetweb keeps the socket to
 * itself: they are found in /proc/self/fd by their local port and their peer, only when there is
 * something to shut (a few hundred getsockname calls at most every tick). */
static void guard_shut(const struct http_guard *g, const struct victim *v, int n)
{
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));) {
        int fd = atoi(e->d_name);
        struct sockaddr_in l, p;
        socklen_t ll = sizeof l, pl = sizeof p;
        if (fd <= 2 || fd == dirfd(d) || getsockname(fd, (struct sockaddr *)&l, &ll) ||
            l.sin_family != AF_INET ||
            ntohs(l.sin_port) != __atomic_load_n(&g->o.port, __ATOMIC_ACQUIRE) ||
            getpeername(fd, (struct sockaddr *)&p, &pl))
            continue;
        for (int i = 0; i < n; i++)
            if (v[i].addr == p.sin_addr.s_addr && v[i].port == ntohs(p.sin_port))
                shutdown(fd, v[i].how);
    }
    if (d) closedir(d);
}

/* civetweb gives a connection's peer (set before init_connection) only once it reads a head
 * (mg_get_request_info is NULL before): read here, by the watchdog, under the lock that keeps
 * the connection open (connection_close takes it too). NULL in the few microseconds between
 * init_connection and the first read: next tick. */
static bool guard_known(struct http_guard_conn *k)
{
    if (k->known) return true;
    const struct mg_request_info *ri = mg_get_request_info(k->conn);
    struct in_addr a;
    if (!ri || inet_pton(AF_INET, ri->remote_addr, &a) != 1) return false;
    k->addr = a.s_addr;
    k->port = (uint16_t)ri->remote_port;
    k->known = true;
    return true;
}

static int guard_mark(struct http_guard_conn *k, int how, struct victim *v, int n)
{
    if (!guard_known(k)) return n;
    if (k->shut == SHUT_RDWR + 1 || k->shut == how + 1) return n;
    k->shut = how + 1;
    v[n] = (struct victim){.addr = k->addr, .port = k->port, .how = how};
    return n + 1;
}

/* Marks the connections waiting for a head that are to go: under pressure those idle past the
 * grace (served ones only when `served` is set), else those over their client's budget. */
static int guard_shed(struct http_guard *g, int64_t now, bool pressure, bool served,
                      struct victim *v, int n)
{
    int threads = g->o.threads;
    for (int i = 0; i < threads; i++) {
        struct http_guard_conn *k = &g->slots[i];
        if (k->state != SLOT_HEAD || k->shut || now - k->since_us < GUARD_GRACE_US) continue;
        bool over = pressure && (served || !k->served);
        /* Loopback peers share one address (local tools, a reverse proxy for everyone): the
         * pressure rule alone protects them. */
        bool loopback = (ntohl(k->addr) >> 24) == 127;
        if (!over && !loopback && (!k->served || now - k->since_us >= GUARD_IDLE_US)) {
            int same = 0;
            for (int j = 0; j < threads; j++)
                same += g->slots[j].state != SLOT_FREE && !g->slots[j].shut && g->slots[j].known &&
                        g->slots[j].addr == k->addr;
            over = same > g->o.per_client;
        }
        if (over) n = guard_mark(k, SHUT_RDWR, v, n);
    }
    return n;
}

/* One look at every slot (under the lock): the victims to shut. */
static int guard_scan(struct http_guard *g, int64_t now, struct victim *v)
{
    int n = 0, live = 0, threads = g->o.threads;
    for (int i = 0; i < threads; i++) {
        struct http_guard_conn *k = &g->slots[i];
        if (k->state == SLOT_FREE) continue;
        live++;
        guard_known(k);
        if (k->state == SLOT_HEAD && now - k->since_us > (int64_t)g->o.head_ms * 1000)
            n = guard_mark(k, SHUT_RDWR, v, n);
        else if (k->state == SLOT_REQUEST && k->deadline_us && now > k->deadline_us)
            n = guard_mark(k, SHUT_RD, v, n);
    }
    int reserve = threads / 8 > 4 ? threads / 8 : 4;
    /* Under pressure, connections that never sent a head go first (a flood of idle sockets);
     * idle keep-alive ones of real clients only when that was not enough. */
    for (int pass = 0; pass < 2; pass++)
        n = guard_shed(g, now, live - n >= threads - reserve, pass == 1, v, n);
    return n;
}

static void *guard_main(void *arg)
{
    struct http_guard *g = arg;
    struct victim *v = calloc((size_t)g->o.threads, sizeof *v);
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += GUARD_TICK_US * 1000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (g->stop || !v) continue;
        int n = guard_scan(g, clock_us(), v);
        if (!n) continue;
        pthread_mutex_unlock(&g->mu);
        guard_shut(g, v, n);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    free(v);
    return NULL;
}

struct http_guard *http_guard_start(const struct http_guard_opts *o)
{
    struct http_guard *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->o = *o;
    if (g->o.threads < 1) g->o.threads = 1;
    if (g->o.per_client <= 0) g->o.per_client = g->o.threads / 2 > 1 ? g->o.threads / 2 : 1;
    g->body_max = g->o.threads / 4 > 1 ? g->o.threads / 4 : 1;
    g->slots = calloc((size_t)g->o.threads, sizeof *g->slots);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    if (!g->slots || pthread_create(&g->thread, NULL, guard_main, g)) {
        free(g->slots);
        free(g);
        return NULL;
    }
    return g;
}

void http_guard_set_port(struct http_guard *g, int port)
{
    if (g) __atomic_store_n(&g->o.port, port, __ATOMIC_RELEASE);
}

void http_guard_stop(struct http_guard *g)
{
    if (!g) return;
    pthread_mutex_lock(&g->mu);
    g->stop = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g->slots);
    free(g);
}

struct http_guard_conn *http_guard_open(struct http_guard *g, const struct mg_connection *c)
{
    if (!g || !c) return NULL;
    struct http_guard_conn *k = NULL;
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->o.threads && !k; i++)
        if (g->slots[i].state == SLOT_FREE) k = &g->slots[i];
    if (k) *k = (struct http_guard_conn){.state = SLOT_HEAD, .conn = c, .since_us = clock_us()};
    pthread_mutex_unlock(&g->mu);
    return k;
}

bool http_guard_request(struct http_guard *g, struct http_guard_conn *k, bool body)
{
    if (!g || !k) return true;
    bool ok = true;
    pthread_mutex_lock(&g->mu);
    int64_t now = clock_us();
    k->state = SLOT_REQUEST;
    k->served = true;
    k->since_us = now;
    k->deadline_us = 0;
    if (body) {
        ok = g->bodies < g->body_max;
        if (ok) {
            g->bodies++;
            k->body = true;
            k->deadline_us = now + (int64_t)g->o.body_ms * 1000;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return ok;
}

static void guard_settle(struct http_guard *g, struct http_guard_conn *k)
{
    if (k->body) g->bodies--;
    k->body = false;
    k->deadline_us = 0;
}

void http_guard_idle(struct http_guard *g, struct http_guard_conn *k)
{
    if (!g || !k) return;
    pthread_mutex_lock(&g->mu);
    guard_settle(g, k);
    k->state = SLOT_HEAD;
    k->since_us = clock_us();
    pthread_mutex_unlock(&g->mu);
}

void http_guard_close(struct http_guard *g, struct http_guard_conn *k)
{
    if (!g || !k) return;
    pthread_mutex_lock(&g->mu);
    guard_settle(g, k);
    k->state = SLOT_FREE;
    k->shut = 0;
    pthread_mutex_unlock(&g->mu);
}
