/* Recording without disturbing: each worker appends to its own log (bench_log.h), a full
 * chunk goes to the mode's spill (a memfd: page cache, not the process's RSS) with one pwrite,
 * and the ticker reads counters and a small sample with relaxed atomic loads. Nothing here takes
 * a lock, and nothing waits for the sink. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "bench_log.h"
#include "stats.h"
#include "util.h"

int bench_shared_init(struct bench_ctx *c, int64_t nlogs, bool shared, char *err, size_t errlen)
{
    c->sh_size = sizeof(struct bench_shared) + (size_t)nlogs * sizeof(struct bench_log);
    c->sh_fd = -1;
    c->spill_fd = memfd_create("conlab-records", MFD_CLOEXEC);
    if (c->spill_fd < 0) return errf(err, errlen, "creating the record spill: %s", strerror(errno));
    void *p = MAP_FAILED;
    if (shared) {
        c->sh_fd = memfd_create("conlab-shared", MFD_CLOEXEC);
        if (c->sh_fd >= 0 && ftruncate(c->sh_fd, (off_t)c->sh_size) == 0)
            p = mmap(NULL, c->sh_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->sh_fd, 0);
    } else {
        p = mmap(NULL, c->sh_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    c->seen = calloc((size_t)nlogs, sizeof *c->seen);
    if (p == MAP_FAILED || !c->seen) {
        if (p != MAP_FAILED) munmap(p, c->sh_size);
        c->sh = NULL;
        bench_shared_free(c);
        return errf(err, errlen, "allocating the logs of %lld workers: %s", (long long)nlogs,
                    strerror(errno));
    }
    c->sh = p; /* zero-filled: counters 0, no records, no messages */
    c->sh->nlogs = (int32_t)nlogs;
    for (int64_t i = 0; i < nlogs; i++) {
        c->sh->logs[i].busy_seq = -1;
        c->sh->logs[i].status = -1;
    }
    return 0;
}

void bench_shared_free(struct bench_ctx *c)
{
    if (c->sh) munmap(c->sh, c->sh_size);
    if (c->sh_fd >= 0) close(c->sh_fd);
    if (c->spill_fd >= 0) close(c->spill_fd);
    free(c->seen);
    free(c->lost);
    c->sh = NULL;
    c->seen = NULL;
    c->lost = NULL;
    c->sh_fd = c->spill_fd = -1;
}

/* The index of `text` in the log's table, added when new; LOG_MSGS full: -1 (the kind's name
 * stands for it). Encoded as log * LOG_MSGS + index, unique in the mode. */
static int32_t log_msg(struct bench_ctx *c, struct bench_log *l, const char *text)
{
    if (!text || !*text) return -1;
    int32_t base = (int32_t)(l - c->sh->logs) * LOG_MSGS;
    for (int32_t i = l->nmsg - 1; i >= 0; i--) /* the latest first: errors come in runs */
        if (!strncmp(l->msg[i], text, RECORD_ERROR_MAX - 1)) return base + i;
    if (l->nmsg == LOG_MSGS) return -1;
    snprintf(l->msg[l->nmsg], RECORD_ERROR_MAX, "%s", text);
    __atomic_store_n(&l->nmsg, l->nmsg + 1, __ATOMIC_RELEASE);
    return base + l->nmsg - 1;
}

static void log_spill(struct bench_ctx *c, struct bench_log *l)
{
    size_t bytes = (size_t)l->n * sizeof *l->buf;
    off_t at = (off_t)__atomic_fetch_add(&c->sh->spill_end, (int64_t)bytes, __ATOMIC_RELAXED);
    const char *p = (const char *)l->buf;
    while (bytes > 0) {
        ssize_t w = pwrite(c->spill_fd, p, bytes, at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            l->spill_failed = 1; /* the collection fails the mode: records were lost */
            break;
        }
        p += w, at += w, bytes -= (size_t)w;
    }
    __atomic_store_n(&l->n, 0, __ATOMIC_RELEASE);
}

void bench_log_put(struct bench_ctx *c, struct bench_log *l, const struct bench_record *r,
                   const char *error)
{
    struct bench_record *slot = &l->buf[l->n];
    *slot = *r;
    slot->msg = r->err_kind == REQ_OK ? -1 : log_msg(c, l, error);
    /* Published after the record is whole: a coordinator reading a dead worker's log sees
     * complete records only. */
    __atomic_store_n(&l->n, l->n + 1, __ATOMIC_RELEASE);
    if (r->err_kind == REQ_OK) {
        __atomic_store_n(&l->sample[l->nsample % LOG_SAMPLE], r->end_us - r->start_us,
                         __ATOMIC_RELAXED);
        __atomic_store_n(&l->nsample, l->nsample + 1, __ATOMIC_RELEASE);
        __atomic_store_n(&l->ok, l->ok + 1, __ATOMIC_RELAXED);
    } else {
        __atomic_store_n(&l->errors, l->errors + 1, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&l->done, l->done + 1, __ATOMIC_RELAXED);
    if (l->n == LOG_CHUNK) log_spill(c, l);
}

void bench_log_flush(struct bench_ctx *c, struct bench_log *l)
{
    if (__atomic_load_n(&l->n, __ATOMIC_ACQUIRE) > 0) log_spill(c, l);
}

void bench_tick(struct bench_ctx *c)
{
    static struct bench_tick t; /* one ticker at a time; 1 KiB kept off small thread stacks */
    memset(&t, 0, offsetof(struct bench_tick, sample_us));
    t.mode = c->mode;
    int64_t now = clock_us();
    t.elapsed_us = now - c->t0;
    c->next_tick_us = c->t0 + ((now - c->t0) / BENCH_TICK_US + 1) * BENCH_TICK_US; /* no drift */
    int64_t fresh = 0;
    for (int32_t i = 0; i < c->sh->nlogs; i++) {
        struct bench_log *l = &c->sh->logs[i];
        t.done += __atomic_load_n(&l->done, __ATOMIC_RELAXED);
        t.ok += __atomic_load_n(&l->ok, __ATOMIC_RELAXED);
        t.errors += __atomic_load_n(&l->errors, __ATOMIC_RELAXED);
        int64_t n = __atomic_load_n(&l->nsample, __ATOMIC_ACQUIRE);
        fresh += n - c->seen[i] < LOG_SAMPLE ? n - c->seen[i] : LOG_SAMPLE;
    }
    /* Take every k-th fresh latency so that the sample spreads over all logs. */
    int64_t step =
        fresh > BENCH_TICK_SAMPLE ? (fresh + BENCH_TICK_SAMPLE - 1) / BENCH_TICK_SAMPLE : 1;
    int64_t k = 0;
    for (int32_t i = 0; i < c->sh->nlogs; i++) {
        struct bench_log *l = &c->sh->logs[i];
        int64_t n = __atomic_load_n(&l->nsample, __ATOMIC_ACQUIRE);
        int64_t from = n - c->seen[i] < LOG_SAMPLE ? c->seen[i] : n - LOG_SAMPLE;
        for (int64_t j = from; j < n; j++, k++)
            if (k % step == 0 && t.nsample < BENCH_TICK_SAMPLE)
                t.sample_us[t.nsample++] =
                    __atomic_load_n(&l->sample[j % LOG_SAMPLE], __ATOMIC_RELAXED);
        c->seen[i] = n;
    }
    if (c->sink && c->sink->tick) c->sink->tick(c->sink->ctx, &t);
}
