/* Inside the engine: a client's process tree read from /proc (bench_client_tree.c). */
#ifndef CONLAB_BENCH_CLIENT_TREE_H
#define CONLAB_BENCH_CLIENT_TREE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct client_tree {
    int nprocs;
    double user_ms, sys_ms; /* live processes: their own time and their reaped children's
                             * (/proc stat ticks, 10 ms each) */
    int64_t pss_kb;         /* the sum of their Pss (when asked) */
};

/* Scans the processes of process group pgid. Returns 0 or -1 (no /proc). */
int client_tree_scan(pid_t pgid, bool want_pss, struct client_tree *t);

#endif
