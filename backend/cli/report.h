/* Human output of `conlab run`: the results table and a progress line on a terminal. */
#ifndef CONLAB_REPORT_H
#define CONLAB_REPORT_H

#include <stdio.h>
#include "record.h"
#include "spec.h"

struct findings;
struct verdict;

/* Prints a header line describing the spec, then one aligned row per result; a sweep gets a
 * `conc` column and its rows grouped by mode, levels in order. */
void report_table(FILE *f, const struct spec *s, const struct mode_result *res, int n);

/* Prints "findings:" and one line per finding (kind, text); nothing when there is none. */
void report_findings(FILE *f, const struct findings *findings);

/* Prints the thresholds' verdict (verdict.h) under the table: "thresholds: passed ..." or
 * "thresholds: FAILED" and one line per crossed threshold in the page's units ("p99 1000.3 ms >
 * 300 ms", "error_rate 100 % > 1 %", "rps_min 9.97 req/s < 40 req/s"); nothing without
 * thresholds. */
void report_verdict(FILE *f, const struct spec *s, const struct verdict *verdict);

/* Redraws "\r  threads  [#####.....]  5/9" on f, at most every 100 ms unless force. */
void report_progress(FILE *f, const char *mode, int64_t done, int64_t total, int force);

/* Clears the progress line. */
void report_progress_end(FILE *f);

#endif
