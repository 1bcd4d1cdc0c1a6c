/* Thresholds' verdict (the contract's section "Thresholds"): whether every mode of a run stayed
 * within the spec's thresholds, computed from the results alone, on C data. One module used by
 * `conlab run` (exit 3) and by the dashboard (RUN's "verdict"); verdict_to_json shapes it where
 * it leaves the process. */
#ifndef CONLAB_VERDICT_H
#define CONLAB_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"
#include "spec.h"

struct cJSON;

enum verdict_threshold { VERDICT_P99_MS, VERDICT_ERROR_RATE, VERDICT_RPS_MIN, VERDICT_COUNT };

/* "p99_ms", "error_rate", "rps_min": the spec's names. */
const char *verdict_threshold_name(enum verdict_threshold t);

/* One threshold crossed by one result (a mode at a level). */
struct verdict_failure {
    int32_t mode; /* enum bench_mode */
    int64_t concurrency;
    enum verdict_threshold threshold;
    double limit;
    double value; /* NAN: nothing to measure (a mode without a request, for p99_ms) */
};

#define VERDICT_MAX_FAILED (VERDICT_COUNT * SPEC_MAX_MODES * SPEC_MAX_LEVELS)

struct verdict {
    bool judged; /* false: the spec sets no threshold (RUN's "verdict" is null) */
    bool pass;   /* judged and nothing crossed */
    struct mode_names names; /* the run's clients, by mode number */
    int nfailed;
    struct verdict_failure failed[VERDICT_MAX_FAILED];
};

/* Judges the n results (in run order) against s->thresholds into `out`; the failures are in
 * result order, thresholds in the order p99_ms, error_rate, rps_min. What is compared, per
 * result:
 * - p99_ms: latency_all_ms.p99 (every request: a failed one at its elapsed time, a timeout at
 *   least timeout_ms, so that failures cannot pass it); a mode without a request crosses it
 *   (value NAN);
 * - error_rate: errors / requests (a mode without requests is not judged);
 * - rps_min: ok requests per second of wall time (failed requests are not throughput).
 * A value equal to its limit passes. */
void verdict_compute(const struct spec *s, const struct mode_result *r, size_t n,
                     struct verdict *out);

/* {"pass": bool, "failed": [{"mode", "concurrency", "threshold", "limit", "value"|null}...]}, or
 * JSON null when not judged; values rounded to 6 decimals. Caller frees with cJSON_Delete. */
struct cJSON *verdict_to_json(const struct verdict *v);

#endif
