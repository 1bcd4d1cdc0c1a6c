/* A part's rows read without cJSON (part_read.c): a million rows as cJSON trees take ~800 bytes
 * each; here they are cut out of the text and parsed straight into integers, and cJSON parses
 * the rest. Private to common. */
#ifndef CONLAB_PART_ROWS_H
#define CONLAB_PART_ROWS_H

#include <stddef.h>
#include <stdint.h>

#define PART_ROW_FIELDS 15

/* The rows of one point: n arrays of PART_ROW_FIELDS integers; found 0 when the point had no
 * "records" array that could be cut out. */
struct part_rows {
    int found;
    int64_t n;
    int64_t (*v)[PART_ROW_FIELDS];
};

struct part_rows_set {
    struct part_rows *pt; /* by point index */
    int npt;
};

/* Finds each point's "records" array in the part's text (text[0..len), NUL-terminated, already
 * through json_guard_text: strings well-formed, nesting bounded), parses its rows and overwrites
 * it in the text with an empty array, so that cJSON then parses only the rest. A row that is
 * not an array of PART_ROW_FIELDS integers of at most 2^53 − 1 fails with err naming it
 * ("points[k].records[i]: ..."). Text that is not JSON is left for cJSON to refuse. Returns 0
 * or -1; free out with part_rows_free either way. */
int part_rows_cut(char *text, size_t len, struct part_rows_set *out, char *err, size_t errlen);

void part_rows_free(struct part_rows_set *s);

#endif
