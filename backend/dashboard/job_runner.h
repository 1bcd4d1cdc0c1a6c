/* The dashboard's side of one run's child process (`conlab __job`): spawning it, reading its
 * wire frames into the store, deciding how the run ended. Called by job.c's runner thread. */
#ifndef CONLAB_JOB_RUNNER_H
#define CONLAB_JOB_RUNNER_H

#include "job_state.h"

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

/* Retention (max_runs, max_db_bytes of the job's options): deletes the oldest ended runs and
 * says so on stderr. Runs on the runner thread: at its start and after each run. */
void job_prune(struct job *j);

#endif
