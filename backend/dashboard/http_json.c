#include "http_json.h"

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_gzip.h"
#include <time.h>
#include "http_rules.h"
#include "utf8.h"
#include "util.h"

/* An over-size or unwanted body is read and thrown away up to this many bytes, for at most this
 * long, so that the answer reaches the client instead of a reset; beyond either we answer and
 * close rather than let a slow sender hold the thread. */
#define HTTP_DISCARD_MAX (16 * 1024 * 1024)
#define HTTP_DISCARD_US 2000000
/* The whole body of a request must arrive within this long (each read also has civetweb's
 * request_timeout_ms): a sender that trickles bytes does not hold a thread for long. */
#define HTTP_BODY_US 5000000

static int http_keepalive_s = 5;

/* Set when the current request's connection is to close after the reply; one request at a time
 * per civetweb thread. */
static __thread bool http_closing;

void http_reply_setup(int keepalive_ms)
{
    http_keepalive_s = keepalive_ms / 1000 > 0 ? keepalive_ms / 1000 : 1;
}

void http_request_begin(void)
{
    http_closing = false;
}

void http_close_after(struct mg_connection *c)
{
    http_closing = true;
    mg_disable_connection_keep_alive(c);
}

/* Reads and drops what is left of the body, at most `budget` bytes and HTTP_DISCARD_US. Returns 1
 * when the body was read to its end, 0 when a budget ran out or the read failed. */
static int discard_body(struct mg_connection *c, size_t budget)
{
    char buf[16384];
    int64_t until = clock_us() + HTTP_DISCARD_US;
    while (budget > 0) {
        if (clock_us() > until) return 0;
        int n = mg_read(c, buf, budget < sizeof buf ? budget : sizeof buf);
        if (n == 0) return 1;
        if (n < 0) return 0;
        budget -= (size_t)n;
    }
    char one;
    return mg_read(c, &one, 1) == 0;
}

bool http_has_body(struct mg_connection *c)
{
    return mg_get_request_info(c)->content_length > 0 ||
           mg_get_header(c, "Transfer-Encoding") != NULL;
}

void http_drain_body(struct mg_connection *c)
{
    if (!http_has_body(c)) return;
    if (!discard_body(c, HTTP_DISCARD_MAX)) http_close_after(c);
}

int http_read_body(struct mg_connection *c, size_t max, char **out, size_t *len, int *status,
                   char *err, size_t errlen)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    *out = NULL;
    *len = 0;
    if (ri->content_length > (long long)max) {
        *status = 413;
        /* Declared beyond what would ever be discarded: answer at once and close (reading
         * first would wait for a body that may never come, up to request_timeout_ms). */
        if (ri->content_length > HTTP_DISCARD_MAX || !discard_body(c, HTTP_DISCARD_MAX))
            http_close_after(c);
        return errf(err, errlen, "request body of %lld bytes is over the limit of %zu bytes",
                    ri->content_length, max);
    }
    char *buf = malloc(max + 2);
    if (!buf) {
        *status = 500;
        http_close_after(c);
        return errf(err, errlen, "out of memory");
    }
    size_t got = 0;
    int64_t until = clock_us() + HTTP_BODY_US;
    for (;;) {
        if (clock_us() > until) {
            free(buf);
            *status = 408;
            http_close_after(c);
            return errf(err, errlen, "the request body did not arrive within %d s",
                        HTTP_BODY_US / 1000000);
        }
        /* Ask for one byte more than allowed to tell "exactly max" from "over". */
        int n = mg_read(c, buf + got, max + 1 - got);
        if (n == 0) break;
        if (n < 0) {
            free(buf);
            *status = 400;
            http_close_after(c);
            return errf(err, errlen, "could not read the request body");
        }
        got += (size_t)n;
        if (got > max) {
            free(buf);
            *status = 413;
            if (!discard_body(c, HTTP_DISCARD_MAX)) http_close_after(c);
            return errf(err, errlen, "request body is over the limit of %zu bytes", max);
        }
    }
    if (ri->content_length > 0 && (long long)got < ri->content_length) {
        /* The body ended early: its deadline shut the socket's read side (http_guard.c), or the
         * client stopped sending. */
        free(buf);
        *status = 408;
        http_close_after(c);
        return errf(err, errlen, "the request body did not arrive within %d s",
                    HTTP_BODY_US / 1000000);
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

/* What civetweb decides after the handler (should_keep_alive in civetweb.c): close when we
 * asked for it or when the client did, keep HTTP/1.1 open, keep HTTP/1.0 open only on request. */
static bool http_keeps_alive(struct mg_connection *c)
{
    if (http_closing) return false;
    const char *conn = mg_get_header(c, "Connection");
    if (conn) return strcasestr(conn, "keep-alive") != NULL;
    const char *v = mg_get_request_info(c)->http_version;
    return v && !strcmp(v, "1.1");
}

/* The status line and headers of a reply, ended by the empty line; returns their length, or -1
 * when they would not fit. */
static int http_head(struct mg_connection *c, int status, const char *ctype, size_t len,
                     const char *extra, char *out, size_t outlen)
{
    char date[64], type[160] = "", clen[48] = "", alive[48] = "";
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (ctype) snprintf(type, sizeof type, "Content-Type: %s\r\n", ctype);
    if (status != 204 && status != 304) snprintf(clen, sizeof clen, "Content-Length: %zu\r\n", len);
    bool keep = http_keeps_alive(c);
    if (keep) snprintf(alive, sizeof alive, "Keep-Alive: timeout=%d\r\n", http_keepalive_s);
    bool html = ctype && !strncmp(ctype, "text/html", 9);
    int n = snprintf(out, outlen,
                     "HTTP/1.1 %d %s\r\nDate: %s\r\n%s%sCache-Control: no-store\r\n%s\r\n"
                     "%sConnection: %s\r\n%s\r\n",
                     status, mg_get_response_code_text(c, status), date, type, clen,
                     html ? HTTP_PAGE_SECURITY_HEADERS : HTTP_API_SECURITY_HEADERS "Vary: Origin",
                     extra ? extra : "", keep ? "keep-alive" : "close", alive);
    return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int http_reply(struct mg_connection *c, int status, const char *ctype, const char *body,
               size_t len, const char *extra)
{
    if (!body) len = 0;
    bool head_only = !strcmp(mg_get_request_info(c)->request_method, "HEAD");
    /* One write for head and body: in pieces, Nagle's algorithm and the client's delayed ACK
     * would hold the second piece for ~40 ms on a keep-alive connection. */
    char stack[8192];
    char *buf = stack;
    int n = http_head(c, status, ctype, len, extra, stack, sizeof stack);
    size_t send = head_only ? 0 : len;
    if (n >= 0 && (size_t)n + send > sizeof stack) buf = malloc((size_t)n + send);
    if (n < 0 || !buf) {
        http_close_after(c);
        static const char oom[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n";
        mg_write(c, oom, sizeof oom - 1);
        return 500;
    }
    if (buf != stack) memcpy(buf, stack, (size_t)n);
    if (send) memcpy(buf + n, body, send);
    mg_write(c, buf, (size_t)n + send);
    if (buf != stack) free(buf);
    return status;
}

int http_reply_json(struct mg_connection *c, int status, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    return http_reply_json_text(c, status, text);
}

int http_reply_json_text(struct mg_connection *c, int status, char *text)
{
    if (!text) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        return http_reply(c, 500, "application/json", oom, sizeof oom - 1, NULL);
    }
    size_t len = strlen(text);
    char *gz = NULL;
    size_t gzlen = 0;
    if (len >= HTTP_GZIP_MIN && http_gzip_accepted(c) && http_gzip(text, len, &gz, &gzlen) == 0) {
        http_reply(c, status, "application/json", gz, gzlen,
                   "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n");
        free(gz);
    } else {
        http_reply(c, status, "application/json", text, len, "Vary: Accept-Encoding\r\n");
    }
    free(text);
    return status;
}

int http_reply_field_error(struct mg_connection *c, int status, const char *msg,
                           const char *field)
{
    char m[600], f[64];
    snprintf(m, sizeof m, "%s", msg);
    snprintf(f, sizeof f, "%s", field ? field : "");
    utf8_clean(m);
    utf8_clean(f);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", m);
    if (f[0]) cJSON_AddStringToObject(o, "field", f);
    return http_reply_json(c, status, o);
}

int http_reply_error(struct mg_connection *c, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return http_reply_field_error(c, status, msg, NULL);
}

int http_reply_empty(struct mg_connection *c, int status)
{
    return http_reply(c, status, NULL, NULL, 0, NULL);
}

int http_chunked_begin(struct mg_connection *c, int status, const char *ctype, const char *extra)
{
    mg_response_header_start(c, status);
    mg_response_header_add(c, "Content-Type", ctype, -1);
    mg_response_header_add(c, "Cache-Control", "no-store", -1);
    mg_response_header_add(c, "Transfer-Encoding", "chunked", -1);
    mg_response_header_add_lines(c, HTTP_API_SECURITY_HEADERS);
    if (extra) mg_response_header_add_lines(c, extra);
    return mg_response_header_send(c) == 0 ? 0 : -1;
}

int http_chunked_end(struct mg_connection *c)
{
    return mg_send_chunk(c, "", 0) < 0 ? -1 : 0;
}

int http_query(struct mg_connection *c, const char *name, char *buf, size_t buflen)
{
    return http_query_value(mg_get_request_info(c)->query_string, name, buf, buflen);
}

int http_query_int(struct mg_connection *c, const char *name, int64_t def, int64_t min,
                   int64_t max, int64_t *out, char *err, size_t errlen)
{
    return http_query_int_value(mg_get_request_info(c)->query_string, name, def, min, max, out,
                                err, errlen);
}
