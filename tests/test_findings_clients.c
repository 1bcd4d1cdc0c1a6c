/* Findings about clients (docs/CLIENTS.md), on typed results: the `parallel` finding (CPU time
 * over wall time: the GIL serialising Python threads while processes use both cores), the
 * `ideal` time of a client that used one lane or several, the `cost` of a client's start-up and
 * memory, and a client's name wherever a finding names a mode. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "findings.h"
#include "spec.h"

static struct spec spec_of(const char *modes, const char *extra)
{
    char text[1024];
    snprintf(text, sizeof text, "{\"target\": {\"url\": \"http://x/\"}, \"modes\": [%s]%s%s}",
             modes, extra[0] ? ", " : "", extra);
    struct spec_limits lim;
    spec_limits_unbounded(&lim); /* a stored spec: any well-formed client name */
    struct spec s;
    char err[256];
    if (spec_from_text(text, &lim, &s, err, sizeof err)) {
        fprintf(stderr, "spec refused: %s\n", err);
        CHECK(0);
        spec_init(&s);
    }
    return s;
}

/* A finished point: `lanes` used, every request ok, cpu_ms of user time. */
static struct mode_result point(const struct spec *s, const char *mode, int64_t requests,
                                double wall_ms, double cpu_ms, int64_t lanes)
{
    struct mode_result r;
    memset(&r, 0, sizeof r);
    r.mode = spec_mode_from_name(s, mode);
    r.concurrency = s->levels[0];
    r.requests = r.ok = requests;
    r.wall_ms = wall_ms;
    r.rps = (double)requests / (wall_ms / 1000.0);
    r.cpu_user_ms = cpu_ms;
    r.lanes = lanes;
    r.has_latency = 1;
    r.latency_ms = (struct latency_summary){1, 2, 2, 2, 2, 3};
    r.peak_rss_kb = 20480;
    if (mode_is_client(r.mode)) {
        r.client.is_client = 1;
        snprintf(r.client.name, sizeof r.client.name, "%s", mode);
        r.client.startup_ms = 150;
    }
    return r;
}

static const struct finding *find(const struct findings *f, enum finding_kind kind, int mode)
{
    for (int i = 0; i < f->n; i++)
        if (f->f[i].kind == kind && f->f[i].mode == mode) return &f->f[i];
    return NULL;
}

static int count(const struct findings *f, enum finding_kind kind)
{
    int n = 0;
    for (int i = 0; i < f->n; i++)
        n += f->f[i].kind == kind;
    return n;
}

static struct findings fs; /* large: off the stack */

static void parallel(void)
{
    /* 40 responses × 25 ms of work at C=2: 1 s of CPU. */
    struct spec s = spec_of("\"threads\", \"py-threads\", \"py-processes\", \"py-sync\"",
                            "\"requests\": 40, \"concurrency\": 2, \"work_us\": 25000");
    struct mode_result r[4] = {
        point(&s, "threads", 40, 560, 1010, 2), point(&s, "py-threads", 40, 1090, 1040, 2),
        point(&s, "py-processes", 40, 560, 1060, 2), point(&s, "py-sync", 40, 1080, 1030, 1)};
    findings_compute(&s, r, 4, &fs);
    int pt = MODE_CLIENT_BASE, pp = MODE_CLIENT_BASE + 1, ps = MODE_CLIENT_BASE + 2;
    const struct finding *t = find(&fs, FINDING_PARALLEL, pt);
    CHECK(t && t->v.parallel.serialised && t->v.parallel.best_mode == pp);
    CHECK_NEAR(t->v.parallel.cores, 1040.0 / 1090.0, 1e-9);
    CHECK(t && !strcmp(t->text, "py-threads used 1.0 core for 25 ms of work per response: its 2 "
                                "lanes computed one at a time (Python threads: the GIL serialised "
                                "them); py-processes used 1.9"));
    const struct finding *p = find(&fs, FINDING_PARALLEL, pp);
    CHECK(p && !p->v.parallel.serialised && p->v.parallel.best_mode == -1);
    CHECK(p && !strcmp(p->text, "py-processes used 1.9 cores for 25 ms of work per response: "
                                "its 2 lanes computed side by side"));
    CHECK(find(&fs, FINDING_PARALLEL, MODE_THREADS) != NULL);
    CHECK(find(&fs, FINDING_PARALLEL, ps) == NULL); /* one lane: nothing to parallelise */
    /* Named in the JSON like any mode. */
    cJSON *j = findings_to_json(&fs);
    char *text = cJSON_PrintUnformatted(j);
    CHECK(strstr(text, "{\"kind\":\"parallel\",\"mode\":\"py-threads\"") != NULL);
    CHECK(strstr(text, "\"serialised\":true,\"best_mode\":\"py-processes\"") != NULL);
    free(text);
    cJSON_Delete(j);

    /* Without a second mode that used more cores, one core is not called serialised. */
    findings_compute(&s, &r[1], 1, &fs);
    t = find(&fs, FINDING_PARALLEL, pt);
    CHECK(t && !t->v.parallel.serialised && !strstr(t->text, "GIL"));
    /* Without work, or with CPU time that the work does not explain: no finding. */
    r[1].cpu_user_ms = 400;
    findings_compute(&s, &r[1], 1, &fs);
    CHECK(count(&fs, FINDING_PARALLEL) == 0);
    spec_free(&s);
    s = spec_of("\"py-threads\"", "\"requests\": 40, \"concurrency\": 2");
    struct mode_result q = point(&s, "py-threads", 40, 1090, 1040, 2);
    findings_compute(&s, &q, 1, &fs);
    CHECK(count(&fs, FINDING_PARALLEL) == 0);
    spec_free(&s);
}

static void ideal_and_cost(void)
{
    /* The talk: 3 requests at C=3 against 3 workers of 1000 ms. */
    struct spec s =
        spec_of("\"py-sync\", \"py-threads\"", "\"expect\": {\"delay_ms\": 1000, \"workers\": 3}");
    struct mode_result r[2] = {point(&s, "py-sync", 3, 3240, 40, 1),
                               point(&s, "py-threads", 3, 1200, 40, 3)};
    findings_compute(&s, r, 2, &fs);
    const struct finding *a = find(&fs, FINDING_IDEAL, MODE_CLIENT_BASE);
    CHECK(a && a->v.ideal.ideal_ms == 3000 && a->v.ideal.has_concurrent);
    /* one lane: N × D, like sync, and against a concurrent client */
    CHECK(a && !strncmp(a->text, "py-sync took ", 13) && strstr(a->text, "3 × 1000 ms") &&
          strstr(a->text, "a client with 3 requests in flight"));
    const struct finding *b = find(&fs, FINDING_IDEAL, MODE_CLIENT_BASE + 1);
    CHECK(b && b->v.ideal.ideal_ms == 1000);
    CHECK(b && !strncmp(b->text, "py-threads took ", 16) &&
          strstr(b->text, "⌈3 / min(3, 3)⌉ × 1000 ms"));
    CHECK(count(&fs, FINDING_COST) == 0); /* 3 requests: too few to speak per 1,000 */
    spec_free(&s);

    s = spec_of("\"threads\", \"py-threads\"", "\"requests\": 100");
    struct mode_result c[2] = {point(&s, "threads", 100, 500, 10, 3),
                               point(&s, "py-threads", 100, 600, 80, 3)};
    findings_compute(&s, c, 2, &fs);
    const struct finding *t = find(&fs, FINDING_COST, MODE_THREADS);
    const struct finding *p = find(&fs, FINDING_COST, MODE_CLIENT_BASE);
    CHECK(t && !t->v.cost.client && !strstr(t->text, "started"));
    CHECK(p && p->v.cost.client && p->v.cost.startup_ms == 150 && p->v.cost.peak_rss_kb == 20480);
    CHECK(p && !strcmp(p->text, "py-threads used 800 ms of CPU per 1,000 requests, 8.00× threads's "
                                "100 ms; it started in 150 ms (not in its wall time) and took 20.0 "
                                "MiB at most"));
    spec_free(&s);
}

int main(void)
{
    parallel();
    ideal_and_cost();
    return check_done("test_findings_clients");
}
