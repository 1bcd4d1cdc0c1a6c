/* Shards' arithmetic and a part's writing (part.h); part_read.c reads, part_merge.c merges. */
#include "part.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

int64_t part_share(int64_t total, int64_t i, int64_t n)
{
    if (n <= 0 || i < 0 || i >= n || total <= 0) return 0;
    return total / n + (i < total % n ? 1 : 0);
}

int64_t part_lane_offset(int64_t c, int64_t i, int64_t n)
{
    if (n <= 0 || i <= 0) return 0;
    return i * (c / n) + (i < c % n ? i : c % n);
}

int part_parse_shard(const char *text, const char *what, int64_t *i, int64_t *n, char *err,
                     size_t errlen)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    if (!slash || slash == text || !slash[1])
        return errf(err, errlen, "%s: expected i/n (shard i of n, 0 ≤ i < n), got '%.40s'", what,
                    text ? text : "");
    char a[32];
    if ((size_t)(slash - text) >= sizeof a)
        return errf(err, errlen, "%s: '%.40s' is not i/n", what, text);
    snprintf(a, sizeof a, "%.*s", (int)(slash - text), text);
    if (parse_int64(slash + 1, what, 1, PART_MAX_SHARDS, n, err, errlen)) return -1;
    if (parse_int64(a, what, 0, PART_MAX_SHARDS, i, err, errlen)) return -1;
    if (*i >= *n)
        return errf(err, errlen, "%s: shard %" PRId64 " of %" PRId64 " does not exist (0 ≤ i < n)",
                    what, *i, *n);
    return 0;
}

int part_point_spec(const struct spec *s, int k, struct spec *out)
{
    spec_init(out);
    if (k < 0 || k >= s->nlevels * s->nmodes || spec_copy(out, s)) return -1;
    out->levels[0] = s->levels[k / s->nmodes];
    out->nlevels = 1;
    out->sweep = false;
    out->modes[0] = s->modes[k % s->nmodes];
    out->nmodes = 1;
    out->shards = 0;
    return 0;
}

void part_spec_hash(const char *spec_text, char out[17])
{
    uint64_t h = 14695981039346656037ull;
    for (const unsigned char *p = (const unsigned char *)spec_text; p && *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    snprintf(out, 17, "%016" PRIx64, h);
}

int part_init(struct part *p, const struct spec *s, int64_t i, int64_t n, bool rows)
{
    memset(p, 0, sizeof *p);
    spec_init(&p->spec);
    if (spec_copy(&p->spec, s)) return -1;
    p->spec_text = spec_to_text(&p->spec);
    if (!p->spec_text) return -1;
    part_spec_hash(p->spec_text, p->spec_hash);
    p->shard = i;
    p->shards = n;
    p->rows = rows;
    return 0;
}

struct part_point *part_add_point(struct part *p)
{
    struct part_point *pts = realloc(p->points, (size_t)(p->npoints + 1) * sizeof *pts);
    if (!pts) return NULL;
    p->points = pts;
    struct part_point *pt = &pts[p->npoints++];
    memset(pt, 0, sizeof *pt);
    pt->slot_wall_us = -1;
    /* zero-filled blocks are empty histograms */
    pt->hist_ok = calloc(1, sizeof *pt->hist_ok);
    pt->hist_all = calloc(1, sizeof *pt->hist_all);
    pt->hist_due = calloc(1, sizeof *pt->hist_due);
    if (!pt->hist_ok || !pt->hist_all || !pt->hist_due) return NULL;
    return pt;
}

int part_point_set_msgs(struct part_point *pt, const char *const *text, int32_t n)
{
    pt->msgs = calloc((size_t)n + 1, sizeof *pt->msgs);
    pt->msg_count = calloc((size_t)n + 1, sizeof *pt->msg_count);
    pt->msg_kind = calloc((size_t)n + 1, sizeof *pt->msg_kind);
    if (!pt->msgs || !pt->msg_count || !pt->msg_kind) return -1;
    for (; pt->nmsgs < n; pt->nmsgs++)
        if (!(pt->msgs[pt->nmsgs] = strdup(text[pt->nmsgs] ? text[pt->nmsgs] : ""))) return -1;
    return 0;
}

int64_t part_elapsed_all(const struct bench_record *r, int64_t timeout_ms)
{
    int64_t elapsed = r->start_us >= 0 && r->end_us >= r->start_us ? r->end_us - r->start_us : 0;
    if (r->err_kind == REQ_ERR_TIMEOUT && elapsed < timeout_ms * 1000) elapsed = timeout_ms * 1000;
    return elapsed;
}

void part_point_count(struct part_point *pt, const struct bench_record *r, int64_t timeout_ms,
                      double rate)
{
    histogram_add(pt->hist_all, part_elapsed_all(r, timeout_ms));
    if (r->err_kind == REQ_OK) {
        histogram_add(pt->hist_ok, r->end_us - r->start_us);
        if (rate > 0) histogram_add(pt->hist_due, r->end_us - r->sched_us);
        return;
    }
    int kind = r->err_kind > 0 && r->err_kind < REQ_ERR_COUNT ? r->err_kind : REQ_ERR_OTHER;
    if (r->msg >= 0 && r->msg < pt->nmsgs) {
        if (pt->msg_count[r->msg]++ == 0) pt->msg_kind[r->msg] = kind;
    } else {
        pt->unmessaged[kind]++;
    }
}

void part_free(struct part *p)
{
    for (int k = 0; k < p->npoints; k++) {
        struct part_point *pt = &p->points[k];
        for (int32_t j = 0; j < pt->nmsgs; j++)
            free(pt->msgs[j]);
        free(pt->msgs);
        free(pt->msg_count);
        free(pt->msg_kind);
        free(pt->recs);
        free(pt->hist_ok);
        free(pt->hist_all);
        free(pt->hist_due);
    }
    free(p->points);
    free(p->spec_text);
    spec_free(&p->spec);
    memset(p, 0, sizeof *p);
}

/* Writes a cJSON item unformatted; returns 0 or -1. */
static int put_json(FILE *f, cJSON *j)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text) return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    free(text);
    return rc;
}

/* An integer as an exact JSON number (cJSON would print a large one as 1.79e+15). */
static void add_int(cJSON *o, const char *key, int64_t v)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, v);
    cJSON_AddRawToObject(o, key, text);
}

/* The point without its records, as an object. */
static cJSON *point_json(const struct part_point *pt)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "mode", mode_name(pt->mode));
    cJSON_AddNumberToObject(o, "concurrency", (double)pt->level);
    cJSON_AddNumberToObject(o, "shard_concurrency", (double)pt->shard_concurrency);
    cJSON_AddNumberToObject(o, "lane_offset", (double)pt->lane_offset);
    add_int(o, "requests", pt->requests);
    add_int(o, "ok", pt->ok);
    add_int(o, "errors", pt->errors);
    add_int(o, "bytes", pt->bytes);
    cJSON *k = cJSON_AddObjectToObject(o, "errors_by_kind");
    for (int e = 1; e < REQ_ERR_COUNT; e++)
        if (pt->errors_by_kind[e])
            cJSON_AddNumberToObject(k, req_error_name(e), (double)pt->errors_by_kind[e]);
    add_int(o, "connections", pt->connections);
    cJSON *hv = cJSON_AddArrayToObject(o, "http_versions");
    for (int v = 0; v < 4; v++) cJSON_AddItemToArray(hv, cJSON_CreateNumber((double)pt->http_versions[v]));
    cJSON_AddNumberToObject(o, "lanes", (double)pt->lanes);
    cJSON_AddNumberToObject(o, "wall_ms", round3(pt->wall_ms));
    cJSON *c = cJSON_AddObjectToObject(o, "cpu_ms");
    cJSON_AddNumberToObject(c, "user", round3(pt->cpu_user_ms));
    cJSON_AddNumberToObject(c, "sys", round3(pt->cpu_sys_ms));
    cJSON_AddNumberToObject(o, "peak_rss_kb", (double)pt->peak_rss_kb);
    cJSON_AddNumberToObject(o, "workers_rss_kb", (double)pt->workers_rss_kb);
    cJSON_AddBoolToObject(o, "cancelled", pt->cancelled);
    add_int(o, "started_wall_us", pt->started_wall_us);
    if (pt->slot_wall_us >= 0) {
        add_int(o, "slot_wall_us", pt->slot_wall_us);
        add_int(o, "skew_us", pt->started_wall_us - pt->slot_wall_us);
    } else {
        cJSON_AddNullToObject(o, "slot_wall_us");
        cJSON_AddNullToObject(o, "skew_us");
    }
    cJSON *h = cJSON_AddObjectToObject(o, "histograms");
    const struct histogram *hs[] = {pt->hist_ok, pt->hist_all, pt->hist_due};
    const char *names[] = {"ok", "all", "due"};
    for (int i = 0; i < 3; i++) {
        char *text = histogram_encode(hs[i]);
        if (!text) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddStringToObject(h, names[i], text);
        free(text);
    }
    cJSON *m = cJSON_AddArrayToObject(o, "messages");
    cJSON *mc = cJSON_AddArrayToObject(o, "message_counts");
    cJSON *mk = cJSON_AddArrayToObject(o, "message_kinds");
    for (int32_t j = 0; j < pt->nmsgs; j++) {
        cJSON_AddItemToArray(m, cJSON_CreateString(pt->msgs[j]));
        cJSON_AddItemToArray(mc, cJSON_CreateNumber((double)pt->msg_count[j]));
        cJSON_AddItemToArray(mk, cJSON_CreateString(req_error_name(pt->msg_kind[j])));
    }
    cJSON *u = cJSON_AddObjectToObject(o, "unmessaged_by_kind");
    for (int e = 1; e < REQ_ERR_COUNT; e++)
        if (pt->unmessaged[e])
            cJSON_AddNumberToObject(u, req_error_name(e), (double)pt->unmessaged[e]);
    return o;
}

/* The point: its object with a "records" array streamed in before the closing brace. */
static int write_point(FILE *f, const struct part_point *pt, bool rows)
{
    cJSON *o = point_json(pt);
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) return -1;
    size_t len = strlen(text);
    text[len - 1] = '\0'; /* drop the closing brace */
    int rc = fputs(text, f) < 0 ? -1 : 0;
    free(text);
    if (rc) return -1;
    if (rows) {
        fputs(",\"records\":[", f);
        for (int64_t i = 0; i < pt->nrecs; i++) {
            const struct bench_record *r = &pt->recs[i];
            fprintf(f,
                    "%s\n[%" PRId64 ",%d,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                    ",%d,%" PRId64 ",%d,%d,%" PRId64 ",%d,%d,%d]",
                    i ? "," : "", r->seq, r->lane, r->sched_us, r->start_us, r->connect_us,
                    r->ttfb_us, r->end_us, r->status, r->bytes, r->err_kind, r->msg, r->tls_us,
                    r->conn, r->http_version, r->reused);
        }
        fputs("]", f);
    }
    return fputs("}", f) < 0 ? -1 : 0;
}

int part_write(FILE *f, const struct part *p, char *err, size_t errlen)
{
    cJSON *spec = spec_to_json(&p->spec);
    int rc = fprintf(f, "{\"conlab_part\":%d,\"spec\":", PART_FORMAT) < 0 ? -1 : 0;
    if (!rc) rc = put_json(f, spec);
    if (!rc)
        rc = fprintf(f,
                     ",\"spec_hash\":\"%s\",\"shard\":%" PRId64 ",\"shards\":%" PRId64
                     ",\"rows\":%s,\"points\":[",
                     p->spec_hash, p->shard, p->shards, p->rows ? "true" : "false") < 0
                 ? -1
                 : 0;
    for (int k = 0; !rc && k < p->npoints; k++) {
        if (k) fputc(',', f);
        fputc('\n', f);
        rc = write_point(f, &p->points[k], p->rows);
    }
    if (!rc) rc = fputs("]}\n", f) < 0 ? -1 : 0;
    if (!rc) rc = fflush(f) ? -1 : 0;
    if (rc || ferror(f))
        return errf(err, errlen, "writing the part: %s", errno ? strerror(errno) : "write error");
    return 0;
}
