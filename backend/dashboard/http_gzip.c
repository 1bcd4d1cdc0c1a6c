/* gzip for the dashboard's JSON answers (http_gzip.h). */
#include "http_gzip.h"

#include <civetweb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* Level 1: most of the gain (JSON shrinks 6-10×) for a fraction of the CPU of the default. */
#define GZIP_LEVEL 1

bool http_gzip_accepted(struct mg_connection *c)
{
    const char *h = mg_get_header(c, "Accept-Encoding");
    while (h && *h) {
        while (*h == ' ' || *h == '\t' || *h == ',')
            h++;
        size_t n = strcspn(h, ",;");
        bool name = (n == 4 && !strncasecmp(h, "gzip", 4)) || (n == 1 && *h == '*');
        const char *end = h + strcspn(h, ",");
        bool refused = false; /* ";q=0", ";q=0.0", ... */
        for (const char *q = h + n; q < end; q++) {
            if ((*q == 'q' || *q == 'Q') && q[1] == '=') {
                double v = strtod(q + 2, NULL);
                refused = v <= 0;
            }
        }
        if (name && !refused) return true;
        h = end;
    }
    return false;
}

int http_gzip(const char *in, size_t len, char **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 16: a gzip wrapper around a deflate stream with the largest window */
    if (deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    size_t cap = deflateBound(&z, (uLong)len);
    char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = n;
    return 0;
}
