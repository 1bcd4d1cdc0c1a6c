/* The log-linear latency histogram (histogram.h). */
#include "histogram.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNIT_BUCKETS 2048 /* values 0..2047 have a bucket each */
#define SUB (1 << HISTOGRAM_SUB_BITS)

void histogram_init(struct histogram *h)
{
    memset(h, 0, sizeof *h);
}

int histogram_bucket_of(int64_t v)
{
    if (v < UNIT_BUCKETS) return v < 0 ? 0 : (int)v;
    if (v > HISTOGRAM_MAX_US) v = HISTOGRAM_MAX_US;
    /* v in [2^m, 2^(m+1)), m >= 11: level k = m - 10 has buckets of width 2^k */
    int k = 63 - __builtin_clzll((unsigned long long)v) - HISTOGRAM_SUB_BITS;
    return UNIT_BUCKETS + (k - 1) * SUB + (int)((v >> k) - SUB);
}

int64_t histogram_bucket_lo(int b)
{
    if (b < UNIT_BUCKETS) return b < 0 ? 0 : b;
    int k = (b - UNIT_BUCKETS) / SUB + 1, sub = (b - UNIT_BUCKETS) % SUB;
    return (int64_t)(SUB + sub) << k;
}

int64_t histogram_bucket_hi(int b)
{
    if (b < UNIT_BUCKETS) return b < 0 ? 0 : b;
    int k = (b - UNIT_BUCKETS) / SUB + 1;
    int64_t hi = histogram_bucket_lo(b) + ((int64_t)1 << k) - 1;
    return hi > HISTOGRAM_MAX_US ? HISTOGRAM_MAX_US : hi;
}

void histogram_add_n(struct histogram *h, int64_t v, int64_t count)
{
    if (count <= 0 || count > HISTOGRAM_MAX_COUNT - h->count) return;
    if (v < 0) {
        h->underflow += count;
        v = 0;
    } else if (v > HISTOGRAM_MAX_US) {
        h->overflow += count;
        v = HISTOGRAM_MAX_US;
    }
    if (h->count == 0 || v < h->min) h->min = v;
    if (h->count == 0 || v > h->max) h->max = v;
    h->count += count;
    h->sum += (unsigned __int128)v * (unsigned __int128)count;
    h->counts[histogram_bucket_of(v)] += count;
}

void histogram_add(struct histogram *h, int64_t v)
{
    histogram_add_n(h, v, 1);
}

void histogram_merge(struct histogram *dst, const struct histogram *src)
{
    int64_t n = src->count;
    if (n <= 0 || n > HISTOGRAM_MAX_COUNT - dst->count) return;
    int from = histogram_bucket_of(src->min), to = histogram_bucket_of(src->max);
    for (int b = from; b <= to; b++)
        dst->counts[b] += src->counts[b];
    if (dst->count == 0 || src->min < dst->min) dst->min = src->min;
    if (dst->count == 0 || src->max > dst->max) dst->max = src->max;
    dst->underflow += src->underflow;
    dst->overflow += src->overflow;
    dst->sum += src->sum;
    dst->count += n;
}

int64_t histogram_count(const struct histogram *h)
{
    return h->count;
}

double histogram_min(const struct histogram *h)
{
    return h->count ? (double)h->min : NAN;
}

double histogram_max(const struct histogram *h)
{
    return h->count ? (double)h->max : NAN;
}

double histogram_mean(const struct histogram *h)
{
    return h->count ? (double)h->sum / (double)h->count : NAN;
}

/* The value standing for the values of bucket b: its middle, clamped to [min, max] (every
 * value counted lies there, so clamping only brings it closer). */
static double representative(const struct histogram *h, int b)
{
    double mid = ((double)histogram_bucket_lo(b) + (double)histogram_bucket_hi(b)) / 2.0;
    if (mid < (double)h->min) return (double)h->min;
    if (mid > (double)h->max) return (double)h->max;
    return mid;
}

double histogram_percentile(const struct histogram *h, double p)
{
    if (h->count == 0 || isnan(p)) return NAN;
    if (p <= 0) return (double)h->min;
    if (p >= 100) return (double)h->max;
    /* the same arithmetic as stats.c, so that exact buckets give the same double */
    double rank = p / 100.0 * (double)(h->count - 1);
    int64_t lo = (int64_t)floor(rank);
    int64_t hi = lo + 1 < h->count ? lo + 1 : lo;
    double frac = rank - (double)lo;
    double vlo = NAN, vhi = NAN;
    int64_t cum = 0;
    int last = histogram_bucket_of(h->max);
    for (int b = histogram_bucket_of(h->min); b <= last; b++) {
        if (!h->counts[b]) continue;
        cum += h->counts[b];
        if (isnan(vlo) && cum > lo) vlo = representative(h, b);
        if (cum > hi) {
            vhi = representative(h, b);
            break;
        }
    }
    if (isnan(vhi)) vhi = (double)h->max; /* only if the counts disagree with count */
    if (isnan(vlo)) vlo = vhi;
    return vlo + (vhi - vlo) * frac;
}

/* ---- text form ---- */

static void u128_text(unsigned __int128 v, char *out) /* out: at least 40 bytes */
{
    char tmp[40];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

char *histogram_encode(const struct histogram *h)
{
    int64_t nonempty = 0;
    int first = h->count ? histogram_bucket_of(h->min) : 0;
    int last = h->count ? histogram_bucket_of(h->max) : -1;
    for (int b = first; b <= last; b++) nonempty += h->counts[b] != 0;
    /* a ",D:C" entry is at most 1 + 5 + 1 + 20 characters (any int64 C) */
    size_t cap = 256 + (size_t)nonempty * 32, len;
    char *out = malloc(cap), sum[40];
    if (!out) return NULL;
    u128_text(h->sum, sum);
    len = (size_t)snprintf(out, cap, "h1;n=%lld;min=%lld;max=%lld;sum=%s;under=%lld;over=%lld;b=",
                           (long long)h->count, (long long)h->min, (long long)h->max, sum,
                           (long long)h->underflow, (long long)h->overflow);
    int prev = -1;
    for (int b = first; b <= last && len < cap; b++) {
        if (!h->counts[b]) continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%d:%lld", prev < 0 ? "" : ",",
                                b - prev - 1, (long long)h->counts[b]);
        prev = b;
    }
    return out;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "histogram: ");
        va_list ap;
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < errlen) vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Reads a decimal number of 1..39 digits (no sign, no leading zero but "0") at *s, at most
 * limit; advances *s. Returns 0 or -1. */
static int read_num(const char **s, unsigned __int128 limit, unsigned __int128 *out)
{
    const char *p = *s;
    unsigned __int128 v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (digits == 1 && v == 0) return -1; /* a leading zero */
        unsigned d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10) return -1;
        v = v * 10 + d;
        digits++;
        p++;
    }
    if (!digits) return -1;
    *s = p;
    *out = v;
    return 0;
}

/* "key=NUMBER" followed by ';' at *s. */
static int read_field(const char **s, const char *key, unsigned __int128 limit,
                      unsigned __int128 *out, char *err, size_t errlen)
{
    size_t k = strlen(key);
    if (strncmp(*s, key, k) || (*s)[k] != '=')
        return fail(err, errlen, "expected field '%s' at \"%.16s\"", key, *s);
    *s += k + 1;
    if (read_num(s, limit, out)) {
        char lim[40];
        u128_text(limit, lim);
        return fail(err, errlen, "field '%s': not a decimal number within 0..%s", key, lim);
    }
    if (**s != ';') return fail(err, errlen, "field '%s': expected ';' after its number", key);
    (*s)++;
    return 0;
}

/* The buckets' part "D:C,D:C,..." up to the end of the text; the header fields are in out. */
static int read_buckets(const char *s, struct histogram *out, char *err, size_t errlen)
{
    int64_t total = 0;
    int64_t prev = -1;
    while (*s) {
        unsigned __int128 d, c;
        if (prev >= 0 && *s++ != ',') return fail(err, errlen, "field 'b': expected ','");
        if (read_num(&s, HISTOGRAM_BUCKETS, &d) || *s++ != ':')
            return fail(err, errlen, "field 'b': expected SKIP:COUNT after bucket %lld",
                        (long long)prev);
        if (read_num(&s, HISTOGRAM_MAX_COUNT, &c) || c == 0)
            return fail(err, errlen, "field 'b': a count within 1..2^53 after bucket %lld",
                        (long long)prev);
        int64_t b = prev + 1 + (int64_t)d;
        if (b >= HISTOGRAM_BUCKETS)
            return fail(err, errlen, "field 'b': bucket %lld past the last one (%d)",
                        (long long)b, HISTOGRAM_BUCKETS - 1);
        if ((int64_t)c > out->count - total)
            return fail(err, errlen, "field 'b': the counts add up to more than n = %lld",
                        (long long)out->count);
        out->counts[b] = (int64_t)c;
        total += (int64_t)c;
        prev = b;
    }
    if (total != out->count)
        return fail(err, errlen, "field 'b': the counts add up to %lld, not n = %lld",
                    (long long)total, (long long)out->count);
    return 0;
}

/* What the buckets imply about min, max, sum, underflow and overflow. */
static int check_consistent(const struct histogram *h, char *err, size_t errlen)
{
    if (h->count == 0) {
        if (h->min || h->max || h->sum || h->underflow || h->overflow)
            return fail(err, errlen, "n = 0 with a non-zero min, max, sum, under or over");
        return 0;
    }
    if (h->min > h->max) return fail(err, errlen, "field 'min': above max");
    if (h->count == 1 && (h->min != h->max || h->sum != (unsigned __int128)h->min))
        return fail(err, errlen, "n = 1 with min, max and sum not one value");
    int first = -1, last = -1;
    unsigned __int128 lo_sum = 0, hi_sum = 0;
    for (int b = 0; b < HISTOGRAM_BUCKETS; b++) {
        if (!h->counts[b]) continue;
        if (first < 0) first = b;
        last = b;
        lo_sum += (unsigned __int128)histogram_bucket_lo(b) * (unsigned __int128)h->counts[b];
        hi_sum += (unsigned __int128)histogram_bucket_hi(b) * (unsigned __int128)h->counts[b];
    }
    if (histogram_bucket_of(h->min) != first)
        return fail(err, errlen, "field 'min': %lld is not in the first non-empty bucket",
                    (long long)h->min);
    if (histogram_bucket_of(h->max) != last)
        return fail(err, errlen, "field 'max': %lld is not in the last non-empty bucket",
                    (long long)h->max);
    /* with min and max in their buckets, the sum lies between the extremes they allow */
    unsigned __int128 cmin = (unsigned __int128)h->counts[first],
                      cmax = (unsigned __int128)h->counts[last];
    lo_sum += cmin * (unsigned __int128)(h->min - histogram_bucket_lo(first));
    hi_sum -= cmax * (unsigned __int128)(histogram_bucket_hi(last) - h->max); /* <= hi_sum */
    if (h->sum < lo_sum || h->sum > hi_sum)
        return fail(err, errlen, "field 'sum': outside what the buckets, min and max allow");
    if (h->underflow > h->counts[0] || (h->underflow && h->min != 0))
        return fail(err, errlen, "field 'under': more than the values counted as 0");
    if (h->overflow > h->counts[HISTOGRAM_BUCKETS - 1] ||
        (h->overflow && h->max != HISTOGRAM_MAX_US))
        return fail(err, errlen, "field 'over': more than the values counted as the maximum");
    if (h->underflow > h->count - h->overflow)
        return fail(err, errlen, "fields 'under' and 'over': more than n");
    return 0;
}

int histogram_decode(const char *text, struct histogram *out, char *err, size_t errlen)
{
    histogram_init(out);
    if (err && errlen) err[0] = '\0';
    if (!text) return fail(err, errlen, "no text");
    const char *s = text;
    if (strncmp(s, "h1;", 3)) return fail(err, errlen, "not a histogram (expected \"h1;\")");
    s += 3;
    unsigned __int128 n, mn, mx, sum, under, over;
    if (read_field(&s, "n", HISTOGRAM_MAX_COUNT, &n, err, errlen) ||
        read_field(&s, "min", HISTOGRAM_MAX_US, &mn, err, errlen) ||
        read_field(&s, "max", HISTOGRAM_MAX_US, &mx, err, errlen) ||
        read_field(&s, "sum", (unsigned __int128)HISTOGRAM_MAX_COUNT * HISTOGRAM_MAX_US, &sum,
                   err, errlen) ||
        read_field(&s, "under", HISTOGRAM_MAX_COUNT, &under, err, errlen) ||
        read_field(&s, "over", HISTOGRAM_MAX_COUNT, &over, err, errlen))
        goto refused;
    if (strncmp(s, "b=", 2)) {
        fail(err, errlen, "expected field 'b' at \"%.16s\"", s);
        goto refused;
    }
    out->count = (int64_t)n;
    out->min = (int64_t)mn;
    out->max = (int64_t)mx;
    out->sum = sum;
    out->underflow = (int64_t)under;
    out->overflow = (int64_t)over;
    if (read_buckets(s + 2, out, err, errlen) || check_consistent(out, err, errlen)) goto refused;
    return 0;
refused:
    if (err && errlen && !err[0]) fail(err, errlen, "inconsistent");
    histogram_init(out);
    return -1;
}
