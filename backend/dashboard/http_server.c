#include "http_server.h"

#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "http_api.h"
#include "http_json.h"
#include "util.h"

struct http_server {
    struct mg_context *ctx;
    char index_path[4096];
};

/* GET /, /runs/ID, /history, /compare: the one page, which routes on location.pathname. */
static int http_page(struct mg_connection *c, void *cbdata)
{
    struct http_server *s = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *u = ri->local_uri;
    bool page = !strcmp(u, "/") || !strcmp(u, "/runs") || !strncmp(u, "/runs/", 6) ||
                !strcmp(u, "/history") || !strcmp(u, "/history/") || !strcmp(u, "/compare") ||
                !strcmp(u, "/compare/");
    if (!page) return 0; /* a static file: civetweb serves it from the document root */
    http_drain_body(c);
    if (strcmp(ri->request_method, "GET") && strcmp(ri->request_method, "HEAD")) {
        static const char msg[] = "method not allowed\n";
        return http_reply(c, 405, "text/plain; charset=utf-8", msg, sizeof msg - 1,
                          "Allow: GET, HEAD\r\n");
    }
    struct stat sb;
    if (stat(s->index_path, &sb) || !S_ISREG(sb.st_mode)) {
        char msg[4300];
        int n = snprintf(msg, sizeof msg,
                         "The dashboard page is missing (%s). Build with cmake, which copies "
                         "web/ next to the binary, or pass --web-root DIR.\n",
                         s->index_path);
        return http_reply(c, 404, "text/plain; charset=utf-8", msg, (size_t)n, NULL);
    }
    mg_send_mime_file2(c, s->index_path, "text/html; charset=utf-8",
                       "Cache-Control: no-cache\r\n");
    return 200;
}

/* A path that is neither a page, a file nor an API route would get civetweb's bare "Error 404"
 * page: it gets the dashboard's page instead, still with status 404, so that its "Not found"
 * view (with links to a new run and the history) shows. Other errors keep civetweb's page. */
static int http_error_page(struct mg_connection *c, int status, const char *errmsg)
{
    (void)errmsg;
    const struct mg_request_info *ri = mg_get_request_info(c);
    struct http_server *s = mg_get_user_data(mg_get_context(c));
    if (status != 404 || !s || !ri || strcmp(ri->request_method, "GET") ||
        !strncmp(ri->local_uri, "/api/", 5))
        return 1;
    /* civetweb's worker threads have small stacks: the page goes on the heap */
    enum { PAGE_MAX = 65536 };
    char *page = malloc(PAGE_MAX);
    FILE *f = page ? fopen(s->index_path, "rb") : NULL;
    if (!f) {
        free(page);
        return 1;
    }
    size_t n = fread(page, 1, PAGE_MAX, f);
    bool whole = feof(f);
    fclose(f);
    if (whole) http_reply(c, 404, "text/html; charset=utf-8", page, n, NULL);
    free(page);
    return whole ? 0 : 1;
}

/* civetweb's messages while it starts explain a failed start (e.g. "cannot bind to ...: 98
 * (Address already in use)"): the first is kept for the error instead of being printed. */
static char http_start_msg[256];
static volatile int http_started;

static int http_log_message(const struct mg_connection *c, const char *message)
{
    (void)c;
    if (!http_started) {
        if (!http_start_msg[0]) snprintf(http_start_msg, sizeof http_start_msg, "%s", message);
        return 1;
    }
    fprintf(stderr, "conlab serve: %s\n", message);
    return 1;
}

int http_server_start(const struct http_server_opts *o, struct http_api *api,
                      struct http_server **out, char *url, size_t urllen, char *err,
                      size_t errlen)
{
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) return errf(err, errlen, "out of memory");
    snprintf(s->index_path, sizeof s->index_path, "%s/index.html", o->web_root);

    char ports[300], threads[16];
    if (o->host[0]) snprintf(ports, sizeof ports, "%s:%d", o->host, o->port);
    else snprintf(ports, sizeof ports, "%d", o->port);
    snprintf(threads, sizeof threads, "%d", o->threads > 0 ? o->threads : 32);
    const char *options[] = {
        "listening_ports", ports,
        "document_root", o->web_root,
        "num_threads", threads,
        "enable_keep_alive", "yes",
        "tcp_nodelay", "1",
        "enable_directory_listing", "no",
        "request_timeout_ms", "30000",
        "static_file_cache_control", "no-cache",
        "additional_header", "X-Content-Type-Options: nosniff",
        NULL,
    };
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.log_message = http_log_message;
    cb.http_error = http_error_page;
    struct mg_init_data init = {.callbacks = &cb, .user_data = s, .configuration_options = options};
    unsigned code = 0;
    char text[256] = "";
    struct mg_error_data error = {.code = &code, .text = text, .text_buffer_size = sizeof text};
    mg_init_library(0);
    http_start_msg[0] = '\0';
    http_started = 0;
    s->ctx = mg_start2(&init, &error);
    if (!s->ctx) {
        free(s);
        mg_exit_library();
        if (strstr(http_start_msg, "in use"))
            return errf(err, errlen, "the address is already in use");
        return errf(err, errlen, "%s%s%s", text[0] ? text : "civetweb could not start",
                    http_start_msg[0] ? ": " : "", http_start_msg);
    }
    http_started = 1;
    /* civetweb ignores SIGCHLD (for CGI), which would let the kernel reap our job children
     * before the runner reads their exit status. */
    signal(SIGCHLD, SIG_DFL);

    mg_set_request_handler(s->ctx, "/api", http_api_handle, api);
    mg_set_request_handler(s->ctx, "/$", http_page, s);
    mg_set_request_handler(s->ctx, "/runs", http_page, s);
    mg_set_request_handler(s->ctx, "/history", http_page, s);
    mg_set_request_handler(s->ctx, "/compare", http_page, s);

    struct mg_server_port sp[4];
    int np = mg_get_server_ports(s->ctx, 4, sp);
    int port = np > 0 ? sp[0].port : o->port;
    const char *host = o->host[0] && strcmp(o->host, "0.0.0.0") ? o->host : "0.0.0.0";
    snprintf(url, urllen, "http://%s:%d/", host, port);
    *out = s;
    return 0;
}

void http_server_stop(struct http_server *s)
{
    if (!s) return;
    mg_stop(s->ctx);
    mg_exit_library();
    free(s);
}
