#include "util.h"
#include <math.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int64_t clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void clock_sleep_until(int64_t when_us)
{
    struct timespec ts = {.tv_sec = when_us / 1000000, .tv_nsec = (when_us % 1000000) * 1000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

int64_t wallclock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void iso8601_utc(int64_t epoch_us, char out[32])
{
    time_t secs = (time_t)(epoch_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", base, (int)((epoch_us % 1000000) / 1000));
}

void random_id(char *out, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t i = 0;
    while (i < n) {
        unsigned char buf[64];
        ssize_t got = getrandom(buf, sizeof buf, 0);
        if (got <= 0) continue;
        /* 62 * 4 = 248: reject 248..255 so every character is equally likely. */
        for (ssize_t k = 0; k < got && i < n; k++)
            if (buf[k] < 248) out[i++] = alphabet[buf[k] % 62];
    }
    out[n] = '\0';
}

int parse_int64(const char *s, const char *what, int64_t min, int64_t max, int64_t *out,
                char *err, size_t errlen)
{
    if (!s || !*s) return errf(err, errlen, "%s: expected a number, got nothing", what);
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || end == s)
        return errf(err, errlen, "%s: '%s' is not a whole number", what, s);
    if (errno == ERANGE || v < min || v > max)
        return errf(err, errlen, "%s: %s is out of range (%lld..%lld)", what, s, (long long)min,
                    (long long)max);
    *out = v;
    return 0;
}

int parse_hostport(const char *s, const char *what, char *host, size_t hostlen, int *port,
                   char *err, size_t errlen)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon) return errf(err, errlen, "%s: expected HOST:PORT, got '%s'", what, s ? s : "");
    size_t hl = (size_t)(colon - s);
    if (hl >= hostlen) return errf(err, errlen, "%s: host name too long", what);
    for (size_t i = 0; i < hl; i++) {
        char c = s[i];
        if (!(c == '.' || c == '-' || c == '_' || (c >= '0' && c <= '9') ||
              (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return errf(err, errlen, "%s: '%.*s' is not a host name or IPv4 address", what,
                        (int)hl, s);
    }
    int64_t p;
    char perr[128];
    if (parse_int64(colon + 1, "port", 0, 65535, &p, perr, sizeof perr))
        return errf(err, errlen, "%s: %s", what, perr);
    memcpy(host, s, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

const char *self_exe(void)
{
    static char path[PATH_MAX];
    if (!path[0]) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        if (n < 0) n = 0;
        path[n] = '\0';
    }
    return path;
}

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) return got == 0 ? 0 : -1;
        got += (size_t)n;
    }
    return 1;
}

double round3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

int cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}
