/* Unit tests of the SQLite store (backend/store*.c) on real files under a mkdtemp folder.
 * CONLAB_STORE_BENCH=N (e.g. 1000000) also times inserting N records in batches of 1000 and
 * store_mode_finish over them. */
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "migrations.h"
#include "record.h"
#include "result_json.h"
#include "spec.h"
#include "store.h"
#include "util.h"

static int failures;
static char dir[256];

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)
/* Stops the test at once: later checks would only crash on what failed. */
#define REQUIRE(c)                                                                                 \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #c);                \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static const char *path_in(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static int prc; /* what the last page_of's store_requests_page returned */

/* One page of a point's rows, or NULL when store_requests_page did not return 0 (rc says what
 * it returned). */
static cJSON *page_of(struct store *st, const char *id, int mode, int64_t conc, int64_t limit,
                      int64_t offset, int *rc, char *err, size_t errlen)
{
    cJSON *page = NULL;
    *rc = store_requests_page(st, id, mode, conc, limit, offset, &page, err, errlen);
    if ((*rc == 0) != (page != NULL)) {
        fprintf(stderr, "store_requests_page: returned %d with page %p\n", *rc, (void *)page);
        failures++;
    }
    return page;
}

static struct store *open_ok(const char *path)
{
    char err[512] = "";
    struct store *st = NULL;
    int rc = store_open(path, &st, err, sizeof err);
    if (rc != 0) fprintf(stderr, "store_open %s: %s\n", path, err);
    REQUIRE(rc == 0 && st);
    return st;
}

/* One integer from a query on a separate connection (what another process would see). */
static int64_t query_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    REQUIRE(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -12345;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static const char *query_text(const char *path, const char *sql, char *buf, size_t len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    REQUIRE(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK);
    snprintf(buf, len, "%s",
             sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)
                 ? (const char *)sqlite3_column_text(s, 0)
                 : "");
    sqlite3_finalize(s);
    sqlite3_close(db);
    return buf;
}

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sql failed: %s: %s\n", sql, msg);
        exit(1);
    }
}

/* A stored run's C data as JSON, for compact checks: id, status, label, message, created_us,
 * finished_us, spec (parsed), done (rows stored), mode (latest begun, or null), modes {name:
 * {done, total}}, results [RESULT]. NULL when unknown (*found false) or on error. */
static cJSON *load_run(struct store *st, const char *id, bool *found, char *err, size_t errlen)
{
    struct store_run r;
    int rc = store_run_get(st, id, &r, err, errlen);
    if (found) *found = rc != STORE_NOT_FOUND;
    if (rc) return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r.id);
    cJSON_AddStringToObject(o, "status", r.status);
    cJSON_AddStringToObject(o, "label", r.label);
    if (r.message) cJSON_AddStringToObject(o, "message", r.message);
    else cJSON_AddNullToObject(o, "message");
    cJSON_AddNumberToObject(o, "created_us", (double)r.created_us);
    cJSON_AddNumberToObject(o, "finished_us", (double)r.finished_us);
    cJSON_AddItemToObject(o, "spec", r.has_spec ? spec_to_json(&r.spec) : cJSON_CreateNull());
    int64_t done = 0;
    cJSON *modes = cJSON_AddObjectToObject(o, "modes");
    cJSON *results = cJSON_AddArrayToObject(o, "results");
    cJSON *points = cJSON_AddArrayToObject(o, "points"); /* [[mode, concurrency, done], ...] */
    for (int i = 0; i < r.nmodes; i++) {
        double point[3] = {r.modes[i].mode, (double)r.modes[i].concurrency, (double)r.modes[i].done};
        cJSON_AddItemToArray(points, cJSON_CreateDoubleArray(point, 3));
        done += r.modes[i].done;
        cJSON *m = cJSON_AddObjectToObject(modes, mode_name(r.modes[i].mode));
        cJSON_AddNumberToObject(m, "done", (double)r.modes[i].done);
        cJSON_AddNumberToObject(m, "total", (double)r.modes[i].total);
        if (r.modes[i].finished)
            cJSON_AddItemToArray(results, result_to_json(&r.modes[i].result));
    }
    cJSON_AddNumberToObject(o, "done", (double)done);
    if (r.nmodes) cJSON_AddStringToObject(o, "mode", mode_name(r.modes[r.nmodes - 1].mode));
    else cJSON_AddNullToObject(o, "mode");
    store_run_free(&r);
    return o;
}

/* store_charts as a value: NULL with *found false when the run is unknown, NULL with err on a
 * failure. */
static cJSON *charts_of(struct store *st, const char *id, int64_t concurrency, bool *found,
                        char *err, size_t errlen)
{
    cJSON *out;
    int rc = store_charts(st, id, concurrency, &out, err, errlen);
    *found = rc != STORE_NOT_FOUND;
    CHECK(rc == 0 ? out != NULL : out == NULL);
    return out;
}

static int count_list(struct store *st, int limit, int offset, const char *url, const char *label,
                      const char *first_id)
{
    struct store_run *runs;
    int n;
    char err[256];
    if (store_run_list(st, limit, offset, url, label, &runs, &n, err, sizeof err)) return -1;
    if (first_id && (n == 0 || strcmp(runs[0].id, first_id))) n = -2;
    store_runs_free(runs, n < 0 ? 0 : n);
    return n;
}

static char *spec_text(const char *url, const char *label, int requests, const char *modes)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 512,
             "{\"target\":{\"url\":\"%s\",\"method\":\"GET\",\"headers\":{},\"body\":null},"
             "\"requests\":%d,\"concurrency\":3,\"modes\":%s,\"timeout_ms\":30000,\"rate\":0,"
             "\"keepalive\":true,\"label\":\"%s\"}",
             url, requests, modes, label);
    return p;
}

/* Creates a run from spec text, as the API does: validated once into a struct, stored with its
 * canonical text. */
static int create_run(struct store *st, const char *id, const char *text, const char *status,
                      int64_t created_us, char *err, size_t errlen)
{
    struct spec_limits lim;
    spec_limits_default(&lim);
    struct spec s;
    if (spec_from_text(text, &lim, &s, err, errlen)) return -1;
    char *canon = spec_to_text(&s);
    int rc = store_run_create(st, id, &s, canon, status, created_us, err, errlen);
    free(canon);
    spec_free(&s);
    return rc;
}

/* The messages the records below refer to: "failure N" for request N < 62, then one more. */
#define MSG_REFUSED 62
static char msg_text[64][32];
static const char *msg_ptrs[64];
static struct record_msgs msgs = {64, msg_ptrs};

static void msgs_init(void)
{
    for (int i = 0; i < 64; i++) {
        snprintf(msg_text[i], sizeof msg_text[i], i == MSG_REFUSED ? "Connection refused" : "failure %d", i);
        msg_ptrs[i] = msg_text[i];
    }
}

static struct bench_record rec(int64_t seq, int64_t lane, int64_t start, int64_t end, int kind)
{
    struct bench_record r;
    memset(&r, 0, sizeof r);
    r.seq = seq;
    r.lane = lane;
    r.sched_us = 0;
    r.start_us = start;
    r.connect_us = start + 10;
    r.ttfb_us = end - 5;
    r.end_us = end;
    r.bytes = kind == REQ_OK ? 22 : 0;
    r.status = kind == REQ_OK ? 200 : 0;
    r.err_kind = kind;
    r.msg = kind != REQ_OK && seq < MSG_REFUSED ? (int32_t)seq : -1;
    return r;
}

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -999999;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void test_open_and_reopen(void)
{
    const char *path = path_in("a/b/c/conlab.db");
    struct store *st = open_ok(path);
    struct stat sb;
    CHECK(stat(path_in("a/b/c"), &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode));
    CHECK(store_schema_latest() == conlab_migrations[conlab_migrations_count - 1].version);
    CHECK(store_schema_latest() >= 2);
    CHECK(store_schema_version(st) == store_schema_latest());
    store_close(st);

    char buf[64];
    CHECK(query_int(path, "PRAGMA user_version") == store_schema_latest());
    CHECK(!strcmp(query_text(path, "PRAGMA journal_mode", buf, sizeof buf), "wal"));
    int64_t objects = query_int(path, "SELECT count(*) FROM sqlite_master");
    CHECK(objects >= 8);

    st = open_ok(path); /* a second start changes nothing */
    CHECK(store_schema_version(st) == store_schema_latest());
    store_close(st);
    CHECK(query_int(path, "SELECT count(*) FROM sqlite_master") == objects);
    CHECK(query_int(path, "PRAGMA user_version") == store_schema_latest());
}

static void test_upgrade_from_0001(void)
{
    const char *path = path_in("old.db");
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    REQUIRE(conlab_migrations[0].version == 1);
    exec_sql(db, conlab_migrations[0].sql);
    exec_sql(db, "PRAGMA user_version = 1");
    exec_sql(db, "INSERT INTO runs (id, status, created_us, finished_us, spec_json, url, label) "
                 "VALUES ('old000000001', 'done', 1700000000000000, 1700000003000000, "
                 "'{\"target\":{\"url\":\"http://old/\"},\"requests\":3,\"modes\":[\"sync\"]}', "
                 "'http://old/', 'before')");
    exec_sql(db, "INSERT INTO modes (run_id, mode, position, total, lanes, done, result_json) "
                 "VALUES ('old000000001', 0, 0, 3, 1, 3, '{\"mode\":\"sync\",\"requests\":3,"
                 "\"ok\":2,\"errors\":1,\"wall_ms\":3000.5}')");
    exec_sql(db, "INSERT INTO requests (run_id, mode, seq, lane, start_us, end_us, status, "
                 "bytes, error_kind, error) VALUES "
                 "('old000000001', 0, 0, 0, 0, 1000000, 200, 22, 0, NULL), "
                 "('old000000001', 0, 1, 0, 1000000, 2000000, 200, 22, 0, NULL), "
                 "('old000000001', 0, 2, 0, 2000000, 3000000, NULL, 0, 2, 'timed out')");
    sqlite3_close(db);
    CHECK(query_int(path, "SELECT count(*) FROM pragma_table_info('modes') "
                          "WHERE name = 'charts_json'") == 0);

    struct store *st = open_ok(path);
    CHECK(store_schema_version(st) == store_schema_latest());
    char err[256] = "";
    bool found = false;
    cJSON *run = load_run(st, "old000000001", &found, err, sizeof err);
    CHECK(found && run);
    CHECK(!strcmp(str(run, "status"), "done"));
    CHECK(!strcmp(str(run, "label"), "before"));
    CHECK(num(run, "created_us") == 1700000000000000.0); /* 2023-11-14T22:13:20.000Z */
    CHECK(num(run, "done") == 3);
    CHECK(cJSON_GetArraySize(get(run, "results")) == 1);
    /* No concurrency in that spec: the mode's lanes give its level (schema 3). */
    CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(get(run, "points"), 0), 1)->valuedouble == 1);
    cJSON_Delete(run);

    /* Finished under 0001, so no aggregates were stored: they are computed on first use. */
    cJSON *charts = charts_of(st, "old000000001", 0, &found, err, sizeof err);
    CHECK(found && charts);
    const cJSON *m0 = cJSON_GetArrayItem(get(charts, "modes"), 0);
    CHECK(m0 && !strcmp(str(m0, "mode"), "sync"));
    CHECK(num(m0, "concurrency") == 1);
    CHECK(num(m0, "total") == 3);
    CHECK(num(m0, "wall_ms") == 3000.5);
    CHECK(cJSON_GetArraySize(get(get(m0, "timeline"), "requests")) == 3);
    cJSON_Delete(charts);
    store_close(st);
    CHECK(query_int(path, "PRAGMA user_version") == store_schema_latest());
    CHECK(query_int(path, "SELECT count(*) FROM charts WHERE run_id = 'old000000001'") == 1);
}

/* Schema 3 keys modes and requests by (run, mode, concurrency): rows stored before it take the
 * level of their run's spec, and nothing is lost. */
static void test_upgrade_from_0002(void)
{
    const char *path = path_in("v2.db");
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    REQUIRE(conlab_migrations[1].version == 2);
    exec_sql(db, conlab_migrations[0].sql);
    exec_sql(db, conlab_migrations[1].sql);
    exec_sql(db, "PRAGMA user_version = 2");
    exec_sql(db, "INSERT INTO runs (id, status, created_us, finished_us, spec_json, url, label) "
                 "VALUES ('v2r000000001', 'done', 1700000000000000, 1700000003000000, "
                 "'{\"target\":{\"url\":\"http://v2/\"},\"requests\":2,\"concurrency\":4,"
                 "\"modes\":[\"sync\",\"async\"]}', 'http://v2/', '')");
    exec_sql(db, "INSERT INTO modes (run_id, mode, position, total, lanes, done, result_json, "
                 "charts_json) VALUES "
                 "('v2r000000001', 0, 0, 2, 1, 2, '{\"mode\":\"sync\",\"requests\":2}', '{}'), "
                 "('v2r000000001', 2, 1, 2, 2, 2, '{\"mode\":\"async\",\"requests\":2}', '{}')");
    exec_sql(db, "INSERT INTO requests (run_id, mode, seq, lane, start_us, end_us, status, bytes, "
                 "error_kind) VALUES ('v2r000000001', 0, 0, 0, 0, 10, 200, 1, 0), "
                 "('v2r000000001', 0, 1, 0, 10, 20, 200, 1, 0), "
                 "('v2r000000001', 2, 0, 0, 0, 10, 200, 1, 0), "
                 "('v2r000000001', 2, 1, 1, 0, 10, 200, 1, 0)");
    sqlite3_close(db);

    struct store *st = open_ok(path);
    CHECK(store_schema_version(st) == store_schema_latest());
    store_close(st);
    CHECK(query_int(path, "SELECT count(*) FROM modes WHERE concurrency = 4") == 2);
    CHECK(query_int(path, "SELECT count(*) FROM requests WHERE concurrency = 4") == 4);
    CHECK(query_int(path, "SELECT count(*) FROM requests") == 4);
    CHECK(query_int(path, "SELECT count(*) FROM pragma_table_info('requests') "
                          "WHERE name = 'concurrency' AND pk = 3") == 1);
    st = open_ok(path);
    char err[256] = "";
    cJSON *page = page_of(st, "v2r000000001", MODE_ASYNC, 4, 10, 0, &prc, err, sizeof err);
    CHECK(page && num(page, "total") == 2 && num(page, "concurrency") == 4);
    CHECK(cJSON_GetArraySize(get(page, "requests")) == 2);
    cJSON_Delete(page);
    struct store_run r;
    CHECK(store_run_get(st, "v2r000000001", &r, err, sizeof err) == 0);
    CHECK(r.nmodes == 2 && r.modes[1].mode == MODE_ASYNC && r.modes[1].concurrency == 4);
    store_run_free(&r);
    store_close(st);
    /* 0004: the charts moved to a table of their own, one row per point. */
    CHECK(query_int(path, "SELECT count(*) FROM charts WHERE run_id = 'v2r000000001' AND "
                          "concurrency = 4 AND charts_json = '{}'") == 2);
    CHECK(query_int(path, "SELECT count(*) FROM pragma_table_info('modes') "
                          "WHERE name = 'charts_json'") == 0);
}

/* Schema 7 rebuilds runs (its status CHECK gains 'waiting' and 'partial') under foreign keys:
 * every run of a schema-6 database stays, with its modes, rows and charts, and deleting a run
 * still deletes its rows. */
static void test_upgrade_from_0006(void)
{
    const char *path = path_in("v6.db");
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    exec_sql(db, "PRAGMA foreign_keys = ON");
    for (int i = 0; i < conlab_migrations_count && conlab_migrations[i].version <= 6; i++)
        exec_sql(db, conlab_migrations[i].sql);
    exec_sql(db, "PRAGMA user_version = 6");
    static const char *const statuses[] = {"done", "failed", "running", "cancelled"};
    for (int k = 0; k < 4; k++) {
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "INSERT INTO runs (id, status, created_us, spec_json, url, label, message) "
                 "VALUES ('v6r00000000%d', '%s', %d, '{\"target\":{\"url\":\"http://v6/\"},"
                 "\"requests\":2,\"concurrency\":1,\"modes\":[\"sync\"]}', 'http://v6/', 'l%d', "
                 "'m%d')", k, statuses[k], 1000 + k, k, k);
        exec_sql(db, sql);
        snprintf(sql, sizeof sql,
                 "INSERT INTO modes (run_id, mode, concurrency, position, total, lanes, done, "
                 "result_json) VALUES ('v6r00000000%d', 0, 1, 0, 2, 1, 2, "
                 "'{\"mode\":\"sync\",\"requests\":2}')", k);
        exec_sql(db, sql);
        snprintf(sql, sizeof sql,
                 "INSERT INTO requests (run_id, mode, concurrency, seq, lane, start_us, end_us, "
                 "status, bytes, error_kind) VALUES ('v6r00000000%d', 0, 1, 0, 0, 0, 10, 200, 1, "
                 "0), ('v6r00000000%d', 0, 1, 1, 0, 10, 20, 200, 1, 0)", k, k);
        exec_sql(db, sql);
        snprintf(sql, sizeof sql,
                 "INSERT INTO charts (run_id, mode, concurrency, charts_json) VALUES "
                 "('v6r00000000%d', 0, 1, '{}')", k);
        exec_sql(db, sql);
    }
    sqlite3_close(db);

    struct store *st = open_ok(path);
    CHECK(store_schema_version(st) == store_schema_latest());
    char err[256] = "", status[32];
    for (int k = 0; k < 4; k++) {
        char id[16];
        snprintf(id, sizeof id, "v6r00000000%d", k);
        CHECK(store_run_status(st, id, status, sizeof status, err, sizeof err) == 0 &&
              !strcmp(status, statuses[k]));
    }
    CHECK(query_int(path, "SELECT count(*) FROM runs") == 4);
    CHECK(query_int(path, "SELECT count(*) FROM runs WHERE message = 'm2' AND label = 'l2' AND "
                          "created_us = 1002") == 1);
    CHECK(query_int(path, "SELECT count(*) FROM modes") == 4);
    CHECK(query_int(path, "SELECT count(*) FROM requests") == 8);
    CHECK(query_int(path, "SELECT count(*) FROM charts") == 4);
    CHECK(query_int(path, "SELECT count(*) FROM sqlite_master WHERE name = 'runs_by_created'") ==
          1);
    /* the new statuses are allowed, others still are not */
    CHECK(store_run_set_status(st, "v6r000000000", "partial", 5, "shard 1 died", err,
                               sizeof err) == 0);
    CHECK(store_run_set_status(st, "v6r000000001", "waiting", -1, NULL, err, sizeof err) == 0);
    CHECK(store_run_set_status(st, "v6r000000001", "bogus", -1, NULL, err, sizeof err) == -1);
    /* a waiting run is interrupted by a restart like a running one */
    CHECK(store_mark_interrupted(st, 9, err, sizeof err) == 2);
    /* the shards of a run */
    CHECK(store_shards_create(st, "v6r000000003", 2, err, sizeof err) == 0);
    struct store_shard sh = {.shard = 1, .status = "done", .joined_us = 77, .skew_ms = 1.5,
                             .rps = 10, .errors = 2, .cpu_ms = 3};
    CHECK(store_shard_set(st, "v6r000000003", &sh, err, sizeof err) == 0);
    struct store_shard *got = NULL;
    int n = 0;
    CHECK(store_shards_get(st, "v6r000000003", &got, &n, err, sizeof err) == 0 && n == 2);
    CHECK(n == 2 && !strcmp(got[0].status, "waiting") && got[0].joined_us == -1 &&
          isnan(got[0].skew_ms) && !strcmp(got[1].status, "done") && got[1].joined_us == 77 &&
          got[1].skew_ms == 1.5 && got[1].errors == 2);
    free(got);
    /* foreign keys hold after the rebuild: deleting a run deletes its rows and shards */
    CHECK(store_run_delete(st, "v6r000000003", err, sizeof err) == 0);
    store_close(st);
    CHECK(query_int(path, "SELECT count(*) FROM requests WHERE run_id = 'v6r000000003'") == 0);
    CHECK(query_int(path, "SELECT count(*) FROM run_shards") == 0);
    CHECK(query_int(path, "SELECT count(*) FROM requests") == 6);
    CHECK(query_int(path, "PRAGMA foreign_keys") >= 0);
}

/* A stored spec is read back under no limit (a dashboard may have raised them): one with CPU
 * work per response comes back whole (the CPU budget's check once overflowed for the unbounded
 * limits and refused it, so that RUN showed no spec). */
static void test_spec_read_back(void)
{
    struct store *st = open_ok(path_in("specback.db"));
    char err[256] = "";
    const char *id = "spc000000001";
    REQUIRE(create_run(st, id, "{\"target\":{\"url\":\"http://x/\"},\"requests\":200,"
                               "\"concurrency\":4,\"work_us\":2000}",
                       "queued", 1700000000000000, err, sizeof err) == 0);
    struct store_run r;
    CHECK(store_run_get(st, id, &r, err, sizeof err) == 0);
    CHECK(r.has_spec && r.spec.work_us == 2000 && r.spec.requests == 200 && r.spec.nmodes == 4);
    store_run_free(&r);
    store_close(st);
}

/* Two levels of one mode (a sweep) are two points: their rows, counts, pages and charts stay
 * apart. */
static void test_sweep_points(void)
{
    struct store *st = open_ok(path_in("sweep.db"));
    char err[256] = "";
    const char *id = "swp000000001";
    REQUIRE(create_run(st, id, "{\"target\":{\"url\":\"http://x/\"},\"requests\":3,"
                               "\"concurrency\":[1,2],\"modes\":[\"threads\"]}",
                       "running", 1700000000000000, err, sizeof err) == 0);
    struct bench_record r[3];
    for (int level = 1; level <= 2; level++) {
        REQUIRE(store_mode_begin(st, id, MODE_THREADS, level, 3, level, err, sizeof err) == 0);
        for (int i = 0; i < 3; i++)
            r[i] = rec(i, i % level, i * 100 * level, i * 100 * level + 50 * level, REQ_OK);
        REQUIRE(store_add_records(st, id, MODE_THREADS, level, r, 3, &msgs, err, sizeof err) == 0);
        struct mode_result res = {.mode = MODE_THREADS, .concurrency = level, .requests = 3,
                                  .ok = 3, .lanes = level, .wall_ms = 1.0 * level};
        REQUIRE(store_mode_finish(st, id, &res, err, sizeof err) == 0);
    }
    /* The same seq at the same level is a duplicate; at another level it was not. */
    CHECK(store_add_records(st, id, MODE_THREADS, 1, r, 1, &msgs, err, sizeof err) == -1);
    for (int level = 1; level <= 2; level++) {
        cJSON *page = page_of(st, id, MODE_THREADS, level, 10, 0, &prc, err, sizeof err);
        CHECK(page && num(page, "total") == 3 && num(page, "concurrency") == level);
        const cJSON *rows = get(page, "requests");
        CHECK(cJSON_GetArraySize(rows) == 3);
        CHECK(num(cJSON_GetArrayItem(rows, 2), "end_us") == 200 * level + 50 * level);
        cJSON_Delete(page);
    }
    struct store_run run;
    CHECK(store_run_get(st, id, &run, err, sizeof err) == 0);
    CHECK(run.nmodes == 2 && run.modes[0].concurrency == 1 && run.modes[1].concurrency == 2);
    CHECK(run.modes[0].done == 3 && run.modes[1].done == 3 && run.modes[1].lanes == 2);
    store_run_free(&run);
    bool found = false;
    cJSON *charts = charts_of(st, id, 0, &found, err, sizeof err);
    CHECK(charts && cJSON_GetArraySize(get(charts, "modes")) == 2);
    cJSON_Delete(charts);
    charts = charts_of(st, id, 2, &found, err, sizeof err);
    const cJSON *only = cJSON_GetArrayItem(get(charts, "modes"), 0);
    CHECK(charts && cJSON_GetArraySize(get(charts, "modes")) == 1 && num(only, "concurrency") == 2);
    CHECK(num(only, "wall_ms") == 2.0);
    cJSON_Delete(charts);
    store_close(st);
}

static void test_newer_refused(void)
{
    const char *path = path_in("newer.db");
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    exec_sql(db, "CREATE TABLE future (x); PRAGMA user_version = 99");
    sqlite3_close(db);
    char err[512] = "", want[512];
    struct store *st = NULL;
    CHECK(store_open(path, &st, err, sizeof err) == -1 && st == NULL);
    snprintf(want, sizeof want,
             "database %s has schema version 99, newer than this conlab knows (%d); upgrade conlab",
             path, store_schema_latest());
    CHECK(!strcmp(err, want));
    if (strcmp(err, want)) fprintf(stderr, "  got: %s\n", err);
    CHECK(query_int(path, "PRAGMA user_version") == 99); /* left as it was */
}

static void test_not_a_database(void)
{
    const char *path = path_in("notes.txt");
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    for (int i = 0; i < 64; i++)
        fputs("these are notes, not a database\n", f);
    fclose(f);
    char err[512] = "";
    struct store *st = NULL;
    CHECK(store_open(path, &st, err, sizeof err) == -1 && st == NULL);
    CHECK(strstr(err, path) != NULL);
    CHECK(strstr(err, "not a database") != NULL);

    /* a folder where the file should be */
    mkdir(path_in("adir.db"), 0755);
    err[0] = '\0';
    CHECK(store_open(path_in("adir.db"), &st, err, sizeof err) == -1);
    CHECK(strstr(err, "adir.db") != NULL);
    /* a folder that cannot be created (a file is in the way) */
    err[0] = '\0';
    CHECK(store_open(path_in("notes.txt/sub/x.db"), &st, err, sizeof err) == -1);
    CHECK(strstr(err, "notes.txt") != NULL);
}


static void test_runs_round_trip(void)
{
    const char *path = path_in("runs.db");
    struct store *st = open_ok(path);
    char err[256] = "";
    CHECK(create_run(st, "run000000001",
                           spec_text("http://a/", "x", 3, "[\"sync\",\"async\"]"), "queued",
                           1700000000000000, err, sizeof err) == 0);
    CHECK(create_run(st, "run000000002", spec_text("http://b/", "x", 5, "[\"threads\"]"),
                           "running", 1700000001000000, err, sizeof err) == 0);
    CHECK(create_run(st, "run000000003", spec_text("http://a/", "y", 2, "[\"sync\"]"),
                           "queued", 1700000002500000, err, sizeof err) == 0);
    /* refused: duplicate id, unknown status, a spec that is not JSON */
    CHECK(create_run(st, "run000000001", spec_text("http://a/", "", 1, "[\"sync\"]"),
                           "queued", 1, err, sizeof err) == -1);
    CHECK(strstr(err, "UNIQUE") != NULL);
    CHECK(create_run(st, "run000000009", spec_text("http://a/", "", 1, "[\"sync\"]"), "weird",
                           1, err, sizeof err) == -1);
    CHECK(create_run(st, "run000000009", "{not json", "queued", 1, err, sizeof err) == -1);

    bool found = false;
    cJSON *run = load_run(st, "run000000001", &found, err, sizeof err);
    REQUIRE(found && run);
    CHECK(!strcmp(str(run, "id"), "run000000001"));
    CHECK(!strcmp(str(run, "status"), "queued"));
    CHECK(num(run, "created_us") == 1700000000000000.0);
    CHECK(num(run, "finished_us") == -1);
    CHECK(cJSON_IsNull(get(run, "message")));
    CHECK(!strcmp(str(run, "label"), "x"));
    CHECK(!strcmp(str(get(get(run, "spec"), "target"), "url"), "http://a/"));
    CHECK(num(run, "done") == 0 && cJSON_GetArraySize(get(run, "modes")) == 0);
    CHECK(cJSON_IsNull(get(run, "mode")));
    CHECK(cJSON_IsArray(get(run, "results")) && cJSON_GetArraySize(get(run, "results")) == 0);
    cJSON_Delete(run);

    CHECK(load_run(st, "nope", &found, err, sizeof err) == NULL && !found);

    char status[32];
    CHECK(store_run_status(st, "run000000002", status, sizeof status, err, sizeof err) == 0);
    CHECK(!strcmp(status, "running"));
    CHECK(store_run_status(st, "nope", status, sizeof status, err, sizeof err) == STORE_NOT_FOUND &&
          status[0] == '\0');

    CHECK(store_run_set_status(st, "run000000002", "failed", 1700000009123000, "no target", err,
                               sizeof err) == 0);
    CHECK(store_run_set_status(st, "nope", "failed", 1, NULL, err, sizeof err) == STORE_NOT_FOUND);
    CHECK(store_run_set_status(st, "run000000002", "bogus", -1, NULL, err, sizeof err) == -1);
    run = load_run(st, "run000000002", &found, err, sizeof err);
    REQUIRE(run);
    CHECK(!strcmp(str(run, "status"), "failed"));
    CHECK(num(run, "finished_us") == 1700000009123000.0);
    CHECK(!strcmp(str(run, "message"), "no target"));
    cJSON_Delete(run);

    CHECK(count_list(st, 50, 0, NULL, NULL, "run000000003") == 3);
    CHECK(count_list(st, 1, 1, NULL, NULL, "run000000002") == 1);
    CHECK(count_list(st, 50, 0, "http://a/", NULL, NULL) == 2);
    CHECK(count_list(st, 50, 0, NULL, "x", NULL) == 2);
    CHECK(count_list(st, 50, 0, "http://a/", "x", "run000000001") == 1);
    CHECK(count_list(st, 50, 0, "http://a", NULL, NULL) == 0); /* exact, not prefix */
    {
        struct store_run *runs;
        int n;
        REQUIRE(store_run_list(st, 50, 0, NULL, NULL, &runs, &n, err, sizeof err) == 0 && n == 3);
        CHECK(!strcmp(runs[2].id, "run000000001")); /* newest first */
        store_runs_free(runs, n);
    }

    /* delete: the mode and request rows go with the run */
    struct bench_record r[3] = {rec(0, 0, 0, 100, REQ_OK), rec(1, 0, 100, 200, REQ_OK),
                                rec(2, 0, 200, 300, REQ_ERR_RESET)};
    CHECK(store_mode_begin(st, "run000000001", MODE_SYNC, 3, 3, 1, err, sizeof err) == 0);
    CHECK(store_add_records(st, "run000000001", MODE_SYNC, 3, r, 3, &msgs, err, sizeof err) == 0);
    CHECK(query_int(path, "SELECT count(*) FROM requests") == 3);
    CHECK(store_run_delete(st, "run000000001", err, sizeof err) == 0);
    CHECK(store_run_delete(st, "run000000001", err, sizeof err) == STORE_NOT_FOUND);
    CHECK(load_run(st, "run000000001", &found, err, sizeof err) == NULL && !found);
    CHECK(query_int(path, "SELECT count(*) FROM requests") == 0);
    CHECK(query_int(path, "SELECT count(*) FROM modes") == 0);
    CHECK(query_int(path, "SELECT count(*) FROM runs") == 2);
    store_close(st);
}

struct counter {
    int64_t n, by_mode[MODE_COUNT], last_seq, stop_after;
    int order_ok;
};

static int count_fn(void *ctx, int mode, int64_t concurrency, const struct bench_record *r,
                    const char *error)
{
    (void)error;
    struct counter *c = ctx;
    if (concurrency != 3) c->order_ok = 0; /* every point of these runs is at level 3 */
    if (mode >= 0 && mode < MODE_COUNT) c->by_mode[mode]++;
    if (c->n > 0 && r->seq <= c->last_seq && c->by_mode[mode] > 1) c->order_ok = 0;
    c->last_seq = r->seq;
    c->n++;
    return c->stop_after > 0 && c->n >= c->stop_after;
}

static void test_records(void)
{
    const char *path = path_in("records.db");
    struct store *st = open_ok(path);
    char err[256] = "";
    const char *id = "rec000000001";
    REQUIRE(create_run(st, id, spec_text("http://a/", "", 10, "[\"async\",\"sync\"]"),
                             "running", 1700000000000000, err, sizeof err) == 0);
    CHECK(store_mode_begin(st, id, MODE_ASYNC, 3, 10, 4, err, sizeof err) == 0);
    struct bench_record r[10];
    for (int i = 0; i < 10; i++)
        r[i] = rec(i, i % 4, i * 1000, i * 1000 + 500 + i, REQ_OK);
    r[3].connect_us = -1; /* never connected */
    r[3].ttfb_us = -1;
    r[3].status = 0;
    r[3].err_kind = REQ_ERR_CONNECT;
    r[3].msg = MSG_REFUSED;
    r[7].ttfb_us = -1;
    r[7].status = 503;
    r[7].err_kind = REQ_ERR_STATUS;
    r[7].msg = -1; /* no message: stored NULL, shown as the kind */
    /* out of order, in two batches, as threads finish */
    struct bench_record b1[5] = {r[4], r[0], r[2], r[1], r[3]};
    struct bench_record b2[5] = {r[9], r[5], r[8], r[6], r[7]};
    CHECK(store_add_records(st, id, MODE_ASYNC, 3, b1, 5, &msgs, err, sizeof err) == 0);
    cJSON *run = load_run(st, id, NULL, err, sizeof err);
    REQUIRE(run);
    CHECK(num(run, "done") == 5);
    CHECK(!strcmp(str(run, "mode"), "async"));
    CHECK(num(get(get(run, "modes"), "async"), "done") == 5);
    CHECK(num(get(get(run, "modes"), "async"), "total") == 10);
    cJSON_Delete(run);
    CHECK(store_add_records(st, id, MODE_ASYNC, 3, b2, 5, &msgs, err, sizeof err) == 0);

    /* a duplicate seq fails the whole batch, leaving nothing of it behind */
    struct bench_record dup[2] = {rec(10, 0, 0, 1, REQ_OK), r[0]};
    CHECK(store_add_records(st, id, MODE_ASYNC, 3, dup, 2, &msgs, err, sizeof err) == -1);
    CHECK(strstr(err, "seq 0") != NULL);
    CHECK(query_int(path, "SELECT count(*) FROM requests") == 10);
    CHECK(query_int(path, "SELECT done FROM modes") == 10);
    /* an unknown run or mode is refused */
    CHECK(store_add_records(st, "nope", MODE_ASYNC, 3, r, 1, &msgs, err, sizeof err) == -1);
    CHECK(store_add_records(st, id, 7, 3, r, 1, &msgs, err, sizeof err) == -1);
    CHECK(store_mode_begin(st, "nope", MODE_SYNC, 3, 1, 1, err, sizeof err) == -1);

    CHECK(query_int(path, "SELECT count(*) FROM requests WHERE connect_us IS NULL") == 1);
    CHECK(query_int(path, "SELECT count(*) FROM requests WHERE ttfb_us IS NULL") == 2);
    CHECK(query_int(path, "SELECT count(*) FROM requests WHERE status IS NULL") == 1);
    CHECK(query_int(path, "SELECT count(*) FROM requests WHERE error IS NULL") == 9);

    cJSON *page = page_of(st, id, MODE_ASYNC, 3, 1000, 0, &prc, err, sizeof err);
    REQUIRE(page);
    CHECK(!strcmp(str(page, "mode"), "async"));
    CHECK(num(page, "total") == 10);
    const cJSON *rows = get(page, "requests");
    CHECK(cJSON_GetArraySize(rows) == 10);
    for (int i = 0; i < cJSON_GetArraySize(rows); i++)
        CHECK(num(cJSON_GetArrayItem(rows, i), "seq") == i);
    const cJSON *r3 = cJSON_GetArrayItem(rows, 3);
    CHECK(cJSON_IsNull(get(r3, "connect_us")) && cJSON_IsNull(get(r3, "ttfb_us")));
    CHECK(cJSON_IsNull(get(r3, "status")));
    CHECK(!strcmp(str(r3, "error"), "Connection refused"));
    CHECK(!strcmp(str(r3, "error_kind"), "connect"));
    CHECK(num(r3, "lane") == 3 && num(r3, "start_us") == 3000 && num(r3, "end_us") == 3503);
    const cJSON *r7 = cJSON_GetArrayItem(rows, 7);
    CHECK(num(r7, "status") == 503 && num(r7, "connect_us") == 7010);
    CHECK(!strcmp(str(r7, "error_kind"), "status") && !strcmp(str(r7, "error"), "status"));
    const cJSON *r0 = cJSON_GetArrayItem(rows, 0);
    CHECK(cJSON_IsNull(get(r0, "error")) && num(r0, "status") == 200 && num(r0, "bytes") == 22);
    CHECK(num(r0, "sched_us") == 0 && num(r0, "ttfb_us") == 495);
    cJSON_Delete(page);

    /* paging on contiguous seqs (index seek) ... */
    page = page_of(st, id, MODE_ASYNC, 3, 3, 4, &prc, err, sizeof err);
    REQUIRE(page);
    rows = get(page, "requests");
    CHECK(cJSON_GetArraySize(rows) == 3 && num(cJSON_GetArrayItem(rows, 0), "seq") == 4 &&
          num(cJSON_GetArrayItem(rows, 2), "seq") == 6);
    cJSON_Delete(page);
    page = page_of(st, id, MODE_ASYNC, 3, 5, 8, &prc, err, sizeof err);
    CHECK(page && cJSON_GetArraySize(get(page, "requests")) == 2);
    cJSON_Delete(page);
    page = page_of(st, id, MODE_ASYNC, 3, 5, 50, &prc, err, sizeof err);
    CHECK(page && cJSON_GetArraySize(get(page, "requests")) == 0 && num(page, "total") == 10);
    cJSON_Delete(page);
    /* ... and on seqs with gaps (OFFSET) */
    struct bench_record gaps[4] = {rec(1, 0, 0, 10, REQ_OK), rec(5, 0, 10, 20, REQ_OK),
                                   rec(6, 0, 20, 30, REQ_OK), rec(9, 0, 30, 40, REQ_OK)};
    CHECK(store_add_records(st, id, MODE_SYNC, 3, gaps, 4, &msgs, err, sizeof err) == 0);
    page = page_of(st, id, MODE_SYNC, 3, 2, 1, &prc, err, sizeof err);
    REQUIRE(page);
    rows = get(page, "requests");
    CHECK(num(page, "total") == 4 && cJSON_GetArraySize(rows) == 2);
    CHECK(num(cJSON_GetArrayItem(rows, 0), "seq") == 5 &&
          num(cJSON_GetArrayItem(rows, 1), "seq") == 6);
    cJSON_Delete(page);
    page = page_of(st, id, MODE_THREADS, 3, 10, 0, &prc, err, sizeof err);
    CHECK(page && num(page, "total") == 0 && cJSON_GetArraySize(get(page, "requests")) == 0);
    cJSON_Delete(page);
    CHECK(page_of(st, id, 9, 3, 10, 0, &prc, err, sizeof err) == NULL && prc == -1);
    /* an unknown run is named as such, not an empty page */
    CHECK(page_of(st, "nosuchrun000", MODE_THREADS, 3, 10, 0, &prc, err, sizeof err) == NULL &&
          prc == STORE_NOT_FOUND);

    struct counter c = {.order_ok = 1};
    CHECK(store_each_request(st, id, -1, count_fn, &c, err, sizeof err) == 0);
    CHECK(c.n == 14 && c.by_mode[MODE_ASYNC] == 10 && c.by_mode[MODE_SYNC] == 4 && c.order_ok);
    memset(&c, 0, sizeof c);
    c.order_ok = 1;
    CHECK(store_each_request(st, id, MODE_SYNC, count_fn, &c, err, sizeof err) == 0);
    CHECK(c.n == 4 && c.by_mode[MODE_SYNC] == 4);
    memset(&c, 0, sizeof c);
    c.stop_after = 3;
    CHECK(store_each_request(st, id, -1, count_fn, &c, err, sizeof err) == 0);
    CHECK(c.n == 3 && c.by_mode[MODE_ASYNC] == 3); /* run order: async began first */
    memset(&c, 0, sizeof c);
    CHECK(store_each_request(st, "nope", -1, count_fn, &c, err, sizeof err) == 0 && c.n == 0);
    store_close(st);
}

/* Stores one finished mode of n rows: lanes round robin, each request `lat` µs, one after
 * another per lane; every `err_every`-th request fails (0: none). */
static void fill_mode(struct store *st, const char *id, int mode, int64_t n, int64_t lanes,
                      int64_t err_every, struct mode_result *res)
{
    char err[256] = "";
    REQUIRE(store_mode_begin(st, id, mode, 3, n, lanes, err, sizeof err) == 0);
    struct bench_record batch[1000];
    size_t nb = 0;
    memset(res, 0, sizeof *res);
    res->mode = mode;
    res->concurrency = 3;
    res->requests = n;
    res->lanes = lanes;
    int64_t max_end = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t lane = i % lanes, k = i / lanes;
        int64_t lat = 1000 + (i * 7919) % 9000; /* 1..10 ms */
        int kind = err_every && i % err_every == err_every - 1 ? REQ_ERR_TIMEOUT : REQ_OK;
        batch[nb++] = rec(i, lane, k * 10000, k * 10000 + lat, kind);
        if (k * 10000 + lat > max_end) max_end = k * 10000 + lat;
        if (kind == REQ_OK)
            res->ok++;
        else
            res->errors++;
        if (nb == 1000 || i == n - 1) {
            REQUIRE(store_add_records(st, id, mode, 3, batch, nb, &msgs, err, sizeof err) == 0);
            nb = 0;
        }
    }
    res->wall_ms = max_end / 1000.0;
    res->rps = n / (res->wall_ms / 1000.0);
    res->has_latency = res->ok > 0;
}

/* Checks the shape of docs/API.md's charts mode object; returns the timeline's row count. */
static int check_chart_shape(const cJSON *m, int64_t total, int64_t ok, int64_t errors)
{
    CHECK(num(m, "total") == total);
    const cJSON *h = get(m, "histogram");
    const cJSON *edges = get(h, "edges_ms"), *counts = get(h, "counts");
    int k = cJSON_GetArraySize(counts);
    CHECK(k >= 1 && k <= 60 && cJSON_GetArraySize(edges) == k + 1);
    double sum = 0, prev = -1;
    for (int i = 0; i < k; i++)
        sum += cJSON_GetArrayItem(counts, i)->valuedouble;
    for (int i = 0; i <= k; i++) {
        double e = cJSON_GetArrayItem(edges, i)->valuedouble;
        CHECK(e >= prev);
        prev = e;
    }
    CHECK(sum == ok);

    const cJSON *cdf = get(m, "cdf");
    int np = cJSON_GetArraySize(cdf);
    CHECK(np >= 1 && np <= 200);
    double px = -1, py = 0;
    for (int i = 0; i < np; i++) {
        const cJSON *p = cJSON_GetArrayItem(cdf, i);
        double x = cJSON_GetArrayItem(p, 0)->valuedouble, y = cJSON_GetArrayItem(p, 1)->valuedouble;
        CHECK(x >= px && y > py && y <= 1.0);
        px = x;
        py = y;
    }
    CHECK(py == 1.0);
    CHECK(px == cJSON_GetArrayItem(edges, k)->valuedouble); /* ends at the max latency */

    const cJSON *tp = get(m, "throughput");
    const cJSON *points = get(tp, "points");
    int ni = cJSON_GetArraySize(points);
    CHECK(num(tp, "interval_ms") > 0 && ni >= 1 && ni <= 200);
    double ok_sum = 0, err_sum = 0;
    for (int i = 0; i < ni; i++) {
        const cJSON *p = cJSON_GetArrayItem(points, i);
        ok_sum += num(p, "ok");
        err_sum += num(p, "errors");
        CHECK(num(p, "t_ms") == i * num(tp, "interval_ms"));
        CHECK(num(p, "rps") == (num(p, "ok") + num(p, "errors")) * 1000 / num(tp, "interval_ms"));
        if (num(p, "ok") > 0) {
            CHECK(num(p, "p50_ms") >= 1.0 && num(p, "p50_ms") <= num(p, "p99_ms") &&
                  num(p, "p99_ms") <= 10.0);
        } else {
            CHECK(cJSON_IsNull(get(p, "p50_ms")) && cJSON_IsNull(get(p, "p99_ms")));
        }
    }
    CHECK(ok_sum == ok && err_sum == errors);

    const cJSON *tl = get(m, "timeline");
    CHECK(num(tl, "total") == total);
    const cJSON *rows = get(tl, "requests");
    double prev_seq = -1;
    for (int i = 0; i < cJSON_GetArraySize(rows); i++) {
        double seq = num(cJSON_GetArrayItem(rows, i), "seq");
        CHECK(seq > prev_seq);
        prev_seq = seq;
    }
    return cJSON_GetArraySize(rows);
}

static void test_charts(void)
{
    const char *path = path_in("charts.db");
    struct store *st = open_ok(path);
    char err[256] = "";
    const char *id = "cha000000001";
    REQUIRE(create_run(st, id, spec_text("http://a/", "", 10, "[\"sync\",\"threads\"]"),
                             "running", 1700000000000000, err, sizeof err) == 0);
    bool found = false;
    cJSON *charts = charts_of(st, id, 0, &found, err, sizeof err);
    CHECK(found && charts && cJSON_GetArraySize(get(charts, "modes")) == 0);
    cJSON_Delete(charts);

    /* A small known set: latencies 1, 2, 3, 4 ms, one error; one lane. */
    struct bench_record r[5] = {rec(0, 0, 0, 1000, REQ_OK), rec(1, 0, 1000, 3000, REQ_OK),
                                rec(2, 0, 3000, 6000, REQ_OK), rec(3, 0, 6000, 10000, REQ_OK),
                                rec(4, 0, 10000, 10500, REQ_ERR_RESET)};
    REQUIRE(store_mode_begin(st, id, MODE_SYNC, 3, 5, 1, err, sizeof err) == 0);
    REQUIRE(store_add_records(st, id, MODE_SYNC, 3, r, 5, &msgs, err, sizeof err) == 0);
    struct mode_result res = {.mode = MODE_SYNC, .concurrency = 3,
                              .requests = 5,
                              .ok = 4,
                              .errors = 1,
                              .wall_ms = 10.7,
                              .rps = 467.3,
                              .lanes = 1,
                              .has_latency = 1};
    res.latency_ms = (struct latency_summary){1, 2.5, 2.5, 3.7, 3.97, 4};
    res.errors_by_kind[REQ_ERR_RESET] = 1;
    CHECK(store_mode_finish(st, id, &res, err, sizeof err) == 0);

    charts = charts_of(st, id, 0, &found, err, sizeof err);
    REQUIRE(charts);
    const cJSON *m = cJSON_GetArrayItem(get(charts, "modes"), 0);
    REQUIRE(m);
    CHECK(!strcmp(str(m, "mode"), "sync") && num(m, "wall_ms") == 10.7);
    CHECK(check_chart_shape(m, 5, 4, 1) == 5);
    CHECK(cJSON_IsFalse(get(get(m, "timeline"), "sampled")));
    CHECK(num(get(m, "timeline"), "lanes") == 1);
    const cJSON *edges = get(get(m, "histogram"), "edges_ms");
    CHECK(cJSON_GetArrayItem(edges, 0)->valuedouble == 1.0);
    CHECK(cJSON_GetArrayItem(edges, cJSON_GetArraySize(edges) - 1)->valuedouble == 4.0);
    /* exact CDF: 1 ms holds 1/4, 4 ms holds all */
    const cJSON *cdf = get(m, "cdf");
    CHECK(cJSON_GetArraySize(cdf) == 4);
    const cJSON *p0 = cJSON_GetArrayItem(cdf, 0);
    CHECK(cJSON_GetArrayItem(p0, 1)->valuedouble == 0.25);
    CHECK(cJSON_GetArrayItem(p0, 0)->valuedouble >= 1.0 &&
          cJSON_GetArrayItem(p0, 0)->valuedouble < 1.01);
    /* 1 ms intervals over 0..10.5 ms: request 0 ends at 1 ms, the error at 10.5 ms */
    const cJSON *tp = get(m, "throughput");
    CHECK(num(tp, "interval_ms") == 1);
    CHECK(cJSON_GetArraySize(get(tp, "points")) == 11);
    const cJSON *last = cJSON_GetArrayItem(get(tp, "points"), 10);
    CHECK(num(last, "errors") == 1 && num(last, "ok") == 1 && num(last, "p50_ms") == 4.0);
    CHECK(num(cJSON_GetArrayItem(get(tp, "points"), 1), "p99_ms") == 1.0);
    cJSON_Delete(charts);

    cJSON *run = load_run(st, id, &found, err, sizeof err);
    REQUIRE(run);
    const cJSON *results = get(run, "results");
    CHECK(cJSON_GetArraySize(results) == 1);
    const cJSON *r0 = cJSON_GetArrayItem(results, 0);
    CHECK(!strcmp(str(r0, "mode"), "sync") && num(r0, "ok") == 4 && num(r0, "errors") == 1);
    CHECK(num(get(r0, "latency_ms"), "p50") == 2.5);
    cJSON_Delete(run);

    /* 20,000 rows over 4 lanes: a sampled timeline, every error kept (they fall in distinct
     * cells), the histogram still exact. */
    fill_mode(st, id, MODE_THREADS, 20000, 4, 2500, &res);
    CHECK(store_mode_finish(st, id, &res, err, sizeof err) == 0);
    charts = charts_of(st, id, 0, &found, err, sizeof err);
    REQUIRE(charts && cJSON_GetArraySize(get(charts, "modes")) == 2);
    m = cJSON_GetArrayItem(get(charts, "modes"), 1);
    CHECK(!strcmp(str(m, "mode"), "threads"));
    int n = check_chart_shape(m, 20000, res.ok, res.errors);
    CHECK(n > 1000 && n <= 5000);
    CHECK(cJSON_IsTrue(get(get(m, "timeline"), "sampled")));
    CHECK(num(get(m, "timeline"), "lanes") == 4);
    const cJSON *rows = get(get(m, "timeline"), "requests");
    int errs = 0, lanes_seen[4] = {0};
    for (int i = 0; i < cJSON_GetArraySize(rows); i++) {
        const cJSON *row = cJSON_GetArrayItem(rows, i);
        if (!cJSON_IsNull(get(row, "error"))) errs++;
        int lane = (int)num(row, "lane");
        if (lane >= 0 && lane < 4) lanes_seen[lane]++;
    }
    CHECK(errs == res.errors && res.errors == 8);
    for (int l = 0; l < 4; l++)
        CHECK(lanes_seen[l] > 200);
    cJSON_Delete(charts);

    run = load_run(st, id, &found, err, sizeof err);
    CHECK(run && cJSON_GetArraySize(get(run, "results")) == 2);
    CHECK(!strcmp(str(cJSON_GetArrayItem(get(run, "results"), 1), "mode"), "threads"));
    /* more rows than the spec announced (10 × 2): all of them counted (the API's total never
     * falls below done: test_dashboard) */
    CHECK(num(run, "done") == 20005);
    cJSON_Delete(run);
    CHECK(charts_of(st, "nope", 0, &found, err, sizeof err) == NULL && !found);

    /* a mode with no ok request: empty histogram and CDF, counted errors */
    const char *id2 = "cha000000002";
    REQUIRE(create_run(st, id2, spec_text("http://a/", "", 3, "[\"async\"]"), "running",
                             1700000000000000, err, sizeof err) == 0);
    struct bench_record bad[3] = {rec(0, 0, 0, 50, REQ_ERR_CONNECT),
                                  rec(1, 1, 0, 60, REQ_ERR_CONNECT),
                                  rec(2, 2, 0, 70, REQ_ERR_CONNECT)};
    REQUIRE(store_mode_begin(st, id2, MODE_ASYNC, 3, 3, 3, err, sizeof err) == 0);
    REQUIRE(store_add_records(st, id2, MODE_ASYNC, 3, bad, 3, &msgs, err, sizeof err) == 0);
    struct mode_result bres = {.mode = MODE_ASYNC, .concurrency = 3, .requests = 3, .errors = 3, .lanes = 3};
    CHECK(store_mode_finish(st, id2, &bres, err, sizeof err) == 0);
    charts = charts_of(st, id2, 0, &found, err, sizeof err);
    REQUIRE(charts);
    m = cJSON_GetArrayItem(get(charts, "modes"), 0);
    CHECK(m && cJSON_GetArraySize(get(get(m, "histogram"), "counts")) == 0);
    CHECK(m && cJSON_GetArraySize(get(m, "cdf")) == 0);
    CHECK(m && num(cJSON_GetArrayItem(get(get(m, "throughput"), "points"), 0), "errors") == 3);
    CHECK(m && cJSON_GetArraySize(get(get(m, "timeline"), "requests")) == 3);
    cJSON_Delete(charts);
    store_close(st);
    CHECK(query_int(path,
                    "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") ==
          1);
}

static void test_mark_interrupted(void)
{
    const char *path = path_in("interrupt.db");
    struct store *st = open_ok(path);
    char err[256] = "";
    const char *spec = spec_text("http://a/", "", 1, "[\"sync\"]");
    CHECK(create_run(st, "int000000001", spec, "queued", 1, err, sizeof err) == 0);
    CHECK(create_run(st, "int000000002", spec, "running", 2, err, sizeof err) == 0);
    CHECK(create_run(st, "int000000003", spec, "running", 3, err, sizeof err) == 0);
    CHECK(store_run_set_status(st, "int000000003", "done", 5, NULL, err, sizeof err) == 0);
    CHECK(store_mark_interrupted(st, 1700000000000000, err, sizeof err) == 2);
    CHECK(store_mark_interrupted(st, 1700000000000000, err, sizeof err) == 0);
    char status[32];
    for (int i = 1; i <= 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "int00000000%d", i);
        CHECK(store_run_status(st, id, status, sizeof status, err, sizeof err) == 0);
        CHECK(!strcmp(status, i < 3 ? "interrupted" : "done"));
    }
    cJSON *run = load_run(st, "int000000002", NULL, err, sizeof err);
    REQUIRE(run);
    CHECK(num(run, "finished_us") == 1700000000000000.0);
    CHECK(strstr(str(run, "message"), "running") != NULL);
    cJSON_Delete(run);
    store_close(st);
}

struct writer {
    struct store *st;
    int mode;
    int rc;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    struct bench_record b[100];
    char err[256];
    for (int k = 0; k < 20 && w->rc == 0; k++) {
        for (int i = 0; i < 100; i++)
            b[i] = rec(k * 100 + i, 0, i, i + 10, REQ_OK);
        w->rc = store_add_records(w->st, "thr000000001", w->mode, 3, b, 100, &msgs, err, sizeof err);
    }
    return NULL;
}

/* Two threads on one store, and a second connection reading while they write. */
static void test_threads(void)
{
    const char *path = path_in("threads.db");
    struct store *st = open_ok(path), *reader = open_ok(path);
    char err[256] = "";
    REQUIRE(create_run(st, "thr000000001",
                             spec_text("http://a/", "", 2000, "[\"sync\",\"async\"]"), "running", 1,
                             err, sizeof err) == 0);
    struct writer w[2] = {{st, MODE_SYNC, 0}, {st, MODE_ASYNC, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        REQUIRE(pthread_create(&t[i], NULL, writer_main, &w[i]) == 0);
    for (int i = 0; i < 20; i++) {
        cJSON *run = load_run(reader, "thr000000001", NULL, err, sizeof err);
        CHECK(run != NULL);
        cJSON_Delete(run);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(w[0].rc == 0 && w[1].rc == 0);
    cJSON *run = load_run(reader, "thr000000001", NULL, err, sizeof err);
    CHECK(run && num(run, "done") == 4000);
    cJSON_Delete(run);
    store_close(reader);
    store_close(st);
}

static double now_s(void)
{
    return clock_us() / 1e6;
}

static void bench(int64_t n)
{
    const char *path = path_in("bench.db");
    struct store *st = open_ok(path);
    char err[256] = "";
    REQUIRE(create_run(st, "ben000000001",
                             spec_text("http://a/", "", (int)n, "[\"threads\"]"), "running", 1, err,
                             sizeof err) == 0);
    struct mode_result res;
    double t0 = now_s();
    fill_mode(st, "ben000000001", MODE_THREADS, n, 50, 1000, &res);
    double t1 = now_s();
    CHECK(store_mode_finish(st, "ben000000001", &res, err, sizeof err) == 0);
    double t2 = now_s();
    bool found;
    cJSON *charts = charts_of(st, "ben000000001", 0, &found, err, sizeof err);
    double t3 = now_s();
    const cJSON *m = charts ? cJSON_GetArrayItem(get(charts, "modes"), 0) : NULL;
    CHECK(m && check_chart_shape(m, n, res.ok, res.errors) <= 5000);
    char *text = charts ? cJSON_PrintUnformatted(charts) : NULL;
    printf("bench: %lld records in batches of 1000: %.2f s, %.0f records/s\n", (long long)n,
           t1 - t0, n / (t1 - t0));
    printf("bench: store_mode_finish over %lld rows: %.3f s; store_charts: %.3f s, %zu bytes\n",
           (long long)n, t2 - t1, t3 - t2, text ? strlen(text) : 0);
    free(text);
    cJSON_Delete(charts);
    double t4 = now_s();
    cJSON *page =
        page_of(st, "ben000000001", MODE_THREADS, 3, 1000, n - 1000, &prc, err, sizeof err);
    double t5 = now_s();
    CHECK(page && cJSON_GetArraySize(get(page, "requests")) == 1000);
    cJSON_Delete(page);
    printf("bench: last page of 1000 rows: %.4f s\n", t5 - t4);
    t4 = now_s();
    CHECK(store_run_delete(st, "ben000000001", err, sizeof err) == 0);
    printf("bench: deleting the run: %.3f s\n", now_s() - t4);
    store_close(st);
}

static void remove_tree(const char *d)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", d);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The throughput chart's per-interval p50 and p99, checked against the stored rows themselves:
 * each interval's latencies are gathered from the rows that ended in it, and the chart's value
 * must lie between the two ranks around p (within 1 %: its histogram's bucket width). */
static void test_chart_percentiles_from_rows(void)
{
    const char *path = path_in("pct.db");
    struct store *st = open_ok(path);
    char err[256] = "";
    const char *id = "pct000000001";
    enum { N = 2000 };
    REQUIRE(create_run(st, id, spec_text("http://a/", "", N, "[\"async\"]"), "running",
                       1700000000000000, err, sizeof err) == 0);
    static struct bench_record r[N];
    for (int i = 0; i < N; i++) {
        int64_t end = 100000 + (int64_t)i * 100, lat = ((int64_t)i * 37 % 50 + 1) * 1000;
        r[i] = rec(i, i % 8, end - lat, end, REQ_OK);
    }
    REQUIRE(store_mode_begin(st, id, MODE_ASYNC, 8, N, 8, err, sizeof err) == 0);
    REQUIRE(store_add_records(st, id, MODE_ASYNC, 8, r, N, &msgs, err, sizeof err) == 0);
    struct mode_result res = {.mode = MODE_ASYNC, .concurrency = 8, .requests = N, .ok = N,
                              .wall_ms = 300, .lanes = 8, .has_latency = 1};
    REQUIRE(store_mode_finish(st, id, &res, err, sizeof err) == 0);
    bool found;
    cJSON *charts = charts_of(st, id, 0, &found, err, sizeof err);
    REQUIRE(charts);
    const cJSON *tp = get(cJSON_GetArrayItem(get(charts, "modes"), 0), "throughput");
    int64_t interval = (int64_t)(num(tp, "interval_ms") * 1000);
    REQUIRE(interval > 0);
    int checked = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, get(tp, "points"))
    {
        int64_t t = (int64_t)(num(p, "t_ms") * 1000), lat[N];
        int n = 0;
        for (int i = 0; i < N; i++)
            if (r[i].end_us >= t && r[i].end_us < t + interval) lat[n++] = r[i].end_us - r[i].start_us;
        CHECK(num(p, "ok") == n);
        if (n < 10) continue;
        qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
        const struct {
            const char *key;
            double pct;
        } want[] = {{"p50_ms", 50}, {"p99_ms", 99}};
        for (size_t k = 0; k < 2; k++) {
            double rank = want[k].pct / 100.0 * (n - 1);
            double lo = lat[(int)rank] / 1000.0, hi = lat[(int)ceil(rank)] / 1000.0;
            double got = num(p, want[k].key);
            if (!(got >= lo * 0.99 && got <= hi * 1.01))
                fprintf(stderr, "interval at %lld ms: %s %.3f, rows say %.3f..%.3f\n",
                        (long long)(t / 1000), want[k].key, got, lo, hi);
            CHECK(got >= lo * 0.99 && got <= hi * 1.01);
        }
        checked++;
    }
    CHECK(checked >= 10);
    cJSON_Delete(charts);
    store_close(st);
}

/* A read that fails in SQLite is an error, never a zero: the requests page of a mode whose
 * counter cannot be read must fail instead of saying "total: 0" next to its rows. */
static void test_read_errors_are_errors(void)
{
    const char *path = path_in("readerr.db");
    struct store *st = open_ok(path);
    char err[256] = "";
    const char *id = "readerr00001";
    REQUIRE(create_run(st, id, spec_text("http://a/", "", 2, "[\"sync\"]"), "running",
                             1700000000000000, err, sizeof err) == 0);
    struct bench_record r[2] = {rec(0, 0, 0, 100, REQ_OK), rec(1, 0, 100, 200, REQ_OK)};
    REQUIRE(store_add_records(st, id, MODE_SYNC, 3, r, 2, &msgs, err, sizeof err) == 0);
    cJSON *page = page_of(st, id, MODE_SYNC, 3, 10, 0, &prc, err, sizeof err);
    CHECK(page && num(page, "total") == 2);
    cJSON_Delete(page);
    /* Another process breaks the modes table; the requests table still reads. */
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    exec_sql(db, "ALTER TABLE modes RENAME TO modes_gone");
    sqlite3_close(db);
    err[0] = '\0';
    page = page_of(st, id, MODE_SYNC, 3, 10, 0, &prc, err, sizeof err);
    CHECK(page == NULL);
    CHECK(strstr(err, "reading requests") != NULL);
    cJSON_Delete(page);
    struct mode_result res;
    memset(&res, 0, sizeof res);
    res.mode = MODE_SYNC;
    res.concurrency = 3;
    res.requests = 2;
    err[0] = '\0';
    CHECK(store_mode_finish(st, id, &res, err, sizeof err) == -1 && err[0]);
    store_close(st);
}

/* Peak RSS of this process in kB since the last reset (writing 5 to clear_refs resets it). */
static int64_t peak_kb(bool reset)
{
    if (reset) {
        FILE *f = fopen("/proc/self/clear_refs", "w");
        if (f) fputs("5", f), fclose(f);
    }
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

/* A run's C data (what GET /api/runs/ID shows) does not read the charts, which can be a megabyte
 * a point: with them, every such request of an ended run took ~2.5 ms. A 40 MB charts text must
 * not pass through memory. */
static void test_run_get_skips_charts(void)
{
    const char *path = path_in("charts-skip.db");
    struct store *st = open_ok(path);
    char err[256] = "";
    const char *id = "skip00000001";
    REQUIRE(create_run(st, id, spec_text("http://a/", "", 2, "[\"sync\"]"), "running",
                       1700000000000000, err, sizeof err) == 0);
    struct bench_record r[2] = {rec(0, 0, 0, 100, REQ_OK), rec(1, 0, 100, 200, REQ_OK)};
    REQUIRE(store_add_records(st, id, MODE_SYNC, 3, r, 2, &msgs, err, sizeof err) == 0);
    struct mode_result res = {.mode = MODE_SYNC, .concurrency = 3, .requests = 2, .ok = 2, .lanes = 1};
    REQUIRE(store_mode_finish(st, id, &res, err, sizeof err) == 0);
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
    exec_sql(db, "UPDATE charts SET charts_json = '{\"pad\":\"' || printf('%.*c', 40000000, 'x') || '\"}'");
    sqlite3_close(db);
    int64_t before = peak_kb(true);
    cJSON *run = load_run(st, id, NULL, err, sizeof err);
    int64_t grew = peak_kb(false) - before;
    CHECK(run && cJSON_GetArraySize(cJSON_GetObjectItem(run, "results")) == 1);
    CHECK(grew < 20000);
    if (grew >= 20000) fprintf(stderr, "reading the run grew the peak RSS by %lld kB\n", (long long)grew);
    cJSON_Delete(run);
    /* The charts themselves still read whole. */
    char *text;
    CHECK(store_charts_text(st, id, 3, &text, err, sizeof err) == 0);
    CHECK(text && strlen(text) > 40000000);
    free(text);
    /* Not found is named the same way by every function that names a run. */
    CHECK(store_charts_text(st, "nope", 3, &text, err, sizeof err) == STORE_NOT_FOUND && !text);
    cJSON *failures;
    CHECK(store_failures(st, "nope", &failures, err, sizeof err) == STORE_NOT_FOUND && !failures);
    CHECK(store_failures(st, id, &failures, err, sizeof err) == 0 && failures);
    cJSON_Delete(failures);
    /* Deleting the run takes its charts along. */
    CHECK(store_run_delete(st, id, err, sizeof err) == 0);
    CHECK(query_int(path, "SELECT count(*) FROM charts") == 0);
    store_close(st);
}

int main(void)
{
    alarm(110); /* ctest's limit is 120 s: fail loudly rather than hang */
    msgs_init();
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/conlab-test-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    REQUIRE(mkdtemp(dir) != NULL);

    test_open_and_reopen();
    test_upgrade_from_0002();
    test_upgrade_from_0006();
    test_sweep_points();
    test_spec_read_back();
    test_upgrade_from_0001();
    test_newer_refused();
    test_not_a_database();
    test_runs_round_trip();
    test_records();
    test_charts();
    test_mark_interrupted();
    test_threads();
    test_read_errors_are_errors();
    test_chart_percentiles_from_rows();
    test_run_get_skips_charts();
    const char *b = getenv("CONLAB_STORE_BENCH");
    if (b && atoll(b) > 0) {
        alarm(0);
        bench(atoll(b));
    }

    if (failures == 0)
        remove_tree(dir);
    else
        fprintf(stderr, "test files kept in %s\n", dir);
    printf("%s: %d failure(s)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
