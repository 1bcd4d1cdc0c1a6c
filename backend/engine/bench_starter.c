/* `conlab __workers`: the `processes` mode's worker starter, exec'd by a coordinator that has
 * other threads (bench_processes.c). Single-threaded, it maps the memory it shares with its
 * coordinator, forks the workers and reaps them, leaving how each ended in its log. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"
#include "bench_cancel.h"
#include "bench_curl.h"
#include "bench_dispatch.h"
#include "bench_processes.h"
#include "util.h"
#include "wire.h"

int bench_starter_main(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the coordinator */
    signal(SIGINT, SIG_IGN);          /* the workers handle a cancel; the starter only reaps */
    signal(SIGTERM, SIG_IGN);
    static char buf[WIRE_MAX_PAYLOAD + 1];
    uint32_t type = 0, len = 0;
    if (wire_read(0, &type, buf, WIRE_MAX_PAYLOAD, &len) != 1 || type != WIRE_INIT ||
        len < sizeof(struct wire_worker_init)) {
        fprintf(stderr,
                "conlab __workers: internal command of the processes mode (no setup on stdin)\n");
        return 2;
    }
    buf[len] = '\0';
    close(0);
    struct wire_worker_init wi;
    memcpy(&wi, buf, sizeof wi);
    struct spec_limits lim;
    spec_limits_unbounded(&lim);
    struct spec s;
    char err[256];
    if (spec_from_text(buf + sizeof wi, &lim, &s, err, sizeof err)) {
        fprintf(stderr, "conlab __workers: %s\n", err);
        return 1;
    }
    struct bench_ctx c;
    memset(&c, 0, sizeof c);
    c.spec = &s;
    c.mode = MODE_PROCESSES;
    c.t0 = wi.t0_us;
    c.lanes = wi.lanes;
    c.sh_size = (size_t)wi.shared_bytes;
    c.sh_fd = BENCH_FD_SHARED;
    c.spill_fd = BENCH_FD_SPILL;
    c.sh = mmap(NULL, c.sh_size, PROT_READ | PROT_WRITE, MAP_SHARED, BENCH_FD_SHARED, 0);
    if (c.sh == MAP_FAILED) {
        fprintf(stderr, "conlab __workers: mapping the shared logs: %s\n", strerror(errno));
        return 1;
    }
    bench_cancel_adopt(BENCH_FD_CANCEL);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any fork: the workers inherit it */
    c.headers = bench_curl_headers(&s);
    pid_t *pids = calloc((size_t)c.lanes, sizeof *pids);
    int64_t started = 0;
    for (; pids && started < c.lanes; started++) {
        pids[started] = bench_processes_fork(&c, started);
        if (pids[started] < 0) {
            fprintf(stderr, "conlab __workers: fork: %s\n", strerror(errno));
            bench_abort(&c);
            break;
        }
    }
    /* Reap every worker and leave how it ended in its log. */
    for (int64_t left = started; left > 0;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int64_t lane = 0; lane < started; lane++)
            if (pids[lane] == pid) {
                bench_processes_ended(&c, lane, status);
                left--;
            }
    }
    fflush(stderr);
    _exit(pids ? 0 : 1); /* as the workers: the coordinator waits for this exit */
}
