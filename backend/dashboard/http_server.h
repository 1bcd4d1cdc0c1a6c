/* The dashboard's web server (civetweb): the API under /api, the page's routes (/, /runs/ID,
 * /history, /compare all serve index.html) and the page's static files from the web root. */
#ifndef CONLAB_HTTP_SERVER_H
#define CONLAB_HTTP_SERVER_H

#include <stddef.h>

struct http_api;
struct http_server;

#define HTTP_THREADS_DEFAULT 256
#define HTTP_KEEPALIVE_MS_DEFAULT 5000
#define HTTP_REQUEST_TIMEOUT_MS_DEFAULT 5000

struct http_server_opts {
    const char *host;   /* IPv4 address to listen on; "" for every interface */
    int port;           /* 0 picks a free port */
    const char *web_root; /* folder holding index.html, *.js, style.css, vendor/ */
    int threads;        /* civetweb worker threads: each open connection (SSE too) holds one */
    int keepalive_ms;   /* idle keep-alive connections close after this; 0: the default */
    int request_timeout_ms; /* a request head must arrive within this; 0: the default */
    int per_client;     /* connections one client address may hold; 0: threads / 2 */
    const char *const *allow_hosts; /* names a Host header may give (--allow-host) */
    int nallow_hosts;
};

/* Starts serving. `api` must outlive the server. `url` gets "http://HOST:PORT/" with the port
 * actually bound. Returns 0 or -1 with err (e.g. the port is in use). */
int http_server_start(const struct http_server_opts *o, struct http_api *api,
                      struct http_server **out, char *url, size_t urllen, char *err,
                      size_t errlen);

/* Stops: new requests are answered 503, open connections are shut down so that civetweb's
 * threads notice at once (instead of within its 2 s poll quantum), then waits for the handlers to
 * return and frees. Takes a few ms when no handler is busy. */
void http_server_stop(struct http_server *s);

#endif
