/* The dashboard's run queue and its runner thread. A handler never runs a benchmark: it queues
 * a run here and answers. One runner thread takes runs one at a time and, for each, spawns
 * `conlab __job`, hands it the spec on stdin and stores what it reads back (wire.h's job
 * protocol: ticks for live progress while a mode runs; the mode's records and result once its
 * clock stopped, stored before the child may start the next mode). Live progress lives here, in memory, while a run is queued
 * or running; the store has the rest. */
#ifndef CONLAB_JOB_H
#define CONLAB_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "job_live.h"
#include "record.h"
#include "dashboard.h"
#include "spec.h"

struct cJSON;
struct store;
struct job;

#define JOB_ID_LEN 12 /* new run ids: random_id(..., JOB_ID_LEN) */
#define JOB_ID_MAX 32 /* longest id accepted from a URL */


/* Starts the runner thread. `runner_st` is the runner's own connection (records, results,
 * statuses); `api_st` is the connection of the HTTP handlers, used here for the few writes they
 * cause (creating, cancelling a queued run, deleting) so that they never wait behind the runner's
 * connection. Both must outlive the job. Returns 0 or -1 with err. */
int job_start(struct store *runner_st, struct store *api_st, const struct job_opts *o,
              struct job **out, char *err, size_t errlen);

/* Stops taking runs, interrupts the running one (its child is asked to stop, then killed after
 * the grace time), marks it and every queued run "interrupted", joins the runner and wakes every
 * waiter. The job stays usable for reads (nothing is active any more) until job_free. */
void job_stop(struct job *j);
void job_free(struct job *j);

enum job_submit_rc { JOB_SUBMITTED = 0, JOB_QUEUE_FULL = 1, JOB_STOPPING = 2, JOB_CLIENT_FULL = 3 };

/* Creates the run (status "queued") in the store and queues it; `id` gets its new id (needs
 * JOB_ID_LEN + 1 bytes). Returns a job_submit_rc, or -1 with err when the store failed. */
int job_submit(struct job *j, const struct spec *s, char *id, char *err, size_t errlen);

/* The same for a client address (NULL or "": not counted): JOB_CLIENT_FULL when that client has
 * queue_per_client runs waiting already. */
int job_submit_as(struct job *j, const struct spec *s, const char *client, char *id, char *err,
                  size_t errlen);

enum job_state { JOB_NONE = 0, JOB_QUEUED, JOB_RUNNING };

/* Points of a run at most: each mode at each concurrency level. */
#define JOB_MAX_POINTS (SPEC_MAX_MODES * SPEC_MAX_LEVELS)

/* A copy of what is known in memory about one run (small: it lives on a web server thread's
 * stack; the finished points' results are read with job_results). */
struct job_progress {
    enum job_state state; /* JOB_NONE: not queued nor running here (ended, or unknown) */
    uint64_t version;     /* changes whenever anything of the job changes */
    bool stopping;        /* the job is stopping: waiters should finish */
    bool cancelling;      /* a cancel was asked and the run has not ended yet */
    int position;         /* JOB_QUEUED: runs ahead of it in the queue (0: next) */
    int64_t requests;     /* per mode and level */
    int nmodes, nlevels;  /* nlevels > 1: a sweep */
    enum bench_mode modes[SPEC_MAX_MODES];
    struct mode_names names;       /* the clients' names */
    int cur;                       /* index into modes of the mode running; -1 before the first */
    int64_t concurrency;           /* the level it runs at (0 before the first) */
    int64_t done[SPEC_MAX_MODES];      /* per index into modes: requests stored, over its levels */
    int nresults;                  /* points (mode at a level) finished so far, in run order */
    struct job_live live;          /* the mode running now, live; live.mode -1 when none */
};

/* Fills `out` for run `id` and returns out->state. */
enum job_state job_get(struct job *j, const char *id, struct job_progress *out);

/* Copies the results of the running run `id` finished from index `from` on (in run order) into
 * out, at most max of them; returns how many (0 when there is none, or the run is not running
 * here any more: its results are then in the store). */
int job_results(struct job *j, const char *id, int from, struct mode_result *out, int max);

/* Waits until the job's version differs from `since`, the job stops, or timeout_ms passes;
 * then fills `out` as job_get does and returns out->state. Never busy-waits. */
enum job_state job_wait(struct job *j, const char *id, uint64_t since, int64_t timeout_ms,
                        struct job_progress *out);

/* "queued" or "running" for an active run, NULL otherwise. */
const char *job_state_name(enum job_state s);

/* job_cancel's answer for a run that is not queued nor running here (ended, or unknown). */
#define JOB_NOT_ACTIVE 1

/* Cancels a run: a queued one leaves the queue and is marked "cancelled" at once; the running
 * one's child gets SIGTERM (it ends the current mode with cancelled records), and the runner
 * marks it "cancelled" when the child has exited. Returns 0 when a cancel is under way,
 * JOB_NOT_ACTIVE, or -1 on a store error (err). */
int job_cancel(struct job *j, const char *id, char *err, size_t errlen);

/* Cancels the run when it is active, waits (at most wait_ms) for it to end, then deletes it from
 * the store. Returns 0 deleted, STORE_NOT_FOUND (store.h) when unknown, or -1 with err (an error
 * or the wait timed out). */
int job_delete(struct job *j, const char *id, int64_t wait_ms, char *err, size_t errlen);

#endif
