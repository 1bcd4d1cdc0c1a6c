/* conlab: a concurrency lab for HTTP clients. Dispatches `conlab <command>`. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "util.h"

static void usage(FILE *f)
{
    fputs("usage: conlab <command> [options]\n"
          "\n"
          "commands:\n"
          "  run      run a workload once per mode (sync, threads, async, processes); print a table\n"
          "  target   the talk's slow server: D ms per response, at most W responses at once\n"
          "  serve    the dashboard: web page, HTTP API, job runner, SQLite history\n"
          "  merge    one run from the parts of a sharded run (conlab run --shard i/n --out)\n"
          "\n"
          "`conlab <command> --help` describes each command's options.\n",
          f);
}

int main(int argc, char **argv)
{
    /* Every conlab process writes to pipes and sockets whose other end may die (a worker, the
     * job child's dashboard, a client): a failed write is an error to handle, not a reason to
     * be killed. And resolve our own path while there is one thread, before anyone spawns. */
    signal(SIGPIPE, SIG_IGN);
    /* A file that may not grow (a full disk under a quota, RLIMIT_FSIZE) is a failed write for
     * SQLite to report, not a signal that kills the dashboard and every run with it. */
    signal(SIGXFSZ, SIG_IGN);
    self_exe();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("conlab %s\n", CONLAB_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "target")) return cmd_target(argc - 1, argv + 1);
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge")) return cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "__job")) return cmd_job(argc - 1, argv + 1);
    if (!strcmp(cmd, "__workers")) return cmd_workers();
    if (!strcmp(cmd, "__client")) return cmd_client(argc - 1, argv + 1);
    fprintf(stderr, "conlab: unknown command '%s' (try: conlab --help)\n", cmd);
    return 2;
}
