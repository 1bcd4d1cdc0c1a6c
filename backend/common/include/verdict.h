/* Thresholds' verdict (the contract's section "Thresholds"): whether every mode of a run stayed
 * within the spec's thresholds, computed from the RESULTs alone. One module used by `conlab run`
 * (exit 3) and by the dashboard (RUN's "verdict"). */
#ifndef CONLAB_VERDICT_H
#define CONLAB_VERDICT_H

#include <stdbool.h>

struct cJSON;
struct spec_thresholds;

/* {"pass": bool, "failed": [{"mode", "concurrency", "threshold", "limit", "value"}...]} over the
 * RESULT array `results`, in its order, thresholds in the order p99_ms, error_rate, rps_min;
 * JSON null when no threshold is set. What is compared, per RESULT:
 * - p99_ms: latency_all_ms.p99 (every request: a failed one at its elapsed time, a timeout at
 *   least timeout_ms, so that failures cannot pass it); a mode without a request crosses it
 *   (value null);
 * - error_rate: errors / requests (a mode without requests is not judged);
 * - rps_min: ok requests per second of wall time (failed requests are not throughput).
 * A value equal to its limit passes. Caller frees with cJSON_Delete. */
struct cJSON *verdict_json(const struct spec_thresholds *t, const struct cJSON *results);

/* True when v (a verdict_json result) says the run crossed a threshold. */
bool verdict_failed(const struct cJSON *v);

#endif
