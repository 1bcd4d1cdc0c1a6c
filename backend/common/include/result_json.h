/* JSON shapes of the contract shared by the CLI, the store and the API. */
#ifndef CONLAB_RESULT_JSON_H
#define CONLAB_RESULT_JSON_H

#include <stddef.h>
#include "record.h"

struct cJSON;

/* RESULT: {"mode","concurrency","requests","ok","errors","wall_ms","rps" (ok requests / wall),
 * "attempts_per_s" (requests / wall),"latency_ms"{...}|null (ok requests),"latency_all_ms"{...}|null
 * (every request, a failed one at its elapsed time), "latency_from_due_ms"{...}|null,"cpu_ms"{user,sys},"peak_rss_kb"} plus extensions
 * "errors_by_kind" {kind: n}, "top_error" {"kind","message","count"}|null (the most common error
 * message), "bytes", "lanes", "cancelled", and for processes "workers_rss_kb" (the workers'
 * summed peak RSS; peak_rss_kb counts their Pss), "connections" (new connections opened) and
 * "http_versions" {"1.1": n, "2": m} (answers by version, those seen), "tls_ms" (the TLS
 * handshakes of the connections it opened, summed) and "busy_ms" (the requests' own time,
 * summed). */
struct cJSON *result_to_json(const struct mode_result *r);

/* The mode's name: a built-in mode's, or the client's (its RESULT's "mode"). */
const char *result_mode_name(const struct mode_result *r);
/* The reverse of result_to_json, for a RESULT read back where it was stored: fills `out` (zeroed
 * first). Lenient with what older conlabs stored: a missing field is 0 (concurrency 0: the
 * caller knows the point's level), null or missing latencies are absent; a RESULT without
 * "attempts_per_s" holds the old rps (every request per second): it becomes attempts_per_s and
 * rps is recomputed as ok / wall; without "latency_all_ms", a mode whose requests were all ok
 * gets its latency_ms. A client's RESULT ("client": true) gets mode MODE_CLIENT_BASE: the
 * caller that knows its run sets its number. Returns 0, or -1 with err when j is not an object
 * or names no known mode nor a client. */
int result_from_json(const struct cJSON *j, struct mode_result *out, char *err, size_t errlen);

/* A request row: {"seq","lane","sched_us","start_us","connect_us","ttfb_us","end_us","status",
 * "bytes","error","error_kind","tls_us","reused","http_version","conn"}; -1 times (and conn)
 * become null, reused -1 null, http_version a string ("1.1", "2") or null, status 0 null; `error` is the request's
 * message (NULL or "" for none: then a failed request shows its kind's name, an ok one null). */
struct cJSON *record_to_json(const struct bench_record *r, const char *error);

/* The header line of the request CSV (newline included). */
#define RECORD_CSV_HEADER                                                                      \
    "mode,seq,lane,sched_us,start_us,connect_us,ttfb_us,end_us,status,bytes,error_kind,error,"    \
    "concurrency,tls_us,reused,http_version,conn\n"

/* Space record_to_csv needs at most. */
#define RECORD_CSV_MAX (RECORD_ERROR_MAX * 2 + 256)

/* One request of `mode` at level `concurrency` as a CSV line (newline and NUL included) into
 * `out` (RECORD_CSV_MAX bytes); `error` is its message as for record_to_json. Returns its length.
 * Null times and a missing status are empty fields; the error text is quoted, inner quotes
 * doubled, line breaks turned into spaces. */
size_t record_to_csv(const char *mode, int64_t concurrency, const struct bench_record *r,
                     const char *error, char *out);

#endif
