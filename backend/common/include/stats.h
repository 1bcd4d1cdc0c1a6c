/* Latency statistics over the ok requests of a mode. */
#ifndef CONLAB_STATS_H
#define CONLAB_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "record.h"

struct stats {
    int64_t *lat_us; /* latencies of ok requests, microseconds */
    size_t n, cap;
};

void stats_init(struct stats *s);
/* Returns 0 or -1 (out of memory). */
int stats_add(struct stats *s, int64_t latency_us);
/* Percentile p in [0,100] by linear interpolation between closest ranks (numpy's default).
 * Sorts in place. Returns NAN when empty. Values in the unit they were added in. */
double stats_percentile(struct stats *s, double p);
/* Fills min/mean/p50/p90/p99/max in milliseconds; returns 0, or -1 when there is no sample. */
int stats_summary(struct stats *s, struct latency_summary *out);
void stats_free(struct stats *s);

#endif
