/* `conlab run`: the workload once per mode, headless. Flags map onto the run spec, so the CLI and
 * the API validate alike; messages name the flag. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "args.h"
#include "bench.h"
#include "client_registry.h"
#include "commands.h"
#include "findings.h"
#include "recorder.h"
#include "redact.h"
#include "report.h"
#include "run_start.h"
#include "shard.h"
#include "result_json.h"
#include "store.h"
#include "util.h"
#include "verdict.h"

static const char usage_text[] =
    "usage: conlab run --url URL [options]\n"
    "\n"
    "Runs N requests against URL once per mode, one mode after another, and prints a table.\n"
    "\n"
    "  --url URL            target (http or https), required\n"
    "  --requests N         requests per mode (default 3)\n"
    "  --concurrency C      workers: threads, async slots, processes (default 3); a list\n"
    "                       such as 1,2,4,8 makes a sweep: every mode runs at every level\n"
    "  --modes LIST         comma-separated: sync,threads,async,processes,h2mux and the\n"
    "                       registered clients (default the first four)\n"
    "  --client NAME=COMMAND\n"
    "                       register a program as a mode NAME (docs/CLIENTS.md); repeatable\n"
    "  --clients FILE       register the clients of a file (NAME=COMMAND per line)\n"
    "  --timeout-ms T       bound on each whole request (default 30000)\n"
    "  --rate R             requests per second over a mode, 0 for no limit (default 0)\n"
    "  --method M           HTTP method (default GET)\n"
    "  --header 'K: V'      request header, repeatable\n"
    "  --body S             request body\n"
    "  --no-keepalive       a new connection for every request\n"
    "  --http V             1.1 (default), 2 (negotiated), 2-prior-knowledge (h2c), 3\n"
    "  --insecure           do not verify the server's certificate\n"
    "  --cacert FILE        PEM file of the CA certificates to verify the server with\n"
    "  --cert FILE, --key FILE\n"
    "                       PEM client certificate and key (mTLS)\n"
    "  --resolve H:P:A      connect to address A for host H, port P (repeatable)\n"
    "  --connections K      h2mux: the connections its streams share (default 1)\n"
    "  --work-us N          CPU time (µs) each worker computes over a response before it takes\n"
    "                       its next request (default 0)\n"
    "  --expect-delay-ms D, --expect-workers W\n"
    "                       the server's model (D ms per response, W at once), for the ideal\n"
    "                       time in the findings\n"
    "  --label S            a label stored with the run\n"
    "  --threshold NAME=X   fail the run (exit 3) when a mode crosses it; repeatable. NAME:\n"
    "                       p99_ms (most p99 latency), error_rate (largest share of failed\n"
    "                       requests, 0..1), rps_min (fewest ok requests per second)\n"
    "  --json               print {\"spec\", \"results\", \"findings\", \"verdict\"} instead of\n"
    "                       the table\n"
    "  --requests-out FILE  write every request as JSON Lines (or CSV when FILE ends in .csv)\n"
    "  --db FILE            also store the run in the dashboard's SQLite database\n"
    "  --no-progress        no progress line on stderr (shown only on a terminal)\n"
    "  --shard i/n          run shard i of n: the requests whose seq mod n is i, with the\n"
    "                       concurrency split across the shards (see conlab merge --help)\n"
    "  --out FILE           with --shard: write the shard's part (JSON) for conlab merge\n"
    "  --rows all|none      with --shard: keep every request in the part (default all)\n"
    "  --join URL --run ID  with --shard i/n: run shard i of run ID, which the dashboard at\n"
    "                       URL coordinates (the spec is the run's; the dashboard merges)\n"
    "  --token-file FILE    with --join: the dashboard's token (default $CONLAB_TOKEN)\n"
    "  --start-at EPOCH_MS, --mode-slot-ms S\n"
    "                       with --shard: start the k-th mode (or level) at EPOCH_MS + k × S\n"
    "                       (wall clock, ms since the epoch), the same for every shard\n"
    "  --max-requests N, --max-threads N, --max-async N, --max-processes N, --max-h2mux N\n"
    "                       raise or lower the safety limits (1000000, 1000, 10000, 256, 1000)\n"
    "\n"
    "Exit status: 0 when the run completed (failed requests are data), 3 when it crossed a\n"
    "threshold, 2 for bad arguments, 1 when conlab itself failed, 130 when interrupted (partial\n"
    "results are still printed).\n";

struct run_out {
    const struct spec *spec;
    struct mode_result results[SPEC_MAX_MODES * SPEC_MAX_LEVELS];
    int nresults;
    int64_t total;
    int64_t concurrency; /* the level of the mode in progress */
    int progress; /* draw a progress line */
    FILE *reqs;   /* --requests-out */
    int reqs_csv;
    struct store *db;
    char run_id[16];
    struct recorder rec; /* with --db: the run's records and results into the store */
};

static void on_mode_start(void *ctx, enum bench_mode mode, int64_t concurrency, int64_t total,
                          int64_t lanes)
{
    struct run_out *o = ctx;
    o->concurrency = concurrency;
    o->total = total;
    if (o->db) recorder_begin(&o->rec, mode, concurrency, total, lanes);
    if (o->progress) report_progress(stderr, spec_mode_name(o->spec, mode), 0, total, 1);
}

static void on_tick(void *ctx, const struct bench_tick *t)
{
    struct run_out *o = ctx;
    if (o->progress) report_progress(stderr, spec_mode_name(o->spec, t->mode), t->done, o->total, 1);
}

/* One line of --requests-out: JSON Lines, or CSV (record_to_csv). */
static void write_request(struct run_out *o, const char *mode, const struct bench_record *r,
                          const char *error)
{
    if (o->reqs_csv) {
        char line[RECORD_CSV_MAX];
        fwrite(line, 1, record_to_csv(mode, o->concurrency, r, error, line), o->reqs);
        return;
    }
    cJSON *j = record_to_json(r, error);
    cJSON_AddStringToObject(j, "mode", mode);
    cJSON_AddNumberToObject(j, "concurrency", (double)o->concurrency);
    char *text = cJSON_PrintUnformatted(j);
    if (text) fprintf(o->reqs, "%s\n", text);
    free(text);
    cJSON_Delete(j);
}

/* The mode's clock has stopped: its records are written and stored now. */
static void on_records(void *ctx, enum bench_mode mode, const struct bench_record *r, size_t n,
                       const struct record_msgs *msgs)
{
    struct run_out *o = ctx;
    if (o->reqs)
        for (size_t i = 0; i < n; i++) write_request(o, spec_mode_name(o->spec, mode), &r[i], record_msg(&r[i], msgs));
    if (o->db) recorder_records(&o->rec, mode, o->concurrency, r, n, msgs);
}

static void on_mode_done(void *ctx, const struct mode_result *res)
{
    struct run_out *o = ctx;
    if (o->progress) report_progress_end(stderr);
    o->results[o->nresults++] = *res;
    if (o->db) recorder_result(&o->rec, res);
}

/* Rewrites a spec error "field: msg" as "--flag: msg" for the CLI. */
static void name_flag(char *err, size_t errlen)
{
    static const char *const map[][2] = {
        {"target.url", "--url"},       {"target.method", "--method"},
        {"target.headers", "--header"}, {"target.body", "--body"},
        {"requests", "--requests"},    {"concurrency", "--concurrency"},
        {"modes", "--modes"},          {"timeout_ms", "--timeout-ms"},
        {"rate", "--rate"},            {"label", "--label"},
        {"work_us", "--work-us"},      {"expect.delay_ms", "--expect-delay-ms"},
        {"expect.workers", "--expect-workers"}, {"thresholds", "--threshold"},
        {"target.http", "--http"},     {"target.tls.ca", "--cacert"},
        {"target.tls.cert", "--cert"}, {"target.tls.key", "--key"},
        {"target.tls.insecure", "--insecure"}, {"target.resolve", "--resolve"},
        {"connections", "--connections"}, {"keepalive", "--no-keepalive"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t n = strlen(map[i][0]);
        if (!strncmp(err, map[i][0], n) && (err[n] == ':' || err[n] == '.')) {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s%s", map[i][1], err + n);
            snprintf(err, errlen, "%s", tmp);
            return;
        }
    }
}

struct run_args {
    int json, no_progress;
    const char *db, *reqs_out;
    struct spec_limits lim;
    struct shard_opts shard;
    struct client_registry clients;
};

static int number_opt(const char *flag, const char *v, double min, cJSON *obj, const char *key,
                      char *err, size_t errlen)
{
    char *end = NULL;
    double d = strtod(v, &end);
    if (!*v || *end || d != d) return errf(err, errlen, "%s: '%s' is not a number", flag, v);
    if (d < min) return errf(err, errlen, "%s: must be at least %g", flag, min);
    cJSON_AddNumberToObject(obj, key, d);
    return 0;
}

/* --threshold NAME=X: one entry of the spec's `thresholds` (a later one for NAME wins). */
static int threshold_opt(const char *flag, const char *v, cJSON *spec, char *err, size_t errlen)
{
    const char *eq = strchr(v, '=');
    char name[64];
    if (!eq || eq == v || (size_t)(eq - v) >= sizeof name)
        return errf(err, errlen, "%s: expected NAME=X (p99_ms, error_rate, rps_min), got '%.60s'",
                    flag, v);
    snprintf(name, sizeof name, "%.*s", (int)(eq - v), v);
    struct spec_thresholds t;
    spec_thresholds_init(&t);
    char msg[256];
    if (spec_thresholds_set(&t, name, eq + 1, msg, sizeof msg))
        return errf(err, errlen, "%s: %s", flag, msg);
    cJSON *obj = cJSON_GetObjectItemCaseSensitive(spec, "thresholds");
    if (!obj) obj = cJSON_AddObjectToObject(spec, "thresholds");
    cJSON_DeleteItemFromObjectCaseSensitive(obj, name);
    cJSON_AddNumberToObject(obj, name, strtod(eq + 1, NULL));
    return 0;
}

/* --concurrency C or a sweep's list C1,C2,...: the spec's `concurrency`, a number or a list. */
static int levels_opt(const char *v, cJSON *spec, char *err, size_t errlen)
{
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "concurrency");
    if (!strchr(v, ',')) {
        int64_t n;
        if (parse_int64(v, "--concurrency", INT64_MIN / 2, INT64_MAX / 2, &n, err, errlen)) return -1;
        cJSON_AddNumberToObject(spec, "concurrency", (double)n);
        return 0;
    }
    cJSON *list = cJSON_AddArrayToObject(spec, "concurrency");
    char buf[512];
    if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf)
        return errf(err, errlen, "--concurrency: the list is too long");
    int count = 0;
    for (char *p = buf, *comma; p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        if (comma) *comma = '\0';
        while (*p == ' ') p++;
        int64_t n;
        if (parse_int64(p, "--concurrency", INT64_MIN / 2, INT64_MAX / 2, &n, err, errlen)) return -1;
        if (++count > SPEC_MAX_LEVELS)
            return errf(err, errlen, "--concurrency: at most %d levels", SPEC_MAX_LEVELS);
        cJSON_AddItemToArray(list, cJSON_CreateNumber((double)n));
    }
    return 0;
}

enum {
    OPT_URL = 1000, OPT_METHOD, OPT_BODY, OPT_HEADER, OPT_REQUESTS, OPT_CONCURRENCY, OPT_TIMEOUT,
    OPT_RATE, OPT_MODES, OPT_LABEL, OPT_NO_KEEPALIVE, OPT_JSON, OPT_NO_PROGRESS, OPT_DB,
    OPT_REQUESTS_OUT, OPT_MAX_REQUESTS, OPT_MAX_THREADS, OPT_MAX_ASYNC, OPT_MAX_PROCESSES,
    OPT_WORK_US, OPT_EXPECT_DELAY, OPT_EXPECT_WORKERS, OPT_THRESHOLD, OPT_HTTP, OPT_INSECURE,
    OPT_CACERT, OPT_CERT, OPT_KEY, OPT_RESOLVE, OPT_CONNECTIONS, OPT_MAX_H2MUX,
    OPT_CLIENT, OPT_CLIENTS,
};

static const struct option run_options[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"method", required_argument, NULL, OPT_METHOD},
    {"body", required_argument, NULL, OPT_BODY},
    {"header", required_argument, NULL, OPT_HEADER},
    {"requests", required_argument, NULL, OPT_REQUESTS},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
    {"rate", required_argument, NULL, OPT_RATE},
    {"modes", required_argument, NULL, OPT_MODES},
    {"label", required_argument, NULL, OPT_LABEL},
    {"no-keepalive", no_argument, NULL, OPT_NO_KEEPALIVE},
    {"json", no_argument, NULL, OPT_JSON},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"db", required_argument, NULL, OPT_DB},
    {"requests-out", required_argument, NULL, OPT_REQUESTS_OUT},
    {"max-requests", required_argument, NULL, OPT_MAX_REQUESTS},
    {"max-threads", required_argument, NULL, OPT_MAX_THREADS},
    {"max-async", required_argument, NULL, OPT_MAX_ASYNC},
    {"max-processes", required_argument, NULL, OPT_MAX_PROCESSES},
    {"max-h2mux", required_argument, NULL, OPT_MAX_H2MUX},
    {"work-us", required_argument, NULL, OPT_WORK_US},
    {"expect-delay-ms", required_argument, NULL, OPT_EXPECT_DELAY},
    {"expect-workers", required_argument, NULL, OPT_EXPECT_WORKERS},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"http", required_argument, NULL, OPT_HTTP},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"resolve", required_argument, NULL, OPT_RESOLVE},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"shard", required_argument, NULL, SHARD_OPT_SHARD},
    {"out", required_argument, NULL, SHARD_OPT_OUT},
    {"rows", required_argument, NULL, SHARD_OPT_ROWS},
    {"start-at", required_argument, NULL, SHARD_OPT_START_AT},
    {"mode-slot-ms", required_argument, NULL, SHARD_OPT_SLOT},
    {"join", required_argument, NULL, SHARD_OPT_JOIN},
    {"run", required_argument, NULL, SHARD_OPT_RUN},
    {"token-file", required_argument, NULL, SHARD_OPT_TOKEN_FILE},
    {"client", required_argument, NULL, OPT_CLIENT},
    {"clients", required_argument, NULL, OPT_CLIENTS},
    {0},
};

/* What the options build: the spec as JSON (validated once, by spec_from_json) and the CLI's
 * own options. */
struct run_parse {
    cJSON *spec, *target, *headers;
    struct run_args *a;
};

/* --insecure, --cacert, --cert, --key: target.tls, the files read here (their PEM goes into the
 * spec: the engine reads no file); --resolve: target.resolve; --http: target.http. */
static int transport_opt(struct run_parse *p, int id, const char *flag, const char *v, char *err,
                         size_t errlen)
{
    if (id == OPT_HTTP) {
        cJSON_DeleteItemFromObjectCaseSensitive(p->target, "http");
        cJSON_AddStringToObject(p->target, "http", v);
        return 0;
    }
    if (id == OPT_RESOLVE) {
        cJSON *list = cJSON_GetObjectItemCaseSensitive(p->target, "resolve");
        if (!list) list = cJSON_AddArrayToObject(p->target, "resolve");
        cJSON_AddItemToArray(list, cJSON_CreateString(v));
        return 0;
    }
    cJSON *tls = cJSON_GetObjectItemCaseSensitive(p->target, "tls");
    if (!tls) tls = cJSON_AddObjectToObject(p->target, "tls");
    if (id == OPT_INSECURE) {
        cJSON_DeleteItemFromObjectCaseSensitive(tls, "insecure");
        cJSON_AddTrueToObject(tls, "insecure");
        return 0;
    }
    const char *key = id == OPT_CACERT ? "ca" : id == OPT_CERT ? "cert" : "key";
    char *pem = NULL;
    if (spec_tls_read_file(v, flag, &pem, err, errlen)) return -1;
    cJSON_DeleteItemFromObjectCaseSensitive(tls, key);
    cJSON_AddStringToObject(tls, key, pem);
    free(pem);
    return 0;
}

static int run_option(void *ctx, int id, const char *flag, const char *v, char *err,
                      size_t errlen)
{
    struct run_parse *p = ctx;
    struct run_args *a = p->a;
    int64_t n;
    if (id >= SHARD_OPT_SHARD) return shard_option(&a->shard, id, flag, v, err, errlen);
    switch (id) {
    case OPT_URL: cJSON_AddStringToObject(p->target, "url", v); return 0;
    case OPT_METHOD: cJSON_AddStringToObject(p->target, "method", v); return 0;
    case OPT_BODY: cJSON_AddStringToObject(p->target, "body", v); return 0;
    case OPT_HEADER: {
        const char *colon = strchr(v, ':');
        if (!colon || colon == v)
            return errf(err, errlen, "%s: expected 'Name: value', got '%.80s'", flag, v);
        if (!p->headers) p->headers = cJSON_AddObjectToObject(p->target, "headers");
        char name[300];
        snprintf(name, sizeof name, "%.*s", (int)(colon - v), v);
        const char *val = colon + 1;
        while (*val == ' ' || *val == '\t') val++;
        cJSON_DeleteItemFromObjectCaseSensitive(p->headers, name);
        cJSON_AddStringToObject(p->headers, name, val);
        return 0;
    }
    case OPT_CONCURRENCY: return levels_opt(v, p->spec, err, errlen);
    case OPT_REQUESTS:
    case OPT_TIMEOUT:
    case OPT_WORK_US:
        if (parse_int64(v, flag, INT64_MIN / 2, INT64_MAX / 2, &n, err, errlen)) return -1;
        cJSON_AddNumberToObject(p->spec, id == OPT_REQUESTS ? "requests"
                                         : id == OPT_TIMEOUT ? "timeout_ms" : "work_us",
                                (double)n);
        return 0;
    case OPT_EXPECT_DELAY:
    case OPT_EXPECT_WORKERS: {
        if (parse_int64(v, flag, INT64_MIN / 2, INT64_MAX / 2, &n, err, errlen)) return -1;
        cJSON *e = cJSON_GetObjectItemCaseSensitive(p->spec, "expect");
        if (!e) e = cJSON_AddObjectToObject(p->spec, "expect");
        const char *key = id == OPT_EXPECT_DELAY ? "delay_ms" : "workers";
        cJSON_DeleteItemFromObjectCaseSensitive(e, key);
        cJSON_AddNumberToObject(e, key, (double)n);
        return 0;
    }
    case OPT_RATE: return number_opt(flag, v, 0, p->spec, "rate", err, errlen);
    case OPT_THRESHOLD: return threshold_opt(flag, v, p->spec, err, errlen);
    case OPT_HTTP:
    case OPT_INSECURE:
    case OPT_CACERT:
    case OPT_CERT:
    case OPT_KEY:
    case OPT_RESOLVE: return transport_opt(p, id, flag, v, err, errlen);
    case OPT_CONNECTIONS:
        if (parse_int64(v, flag, INT64_MIN / 2, INT64_MAX / 2, &n, err, errlen)) return -1;
        cJSON_AddNumberToObject(p->spec, "connections", (double)n);
        return 0;
    case OPT_MODES: {
        cJSON *list = cJSON_AddArrayToObject(p->spec, "modes");
        char buf[256];
        snprintf(buf, sizeof buf, "%s", v);
        for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ') tok++;
            cJSON_AddItemToArray(list, cJSON_CreateString(tok));
        }
        return 0;
    }
    case OPT_LABEL: cJSON_AddStringToObject(p->spec, "label", v); return 0;
    case OPT_NO_KEEPALIVE: cJSON_AddFalseToObject(p->spec, "keepalive"); return 0;
    case OPT_JSON: a->json = 1; return 0;
    case OPT_NO_PROGRESS: a->no_progress = 1; return 0;
    case OPT_DB:
    case OPT_REQUESTS_OUT:
        if (!*v) return errf(err, errlen, "%s: needs a file name", flag);
        *(id == OPT_DB ? &a->db : &a->reqs_out) = v;
        return 0;
    case OPT_MAX_REQUESTS:
        return parse_int64(v, flag, 1, INT64_MAX / 2, &a->lim.max_requests, err, errlen);
    case OPT_CLIENT: return client_registry_add(&a->clients, v, "", flag, err, errlen);
    case OPT_CLIENTS: return client_registry_load(&a->clients, v, err, errlen);
    default: {
        int m = id == OPT_MAX_THREADS ? MODE_THREADS
                : id == OPT_MAX_ASYNC ? MODE_ASYNC
                : id == OPT_MAX_H2MUX ? MODE_H2MUX : MODE_PROCESSES;
        return parse_int64(v, flag, 1, 1000000, &a->lim.max_concurrency[m], err, errlen);
    }
    }
}

/* Parses argv into a spec JSON object and the CLI's own options. Returns 0, 1 for --help, -1. */
static int parse_args(int argc, char **argv, cJSON *spec, struct run_args *a, char *err, size_t errlen)
{
    struct run_parse p = {spec, cJSON_AddObjectToObject(spec, "target"), NULL, a};
    int rc = args_parse("run", argc, argv, run_options, run_option, &p, err, errlen);
    if (rc) return rc;
    if (a->shard.join) return 0; /* the spec comes from the dashboard */
    if (!cJSON_GetObjectItemCaseSensitive(p.target, "url"))
        return errf(err, errlen, "--url: required (e.g. --url http://127.0.0.1:8000/)");
    return 0;
}

static int execute(const struct spec *s, const struct run_args *a, char *err, size_t errlen,
                   int *exit_code);

int cmd_run(int argc, char **argv)
{
    char err[512] = "";
    struct run_args a;
    memset(&a, 0, sizeof a);
    spec_limits_default(&a.lim);
    shard_opts_init(&a.shard);
    cJSON *json = cJSON_CreateObject();
    int prc = parse_args(argc, argv, json, &a, err, sizeof err);
    if (prc == 1) {
        cJSON_Delete(json);
        fputs(usage_text, stdout);
        return 0;
    }
    if (prc == 0 && (a.shard.join || a.shard.run || a.shard.token_file)) {
        /* workload flags: anything in the spec object but an empty target */
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(json, "target");
        bool spec_flags = cJSON_GetArraySize(json) > 1 || (t && t->child);
        cJSON_Delete(json);
        int code = 2;
        if (!shard_join_check(&a.shard, spec_flags, err, sizeof err) &&
            !(a.db || a.reqs_out || a.clients.n) &&
            !shard_join(&a.shard, a.json, err, sizeof err, &code) && (code == 0 || code == 3))
            err[0] = '\0';
        else if (!err[0])
            snprintf(err, sizeof err, "%s: not with --join", a.db ? "--db" : a.reqs_out ? "--requests-out" : "--client");
        client_registry_free(&a.clients);
        if (err[0]) fprintf(stderr, "conlab run: %s\n", err);
        return code;
    }
    struct spec s;
    client_registry_limits(&a.clients, &a.lim);
    if (prc < 0 || spec_from_json(json, &a.lim, &s, err, sizeof err)) {
        cJSON_Delete(json);
        client_registry_free(&a.clients);
        name_flag(err, sizeof err);
        fprintf(stderr, "conlab run: %s\n", err);
        return 2;
    }
    cJSON_Delete(json);
    if (shard_check(&a.shard, &s, a.db ? "--db" : a.reqs_out ? "--requests-out" : NULL, err,
                    sizeof err)) {
        spec_free(&s);
        client_registry_free(&a.clients);
        fprintf(stderr, "conlab run: %s\n", err);
        return 2;
    }
    int code = 0;
    if (a.shard.count ? shard_run(&s, &a.shard, a.json, err, sizeof err, &code)
                      : execute(&s, &a, err, sizeof err, &code)) {
        fprintf(stderr, "conlab run: %s\n", err);
        code = 1;
    }
    spec_free(&s);
    client_registry_free(&a.clients);
    return code;
}

static int execute(const struct spec *s, const struct run_args *a, char *err, size_t errlen,
                   int *exit_code)
{
    struct run_out o;
    memset(&o, 0, sizeof o);
    o.spec = s;
    o.progress = !a->json && !a->no_progress && isatty(2);
    int rc = -1;
    if (a->reqs_out) {
        o.reqs = fopen(a->reqs_out, "w");
        if (!o.reqs) return errf(err, errlen, "--requests-out: cannot write %s", a->reqs_out);
        size_t n = strlen(a->reqs_out);
        o.reqs_csv = n > 4 && !strcmp(a->reqs_out + n - 4, ".csv");
        if (o.reqs_csv)
            fputs(RECORD_CSV_HEADER, o.reqs);
    }
    if (a->db) {
        if (store_open(a->db, &o.db, err, errlen)) goto out;
        random_id(o.run_id, 12);
        char *spec_text = spec_to_text(s);
        char serr[300];
        int c = store_run_create(o.db, o.run_id, s, spec_text, "running", wallclock_us(), serr,
                                 sizeof serr);
        free(spec_text);
        if (c) {
            errf(err, errlen, "--db %s: %s", a->db, serr);
            goto out;
        }
        if (recorder_start(&o.rec, o.db, o.run_id, s->nmodes * s->nlevels, serr, sizeof serr))
            fprintf(stderr, "conlab run: storing the run failed: %s\n", serr);
    }
    if (run_start(err, errlen)) goto out;

    struct bench_sink sink = {&o, on_mode_start, on_tick, on_records, on_mode_done};
    bench_clients_use(&a->clients);
    int brc = bench_run(s, &sink, err, errlen);
    curl_global_cleanup();
    if (o.progress) report_progress_end(stderr);
    int cancelled = bench_cancel_flag != 0;
    bool store_failed = false; /* the run was measured but not all of it stored: exit 1 */
    if (o.db) {
        struct recorder_end end = {.stop = cancelled ? RECORDER_CANCELLED : RECORDER_RAN,
                                   .failure = brc ? err : NULL};
        char serr[300];
        if (recorder_error(&o.rec)[0])
            fprintf(stderr, "conlab run: %s\n", recorder_error(&o.rec));
        recorder_finish(&o.rec, &end, serr, sizeof serr);
        if (serr[0]) fprintf(stderr, "conlab run: storing the run's status failed: %s\n", serr);
        store_failed = recorder_error(&o.rec)[0] || serr[0];
        if (!a->json) fprintf(stderr, "stored as run %s in %s\n", o.run_id, a->db);
    }
    /* Findings and verdict on the results as they are, C data; JSON only for --json. */
    static struct findings findings;
    static struct verdict verdict;
    findings_compute(s, o.results, (size_t)o.nresults, &findings);
    verdict_compute(s, o.results, (size_t)o.nresults, &verdict);
    bool crossed = verdict.judged && !verdict.pass;
    cJSON *doc = NULL;
    if (a->json) {
        doc = cJSON_CreateObject();
        if (o.db) cJSON_AddStringToObject(doc, "id", o.run_id);
        cJSON *spec_json = spec_to_json(s);
        redact_spec_json(spec_json, NULL, 0); /* the client key stays out of what is printed */
        cJSON_AddItemToObject(doc, "spec", spec_json);
        cJSON *list = cJSON_AddArrayToObject(doc, "results");
        for (int i = 0; i < o.nresults; i++)
            cJSON_AddItemToArray(list, result_to_json(&o.results[i]));
        cJSON *fj = findings_to_json(&findings);
        if (fj) cJSON_AddItemToObject(doc, "findings", fj);
        cJSON_AddItemToObject(doc, "verdict", verdict_to_json(&verdict));
        char *text = cJSON_Print(doc);
        if (text) printf("%s\n", text);
        free(text);
    } else {
        report_table(stdout, s, o.results, o.nresults);
        report_findings(stdout, &findings);
        report_verdict(stdout, s, &verdict);
    }
    cJSON_Delete(doc);
    fflush(stdout);
    if (brc) goto out;
    *exit_code = cancelled ? 130 : store_failed ? 1 : crossed ? 3 : 0;
    rc = 0;
out:
    if (o.reqs) fclose(o.reqs);
    if (o.db) store_close(o.db);
    return rc;
}
