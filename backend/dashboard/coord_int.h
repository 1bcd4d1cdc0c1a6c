/* The coordinator's insides shared by coord.c (runs, joins, the watchdog) and coord_point.c
 * (barriers, parts, merges): the state of a sharded run. Not for use outside them. */
#ifndef CONLAB_COORD_INT_H
#define CONLAB_COORD_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "coord.h"
#include "job.h"
#include "part.h"
#include "recorder.h"
#include "store.h"

#define COORD_KEEP_US (600 * 1000000LL) /* an ended run still answers its shards this long */

struct cshard {
    struct store_shard row; /* as stored */
    int ready;              /* the point it is ready for; -1 none */
    bool has_part;          /* its part of the current point arrived */
    struct part part;
    int64_t ok; /* over the merged points: ok requests and their wall time */
    double wall_ms;
};

struct crun {
    struct crun *next;
    char id[JOB_ID_LEN + 1];
    struct spec spec;
    int64_t n;
    int npoints;
    struct cshard *sh;
    int64_t created_us; /* monotonic */
    int joined;
    int point;           /* the point being run (npoints: all stored) */
    int64_t start_at_ms; /* its common start; 0 not yet */
    int nready, nparts;
    int64_t deadline_us; /* monotonic: no progress by then ends the run */
    struct recorder rec;
    bool recording;
    struct mode_result *results;
    int nresults;
    bool ended;
    int64_t ended_us;
    char status[16], message[RECORDER_ERROR_MAX + 200];
};

struct coord {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast on every change a barrier may wait for */
    struct store *st;
    struct coord_opts o;
    struct crun *runs;
    bool stop;
    pthread_t watchdog;
};

/* {"error": text, "field": field (left out when NULL)}. */
struct cJSON *coord_error(const char *field, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The run of that id, or NULL. Call with c->mu held (as every function below). */
struct crun *coord_find(struct coord *c, const char *id);

/* Writes shard i's row to the store (a failure is logged). */
void coord_save_shard(struct coord *c, struct crun *r, int64_t i);

/* "point k (mode at C=level)", or "the end of the run" for k = npoints. */
void coord_point_name(const struct crun *r, int k, char *out, size_t outlen);

/* Ends run r through the recorder: partial (a shard lost: why), failed (failure), done or
 * interrupted, as recorder_outcome decides; wakes every waiting request. */
void coord_end_run(struct coord *c, struct crun *r, enum recorder_stop stop, const char *partial,
                   const char *failure);

/* Marks shard i failed, saying why. */
void coord_shard_failed(struct coord *c, struct crun *r, int64_t i, const char *msg);

/* The run a shard names, checked (known, shard in range); else NULL with *status and *reply. */
struct crun *coord_shard_run(struct coord *c, const char *id, int64_t shard, int *status,
                             struct cJSON **reply);

/* {"error": "run ID has ended (status): message"}. */
struct cJSON *coord_ended(const struct crun *r);

#endif
