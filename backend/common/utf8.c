#include "utf8.h"

#include <string.h>

size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    if (n == 0) return 0;
    unsigned char b = p[0];
    if (b < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* the range allowed for the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        if (b == 0xE0)
            lo = 0xA0; /* below: overlong */
        else if (b == 0xED)
            hi = 0x9F; /* above: surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        if (b == 0xF0)
            lo = 0x90; /* below: overlong */
        else if (b == 0xF4)
            hi = 0x8F; /* above: beyond U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0/C1 (overlong) or F5..FF */
    }
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return len;
}

bool utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq_len(p + i, n - i);
        if (k == 0) return false;
        i += k;
    }
    return true;
}

void utf8_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq_len(p + i, n - i);
        if (k == 0) {
            p[i++] = '?';
            continue;
        }
        i += k;
    }
}
