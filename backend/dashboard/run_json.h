/* RUN objects as the API serves them, built in one place: the stored run (C data from the
 * store) with, while the run is queued or running, the runner's live status and progress.
 * Used by the API's handlers, event streams and exports. */
#ifndef CONLAB_RUN_JSON_H
#define CONLAB_RUN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include "http_ctx.h"

struct cJSON;
struct job_progress;
struct store;
struct store_run;

/* The one function that builds a RUN: {"id", "status", "created_at", "finished_at", "label",
 * "message", "spec", "progress", "results", "verdict", "findings"} (+ "cancelling" while a cancel
 * is under way); "verdict" is verdict.h's judgement of the results against the spec's
 * thresholds; "findings" is findings.h's reading of the results once the run has ended ([]
 * before). Every RESULT has its "concurrency" (older stored ones get their point's).
 * `live` is the runner's state while the run is queued or running (its status and progress
 * win over the stored ones), NULL otherwise. */
struct cJSON *run_json_build(const struct store_run *r, const struct job_progress *live);

/* run_json_get and run_json_list show the spec's secrets as "***" (redact.h, with the
 * dashboard's --secret-header names): every RUN the API serves comes through them. */

/* The RUN of `id` read through `st` (the handlers' connection, or an export's own) into *out.
 * Returns 0, STORE_NOT_FOUND, or -1 with err (store.h's error shape). */
int run_json_get(struct http_api *api, struct store *st, const char *id, struct cJSON **out,
                 char *err, size_t errlen);

/* {"runs": [RUN...]} newest first, as store_run_list filters them; NULL with err. */
struct cJSON *run_json_list(struct http_api *api, int limit, int offset, const char *url,
                            const char *label, char *err, size_t errlen);

/* RUN's "progress" from the runner's live state: {"done", "total", "mode", "concurrency",
 * "modes": {name: {"done", "total"}}, "live"} (+ "position" while queued); a sweep's modes count
 * over every level. The same shape as a stored run's; "live" is job_live_json's view of the mode
 * running now (null when none, and for stored runs). */
struct cJSON *run_json_progress(const struct job_progress *p);

#endif
