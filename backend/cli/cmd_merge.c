/* `conlab merge PART... [--db FILE] [--json]`: the parts of a sharded run (part.h) made into one
 * run, printed like `conlab run` prints one, and stored like one with --db. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "findings.h"
#include "part.h"
#include "report.h"
#include "result_json.h"
#include "recorder.h"
#include "store.h"
#include "util.h"
#include "verdict.h"

static const char usage_text[] =
    "usage: conlab merge PART... [--db FILE] [--json]\n"
    "\n"
    "Merges the parts written by `conlab run --shard i/n --out PART` (one per shard, in any\n"
    "order) into one run and prints it as `conlab run` does, with each shard's start skew.\n"
    "Counts are summed; percentiles come from the union of every shard's requests (exact);\n"
    "wall time runs from the common start to the last shard's end; lanes are renumbered\n"
    "(a shard's lane l is lane offset + l, the offset being the lanes of the shards before it);\n"
    "seq is the spec's. Parts of different specs, a missing or duplicated shard, or a part\n"
    "that does not add up are refused (exit 2, naming the problem).\n"
    "\n"
    "  --db FILE   also store the merged run in the dashboard's SQLite database\n"
    "  --json      print {\"spec\", \"results\", \"findings\", \"verdict\", \"shards\"}\n"
    "\n"
    "Exit status: 0 merged, 3 a threshold of the spec crossed, 2 bad arguments or parts, 1 a\n"
    "failure of conlab itself (storing).\n";

/* The per-shard view of each point: start, skew, throughput, cost. */
static cJSON *shards_json(const struct merged *m)
{
    cJSON *list = cJSON_CreateArray();
    for (int k = 0; k < m->npoints; k++) {
        const struct merged_point *mp = &m->points[k];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "mode", mode_name(mp->res.mode));
        cJSON_AddNumberToObject(o, "concurrency", (double)mp->res.concurrency);
        char iso[32];
        iso8601_utc(mp->common_start_us, iso);
        cJSON_AddStringToObject(o, "started_at", iso);
        cJSON_AddNumberToObject(o, "start_skew_ms", round3(mp->start_skew_ms));
        cJSON *sh = cJSON_AddArrayToObject(o, "shards");
        for (int64_t i = 0; i < m->shards; i++) {
            const struct merged_shard *s = &mp->shards[i];
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "shard", (double)s->shard);
            iso8601_utc(s->started_wall_us, iso);
            cJSON_AddStringToObject(x, "started_at", iso);
            char wall[32];
            snprintf(wall, sizeof wall, "%" PRId64, s->started_wall_us);
            cJSON_AddRawToObject(x, "started_wall_us", wall); /* exact, not 1.79e+15 */
            cJSON_AddNumberToObject(x, "skew_ms", round3(s->skew_ms));
            cJSON_AddNumberToObject(x, "requests", (double)s->requests);
            cJSON_AddNumberToObject(x, "ok", (double)s->ok);
            cJSON_AddNumberToObject(x, "errors", (double)s->errors);
            cJSON_AddNumberToObject(x, "wall_ms", round3(s->wall_ms));
            cJSON_AddNumberToObject(x, "rps", round3(s->rps));
            cJSON *c = cJSON_AddObjectToObject(x, "cpu_ms");
            cJSON_AddNumberToObject(c, "user", round3(s->cpu_user_ms));
            cJSON_AddNumberToObject(c, "sys", round3(s->cpu_sys_ms));
            cJSON_AddNumberToObject(x, "peak_rss_kb", (double)s->peak_rss_kb);
            cJSON_AddItemToArray(sh, x);
        }
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

static void print_shards(FILE *f, const struct merged *m)
{
    fprintf(f, "\nshards: %" PRId64 "\n%-10s %5s %5s %10s %10s %8s %8s %10s\n", m->shards, "mode",
            "conc", "shard", "skew ms", "req/s", "ok", "errors", "cpu ms");
    for (int k = 0; k < m->npoints; k++) {
        const struct merged_point *mp = &m->points[k];
        for (int64_t i = 0; i < m->shards; i++) {
            const struct merged_shard *s = &mp->shards[i];
            fprintf(f,
                    "%-10s %5" PRId64 " %5" PRId64 " %10.3f %10.2f %8" PRId64 " %8" PRId64
                    " %10.1f\n",
                    mode_name(mp->res.mode), mp->res.concurrency, s->shard, s->skew_ms, s->rps,
                    s->ok, s->errors, s->cpu_user_ms + s->cpu_sys_ms);
        }
        fprintf(f, "%-10s %5" PRId64 "  start skew %.3f ms (latest − earliest start)\n",
                mode_name(mp->res.mode), mp->res.concurrency, mp->start_skew_ms);
    }
}

/* Stores the merged run through the recorder, as `conlab run --db` stores a run: per point a
 * begin, its rows in seq order, its result; then how it ended. */
static int store_merged(const char *path, const struct merged *m, char *id, char *err,
                        size_t errlen)
{
    struct store *st;
    if (store_open(path, &st, err, errlen)) return -1;
    random_id(id, 12);
    char serr[RECORDER_ERROR_MAX + 64];
    if (store_run_create(st, id, &m->spec, m->spec_text, "running", wallclock_us(), serr,
                         sizeof serr)) {
        store_close(st);
        return errf(err, errlen, "--db %s: %s", path, serr);
    }
    struct recorder rec;
    if (recorder_start(&rec, st, id, m->npoints, serr, sizeof serr))
        fprintf(stderr, "conlab merge: storing the run failed: %s\n", serr);
    for (int k = 0; k < m->npoints; k++) {
        const struct merged_point *mp = &m->points[k];
        const struct record_msgs msgs = {mp->nmsgs, mp->msgs};
        if (recorder_begin(&rec, mp->res.mode, mp->res.concurrency, mp->res.requests,
                           mp->res.lanes) ||
            (mp->nrecs && recorder_records(&rec, mp->res.mode, mp->res.concurrency, mp->recs,
                                           (size_t)mp->nrecs, &msgs)) ||
            recorder_result(&rec, &mp->res))
            break;
    }
    struct recorder_end end = {.stop = RECORDER_RAN};
    const char *status = recorder_finish(&rec, &end, serr, sizeof serr);
    int rc = 0;
    if (recorder_error(&rec)[0])
        rc = errf(err, errlen, "--db %s: %s", path, recorder_error(&rec));
    else if (serr[0])
        rc = errf(err, errlen, "--db %s: storing the run's status (%s) failed: %s", path, status,
                  serr);
    store_close(st);
    return rc;
}

int cmd_merge(int argc, char **argv)
{
    const char *db = NULL;
    int json = 0, nparts = 0;
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    if (!paths) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            free(paths);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--db") || !strncmp(a, "--db=", 5)) {
            db = a[4] == '=' ? a + 5 : i + 1 < argc ? argv[++i] : "";
            if (!*db) {
                fprintf(stderr, "conlab merge: --db: needs a file name\n");
                free(paths);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "conlab merge: %s: unknown option (try: conlab merge --help)\n", a);
            free(paths);
            return 2;
        } else {
            paths[nparts++] = a;
        }
    }
    if (!nparts) {
        fprintf(stderr, "conlab merge: PART: at least one part file is needed (try: conlab "
                        "merge --help)\n");
        free(paths);
        return 2;
    }
    struct part *parts = calloc((size_t)nparts, sizeof *parts);
    char err[768] = "";
    int nread = 0, code = 2;
    struct merged m;
    memset(&m, 0, sizeof m);
    if (!parts) goto out;
    for (; nread < nparts; nread++)
        if (part_read(paths[nread], &parts[nread], err, sizeof err)) goto out;
    if (part_merge(parts, nparts, &m, err, sizeof err)) goto out;
    char id[16] = "";
    if (db && store_merged(db, &m, id, err, sizeof err)) {
        code = 1;
        goto out;
    }
    cJSON *doc = cJSON_CreateObject();
    if (db && json) cJSON_AddStringToObject(doc, "id", id);
    cJSON_AddItemToObject(doc, "spec", spec_to_json(&m.spec));
    cJSON *list = cJSON_AddArrayToObject(doc, "results");
    struct mode_result *res = calloc((size_t)m.npoints + 1, sizeof *res);
    static struct findings findings;
    static struct verdict verdict;
    if (!res) {
        cJSON_Delete(doc);
        code = 1;
        goto out;
    }
    for (int k = 0; k < m.npoints; k++) {
        cJSON_AddItemToArray(list, result_to_json(&m.points[k].res));
        res[k] = m.points[k].res;
    }
    findings_compute(&m.spec, res, (size_t)m.npoints, &findings);
    verdict_compute(&m.spec, res, (size_t)m.npoints, &verdict);
    bool crossed = verdict.judged && !verdict.pass;
    cJSON *fj = findings_to_json(&findings);
    if (fj) cJSON_AddItemToObject(doc, "findings", fj);
    cJSON_AddItemToObject(doc, "verdict", verdict_to_json(&verdict));
    cJSON_AddItemToObject(doc, "shards", shards_json(&m));
    if (json) {
        char *text = cJSON_Print(doc);
        if (text) printf("%s\n", text);
        free(text);
    } else {
        printf("merged %" PRId64 " shards: ", m.shards);
        report_table(stdout, &m.spec, res, m.npoints);
        print_shards(stdout, &m);
        report_findings(stdout, &findings);
        report_verdict(stdout, &m.spec, &verdict);
        fflush(stdout);
        if (db) fprintf(stderr, "stored as run %s in %s\n", id, db);
    }
    free(res);
    cJSON_Delete(doc);
    code = crossed ? 3 : 0;
out:
    if (code == 2 || code == 1) fprintf(stderr, "conlab merge: %s\n", *err ? err : "out of memory");
    merged_free(&m);
    for (int i = 0; i < nread; i++)
        part_free(&parts[i]);
    free(parts);
    free(paths);
    return code;
}
