/* Strict UTF-8 (RFC 3629, Unicode table 3-7): no overlong forms, no surrogates (U+D800..DFFF),
 * nothing above U+10FFFF, no sequence cut short. */
#ifndef CONLAB_UTF8_H
#define CONLAB_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (1..4) of the well-formed sequence that starts at p, reading at most n bytes; 0 when
 * the bytes there are not well-formed UTF-8 (or n is 0). A NUL byte is a well-formed sequence of
 * length 1: callers that refuse NUL check it themselves. */
size_t utf8_seq_len(const unsigned char *p, size_t n);

/* True when s[0..n) is well-formed UTF-8 (NUL bytes included as characters). */
bool utf8_valid(const char *s, size_t n);

/* Replaces, in place, every byte of the NUL-terminated s that is not part of a well-formed
 * sequence with '?', so that the text can go into JSON. */
void utf8_clean(char *s);

#endif
