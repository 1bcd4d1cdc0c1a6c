/* The commands behind `conlab <command>`; each returns the process exit code
 * (0 success, 1 runtime failure, 2 bad arguments). */
#ifndef CONLAB_COMMANDS_H
#define CONLAB_COMMANDS_H

int cmd_run(int argc, char **argv);   /* cmd_run.c */
int cmd_serve(int argc, char **argv); /* cmd_serve.c */

/* `conlab merge PART... [--db FILE] [--json]`: one run from the parts of its shards (exit 2 for
 * parts that do not make one run, 3 when a threshold is crossed). */
int cmd_merge(int argc, char **argv); /* cmd_merge.c */

/* `conlab target [--listen HOST:PORT] [--workers W] [--delay-ms D] [--max-conns N]
 * [--idle-timeout-ms T]`: runs the demo server until SIGINT/SIGTERM. */
int cmd_target(int argc, char **argv); /* cmd_target.c */

/* `conlab __job` (internal): the dashboard's job child. Reads a WIRE_SPEC frame on stdin, runs
 * the spec with bench_run and speaks the job protocol of wire.h: per mode WIRE_MODE_START,
 * WIRE_TICKs, then its WIRE_MSGs and WIRE_RECORDS, WIRE_MODE_DONE, and it waits for the
 * dashboard's WIRE_ACK on stdin before the next mode; WIRE_FAIL with a message (and exit 1) when
 * conlab itself cannot run it. SIGTERM cancels (the current mode ends with cancelled records and
 * `cancelled = 1`, later modes are skipped, exit 0). It dies with its parent. */
int cmd_job(int argc, char **argv); /* job_main.c */

/* `conlab __workers` (internal): the `processes` mode's worker starter, exec'd by a
 * multi-threaded coordinator; reads its setup on stdin and forks the workers. */
int cmd_workers(void); /* job_main.c */

/* `conlab __client MODE` (internal): a built-in mode as a client of docs/CLIENTS.md (workload
 * on stdin, protocol lines on stdout), to measure the protocol against the mode built in. */
int cmd_client(int argc, char **argv); /* client_main.c */

#endif
