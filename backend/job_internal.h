/* What job.c (the queue, progress, cancel) and job_child.c (one run's child process) share.
 * Not for other modules: they use job.h. */
#ifndef CONLAB_JOB_INTERNAL_H
#define CONLAB_JOB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "job.h"

struct job_item {
    char id[JOB_ID_LEN + 1];
    char *spec_text; /* what the child reads on stdin */
    int64_t requests;
    int nmodes;
    enum bench_mode modes[MODE_COUNT];
};

/* The running run. Only the runner thread changes `item`; everything else is under j->mu. */
struct job_active {
    bool on;
    struct job_item item;
    pid_t pid;         /* the child while it runs; 0 before the spawn and once it is being reaped */
    bool cancel;       /* a cancel was asked */
    int64_t term_us;   /* when SIGTERM was sent (0: not yet) */
    bool killed;       /* SIGKILL sent after the grace time */
    int cur;
    int64_t done[MODE_COUNT];
    int nresults;
    struct mode_result results[MODE_COUNT];
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

/* Asks the running child to stop with SIGTERM (once); the engine ends the current mode with
 * cancelled records. Without a child yet, the runner sends it right after the spawn. Call with
 * j->mu held. */
void job_term_locked(struct job *j);

/* The runner's buffers for one run at a time. NULL when out of memory. */
struct job_reader;
struct job_reader *job_reader_new(const struct job_opts *o);
void job_reader_free(struct job_reader *rd);

/* Runs j->act (already marked on) from the spawn of its child to its final status in the store,
 * then clears it. Runs on the runner thread. */
void job_run(struct job *j, struct job_reader *rd);

#endif
