/* The helpers of the job state shared by job.c and job_runner.c (job_state.h). */
#include "job_state.h"
#include <stdlib.h>

void job_changed(struct job *j)
{
    j->version++;
    pthread_cond_broadcast(&j->changed);
}

void job_item_free(struct job_item *it)
{
    free(it->spec_text);
    it->spec_text = NULL;
}

