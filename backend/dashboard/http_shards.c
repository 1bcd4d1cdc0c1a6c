/* The shards' endpoints (docs/API.md, "Shards"): join, barrier, results. Thin: the body is read
 * and checked here, the coordinator (coord.h) does the rest. */
#include "http_shards.h"

#include <civetweb.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "coord.h"
#include "http_json.h"
#include "util.h"

#define BARRIER_WAIT_MS 10000 /* a barrier request waits this long at most, then says "wait" */

/* Reads a small JSON object body into *out. Answers and returns its status when it cannot. */
static int read_object(struct mg_connection *c, cJSON **out)
{
    char err[256], *body;
    size_t len;
    int status;
    *out = NULL;
    if (http_read_body(c, HTTP_BODY_MAX, &body, &len, &status, err, sizeof err))
        return http_reply_error(c, status, "%s", err);
    cJSON *o = memchr(body, '\0', len) ? NULL : cJSON_ParseWithOpts(body, NULL, 1);
    free(body);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return http_reply_error(c, 400, "body: must be a JSON object");
    }
    *out = o;
    return 0;
}

/* A whole number field of o in [min, max]; required unless def is given (has_def). Answers 400
 * naming it and returns the status when it is not. */
static int int_field(struct mg_connection *c, const cJSON *o, const char *key, int64_t min,
                     int64_t max, bool has_def, int64_t def, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char msg[160];
    if (!v && has_def) {
        *out = def;
        return 0;
    }
    if (!v) {
        snprintf(msg, sizeof msg, "%s: required", key);
        return http_reply_field_error(c, 400, msg, key);
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        floor(v->valuedouble) != v->valuedouble || v->valuedouble < (double)min ||
        v->valuedouble > (double)max) {
        snprintf(msg, sizeof msg, "%s: must be a whole number in %lld..%lld", key, (long long)min,
                 (long long)max);
        return http_reply_field_error(c, 400, msg, key);
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

/* A 200 answer carries the dashboard's clock when it read the request and when it answers
 * (wall-clock ms), so that the shard can tell its clock's offset from the round trip. */
static int reply_timed(struct mg_connection *c, int status, cJSON *reply, double recv_ms)
{
    if (status == 200 && reply) {
        cJSON_AddNumberToObject(reply, "recv_ms", recv_ms);
        cJSON_AddNumberToObject(reply, "reply_ms", (double)wallclock_us() / 1000.0);
    }
    return http_reply_json(c, status, reply);
}

int http_shard_join(struct mg_connection *c, struct coord *co, const char *id)
{
    double recv_ms = (double)wallclock_us() / 1000.0;
    cJSON *o;
    int rc = read_object(c, &o);
    if (rc) return rc;
    int64_t shard, shards;
    if ((rc = int_field(c, o, "shard", 0, INT32_MAX, false, 0, &shard)) ||
        (rc = int_field(c, o, "shards", 1, INT32_MAX, false, 0, &shards))) {
        cJSON_Delete(o);
        return rc;
    }
    cJSON_Delete(o);
    cJSON *reply = NULL;
    int status = coord_join(co, id, shard, shards, &reply);
    return reply_timed(c, status, reply, recv_ms);
}

int http_shard_barrier(struct mg_connection *c, struct coord *co, const char *id)
{
    double recv_ms = (double)wallclock_us() / 1000.0;
    cJSON *o;
    int rc = read_object(c, &o);
    if (rc) return rc;
    int64_t shard, point, wait_ms;
    if ((rc = int_field(c, o, "shard", 0, INT32_MAX, false, 0, &shard)) ||
        (rc = int_field(c, o, "point", 0, INT32_MAX, false, 0, &point)) ||
        (rc = int_field(c, o, "wait_ms", 0, BARRIER_WAIT_MS, true, BARRIER_WAIT_MS, &wait_ms))) {
        cJSON_Delete(o);
        return rc;
    }
    const cJSON *clock = cJSON_GetObjectItemCaseSensitive(o, "clock_ms");
    double clock_ms = -1;
    if (clock && (!cJSON_IsNumber(clock) || !(clock->valuedouble > 0))) {
        cJSON_Delete(o);
        return http_reply_field_error(c, 400,
                                      "clock_ms: must be the shard's wall clock, ms since "
                                      "the epoch",
                                      "clock_ms");
    }
    if (clock) clock_ms = clock->valuedouble;
    /* offset_ms: the shard's clock − the dashboard's as the shard measured it over an earlier
     * round trip (recv_ms, reply_ms); it leaves out the network's delay that clock_ms holds. */
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(o, "offset_ms");
    if (off && (!cJSON_IsNumber(off) || !(fabs(off->valuedouble) < 1e12))) {
        cJSON_Delete(o);
        return http_reply_field_error(c, 400, "offset_ms: must be a number of ms", "offset_ms");
    }
    double skew_ms = off ? off->valuedouble : clock ? clock_ms - recv_ms : NAN;
    cJSON_Delete(o);
    cJSON *reply = NULL;
    int status = coord_barrier(co, id, shard, point, skew_ms, wait_ms, &reply);
    return reply_timed(c, status, reply, recv_ms);
}

int http_shard_results(struct mg_connection *c, struct coord *co, const char *id)
{
    char err[256] = "";
    int64_t shard, point;
    if (http_query_int(c, "shard", -1, 0, INT32_MAX, &shard, err, sizeof err) || shard < 0) {
        http_drain_body(c);
        return http_reply_field_error(c, 400, shard < 0 && !err[0] ? "shard: required" : err,
                                      "shard");
    }
    err[0] = '\0';
    if (http_query_int(c, "point", -1, 0, INT32_MAX, &point, err, sizeof err) || point < 0) {
        http_drain_body(c);
        return http_reply_field_error(c, 400, point < 0 && !err[0] ? "point: required" : err,
                                      "point");
    }
    char *body;
    size_t len;
    int status;
    if (http_read_body(c, coord_options(co)->upload_max, &body, &len, &status, err, sizeof err))
        return http_reply_error(c, status,
                                "part: %s (a point's records are sent in one part: "
                                "run the shard with --rows none, or raise the "
                                "dashboard's --shard-upload-mb)",
                                err);
    if (memchr(body, '\0', len)) {
        free(body);
        return http_reply_field_error(c, 400, "part: the body contains a NUL byte", "part");
    }
    cJSON *reply = NULL;
    status = coord_results(co, id, shard, point, body, len, &reply);
    free(body);
    return http_reply_json(c, status, reply);
}
