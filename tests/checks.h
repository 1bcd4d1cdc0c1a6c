/* CHECK for tests whose scenarios run on several threads: a failed condition is printed with
 * its place and counted atomically; checks_done gives the test's exit status. */
#ifndef CONLAB_TEST_CHECKS_H
#define CONLAB_TEST_CHECKS_H

#include <stdio.h>

static int failures; /* counted from every thread of a test */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);                                    \
            fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* The test's exit status: 0 when every check passed, else 1; said on stderr. */
static inline int checks_done(const char *name)
{
    if (failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, failures);
        return 1;
    }
    fprintf(stderr, "%s: all checks passed\n", name);
    return 0;
}

#endif
