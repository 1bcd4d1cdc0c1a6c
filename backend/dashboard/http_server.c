#include "http_server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "http_api.h"
#include "http_guard.h"
#include "http_json.h"
#include "http_rules.h"
#include "util.h"

struct http_server {
    struct mg_context *ctx;
    char index_path[4096];
    char wake_host[64]; /* where to connect to wake the accept loop at stop */
    int port;
    const char **allow; /* names a Host header may give besides loopback and localhost */
    int nallow;
    int stopping; /* atomic: new requests are answered 503 and their connection closed */
    struct http_guard *guard; /* deadlines and budgets of the connections */
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
    mg_send_mime_file2(c, s->index_path, "text/html; charset=utf-8", "Cache-Control: no-cache\r\n");
    return 200;
}

/* A path that is neither a page, a file nor an API route would get civetweb's bare "Error 404"
 * page: it gets the dashboard's page instead, still with status 404, so that its "Not found"
 * view (with links to a new run and the history) shows. Other errors keep civetweb's page. */
/* Set when civetweb answered the current connection's request with an error of its own (one
 * connection at a time per civetweb thread). */
static __thread bool http_civetweb_answered;

static int http_error_page(struct mg_connection *c, int status, const char *errmsg)
{
    (void)errmsg;
    http_civetweb_answered = true;
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

/* Answers a request refused before any handler: JSON under /api, text elsewhere. The body is
 * read and dropped first unless the framing itself was refused (then nothing more is read and
 * the connection closes). */
static int http_refuse_as(struct mg_connection *c, bool drain, int status, const char *extra,
                          const char *msg)
{
    const char *u = mg_get_request_info(c)->local_uri;
    if (drain) http_drain_body(c);
    if (!strcmp(u, "/api") || !strncmp(u, "/api/", 5)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "error", msg);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!text) return http_reply_error(c, 500, "out of memory");
        http_reply(c, status, "application/json", text, strlen(text), extra);
        free(text);
        return status;
    }
    char text[600];
    int n = snprintf(text, sizeof text, "%s\n", msg);
    http_reply(c, status, "text/plain; charset=utf-8", text, (size_t)n, extra);
    return status;
}

static int http_refuse(struct mg_connection *c, int status, const char *extra, const char *msg)
{
    return http_refuse_as(c, true, status, extra, msg);
}

/* What civetweb's parser (1.15) hides from ri, read from the head it parsed in place: it ends the
 * header list, silently, at a line that starts with a space, a tab or a colon (the rest of the
 * head is then ignored), and it drops white space between a name and its colon. A value ends
 * where its CR and LF were overwritten by NULs; what follows is the next line. */
static void http_head_peek(const struct mg_request_info *ri, bool *folded, bool *space_colon)
{
    *folded = *space_colon = false;
    for (int i = 0; i < ri->num_headers; i++) {
        const char *name = ri->http_headers[i].name, *v = ri->http_headers[i].value;
        const char *ne = name + strlen(name);
        /* "Name : v" leaves two NULs (space, colon) before the value; "Name: v" one. */
        if (v > ne + 1 && ne[1] == '\0') *space_colon = true;
    }
    if (ri->num_headers <= 0) return;
    const char *p = ri->http_headers[ri->num_headers - 1].value;
    p += strlen(p);
    for (int k = 0; k < 2 && *p == '\0'; k++)
        p++;
    *folded = *p == ' ' || *p == '\t' || *p == ':';
}

/* The framing rules of http_head_refusal, applied to civetweb's parse of the head. Returns the
 * status answered (the connection then closes), or 0. */
static int http_check_framing(struct mg_connection *c, const struct mg_request_info *ri)
{
    const char *names[64], *values[64];
    int n = ri->num_headers < 64 ? ri->num_headers : 64;
    for (int i = 0; i < n; i++) {
        names[i] = ri->http_headers[i].name;
        values[i] = ri->http_headers[i].value;
    }
    struct http_head h = {.method = ri->request_method,
                          .uri = ri->request_uri,
                          .names = names,
                          .values = values,
                          .n = n,
                          .max_headers = 64,
                          .body_max = HTTP_BODY_MAX};
    http_head_peek(ri, &h.folded, &h.space_before_colon);
    char msg[200];
    int status = http_head_refusal(&h, msg, sizeof msg);
    if (!status) return 0;
    http_close_after(c);
    return http_refuse_as(c, false, status, NULL, msg);
}

/* civetweb drops, without a word, a request whose target is "*" or an absolute URL of another
 * server (it sets no local path and never calls begin_request): the answer is written here, when
 * civetweb closes that connection. Such a parse leaves request_uri set and local_uri NULL; an
 * ordinary close leaves both NULL (civetweb resets them before reading each head). */
static void http_connection_close(const struct mg_connection *cc)
{
    struct http_server *s = mg_get_user_data(mg_get_context(cc));
    if (s) http_guard_close(s->guard, mg_get_user_connection_data(cc));
    const struct mg_request_info *ri = mg_get_request_info(cc);
    bool answered = http_civetweb_answered;
    http_civetweb_answered = false;
    if (answered || !ri || !ri->request_uri || ri->local_uri || ri->num_headers < 0 ||
        !ri->http_version || (strcmp(ri->http_version, "1.0") && strcmp(ri->http_version, "1.1")) ||
        !ri->request_method)
        return;
    struct mg_connection *c = (struct mg_connection *)cc;
    static const char star[] = "HTTP/1.1 204 No Content\r\n"
                               "Allow: GET, HEAD, POST, DELETE, OPTIONS\r\n"
                               "Content-Length: 0\r\nConnection: close\r\n\r\n";
    static const char bad[] = "HTTP/1.1 400 Bad Request\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Length: 66\r\nConnection: close\r\n\r\n"
                              "only origin-form request targets are served (this is not a proxy)\n";
    if (!strcmp(ri->request_uri, "*") && !strcmp(ri->request_method, "OPTIONS"))
        mg_write(c, star, sizeof star - 1);
    else
        mg_write(c, bad, sizeof bad - 1);
}

/* Runs before civetweb does anything with a request (its begin_request callback): the rules of
 * the contract's "Browser safety" that hold for every path. Returns a status when it answered,
 * 0 to let the request through. */
static int http_begin(struct mg_connection *c)
{
    struct http_server *s = mg_get_user_data(mg_get_context(c));
    const struct mg_request_info *ri = mg_get_request_info(c);
    http_request_begin();
    http_civetweb_answered = false;
    if (__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
        http_close_after(c);
        return http_refuse(c, 503, NULL, "the dashboard is shutting down");
    }
    int framing = http_check_framing(c, ri);
    if (framing) return framing;
    bool body = ri->content_length > 0 || mg_get_header(c, "Transfer-Encoding");
    if (!http_guard_request(s->guard, mg_get_user_connection_data(c), body)) {
        http_close_after(c);
        return http_refuse_as(c, false, 503, "Retry-After: 1\r\n",
                              "too many requests are sending a body at once; retry");
    }
    const char *m = ri->request_method;
    if (!http_method_allowed(m)) {
        http_close_after(c);
        return http_refuse(c, 405, "Allow: GET, HEAD, POST, DELETE, OPTIONS\r\n",
                           "this method is not allowed (allowed: GET, HEAD, POST, DELETE, "
                           "OPTIONS)");
    }
    int hosts = 0;
    for (int i = 0; i < ri->num_headers; i++)
        hosts += !strcasecmp(ri->http_headers[i].name, "Host");
    if (hosts > 1) {
        http_close_after(c);
        return http_refuse(c, 400, NULL, "more than one Host header");
    }
    const char *host = mg_get_header(c, "Host");
    if (!http_host_allowed(host, s->allow, s->nallow)) {
        char msg[400];
        snprintf(msg, sizeof msg,
                 "Host '%.100s' is not this dashboard's name: it answers to loopback "
                 "addresses and localhost; start it with --allow-host NAME for another name",
                 host);
        return http_refuse(c, 403, NULL, msg);
    }
    if (!http_origin_allowed(mg_get_header(c, "Origin"), host))
        return http_refuse(c, 403, NULL,
                           "requests from another origin (a page of another site) are refused");
    bool api = !strcmp(ri->local_uri, "/api") || !strncmp(ri->local_uri, "/api/", 5);
    if (!strcmp(m, "OPTIONS")) {
        http_drain_body(c);
        /* No Access-Control-* header: same-origin pages never need a preflight. */
        http_reply(c, 204, NULL, NULL, 0,
                   api ? "Allow: GET, HEAD, POST, DELETE, OPTIONS\r\n"
                       : "Allow: GET, HEAD, OPTIONS\r\n");
        return 204;
    }
    if (!api && (!strcmp(m, "POST") || !strcmp(m, "DELETE")))
        return http_refuse(c, 405, "Allow: GET, HEAD, OPTIONS\r\n",
                           "the page and its files are read-only (GET, HEAD)");
    /* A client that waits for 100 Continue (the framing check refused any other expectation
     * and any body over the limit) gets it now rather than after its own timeout. */
    if (mg_get_header(c, "Expect") && ri->content_length > 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        mg_write(c, cont, sizeof cont - 1);
    }
    return 0;
}

static int http_init_connection(const struct mg_connection *c, void **data)
{
    struct http_server *s = mg_get_user_data(mg_get_context(c));
    *data = s ? http_guard_open(s->guard, c) : NULL;
    return 0;
}

static void http_end_request(const struct mg_connection *c, int status)
{
    (void)status;
    struct http_server *s = mg_get_user_data(mg_get_context(c));
    if (s) http_guard_idle(s->guard, mg_get_user_connection_data(c));
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
                      struct http_server **out, char *url, size_t urllen, char *err, size_t errlen)
{
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) return errf(err, errlen, "out of memory");
    snprintf(s->index_path, sizeof s->index_path, "%s/index.html", o->web_root);

    /* The listening address itself is this dashboard's name too (an address in a Host header
     * cannot be rebound by DNS). */
    s->allow = calloc((size_t)o->nallow_hosts + 1, sizeof *s->allow);
    if (!s->allow) {
        free(s);
        return errf(err, errlen, "out of memory");
    }
    for (int i = 0; i < o->nallow_hosts; i++)
        s->allow[s->nallow++] = o->allow_hosts[i];
    if (o->host[0] && strcmp(o->host, "0.0.0.0")) s->allow[s->nallow++] = o->host;
    snprintf(s->wake_host, sizeof s->wake_host, "%s",
             o->host[0] && strcmp(o->host, "0.0.0.0") ? o->host : "127.0.0.1");

    char ports[300], threads[16], keepalive[16], timeout[16];
    if (o->host[0])
        snprintf(ports, sizeof ports, "%s:%d", o->host, o->port);
    else
        snprintf(ports, sizeof ports, "%d", o->port);
    snprintf(threads, sizeof threads, "%d", o->threads > 0 ? o->threads : HTTP_THREADS_DEFAULT);
    int ka = o->keepalive_ms > 0 ? o->keepalive_ms : HTTP_KEEPALIVE_MS_DEFAULT;
    snprintf(keepalive, sizeof keepalive, "%d", ka);
    snprintf(timeout, sizeof timeout, "%d",
             o->request_timeout_ms > 0 ? o->request_timeout_ms : HTTP_REQUEST_TIMEOUT_MS_DEFAULT);
    http_reply_setup(ka);
    /* clang-format off */
    const char *options[] = {
        "listening_ports", ports,
        "document_root", o->web_root,
        /* Each open connection holds a thread (idle keep-alive and half-open ones too): enough
         * of them that 200 half-open connections leave room for the API. */
        "num_threads", threads,
        "connection_queue", "64",
        "listen_backlog", "1024",
        "enable_keep_alive", "yes",
        /* Idle keep-alive connections close after this long; the replies announce it
         * (Keep-Alive: timeout=S) so that clients close first instead of reusing a connection
         * the server is closing (node's fetch keeps idle connections 4 s by default). */
        "keep_alive_timeout_ms", keepalive,
        /* A request head must arrive within this long in total, and each read or write of a
         * body must make progress within it. */
        "request_timeout_ms", timeout,
        /* Small writes (event streams, civetweb's own header lines) leave at once. */
        "tcp_nodelay", "1",
        "enable_directory_listing", "no",
        /* Paths are routed as sent: a decoded %00 would cut the path civetweb matches while
         * the rest goes unseen (http_head_refusal refuses escapes that could hide anything). */
        "decode_url", "no",
        "static_file_cache_control", "no-cache",
        /* civetweb's CORS defaults answer every preflight with "*": off. */
        "access_control_allow_origin", "",
        "access_control_allow_methods", "",
        "access_control_allow_headers", "",
        "additional_header", HTTP_PAGE_SECURITY_HEADERS,
        NULL,
    };
    /* clang-format on */
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.log_message = http_log_message;
    cb.http_error = http_error_page;
    cb.begin_request = http_begin;
    cb.connection_close = http_connection_close;
    cb.init_connection = http_init_connection;
    cb.end_request = http_end_request;
    struct mg_init_data init = {.callbacks = &cb, .user_data = s, .configuration_options = options};
    unsigned code = 0;
    char text[256] = "";
    struct mg_error_data error = {.code = &code, .text = text, .text_buffer_size = sizeof text};
    mg_init_library(0);
    http_start_msg[0] = '\0';
    http_started = 0;
    int request_ms =
        o->request_timeout_ms > 0 ? o->request_timeout_ms : HTTP_REQUEST_TIMEOUT_MS_DEFAULT;
    /* civetweb closes idle and slow heads itself when its reads notice; the guard does it from
     * outside a moment later, whatever the reads do. */
    struct http_guard_opts go = {
        .port = o->port,
        .threads = o->threads > 0 ? o->threads : HTTP_THREADS_DEFAULT,
        .head_ms = (ka > request_ms ? ka : request_ms) + 500,
        .body_ms = request_ms,
        .per_client = o->per_client,
    };
    s->guard = http_guard_start(&go);
    if (!s->guard) {
        free(s->allow);
        free(s);
        return errf(err, errlen, "out of memory");
    }
    s->ctx = mg_start2(&init, &error);
    if (!s->ctx) {
        http_guard_stop(s->guard);
        free(s->allow);
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
    s->port = port;
    http_guard_set_port(s->guard, port);
    const char *host = o->host[0] && strcmp(o->host, "0.0.0.0") ? o->host : "0.0.0.0";
    snprintf(url, urllen, "http://%s:%d/", host, port);
    *out = s;
    return 0;
}

/* Shuts down every client connection of the server (its civetweb threads wait on them in polls
 * of up to 2 s) and connects once to its listening socket (the accept loop polls it likewise),
 * so that civetweb sees its stop flag at once. Client sockets are found in /proc/self/fd: TCP
 * sockets whose local port is the server's and that do not listen. */
static void http_wake(const struct http_server *s)
{
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));) {
        int fd = atoi(e->d_name);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int listening = 1;
        socklen_t ll = sizeof listening;
        if (fd <= 2 || fd == dirfd(d) || getsockname(fd, (struct sockaddr *)&ss, &sl) ||
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) || listening)
            continue;
        int port = ss.ss_family == AF_INET    ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                   : ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                              : -1;
        if (port == s->port) shutdown(fd, SHUT_RDWR);
    }
    if (d) closedir(d);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd >= 0 && inet_pton(AF_INET, s->wake_host, &a.sin_addr) == 1)
        (void)!connect(fd, (struct sockaddr *)&a, sizeof a);
    if (fd >= 0) close(fd);
}

struct http_stopper {
    struct mg_context *ctx;
    int done; /* atomic */
};

static void *http_stop_thread(void *arg)
{
    struct http_stopper *st = arg;
    mg_stop(st->ctx);
    __atomic_store_n(&st->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

void http_server_stop(struct http_server *s)
{
    if (!s) return;
    __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
    /* mg_stop sets civetweb's stop flag and waits for its threads; this thread wakes them
     * meanwhile, every 10 ms, until they are gone. */
    struct http_stopper st = {.ctx = s->ctx};
    pthread_t t;
    if (pthread_create(&t, NULL, http_stop_thread, &st) == 0) {
        while (!__atomic_load_n(&st.done, __ATOMIC_ACQUIRE)) {
            http_wake(s);
            usleep(10000);
        }
        pthread_join(t, NULL);
    } else {
        mg_stop(s->ctx);
    }
    mg_exit_library();
    http_guard_stop(s->guard);
    free(s->allow);
    free(s);
}
