/* A client's process tree seen from outside: the processes of its process group, their CPU
 * so far and their proportional memory (Pss), read from /proc. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench_client_tree.h"

/* Fields of /proc/PID/stat after the command's closing parenthesis (which may hide spaces and
 * parentheses itself): state ppid pgrp ... utime(14) stime(15) cutime(16) cstime(17). */
static int read_stat(const char *pid, long long *pgrp, long long cpu[4])
{
    char path[300], buf[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    char state;
    long long ppid;
    unsigned long long skip;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime
     * cstime */
    if (sscanf(p + 1, " %c %lld %lld %llu %llu %llu %llu %llu %llu %llu %llu %lld %lld %lld %lld",
               &state, &ppid, pgrp, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &skip, &cpu[0],
               &cpu[1], &cpu[2], &cpu[3]) != 15)
        return -1;
    return state == 'Z' ? 1 : 0; /* a zombie's CPU is its parent's to collect */
}

static int64_t pss_kb(const char *pid)
{
    char path[300], line[256];
    snprintf(path, sizeof path, "/proc/%s/smaps_rollup", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Pss: %lld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

int client_tree_scan(pid_t pgid, bool want_pss, struct client_tree *t)
{
    memset(t, 0, sizeof *t);
    DIR *d = opendir("/proc");
    if (!d) return -1;
    long hz = sysconf(_SC_CLK_TCK);
    double ms_per_tick = hz > 0 ? 1000.0 / (double)hz : 10.0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        long long pgrp = 0, cpu[4] = {0, 0, 0, 0};
        int st = read_stat(e->d_name, &pgrp, cpu);
        if (st < 0 || pgrp != (long long)pgid) continue;
        t->nprocs++;
        if (st == 1) continue;
        t->user_ms += (double)(cpu[0] + cpu[2]) * ms_per_tick;
        t->sys_ms += (double)(cpu[1] + cpu[3]) * ms_per_tick;
        if (want_pss) t->pss_kb += pss_kb(e->d_name);
    }
    closedir(d);
    return 0;
}
