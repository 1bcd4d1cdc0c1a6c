/* The recorder (recorder.h): a source's points into the store, and the run's end state. */
#include "recorder.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include "store.h"
#include "util.h"

int recorder_start(struct recorder *r, struct store *st, const char *id, int expected_points,
                   char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->st = st;
    snprintf(r->id, sizeof r->id, "%s", id);
    r->expected = expected_points;
    int rc = store_run_set_status(st, r->id, "running", -1, NULL, err, errlen);
    if (rc == STORE_NOT_FOUND) return errf(err, errlen, "run %s: not in the store", r->id);
    return rc == 0 ? 0 : -1;
}

/* Keeps the first storing failure as "storing <what>: <why>" and stops storing. */
static int broke(struct recorder *r, const char *what, const char *why)
{
    /* A store over its size (--max-db-mb, or the disk) says so first, as SECURITY.md has it. */
    bool full = strstr(why, "database or disk is full") != NULL;
    if (!r->broken)
        snprintf(r->error, sizeof r->error, "%sstoring %s: %s", full ? "store full: " : "", what,
                 why);
    r->broken = true;
    return -1;
}

int recorder_begin(struct recorder *r, int mode, int64_t concurrency, int64_t total,
                   int64_t lanes)
{
    if (r->broken) return -1;
    char err[300];
    if (store_mode_begin(r->st, r->id, mode, concurrency, total, lanes, err, sizeof err))
        return broke(r, "the start of a mode", err);
    return 0;
}

int recorder_records(struct recorder *r, int mode, int64_t concurrency,
                     const struct bench_record *recs, size_t n, const struct record_msgs *msgs)
{
    if (r->broken) return -1;
    char err[300];
    if (store_add_records(r->st, r->id, mode, concurrency, recs, n, msgs, err, sizeof err))
        return broke(r, "request records", err);
    return 0;
}

int recorder_result(struct recorder *r, const struct mode_result *res)
{
    if (r->broken) return -1;
    char err[300];
    if (store_mode_finish(r->st, r->id, res, err, sizeof err))
        return broke(r, "a mode's result", err);
    r->finished++;
    if (res->cancelled) r->cut_short = true;
    return 0;
}

const char *recorder_error(const struct recorder *r)
{
    return r->error;
}

const char *recorder_outcome(const struct recorder *r, const struct recorder_end *e, char *msg,
                             size_t msglen)
{
    bool failed = e->failure && e->failure[0];
    bool complete = r->finished >= r->expected && !r->cut_short;
    msg[0] = '\0';
    if (complete && !failed && !r->broken) return "done";
    if (e->stop == RECORDER_INTERRUPTED) {
        snprintf(msg, msglen, "%s", e->note ? e->note : "stopped while this run was running");
        return "interrupted";
    }
    if (e->stop == RECORDER_CANCELLED) {
        if (e->note) snprintf(msg, msglen, "%s", e->note);
        return "cancelled";
    }
    /* The first cause: a storing failure stops the source (its own failure follows from it). */
    snprintf(msg, msglen, "%s",
             r->broken ? r->error
             : failed  ? e->failure
                       : "the run ended before finishing every mode");
    return "failed";
}

const char *recorder_finish(struct recorder *r, const struct recorder_end *e, char *status_err,
                            size_t errlen)
{
    char msg[RECORDER_ERROR_MAX + 200], err[300] = "";
    const char *status = recorder_outcome(r, e, msg, sizeof msg);
    int64_t finished_us = wallclock_us();
    /* 10 tries over about 2 s: SQLite's own busy timeout already waited for a lock. */
    for (int attempt = 0, wait_ms = 20; attempt < 10; attempt++, wait_ms *= 2) {
        int rc = store_run_set_status(r->st, r->id, status, finished_us, msg[0] ? msg : NULL, err,
                                      sizeof err);
        if (rc != -1) { /* written, or the run was deleted meanwhile */
            err[0] = '\0';
            break;
        }
        int ms = wait_ms < 400 ? wait_ms : 400;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (status_err) snprintf(status_err, errlen, "%s", err);
    return status;
}
