/* RUN objects as the API serves them (run_json.h). */
#include "run_json.h"
#include <cjson/cJSON.h>
#include "job.h"
#include "store.h"

void run_json_merge_live(struct http_api *api, cJSON *run)
{
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(run, "id");
    struct job_progress p;
    if (!cJSON_IsString(idj) || job_get(api->job, idj->valuestring, &p) == JOB_NONE) return;
    cJSON_ReplaceItemInObjectCaseSensitive(run, "status",
                                           cJSON_CreateString(job_state_name(p.state)));
    cJSON_ReplaceItemInObjectCaseSensitive(run, "progress", job_progress_json(&p));
    if (p.cancelling) cJSON_AddBoolToObject(run, "cancelling", true);
}

cJSON *run_json_get(struct http_api *api, const char *id, bool *found, char *err, size_t errlen)
{
    cJSON *run = store_run_get(api->st, id, found, err, errlen);
    if (run) run_json_merge_live(api, run);
    return run;
}
