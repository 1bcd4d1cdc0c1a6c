/* gzip for the dashboard's JSON answers: chart data and request pages are large and compress
 * about tenfold, so they travel compressed whenever the client says it accepts gzip. */
#ifndef CONLAB_HTTP_GZIP_H
#define CONLAB_HTTP_GZIP_H

#include <stdbool.h>
#include <stddef.h>

struct mg_connection;

/* Bodies shorter than this go as they are: gzip would not pay for its header. */
#define HTTP_GZIP_MIN 1024

/* True when the request's Accept-Encoding lists gzip (or *) without q=0. */
bool http_gzip_accepted(struct mg_connection *c);

/* Compresses len bytes into a new gzip stream (*out, *outlen; free with free()). Returns 0, or
 * -1 when out of memory or zlib fails (then send the body as it is). */
int http_gzip(const char *in, size_t len, char **out, size_t *outlen);

#endif
