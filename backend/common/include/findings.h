/* Findings: what a finished run's numbers say, in words, each with the numbers it comes from.
 * One module for `conlab run` (printed under the table, and in --json) and the API (RUN's
 * "findings"), so that both say the same. */
#ifndef CONLAB_FINDINGS_H
#define CONLAB_FINDINGS_H

struct cJSON;

/* The knee: the lowest level beyond which throughput grows by less than this factor. */
#define FINDINGS_KNEE_GROWTH 1.10
/* Little's law: sustained concurrency below this share of the lanes means the client was the
 * limit. */
#define FINDINGS_LITTLE_SHARE 0.80

/* Computes the findings of a run from its spec (the contract's JSON shape, as spec_to_json makes
 * it) and its RESULTs in run order (as result_to_json makes them). Returns a new array of
 * {"kind", "mode": M|null, "text", "values": {...}} — possibly empty, never NULL unless out of
 * memory. Kinds, in this order:
 *   errors  per mode with failed requests (cancelled ones aside): share by kind, the most
 *           common message;
 *   knee    per mode of a sweep of at least 3 levels without errors: the lowest level beyond
 *           which req/s grows by less than 10 %, when req/s grew by 10 % or more up to it;
 *           values.concurrency is that level;
 *   ideal   per mode when the server's model is known (spec.expect, D > 0), over the levels
 *           where every request was ok: wall time against ⌈N / min(C, W)⌉ × D (N × D for sync;
 *           with a rate, at least (N − 1) / rate + D); for a sweep the worst level;
 *   little  per concurrent mode without a rate, at a level with at least 5 requests per lane
 *           all ok: req/s × mean latency below 80 % of the lanes (for a sweep, the level with
 *           the lowest share);
 *   cost    per mode when at least two modes ran 50 requests or more: CPU ms per 1,000 requests
 *           over all its levels and the ratio to the cheapest mode.
 * Cancelled levels count for `errors` only. */
struct cJSON *findings_compute(const struct cJSON *spec, const struct cJSON *results);

#endif
