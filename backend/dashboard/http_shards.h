/* The shards' endpoints under /api/runs/ID/ (docs/API.md, "Shards"), each behind the token:
 *   POST join     {"shard": i, "shards": n}
 *   POST barrier  {"shard": i, "point": k, "clock_ms": wall ms, "wait_ms": ≤ 10000}
 *   POST results?shard=i&point=k  the shard's part of point k (part.h), up to the dashboard's
 *                                 --shard-upload-mb
 * Each reads its body, checks its fields (400 naming one) and answers what the coordinator
 * (coord.h) says. Return the HTTP status sent. */
#ifndef CONLAB_HTTP_SHARDS_H
#define CONLAB_HTTP_SHARDS_H

struct mg_connection;
struct coord;

int http_shard_join(struct mg_connection *c, struct coord *co, const char *id);
int http_shard_barrier(struct mg_connection *c, struct coord *co, const char *id);
int http_shard_results(struct mg_connection *c, struct coord *co, const char *id);

#endif
