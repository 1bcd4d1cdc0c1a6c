/* Human output of `conlab run`: the results table and a progress line on a terminal. */
#ifndef CONLAB_REPORT_H
#define CONLAB_REPORT_H

#include <stdio.h>
#include "record.h"
#include "spec.h"

/* Prints a header line describing the spec, then one aligned row per result. */
void report_table(FILE *f, const struct spec *s, const struct mode_result *res, int n);

/* Redraws "\r  threads  [#####.....]  5/9" on f, at most every 100 ms unless force. */
void report_progress(FILE *f, const char *mode, int64_t done, int64_t total, int force);

/* Clears the progress line. */
void report_progress_end(FILE *f);

#endif
