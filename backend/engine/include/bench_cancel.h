/* Cancelling a run: one flag and one pipe, shared by every worker of the engine (threads,
 * forked processes, the exec'd starter's workers). Once cancelled, always cancelled: the pipe
 * is never drained, so every later wait returns at once. */
#ifndef CONLAB_BENCH_CANCEL_H
#define CONLAB_BENCH_CANCEL_H

#include <stddef.h>

/* Non-zero once a cancel was asked: no new request starts, transfers in flight are aborted,
 * unstarted requests are recorded as REQ_ERR_CANCELLED, the current mode reports
 * `cancelled = 1` and later modes are skipped. Set it with bench_cancel. Atomic (lock-free, so
 * safe in a signal handler): written on one thread and read on the workers' (volatile
 * sig_atomic_t is only for a handler and the thread it interrupts). A worker that sees the
 * pipe readable sets it too. */
extern _Atomic int bench_cancel_flag;

/* Asks the engine to cancel, waking every worker that waits (for a socket, a due time, its
 * workers) at once. Async-signal-safe: call it from a signal handler. */
void bench_cancel(void);

/* Creates the cancel pipe once, before any worker can wait on it (the engine does it before
 * each mode; later calls do nothing). A cancel asked before it existed is still seen through
 * the flag. Returns 0 or -1 with err. */
int bench_cancel_init(char *err, size_t errlen);

/* The engine's workers: the pipe's read end, readable once a cancel was asked; -1 before
 * bench_cancel_init. */
int bench_cancel_fd(void);

/* In the exec'd worker starter: the pipe's read end inherited from the coordinator (it writes
 * nothing to the pipe itself). */
void bench_cancel_adopt(int read_fd);

#endif
