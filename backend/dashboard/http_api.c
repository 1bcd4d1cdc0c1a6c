#include "http_api.h"

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client_registry.h"
#include "coord.h"
#include "http_json.h"
#include "http_shards.h"
#include "http_rules.h"
#include "redact.h"
#include "http_stream.h"
#include "run_json.h"
#include "job.h"
#include "store.h"
#include "util.h"

typedef int (*http_api_fn)(struct mg_connection *c, struct http_api *api, const char *id);

struct http_route {
    const char *pattern; /* path under /api/, the run id written ":id" */
    const char *method;
    bool auth; /* needs the token when one is set */
    http_api_fn fn;
};

static int http_no_run(struct mg_connection *c, const char *id)
{
    return http_reply_error(c, 404, "no run with id '%.40s'", id);
}

static int http_store_error(struct mg_connection *c, const char *err)
{
    return http_reply_error(c, 500, "store: %s", err);
}

static int h_health(struct mg_connection *c, struct http_api *api, const char *id)
{
    (void)api;
    (void)id;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ok");
    return http_reply_json(c, 200, o);
}

/* The names a spec's target.tls may give: the regular files of --tls-dir whose names are plain
 * ([A-Za-z0-9][A-Za-z0-9._-]*, as spec_tls accepts), sorted; names only, never contents or the
 * folder's path. An empty array without --tls-dir or when the folder cannot be read. */
static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_tls_names(cJSON *o, const char *dir)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "tls_names");
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) return;
    char *names[256];
    int n = 0;
    struct dirent *e;
    while (n < 256 && (e = readdir(d))) {
        const char *s = e->d_name;
        size_t len = strlen(s);
        bool ok = len > 0 && len <= 128 && s[0] != '.' && s[0] != '-' && s[0] != '_' &&
                  (e->d_type == DT_REG || e->d_type == DT_LNK || e->d_type == DT_UNKNOWN);
        for (const char *p = s; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 *p == '.' || *p == '_' || *p == '-';
        if (ok && (names[n] = strdup(s))) n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
        free(names[i]);
    }
}

static int h_config(struct mg_connection *c, struct http_api *api, const char *id)
{
    (void)id;
    cJSON *o = cJSON_CreateObject();
    if (api->demo_url) {
        cJSON_AddStringToObject(o, "demo_target", api->demo_url);
        cJSON *d = cJSON_AddObjectToObject(o, "demo");
        cJSON_AddNumberToObject(d, "workers", (double)api->demo_workers);
        cJSON_AddNumberToObject(d, "delay_ms", (double)api->demo_delay_ms);
    } else {
        cJSON_AddNullToObject(o, "demo_target");
        cJSON_AddNullToObject(o, "demo");
    }
    const struct spec_limits *l = &api->limits;
    cJSON *lim = cJSON_AddObjectToObject(o, "limits");
    cJSON_AddNumberToObject(lim, "max_requests", (double)l->max_requests);
    cJSON *mc = cJSON_AddObjectToObject(lim, "max_concurrency");
    for (int m = MODE_THREADS; m < MODE_COUNT; m++)
        cJSON_AddNumberToObject(mc, mode_name(m), (double)l->max_concurrency[m]);
    cJSON_AddNumberToObject(lim, "max_timeout_ms", (double)l->max_timeout_ms);
    cJSON_AddNumberToObject(lim, "max_body_bytes", (double)l->max_body_bytes);
    cJSON_AddNumberToObject(lim, "max_total_requests", (double)l->max_total_requests);
    cJSON_AddNumberToObject(lim, "max_work_s", (double)l->max_work_s);
    cJSON_AddNumberToObject(lim, "max_spec_bytes", HTTP_BODY_MAX);
    cJSON_AddNumberToObject(lim, "queue", api->queue_max);
    struct spec d;
    spec_init(&d);
    d.url = strdup(api->demo_url ? api->demo_url : "");
    cJSON *defaults = spec_to_json(&d);
    spec_free(&d);
    if (api->ndefault_modes) {
        cJSON *dm = cJSON_CreateArray();
        for (int i = 0; i < api->ndefault_modes; i++)
            cJSON_AddItemToArray(dm, cJSON_CreateString(api->default_modes[i]));
        cJSON_ReplaceItemInObjectCaseSensitive(defaults, "modes", dm);
    }
    cJSON_AddItemToObject(o, "defaults", defaults);
    cJSON *modes = cJSON_AddArrayToObject(o, "modes");
    for (int m = 0; m < MODE_COUNT; m++) cJSON_AddItemToArray(modes, cJSON_CreateString(mode_name(m)));
    cJSON *clients = cJSON_AddArrayToObject(o, "clients"); /* as GET /api/clients */
    for (int k = 0; api->clients && k < api->clients->n; k++) {
        cJSON_AddItemToArray(modes, cJSON_CreateString(api->clients->v[k].name));
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", api->clients->v[k].name);
        cJSON_AddStringToObject(e, "description", api->clients->v[k].description);
        cJSON_AddItemToArray(clients, e);
    }
    add_tls_names(o, api->tls_dir);
    cJSON_AddBoolToObject(o, "token_required", api->token != NULL);
    cJSON_AddBoolToObject(o, "read_token_required", api->token && !api->public_read);
    cJSON_AddStringToObject(o, "version", CONLAB_VERSION);
    return http_reply_json(c, 200, o);
}

/* GET /api/clients: the registered clients' names and descriptions, never their commands. */
static int h_clients(struct mg_connection *c, struct http_api *api, const char *id)
{
    (void)id;
    cJSON *o = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(o, "clients");
    for (int k = 0; api->clients && k < api->clients->n; k++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", api->clients->v[k].name);
        cJSON_AddStringToObject(e, "description", api->clients->v[k].description);
        cJSON_AddItemToArray(list, e);
    }
    return http_reply_json(c, 200, o);
}

static int h_list(struct mg_connection *c, struct http_api *api, const char *id)
{
    (void)id;
    char err[256], url[8200], label[256];
    int64_t limit, offset;
    if (http_query_int(c, "limit", 50, 1, 1000, &limit, err, sizeof err) ||
        http_query_int(c, "offset", 0, 0, INT32_MAX, &offset, err, sizeof err))
        return http_reply_field_error(c, 400, err, NULL);
    int qu = http_query(c, "url", url, sizeof url);
    int ql = http_query(c, "label", label, sizeof label);
    if (qu < 0) return http_reply_error(c, 400, "url: malformed or too long");
    if (ql < 0) return http_reply_error(c, 400, "label: malformed or too long");
    /* The stored filter column shows a URL's password as the API does: either form matches. */
    char shown[sizeof url];
    if (qu) redact_url(url, shown, sizeof shown), memcpy(url, shown, sizeof url);
    cJSON *list = run_json_list(api, (int)limit, (int)offset, qu ? url : NULL,
                                ql ? label : NULL, err, sizeof err);
    if (!list) return http_store_error(c, err);
    return http_reply_json(c, 200, list);
}

static int created(struct mg_connection *c, const char *id, const char *status);

static int h_create(struct mg_connection *c, struct http_api *api, const char *id_unused)
{
    (void)id_unused;
    char err[512];
    char *body;
    size_t len;
    int status;
    if (http_read_body(c, HTTP_BODY_MAX, &body, &len, &status, err, sizeof err))
        return http_reply_error(c, status, "%s", err);
    struct spec s;
    int rc = memchr(body, '\0', len) ? errf(err, sizeof err, "spec: the body contains a NUL byte")
                                     : spec_from_text(body, &api->limits, &s, err, sizeof err);
    free(body);
    /* TLS files named by the spec come from --tls-dir only; the run gets their PEM text. */
    if (rc == 0 && (rc = spec_tls_resolve_names(&s.tls, api->tls_dir, err, sizeof err)))
        spec_free(&s);
    if (rc) {
        /* spec_from_text's messages start with the field's path: "concurrency: ...". */
        char field[64] = "";
        const char *colon = strchr(err, ':');
        if (colon && (size_t)(colon - err) < sizeof field) {
            memcpy(field, err, (size_t)(colon - err));
            field[colon - err] = '\0';
        }
        return http_reply_field_error(c, 400, err, field);
    }
    if (http_target_check(&api->targets, s.url, err, sizeof err)) {
        spec_free(&s);
        return http_reply_field_error(c, 400, err, "target.url");
    }
    /* Runs against the demo target know the server's model: the findings' ideal time. */
    spec_expect_from_demo(&s, api->demo_url, api->demo_workers, api->demo_delay_ms);
    char id[JOB_ID_LEN + 1];
    if (s.shards > 0) { /* not queued: it waits for its shards (coord.h) */
        rc = coord_create(api->coord, &s, id, err, sizeof err);
        spec_free(&s);
        if (rc == COORD_FULL)
            return http_reply_error(c, 429, "%d sharded runs are waiting for or running their "
                                            "shards already; try again later", COORD_MAX_ACTIVE);
        if (rc) return http_store_error(c, err);
        return created(c, id, "waiting");
    }
    /* Queued runs are counted per client address, loopback aside (local tools and a reverse
     * proxy share it). */
    const char *peer = mg_get_request_info(c)->remote_addr;
    rc = job_submit_as(api->job, &s, strncmp(peer, "127.", 4) ? peer : NULL, id, err, sizeof err);
    spec_free(&s);
    if (rc == JOB_CLIENT_FULL)
        return http_reply_error(c, 429, "this client has %d runs waiting already; try again later",
                                api->job_per_client);
    if (rc == JOB_QUEUE_FULL)
        return http_reply_error(c, 429, "the queue is full (%d runs waiting); try again later",
                                api->queue_max);
    if (rc == JOB_STOPPING) return http_reply_error(c, 503, "the dashboard is shutting down");
    if (rc != JOB_SUBMITTED) return http_store_error(c, err);
    return created(c, id, "queued");
}

/* 202 {"id", "url", "status"} with its Location. */
static int created(struct mg_connection *c, const char *id, const char *status)
{
    cJSON *o = cJSON_CreateObject();
    char url[64];
    snprintf(url, sizeof url, "/runs/%s", id);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "url", url);
    cJSON_AddStringToObject(o, "status", status);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return http_reply_error(c, 500, "out of memory");
    char loc[80];
    snprintf(loc, sizeof loc, "Location: /api/runs/%s\r\n", id);
    http_reply(c, 202, "application/json", text, strlen(text), loc);
    free(text);
    return 202;
}

static int h_get(struct mg_connection *c, struct http_api *api, const char *id)
{
    char err[256];
    cJSON *run;
    int rc = run_json_get(api, api->st, id, &run, err, sizeof err);
    if (rc == STORE_NOT_FOUND) return http_no_run(c, id);
    if (rc) return http_store_error(c, err);
    return http_reply_json(c, 200, run);
}

static int h_delete(struct mg_connection *c, struct http_api *api, const char *id)
{
    char err[256];
    coord_cancel(api->coord, id); /* a sharded run stops taking its shards' data first */
    int rc = job_delete(api->job, id, 20000, err, sizeof err);
    if (rc == STORE_NOT_FOUND) return http_no_run(c, id);
    if (rc < 0) return http_reply_error(c, 500, "%s", err);
    return http_reply_empty(c, 204);
}

/* The concurrency levels of a run, from its stored spec (one, or a sweep's list), into levels
 * and *n, its clients' names into names. Returns 0, STORE_NOT_FOUND, or -1 with err. */
static int http_run_levels(struct http_api *api, const char *id, int64_t *levels, int *nlevels,
                           struct mode_names *names, char *err, size_t errlen)
{
    struct store_run r;
    int rc = store_run_get(api->st, id, &r, err, errlen);
    if (rc) return rc;
    if (r.has_spec) mode_names_from_spec(&r.spec, names);
    else memset(names, 0, sizeof *names);
    int n = 0;
    for (int k = 0; r.has_spec && k < r.spec.nlevels && k < SPEC_MAX_LEVELS; k++)
        levels[n++] = r.spec.levels[k];
    store_run_free(&r);
    *nlevels = n;
    return n == 0 ? errf(err, errlen, "run '%s' has no readable spec", id) : 0;
}

/* The level a request names with ?concurrency=C: one of the run's levels, and required unless
 * the run has only one. Returns 0 with *out, or answers 400 naming `concurrency` and returns
 * its status. */
static int http_pick_level(struct mg_connection *c, const int64_t *levels, int n, int64_t *out)
{
    char list[SPEC_MAX_LEVELS * 12] = "";
    for (int k = 0, at = 0; k < n && at < (int)sizeof list; k++)
        at += snprintf(list + at, sizeof list - (size_t)at, "%s%lld", k ? ", " : "",
                       (long long)levels[k]);
    char msg[300], err[160];
    int64_t want;
    if (http_query_int(c, "concurrency", 0, 1, INT64_MAX / 2, &want, err, sizeof err))
        return http_reply_field_error(c, 400, err, "concurrency");
    if (want == 0 && n == 1) want = levels[0];
    for (int k = 0; k < n; k++) {
        if (levels[k] != want) continue;
        *out = want;
        return 0;
    }
    if (want == 0)
        snprintf(msg, sizeof msg, "concurrency: required: this run is a sweep (levels %s)", list);
    else
        snprintf(msg, sizeof msg, "concurrency: %lld is not a level of this run (levels %s)",
                 (long long)want, list);
    return http_reply_field_error(c, 400, msg, "concurrency");
}

static int h_requests(struct mg_connection *c, struct http_api *api, const char *id)
{
    char err[256], mode[CLIENT_NAME_MAX + 8];
    int64_t levels[SPEC_MAX_LEVELS], level = 0;
    struct mode_names names;
    int nlevels = 0, lrc = http_run_levels(api, id, levels, &nlevels, &names, err, sizeof err);
    if (lrc == STORE_NOT_FOUND) return http_no_run(c, id);
    if (lrc) return http_store_error(c, err);
    int q = http_query(c, "mode", mode, sizeof mode);
    if (q == 0) return http_reply_error(c, 400, "mode: required (sync, threads, async or processes)");
    int m = q > 0 ? mode_names_find(&names, mode) : -1;
    if (m < 0)
        return http_reply_error(c, 400, "mode: unknown mode '%.32s' (known: sync, threads, async, "
                                "processes and the run's clients)", q > 0 ? mode : "");
    int64_t limit, offset, from_us, to_us;
    if (http_query_int(c, "limit", 1000, 1, 10000, &limit, err, sizeof err) ||
        http_query_int(c, "offset", 0, 0, INT64_MAX / 2, &offset, err, sizeof err) ||
        http_query_int(c, "from_us", -1, 0, INT64_MAX / 2, &from_us, err, sizeof err) ||
        http_query_int(c, "to_us", -1, 0, INT64_MAX / 2, &to_us, err, sizeof err))
        return http_reply_error(c, 400, "%s", err);
    int rc = http_pick_level(c, levels, nlevels, &level);
    if (rc) return rc;
    /* from_us/to_us (either alone is an open window on the other side): only the rows that
     * overlap that time window, for a zoomed timeline */
    bool window = from_us >= 0 || to_us >= 0;
    if (window && to_us >= 0 && from_us > to_us)
        return http_reply_error(c, 400, "from_us: must not be after to_us");
    cJSON *page;
    rc = window ? store_requests_window(api->st, id, m, level, from_us < 0 ? 0 : from_us,
                                        to_us < 0 ? INT64_MAX / 2 : to_us, limit, offset, &page,
                                        err, sizeof err)
                : store_requests_page(api->st, id, m, level, limit, offset, &page, err,
                                      sizeof err);
    if (rc == STORE_NOT_FOUND) return http_no_run(c, id); /* deleted since it was read above */
    if (rc) return http_store_error(c, err);
    return http_reply_json(c, 200, page);
}

static int h_charts(struct mg_connection *c, struct http_api *api, const char *id)
{
    char err[256];
    int64_t level;
    /* ?concurrency=C: only that level's points (a sweep's page draws one level at a time). */
    if (http_query_int(c, "concurrency", 0, 1, INT64_MAX / 2, &level, err, sizeof err))
        return http_reply_field_error(c, 400, err, "concurrency");
    char *charts;
    int rc = store_charts_text(api->st, id, level, &charts, err, sizeof err);
    if (rc == STORE_NOT_FOUND) return http_no_run(c, id);
    if (rc) return http_store_error(c, err);
    return http_reply_json_text(c, 200, charts);
}

static int h_failures(struct mg_connection *c, struct http_api *api, const char *id)
{
    char err[256];
    cJSON *f;
    int rc = store_failures(api->st, id, &f, err, sizeof err);
    if (rc == STORE_NOT_FOUND) return http_no_run(c, id);
    if (rc) return http_store_error(c, err);
    return http_reply_json(c, 200, f);
}

static int h_events(struct mg_connection *c, struct http_api *api, const char *id)
{
    return http_stream_events(c, api, id);
}

static int h_cancel(struct mg_connection *c, struct http_api *api, const char *id)
{
    char err[256], status[32];
    int rc = coord_cancel(api->coord, id) == 0 ? 0 : job_cancel(api->job, id, err, sizeof err);
    if (rc < 0) return http_store_error(c, err);
    if (rc == JOB_NOT_ACTIVE) {
        int sr = store_run_status(api->st, id, status, sizeof status, err, sizeof err);
        if (sr == STORE_NOT_FOUND) return http_no_run(c, id);
        if (sr) return http_store_error(c, err);
        cJSON *o = cJSON_CreateObject();
        char msg[96];
        snprintf(msg, sizeof msg, "the run has already ended (%s)", status);
        cJSON_AddStringToObject(o, "error", msg);
        cJSON_AddStringToObject(o, "status", status);
        return http_reply_json(c, 409, o);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "status", "cancelling");
    return http_reply_json(c, 202, o);
}

static int h_export_json(struct mg_connection *c, struct http_api *api, const char *id)
{
    return http_stream_export_json(c, api, id);
}

static int h_export_csv(struct mg_connection *c, struct http_api *api, const char *id)
{
    return http_stream_export_csv(c, api, id);
}

static int h_join(struct mg_connection *c, struct http_api *api, const char *id)
{
    return http_shard_join(c, api->coord, id);
}

static int h_barrier(struct mg_connection *c, struct http_api *api, const char *id)
{
    return http_shard_barrier(c, api->coord, id);
}

static int h_results(struct mg_connection *c, struct http_api *api, const char *id)
{
    return http_shard_results(c, api->coord, id);
}

static const struct http_route http_routes[] = {
    {"health", "GET", false, h_health},
    {"config", "GET", false, h_config},
    {"clients", "GET", false, h_clients},
    {"runs", "GET", false, h_list},
    {"runs", "POST", true, h_create},
    {"runs/:id", "GET", false, h_get},
    {"runs/:id", "DELETE", true, h_delete},
    {"runs/:id/requests", "GET", false, h_requests},
    {"runs/:id/charts", "GET", false, h_charts},
    {"runs/:id/failures", "GET", false, h_failures},
    {"runs/:id/events", "GET", false, h_events},
    {"runs/:id/cancel", "POST", true, h_cancel},
    {"runs/:id/export.json", "GET", false, h_export_json},
    {"runs/:id/export.csv", "GET", false, h_export_csv},
    {"runs/:id/join", "POST", true, h_join},
    {"runs/:id/barrier", "POST", true, h_barrier},
    {"runs/:id/results", "POST", true, h_results},
};

/* The handlers that read their request's body themselves. */
static bool reads_body(http_api_fn fn)
{
    return fn == h_create || fn == h_join || fn == h_barrier || fn == h_results;
}
#define HTTP_NROUTES (sizeof http_routes / sizeof http_routes[0])

int http_api_handle(struct mg_connection *c, void *cbdata)
{
    struct http_api *api = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(c);
    /* civetweb also hands us /api.js and the like (its handler URIs match as prefixes): those
     * are static files. */
    if (strcmp(ri->local_uri, "/api") && strncmp(ri->local_uri, "/api/", 5)) return 0;
    char pattern[128], id[JOB_ID_MAX + 2];
    if (http_route_key(ri->local_uri, pattern, sizeof pattern, id, sizeof id)) {
        http_drain_body(c);
        return http_reply_error(c, 404, "no such API route");
    }
    const struct http_route *route = NULL;
    char allow[64] = "";
    for (size_t i = 0; i < HTTP_NROUTES; i++) {
        if (strcmp(http_routes[i].pattern, pattern)) continue;
        if (!strcmp(http_routes[i].method, ri->request_method)) route = &http_routes[i];
        size_t al = strlen(allow);
        snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "", http_routes[i].method);
    }
    if (!route) {
        http_drain_body(c);
        if (!allow[0]) return http_reply_error(c, 404, "no such API route: %.100s", ri->local_uri);
        char hdr[96];
        snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
        char msg[160];
        snprintf(msg, sizeof msg, "{\"error\":\"method %.16s is not allowed here (allowed: %s)\"}",
                 ri->request_method, allow);
        return http_reply(c, 405, "application/json", msg, strlen(msg), hdr);
    }
    /* A body is JSON or nothing: a form or text/plain post (what another site's page can send
     * without asking) is refused before anything reads it. */
    if (http_has_body(c) && !http_content_type_json(mg_get_header(c, "Content-Type"))) {
        http_drain_body(c);
        return http_reply_error(c, 415, "a request body must be Content-Type: application/json");
    }
    if (!reads_body(route->fn)) http_drain_body(c);
    /* With a token, every route needs it but health; reads are free with --public-read. */
    bool needs = route->auth || (!api->public_read && route->fn != h_health);
    if (api->token && needs && !http_bearer_matches(mg_get_header(c, "Authorization"), api->token)) {
        if (reads_body(route->fn)) http_drain_body(c);
        static const char body[] = "{\"error\":\"this needs the dashboard's token: send "
                                   "'Authorization: Bearer TOKEN'\"}";
        return http_reply(c, 401, "application/json", body, sizeof body - 1,
                          "WWW-Authenticate: Bearer realm=\"conlab\"\r\n");
    }
    if (strstr(route->pattern, ":id") && !http_id_valid(id)) return http_no_run(c, id);
    return route->fn(c, api, id);
}
