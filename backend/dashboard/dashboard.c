/* The dashboard's start and stop: the runner first, then the web server on top of it. */
#include "dashboard.h"
#include <stdlib.h>
#include <string.h>
#include "http_api.h"
#include "http_server.h"
#include "http_targets.h"
#include "job.h"
#include "util.h"

struct dashboard {
    struct job *job;
    struct http_server *srv;
    struct http_api api;
};

int dashboard_target_pattern_valid(const char *pattern, char *err, size_t errlen)
{
    return http_target_pattern_valid(pattern, err, errlen);
}

int dashboard_start(const struct dashboard_opts *o, struct store *runner_st, struct store *api_st,
                    struct dashboard **out, char *url, size_t urllen, char *err, size_t errlen)
{
    struct dashboard *d = calloc(1, sizeof *d);
    if (!d) return errf(err, errlen, "out of memory");
    if (job_start(runner_st, api_st, &o->job, &d->job, err, errlen)) {
        free(d);
        return -1;
    }
    d->api = (struct http_api){
        .st = api_st,
        .job = d->job,
        .db_path = o->db_path,
        .limits = o->limits,
        .token = o->token,
        .public_read = o->public_read,
        .secret_headers = o->secret_headers,
        .nsecret_headers = o->nsecret_headers,
        .tls_dir = o->tls_dir,
        .secret_body = o->secret_body,
        .targets = {.allow = o->allow_targets, .nallow = o->nallow_targets,
                    .allow_self = o->allow_self_target},
        .demo_url = o->demo_url,
        .demo_workers = o->demo_workers,
        .demo_delay_ms = o->demo_delay_ms,
        .queue_max = o->job.queue_max,
        .job_per_client = o->job.queue_per_client,
        .clients = o->job.clients,
        .default_modes = o->default_modes,
        .ndefault_modes = o->ndefault_modes,
        /* Each stream holds a thread until its run ends: half of them at most. */
        .sse_max = (o->threads > 0 ? o->threads : HTTP_THREADS_DEFAULT) / 2,
    };
    if (d->api.sse_max < 1) d->api.sse_max = 1;
    struct http_server_opts so = {.host = o->host, .port = o->port, .web_root = o->web_root,
                                  .threads = o->threads, .keepalive_ms = o->keepalive_ms,
                                  .request_timeout_ms = o->request_timeout_ms,
                                  .per_client = o->per_client,
                                  .allow_hosts = o->allow_hosts, .nallow_hosts = o->nallow_hosts};
    if (http_server_start(&so, &d->api, &d->srv, url, urllen, err, errlen)) {
        job_stop(d->job);
        job_free(d->job);
        free(d);
        return -1;
    }
    /* url is "http://HOST:PORT/": the port actually bound is the one runs may not aim at. */
    const char *colon = strrchr(url, ':');
    if (colon) __atomic_store_n(&d->api.targets.self_port, atoi(colon + 1), __ATOMIC_RELEASE);
    *out = d;
    return 0;
}

void dashboard_stop(struct dashboard *d)
{
    if (!d) return;
    job_stop(d->job);
    http_server_stop(d->srv);
    job_free(d->job);
    free(d);
}
