/* The demo server's HTTP/1.x side: parsing one request head (with the per-request query
 * overrides), formatting one response head, and the listening socket. */
#ifndef CONLAB_TARGET_HTTP_H
#define CONLAB_TARGET_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "target.h" /* TARGET_MAX_DELAY_MS: the same bound for options and queries */

#define TARGET_MAX_HEAD 16384 /* request line + headers; larger heads are answered 431 */
#define TARGET_MAX_BYTES 100000000
#define TARGET_BODY "This is a slow web api"
#define TARGET_BODY_LEN (sizeof TARGET_BODY - 1)

/* ?fault=NAME: how a response goes wrong on purpose, so that tests of clients need no luck.
 * Each takes effect when the response would start (after the delay, holding a worker). */
enum target_fault {
    FAULT_NONE = 0,
    FAULT_RESET,       /* the connection is reset (RST) instead of answered */
    FAULT_HANG,        /* never answered; the worker is given back, the connection stays open */
    FAULT_SLOW_BODY,   /* the head at once, then one body byte every TARGET_SLOW_BODY_MS */
    FAULT_BAD_LENGTH,  /* Content-Length promises 100 bytes more than are sent, then close */
    FAULT_CLOSE_EARLY, /* closed (FIN) without a byte of answer */
    FAULT_GARBAGE,     /* a line that is not HTTP, then close */
    FAULT_COUNT
};

#define TARGET_SLOW_BODY_MS 100
#define TARGET_BAD_LENGTH_EXTRA 100

/* "reset", "hang", ...; NULL for FAULT_NONE or out of range. */
const char *target_fault_name(int fault);

struct target_req {
    size_t head_len;     /* bytes of the head, blank line included */
    int64_t body_len;    /* Content-Length, 0 when absent */
    int keepalive;       /* the connection stays open after the response */
    int head_only;       /* HEAD: Content-Length but no body */
    int expect_continue; /* "Expect: 100-continue" */
    int64_t delay_ms;    /* the overrides ?delay_ms= ?status= ?bytes=, -1 when absent */
    int64_t status;
    int64_t bytes;
    int fault;           /* enum target_fault, ?fault= */
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

/* Formats the response to r into out: status line, Content-Type text/plain, Content-Length
 * (none for 1xx, 204 and 304), Connection; for a reject, its message and a newline as the body.
 * FAULT_BAD_LENGTH declares TARGET_BAD_LENGTH_EXTRA bytes more than *body_len and says
 * "Connection: close"; FAULT_GARBAGE formats a line that is not HTTP (and *body_len 0). The
 * other faults are the caller's (they are not about the bytes).
 * *body_len is how many bytes of generated body (TARGET_BODY repeated) follow: ?bytes= or the
 * sentence once, 0 for a reject, HEAD or a bodyless status. Returns the bytes written to out,
 * or -1 if they would not fit in outlen. */
int target_http_response(const struct target_req *r, char *out, size_t outlen, int64_t *body_len);

/* The request target's query (after '?', before '#') into r's overrides and ?fault=, as the
 * HTTP/1.x parser reads it (a malformed one sets a 400 reject naming it); HTTP/2's :path. */
void target_http_path(const char *path, size_t n, struct target_req *r);

/* What the response to r is, for HTTP/1.x and HTTP/2 alike: returns the status; *declared is
 * the Content-Length to send (-1 for none: 1xx, 204, 304), FAULT_BAD_LENGTH's extra included;
 * *body_len the body bytes that follow (0 for HEAD): for a reject, r->msg and a newline, else
 * the generated body. */
int target_http_plan(const struct target_req *r, int64_t *declared, int64_t *body_len);

/* The generated body from byte `off` on: returns where its next bytes are and sets *len to how
 * many may be sent from there, min(rem, 64 KiB). The body is TARGET_BODY repeated. */
const char *target_http_body(int64_t off, int64_t rem, size_t *len);

/* Binds and listens on host:port (empty host: every interface; port 0: a free one), non-blocking
 * and close-on-exec, SO_REUSEADDR. Returns the socket with *bound set to the port, or -1 with
 * err (e.g. "127.0.0.1:8000: Address already in use"). */
int target_http_listen(const char *host, int port, int *bound, char *err, size_t errlen);

#endif
