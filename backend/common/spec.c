#include "spec.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_guard.h"
#include "spec_clients.h"
#include "utf8.h"
#include "util.h"

void spec_limits_default(struct spec_limits *l)
{
    l->max_requests = 1000000;
    l->max_concurrency[MODE_SYNC] = 1000000;
    l->max_concurrency[MODE_THREADS] = 1000;
    l->max_concurrency[MODE_ASYNC] = 10000;
    l->max_concurrency[MODE_PROCESSES] = 256;
    l->max_concurrency[MODE_H2MUX] = 1000;
    l->max_timeout_ms = 3600000;
    l->max_body_bytes = 65536;
    l->max_concurrency_client = 1000;
    l->clients = NULL;
    l->nclients = 0;
    l->any_client = false;
    l->max_total_requests = INT64_MAX / 2;
    l->max_work_s = INT64_MAX / 2;
}

void spec_limits_unbounded(struct spec_limits *l)
{
    l->max_requests = INT64_MAX / 2;
    for (int i = 0; i < MODE_COUNT; i++) l->max_concurrency[i] = INT64_MAX / 2;
    l->max_timeout_ms = INT64_MAX / 2;
    l->max_body_bytes = INT64_MAX / 2;
    l->max_concurrency_client = INT64_MAX / 2;
    l->clients = NULL;
    l->nclients = 0;
    l->any_client = true;
    l->max_total_requests = INT64_MAX / 2;
    l->max_work_s = INT64_MAX / 2;
}

void spec_init(struct spec *s)
{
    memset(s, 0, sizeof *s);
    s->requests = 3;
    s->levels[0] = 3;
    s->nlevels = 1;
    /* The talk's four; further modes (h2mux) run when asked for. */
    for (int i = 0; i <= MODE_PROCESSES; i++) s->modes[i] = (enum bench_mode)i;
    s->nmodes = MODE_PROCESSES + 1;
    s->timeout_ms = 30000;
    s->rate = 0;
    s->keepalive = true;
    s->connections = 1;
    spec_thresholds_init(&s->thresholds);
}

void spec_free(struct spec *s)
{
    free(s->url);
    free(s->method);
    for (int i = 0; i < s->nheaders; i++) {
        free(s->headers[i].name);
        free(s->headers[i].value);
    }
    free(s->headers);
    free(s->body);
    free(s->label);
    spec_tls_free(&s->tls);
    spec_resolve_free(s->resolve, s->nresolve);
    memset(s, 0, sizeof *s);
}

/* RFC 9110 token characters (method and header names). */
static bool is_token(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *p)))
            return false;
    return true;
}

static bool has_ctl(const char *s, bool allow_tab)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && !(allow_tab && *p == '\t')) || *p == 0x7f) return true;
    return false;
}

static int check_url(const char *url, char *err, size_t errlen)
{
    if (!*url) return errf(err, errlen, "target.url: must not be empty");
    if (strlen(url) > 8192) return errf(err, errlen, "target.url: longer than 8192 characters");
    if (has_ctl(url, false) || strchr(url, ' '))
        return errf(err, errlen, "target.url: must not contain spaces or control characters");
    CURLU *u = curl_url();
    if (!u) return errf(err, errlen, "target.url: out of memory");
    int rc = -1;
    char *scheme = NULL, *host = NULL;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc != CURLUE_OK) {
        errf(err, errlen, "target.url: '%.200s' is not a valid URL (%s)", url, curl_url_strerror(uc));
    } else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
               (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
        errf(err, errlen, "target.url: only http and https URLs are accepted, got '%.200s'", url);
    } else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        errf(err, errlen, "target.url: '%.200s' has no host", url);
    } else {
        rc = 0;
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* What a spec from outside (a page, a script, the command line) must also satisfy: every string
 * well-formed UTF-8 (what is stored and shown is what runs), a rate at which every due time stays
 * in range, and a concurrency that some mode could run even when only sync runs. */
static int validate_outside_input(const struct spec *s, const struct spec_limits *lim, char *err,
                                  size_t errlen)
{
    const struct {
        const char *field, *text;
    } strs[] = {{"target.url", s->url}, {"target.method", s->method},
                {"target.body", s->body}, {"label", s->label},
                {"target.tls.ca", s->tls.ca}, {"target.tls.cert", s->tls.cert},
                {"target.tls.key", s->tls.key}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i].text && !utf8_valid(strs[i].text, strlen(strs[i].text)))
            return errf(err, errlen, "%s: is not valid UTF-8", strs[i].field);
    for (int i = 0; i < s->nheaders; i++)
        if (!utf8_valid(s->headers[i].value, strlen(s->headers[i].value)))
            return errf(err, errlen, "target.headers: the value of '%.60s' is not valid UTF-8",
                        s->headers[i].name);
    if (s->rate != 0 && !(s->rate >= SPEC_MIN_RATE))
        return errf(err, errlen, "rate: must be 0 (no limit) or at least %g requests/s",
                    SPEC_MIN_RATE);
    int64_t most = 0;
    for (int m = MODE_THREADS; m < MODE_COUNT; m++)
        if (lim->max_concurrency[m] > most) most = lim->max_concurrency[m];
    if (s->nclients && lim->max_concurrency_client > most) most = lim->max_concurrency_client;
    int64_t top = s->levels[s->nlevels > 0 ? s->nlevels - 1 : 0]; /* levels increase */
    if (top > most)
        return errf(err, errlen, "concurrency: %lld is above the limit of every mode (%lld)",
                    (long long)top, (long long)most);
    return 0;
}

int spec_check_split(const struct spec *s, int64_t n, const char *what, char *err, size_t errlen)
{
    /* a client program keeps its own seqs and due times: the engine cannot hand it a shard's */
    if (s->nclients > 0)
        return errf(err, errlen, "%s: client modes (%s) cannot be sharded; shard the built-in modes",
                    what, s->clients[0]);
    if (n > s->requests)
        return errf(err, errlen,
                    "%s: %" PRId64 " shards for %" PRId64 " requests: a shard would get none "
                    "(at most as many shards as requests)",
                    what, n, s->requests);
    for (int k = 0; k < s->nlevels; k++)
        if (n > s->levels[k])
            return errf(err, errlen,
                        "%s: %" PRId64 " shards exceed the concurrency %" PRId64
                        ": each shard needs at least one lane (at most as many shards as the "
                        "smallest concurrency level)",
                        what, n, s->levels[k]);
    return 0;
}

/* Levels: 1..SPEC_MAX_LEVELS of them, strictly increasing, each within the limit of every
 * mode of the run (sync has one worker whatever the level). */
/* shards: 0 (one process), or 1..SPEC_MAX_SHARDS that the spec can be split into. */
static int check_shards(const struct spec *s, char *err, size_t errlen)
{
    if (s->shards == 0) return 0;
    if (s->shards < 1 || s->shards > SPEC_MAX_SHARDS)
        return errf(err, errlen, "shards: %lld is out of range (1..%d)", (long long)s->shards,
                    SPEC_MAX_SHARDS);
    return spec_check_split(s, s->shards, "shards", err, errlen);
}

static int check_levels(const struct spec *s, const struct spec_limits *lim, char *err,
                        size_t errlen)
{
    if (s->nlevels < 1 || s->nlevels > SPEC_MAX_LEVELS)
        return errf(err, errlen, "concurrency: give one level or a list of 1 to %d levels",
                    SPEC_MAX_LEVELS);
    for (int k = 0; k < s->nlevels; k++) {
        int64_t c = s->levels[k];
        if (c < 1) return errf(err, errlen, "concurrency: must be at least 1");
        if (k > 0 && c <= s->levels[k - 1])
            return errf(err, errlen,
                        "concurrency: the levels of a sweep must be distinct and increasing "
                        "(%lld after %lld)",
                        (long long)c, (long long)s->levels[k - 1]);
        for (int i = 0; i < s->nmodes; i++) {
            enum bench_mode m = s->modes[i];
            if (m == MODE_SYNC) continue;
            if (mode_is_client(m) && c > lim->max_concurrency_client)
                return errf(err, errlen, "concurrency: %lld is above the limit of %lld for %s",
                            (long long)c, (long long)lim->max_concurrency_client,
                            spec_mode_name(s, m));
            if (mode_is_client(m)) continue;
            if (c > lim->max_concurrency[m])
                return errf(err, errlen, "concurrency: %lld is above the limit of %lld for %s",
                            (long long)c, (long long)lim->max_concurrency[m], mode_name(m));
        }
    }
    return 0;
}

/* --- thresholds: their own functions, so that the other fields' changes stay apart --------- */

static const char *const threshold_names[] = {"p99_ms", "error_rate", "rps_min"};
#define NTHRESHOLDS 3

static double *threshold_slot(struct spec_thresholds *t, int i)
{
    return i == 0 ? &t->p99_ms : i == 1 ? &t->error_rate : &t->rps_min;
}

void spec_thresholds_init(struct spec_thresholds *t)
{
    t->p99_ms = t->error_rate = t->rps_min = NAN;
}

bool spec_thresholds_any(const struct spec_thresholds *t)
{
    return !isnan(t->p99_ms) || !isnan(t->error_rate) || !isnan(t->rps_min);
}

/* Each set threshold within its range: p99_ms in (0, 3.6e6], error_rate in [0, 1], rps_min in
 * [0, 1e9]. */
static int check_thresholds(const struct spec_thresholds *t, char *err, size_t errlen)
{
    if (!isnan(t->p99_ms) && !(t->p99_ms > 0 && t->p99_ms <= 3600000))
        return errf(err, errlen, "thresholds.p99_ms: must be above 0 and at most 3600000 ms");
    if (!isnan(t->error_rate) && !(t->error_rate >= 0 && t->error_rate <= 1))
        return errf(err, errlen, "thresholds.error_rate: must be a share between 0 and 1");
    if (!isnan(t->rps_min) && !(t->rps_min >= 0 && t->rps_min <= 1e9))
        return errf(err, errlen, "thresholds.rps_min: must be between 0 and 1000000000 requests/s");
    return 0;
}

int spec_thresholds_parse(const cJSON *v, struct spec_thresholds *t, char *err, size_t errlen)
{
    spec_thresholds_init(t);
    if (cJSON_IsNull(v)) return 0;
    if (!cJSON_IsObject(v))
        return errf(err, errlen,
                    "thresholds: must be an object {\"p99_ms\": X, \"error_rate\": Y, \"rps_min\": Z}");
    for (const cJSON *f = v->child; f; f = f->next) {
        int i = 0;
        while (i < NTHRESHOLDS && strcmp(f->string, threshold_names[i])) i++;
        if (i == NTHRESHOLDS)
            return errf(err, errlen,
                        "thresholds.%.60s: unknown threshold (known: p99_ms, error_rate, rps_min)",
                        f->string);
        if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble))
            return errf(err, errlen, "thresholds.%s: must be a number", threshold_names[i]);
        *threshold_slot(t, i) = f->valuedouble;
    }
    return check_thresholds(t, err, errlen);
}

int spec_thresholds_set(struct spec_thresholds *t, const char *name, const char *value, char *err,
                        size_t errlen)
{
    int i = 0;
    while (i < NTHRESHOLDS && strcmp(name, threshold_names[i])) i++;
    if (i == NTHRESHOLDS)
        return errf(err, errlen, "'%.40s' is not a threshold (known: p99_ms, error_rate, rps_min)",
                    name);
    char *end = NULL;
    double v = value && *value ? strtod(value, &end) : NAN;
    if (!end || *end || !isfinite(v))
        return errf(err, errlen, "%s: '%.40s' is not a number", name, value ? value : "");
    *threshold_slot(t, i) = v;
    return check_thresholds(t, err, errlen);
}

/* "thresholds": null, or an object with the thresholds that are set. */
static void thresholds_to_json(cJSON *o, const struct spec_thresholds *t)
{
    if (!spec_thresholds_any(t)) {
        cJSON_AddNullToObject(o, "thresholds");
        return;
    }
    cJSON *x = cJSON_AddObjectToObject(o, "thresholds");
    for (int i = 0; i < NTHRESHOLDS; i++) {
        double v = i == 0 ? t->p99_ms : i == 1 ? t->error_rate : t->rps_min;
        if (!isnan(v)) cJSON_AddNumberToObject(x, threshold_names[i], v);
    }
}

/* What one run may cost in all: its requests over every level and mode, and the CPU its work
 * takes. Counted in double: with limits that refuse nothing the products could overflow. */
static int check_budget(const struct spec *s, const struct spec_limits *lim, char *err,
                        size_t errlen)
{
    int levels = s->nlevels > 0 ? s->nlevels : 1;
    double total = (double)s->requests * levels * s->nmodes;
    if (total > (double)lim->max_total_requests)
        return errf(err, errlen,
                    "requests: %lld requests x %d levels x %d modes = %.0f, over the limit of "
                    "%lld requests in one run",
                    (long long)s->requests, levels, s->nmodes, total,
                    (long long)lim->max_total_requests);
    double cpu_s = (double)s->work_us * total / 1e6;
    if (cpu_s > (double)lim->max_work_s)
        return errf(err, errlen,
                    "work_us: %lld us x %.0f requests is %.0f CPU s, over the limit of %lld s "
                    "in one run",
                    (long long)s->work_us, total, cpu_s, (long long)lim->max_work_s);
    return 0;
}

int spec_validate(const struct spec *s, const struct spec_limits *lim, char *err, size_t errlen)
{
    if (!s->url) return errf(err, errlen, "target.url: required");
    if (check_url(s->url, err, errlen)) return -1;
    if (!s->method || !is_token(s->method, 32))
        return errf(err, errlen, "target.method: '%.40s' is not an HTTP method token",
                    s->method ? s->method : "");
    if (s->nheaders > 100) return errf(err, errlen, "target.headers: at most 100 headers");
    for (int i = 0; i < s->nheaders; i++) {
        if (!is_token(s->headers[i].name, 256))
            return errf(err, errlen, "target.headers: '%.60s' is not a valid header name",
                        s->headers[i].name);
        if (has_ctl(s->headers[i].value, true) || strlen(s->headers[i].value) > 8192)
            return errf(err, errlen,
                        "target.headers: the value of '%.60s' has control characters or is "
                        "longer than 8192",
                        s->headers[i].name);
    }
    if (s->body && (int64_t)strlen(s->body) > lim->max_body_bytes)
        return errf(err, errlen, "target.body: longer than the limit of %lld bytes",
                    (long long)lim->max_body_bytes);
    if (s->requests < 1 || s->requests > lim->max_requests)
        return errf(err, errlen, "requests: %lld is out of range (1..%lld)", (long long)s->requests,
                    (long long)lim->max_requests);
    if (s->nmodes < 1) return errf(err, errlen, "modes: at least one mode is required");
    if (spec_clients_check(s, lim, err, errlen)) return -1;
    if (check_levels(s, lim, err, errlen)) return -1;
    if (s->timeout_ms < 1 || s->timeout_ms > lim->max_timeout_ms)
        return errf(err, errlen, "timeout_ms: %lld is out of range (1..%lld)",
                    (long long)s->timeout_ms, (long long)lim->max_timeout_ms);
    if (!(s->rate >= 0 && s->rate <= 1e6))
        return errf(err, errlen, "rate: must be between 0 (no limit) and 1000000 requests/s");
    if (s->label && strlen(s->label) > 200)
        return errf(err, errlen, "label: longer than 200 characters");
    if (s->work_us < 0 || s->work_us > SPEC_MAX_WORK_US)
        return errf(err, errlen, "work_us: %lld is out of range (0..%d)", (long long)s->work_us,
                    SPEC_MAX_WORK_US);
    if (check_budget(s, lim, err, errlen)) return -1;
    if (s->has_expect && (s->expect_delay_ms < 0 || s->expect_delay_ms > 3600000))
        return errf(err, errlen, "expect.delay_ms: %lld is out of range (0..3600000)",
                    (long long)s->expect_delay_ms);
    if (s->has_expect && (s->expect_workers < 1 || s->expect_workers > 1000000))
        return errf(err, errlen, "expect.workers: %lld is out of range (1..1000000)",
                    (long long)s->expect_workers);
    if (check_thresholds(&s->thresholds, err, errlen)) return -1;
    if (s->connections < 1 || s->connections > SPEC_MAX_CONNECTIONS)
        return errf(err, errlen, "connections: %lld is out of range (1..%d)",
                    (long long)s->connections, SPEC_MAX_CONNECTIONS);
    if (spec_tls_check(s->http, &s->tls, s->resolve, s->nresolve, err, errlen)) return -1;
    if (check_shards(s, err, errlen)) return -1;
    for (int i = 0; i < s->nmodes && !s->keepalive; i++)
        if (s->modes[i] == MODE_H2MUX)
            return errf(err, errlen,
                        "keepalive: h2mux multiplexes streams over connections it keeps open; "
                        "run it with keep-alive");
    return validate_outside_input(s, lim, err, errlen);
}

static int get_int(const cJSON *v, const char *path, int64_t *out, char *err, size_t errlen)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || floor(v->valuedouble) != v->valuedouble)
        return errf(err, errlen, "%s: must be a whole number", path);
    if (fabs(v->valuedouble) > 9e15) return errf(err, errlen, "%s: number out of range", path);
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int get_str(const cJSON *v, const char *path, char **out, char *err, size_t errlen)
{
    if (!cJSON_IsString(v)) return errf(err, errlen, "%s: must be a string", path);
    free(*out);
    *out = strdup(v->valuestring);
    return *out ? 0 : errf(err, errlen, "%s: out of memory", path);
}

static int parse_target(const cJSON *t, struct spec *s, char *err, size_t errlen)
{
    if (!cJSON_IsObject(t)) return errf(err, errlen, "target: must be an object with a url");
    for (const cJSON *f = t->child; f; f = f->next) {
        const char *k = f->string;
        if (!strcmp(k, "url")) {
            if (get_str(f, "target.url", &s->url, err, errlen)) return -1;
        } else if (!strcmp(k, "method")) {
            if (get_str(f, "target.method", &s->method, err, errlen)) return -1;
            for (char *p = s->method; *p; p++)
                if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
        } else if (!strcmp(k, "body")) {
            if (cJSON_IsNull(f)) continue;
            if (get_str(f, "target.body", &s->body, err, errlen)) return -1;
        } else if (!strcmp(k, "headers")) {
            if (cJSON_IsNull(f)) continue;
            if (!cJSON_IsObject(f))
                return errf(err, errlen, "target.headers: must be an object of strings");
            if (s->headers) return errf(err, errlen, "target.headers: given twice");
            int n = cJSON_GetArraySize(f);
            if (n > 100) return errf(err, errlen, "target.headers: at most 100 headers");
            s->headers = calloc((size_t)n + 1, sizeof *s->headers);
            if (!s->headers) return errf(err, errlen, "target.headers: out of memory");
            for (const cJSON *h = f->child; h; h = h->next) {
                if (!cJSON_IsString(h))
                    return errf(err, errlen, "target.headers: the value of '%.60s' must be a string",
                                h->string);
                struct spec_header *sh = &s->headers[s->nheaders++];
                sh->name = strdup(h->string);
                sh->value = strdup(h->valuestring);
                if (!sh->name || !sh->value) return errf(err, errlen, "target.headers: out of memory");
            }
        } else if (!strcmp(k, "http")) {
            if (spec_http_parse(f, &s->http, err, errlen)) return -1;
        } else if (!strcmp(k, "tls")) {
            if (spec_tls_parse(f, &s->tls, err, errlen)) return -1;
        } else if (!strcmp(k, "resolve")) {
            if (spec_resolve_parse(f, &s->resolve, &s->nresolve, err, errlen)) return -1;
        } else {
            return errf(err, errlen,
                        "target.%.60s: unknown field (known: url, method, headers, body, http, "
                        "tls, resolve)",
                        k);
        }
    }
    if (!s->url) return errf(err, errlen, "target.url: required");
    return 0;
}

static int parse_modes(const cJSON *v, struct spec *s, char *err, size_t errlen)
{
    if (!cJSON_IsArray(v))
        return errf(err, errlen, "modes: must be a list of sync, threads, async, processes, h2mux");
    s->nmodes = 0;
    s->nclients = 0;
    for (const cJSON *m = v->child; m; m = m->next) {
        int id = cJSON_IsString(m) ? mode_from_name(m->valuestring) : -1;
        if (id < 0 && cJSON_IsString(m) && spec_client_add(s, m->valuestring, &id, err, errlen))
            return -1;
        if (id < 0)
            return errf(err, errlen,
                        "modes: unknown mode '%.40s' (known: sync, threads, async, processes, "
                        "h2mux)",
                        cJSON_IsString(m) ? m->valuestring : "(not a string)");
        for (int i = 0; i < s->nmodes; i++)
            if (s->modes[i] == (enum bench_mode)id)
                return errf(err, errlen, "modes: '%s' is listed twice", spec_mode_name(s, id));
        s->modes[s->nmodes++] = (enum bench_mode)id;
    }
    if (s->nmodes == 0) return errf(err, errlen, "modes: at least one mode is required");
    return 0;
}

/* `concurrency`: a whole number, or a list of them (a sweep); check_levels judges the values. */
static int parse_levels(const cJSON *v, struct spec *s, char *err, size_t errlen)
{
    if (!cJSON_IsArray(v)) {
        s->sweep = false;
        s->nlevels = 1;
        return get_int(v, "concurrency", &s->levels[0], err, errlen);
    }
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > SPEC_MAX_LEVELS)
        return errf(err, errlen, "concurrency: a sweep lists 1 to %d levels, got %d",
                    SPEC_MAX_LEVELS, n);
    s->sweep = true;
    s->nlevels = 0;
    for (const cJSON *e = v->child; e; e = e->next)
        if (get_int(e, "concurrency", &s->levels[s->nlevels++], err, errlen)) return -1;
    return 0;
}

static int parse_expect(const cJSON *v, struct spec *s, char *err, size_t errlen)
{
    if (cJSON_IsNull(v)) {
        s->has_expect = false;
        return 0;
    }
    if (!cJSON_IsObject(v))
        return errf(err, errlen, "expect: must be an object {\"delay_ms\": D, \"workers\": W}");
    const cJSON *d = NULL, *w = NULL;
    for (const cJSON *f = v->child; f; f = f->next) {
        if (!strcmp(f->string, "delay_ms")) d = f;
        else if (!strcmp(f->string, "workers")) w = f;
        else return errf(err, errlen, "expect.%.60s: unknown field (known: delay_ms, workers)", f->string);
    }
    if (!d) return errf(err, errlen, "expect.delay_ms: required");
    if (!w) return errf(err, errlen, "expect.workers: required");
    if (get_int(d, "expect.delay_ms", &s->expect_delay_ms, err, errlen) ||
        get_int(w, "expect.workers", &s->expect_workers, err, errlen))
        return -1;
    s->has_expect = true;
    return 0;
}

static int parse_fields(const cJSON *json, struct spec *s, char *err, size_t errlen)
{
    if (!cJSON_IsObject(json)) return errf(err, errlen, "spec: must be a JSON object");
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(json, "target");
    if (!target) return errf(err, errlen, "target.url: required");
    for (const cJSON *f = json->child; f; f = f->next) {
        const char *k = f->string;
        int rc = 0;
        if (!strcmp(k, "target")) {
            rc = parse_target(f, s, err, errlen);
        } else if (!strcmp(k, "requests")) {
            rc = get_int(f, "requests", &s->requests, err, errlen);
        } else if (!strcmp(k, "concurrency")) {
            rc = parse_levels(f, s, err, errlen);
        } else if (!strcmp(k, "connections")) {
            rc = get_int(f, "connections", &s->connections, err, errlen);
        } else if (!strcmp(k, "shards")) {
            if (!cJSON_IsNull(f)) rc = get_int(f, "shards", &s->shards, err, errlen);
        } else if (!strcmp(k, "work_us")) {
            rc = get_int(f, "work_us", &s->work_us, err, errlen);
        } else if (!strcmp(k, "expect")) {
            rc = parse_expect(f, s, err, errlen);
        } else if (!strcmp(k, "timeout_ms")) {
            rc = get_int(f, "timeout_ms", &s->timeout_ms, err, errlen);
        } else if (!strcmp(k, "modes")) {
            rc = parse_modes(f, s, err, errlen);
        } else if (!strcmp(k, "rate")) {
            if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble))
                rc = errf(err, errlen, "rate: must be a number (requests per second, 0 for no limit)");
            else
                s->rate = f->valuedouble;
        } else if (!strcmp(k, "keepalive")) {
            if (!cJSON_IsBool(f)) rc = errf(err, errlen, "keepalive: must be true or false");
            else s->keepalive = cJSON_IsTrue(f);
        } else if (!strcmp(k, "label")) {
            if (!cJSON_IsNull(f)) rc = get_str(f, "label", &s->label, err, errlen);
        } else if (!strcmp(k, "thresholds")) {
            rc = spec_thresholds_parse(f, &s->thresholds, err, errlen);
        } else {
            rc = errf(err, errlen, "%.60s: unknown field", k);
        }
        if (rc) return -1;
    }
    return 0;
}

int spec_from_json(const cJSON *json, const struct spec_limits *lim, struct spec *out, char *err,
                   size_t errlen)
{
    spec_init(out);
    if (json_guard_unique_keys(json, "spec", err, errlen) == 0 &&
        parse_fields(json, out, err, errlen) == 0) {
        if (!out->method) out->method = strdup("GET");
        if (!out->label) out->label = strdup("");
        if (!out->method || !out->label) {
            errf(err, errlen, "spec: out of memory");
        } else if (spec_validate(out, lim, err, errlen) == 0) {
            return 0;
        }
    }
    spec_free(out);
    return -1;
}

int spec_from_text(const char *text, const struct spec_limits *lim, struct spec *out, char *err,
                   size_t errlen)
{
    if (json_guard_text(text, strlen(text), SPEC_MAX_DEPTH, "spec", err, errlen)) {
        spec_init(out);
        spec_free(out);
        return -1;
    }
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithOpts(text, &end, 1); /* 1: nothing may follow the value */
    if (!json) {
        spec_init(out);
        spec_free(out);
        while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n') text++;
        if (!*text) return errf(err, errlen, "spec: the body is empty; send a JSON run spec");
        const char *at = cJSON_GetErrorPtr();
        return errf(err, errlen, "spec: invalid JSON near '%.20s'", at ? at : "");
    }
    int rc = spec_from_json(json, lim, out, err, errlen);
    cJSON_Delete(json);
    return rc;
}

cJSON *spec_to_json(const struct spec *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *t = cJSON_AddObjectToObject(o, "target");
    cJSON_AddStringToObject(t, "url", s->url ? s->url : "");
    cJSON_AddStringToObject(t, "method", s->method ? s->method : "GET");
    cJSON *h = cJSON_AddObjectToObject(t, "headers");
    for (int i = 0; i < s->nheaders; i++)
        cJSON_AddStringToObject(h, s->headers[i].name, s->headers[i].value);
    if (s->body) cJSON_AddStringToObject(t, "body", s->body);
    else cJSON_AddNullToObject(t, "body");
    spec_tls_to_json(t, s->http, &s->tls, s->resolve, s->nresolve);
    cJSON_AddNumberToObject(o, "requests", (double)s->requests);
    if (s->sweep) {
        cJSON *l = cJSON_AddArrayToObject(o, "concurrency");
        for (int k = 0; k < s->nlevels; k++)
            cJSON_AddItemToArray(l, cJSON_CreateNumber((double)s->levels[k]));
    } else {
        cJSON_AddNumberToObject(o, "concurrency", (double)s->levels[0]);
    }
    cJSON *m = cJSON_AddArrayToObject(o, "modes");
    for (int i = 0; i < s->nmodes; i++) cJSON_AddItemToArray(m, cJSON_CreateString(spec_mode_name(s, s->modes[i])));
    cJSON_AddNumberToObject(o, "timeout_ms", (double)s->timeout_ms);
    cJSON_AddNumberToObject(o, "rate", s->rate);
    cJSON_AddBoolToObject(o, "keepalive", s->keepalive);
    cJSON_AddStringToObject(o, "label", s->label ? s->label : "");
    cJSON_AddNumberToObject(o, "work_us", (double)s->work_us);
    cJSON_AddNumberToObject(o, "connections", (double)s->connections);
    if (s->shards > 0) cJSON_AddNumberToObject(o, "shards", (double)s->shards);
    if (s->has_expect) {
        cJSON *e = cJSON_AddObjectToObject(o, "expect");
        cJSON_AddNumberToObject(e, "delay_ms", (double)s->expect_delay_ms);
        cJSON_AddNumberToObject(e, "workers", (double)s->expect_workers);
    } else {
        cJSON_AddNullToObject(o, "expect");
    }
    thresholds_to_json(o, &s->thresholds);
    return o;
}

char *spec_to_text(const struct spec *s)
{
    cJSON *o = spec_to_json(s);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

int spec_copy(struct spec *dst, const struct spec *src)
{
    char *text = spec_to_text(src);
    if (!text) return -1;
    struct spec_limits lim;
    spec_limits_unbounded(&lim);
    char err[256];
    int rc = spec_from_text(text, &lim, dst, err, sizeof err);
    free(text);
    return rc;
}

/* scheme://host:port of a URL (default ports made explicit), lower-cased by curl; 0 or -1. */
static int url_origin(const char *url, char *out, size_t outlen, char **query)
{
    CURLU *u = curl_url();
    if (!u) return -1;
    char *scheme = NULL, *host = NULL, *port = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        snprintf(out, outlen, "%s://%s:%s", scheme, host, port);
        rc = 0;
        if (query && curl_url_get(u, CURLUPART_QUERY, query, 0) != CURLUE_OK) *query = NULL;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

int spec_expect_from_demo(struct spec *s, const char *demo_url, int64_t workers, int64_t delay_ms)
{
    if (s->has_expect || !demo_url || !s->url) return 0;
    char mine[600], demo[600];
    char *query = NULL;
    if (url_origin(demo_url, demo, sizeof demo, NULL) ||
        url_origin(s->url, mine, sizeof mine, &query) || strcmp(mine, demo)) {
        curl_free(query);
        return 0;
    }
    /* The demo target reads ?delay_ms=N itself, the last one winning; a malformed one makes it
     * answer 400, and then no model holds. */
    bool ok = true;
    for (char *save = NULL, *p = query ? strtok_r(query, "&", &save) : NULL; p;
         p = strtok_r(NULL, "&", &save)) {
        if (strncmp(p, "delay_ms", 8) || (p[8] != '=' && p[8] != '\0')) continue;
        char *end = NULL;
        const char *v = p[8] ? p + 9 : "";
        long long d = strtoll(v, &end, 10);
        if (!*v || *end || *v == '-' || *v == '+' || d > 3600000) ok = false;
        else delay_ms = d;
    }
    curl_free(query);
    if (!ok) return 0;
    s->has_expect = true;
    s->expect_workers = workers;
    s->expect_delay_ms = delay_ms;
    return 1;
}
