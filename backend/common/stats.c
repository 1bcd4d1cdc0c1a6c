#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include "util.h"

void stats_init(struct stats *s)
{
    s->lat_us = NULL;
    s->n = s->cap = 0;
}

int stats_add(struct stats *s, int64_t latency_us)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        int64_t *p = realloc(s->lat_us, cap * sizeof *p);
        if (!p) return -1;
        s->lat_us = p;
        s->cap = cap;
    }
    s->lat_us[s->n++] = latency_us;
    return 0;
}


/* Percentile of sorted data by linear interpolation between closest ranks. */
static double sorted_percentile(const int64_t *v, size_t n, double p)
{
    if (n == 0) return NAN;
    if (p <= 0) return (double)v[0];
    if (p >= 100) return (double)v[n - 1];
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(rank);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double frac = rank - (double)lo;
    return (double)v[lo] + ((double)v[hi] - (double)v[lo]) * frac;
}

double stats_percentile(struct stats *s, double p)
{
    if (s->n == 0) return NAN;
    qsort(s->lat_us, s->n, sizeof *s->lat_us, cmp_int64);
    return sorted_percentile(s->lat_us, s->n, p);
}

int stats_summary(struct stats *s, struct latency_summary *out)
{
    if (s->n == 0) return -1;
    qsort(s->lat_us, s->n, sizeof *s->lat_us, cmp_int64);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++) sum += (double)s->lat_us[i];
    out->min = (double)s->lat_us[0] / 1000.0;
    out->max = (double)s->lat_us[s->n - 1] / 1000.0;
    out->mean = sum / (double)s->n / 1000.0;
    out->p50 = sorted_percentile(s->lat_us, s->n, 50) / 1000.0;
    out->p90 = sorted_percentile(s->lat_us, s->n, 90) / 1000.0;
    out->p99 = sorted_percentile(s->lat_us, s->n, 99) / 1000.0;
    return 0;
}

void stats_free(struct stats *s)
{
    free(s->lat_us);
    stats_init(s);
}
