/* The run spec: parsed and validated once, shared by the CLI and the HTTP API. */
#ifndef CONLAB_SPEC_H
#define CONLAB_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "spec_tls.h"

struct cJSON;

enum bench_mode {
    MODE_SYNC = 0,
    MODE_THREADS,
    MODE_ASYNC,
    MODE_PROCESSES,
    MODE_H2MUX, /* C HTTP/2 streams over `connections` connections, one thread */
    MODE_COUNT
};

#define SPEC_MAX_LEVELS 16        /* concurrency levels of a sweep */

/* Clients (docs/CLIENTS.md): programs registered at start that run as modes. A spec names at
 * most SPEC_MAX_CLIENTS; the mode id of its client k is MODE_CLIENT_BASE + k (in the order the
 * spec's `modes` names them), so ids mean something only together with their spec. */
#define MODE_CLIENT_BASE 16
#define SPEC_MAX_CLIENTS 8
#define SPEC_MAX_MODES (MODE_COUNT + SPEC_MAX_CLIENTS)
#define CLIENT_NAME_MAX 33 /* [a-z][a-z0-9-]{0,31} and its NUL */
#define SPEC_MAX_WORK_US 1000000  /* work_us */
#define SPEC_DASHBOARD_MAX_TOTAL 10000000 /* requests of one run started through the dashboard */
#define SPEC_DASHBOARD_MAX_WORK_S 3600    /* CPU seconds of work_us in one such run */
#define SPEC_MAX_CONNECTIONS 1000 /* connections (h2mux) */

/* "sync", "threads", "async", "processes", "h2mux"; NULL for an out-of-range mode. */
const char *mode_name(enum bench_mode m);
/* Returns the mode for a name, or -1. */
int mode_from_name(const char *name);

struct spec_header {
    char *name;
    char *value;
};

/* Thresholds (the contract's section "Thresholds"), applied to every mode of the run; NAN
 * where not set. verdict.h judges RESULTs against them. */
struct spec_thresholds {
    double p99_ms;     /* > 0: the most a mode's p99 latency may be */
    double error_rate; /* 0..1: the largest share of failed requests */
    double rps_min;    /* >= 0: the fewest ok requests per second of wall time */
};

struct spec {
    char *url;
    char *method; /* upper-case token, default "GET" */
    struct spec_header *headers;
    int nheaders;
    char *body; /* NULL: no body */
    enum spec_http http; /* target.http */
    struct spec_tls tls; /* target.tls */
    char **resolve;      /* target.resolve: HOST:PORT:ADDRESS entries */
    int nresolve;
    int64_t requests;
    /* Concurrency levels in run order, strictly increasing; a single level unless `sweep`. For
     * each level, each mode runs `requests` requests (levels outer, modes inner). */
    int64_t levels[SPEC_MAX_LEVELS];
    int nlevels;
    bool sweep; /* concurrency was given as a list (even of one level): printed back as a list */
    enum bench_mode modes[SPEC_MAX_MODES]; /* built-in ids, and client ids (MODE_CLIENT_BASE + k) */
    int nmodes;
    char clients[SPEC_MAX_CLIENTS][CLIENT_NAME_MAX]; /* the clients named in modes, in order */
    int nclients;
    int64_t timeout_ms;
    double rate; /* requests per second over a mode; 0 = no limit */
    bool keepalive;
    char *label;
    int64_t work_us; /* CPU time each worker computes over a response's body; 0 = none */
    bool has_expect; /* the server's model is known: expect.delay_ms, expect.workers */
    int64_t expect_delay_ms, expect_workers;
    struct spec_thresholds thresholds;
    int64_t connections; /* h2mux: the connections its streams share (default 1) */
    int64_t shards; /* the dashboard coordinates this many shards (`conlab run --join`); 0: none */
};
#define SPEC_MAX_SHARDS 64

#define SPEC_MIN_RATE 0.001 /* a rate is 0 (no limit) or at least this many requests/s */
#define SPEC_MAX_DEPTH 8     /* spec JSON nested deeper is refused before it is parsed */

/* Limits above which a spec is refused, naming the field. */
struct spec_limits {
    int64_t max_requests;            /* 1,000,000 */
    int64_t max_concurrency[MODE_COUNT]; /* sync: unused, threads 1000, async 10000,
                                          * processes 256, h2mux 1000 (streams) */
    int64_t max_timeout_ms;          /* 3,600,000 */
    int64_t max_body_bytes;          /* 65536 */
    int64_t max_concurrency_client;  /* 1000 */
    /* The registered clients a spec may name (not owned; must outlive the limits); `any_client`
     * accepts every well-formed name (a spec validated once already). */
    const char *const *clients;
    int nclients;
    bool any_client;
    int64_t max_total_requests;      /* requests x levels x modes of one run: no limit by default
                                        (the command line's user runs what they ask for); the
                                        dashboard's is SPEC_DASHBOARD_MAX_TOTAL */
    int64_t max_work_s;              /* work_us x requests x levels x modes, in CPU s: likewise,
                                        SPEC_DASHBOARD_MAX_WORK_S for the dashboard */
};

/* Checks that spec s can be split into n shards: n must not exceed any concurrency level nor the
 * requests (else a shard would get nothing to run), and no mode may be a client program (it
 * keeps its own seqs and due times). Returns 0 or -1 naming `what`. */
int spec_check_split(const struct spec *s, int64_t n, const char *what, char *err, size_t errlen);

/* True for a client's mode id. */
bool mode_is_client(int mode);

/* A mode's name within its spec: a built-in mode's, or the client's; NULL when s has no such
 * mode. */
const char *spec_mode_name(const struct spec *s, int mode);

/* The mode id of a name within a spec (built-in or one of its clients), or -1. */
int spec_mode_from_name(const struct spec *s, const char *name);

/* The names behind a run's client mode ids, for readers that hold the run's stored spec rather
 * than a struct spec (the store, the dashboard's views). */
struct mode_names {
    int n;
    char client[SPEC_MAX_CLIENTS][CLIENT_NAME_MAX];
};

/* From a spec's JSON: its "modes" that are no built-in mode, in order. NULL gives none. */
void mode_names_from_json(const struct cJSON *spec, struct mode_names *out);

/* From a parsed spec. */
void mode_names_from_spec(const struct spec *s, struct mode_names *out);

/* A mode's name (built-in, or client by the table; NULL when unknown). */
const char *mode_names_get(const struct mode_names *n, int mode);

/* A name's mode id (built-in, or client by the table), or -1. */
int mode_names_find(const struct mode_names *n, const char *name);

/* Checks a client's name: [a-z][a-z0-9-]{0,31}, not a built-in mode. Returns 0 or -1 with a
 * message naming the rule. */
int client_name_check(const char *name, char *err, size_t errlen);

void spec_limits_default(struct spec_limits *l);

/* Limits that refuse nothing, for a spec that was validated once already (handed from the
 * dashboard to its job child, or from a coordinator to its workers). */
void spec_limits_unbounded(struct spec_limits *l);

/* Fills defaults (everything but the URL). */
void spec_init(struct spec *s);

/* Parses a spec from JSON. Every field but target.url is optional. Unknown fields, keys given
 * twice, wrong types, out-of-range values, strings that are not UTF-8 and non-http(s) URLs are
 * refused: returns -1 with a one-line message that
 * starts with the field's path (e.g. "concurrency: ..."). On success `out` owns its strings;
 * free with spec_free(). On failure `out` is left freed. */
int spec_from_json(const struct cJSON *json, const struct spec_limits *lim, struct spec *out,
                   char *err, size_t errlen);

/* Same, from JSON text; nesting deeper than SPEC_MAX_DEPTH and NUL characters (\u0000) in
 * strings are refused before the text is parsed. */
int spec_from_text(const char *text, const struct spec_limits *lim, struct spec *out, char *err,
                   size_t errlen);

/* Checks the invariants spec_from_json checks, for a spec built or changed in C. */
int spec_validate(const struct spec *s, const struct spec_limits *lim, char *err, size_t errlen);

/* The spec in the contract's JSON shape, all fields present. Caller frees with cJSON_Delete. */
struct cJSON *spec_to_json(const struct spec *s);

/* Same, as compact text; caller frees with free(). */
char *spec_to_text(const struct spec *s);

/* Deep copy; returns 0 or -1 (out of memory). */
int spec_copy(struct spec *dst, const struct spec *src);

void spec_free(struct spec *s);

/* Thresholds with nothing set. */
void spec_thresholds_init(struct spec_thresholds *t);

/* True when at least one threshold is set. */
bool spec_thresholds_any(const struct spec_thresholds *t);

/* Parses the spec's "thresholds" object ({"p99_ms", "error_rate", "rps_min"}, each optional;
 * null or {} sets none) into t, checking each value's range. Returns 0, or -1 with a message
 * naming the field ("thresholds.p99_ms: ..."). */
int spec_thresholds_parse(const struct cJSON *v, struct spec_thresholds *t, char *err,
                          size_t errlen);

/* Sets one threshold by name from text, as `conlab run --threshold NAME=X` gives it. Returns 0,
 * or -1 with a message naming the threshold (or the known names). */
int spec_thresholds_set(struct spec_thresholds *t, const char *name, const char *value,
                        char *err, size_t errlen);

/* Fills `expect` when the spec has none and its target is the demo target at demo_url (same
 * scheme, host and port): W = workers, D = delay_ms unless the URL's `delay_ms` query override
 * says otherwise (the target reads it, the last one winning). Returns 1 when filled, else 0. */
int spec_expect_from_demo(struct spec *s, const char *demo_url, int64_t workers, int64_t delay_ms);

#endif
