/* One shard of a run (shard.h): the engine runs the shard's share of each point; its records go
 * into a part with the spec's seqs, and the part is written once every point has run. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"
#include "part.h"
#include "report.h"
#include "run_start.h"
#include "result_json.h"
#include "shard.h"
#include "util.h"

void shard_opts_init(struct shard_opts *o)
{
    memset(o, 0, sizeof *o);
    o->start_at_ms = -1;
    const char *t = getenv("CONLAB_TOKEN");
    if (t) snprintf(o->token, sizeof o->token, "%s", t);
}

int shard_option(struct shard_opts *o, int id, const char *flag, const char *v, char *err,
                 size_t errlen)
{
    o->given = true;
    switch (id) {
    case SHARD_OPT_SHARD:
        return part_parse_shard(v, flag, &o->index, &o->count, err, errlen);
    case SHARD_OPT_OUT:
        if (!*v) return errf(err, errlen, "%s: needs a file name", flag);
        o->out = v;
        return 0;
    case SHARD_OPT_ROWS:
        if (!strcmp(v, "none"))
            o->no_rows = true;
        else if (!strcmp(v, "all"))
            o->no_rows = false;
        else
            return errf(err, errlen, "%s: 'all' or 'none', got '%.40s'", flag, v);
        return 0;
    case SHARD_OPT_JOIN:
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
            return errf(err, errlen, "%s: the dashboard's URL (http://HOST:PORT/), got '%.80s'",
                        flag, v);
        o->join = v;
        return 0;
    case SHARD_OPT_RUN:
        if (!*v || strlen(v) > 32 || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(v))
            return errf(err, errlen, "%s: a run id (letters and digits), got '%.40s'", flag, v);
        o->run = v;
        return 0;
    case SHARD_OPT_TOKEN_FILE: {
        FILE *f = fopen(v, "r");
        if (!f) return errf(err, errlen, "%s: cannot read %s: %s", flag, v, strerror(errno));
        bool got = fgets(o->token, sizeof o->token, f) != NULL;
        fclose(f);
        size_t n = got ? strlen(o->token) : 0;
        while (n && strchr(" \t\r\n", o->token[n - 1])) o->token[--n] = '\0';
        if (!n) return errf(err, errlen, "%s: %s holds no token on its first line", flag, v);
        o->token_file = true;
        return 0;
    }
    case SHARD_OPT_START_AT:
        return parse_int64(v, flag, 0, INT64_MAX / 4000, &o->start_at_ms, err, errlen);
    default:
        return parse_int64(v, flag, 1, 86400000, &o->slot_ms, err, errlen);
    }
}

int shard_join_check(const struct shard_opts *o, bool spec_flags, char *err, size_t errlen)
{
    if (!o->join) {
        if (o->run) return errf(err, errlen, "--run: only with --join URL");
        if (o->token_file) return errf(err, errlen, "--token-file: only with --join URL");
        return 0;
    }
    if (!o->run) return errf(err, errlen, "--run: required with --join (the run's id)");
    if (!o->count) return errf(err, errlen, "--shard: required with --join (i/n)");
    if (o->out || o->start_at_ms >= 0 || o->slot_ms)
        return errf(err, errlen, "%s: not with --join (the dashboard merges the run and gives "
                    "the start)", o->out ? "--out" : o->start_at_ms >= 0 ? "--start-at"
                                                                         : "--mode-slot-ms");
    if (spec_flags)
        return errf(err, errlen, "--join: the spec comes from the dashboard's run: give no "
                                 "workload flags (--url, --requests, --modes, ...)");
    return 0;
}

int shard_check(const struct shard_opts *o, const struct spec *s, const char *other, char *err,
                size_t errlen)
{
    if (!o->given) return 0;
    if (!o->count)
        return errf(err, errlen, "%s: only with --shard i/n",
                    o->out                ? "--out"
                    : o->start_at_ms >= 0 ? "--start-at"
                    : o->slot_ms          ? "--mode-slot-ms"
                                          : "--rows");
    if (other)
        return errf(err, errlen,
                    "%s: not with --shard (a shard writes a part; `conlab merge "
                    "--db` stores the merged run)",
                    other);
    if (o->slot_ms && o->start_at_ms < 0)
        return errf(err, errlen, "--mode-slot-ms: only with --start-at");
    if (o->start_at_ms >= 0 && !o->slot_ms && s->nlevels * s->nmodes > 1)
        return errf(err, errlen,
                    "--start-at: needs --mode-slot-ms S when the run has more than "
                    "one mode or level (point k starts at EPOCH_MS + k × S)");
    return spec_check_split(s, o->count, "--shard", err, errlen);
}

/* What the sink fills while the shard runs. */
struct shard_sink {
    const struct shard_opts *o;
    const struct spec *spec;
    struct part_point *pt;
    int64_t t0_mono; /* the mode's start, from its last tick */
    int failed;
};

static void on_tick(void *ctx, const struct bench_tick *t)
{
    struct shard_sink *k = ctx;
    k->t0_mono = clock_us() - t->elapsed_us;
}

/* Records arrive in local seqs 0..N_i-1: the spec's seq of local k is i + k × n. */
static void on_records(void *ctx, enum bench_mode mode, const struct bench_record *r, size_t n,
                       const struct record_msgs *msgs)
{
    (void)mode;
    struct shard_sink *k = ctx;
    struct part_point *pt = k->pt;
    if (k->failed) return;
    if (!pt->msgs && part_point_set_msgs(pt, msgs ? msgs->text : NULL, msgs ? msgs->n : 0))
        goto oom;
    for (size_t j = 0; j < n; j++)
        part_point_count(pt, &r[j], k->spec->timeout_ms, k->spec->rate);
    if (k->o->no_rows) return;
    struct bench_record *recs = realloc(pt->recs, (size_t)(pt->nrecs + (int64_t)n) * sizeof *recs);
    if (!recs) goto oom;
    pt->recs = recs;
    for (size_t j = 0; j < n; j++) {
        struct bench_record x = r[j];
        x.seq = k->o->index + x.seq * k->o->count;
        if (x.msg >= pt->nmsgs) x.msg = -1;
        pt->recs[pt->nrecs++] = x;
    }
    return;
oom:
    k->failed = 1;
}

/* Sleeps until wall-clock µs `when` (or a cancel). */
static void sleep_until_wall(int64_t when)
{
    struct timespec ts = {.tv_sec = when / 1000000, .tv_nsec = (when % 1000000) * 1000};
    while (!bench_cancel_flag && clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void fill_point(struct part_point *pt, const struct mode_result *res)
{
    pt->ok = res->ok;
    pt->errors = res->errors;
    pt->bytes = res->bytes;
    pt->connections = res->connections;
    memcpy(pt->http_versions, res->http_versions, sizeof pt->http_versions);
    memcpy(pt->errors_by_kind, res->errors_by_kind, sizeof pt->errors_by_kind);
    pt->lanes = res->lanes;
    pt->wall_ms = res->wall_ms;
    pt->cpu_user_ms = res->cpu_user_ms;
    pt->cpu_sys_ms = res->cpu_sys_ms;
    pt->peak_rss_kb = res->peak_rss_kb;
    pt->workers_rss_kb = res->workers_rss_kb;
    pt->cancelled = res->cancelled != 0;
}

int shard_run_point(const struct spec *s, const struct spec *local, const struct shard_opts *o,
                    struct part *p, enum bench_mode mode, int64_t level, int64_t slot_wall_us,
                    struct mode_result *res, char *err, size_t errlen)
{
    struct shard_sink k = {.o = o, .spec = s};
    struct bench_sink sink = {&k, NULL, on_tick, on_records, NULL};
    struct part_point *pt = part_add_point(p);
    if (!pt) return errf(err, errlen, "out of memory");
    k.pt = pt;
    pt->mode = mode;
    pt->level = level;
    pt->shard_concurrency = part_share(level, o->index, o->count);
    pt->lane_offset = mode == MODE_SYNC ? o->index : part_lane_offset(level, o->index, o->count);
    pt->requests = local->requests;
    pt->slot_wall_us = slot_wall_us;
    if (slot_wall_us >= 0) sleep_until_wall(slot_wall_us);
    if (bench_cancel_flag) return errf(err, errlen, "interrupted");
    int64_t wall0 = wallclock_us(), mono0 = clock_us();
    k.t0_mono = mono0;
    bench_set_shard(o->index, o->count);
    int rc = bench_run_mode(local, mode, pt->shard_concurrency, &sink, res, err, errlen);
    bench_set_shard(0, 1);
    if (rc) return -1;
    if (k.failed) return errf(err, errlen, "keeping the shard's records: out of memory");
    pt->started_wall_us = wall0 + (k.t0_mono - mono0);
    fill_point(pt, res);
    return 0;
}

/* Runs every point of the shard into part p; results[] gets the shard's own RESULTs. */
static int run_points(const struct spec *s, struct spec *local, const struct shard_opts *o,
                      struct part *p, struct mode_result *results, int *nresults, char *err,
                      size_t errlen)
{
    int idx = 0;
    for (int l = 0; l < s->nlevels && !bench_cancel_flag; l++) {
        for (int m = 0; m < s->nmodes && !bench_cancel_flag; m++, idx++) {
            enum bench_mode mode = s->modes[m];
            int64_t level = s->levels[l], slot = -1;
            if (o->start_at_ms >= 0) {
                slot = (o->start_at_ms + (int64_t)idx * o->slot_ms) * 1000;
                if (idx > 0 && wallclock_us() > slot)
                    return errf(err, errlen,
                                "%s at concurrency %" PRId64 " overran its slot: the next mode's "
                                "slot began %.1f ms before it ended; give a longer --mode-slot-ms "
                                "(now %" PRId64 ")",
                                mode_name(results[*nresults - 1].mode),
                                results[*nresults - 1].concurrency,
                                (double)(wallclock_us() - slot) / 1000.0, o->slot_ms);
            }
            struct mode_result *res = &results[*nresults];
            if (shard_run_point(s, local, o, p, mode, level, slot, res, err, errlen)) {
                if (bench_cancel_flag) break;
                return -1;
            }
            (*nresults)++;
        }
    }
    if (!bench_cancel_flag && o->start_at_ms >= 0 && o->slot_ms && *nresults > 0) {
        int64_t end = (o->start_at_ms + (int64_t)idx * o->slot_ms) * 1000;
        if (wallclock_us() > end)
            return errf(err, errlen,
                        "%s at concurrency %" PRId64 " overran its slot of %" PRId64
                        " ms; give a longer --mode-slot-ms",
                        mode_name(results[*nresults - 1].mode), results[*nresults - 1].concurrency,
                        o->slot_ms);
    }
    return 0;
}

/* Writes the part to FILE.tmp, then renames it: a shard that dies leaves no part. */
static int write_part(const struct part *p, const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return errf(err, errlen, "--out: the file name is too long");
    FILE *f = fopen(tmp, "w");
    if (!f) return errf(err, errlen, "--out: cannot write %s: %s", tmp, strerror(errno));
    char werr[256];
    int rc = part_write(f, p, werr, sizeof werr);
    if (fclose(f) && !rc) rc = errf(werr, sizeof werr, "closing: %s", strerror(errno));
    if (!rc && rename(tmp, path)) rc = errf(werr, sizeof werr, "renaming: %s", strerror(errno));
    if (rc) {
        unlink(tmp);
        return errf(err, errlen, "--out %s: %s", path, werr);
    }
    return 0;
}

static void print_results(const struct spec *local, const struct shard_opts *o,
                          const struct mode_result *results, int n, bool json)
{
    if (!json) {
        printf("shard %" PRId64 " of %" PRId64 ": ", o->index, o->count);
        report_table(stdout, local, results, n);
        if (o->out) printf("part written to %s\n", o->out);
        return;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "shard", (double)o->index);
    cJSON_AddNumberToObject(doc, "shards", (double)o->count);
    cJSON_AddItemToObject(doc, "spec", spec_to_json(local));
    cJSON *list = cJSON_AddArrayToObject(doc, "results");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(list, result_to_json(&results[i]));
    char *text = cJSON_Print(doc);
    if (text) printf("%s\n", text);
    free(text);
    cJSON_Delete(doc);
}

int shard_run(const struct spec *s, const struct shard_opts *o, bool json, char *err, size_t errlen,
              int *exit_code)
{
    struct part p;
    struct spec local;
    spec_init(&local);
    if (part_init(&p, s, o->index, o->count, !o->no_rows) || spec_copy(&local, s)) {
        part_free(&p);
        return errf(err, errlen, "out of memory");
    }
    local.requests = part_share(s->requests, o->index, o->count);
    int npoints = s->nlevels * s->nmodes, nresults = 0, rc = -1;
    struct mode_result *results = calloc((size_t)npoints, sizeof *results);
    if (!results) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    if (run_start(err, errlen)) goto out;
    int brc = run_points(s, &local, o, &p, results, &nresults, err, errlen);
    curl_global_cleanup();
    if (brc) goto out;
    print_results(&local, o, results, nresults, json);
    fflush(stdout);
    if (bench_cancel_flag) {
        *exit_code = 130;
        rc = 0;
        goto out;
    }
    if (o->out && write_part(&p, o->out, err, errlen)) goto out;
    *exit_code = 0;
    rc = 0;
out:
    free(results);
    spec_free(&local);
    part_free(&p);
    return rc;
}
