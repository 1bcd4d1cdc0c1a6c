/* The dashboard: the web server (page and JSON API), the run queue and its runner. The only
 * interface of this layer; `conlab serve` opens the store, then starts and stops this. It
 * never runs the engine itself: each run executes in a child process (`conlab __job`). */
#ifndef CONLAB_DASHBOARD_H
#define CONLAB_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "spec.h"

struct store;
struct dashboard;
struct client_registry;

struct job_opts {
    int queue_max;         /* runs waiting (the running one not counted); 16 */
    int queue_per_client;  /* runs one client address (not loopback) may have waiting; 4 */
    const char *exe;       /* the conlab binary to spawn as `EXE __job`: self_exe() */
    int64_t kill_grace_ms; /* after SIGTERM, wait this long before SIGKILL; 5000 */
    int64_t max_run_ms;    /* a run still running after this long is cancelled; 0: no limit */
    int64_t max_runs;      /* after each run, the oldest ended runs beyond this are deleted; 0: no limit */
    int64_t max_db_bytes;  /* ... and while the stored data is larger than this; 0: no limit */
    const struct client_registry *clients; /* registered clients, handed to each job child */
};

void job_opts_default(struct job_opts *o);

struct dashboard_opts {
    const char *host;     /* IPv4 address to listen on; "" for every interface */
    int port;             /* 0 picks a free port */
    const char *web_root; /* folder holding index.html, *.js, style.css, vendor/ */
    int threads;          /* civetweb worker threads: each open connection (SSE too) holds one */
    const char *db_path;  /* exports stream from a connection of their own */
    struct spec_limits limits;
    const char *token;    /* NULL: no request needs a token */
    bool public_read;     /* with a token, reads need none (only start, cancel, delete do) */
    const char *const *allow_hosts; /* Host names the server answers to besides loopback */
    int nallow_hosts;
    const char *const *secret_headers; /* header names shown as "***" besides the usual ones */
    int nsecret_headers;
    const char *tls_dir;    /* --tls-dir: where a spec's TLS names are read from; NULL none */
    bool secret_body;     /* target.body shown as "***" too */
    const char *const *allow_targets; /* --allow-target patterns; none: every host */
    int nallow_targets;
    bool allow_self_target; /* the dashboard may be its own target */
    int per_client;         /* connections one client address may hold; 0: threads / 2 */
    int keepalive_ms;       /* idle keep-alive connections close after this; 0: 5000 */
    int request_timeout_ms; /* a request head must arrive within this; 0: 5000 */
    const char *demo_url; /* the demo target's URL, NULL when there is none */
    int64_t demo_workers, demo_delay_ms;
    struct job_opts job;
    const char *const *default_modes; /* the form's modes at first; none: the built-in four */
    int ndefault_modes;
};

/* A pattern as --allow-target takes it (a host name, *.domain, an address or a CIDR): 0, or -1
 * with err naming it. */
int dashboard_target_pattern_valid(const char *pattern, char *err, size_t errlen);

/* Starts the runner and the web server. `runner_st` is the runner's own store connection,
 * `api_st` the handlers'; both must outlive the dashboard. `url` gets "http://HOST:PORT/" with
 * the port actually bound. Returns 0 or -1 with err (e.g. the port is in use). */
int dashboard_start(const struct dashboard_opts *o, struct store *runner_st, struct store *api_st,
                    struct dashboard **out, char *url, size_t urllen, char *err, size_t errlen);

/* Ends the running run ("interrupted") and every queued one, so that event streams close, then
 * stops the web server and frees. NULL is ignored. */
void dashboard_stop(struct dashboard *d);

#endif
