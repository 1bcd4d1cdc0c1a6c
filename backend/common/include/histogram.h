/* A latency histogram: log-linear buckets (HdrHistogram's layout, written for conlab), fixed
 * size, mergeable, with a compact text form.
 *
 * Range and precision. Values are microseconds in [0, HISTOGRAM_MAX_US] (0 .. 1 h). A value
 * below 0 is counted as 0 and in `underflow`, one above the range as HISTOGRAM_MAX_US and in
 * `overflow`. Values below 2048 µs have a bucket each (exact); above, each power of two [2^m,
 * 2^(m+1)) is split into 1024 buckets of width 2^(m-10), so a bucket is never wider than 1/1024
 * of the values it holds: three significant digits and better.
 *
 * Exact: count, underflow, overflow, min, max and the sum (so the mean), over the values as
 * counted (after clamping). Approximate: percentiles, see histogram_percentile.
 *
 * Memory. struct histogram is one fixed-size block (about 186 KB) without pointers: it can be
 * copied with memcpy, live in shared memory or a file, and a zero-filled block (calloc, a
 * static, a fresh anonymous mapping) is a valid empty histogram, whose untouched pages cost no
 * memory. Do not put one on a worker's stack (threads-mode lanes have small stacks).
 *
 * Threads. histogram_add touches only the histogram it is given: a few adds, no allocation, no
 * lock, no system call. Give each writer its own histogram and merge them afterwards; readers
 * must not run while a writer adds. */
#ifndef CONLAB_HISTOGRAM_H
#define CONLAB_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_MAX_US 3600000000LL /* 1 h: the top of the range */
#define HISTOGRAM_SUB_BITS 10         /* 1024 buckets per power of two above 2048 */
/* The bucket of HISTOGRAM_MAX_US is the last one: 2048 unit buckets, 20 full powers of two
 * of 1024 buckets, and 693 of the 21st (3.6e9 >> 21 == 1716 == 1024 + 692). */
#define HISTOGRAM_BUCKETS (2048 + 20 * 1024 + 693)
/* Values counted in one histogram at most (2^53: also exact as a JSON number). An add or a
 * merge that would pass it is dropped whole; at a million requests a second it takes 285
 * years to reach. */
#define HISTOGRAM_MAX_COUNT (INT64_C(1) << 53)

struct histogram {
    int64_t count;          /* values counted, clamped ones included */
    int64_t underflow;      /* of which were below 0 (counted as 0) */
    int64_t overflow;       /* of which were above HISTOGRAM_MAX_US (counted as that) */
    int64_t min, max;       /* exact, of the values as counted; 0 when count == 0 */
    unsigned __int128 sum;  /* exact sum of the values as counted (up to 2^53 * 2^32) */
    int64_t counts[HISTOGRAM_BUCKETS];
};

/* Empties h (all zero: the same as a zero-filled block). */
void histogram_init(struct histogram *h);

/* Counts one value (µs). Never fails, never allocates, takes no lock: safe on a hot path. */
void histogram_add(struct histogram *h, int64_t value_us);

/* Counts `count` values equal to value_us; count <= 0 adds nothing. */
void histogram_add_n(struct histogram *h, int64_t value_us, int64_t count);

/* Adds every value of src to dst (dst == src is allowed: it doubles). Exact: merging in any
 * order or grouping gives the same histogram, bucket by bucket, as adding every value to one. */
void histogram_merge(struct histogram *dst, const struct histogram *src);

/* Values counted. */
int64_t histogram_count(const struct histogram *h);

/* Exact smallest and largest value and mean (µs); NAN when empty. */
double histogram_min(const struct histogram *h);
double histogram_max(const struct histogram *h);
double histogram_mean(const struct histogram *h);

/* Percentile p (0..100) in µs; NAN when empty or p is NAN. The definition is the exact one of
 * stats.c (numpy's linear interpolation between closest ranks: rank p/100 * (n-1)), applied to
 * the sorted values with each value replaced by the middle of its bucket clamped to [min, max];
 * p <= 0 gives min and p >= 100 gives max, exactly. Hence, for the exact percentile E of the
 * same values (as counted): |histogram_percentile - E| <= E / 2048 (a bucket's half-width
 * relative to its lowest value), up to double rounding, and it is equal to E when both values
 * it interpolates lie below 2048 µs. */
double histogram_percentile(const struct histogram *h, double p);

/* Buckets, for readers that draw them (charts). Bucket i holds the integers
 * histogram_bucket_lo(i) .. histogram_bucket_hi(i) (inclusive); histogram_bucket_of(v) is the
 * bucket of a value in [0, HISTOGRAM_MAX_US]. */
int histogram_bucket_of(int64_t value_us);
int64_t histogram_bucket_lo(int bucket);
int64_t histogram_bucket_hi(int bucket);

/* The text form: "h1;n=N;min=A;max=B;sum=S;under=U;over=O;b=D:C,D:C,..." with decimal numbers
 * and one D:C entry per non-empty bucket in increasing order: D is the number of buckets
 * skipped since the previous entry (since bucket 0 for the first), C the bucket's count. ASCII
 * without quotes or backslashes: it can sit in a JSON string or a file as is. Returns a
 * malloc'd string the caller frees, or NULL when out of memory. */
char *histogram_encode(const struct histogram *h);

/* Parses histogram_encode's text into *out. Returns 0, or -1 with a message naming the field
 * in err (then *out is empty): text that is not exactly that form, numbers out of range, counts
 * that do not add up to n, a min, max or sum its buckets cannot hold. Never reads past the
 * terminating NUL. */
int histogram_decode(const char *text, struct histogram *out, char *err, size_t errlen);

#endif
