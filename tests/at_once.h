/* Test scenarios run at once (test_target.c, test_target_h2.c): each has its own target and
 * spends its time waiting (for a delay, a timeout, a sweep), so none's timing depends on
 * another's, and together they take as long as the longest. */
#ifndef CONLAB_TEST_AT_ONCE_H
#define CONLAB_TEST_AT_ONCE_H

#include <pthread.h>

typedef void scenario(void);

static void *scenario_run(void *arg)
{
    (*(scenario *const *)arg)();
    return NULL;
}

/* Runs the n (at most 16) scenarios at once, one thread each; returns when all have ended. */
static inline void run_at_once(scenario *const *fns, int n)
{
    pthread_t th[16];
    for (int i = 0; i < n && i < 16; i++)
        pthread_create(&th[i], NULL, scenario_run, (void *)&fns[i]);
    for (int i = 0; i < n && i < 16; i++)
        pthread_join(th[i], NULL);
}

#endif
