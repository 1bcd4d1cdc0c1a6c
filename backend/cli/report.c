#include "report.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>
#include "findings.h"
#include "result_json.h"
#include "util.h"
#include "verdict.h"

/* The table prints RESULT's numbers as RESULT holds them (3 decimals, round3) before it rounds
 * them for the eye, so that a figure reads the same here as in --json, the API and the page
 * (rounding the raw value could land a digit apart: 6.6649 -> 6.66 here, 6.665 -> 6.67 there). */
static void cell_ms(char *buf, size_t len, int has, double v)
{
    if (has) snprintf(buf, len, "%.1f", round3(v));
    else snprintf(buf, len, "-");
}

/* "3" or "1,2,4,8". */
static void levels_text(char *buf, size_t len, const struct spec *s)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < s->nlevels && at < len; k++)
        at += (size_t)snprintf(buf + at, len - at, "%s%lld", k ? "," : "", (long long)s->levels[k]);
}

/* With a rate, two more columns: p50 and p99 of end - sched (latency_from_due_ms). */
static void row(FILE *f, const struct mode_result *r, bool sweep, bool due)
{
    char p50[32], p90[32], p99[32], max[32];
    cell_ms(p50, sizeof p50, r->has_latency, r->latency_ms.p50);
    cell_ms(p90, sizeof p90, r->has_latency, r->latency_ms.p90);
    cell_ms(p99, sizeof p99, r->has_latency, r->latency_ms.p99);
    cell_ms(max, sizeof max, r->has_latency, r->latency_ms.max);
    /* A rate of failures is no throughput: no req/s for a mode without an ok request. */
    bool all_failed = r->ok == 0 && r->requests > 0;
    char rps[32];
    if (all_failed) snprintf(rps, sizeof rps, "-");
    else snprintf(rps, sizeof rps, "%.2f", round3(r->rps));
    fprintf(f, "%-13s ", result_mode_name(r));
    if (sweep) fprintf(f, "%6lld ", (long long)r->concurrency);
    fprintf(f, "%8lld %8lld %7lld %9.3f %10s %9s %9s %9s %9s ", (long long)r->requests,
            (long long)r->ok, (long long)r->errors, round3(r->wall_ms) / 1000.0, rps, p50, p90, p99,
            max);
    if (due) {
        cell_ms(p50, sizeof p50, r->has_latency_from_due, r->latency_from_due_ms.p50);
        cell_ms(p99, sizeof p99, r->has_latency_from_due, r->latency_from_due_ms.p99);
        fprintf(f, "%9s %9s ", p50, p99);
    }
    fprintf(f, "%9.1f %9.1f%s%s\n", round3(r->cpu_user_ms) + round3(r->cpu_sys_ms),
            (double)r->peak_rss_kb / 1024.0, all_failed ? "  all failed" : "",
            r->cancelled ? "  (cancelled)" : "");
}

void report_table(FILE *f, const struct spec *s, const struct mode_result *res, int n)
{
    char levels[SPEC_MAX_LEVELS * 12];
    levels_text(levels, sizeof levels, s);
    fprintf(f, "%s %s  requests %lld  concurrency %s%s%s", s->method, s->url,
            (long long)s->requests, levels, s->keepalive ? "" : "  no keep-alive",
            s->rate > 0 ? "  rate-limited" : "");
    if (s->work_us > 0) fprintf(f, "  work %lld us", (long long)s->work_us);
    fputc('\n', f);
    bool sweep = s->nlevels > 1;
    fprintf(f, "%-13s ", "mode");
    if (sweep) fprintf(f, "%6s ", "conc");
    bool due = s->rate > 0;
    fprintf(f, "%8s %8s %7s %9s %10s %9s %9s %9s %9s ", "requests", "ok", "errors", "wall s",
            "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms");
    /* The latency from each request's due time, corrected for coordinated omission. */
    if (due) fprintf(f, "%9s %9s ", "due p50", "due p99");
    fprintf(f, "%9s %9s\n", "cpu ms", "peak MiB");
    /* A sweep reads best mode by mode, its levels in order (the run interleaved them). */
    for (int m = 0; m < (sweep ? s->nmodes : 1); m++)
        for (int i = 0; i < n; i++)
            if (!sweep || res[i].mode == (int32_t)s->modes[m]) row(f, &res[i], sweep, due);
    for (int i = 0; i < n; i++) {
        const struct mode_result *r = &res[i];
        if (r->client.failed)
            fprintf(f, "%s failed: %s\n%s%s", r->client.name, r->client.failure,
                    r->client.stderr_tail[0] ? "  its stderr ends: " : "", r->client.stderr_tail);
        if (!r->errors) continue;
        fprintf(f, "%s", result_mode_name(r));
        if (sweep) fprintf(f, " at %lld", (long long)r->concurrency);
        fprintf(f, " errors:");
        for (int k = 1; k < REQ_ERR_COUNT; k++)
            if (r->errors_by_kind[k])
                fprintf(f, " %s %lld", req_error_name(k), (long long)r->errors_by_kind[k]);
        if (r->top_error_count > 0)
            fprintf(f, "; most common: \"%s\" (%s, %lld of %lld)", r->top_error,
                    req_error_name(r->top_error_kind), (long long)r->top_error_count,
                    (long long)r->requests);
        fputc('\n', f);
    }
}

void report_findings(FILE *f, const struct findings *findings)
{
    if (findings->n == 0) return;
    fprintf(f, "\nfindings:\n");
    for (int i = 0; i < findings->n; i++)
        fprintf(f, "  %-7s %s\n", finding_kind_name(findings->f[i].kind), findings->f[i].text);
}

/* "100", "1", "33.3": a number with at most one decimal, no trailing ".0". */
static const char *fmt_num(char *buf, size_t len, double v, int decimals)
{
    snprintf(buf, len, "%.*f", decimals, v);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *end = buf + strlen(buf) - 1;
        while (end > dot && *end == '0') *end-- = '\0';
        if (end == dot) *end = '\0';
    }
    return buf;
}

/* One crossed threshold in the page's words and units: "p99 1000.3 ms > 300 ms",
 * "error_rate 100 % > 1 %", "rps_min 9.97 req/s < 40 req/s". */
static void verdict_line(FILE *f, const struct verdict_failure *x)
{
    char v[48], l[48];
    switch (x->threshold) {
    case VERDICT_P99_MS:
        if (isnan(x->value))
            fprintf(f, " p99: no request to measure (limit %s ms)\n",
                    fmt_num(l, sizeof l, x->limit, 3));
        else
            fprintf(f, " p99 %.1f ms > %s ms\n", x->value, fmt_num(l, sizeof l, x->limit, 3));
        break;
    case VERDICT_ERROR_RATE:
        fprintf(f, " error_rate %s %% > %s %%\n", fmt_num(v, sizeof v, x->value * 100, 1),
                fmt_num(l, sizeof l, x->limit * 100, 3));
        break;
    default:
        fprintf(f, " rps_min %.2f req/s < %s req/s\n", x->value,
                fmt_num(l, sizeof l, x->limit, 3));
        break;
    }
}

void report_verdict(FILE *f, const struct spec *s, const struct verdict *verdict)
{
    if (!verdict->judged) return;
    if (verdict->nfailed == 0) {
        fprintf(f, "\nthresholds: passed in every mode\n");
        return;
    }
    fprintf(f, "\nthresholds: FAILED\n");
    for (int i = 0; i < verdict->nfailed; i++) {
        const struct verdict_failure *x = &verdict->failed[i];
        const char *name = spec_mode_name(s, x->mode);
        fprintf(f, "  %-10s", name ? name : "unknown");
        if (s->nlevels > 1) fprintf(f, " at %lld", (long long)x->concurrency);
        verdict_line(f, x);
    }
}

void report_progress(FILE *f, const char *mode, int64_t done, int64_t total, int force)
{
    static int64_t last;
    int64_t now = clock_us();
    if (!force && now - last < 100000) return;
    last = now;
    char bar[31];
    int fill = total > 0 ? (int)(30 * done / total) : 0;
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(f, "\r  %-10s [%s] %lld/%lld ", mode, bar, (long long)done, (long long)total);
    fflush(f);
}

void report_progress_end(FILE *f)
{
    fprintf(f, "\r%70s\r", "");
    fflush(f);
}
