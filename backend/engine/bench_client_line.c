/* A client's stdout lines, checked one at a time (docs/CLIENTS.md, "Trust nothing"): the JSON
 * shape of each line, and the rules one line can break on its own (seq, lane, times). The
 * rules of the whole (every seq, the accounting, the exit) are bench_client.c's. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "bench_client.h"
#include "bench_dispatch.h"
#include "bench_log.h"
#include "json_guard.h"
#include "utf8.h"
#include "util.h"

/* Fails the run with `rule`: "rule 'R': line L: WHY; the line: TEXT". Returns -1. */
int client_fail(struct client_run *r, const char *rule, const char *line, size_t len,
                const char *fmt, ...)
{
    if (r->failed) return -1;
    r->failed = true;
    snprintf(r->rule, sizeof r->rule, "%s", rule);
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (line) {
        char shown[121];
        size_t n = len < sizeof shown - 1 ? len : sizeof shown - 1;
        memcpy(shown, line, n);
        shown[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)shown[i] < 0x20) shown[i] = ' ';
        utf8_clean(shown);
        snprintf(r->failure, sizeof r->failure,
                 "%s broke the client protocol, rule '%s': line %lld: %s; the line: %s%s", r->name,
                 rule, (long long)r->nlines, why, shown, len > n ? "..." : "");
    } else {
        snprintf(r->failure, sizeof r->failure, "%s broke the client protocol, rule '%s': %s",
                 r->name, rule, why);
    }
    return -1;
}

/* A whole number (within ±2^53) in a field: 1 with *out set, 0 for null/absent (when allowed),
 * -1 for anything else. */
static int get_int(const cJSON *o, const char *key, bool nullable, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return nullable ? 0 : -1;
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(fabs(d) <= 9007199254740992.0) || d != floor(d)) return -1;
    *out = (int64_t)d;
    return 1;
}

/* Every key of o is one of `known` (NULL-terminated), each once. */
static const char *unknown_key(const cJSON *o, const char *const *known)
{
    for (const cJSON *f = o->child; f; f = f->next) {
        bool ok = false;
        for (int i = 0; known[i] && !ok; i++)
            ok = !strcmp(f->string, known[i]);
        if (!ok) return f->string;
    }
    return NULL;
}

#define FIELD(what) client_fail(r, "field", line, len, "%s", what)

static int on_hello(struct client_run *r, const cJSON *o, const char *line, size_t len, int64_t now)
{
    static const char *const known[] = {"hello", "t_us", NULL};
    const char *bad = unknown_key(o, known);
    if (bad) return client_fail(r, "field", line, len, "unknown field '%.40s' in the hello", bad);
    if (r->hello) return client_fail(r, "hello", line, len, "a second hello");
    /* The contract's hello is {"hello": ...}: any value; a string is kept as its text. */
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(o, "hello");
    int64_t t = now;
    int given = get_int(o, "t_us", true, &t);
    if (given < 0)
        return client_fail(r, "hello", line, len,
                           "'t_us' must be an integer: when the client became ready "
                           "(CLOCK_MONOTONIC µs)");
    if (given && (t < r->spawn_us || t > now))
        return client_fail(
            r, "hello", line, len,
            "t_us %lld is not between the spawn (%lld) and the moment the line was read (%lld)",
            (long long)t, (long long)r->spawn_us, (long long)now);
    snprintf(r->hello_text, sizeof r->hello_text, "%s", cJSON_IsString(h) ? h->valuestring : "");
    utf8_clean(r->hello_text);
    r->hello = true;
    r->hello_read_us = now;
    /* Without t_us, t0 is the moment the hello was read; a request the client started between
     * printing its hello and conlab reading it (at most CLIENT_HELLO_SLACK_US before) counts
     * from t0, so that a client that follows the contract's minimal hello is not refused for
     * conlab's own reading delay. */
    r->t0_given = given == 1;
    r->c->t0 = t;
    return 0;
}

static int on_done(struct client_run *r, const cJSON *o, const char *line, size_t len)
{
    static const char *const known[] = {"done", "ok", "errors", NULL};
    const char *bad = unknown_key(o, known);
    if (bad) return client_fail(r, "field", line, len, "unknown field '%.40s' in done", bad);
    int64_t n = -1, ok = -1, errors = -1;
    if (get_int(o, "done", false, &n) < 0) return FIELD("'done' must be an integer");
    int gok = get_int(o, "ok", true, &ok), gerr = get_int(o, "errors", true, &errors);
    if (gok < 0 || gerr < 0) return FIELD("'ok' and 'errors' must be integers");
    if (n != r->n)
        return client_fail(r, "accounting", line, len, "done says %lld requests, the spec has %lld",
                           (long long)n, (long long)r->n);
    if (gok && gerr && ok + errors != n)
        return client_fail(r, "accounting", line, len, "ok %lld + errors %lld != requests %lld",
                           (long long)ok, (long long)errors, (long long)n);
    if ((gok && ok != r->ok) || (gerr && errors != r->errors))
        return client_fail(r, "accounting", line, len,
                           "done claims ok %lld, errors %lld; the lines have ok %lld, errors %lld",
                           (long long)(gok ? ok : r->ok), (long long)(gerr ? errors : r->errors),
                           (long long)r->ok, (long long)r->errors);
    r->done = true;
    return 0;
}

static const char *const client_kinds[] = {"ok", "connect", "timeout", "reset", "status", "other"};

static int on_request(struct client_run *r, const cJSON *o, const char *line, size_t len,
                      int64_t now)
{
    static const char *const known[] = {"seq",        "lane",    "start_us", "end_us",
                                        "connect_us", "ttfb_us", "status",   "bytes",
                                        "error_kind", "error",   NULL};
    const char *bad = unknown_key(o, known);
    if (bad) return client_fail(r, "field", line, len, "unknown field '%.40s'", bad);
    int64_t seq, lane, start, end, conn = -1, ttfb = -1, status = 0, bytes = 0;
    if (get_int(o, "seq", false, &seq) < 0) return FIELD("'seq' is missing or not an integer");
    if (get_int(o, "lane", false, &lane) < 0) return FIELD("'lane' is missing or not an integer");
    if (get_int(o, "start_us", false, &start) < 0 || get_int(o, "end_us", false, &end) < 0)
        return FIELD("'start_us' and 'end_us' must be integers (CLOCK_MONOTONIC µs)");
    if (get_int(o, "connect_us", true, &conn) < 0 || get_int(o, "ttfb_us", true, &ttfb) < 0)
        return FIELD("'connect_us' and 'ttfb_us' must be integers or null");
    if (get_int(o, "status", true, &status) < 0 || status < 0 || status > 999)
        return FIELD("'status' must be an integer 0..999 or null");
    if (get_int(o, "bytes", true, &bytes) < 0 || bytes < 0)
        return FIELD("'bytes' must be a non-negative integer or null");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "error_kind");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (k && !cJSON_IsNull(k) && !cJSON_IsString(k))
        return FIELD("'error_kind' must be a string or null");
    if (e && !cJSON_IsNull(e) && !cJSON_IsString(e))
        return FIELD("'error' must be a string or null");
    int kind = -1; /* -1: decided from the status */
    if (cJSON_IsString(k)) {
        for (int i = 0; i < (int)(sizeof client_kinds / sizeof client_kinds[0]); i++)
            if (!strcmp(k->valuestring, client_kinds[i]))
                kind = i == 0 ? REQ_OK : req_error_from_name(client_kinds[i]);
        if (kind < 0)
            return client_fail(
                r, "field", line, len,
                "error_kind '%.40s' is not one of connect, timeout, reset, status, other",
                k->valuestring);
    }
    bool status_ok = status >= 200 && status < 400;
    if (kind == REQ_OK && !status_ok)
        return client_fail(r, "field", line, len, "error_kind 'ok' with status %lld",
                           (long long)status);
    if (kind < 0) kind = status_ok ? REQ_OK : status > 0 ? REQ_ERR_STATUS : REQ_ERR_OTHER;

    if (seq < 0 || seq >= r->n)
        return client_fail(r, "seq", line, len, "seq %lld is outside 0..%lld", (long long)seq,
                           (long long)(r->n - 1));
    if (r->seq_line[seq])
        return client_fail(r, "seq", line, len, "seq %lld given twice (first on line %d)",
                           (long long)seq, r->seq_line[seq]);
    if (lane < 0 || lane >= r->conc)
        return client_fail(r, "lane", line, len, "lane %lld is outside 0..%lld (concurrency %lld)",
                           (long long)lane, (long long)(r->conc - 1), (long long)r->conc);
    if (end < start)
        return client_fail(r, "times", line, len, "end_us %lld is before start_us %lld",
                           (long long)end, (long long)start);
    if (!r->t0_given && start < r->c->t0 && start >= r->c->t0 - CLIENT_HELLO_SLACK_US &&
        start >= r->spawn_us) {
        if (conn >= 0 && conn < r->c->t0) conn = r->c->t0;
        if (ttfb >= 0 && ttfb < r->c->t0) ttfb = r->c->t0;
        start = r->c->t0;
        if (end < start) end = start;
    }
    if (start < r->c->t0 || end > now)
        return client_fail(
            r, "times", line, len,
            "the request (%lld..%lld µs) is outside the mode (hello at %lld, line read at %lld)",
            (long long)start, (long long)end, (long long)r->c->t0, (long long)now);
    if ((conn >= 0 && (conn < start || conn > end)) || (ttfb >= 0 && (ttfb < start || ttfb > end)))
        return client_fail(r, "times", line, len,
                           "connect_us or ttfb_us is outside start_us..end_us");

    r->seq_line[seq] = (int32_t)r->nlines;
    struct bench_record rec = {0};
    rec.seq = seq;
    rec.lane = (int32_t)lane;
    rec.sched_us = bench_due(r->c, seq);
    rec.start_us = start - r->c->t0;
    rec.end_us = end - r->c->t0;
    rec.connect_us = conn >= 0 ? conn - r->c->t0 : -1;
    rec.ttfb_us = ttfb >= 0 ? ttfb - r->c->t0 : -1;
    rec.status = (int32_t)status;
    rec.bytes = bytes;
    rec.err_kind = kind;
    char msg[RECORD_ERROR_MAX] = "";
    if (cJSON_IsString(e) && kind != REQ_OK) {
        snprintf(msg, sizeof msg, "%s", e->valuestring);
        utf8_clean(msg);
    }
    bench_log_put(r->c, &r->c->sh->logs[0], &rec, msg);
    if (kind == REQ_OK)
        r->ok++;
    else
        r->errors++;
    if (end > r->max_end) r->max_end = end;
    if (lane > r->max_lane) r->max_lane = lane;
    return 0;
}

int client_line(struct client_run *r, const char *line, size_t len, int64_t now)
{
    r->nlines++;
    if (r->done) return client_fail(r, "flood", line, len, "a line after done");
    if (r->nlines > r->n + 2)
        return client_fail(r, "flood", line, len, "more than requests + 2 = %lld lines",
                           (long long)(r->n + 2));
    char why[200];
    if (json_guard_text(line, len, 2, "line", why, sizeof why))
        return client_fail(r, "json", line, len, "%s", why);
    cJSON *o = cJSON_ParseWithLengthOpts(line, len + 1, NULL, 1); /* line[len] is its NUL */
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return client_fail(r, "json", line, len, "not one JSON object");
    }
    int rc;
    if (json_guard_unique_keys(o, "line", why, sizeof why))
        rc = client_fail(r, "field", line, len, "%s", why);
    else if (cJSON_GetObjectItemCaseSensitive(o, "hello"))
        rc = on_hello(r, o, line, len, now);
    else if (!r->hello)
        rc = client_fail(r, "hello", line, len, "the first line must be the hello");
    else if (cJSON_GetObjectItemCaseSensitive(o, "done"))
        rc = on_done(r, o, line, len);
    else
        rc = on_request(r, o, line, len, now);
    cJSON_Delete(o);
    return rc;
}
