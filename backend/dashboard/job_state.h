/* The state that job.c (the queue, progress, cancel) and job_runner.c (the dashboard's side of
 * one run's child process) share, and its two helpers (job_state.c). job.c calls into
 * job_runner.c; both use this; nothing here calls back up. Not for other files: they use
 * job.h. */
#ifndef CONLAB_JOB_STATE_H
#define CONLAB_JOB_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "job.h"

struct job_item {
    char id[JOB_ID_LEN + 1];
    char *spec_text; /* what the child reads on stdin */
    char client[48]; /* who asked for it ("" when not counted per client) */
    int64_t requests;
    int nmodes, nlevels;
    enum bench_mode modes[SPEC_MAX_MODES];
    struct mode_names names;
};

/* The running run. Only the runner thread changes `item`; everything else is under j->mu. */
struct job_active {
    bool on;
    struct job_item item;
    pid_t pid;         /* the child while it runs; 0 before the spawn and once it is being reaped */
    bool cancel;       /* a cancel was asked */
    bool overtime;     /* ... by the runner itself: the run ran longer than max_run_ms */
    int64_t start_us;  /* when the child was spawned */
    int64_t term_us;   /* when SIGTERM was sent (0: not yet) */
    bool killed;       /* SIGKILL sent after the grace time */
    int cur;
    int64_t concurrency; /* the level of the point running */
    int64_t done[SPEC_MAX_MODES];
    int nresults;
    struct mode_result results[JOB_MAX_POINTS];
    struct job_live live; /* written by the runner thread under mu */
};

struct job {
    pthread_mutex_t mu;
    pthread_cond_t work;    /* the runner waits here for queued runs */
    pthread_cond_t changed; /* progress waiters wait here; broadcast on every version change */
    struct store *rst;      /* the runner's connection */
    struct store *ast;      /* the handlers' connection */
    struct job_opts o;
    struct job_item *queue; /* FIFO, queue[0] runs next */
    int qlen;
    int reserved; /* slots promised to submitters that are creating their store row */
    struct job_active act;
    uint64_t version;
    bool stopping;
    bool thread_started;
    pthread_t thread;
};

/* Bumps the version and wakes every waiter. Call with j->mu held. */
void job_changed(struct job *j);

void job_item_free(struct job_item *it);

#endif
