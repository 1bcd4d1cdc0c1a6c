/* libFuzzer target: what the dashboard reads from a request line and headers before any
 * handler (http_rules.h), the framing rules over the same lines taken as header values, and the
 * URL redaction. The input is split at newlines into: the path, the query string, Host, Origin,
 * Content-Type, Authorization. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http_rules.h"
#include "redact.h"

static const char *next_part(char **p)
{
    char *s = *p;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *p = buf;
    const char *uri = next_part(&p), *qs = next_part(&p), *host = next_part(&p);
    const char *origin = next_part(&p), *ctype = next_part(&p), *auth = next_part(&p);

    char pattern[128], id[34];
    if (http_route_key(uri, pattern, sizeof pattern, id, sizeof id) == 0) {
        if (strlen(pattern) >= sizeof pattern || strlen(id) >= sizeof id) abort();
        if (http_id_valid(id))
            for (const char *c = id; *c; c++)
                if (!isalnum((unsigned char)*c)) abort();
    }
    char v[64];
    const char *names[] = {"mode", "limit", "url", "offset", ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (http_query_value(qs, names[i], v, sizeof v) == 1 && strlen(v) >= sizeof v) abort();
    int64_t n;
    char err[200];
    if (http_query_int_value(qs, "limit", 50, 1, 1000, &n, err, sizeof err) == 0 &&
        (n < 1 || n > 1000))
        abort();
    const char *allow[] = {"conlab.example"};
    (void)http_host_allowed(host[0] ? host : NULL, allow, 1);
    /* A plain name is allowed when it is on the list. */
    const char *self[] = {host};
    size_t hl = strlen(host);
    if (hl && hl < 200 && host[hl - 1] != '.' &&
        strspn(host, "abcdefghijklmnopqrstuvwxyz-") == hl && !http_host_allowed(host, self, 1))
        abort();
    (void)http_origin_allowed(origin[0] ? origin : NULL, host[0] ? host : NULL);
    (void)http_content_type_json(ctype);
    (void)http_bearer_matches(auth, "sesame");
    (void)http_method_allowed(uri);
    /* The framing rules: the parts as the values of the headers they decide on. */
    const char *hnames[] = {"Content-Length", "Transfer-Encoding", "Expect", "Upgrade", "Host"};
    const char *values[] = {qs, origin, ctype, auth, host};
    for (int n = 0; n <= 5; n++) {
        struct http_head h = {.method = "POST", .uri = uri, .names = hnames, .values = values,
                              .n = n, .max_headers = 64, .body_max = 65536};
        char msg[200];
        int st = http_head_refusal(&h, msg, sizeof msg);
        if (st && st != 400 && st != 413 && st != 417 && st != 431) abort();
        /* a path that does not start with one slash never passes */
        if (!st && (uri[0] != '/' || uri[1] == '/' || strstr(uri, "%00"))) abort();
    }
    char shown[256];
    redact_url(uri, shown, sizeof shown);
    if (strlen(shown) >= sizeof shown) abort();
    free(buf);
    return 0;
}
