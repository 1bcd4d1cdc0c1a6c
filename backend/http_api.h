/* The JSON API under /api (docs/API.md): thin handlers that read a bounded body, parse,
 * validate, call the job runner or the store, and reply with one JSON helper. */
#ifndef CONLAB_HTTP_API_H
#define CONLAB_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "spec.h"

struct cJSON;
struct job;
struct mg_connection;
struct store;

struct http_api {
    struct store *st;        /* the handlers' connection */
    struct job *job;         /* queue, runner, live progress */
    const char *db_path;     /* exports stream from a connection of their own */
    struct spec_limits limits;
    const char *token;       /* NULL: starting, cancelling, deleting need no token */
    const char *demo_url;    /* the demo target's URL, NULL when there is none */
    int64_t demo_workers, demo_delay_ms;
    int queue_max;
    int sse_max;             /* event streams open at once; each holds a server thread */
    int sse_open;            /* how many are open (atomic) */
};

/* civetweb request handler for /api and everything under it; cbdata is a struct http_api. */
int http_api_handle(struct mg_connection *c, void *cbdata);

/* The RUN of `id` with its live progress merged in; NULL with *found false when unknown, or NULL
 * with *found true and err on a store error. */
struct cJSON *http_api_run(struct http_api *api, const char *id, bool *found, char *err,
                           size_t errlen);

/* Replaces a stored RUN's status and progress by the live ones while the run is queued or
 * running, and gives progress its "modes" breakdown either way. */
void http_api_merge_live(struct http_api *api, struct cJSON *run);

#endif
