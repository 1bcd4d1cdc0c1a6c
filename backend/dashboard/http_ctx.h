/* What every handler of the dashboard shares: its store connection, the job runner, the
 * options. Types only. */
#ifndef CONLAB_HTTP_CTX_H
#define CONLAB_HTTP_CTX_H

#include <stdbool.h>
#include <stdint.h>
#include "http_targets.h"
#include "spec.h"

struct job;
struct store;
struct client_registry;

struct http_api {
    struct store *st;        /* the handlers' connection */
    struct job *job;         /* queue, runner, live progress */
    const char *db_path;     /* exports stream from a connection of their own */
    struct spec_limits limits;
    const char *token;       /* NULL: no request needs a token */
    bool public_read;        /* with a token: reads need none (only start, cancel, delete do) */
    const char *const *secret_headers; /* header names shown as "***" besides the usual ones */
    int nsecret_headers;
    const char *tls_dir;     /* a spec's target.tls names files of this folder; NULL: none */
    bool secret_body;        /* target.body shown as "***" too (--secret-body) */
    struct http_targets targets; /* where runs may aim (--allow-target; never itself) */
    const char *demo_url;    /* the demo target's URL, NULL when there is none */
    int64_t demo_workers, demo_delay_ms;
    int queue_max;
    int job_per_client;      /* queued runs one client address may have */
    int sse_max;             /* event streams open at once; each holds a server thread */
    int sse_open;            /* how many are open (atomic) */
    const struct client_registry *clients; /* GET /api/clients; NULL: none */
    const char *const *default_modes; /* the defaults' modes in GET /api/config */
    int ndefault_modes;
};

#endif
