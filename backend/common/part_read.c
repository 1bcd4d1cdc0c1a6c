/* Reading a part file (part.h): a file from another machine, so nothing in it is trusted. Every
 * field is checked for presence, type and range, and every count against what the spec and the
 * records say; a message names the file and the field at fault. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include "json_guard.h"
#include "part.h"
#include "part_rows.h"
#include "util.h"

#define PART_MAX_DEPTH 6
#define INT_MAXV 9007199254740991.0 /* 2^53 − 1: the largest integer a JSON number keeps exact */

struct rd {
    const char *path;
    char *err;
    size_t errlen;
};

static int bad(struct rd *r, const char *fmt, const char *field, const char *why)
{
    char msg[300];
    snprintf(msg, sizeof msg, fmt, field, why);
    return errf(r->err, r->errlen, "%s: %s", r->path, msg);
}

static const cJSON *field(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* An integer field in [min, max]. */
static int get_i64(struct rd *r, const cJSON *o, const char *key, const char *where, int64_t min,
                   int64_t max, int64_t *out)
{
    const cJSON *v = field(o, key);
    char name[160];
    snprintf(name, sizeof name, "%s%s", where, key);
    if (!v) return bad(r, "%s: %s", name, "missing");
    if (!cJSON_IsNumber(v)) return bad(r, "%s: %s", name, "must be a number");
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || fabs(d) > INT_MAXV)
        return bad(r, "%s: %s", name, "must be an integer");
    if (d < (double)min || d > (double)max) return bad(r, "%s: %s", name, "out of range");
    *out = (int64_t)d;
    return 0;
}

static int get_num(struct rd *r, const cJSON *o, const char *key, const char *where, double *out)
{
    const cJSON *v = field(o, key);
    char name[160];
    snprintf(name, sizeof name, "%s%s", where, key);
    if (!v) return bad(r, "%s: %s", name, "missing");
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 1e15)
        return bad(r, "%s: %s", name, "must be a number ≥ 0");
    *out = v->valuedouble;
    return 0;
}

static int read_file(struct rd *r, char **out, size_t *len)
{
    FILE *f = fopen(r->path, "rb");
    if (!f) return errf(r->err, r->errlen, "%s: cannot read: %s", r->path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= PART_MAX_BYTES) {
                free(buf);
                fclose(f);
                return errf(r->err, r->errlen, "%s: larger than %zu bytes", r->path,
                            PART_MAX_BYTES);
            }
            char *b = realloc(buf, cap * 2);
            if (!b) break;
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(f) || !buf;
    fclose(f);
    if (failed) {
        free(buf);
        return errf(r->err, r->errlen, "%s: cannot read (or out of memory)", r->path);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* One record: [seq, lane, sched, start, connect, ttfb, end, status, bytes, kind, msg]. */
/* A row cJSON parsed (when part_rows_cut could not take it) as integers. */
static int row_from_json(struct rd *r, const cJSON *a, int64_t idx, int64_t v[PART_ROW_FIELDS])
{
    char where[64];
    snprintf(where, sizeof where, "records[%" PRId64 "]", idx);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != PART_ROW_FIELDS)
        return bad(r, "%s: %s", where, "must be an array of 15 integers");
    int i = 0;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : NAN;
        if (!isfinite(d) || d != floor(d) || fabs(d) > INT_MAXV)
            return bad(r, "%s: %s", where, "must be an array of 15 integers");
        v[i] = (int64_t)d;
    }
    return 0;
}

static int read_record(struct rd *r, const int64_t v[PART_ROW_FIELDS], const struct part *p,
                       const struct part_point *pt, int64_t idx, struct bench_record *rec)
{
    char where[64];
    snprintf(where, sizeof where, "records[%" PRId64 "]", idx);
    int64_t n = p->spec.requests;
    if (v[0] < 0 || v[0] >= n || v[0] % p->shards != p->shard)
        return bad(r, "%s: %s", where, "seq is not one of this shard's requests");
    if (v[1] < -1 || v[1] >= pt->lanes) return bad(r, "%s: %s", where, "lane out of range");
    for (int t = 2; t <= 6; t++)
        if (v[t] < -1) return bad(r, "%s: %s", where, "a time below -1");
    if (v[7] < 0 || v[7] > 999) return bad(r, "%s: %s", where, "status out of range");
    if (v[8] < 0) return bad(r, "%s: %s", where, "bytes below 0");
    if (v[9] < 0 || v[9] >= REQ_ERR_COUNT) return bad(r, "%s: %s", where, "unknown error kind");
    if (v[10] < -1 || v[10] >= pt->nmsgs)
        return bad(r, "%s: %s", where, "message index out of range");
    if (v[11] < -1) return bad(r, "%s: %s", where, "tls_us below -1");
    if (v[12] < -1 || v[12] > INT32_MAX) return bad(r, "%s: %s", where, "conn out of range");
    if (v[13] != 0 && record_http_version_slot((int)v[13]) < 0)
        return bad(r, "%s: %s", where, "unknown http_version");
    if (v[14] < -1 || v[14] > 1) return bad(r, "%s: %s", where, "reused must be -1, 0 or 1");
    if (v[9] == REQ_OK && (v[3] < 0 || v[6] < v[3]))
        return bad(r, "%s: %s", where, "an ok request needs start_us ≤ end_us");
    *rec = (struct bench_record){.seq = v[0],
                                 .lane = (int32_t)v[1],
                                 .sched_us = v[2],
                                 .start_us = v[3],
                                 .connect_us = v[4],
                                 .ttfb_us = v[5],
                                 .end_us = v[6],
                                 .status = (int32_t)v[7],
                                 .bytes = v[8],
                                 .err_kind = (int32_t)v[9],
                                 .msg = (int32_t)v[10],
                                 .tls_us = v[11],
                                 .conn = (int32_t)v[12],
                                 .http_version = (int16_t)v[13],
                                 .reused = (int8_t)v[14]};
    return 0;
}

/* The records of a point: one per seq of the shard, adding up to the point's counters. */
static int read_records(struct rd *r, const cJSON *recs, const struct part_rows *rows,
                        const struct part *p, struct part_point *pt)
{
    if (!cJSON_IsArray(recs)) return bad(r, "%s: %s", "records", "must be an array (rows: true)");
    /* cut out of the text (its place holds []), or else parsed by cJSON */
    bool cut = rows && rows->found && !recs->child;
    int64_t n = cut ? rows->n : cJSON_GetArraySize(recs);
    if (n != pt->requests)
        return bad(r, "%s: %s", "records", "their number is not the point's requests");
    pt->recs = calloc((size_t)(n ? n : 1), sizeof *pt->recs);
    unsigned char *seen = calloc((size_t)(n ? n : 1), 1);
    if (!pt->recs || !seen) {
        free(seen);
        return bad(r, "%s: %s", "records", "out of memory");
    }
    int64_t ok = 0, errors = 0, bytes = 0, kinds[REQ_ERR_COUNT] = {0}, conns = 0, versions[4] = {0};
    const cJSON *a = cut ? NULL : recs->child;
    for (int64_t i = 0; i < n; i++, a = a ? a->next : NULL) {
        struct bench_record *rec = &pt->recs[i];
        int64_t v[PART_ROW_FIELDS];
        if ((!cut && row_from_json(r, a, i, v)) ||
            read_record(r, cut ? rows->v[i] : v, p, pt, i, rec)) {
            free(seen);
            return -1;
        }
        int64_t k = (rec->seq - p->shard) / p->shards;
        if (k >= n || seen[k]) {
            free(seen);
            return bad(r, "%s: %s", "records",
                       "a seq is given twice or lies beyond the shard's share");
        }
        seen[k] = 1;
        if (rec->reused == 0) conns++;
        int hv = record_http_version_slot(rec->http_version);
        if (hv >= 0) versions[hv]++;
        if (rec->err_kind == REQ_OK)
            ok++;
        else
            errors++, kinds[rec->err_kind]++;
        bytes += rec->bytes;
    }
    free(seen);
    pt->nrecs = n;
    if (conns != pt->connections || memcmp(versions, pt->http_versions, sizeof versions))
        return bad(r, "%s: %s", "records",
                   "do not add up to the point's connections/http_versions");
    if (ok != pt->ok || errors != pt->errors || bytes != pt->bytes ||
        memcmp(kinds + 1, pt->errors_by_kind + 1, sizeof(int64_t) * (REQ_ERR_COUNT - 1)))
        return bad(r, "%s: %s", "records",
                   "do not add up to the point's ok/errors/bytes/errors_by_kind");
    return 0;
}

static int read_counts(struct rd *r, const cJSON *o, struct part_point *pt)
{
    const int64_t MAXN = (int64_t)INT_MAXV;
    if (get_i64(r, o, "ok", "", 0, MAXN, &pt->ok) ||
        get_i64(r, o, "errors", "", 0, MAXN, &pt->errors) ||
        get_i64(r, o, "bytes", "", 0, MAXN, &pt->bytes) ||
        get_i64(r, o, "lanes", "", 1, MAXN, &pt->lanes) ||
        get_num(r, o, "wall_ms", "", &pt->wall_ms) ||
        get_i64(r, o, "peak_rss_kb", "", 0, MAXN, &pt->peak_rss_kb) ||
        get_i64(r, o, "workers_rss_kb", "", 0, MAXN, &pt->workers_rss_kb) ||
        get_i64(r, o, "started_wall_us", "", 0, MAXN, &pt->started_wall_us))
        return -1;
    if (get_i64(r, o, "connections", "", 0, MAXN, &pt->connections)) return -1;
    const cJSON *hv = field(o, "http_versions");
    if (!cJSON_IsArray(hv) || cJSON_GetArraySize(hv) != 4)
        return bad(r, "%s: %s", "http_versions", "must be an array of 4 counts");
    int64_t answers = 0;
    int vi = 0;
    for (const cJSON *e = hv->child; e; e = e->next, vi++) {
        double d = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!(d >= 0 && d <= INT_MAXV) || d != floor(d))
            return bad(r, "%s: %s", "http_versions", "each must be an integer ≥ 0");
        pt->http_versions[vi] = (int64_t)d;
        answers += pt->http_versions[vi];
    }
    const cJSON *cpu = field(o, "cpu_ms");
    if (!cJSON_IsObject(cpu)) return bad(r, "%s: %s", "cpu_ms", "must be an object");
    if (get_num(r, cpu, "user", "cpu_ms.", &pt->cpu_user_ms) ||
        get_num(r, cpu, "sys", "cpu_ms.", &pt->cpu_sys_ms))
        return -1;
    const cJSON *c = field(o, "cancelled");
    if (!cJSON_IsBool(c)) return bad(r, "%s: %s", "cancelled", "must be true or false");
    pt->cancelled = cJSON_IsTrue(c);
    const cJSON *slot = field(o, "slot_wall_us");
    if (!slot) return bad(r, "%s: %s", "slot_wall_us", "missing");
    pt->slot_wall_us = -1;
    if (!cJSON_IsNull(slot) && get_i64(r, o, "slot_wall_us", "", 0, MAXN, &pt->slot_wall_us))
        return -1;
    const cJSON *kinds = field(o, "errors_by_kind");
    if (!cJSON_IsObject(kinds)) return bad(r, "%s: %s", "errors_by_kind", "must be an object");
    int64_t sum = 0;
    for (const cJSON *k = kinds->child; k; k = k->next) {
        int e = req_error_from_name(k->string);
        if (e <= 0) return bad(r, "%s: %s", "errors_by_kind", "names an unknown error kind");
        if (get_i64(r, kinds, k->string, "errors_by_kind.", 0, MAXN, &pt->errors_by_kind[e]))
            return -1;
        sum += pt->errors_by_kind[e];
    }
    if (pt->ok + pt->errors != pt->requests)
        return bad(r, "%s: %s", "ok", "ok + errors is not the point's requests");
    if (sum != pt->errors) return bad(r, "%s: %s", "errors_by_kind", "does not sum to errors");
    if (answers > pt->requests || pt->connections > pt->requests)
        return bad(r, "%s: %s", "http_versions", "more answers or connections than requests");
    return 0;
}

static int read_messages(struct rd *r, const cJSON *o, struct part_point *pt)
{
    const cJSON *m = field(o, "messages"), *mc = field(o, "message_counts"),
                *mk = field(o, "message_kinds");
    if (!cJSON_IsArray(m)) return bad(r, "%s: %s", "messages", "must be an array of strings");
    int n = cJSON_GetArraySize(m);
    if (!cJSON_IsArray(mc) || cJSON_GetArraySize(mc) != n)
        return bad(r, "%s: %s", "message_counts", "must be an array with one count per message");
    if (!cJSON_IsArray(mk) || cJSON_GetArraySize(mk) != n)
        return bad(r, "%s: %s", "message_kinds", "must be an array with one kind per message");
    const char **text = calloc((size_t)n + 1, sizeof *text);
    if (!text) return bad(r, "%s: %s", "messages", "out of memory");
    int i = 0;
    for (const cJSON *e = m->child; e; e = e->next, i++) {
        if (!cJSON_IsString(e) || strlen(e->valuestring) >= RECORD_ERROR_MAX) {
            free(text);
            return bad(r, "%s: %s", "messages", "each must be a string of at most 199 bytes");
        }
        text[i] = e->valuestring;
    }
    int rc = part_point_set_msgs(pt, text, n);
    free(text);
    if (rc) return bad(r, "%s: %s", "messages", "out of memory");
    int64_t sum = 0;
    i = 0;
    for (const cJSON *c = mc->child, *k = mk->child; c && k; c = c->next, k = k->next, i++) {
        double d = cJSON_IsNumber(c) ? c->valuedouble : -1;
        int kind = cJSON_IsString(k) ? req_error_from_name(k->valuestring) : -1;
        if (!(d >= 0 && d <= INT_MAXV) || d != floor(d))
            return bad(r, "%s: %s", "message_counts", "each must be an integer ≥ 0");
        if (kind <= 0) return bad(r, "%s: %s", "message_kinds", "each must be an error kind");
        pt->msg_count[i] = (int64_t)d;
        pt->msg_kind[i] = kind;
        sum += pt->msg_count[i];
    }
    const cJSON *u = field(o, "unmessaged_by_kind");
    if (!cJSON_IsObject(u)) return bad(r, "%s: %s", "unmessaged_by_kind", "must be an object");
    for (const cJSON *k = u->child; k; k = k->next) {
        int e = req_error_from_name(k->string);
        if (e <= 0) return bad(r, "%s: %s", "unmessaged_by_kind", "names an unknown error kind");
        if (get_i64(r, u, k->string, "unmessaged_by_kind.", 0, (int64_t)INT_MAXV,
                    &pt->unmessaged[e]))
            return -1;
        sum += pt->unmessaged[e];
    }
    if (sum != pt->errors)
        return bad(r, "%s: %s", "message_counts",
                   "with unmessaged_by_kind, does not sum to errors");
    return 0;
}

/* The three histograms, each adding up to what the point counted. */
static int read_hists(struct rd *r, const cJSON *o, const struct part *p, struct part_point *pt)
{
    const cJSON *h = field(o, "histograms");
    if (!cJSON_IsObject(h)) return bad(r, "%s: %s", "histograms", "must be an object");
    const char *names[] = {"ok", "all", "due"};
    struct histogram *hs[] = {pt->hist_ok, pt->hist_all, pt->hist_due};
    int64_t want[] = {pt->ok, pt->requests, p->spec.rate > 0 ? pt->ok : 0};
    for (int i = 0; i < 3; i++) {
        const cJSON *t = field(h, names[i]);
        char name[32], herr[200];
        snprintf(name, sizeof name, "histograms.%s", names[i]);
        if (!cJSON_IsString(t)) return bad(r, "%s: %s", name, "must be a string");
        if (histogram_decode(t->valuestring, hs[i], herr, sizeof herr))
            return bad(r, "%s: %s", name, herr);
        if (histogram_count(hs[i]) != want[i])
            return bad(r, "%s: %s", name, "does not count the point's requests");
    }
    return 0;
}

static bool hist_equal(const struct histogram *a, const struct histogram *b)
{
    return a->count == b->count && a->min == b->min && a->max == b->max && a->sum == b->sum &&
           a->underflow == b->underflow && a->overflow == b->overflow &&
           !memcmp(a->counts, b->counts, sizeof a->counts);
}

/* With rows: the histograms and message counts must be those of the rows. */
static int check_against_rows(struct rd *r, const struct part *p, const struct part_point *pt)
{
    struct part_point x;
    memset(&x, 0, sizeof x);
    x.hist_ok = calloc(1, sizeof *x.hist_ok);
    x.hist_all = calloc(1, sizeof *x.hist_all);
    x.hist_due = calloc(1, sizeof *x.hist_due);
    x.msg_count = calloc((size_t)pt->nmsgs + 1, sizeof *x.msg_count);
    x.msg_kind = calloc((size_t)pt->nmsgs + 1, sizeof *x.msg_kind);
    x.nmsgs = pt->nmsgs;
    int rc = 0;
    if (!x.hist_ok || !x.hist_all || !x.hist_due || !x.msg_count || !x.msg_kind) {
        rc = bad(r, "%s: %s", "records", "out of memory");
        goto out;
    }
    for (int64_t i = 0; i < pt->nrecs; i++)
        part_point_count(&x, &pt->recs[i], p->spec.timeout_ms, p->spec.rate);
    if (!hist_equal(x.hist_ok, pt->hist_ok) || !hist_equal(x.hist_all, pt->hist_all) ||
        !hist_equal(x.hist_due, pt->hist_due))
        rc = bad(r, "%s: %s", "histograms", "are not those of the records");
    else if (memcmp(x.msg_count, pt->msg_count, (size_t)pt->nmsgs * sizeof *x.msg_count) ||
             memcmp(x.unmessaged, pt->unmessaged, sizeof x.unmessaged))
        rc = bad(r, "%s: %s", "message_counts", "are not those of the records");
out:
    free(x.hist_ok);
    free(x.hist_all);
    free(x.hist_due);
    free(x.msg_count);
    free(x.msg_kind);
    return rc;
}

/* Point k of the part: the spec's k-th (level, mode), the shard's share of it, adding up. */
static int read_point(struct rd *r, const cJSON *o, const struct part_rows_set *rows,
                      struct part *p, int k)
{
    struct part_point *pt = part_add_point(p);
    if (!pt) return bad(r, "%s: %s", "points", "out of memory");
    if (!cJSON_IsObject(o)) return bad(r, "%s: %s", "points", "each must be an object");
    int64_t level = p->spec.levels[k / p->spec.nmodes];
    int mode = p->spec.modes[k % p->spec.nmodes];
    const cJSON *m = field(o, "mode");
    if (!cJSON_IsString(m) || mode_from_name(m->valuestring) != mode)
        return bad(r, "%s: %s", "mode", "not the spec's mode at this position");
    pt->mode = mode;
    if (get_i64(r, o, "concurrency", "", 1, (int64_t)INT_MAXV, &pt->level)) return -1;
    if (pt->level != level)
        return bad(r, "%s: %s", "concurrency", "not the spec's level at this position");
    int64_t ci = part_share(level, p->shard, p->shards);
    if (get_i64(r, o, "shard_concurrency", "", ci, ci, &pt->shard_concurrency) ||
        get_i64(r, o, "requests", "", 0, (int64_t)INT_MAXV, &pt->requests))
        return -1;
    int64_t off = mode == MODE_SYNC ? p->shard : part_lane_offset(level, p->shard, p->shards);
    if (get_i64(r, o, "lane_offset", "", off, off, &pt->lane_offset)) return -1;
    if (pt->requests != part_share(p->spec.requests, p->shard, p->shards))
        return bad(r, "%s: %s", "requests", "not the shard's share of the spec's requests");
    if (read_counts(r, o, pt) || read_messages(r, o, pt) || read_hists(r, o, p, pt)) return -1;
    int64_t max_lanes = mode == MODE_SYNC ? 1 : ci;
    if (pt->lanes > max_lanes)
        return bad(r, "%s: %s", "lanes", "more than the shard's concurrency");
    const cJSON *recs = field(o, "records");
    const struct part_rows *cut = k < rows->npt ? &rows->pt[k] : NULL;
    if (p->rows) return read_records(r, recs, cut, p, pt) || check_against_rows(r, p, pt) ? -1 : 0;
    if (recs) return bad(r, "%s: %s", "records", "present although rows is false");
    return 0;
}

static int read_doc(struct rd *r, const cJSON *doc, const struct part_rows_set *cut, struct part *p)
{
    int64_t fmt;
    if (!cJSON_IsObject(doc)) return bad(r, "%s: %s", "part", "must be a JSON object");
    char gerr[256];
    if (json_guard_unique_keys(doc, "part", gerr, sizeof gerr))
        return errf(r->err, r->errlen, "%s: %s", r->path, gerr);
    if (get_i64(r, doc, "conlab_part", "", PART_FORMAT, PART_FORMAT, &fmt)) return -1;
    struct spec_limits lim;
    spec_limits_unbounded(&lim);
    char serr[256];
    const cJSON *spec = field(doc, "spec");
    if (!cJSON_IsObject(spec)) return bad(r, "%s: %s", "spec", "missing or not an object");
    if (spec_from_json(spec, &lim, &p->spec, serr, sizeof serr))
        return bad(r, "%s: %s", "spec", serr);
    p->spec_text = spec_to_text(&p->spec);
    if (!p->spec_text) return bad(r, "%s: %s", "spec", "out of memory");
    part_spec_hash(p->spec_text, p->spec_hash);
    const cJSON *h = field(doc, "spec_hash");
    if (!cJSON_IsString(h) || strcmp(h->valuestring, p->spec_hash))
        return bad(r, "%s: %s", "spec_hash", "is not the hash of the spec");
    if (get_i64(r, doc, "shards", "", 1, PART_MAX_SHARDS, &p->shards) ||
        get_i64(r, doc, "shard", "", 0, p->shards - 1, &p->shard))
        return -1;
    if (spec_check_split(&p->spec, p->shards, "shards", serr, sizeof serr))
        return errf(r->err, r->errlen, "%s: %s", r->path, serr);
    const cJSON *rows = field(doc, "rows");
    if (!cJSON_IsBool(rows)) return bad(r, "%s: %s", "rows", "must be true or false");
    p->rows = cJSON_IsTrue(rows);
    const cJSON *pts = field(doc, "points");
    int want = p->spec.nlevels * p->spec.nmodes;
    if (!cJSON_IsArray(pts)) return bad(r, "%s: %s", "points", "must be an array");
    if (cJSON_GetArraySize(pts) != want)
        return bad(r, "%s: %s", "points",
                   "not one per mode and level of the spec (a shard cut short?)");
    int k = 0;
    for (const cJSON *o = pts->child; o; o = o->next, k++) {
        if (read_point(r, o, cut, p, k)) {
            /* name the point in front of the field */
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s", r->err);
            size_t plen = strlen(r->path);
            errf(r->err, r->errlen, "%s: points[%d].%s", r->path, k,
                 strncmp(tmp, r->path, plen) ? tmp : tmp + plen + 2);
            return -1;
        }
    }
    return 0;
}

int part_read_text(char *text, size_t len, const char *name, struct part *out, char *err,
                   size_t errlen)
{
    struct rd r = {name, err, errlen};
    memset(out, 0, sizeof *out);
    spec_init(&out->spec);
    int rc = -1;
    char gerr[256];
    cJSON *doc = NULL;
    struct part_rows_set rows = {0};
    if (json_guard_text(text, len, PART_MAX_DEPTH, "part", gerr, sizeof gerr)) {
        errf(err, errlen, "%s: %s", name, gerr);
        goto out;
    }
    if (part_rows_cut(text, len, &rows, gerr, sizeof gerr)) {
        errf(err, errlen, "%s: %s", name, gerr);
        goto out;
    }
    doc = cJSON_ParseWithOpts(text, NULL, 1);
    if (!doc) {
        const char *at = cJSON_GetErrorPtr();
        errf(err, errlen, "%s: not a part: invalid JSON near '%.20s'", name, at ? at : "");
        goto out;
    }
    rc = read_doc(&r, doc, &rows, out);
out:
    part_rows_free(&rows);
    cJSON_Delete(doc);
    if (rc) part_free(out);
    return rc;
}

int part_read(const char *path, struct part *out, char *err, size_t errlen)
{
    struct rd r = {path, err, errlen};
    memset(out, 0, sizeof *out);
    spec_init(&out->spec);
    char *text = NULL;
    size_t len = 0;
    if (read_file(&r, &text, &len)) return -1;
    int rc = part_read_text(text, len, path, out, err, errlen);
    free(text);
    return rc;
}
