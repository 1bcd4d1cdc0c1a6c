/* libFuzzer target: the demo target's request parser and response formatter on arbitrary
 * bytes (what any client can send it). Properties: a parsed head lies within the input, a
 * framed request's answer fits the buffer the server uses, a refusal closes, and the plan
 * HTTP/2 answers from agrees with the HTTP/1.x response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "target_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct target_req r;
    int rc = target_http_parse((const char *)data, size, &r);
    if (rc == 0) return 0;
    if (rc == 1 && (r.head_len == 0 || r.head_len > size || r.head_len > TARGET_MAX_HEAD)) abort();
    if (rc < 0 && (!r.reject || r.keepalive)) abort();
    if (r.fault < 0 || r.fault >= FAULT_COUNT) abort();
    char out[512]; /* the size of struct conn's out[] in target.c */
    int64_t body = -1;
    int n = target_http_response(&r, out, sizeof out, &body);
    if (n < 0 || (size_t)n >= sizeof out || body < 0) abort();
    if (r.bytes >= 0 && !r.reject && !r.head_only && body > r.bytes) abort();
    size_t len;
    if (body > 0 && !target_http_body(0, body, &len)) abort();
    /* HTTP/2 answers from the same plan: a declared length never falls short of the body. */
    int64_t declared, planned;
    int status = target_http_plan(&r, &declared, &planned);
    if (status < 100 || status > 599 || planned < 0 || (declared >= 0 && declared < planned))
        abort();
    if (!r.reject && r.fault != FAULT_GARBAGE && planned != body) abort();
    return 0;
}
