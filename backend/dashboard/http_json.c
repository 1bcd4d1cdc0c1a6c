#include "http_json.h"

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_gzip.h"
#include "utf8.h"
#include "util.h"

/* An over-size body is read and thrown away up to this many bytes so that the 413 reaches the
 * client; beyond it we answer and close rather than read without end. */
#define HTTP_DISCARD_MAX (16 * 1024 * 1024)

/* Reads and drops what is left of the body, at most `budget` bytes. Returns 1 when the body was
 * read to its end, 0 when the budget ran out or the read failed. */
static int discard_body(struct mg_connection *c, size_t budget)
{
    char buf[16384];
    while (budget > 0) {
        int n = mg_read(c, buf, budget < sizeof buf ? budget : sizeof buf);
        if (n == 0) return 1;
        if (n < 0) return 0;
        budget -= (size_t)n;
    }
    char one;
    return mg_read(c, &one, 1) == 0;
}

void http_drain_body(struct mg_connection *c)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *te = mg_get_header(c, "Transfer-Encoding");
    if (ri->content_length <= 0 && !te) return;
    if (!discard_body(c, HTTP_DISCARD_MAX)) mg_disable_connection_keep_alive(c);
}

int http_read_body(struct mg_connection *c, size_t max, char **out, size_t *len, int *status,
                   char *err, size_t errlen)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    *out = NULL;
    *len = 0;
    if (ri->content_length > (long long)max) {
        *status = 413;
        if (!discard_body(c, HTTP_DISCARD_MAX)) mg_disable_connection_keep_alive(c);
        return errf(err, errlen, "request body of %lld bytes is over the limit of %zu bytes",
                    ri->content_length, max);
    }
    char *buf = malloc(max + 2);
    if (!buf) {
        *status = 500;
        mg_disable_connection_keep_alive(c);
        return errf(err, errlen, "out of memory");
    }
    size_t got = 0;
    for (;;) {
        /* Ask for one byte more than allowed to tell "exactly max" from "over". */
        int n = mg_read(c, buf + got, max + 1 - got);
        if (n == 0) break;
        if (n < 0) {
            free(buf);
            *status = 400;
            mg_disable_connection_keep_alive(c);
            return errf(err, errlen, "could not read the request body");
        }
        got += (size_t)n;
        if (got > max) {
            free(buf);
            *status = 413;
            if (!discard_body(c, HTTP_DISCARD_MAX)) mg_disable_connection_keep_alive(c);
            return errf(err, errlen, "request body is over the limit of %zu bytes", max);
        }
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

int http_reply(struct mg_connection *c, int status, const char *ctype, const char *body,
               size_t len, const char *extra)
{
    char clen[32];
    snprintf(clen, sizeof clen, "%zu", body ? len : (size_t)0);
    mg_response_header_start(c, status);
    if (ctype) mg_response_header_add(c, "Content-Type", ctype, -1);
    mg_response_header_add(c, "Cache-Control", "no-store", -1);
    if (status != 204) mg_response_header_add(c, "Content-Length", clen, -1);
    if (extra) mg_response_header_add_lines(c, extra);
    mg_response_header_send(c);
    if (body && len) mg_write(c, body, len);
    return status;
}

int http_reply_json(struct mg_connection *c, int status, cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
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
    if (extra) mg_response_header_add_lines(c, extra);
    return mg_response_header_send(c) == 0 ? 0 : -1;
}

int http_chunked_end(struct mg_connection *c)
{
    return mg_send_chunk(c, "", 0) < 0 ? -1 : 0;
}

int http_query(struct mg_connection *c, const char *name, char *buf, size_t buflen)
{
    const char *qs = mg_get_request_info(c)->query_string;
    if (!qs) return 0;
    int n = mg_get_var(qs, strlen(qs), name, buf, buflen);
    if (n == -1) return 0;
    return n < 0 ? -1 : 1;
}

int http_query_int(struct mg_connection *c, const char *name, int64_t def, int64_t min,
                   int64_t max, int64_t *out, char *err, size_t errlen)
{
    char buf[32];
    int q = http_query(c, name, buf, sizeof buf);
    if (q < 0) return errf(err, errlen, "%s: not a whole number", name);
    if (q == 0) {
        *out = def;
        return 0;
    }
    char perr[160];
    if (parse_int64(buf, name, min, max, out, perr, sizeof perr) == 0) return 0;
    return errf(err, errlen, "%s: must be a whole number between %lld and %lld", name,
                (long long)min, (long long)max);
}
