/* RUN objects as the API serves them (run_json.h). */
#include "run_json.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include "findings.h"
#include "job.h"
#include "redact.h"
#include "result_json.h"
#include "store.h"
#include "util.h"
#include "verdict.h"

/* What RUN's progress shows, whether it comes from the store or from the runner. A sweep's
 * modes count over all their levels. */
struct progress_view {
    int64_t done, total;
    int cur; /* index of the latest begun point's mode; -1 before any */
    int64_t concurrency; /* and its level */
    int n;   /* modes begun */
    int mode[SPEC_MAX_MODES];
    int64_t mode_done[SPEC_MAX_MODES], mode_total[SPEC_MAX_MODES];
    int position; /* runs ahead in the queue; -1 when not queued */
    struct mode_names names;
};

static cJSON *progress_json(const struct progress_view *v)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "done", (double)v->done);
    cJSON_AddNumberToObject(o, "total", (double)(v->total > v->done ? v->total : v->done));
    const char *cur = v->cur >= 0 ? mode_names_get(&v->names, v->mode[v->cur]) : NULL;
    if (cur) {
        cJSON_AddStringToObject(o, "mode", cur);
        cJSON_AddNumberToObject(o, "concurrency", (double)v->concurrency);
    } else {
        cJSON_AddNullToObject(o, "mode");
        cJSON_AddNullToObject(o, "concurrency");
    }
    cJSON *m = cJSON_AddObjectToObject(o, "modes");
    for (int i = 0; i < v->n; i++) {
        const char *name = mode_names_get(&v->names, v->mode[i]);
        cJSON *e = cJSON_AddObjectToObject(m, name ? name : "unknown");
        cJSON_AddNumberToObject(e, "done", (double)v->mode_done[i]);
        cJSON_AddNumberToObject(e, "total", (double)v->mode_total[i]);
    }
    if (v->position >= 0) cJSON_AddNumberToObject(o, "position", v->position);
    return o;
}

cJSON *run_json_progress(const struct job_progress *p)
{
    int64_t levels = p->nlevels > 1 ? p->nlevels : 1;
    struct progress_view v = {.total = p->requests * p->nmodes * levels, .cur = p->cur,
                              .concurrency = p->concurrency, .position = -1, .names = p->names};
    for (int i = 0; i < p->nmodes; i++) v.done += p->done[i];
    /* Begun: up to the running one, or every mode once a sweep's first level is done. */
    int begun = p->nresults >= p->nmodes ? p->nmodes : p->cur + 1;
    for (int i = 0; i < begun && i < p->nmodes; i++, v.n++) {
        v.mode[i] = p->modes[i];
        v.mode_done[i] = p->done[i];
        v.mode_total[i] = p->requests * levels;
    }
    if (p->state == JOB_QUEUED) v.position = p->position;
    cJSON *o = progress_json(&v);
    cJSON_AddItemToObject(o, "live", job_live_json(&p->live, &p->names, clock_us()));
    return o;
}

/* Progress of a stored run: done counts stored rows; total is the spec's requests × its modes
 * × its levels, or the begun points' totals for a spec without them. */
static cJSON *stored_progress(const struct store_run *r)
{
    int64_t per_mode = r->has_spec ? r->spec.requests : 0;
    int64_t levels = r->has_spec && r->spec.nlevels > 0 ? r->spec.nlevels : 1;
    struct progress_view v = {.cur = -1, .position = -1};
    if (r->has_spec) mode_names_from_spec(&r->spec, &v.names);
    int64_t begun_total = 0;
    for (int i = 0; i < r->nmodes; i++) {
        const struct store_mode *m = &r->modes[i];
        int k = 0;
        while (k < v.n && v.mode[k] != m->mode) k++;
        if (k == v.n) {
            if (v.n == SPEC_MAX_MODES) continue;
            v.mode[v.n++] = m->mode;
        }
        v.mode_done[k] += m->done;
        v.mode_total[k] += m->total > 0 ? m->total : per_mode;
        if (per_mode > 0) v.mode_total[k] = per_mode * levels;
        v.done += m->done;
        begun_total += m->total;
        v.cur = k;
        v.concurrency = m->concurrency;
    }
    v.total = per_mode > 0 ? per_mode * r->spec.nmodes * levels : begun_total;
    cJSON *o = progress_json(&v);
    cJSON_AddNullToObject(o, "live"); /* only the runner knows the running mode's live view */
    return o;
}

static void add_time(cJSON *o, const char *key, int64_t us)
{
    if (us < 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char iso[32];
    iso8601_utc(us, iso);
    cJSON_AddStringToObject(o, key, iso);
}

cJSON *run_json_build(const struct store_run *r, const struct job_progress *live)
{
    cJSON *run = cJSON_CreateObject();
    cJSON_AddStringToObject(run, "id", r->id);
    cJSON_AddStringToObject(run, "status", live ? job_state_name(live->state) : r->status);
    add_time(run, "created_at", r->created_us);
    add_time(run, "finished_at", r->finished_us);
    cJSON_AddStringToObject(run, "label", r->label);
    if (r->message) cJSON_AddStringToObject(run, "message", r->message);
    else cJSON_AddNullToObject(run, "message");
    cJSON_AddItemToObject(run, "spec", r->has_spec ? spec_to_json(&r->spec) : cJSON_CreateNull());
    cJSON_AddItemToObject(run, "progress", live ? run_json_progress(live) : stored_progress(r));
    /* The finished points' results, C data from the store, in run order. */
    struct mode_result *res = malloc((size_t)(r->nmodes > 0 ? r->nmodes : 1) * sizeof *res);
    size_t n = 0;
    cJSON *results = cJSON_AddArrayToObject(run, "results");
    for (int i = 0; res && i < r->nmodes; i++) {
        if (!r->modes[i].finished) continue;
        res[n] = r->modes[i].result;
        cJSON_AddItemToArray(results, result_to_json(&res[n++]));
    }
    /* RUN's "verdict": the spec's thresholds judged against the finished modes (so far, while
     * the run goes on); null without thresholds. */
    struct verdict *v = malloc(sizeof *v);
    if (v) verdict_compute(r->has_spec ? &r->spec : NULL, res, res ? n : 0, v);
    cJSON_AddItemToObject(run, "verdict", v ? verdict_to_json(v) : cJSON_CreateNull());
    free(v);
    /* What the numbers say, once the run has ended. */
    bool ended = !live && strcmp(r->status, "queued") && strcmp(r->status, "running");
    struct findings *f = ended && r->has_spec && res ? malloc(sizeof *f) : NULL;
    if (f) findings_compute(&r->spec, res, n, f);
    cJSON *findings = f ? findings_to_json(f) : NULL;
    cJSON_AddItemToObject(run, "findings", findings ? findings : cJSON_CreateArray());
    free(f);
    free(res);
    if (live && live->cancelling) cJSON_AddBoolToObject(run, "cancelling", true);
    return run;
}

/* RUN of a stored run, with the runner's live state when it is active. Every RUN the API
 * serves (answers, streams, exports) comes from here: its secrets are shown as "***". */
static cJSON *run_json_live(struct http_api *api, const struct store_run *r)
{
    struct job_progress p;
    cJSON *run = run_json_build(r, job_get(api->job, r->id, &p) != JOB_NONE ? &p : NULL);
    redact_spec_json(cJSON_GetObjectItemCaseSensitive(run, "spec"), api->secret_headers,
                     api->nsecret_headers);
    if (api->secret_body) redact_spec_body(cJSON_GetObjectItemCaseSensitive(run, "spec"));
    return run;
}

int run_json_get(struct http_api *api, struct store *st, const char *id, cJSON **out, char *err,
                 size_t errlen)
{
    struct store_run r;
    *out = NULL;
    int rc = store_run_get(st, id, &r, err, errlen);
    if (rc) return rc;
    *out = run_json_live(api, &r);
    store_run_free(&r);
    return *out ? 0 : errf(err, errlen, "out of memory");
}

/* A list answer holds about this much stored text (specs, results) at most: 1000 runs of 60 KiB
 * specs would otherwise be 60 MB of JSON built per request. The runs are read this many at a
 * time, so that the raw rows never take more either. */
#define RUN_LIST_BUDGET (2 * 1024 * 1024)
#define RUN_LIST_CHUNK 25

/* About what a run weighs in an answer: its spec's strings, and a RESULT of about 1 KiB per
 * point. */
static size_t run_text_bytes(const struct store_run *r)
{
    const struct spec *s = &r->spec;
    size_t n = 512 + (s->url ? strlen(s->url) : 0) + (s->body ? strlen(s->body) : 0) +
               (s->label ? strlen(s->label) : 0) + (size_t)r->nmodes * 1024;
    for (int i = 0; r->has_spec && i < s->nheaders; i++)
        n += 8 + strlen(s->headers[i].name) + strlen(s->headers[i].value);
    return n;
}

static bool run_listed(cJSON *list, const char *id)
{
    for (cJSON *r = list->child; r; r = r->next) {
        const cJSON *rid = cJSON_GetObjectItemCaseSensitive(r, "id");
        if (cJSON_IsString(rid) && !strcmp(rid->valuestring, id)) return true;
    }
    return false;
}

cJSON *run_json_list(struct http_api *api, int limit, int offset, const char *url,
                     const char *label, char *err, size_t errlen)
{
    cJSON *out = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(out, "runs");
    size_t used = 0;
    int got = 0; /* runs of the history passed, from offset */
    bool cut = false;
    while (got < limit && !cut) {
        int want = limit - got < RUN_LIST_CHUNK ? limit - got : RUN_LIST_CHUNK;
        struct store_run *runs;
        int n;
        if (store_run_list(api->st, want, offset + got, url, label, &runs, &n, err, errlen)) {
            cJSON_Delete(out);
            return NULL;
        }
        for (int i = 0; i < n && !cut; i++) {
            size_t sz = run_text_bytes(&runs[i]);
            if (got > 0 && used + sz > RUN_LIST_BUDGET) {
                cut = true;
                break;
            }
            used += sz;
            got++;
            /* A run created between two reads shifts the next one by a place: no run twice. */
            if (!run_listed(list, runs[i].id))
                cJSON_AddItemToArray(list, run_json_live(api, &runs[i]));
        }
        store_runs_free(runs, n);
        if (n < want) break;
    }
    /* Cut short by the byte budget: where the next page starts. */
    if (cut) cJSON_AddNumberToObject(out, "next_offset", offset + got);
    return out;
}
