/* Small shared helpers: monotonic time, error buffers, ids, host:port parsing. */
#ifndef CONLAB_UTIL_H
#define CONLAB_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds on CLOCK_MONOTONIC. Comparable across processes of one boot. */
int64_t clock_us(void);

/* Sleeps until the monotonic time `when_us`; returns at once when it has passed. */
void clock_sleep_until(int64_t when_us);

/* snprintf into an error buffer; a NULL or empty buffer is ignored. Always returns -1 so that
 * callers can write `return errf(err, errlen, "...")`. */
int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Formats wall-clock microseconds since the epoch as ISO 8601 UTC with milliseconds,
 * e.g. "2026-11-25T20:33:34.123Z". `out` needs 32 bytes. */
void iso8601_utc(int64_t epoch_us, char out[32]);

/* Wall-clock microseconds since the epoch (CLOCK_REALTIME). */
int64_t wallclock_us(void);

/* Fills `out` with `n` random URL-safe characters [A-Za-z0-9] from getrandom() and a NUL.
 * `out` needs n + 1 bytes. */
void random_id(char *out, size_t n);

/* Parses "HOST:PORT" (HOST may be empty for all interfaces, PORT 0..65535). Returns 0 or -1 with
 * a message naming `what` (e.g. "--listen"). */
int parse_hostport(const char *s, const char *what, char *host, size_t hostlen, int *port,
                   char *err, size_t errlen);

/* Parses a whole decimal integer in [min, max]; returns 0 or -1 with a message naming `what`. */
int parse_int64(const char *s, const char *what, int64_t min, int64_t max, int64_t *out,
                char *err, size_t errlen);

/* Rounds to 3 decimals, so that JSON stays readable (µs resolution for ms values). */
double round3(double v);

/* qsort comparator for int64_t, ascending. */
int cmp_int64(const void *a, const void *b);

/* Raises RLIMIT_NOFILE to its hard limit (for thousands of sockets). Best effort. */
void raise_fd_limit(void);

/* Absolute path of the running executable (from /proc/self/exe), cached at the first call,
 * which main() makes before any thread starts. */
const char *self_exe(void);

/* Writes all of buf to fd, retrying on EINTR and short writes. Returns 0 or -1 (errno set). */
int write_all(int fd, const void *buf, size_t len);

/* Reads exactly len bytes. Returns 1 on success, 0 on clean EOF before any byte, -1 on error or
 * EOF mid-way. */
int read_full(int fd, void *buf, size_t len);

#endif
