/* The demo server's HTTP/1.x wire format: parsing one request head (with the per-request query
 * overrides) and formatting one response head. Pure functions, no I/O. */
#ifndef CONLAB_TARGET_HTTP_H
#define CONLAB_TARGET_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define TARGET_MAX_HEAD 16384 /* request line + headers; larger heads are answered 431 */
#define TARGET_MAX_DELAY_MS 3600000
#define TARGET_MAX_BYTES 100000000
#define TARGET_BODY "This is a slow web api"
#define TARGET_BODY_LEN (sizeof TARGET_BODY - 1)

struct target_req {
    size_t head_len;     /* bytes of the head, blank line included */
    int64_t body_len;    /* Content-Length, 0 when absent */
    int keepalive;       /* the connection stays open after the response */
    int head_only;       /* HEAD: Content-Length but no body */
    int expect_continue; /* "Expect: 100-continue" */
    int64_t delay_ms;    /* the overrides ?delay_ms= ?status= ?bytes=, -1 when absent */
    int64_t status;
    int64_t bytes;
    int reject;    /* 0, or the status to answer at once (no worker, no delay) with msg as body */
    char msg[160]; /* the reason of a reject, one line without newline */
};

/* Parses the request head at the start of buf[0..len).
 * Returns 1 when a whole head was parsed into r; r->reject may then be 400 for a malformed
 * override (the request is well framed: read its body, answer, keep the connection as
 * r->keepalive says). Returns 0 when more bytes are needed. Returns -1 when the request cannot
 * be framed (bad syntax, head over TARGET_MAX_HEAD, chunked body): r->reject and r->msg say
 * what to answer, r->keepalive is 0 and the connection must close after the answer. */
int target_http_parse(const char *buf, size_t len, struct target_req *r);

/* The reason phrase of a status code ("OK", "Not Found", ...; "Unknown" for others). */
const char *target_http_reason(int status);

/* 1 when a response with this status never has a body (1xx, 204, 304). */
int target_http_bodyless(int status);

/* Formats a response head into out: status line, Content-Type text/plain, Content-Length
 * (omitted when content_length < 0) and Connection. Returns its length, or -1 if it would not
 * fit in outlen bytes. */
int target_http_head(char *out, size_t outlen, int status, int64_t content_length,
                     int keepalive);

#endif
