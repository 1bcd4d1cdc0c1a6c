/* Deadlines and budgets for the dashboard's connections, enforced from outside civetweb's reads:
 * civetweb's worker blocks in a read for as long as each read makes progress, so a request head
 * or body that trickles in holds its thread. The guard knows every live connection (civetweb's
 * init/begin/end/close callbacks), and a watchdog thread shuts down, at the socket, what is past
 * its deadline or over a budget, which wakes the blocked read at once:
 * - a connection waiting for a request head (new or idle keep-alive) longer than head_ms;
 * - a request whose body has not arrived within body_ms of its head (read side only, so that its
 *   408 can still be written);
 * - when live connections come near the thread count, those that have waited for a head more
 *   than 100 ms (idle keep-alive ones, slow heads): a new request never waits behind them;
 * - when one client address (not loopback, which local tools and a reverse proxy share) holds
 *   more than its budget, its connections that never sent a head (after 100 ms) and its
 *   keep-alive ones idle for 2 s.
 * Requests with a body are also counted: beyond a quarter of the threads, more are refused 503. */
#ifndef CONLAB_HTTP_GUARD_H
#define CONLAB_HTTP_GUARD_H

#include <stdbool.h>

struct http_guard;
struct http_guard_conn;
struct mg_connection;

struct http_guard_opts {
    int port;       /* the server's port: only its sockets are ever shut down */
    int threads;    /* civetweb's worker threads: at most this many live connections */
    int head_ms;    /* a head must arrive within this (from connect or the last answer) */
    int body_ms;    /* a body must arrive within this from its head */
    int per_client; /* live connections one client address may hold before its waiting
                     * ones are closed; 0: threads / 2 */
};

/* Starts the watchdog thread. Returns NULL when out of memory or threads. */
struct http_guard *http_guard_start(const struct http_guard_opts *o);

/* The port the server got (when it was started on port 0). */
void http_guard_set_port(struct http_guard *g, int port);

/* Stops the watchdog and frees; no callback may run any more. NULL is a no-op. */
void http_guard_stop(struct http_guard *g);

/* A connection accepted (civetweb's init_connection, on its worker thread): its slot, NULL when
 * the guard has none (the connection then goes unguarded). */
struct http_guard_conn *http_guard_open(struct http_guard *g, const struct mg_connection *c);

/* Its request head arrived; `body` when a body follows. Returns false when the body budget is
 * spent (the request is to be refused 503). */
bool http_guard_request(struct http_guard *g, struct http_guard_conn *k, bool body);

/* Its answer went out: it waits for a head again. */
void http_guard_idle(struct http_guard *g, struct http_guard_conn *k);

/* It closed (civetweb's connection_close): the slot is freed. */
void http_guard_close(struct http_guard *g, struct http_guard_conn *k);

#endif
