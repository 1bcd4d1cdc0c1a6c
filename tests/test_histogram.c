/* The latency histogram (histogram.h): its buckets, exact merges (k histograms merged in any
 * order and grouping equal the histogram of the union, bucket by bucket), percentiles within
 * the stated precision of the exact ones (stats.c, sorted) over the same values for several
 * distributions, the text form's round trip, and hostile text refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "histogram.h"
#include "stats.h"

#define MAX_VALUES 30000
#define K 7

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_u64(void) /* xorshift64*: deterministic, so a failure reproduces */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

static double uniform01(void)
{
    return (double)(next_u64() >> 11) / 9007199254740992.0;
}

static double normal(void)
{
    double u = uniform01(), v = uniform01();
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

static struct histogram *new_hist(void)
{
    struct histogram *h = malloc(sizeof *h);
    if (!h) abort();
    histogram_init(h);
    return h;
}

/* Same histogram, field by field and bucket by bucket. */
static int same(const struct histogram *a, const struct histogram *b)
{
    if (a->count != b->count || a->underflow != b->underflow || a->overflow != b->overflow ||
        a->min != b->min || a->max != b->max || a->sum != b->sum)
        return 0;
    return memcmp(a->counts, b->counts, sizeof a->counts) == 0;
}

static void test_buckets(void)
{
    /* contiguous, each value in its own bucket, never wider than 1/1024 of its lowest value */
    CHECK(histogram_bucket_lo(0) == 0);
    int bad = 0;
    for (int b = 0; b < HISTOGRAM_BUCKETS; b++) {
        int64_t lo = histogram_bucket_lo(b), hi = histogram_bucket_hi(b);
        if (b + 1 < HISTOGRAM_BUCKETS && histogram_bucket_lo(b + 1) != hi + 1) bad++;
        if (histogram_bucket_of(lo) != b || histogram_bucket_of(hi) != b) bad++;
        if (hi < lo || (hi - lo + 1 > 1 && (hi - lo + 1) * 1024 > lo)) bad++;
        if (lo < 2048 && hi != lo) bad++;
    }
    CHECK(bad == 0);
    CHECK(histogram_bucket_of(HISTOGRAM_MAX_US) == HISTOGRAM_BUCKETS - 1);
    CHECK(histogram_bucket_hi(HISTOGRAM_BUCKETS - 1) == HISTOGRAM_MAX_US);
    CHECK(histogram_bucket_of(2047) == 2047 && histogram_bucket_of(2048) == 2048);
    CHECK(histogram_bucket_of(2049) == 2048 && histogram_bucket_of(2050) == 2049);
}

static void test_basics(void)
{
    struct histogram *h = new_hist();
    CHECK(histogram_count(h) == 0 && isnan(histogram_percentile(h, 50)));
    CHECK(isnan(histogram_min(h)) && isnan(histogram_max(h)) && isnan(histogram_mean(h)));
    /* a zero-filled block is an empty histogram too */
    struct histogram *z = calloc(1, sizeof *z);
    CHECK(z && same(h, z));
    free(z);

    histogram_add(h, 1500000);
    CHECK(histogram_count(h) == 1 && histogram_percentile(h, 0) == 1500000 &&
          histogram_percentile(h, 50) == 1500000 && histogram_percentile(h, 100) == 1500000);
    CHECK(histogram_mean(h) == 1500000 && isnan(histogram_percentile(h, NAN)));

    /* out of range: clamped, counted as such, min/max/mean over the values as counted */
    histogram_init(h);
    histogram_add(h, -5);
    histogram_add(h, HISTOGRAM_MAX_US + 1000);
    histogram_add(h, INT64_MAX);
    histogram_add(h, 10);
    CHECK(h->underflow == 1 && h->overflow == 2 && h->count == 4);
    CHECK(histogram_min(h) == 0 && histogram_max(h) == (double)HISTOGRAM_MAX_US);
    CHECK(histogram_mean(h) == (2.0 * (double)HISTOGRAM_MAX_US + 10) / 4);
    CHECK(h->counts[0] == 1 && h->counts[HISTOGRAM_BUCKETS - 1] == 2);

    /* add_n is n adds; nothing for count <= 0 */
    struct histogram *a = new_hist(), *b = new_hist();
    for (int i = 0; i < 5; i++) histogram_add(a, 123456);
    histogram_add_n(b, 123456, 5);
    histogram_add_n(b, 7, 0);
    histogram_add_n(b, 7, -3);
    CHECK(same(a, b));
    /* the count limit: an add past it is dropped whole */
    histogram_add_n(b, 9, HISTOGRAM_MAX_COUNT);
    CHECK(histogram_count(b) == 5);
    histogram_add_n(b, 9, HISTOGRAM_MAX_COUNT - 5);
    CHECK(histogram_count(b) == HISTOGRAM_MAX_COUNT);
    histogram_add(b, 9);
    CHECK(histogram_count(b) == HISTOGRAM_MAX_COUNT);
    histogram_merge(b, a);
    CHECK(histogram_count(b) == HISTOGRAM_MAX_COUNT);
    free(a);
    free(b);
    free(h);
}

/* Distributions: each fills v[0..n) and returns n. */
enum dist { UNIFORM, LOGNORMAL, BIMODAL, CONSTANT, ONE, SMALL, WIDE, NDIST };
static const char *dist_name[NDIST] = {"uniform", "log-normal", "bimodal", "constant",
                                       "one value", "small (exact)", "wide (clamped)"};

static int fill(enum dist d, int64_t *v)
{
    int n = d == ONE ? 1 : d == SMALL ? 5000 : MAX_VALUES;
    for (int i = 0; i < n; i++) {
        double x = 0;
        switch (d) {
        case UNIFORM: x = 1 + uniform01() * 5e6; break;
        case LOGNORMAL: x = exp(log(20000.0) + 1.2 * normal()); break;
        case BIMODAL:
            x = uniform01() < 0.7 ? 1000 + 50 * normal() : 1000000 + 20000 * normal();
            break;
        case CONSTANT: x = 1000000; break;
        case ONE: x = 987654; break;
        case SMALL: x = uniform01() * 2047.9; break;
        case WIDE: x = -1000 + uniform01() * 5e9; break; /* below 0 and above 1 h */
        default: break;
        }
        v[i] = (int64_t)x;
    }
    return n;
}

static void test_precision(const int64_t *v, int n, enum dist d)
{
    struct histogram *h = new_hist();
    struct stats s;
    stats_init(&s);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        histogram_add(h, v[i]);
        int64_t c = v[i] < 0 ? 0 : v[i] > HISTOGRAM_MAX_US ? HISTOGRAM_MAX_US : v[i];
        stats_add(&s, c); /* the exact side sees the values as counted */
        sum += (double)c;
    }
    CHECK(histogram_count(h) == n);
    int off = 0, worse_than_exact = 0;
    double worst = 0;
    for (double p = 0; p <= 100.0; p += (p < 99 ? 1.25 : 0.05)) {
        double e = stats_percentile(&s, p), a = histogram_percentile(h, p);
        double rel = e > 0 ? fabs(a - e) / e : fabs(a - e);
        if (rel > worst) worst = rel;
        /* the stated precision: within E/2048, up to double rounding */
        if (fabs(a - e) > e / 2048.0 + 1e-9 * e + 1e-9) off++;
        if (d == SMALL && a != e) worse_than_exact++;
    }
    CHECK(off == 0);
    CHECK(worse_than_exact == 0);
    CHECK(histogram_percentile(h, 0) == stats_percentile(&s, 0));
    CHECK(histogram_percentile(h, 100) == stats_percentile(&s, 100));
    CHECK_NEAR(histogram_mean(h), sum / n, 1e-6 * sum / n);
    if (off) fprintf(stderr, "%s: %d percentiles off, worst relative error %g\n", dist_name[d], off,
                     worst);
    stats_free(&s);
    free(h);
}

/* K histograms of a random split of v, merged in order, in reverse, and as a tree, equal the
 * histogram of every value, bucket by bucket; and (a+b)+c == a+(b+c). */
static void test_merge(const int64_t *v, int n)
{
    struct histogram *all = new_hist(), *part[K];
    for (int k = 0; k < K; k++) part[k] = new_hist();
    for (int i = 0; i < n; i++) {
        histogram_add(all, v[i]);
        histogram_add(part[next_u64() % K], v[i]);
    }
    struct histogram *fwd = new_hist(), *rev = new_hist(), *left = new_hist(), *right = new_hist();
    for (int k = 0; k < K; k++) histogram_merge(fwd, part[k]);
    for (int k = K - 1; k >= 0; k--) histogram_merge(rev, part[k]);
    CHECK(same(fwd, all) && same(rev, all));
    /* ((p0+p1)+p2) + ... vs p0+(p1+(p2+...)), built into copies */
    memcpy(left, part[0], sizeof *left);
    for (int k = 1; k < K; k++) histogram_merge(left, part[k]);
    memcpy(right, part[K - 1], sizeof *right);
    for (int k = K - 2; k >= 0; k--) {
        struct histogram *t = new_hist();
        memcpy(t, part[k], sizeof *t);
        histogram_merge(t, right);
        memcpy(right, t, sizeof *t);
        free(t);
    }
    CHECK(same(left, all) && same(right, all));
    /* merging an empty histogram changes nothing; into an empty one copies */
    struct histogram *e = new_hist();
    histogram_merge(fwd, e);
    CHECK(same(fwd, all));
    histogram_merge(e, all);
    CHECK(same(e, all));
    /* merging a histogram into itself doubles it */
    histogram_merge(e, e);
    CHECK(e->count == 2 * all->count && e->sum == 2 * all->sum && e->min == all->min);
    for (int k = 0; k < K; k++) free(part[k]);
    free(all);
    free(fwd);
    free(rev);
    free(left);
    free(right);
    free(e);
}

static void test_round_trip(const int64_t *v, int n)
{
    struct histogram *h = new_hist(), *back = new_hist();
    for (int i = 0; i < n; i++) histogram_add(h, v[i]);
    char *text = histogram_encode(h), err[256];
    CHECK(text && strchr(text, '"') == NULL && strchr(text, '\\') == NULL);
    CHECK(text && histogram_decode(text, back, err, sizeof err) == 0);
    CHECK(same(h, back));
    char *again = histogram_encode(back);
    CHECK(text && again && strcmp(text, again) == 0);
    free(text);
    free(again);
    free(h);
    free(back);
}

static void refused(const char *text, const char *expect)
{
    struct histogram *h = new_hist();
    char err[256] = "stale";
    histogram_add(h, 5); /* refused text leaves an empty histogram */
    int rc = histogram_decode(text, h, err, sizeof err);
    CHECK(rc == -1 && histogram_count(h) == 0 && h->counts[5] == 0);
    CHECK(strncmp(err, "histogram: ", 11) == 0 && strlen(err) > 15);
    if (expect && !strstr(err, expect)) {
        fprintf(stderr, "decoding \"%.60s\": \"%s\" lacks \"%s\"\n", text ? text : "(null)", err,
                expect);
        CHECK(0);
    }
    free(h);
}

static void test_hostile(void)
{
    struct histogram *h = new_hist();
    char err[256];
    const char *ok = "h1;n=4;min=10;max=5000;sum=5040;under=0;over=0;b=10:1,4:2,3282:1";
    CHECK(histogram_decode(ok, h, err, sizeof err) == 0 && h->count == 4 && h->counts[15] == 2);
    CHECK(histogram_decode("h1;n=0;min=0;max=0;sum=0;under=0;over=0;b=", h, err, sizeof err) == 0);
    /* every proper prefix of a valid text is refused */
    for (size_t i = 0; i < strlen(ok); i++) {
        char cut[128];
        memcpy(cut, ok, i);
        cut[i] = '\0';
        refused(cut, NULL);
    }
    refused(NULL, "no text");
    refused("garbage", "not a histogram");
    refused("h2;n=0;min=0;max=0;sum=0;under=0;over=0;b=", "not a histogram");
    /* wrong counts */
    refused("h1;n=5;min=10;max=5000;sum=5040;under=0;over=0;b=10:1,4:2,3282:1", "not n = 5");
    refused("h1;n=3;min=10;max=5000;sum=5040;under=0;over=0;b=10:1,4:2,3282:1", "more than n");
    refused("h1;n=1;min=10;max=10;sum=10;under=0;over=0;b=10:0", "'b'");
    /* huge numbers */
    refused("h1;n=99999999999999999999999999999999999999999999;min=0;max=0;sum=0;under=0;over=0;b=",
            "'n'");
    refused("h1;n=9007199254740993;min=0;max=0;sum=0;under=0;over=0;b=0:9007199254740993", "'n'");
    refused("h1;n=1;min=3600000001;max=0;sum=0;under=0;over=0;b=0:1", "'min'");
    refused("h1;n=1;min=5;max=5;sum=5;under=0;over=0;b=99999:1", "'b'");
    refused("h1;n=1;min=5;max=5;sum=5;under=0;over=0;b=23221:1", "past the last");
    refused("h1;n=1;min=5;max=5;sum=5;under=0;over=0;b=2147483648:1", "'b'");
    refused("h1;n=2;min=5;max=5;sum=10;under=0;over=0;b=5:1,18446744073709551616:1", "'b'");
    /* syntax */
    refused("h1;n=-1;min=0;max=0;sum=0;under=0;over=0;b=", "'n'");
    refused("h1;n=01;min=1;max=1;sum=1;under=0;over=0;b=1:1", "'n'");
    refused("h1;n= 1;min=1;max=1;sum=1;under=0;over=0;b=1:1", "'n'");
    refused("h1;max=1;n=1;min=1;sum=1;under=0;over=0;b=1:1", "'n'");
    refused("h1;n=1;min=1;max=1;sum=1;under=0;over=0;b=1:1,", "'b'");
    refused("h1;n=1;min=1;max=1;sum=1;under=0;over=0;b=1:1;", "'b'");
    refused("h1;n=1;min=1;max=1;sum=1;under=0;over=0;b=1:1\n", "'b'");
    refused("h1;n=1;min=1;max=1;sum=1;under=0;over=0", "'over'");
    CHECK(histogram_decode("h1;n=2;min=3000;max=3001;sum=6001;under=0;over=0;b=2524:2", h, err,
                           sizeof err) == 0); /* 3000 and 3001 share a bucket */
    refused("h1;n=1;min=1;max=1;sum=1;under=0;over=0;b=1:1:1", "'b'");
    /* numbers the buckets cannot hold */
    refused("h1;n=2;min=9;max=10;sum=19;under=0;over=0;b=10:2", "'min'");
    refused("h1;n=2;min=10;max=11;sum=21;under=0;over=0;b=10:2", "'max'");
    refused("h1;n=2;min=10;max=5;sum=15;under=0;over=0;b=5:1,4:1", "'min'");
    refused("h1;n=2;min=10;max=20;sum=31;under=0;over=0;b=10:1,9:1", "'sum'");
    refused("h1;n=3;min=10;max=20;sum=39;under=0;over=0;b=10:1,9:2", NULL);
    refused("h1;n=1;min=10;max=10;sum=10;under=1;over=0;b=10:1", "'under'");
    refused("h1;n=1;min=10;max=10;sum=10;under=0;over=1;b=10:1", "'over'");
    refused("h1;n=0;min=0;max=0;sum=5;under=0;over=0;b=", "n = 0");
    /* random bytes and random mutations of a valid text never crash and are refused or sane */
    char buf[96];
    for (int t = 0; t < 1000; t++) {
        size_t len = strlen(ok);
        memcpy(buf, ok, len + 1);
        int edits = 1 + (int)(next_u64() % 3);
        for (int e = 0; e < edits; e++)
            buf[next_u64() % len] = (char)(1 + next_u64() % 255);
        if (histogram_decode(buf, h, err, sizeof err) == 0) {
            CHECK(h->count >= 1 && histogram_percentile(h, 50) >= h->min &&
                  histogram_percentile(h, 50) <= h->max);
        } else {
            CHECK(strncmp(err, "histogram: ", 11) == 0 && h->count == 0);
        }
    }
    free(h);
}

int main(void)
{
    test_buckets();
    test_basics();
    int64_t *v = malloc(MAX_VALUES * sizeof *v);
    if (!v) return 1;
    for (int d = 0; d < NDIST; d++) {
        int n = fill((enum dist)d, v);
        test_precision(v, n, (enum dist)d);
        test_merge(v, n);
        test_round_trip(v, n);
    }
    free(v);
    test_hostile();
    return check_done("test_histogram");
}
