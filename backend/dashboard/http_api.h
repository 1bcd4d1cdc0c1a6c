/* The JSON API under /api (docs/API.md): thin handlers that read a bounded body, parse,
 * validate, call the job runner or the store, and reply with one JSON helper. */
#ifndef CONLAB_HTTP_API_H
#define CONLAB_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "http_ctx.h"

struct mg_connection;


/* civetweb request handler for /api and everything under it; cbdata is a struct http_api. */
int http_api_handle(struct mg_connection *c, void *cbdata);

#endif
