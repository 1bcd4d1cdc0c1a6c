/* The recorder (recorder.h) on a real SQLite file: points stored through it, the run's end state
 * decided in one place (done, cancelled, interrupted, failed with the first cause), a storing
 * failure that stops storing, and a final status write that fails for a while and is retried
 * until it lands. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "recorder.h"
#include "spec.h"
#include "store.h"

static char dir[256];
static int nrun;

/* A new run of 2 modes × 1 level ("queued") in st; its id in id. */
static void new_run(struct store *st, char *id)
{
    snprintf(id, 16, "rec%09d", ++nrun);
    struct spec_limits lim;
    spec_limits_default(&lim);
    struct spec s;
    char err[256];
    const char *text = "{\"target\":{\"url\":\"http://x/\"},\"requests\":2,\"concurrency\":2,"
                       "\"modes\":[\"sync\",\"async\"]}";
    CHECK(spec_from_text(text, &lim, &s, err, sizeof err) == 0);
    char *canon = spec_to_text(&s);
    CHECK(store_run_create(st, id, &s, canon, "queued", 1700000000000000, err, sizeof err) == 0);
    free(canon);
    spec_free(&s);
}

/* One point of 2 requests through the recorder: begin, records, result. */
static int point(struct recorder *r, int mode, bool cancelled)
{
    struct bench_record recs[2];
    memset(recs, 0, sizeof recs);
    for (int i = 0; i < 2; i++) {
        recs[i].seq = i;
        recs[i].start_us = i * 10;
        recs[i].connect_us = recs[i].ttfb_us = -1;
        recs[i].end_us = i * 10 + 5;
        recs[i].status = 200;
        recs[i].msg = -1;
    }
    struct mode_result res = {.mode = mode, .concurrency = 2, .requests = 2, .ok = 2, .lanes = 2,
                              .wall_ms = 1, .cancelled = cancelled};
    const struct record_msgs msgs = {0, NULL};
    int rc = recorder_begin(r, mode, 2, 2, 2);
    rc |= recorder_records(r, mode, 2, recs, 2, &msgs);
    rc |= recorder_result(r, &res);
    return rc;
}

static void stored(struct store *st, const char *id, const char *status, const char *message)
{
    struct store_run run;
    char err[256];
    CHECK(store_run_get(st, id, &run, err, sizeof err) == 0);
    CHECK(!strcmp(run.status, status));
    if (strcmp(run.status, status)) fprintf(stderr, "  %s: %s, want %s\n", id, run.status, status);
    CHECK(message ? run.message && !strcmp(run.message, message) : !run.message);
    if (message && (!run.message || strcmp(run.message, message)))
        fprintf(stderr, "  message '%s', want '%s'\n", run.message ? run.message : "(null)", message);
    CHECK(run.finished_us > 0);
    store_run_free(&run);
}

static void end_states(struct store *st)
{
    char id[16], err[256];
    struct recorder r;
    /* every point stored, nobody stopped it */
    new_run(st, id);
    CHECK(recorder_start(&r, st, id, 2, err, sizeof err) == 0);
    char status[32];
    CHECK(store_run_status(st, id, status, sizeof status, err, sizeof err) == 0 &&
          !strcmp(status, "running"));
    CHECK(point(&r, MODE_SYNC, false) == 0 && point(&r, MODE_ASYNC, false) == 0);
    struct recorder_end ran = {RECORDER_RAN, NULL, NULL, NULL};
    CHECK(!strcmp(recorder_finish(&r, &ran, err, sizeof err), "done") && !err[0]);
    stored(st, id, "done", NULL);
    struct store_run run;
    CHECK(store_run_get(st, id, &run, err, sizeof err) == 0 && run.nmodes == 2 &&
          run.modes[1].finished && run.modes[1].done == 2 && run.modes[1].result.ok == 2);
    store_run_free(&run);

    /* a cancel that cut the second point short, with a note */
    new_run(st, id);
    recorder_start(&r, st, id, 2, err, sizeof err);
    point(&r, MODE_SYNC, false);
    point(&r, MODE_ASYNC, true);
    struct recorder_end cancel = {RECORDER_CANCELLED, NULL, "stopped after the limit", NULL};
    CHECK(!strcmp(recorder_finish(&r, &cancel, err, sizeof err), "cancelled"));
    stored(st, id, "cancelled", "stopped after the limit");

    /* a cancel after the last point ended changed nothing: done */
    new_run(st, id);
    recorder_start(&r, st, id, 2, err, sizeof err);
    point(&r, MODE_SYNC, false);
    point(&r, MODE_ASYNC, false);
    cancel.note = NULL;
    CHECK(!strcmp(recorder_finish(&r, &cancel, err, sizeof err), "done"));

    /* the source failed; or it just stopped early */
    new_run(st, id);
    recorder_start(&r, st, id, 2, err, sizeof err);
    point(&r, MODE_SYNC, false);
    struct recorder_end broke = {RECORDER_RAN, "the job process was killed by signal 9", NULL, NULL};
    CHECK(!strcmp(recorder_finish(&r, &broke, err, sizeof err), "failed"));
    stored(st, id, "failed", "the job process was killed by signal 9");
    new_run(st, id);
    recorder_start(&r, st, id, 2, err, sizeof err);
    point(&r, MODE_SYNC, false);
    CHECK(!strcmp(recorder_finish(&r, &ran, err, sizeof err), "failed"));
    stored(st, id, "failed", "the run ended before finishing every mode");

    /* a sharded run that lost a shard keeps what arrived: partial, even before a point ended */
    new_run(st, id);
    recorder_start(&r, st, id, 2, err, sizeof err);
    point(&r, MODE_SYNC, false);
    struct recorder_end lost = {.stop = RECORDER_RAN, .partial = "shard 2 sent no results"};
    CHECK(!strcmp(recorder_finish(&r, &lost, err, sizeof err), "partial"));
    stored(st, id, "partial", "shard 2 sent no results");
    new_run(st, id);
    recorder_start(&r, st, id, 2, err, sizeof err);
    CHECK(!strcmp(recorder_finish(&r, &lost, err, sizeof err), "partial"));
    stored(st, id, "partial", "shard 2 sent no results");

    /* the recording program stopping wins over a cancel and a failure */
    new_run(st, id);
    recorder_start(&r, st, id, 2, err, sizeof err);
    struct recorder_end stop = {RECORDER_INTERRUPTED, "boom", "the dashboard stopped", NULL};
    CHECK(!strcmp(recorder_finish(&r, &stop, err, sizeof err), "interrupted"));
    stored(st, id, "interrupted", "the dashboard stopped");
}

/* A record stored twice fails the batch: the recorder keeps that first cause, stores nothing
 * more, and the run fails with it whatever the source says. */
static void storing_fails(struct store *st)
{
    char id[16], err[256];
    struct recorder r;
    new_run(st, id);
    recorder_start(&r, st, id, 2, err, sizeof err);
    CHECK(point(&r, MODE_SYNC, false) == 0);
    CHECK(!recorder_error(&r)[0]);
    struct bench_record again = {.seq = 1, .start_us = 0, .end_us = 1, .connect_us = -1,
                                 .ttfb_us = -1, .msg = -1};
    const struct record_msgs msgs = {0, NULL};
    CHECK(recorder_records(&r, MODE_SYNC, 2, &again, 1, &msgs) == -1);
    CHECK(!strncmp(recorder_error(&r), "storing request records: ", 25));
    char first[RECORDER_ERROR_MAX];
    snprintf(first, sizeof first, "%s", recorder_error(&r));
    /* nothing more is stored: the next point's begin does not reach the store */
    CHECK(recorder_begin(&r, MODE_ASYNC, 2, 2, 2) == -1);
    struct recorder_end child = {RECORDER_RAN, "the job process was killed by signal 9", NULL, NULL};
    CHECK(!strcmp(recorder_finish(&r, &child, err, sizeof err), "failed"));
    stored(st, id, "failed", first);
    struct store_run run;
    CHECK(store_run_get(st, id, &run, err, sizeof err) == 0 && run.nmodes == 1);
    store_run_free(&run);
}

struct clearer {
    const char *path;
    int after_ms;
};

/* Lifts the planted failure after a while, from a connection of its own. */
static void *clear_later(void *arg)
{
    struct clearer *c = arg;
    struct timespec ts = {0, (long)c->after_ms * 1000000L};
    nanosleep(&ts, NULL);
    sqlite3 *db;
    if (sqlite3_open(c->path, &db) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_exec(db, "DELETE FROM planted_failure", NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return NULL;
}

/* The final status write fails (a trigger refuses it) for 150 ms: it is retried and lands. */
static void final_status_retried(const char *path, struct store *st)
{
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE planted_failure (x); INSERT INTO planted_failure VALUES (1);"
                       "CREATE TRIGGER refuse_end BEFORE UPDATE OF status ON runs "
                       "WHEN NEW.status != 'running' AND (SELECT count(*) FROM planted_failure) > 0 "
                       "BEGIN SELECT RAISE(ABORT, 'planted: the disk is busy'); END;",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    char id[16], err[256];
    struct recorder r;
    new_run(st, id);
    recorder_start(&r, st, id, 2, err, sizeof err);
    point(&r, MODE_SYNC, false);
    point(&r, MODE_ASYNC, false);
    struct clearer c = {path, 150};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, clear_later, &c) == 0);
    struct recorder_end ran = {RECORDER_RAN, NULL, NULL, NULL};
    CHECK(!strcmp(recorder_finish(&r, &ran, err, sizeof err), "done"));
    CHECK(!err[0]);
    pthread_join(t, NULL);
    stored(st, id, "done", NULL);

    /* A failure that does not go away is reported, not hidden. */
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "INSERT INTO planted_failure VALUES (1)", NULL, NULL, NULL) == 0);
    sqlite3_close(db);
    new_run(st, id);
    recorder_start(&r, st, id, 2, err, sizeof err);
    CHECK(!strcmp(recorder_finish(&r, &ran, err, sizeof err), "failed"));
    CHECK(strstr(err, "planted: the disk is busy") != NULL);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/conlab-recorder-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/rec.db", dir);
    struct store *st = NULL;
    if (store_open(path, &st, err, sizeof err)) {
        fprintf(stderr, "store_open: %s\n", err);
        return 1;
    }
    end_states(st);
    storing_fails(st);
    final_status_retried(path, st);
    store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return check_done("test_store_recorder");
}
