/* The commands behind `conlab <command>`; each returns the process exit code
 * (0 success, 1 runtime failure, 2 bad arguments). cmd_target lives in target.h. */
#ifndef CONLAB_COMMANDS_H
#define CONLAB_COMMANDS_H

int cmd_run(int argc, char **argv);   /* cmd_run.c */
int cmd_serve(int argc, char **argv); /* cmd_serve.c */

/* `conlab __job` (internal): the dashboard's job child. Reads a spec (JSON) on stdin until EOF,
 * runs it with bench_run and writes wire frames to stdout: per mode WIRE_MODE_START, one
 * WIRE_RECORD per request, WIRE_MODE_DONE; WIRE_FAIL with a message (and exit 1) when conlab
 * itself cannot run it. SIGTERM cancels (the current mode ends with cancelled records and
 * `cancelled = 1`, later modes are skipped, exit 0). It dies with its parent. */
int cmd_job(int argc, char **argv); /* cmd_job.c */

#endif
