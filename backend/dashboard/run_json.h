/* RUN objects as the API serves them: the stored run with the runner's live status and
 * progress merged in. Used by the API's handlers, event streams and exports. */
#ifndef CONLAB_RUN_JSON_H
#define CONLAB_RUN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include "http_ctx.h"

struct cJSON;

/* The RUN of `id` with its live progress merged in; NULL with *found false when unknown, or NULL
 * with *found true and err on a store error. */
struct cJSON *run_json_get(struct http_api *api, const char *id, bool *found, char *err,
                           size_t errlen);

/* Replaces a stored RUN's status and progress by the live ones while the run is queued or
 * running (the store's progress counts stored rows; the runner's is ahead of it). */
void run_json_merge_live(struct http_api *api, struct cJSON *run);

#endif
