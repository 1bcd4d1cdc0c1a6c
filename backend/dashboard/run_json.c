/* RUN objects as the API serves them (run_json.h). */
#include "run_json.h"
#include <cjson/cJSON.h>
#include "job.h"
#include "store.h"

void run_json_merge_live(struct http_api *api, cJSON *run)
{
    cJSON *idj = cJSON_GetObjectItemCaseSensitive(run, "id");
    struct job_progress p;
    cJSON *modes = cJSON_DetachItemFromObjectCaseSensitive(run, "modes_progress");
    if (cJSON_IsString(idj) && job_get(api->job, idj->valuestring, &p) != JOB_NONE) {
        cJSON_Delete(modes);
        cJSON_ReplaceItemInObjectCaseSensitive(run, "status",
                                               cJSON_CreateString(job_state_name(p.state)));
        cJSON_ReplaceItemInObjectCaseSensitive(run, "progress", job_progress_json(&p));
        if (p.cancelling) cJSON_AddBoolToObject(run, "cancelling", true);
        return;
    }
    cJSON *prog = cJSON_GetObjectItemCaseSensitive(run, "progress");
    if (modes && cJSON_IsObject(prog) && !cJSON_HasObjectItem(prog, "modes"))
        cJSON_AddItemToObject(prog, "modes", modes);
    else
        cJSON_Delete(modes);
}

cJSON *run_json_get(struct http_api *api, const char *id, bool *found, char *err, size_t errlen)
{
    cJSON *run = store_run_get(api->st, id, found, err, errlen);
    if (run) run_json_merge_live(api, run);
    return run;
}
