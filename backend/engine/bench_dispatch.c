/* Dispatch (bench_dispatch.h): the next seq is one atomic add on memory every worker shares. */
#include "bench_dispatch.h"
#include <poll.h>
#include <time.h>
#include "bench_cancel.h"
#include "bench_log.h"
#include "util.h"

/* Due times are capped here (about 73,000 years): a tiny rate times a large seq must neither
 * overflow the cast nor t0 + due. */
#define BENCH_DUE_MAX (INT64_MAX / 4)

/* The shard this process runs (bench_set_shard): request k is the spec's index + k × count. */
static int64_t shard_index = 0, shard_count = 1;

void bench_set_shard(int64_t index, int64_t count)
{
    shard_index = index;
    shard_count = count > 0 ? count : 1;
}

int64_t bench_due(const struct bench_ctx *c, int64_t seq)
{
    if (!(c->spec->rate > 0)) return 0;
    double due = ((double)shard_index + (double)seq * (double)shard_count) * 1e6 / c->spec->rate;
    return due < (double)BENCH_DUE_MAX ? (int64_t)due : BENCH_DUE_MAX;
}

bool bench_claim(struct bench_ctx *c, int64_t *seq, int64_t *due_us)
{
    if (bench_cancel_flag || __atomic_load_n(&c->sh->abort, __ATOMIC_RELAXED)) return false;
    int64_t s = __atomic_fetch_add(&c->sh->next_seq, 1, __ATOMIC_RELAXED);
    if (s >= c->spec->requests) return false;
    *seq = s;
    *due_us = bench_due(c, s);
    return true;
}

void bench_abort(struct bench_ctx *c)
{
    __atomic_store_n(&c->sh->abort, 1, __ATOMIC_RELAXED);
}

bool bench_wait_due(const struct bench_ctx *c, int64_t due_us)
{
    int64_t when = c->t0 + due_us;
    for (;;) {
        if (bench_cancel_flag) return false;
        int64_t left = when - clock_us();
        if (left <= 0) return true;
        struct pollfd p = {.fd = bench_cancel_fd(), .events = POLLIN};
        struct timespec ts = {.tv_sec = left / 1000000, .tv_nsec = (left % 1000000) * 1000};
        if (ppoll(&p, 1, &ts, NULL) > 0 && (p.revents & POLLIN)) bench_cancel_flag = 1;
    }
}
