/* `conlab run --join URL --run ID --shard i/n`: one shard of a run the dashboard coordinates
 * (docs/API.md, "Shards"). It joins (and gets the spec), then for each point waits at the
 * barrier, runs its share at the common start (shard_run_point), uploads its part of the point;
 * at the end it asks how the merged run ended. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"
#include "part.h"
#include "report.h"
#include "run_start.h"
#include "shard.h"
#include "util.h"

#define JOIN_RETRY_US                                                                              \
    500000 /* a barrier that says "wait" is asked again at once (it long-polls);                   \
            * an unreachable dashboard twice a second at most */

struct http_buf {
    char *data;
    size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    struct http_buf *b = ctx;
    size_t add = size * n;
    if (b->len + add > (size_t)16 << 20) return 0; /* the dashboard's answers are small */
    char *grown = realloc(b->data, b->len + add + 1);
    if (!grown) return 0;
    memcpy(grown + b->len, p, add);
    b->len += add;
    grown[b->len] = '\0';
    b->data = grown;
    return add;
}

struct joiner {
    const struct shard_opts *o;
    char base[2048]; /* URL/api/runs/ID/ */
    char auth[4200]; /* Authorization: Bearer TOKEN, or "" */
    bool has_offset;
    double offset_ms; /* this clock − the dashboard's, from the latest timed answer */
};

/* NTP's estimate from one exchange: sent at t0, answered at t1 (this clock), read at recv and
 * answered at reply (the dashboard's, in the answer). */
static void take_offset(struct joiner *j, double t0, double t1, const cJSON *reply)
{
    const cJSON *recv = cJSON_GetObjectItemCaseSensitive(reply, "recv_ms");
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(reply, "reply_ms");
    if (!cJSON_IsNumber(recv) || !cJSON_IsNumber(rep)) return;
    j->offset_ms = -((recv->valuedouble - t0) + (rep->valuedouble - t1)) / 2.0;
    j->has_offset = true;
}

/* POSTs body to base + path; *reply gets the JSON answer (NULL when it was not JSON) and
 * *status the HTTP status (0: the dashboard could not be reached). Returns 0, or -1 with err
 * when the request could not be made. */
static int post(const struct joiner *j, const char *path, const char *body, size_t len,
                long timeout_s, long *status, cJSON **reply, char *err, size_t errlen)
{
    char url[2300];
    snprintf(url, sizeof url, "%s%s", j->base, path);
    CURL *h = curl_easy_init();
    if (!h) return errf(err, errlen, "libcurl: out of memory");
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (j->auth[0]) hdr = curl_slist_append(hdr, j->auth);
    struct http_buf b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    *status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    *reply = NULL;
    if (rc != CURLE_OK) {
        free(b.data);
        return errf(err, errlen, "--join %s: %s", url, curl_easy_strerror(rc));
    }
    *reply = b.data ? cJSON_Parse(b.data) : NULL;
    free(b.data);
    return 0;
}

/* The dashboard's error text of a refused request. */
static const char *error_text(const cJSON *reply)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    return cJSON_IsString(e) ? e->valuestring : "no reason given";
}

/* A request that was not answered 200: err says why; 2 when the dashboard refused the join
 * (4xx: a wrong token, run or shard), 1 otherwise (once joined, a refusal means the run ended
 * or moved on without this shard). */
static int refused(long status, const cJSON *reply, const char *what, char *err, size_t errlen)
{
    errf(err, errlen, "%s: the dashboard answered %ld: %s", what, status, error_text(reply));
    return !strcmp(what, "--join") && status >= 400 && status < 500 ? 2 : 1;
}

static int post_json(const struct joiner *j, const char *path, cJSON *body, long timeout_s,
                     long *status, cJSON **reply, char *err, size_t errlen)
{
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) return errf(err, errlen, "out of memory");
    int rc = post(j, path, text, strlen(text), timeout_s, status, reply, err, errlen);
    free(text);
    return rc;
}

/* Waits at the barrier of point k (k == points: the end); *out gets the answer that is not
 * "wait". Returns 0, or an exit code (1, 2) with err. */
static int barrier(struct joiner *j, int k, cJSON **out, char *err, size_t errlen)
{
    for (;;) {
        if (bench_cancel_flag) return errf(err, errlen, "interrupted"), 130;
        cJSON *b = cJSON_CreateObject();
        cJSON_AddNumberToObject(b, "shard", (double)j->o->index);
        cJSON_AddNumberToObject(b, "point", k);
        double t0_ms = (double)wallclock_us() / 1000.0;
        cJSON_AddNumberToObject(b, "clock_ms", t0_ms);
        if (j->has_offset) cJSON_AddNumberToObject(b, "offset_ms", j->offset_ms);
        long status;
        cJSON *reply;
        int64_t t0 = clock_us();
        if (post_json(j, "barrier", b, 30, &status, &reply, err, errlen)) {
            /* a dashboard briefly unreachable is asked again, twice a second at most */
            int64_t left = JOIN_RETRY_US - (clock_us() - t0);
            if (left > 0) usleep((useconds_t)left);
            continue;
        }
        if (status != 200) {
            int code = refused(status, reply, "barrier", err, errlen);
            cJSON_Delete(reply);
            return code;
        }
        take_offset(j, t0_ms, (double)wallclock_us() / 1000.0, reply);
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "wait"))) {
            *out = reply;
            return 0;
        }
        cJSON_Delete(reply);
    }
}

/* Runs point k at start_ms and uploads its part. Returns 0 or an exit code with err. */
static int run_point(const struct joiner *j, const struct spec *s, int k, int64_t start_ms,
                     struct mode_result *res, char *err, size_t errlen)
{
    const struct shard_opts *o = j->o;
    struct spec ps, local;
    struct part p;
    memset(&p, 0, sizeof p);
    spec_init(&local);
    if (part_point_spec(s, k, &ps) || spec_copy(&local, &ps) ||
        part_init(&p, &ps, o->index, o->count, !o->no_rows)) {
        spec_free(&ps);
        spec_free(&local);
        part_free(&p);
        return errf(err, errlen, "out of memory"), 1;
    }
    local.requests = part_share(s->requests, o->index, o->count);
    int code = 0;
    if (shard_run_point(&ps, &local, o, &p, ps.modes[0], ps.levels[0], start_ms * 1000, res, err,
                        errlen)) {
        code = bench_cancel_flag ? 130 : 1;
        goto out;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    char werr[256];
    if (!f || part_write(f, &p, werr, sizeof werr)) {
        if (f) fclose(f);
        free(text);
        code = 1;
        errf(err, errlen, "writing the part of point %d: %s", k, f ? werr : "out of memory");
        goto out;
    }
    fclose(f);
    char path[80];
    snprintf(path, sizeof path, "results?shard=%" PRId64 "&point=%d", o->index, k);
    long status;
    cJSON *reply = NULL;
    if (post(j, path, text, len, 600, &status, &reply, err, errlen))
        code = 1;
    else if (status != 200)
        code = refused(status, reply, "results", err, errlen);
    if (bench_cancel_flag) { /* the part says it was cut short: the dashboard ends the run partial */
        code = 130;
        errf(err, errlen, "interrupted during point %d: its part went to the dashboard marked "
                          "cut short", k);
    }
    cJSON_Delete(reply);
    free(text);
out:
    part_free(&p);
    spec_free(&ps);
    spec_free(&local);
    return code;
}

/* Joins: *spec gets the run's spec. Returns 0 or an exit code with err. */
static int join(struct joiner *j, struct spec *spec, char *err, size_t errlen)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddNumberToObject(b, "shard", (double)j->o->index);
    cJSON_AddNumberToObject(b, "shards", (double)j->o->count);
    long status;
    cJSON *reply;
    double t0 = (double)wallclock_us() / 1000.0;
    if (post_json(j, "join", b, 30, &status, &reply, err, errlen)) return 1;
    take_offset(j, t0, (double)wallclock_us() / 1000.0, reply);
    if (status != 200) {
        int code = refused(status, reply, "--join", err, errlen);
        cJSON_Delete(reply);
        return code;
    }
    struct spec_limits lim; /* the dashboard validated it under its own limits */
    spec_limits_unbounded(&lim);
    char serr[300];
    int rc = spec_from_json(cJSON_GetObjectItemCaseSensitive(reply, "spec"), &lim, spec, serr,
                            sizeof serr);
    cJSON_Delete(reply);
    if (rc) return errf(err, errlen, "--join: the dashboard's spec: %s", serr), 1;
    return 0;
}

/* Prints the shard's own points and how the run ended. */
static void print_end(const struct joiner *j, const struct spec *s, const struct mode_result *res,
                      int n, const cJSON *end, bool json)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(end, "status");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(end, "message");
    if (json) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddNumberToObject(doc, "shard", (double)j->o->index);
        cJSON_AddNumberToObject(doc, "shards", (double)j->o->count);
        cJSON_AddStringToObject(doc, "run", j->o->run);
        cJSON_AddItemToObject(doc, "run_end", cJSON_Duplicate(end, 1));
        char *text = cJSON_Print(doc);
        if (text) printf("%s\n", text);
        free(text);
        cJSON_Delete(doc);
        return;
    }
    printf("shard %" PRId64 " of %" PRId64 " of run %s: ", j->o->index, j->o->count, j->o->run);
    report_table(stdout, s, res, n);
    printf("run %s: %s%s%s\n", j->o->run, cJSON_IsString(st) ? st->valuestring : "?",
           cJSON_IsString(msg) && msg->valuestring[0] ? ": " : "",
           cJSON_IsString(msg) ? msg->valuestring : "");
}

int shard_join(const struct shard_opts *o, bool json, char *err, size_t errlen, int *exit_code)
{
    struct joiner j = {.o = o};
    size_t ul = strlen(o->join);
    snprintf(j.base, sizeof j.base, "%s%sapi/runs/%s/", o->join,
             ul && o->join[ul - 1] == '/' ? "" : "/", o->run);
    if (o->token[0]) snprintf(j.auth, sizeof j.auth, "Authorization: Bearer %s", o->token);
    if (run_start(err, errlen)) return -1;
    struct spec s;
    spec_init(&s);
    struct mode_result *res = NULL;
    int code = join(&j, &s, err, errlen), n = 0;
    int npoints = s.nlevels * s.nmodes;
    if (!code && !(res = calloc((size_t)npoints, sizeof *res))) code = 1;
    for (int k = 0; !code && k < npoints; k++) {
        cJSON *go = NULL;
        if ((code = barrier(&j, k, &go, err, errlen))) break;
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(go, "start_at_ms");
        int64_t start_ms = cJSON_IsNumber(at) ? (int64_t)at->valuedouble : -1;
        cJSON_Delete(go);
        if (start_ms < 0) {
            code = 1;
            errf(err, errlen, "barrier: the dashboard gave no start_at_ms");
            break;
        }
        if ((code = run_point(&j, &s, k, start_ms, &res[n], err, errlen))) break;
        n++;
    }
    cJSON *end = NULL;
    if (!code && !(code = barrier(&j, npoints, &end, err, errlen))) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(end, "status");
        print_end(&j, &s, res, n, end, json);
        if (!cJSON_IsString(st) || strcmp(st->valuestring, "done")) {
            code = 1;
            errf(err, errlen, "run %s ended %s", o->run,
                 cJSON_IsString(st) ? st->valuestring : "without a status");
        } else {
            code = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(end, "crossed")) ? 3 : 0;
        }
    }
    cJSON_Delete(end);
    free(res);
    spec_free(&s);
    curl_global_cleanup();
    *exit_code = code;
    return 0;
}
