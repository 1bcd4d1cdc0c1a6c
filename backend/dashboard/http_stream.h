/* The API's streamed replies: server-sent progress events and the exports. Each writes its own
 * reply (errors included) and returns the status for civetweb's log. `id` is a validated run id. */
#ifndef CONLAB_HTTP_STREAM_H
#define CONLAB_HTTP_STREAM_H

struct http_api;
struct mg_connection;

/* GET /api/runs/ID/events: text/event-stream of `progress`, `mode` and `end` events until the
 * run ends, the client goes away or the job stops. */
int http_stream_events(struct mg_connection *c, struct http_api *api, const char *id);

/* GET /api/runs/ID/export.json: {"run": RUN, "requests": {mode: [ROW...]}} as an attachment. */
int http_stream_export_json(struct mg_connection *c, struct http_api *api, const char *id);

/* GET /api/runs/ID/export.csv: one line per request, all modes, as an attachment. */
int http_stream_export_csv(struct mg_connection *c, struct http_api *api, const char *id);

#endif
