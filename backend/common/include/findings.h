/* Findings: what a finished run's numbers say, in words, each with the numbers it comes from.
 * One module for `conlab run` (printed under the table, and in --json) and the API (RUN's
 * "findings"), so that both say the same. Computed on C data (the spec and the mode_results);
 * findings_to_json shapes them where they leave the process. */
#ifndef CONLAB_FINDINGS_H
#define CONLAB_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"
#include "spec.h"

struct cJSON;

/* The knee: the lowest level beyond which throughput grows by less than this factor. */
#define FINDINGS_KNEE_GROWTH 1.10
/* Little's law: sustained concurrency below this share of the lanes means the client was the
 * limit. */
#define FINDINGS_LITTLE_SHARE 0.80
/* TLS: the handshakes of the connections a mode opened take at least this share of its
 * requests' summed time. */
#define FINDINGS_TLS_SHARE 0.20

enum finding_kind {
    FINDING_ERRORS,
    FINDING_KNEE,
    FINDING_IDEAL,
    FINDING_LITTLE,
    FINDING_COST,
    FINDING_TLS,
    FINDING_PARALLEL
};

/* "errors", "knee", "ideal", "little", "cost", "tls", "parallel". */
const char *finding_kind_name(enum finding_kind k);

#define FINDING_TEXT_MAX 900
/* At most one finding of each kind per mode. */
#define FINDINGS_MAX (7 * SPEC_MAX_MODES)

/* The numbers behind each kind (RUN's "values"). */
struct finding_errors {
    int64_t errors, requests; /* failed (cancelled aside) over all levels */
    double share;
    int64_t by_kind[REQ_ERR_COUNT]; /* REQ_ERR_CANCELLED and REQ_OK stay 0 */
    bool has_message;
    char message[RECORD_ERROR_MAX]; /* the most common message over the levels */
    int64_t message_count;
};
struct finding_knee {
    int64_t concurrency, top_concurrency;
    double rps, rps_beyond_max, rps_first, p50_ms, top_p50_ms;
};
struct finding_ideal {
    int64_t concurrency, requests, delay_ms, workers;
    double wall_ms, ideal_ms, ratio;
    int levels;       /* > 0 for a sweep: levels judged, with ratio_min */
    double ratio_min;
    bool has_concurrent; /* sync: against a concurrent client at the same C */
    double concurrent_ideal_ms, vs_concurrent_ideal;
};
struct finding_little {
    int64_t concurrency, lanes;
    double in_flight, share, rps_ok, mean_latency_ms;
};
struct finding_cost {
    double cpu_ms_per_1000, ratio;
    int32_t cheapest; /* enum bench_mode */
    bool client;       /* a client's also counts its start-up and memory */
    double startup_ms; /* the longest of its levels */
    int64_t peak_rss_kb;
};

/* CPU time over wall time of a mode whose workers compute on each response (spec.work_us). */
struct finding_parallel {
    int64_t concurrency, lanes, work_us;
    double cpu_ms, wall_ms, cores;
    bool serialised;   /* about one core although its lanes had more (another mode used them) */
    int32_t best_mode; /* the mode that used the most cores; -1 when this one did */
    double best_cores;
};

struct finding_tls {
    int64_t connections;   /* opened over all its levels */
    double tls_ms, busy_ms; /* their handshakes; the requests' time; summed over the levels */
    double share;           /* tls_ms / busy_ms */
};

struct finding {
    enum finding_kind kind;
    int32_t mode; /* enum bench_mode; -1 for the run as a whole */
    char text[FINDING_TEXT_MAX];
    union {
        struct finding_errors errors;
        struct finding_knee knee;
        struct finding_ideal ideal;
        struct finding_little little;
        struct finding_cost cost;
        struct finding_tls tls;
        struct finding_parallel parallel;
    } v;
};

struct findings {
    struct mode_names names; /* the run's clients, by mode number */
    int n;
    struct finding f[FINDINGS_MAX];
};

/* Computes the findings of a run from its spec and its n results in run order into `out`
 * (possibly none). Kinds, in this order:
 *   errors  per mode with failed requests (cancelled ones aside): share by kind, the most
 *           common message;
 *   knee    per mode of a sweep of at least 3 levels without errors: the lowest level beyond
 *           which req/s grows by less than 10 %, when req/s grew by 10 % or more up to it;
 *           values.concurrency is that level;
 *   ideal   per mode when the server's model is known (spec.expect, D > 0), over the levels
 *           where every request was ok: wall time against ⌈N / min(C, W)⌉ × D (N × D for sync;
 *           with a rate, at least (N − 1) / rate + D); for a sweep the worst level; its text
 *           gives wall times to 0.1 ms, the ratio to 3 decimals and the ms over the ideal, so
 *           that modes a few ms apart read apart;
 *   little  per concurrent mode without a rate, at a level with at least 5 requests per lane
 *           all ok: req/s × mean latency below 80 % of the lanes (for a sweep, the level with
 *           the lowest share);
 *   cost    per mode when at least two modes ran 50 requests or more: CPU ms per 1,000 requests
 *           over all its levels and the ratio to the cheapest mode; a client's also says its
 *           start-up (apart from its wall time) and its peak memory;
 *   parallel per concurrent mode with work_us, at its top level with every request ok and
 *           the work at least half its CPU time: CPU time over wall time (the cores it used),
 *           "serialised" when about one (< 1.25) while another mode of the run used 1.5 or
 *           more: its lanes computed one at a time (Python threads under the GIL);
 *   tls     per mode whose new connections' TLS handshakes took at least 20 % of its requests'
 *           summed time (end - start), over all its levels.
 * Cancelled levels count for `errors` only. Numbers are read at the precision RESULT shows them
 * (3 decimals), so that fresh and stored results say the same. */
void findings_compute(const struct spec *s, const struct mode_result *r, size_t n,
                      struct findings *out);

/* [{"kind", "mode": M|null, "text", "values": {...}}...]; NULL only when out of memory. Caller
 * frees with cJSON_Delete. */
struct cJSON *findings_to_json(const struct findings *f);

#endif
