/* JSON shapes of the contract shared by the CLI, the store and the API. */
#ifndef CONLAB_RESULT_JSON_H
#define CONLAB_RESULT_JSON_H

#include "record.h"

struct cJSON;

/* RESULT: {"mode","requests","ok","errors","wall_ms","rps","latency_ms"{...}|null,"cpu_ms"{user,sys},
 * "peak_rss_kb"} plus extensions "errors_by_kind" {kind: n}, "bytes", "lanes", "cancelled". */
struct cJSON *result_to_json(const struct mode_result *r);

/* Inverse of result_to_json (for rows stored as JSON); returns 0 or -1. */
int result_from_json(const struct cJSON *j, struct mode_result *r);

/* A request row: {"seq","lane","sched_us","start_us","connect_us","ttfb_us","end_us","status",
 * "bytes","error","error_kind"}; -1 times become null, "" error becomes null, status 0 null. */
struct cJSON *record_to_json(const struct bench_record *r);

#endif
