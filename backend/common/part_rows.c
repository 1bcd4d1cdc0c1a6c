/* A part's rows cut out of its text and parsed straight into integers (part_rows.h). */
#include "part_rows.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

#define MAX_DEPTH 8
#define INT_MAXV 9007199254740991LL /* 2^53 − 1 */

static size_t skip_ws(const char *t, size_t i, size_t len)
{
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* An integer at t[*i]: -?[0-9]{1,16}, |v| <= 2^53 − 1, not followed by a fraction or exponent.
 * Returns 0, 1 at the end of the text, -1 when it is not one. */
static int parse_int(const char *t, size_t *i, size_t len, int64_t *out)
{
    size_t j = *i;
    bool neg = j < len && t[j] == '-';
    if (neg) j++;
    if (j >= len) return 1;
    int64_t v = 0;
    size_t digits = 0;
    for (; j < len && t[j] >= '0' && t[j] <= '9'; j++, digits++) {
        if (digits == 16) return -1;
        v = v * 10 + (t[j] - '0');
    }
    if (j >= len) return 1;
    if (!digits || v > INT_MAXV || t[j] == '.' || t[j] == 'e' || t[j] == 'E') return -1;
    *out = neg ? -v : v;
    *i = j;
    return 0;
}

/* The rows array starting at t[*i] == '['. Returns 0 (rows filled, *i after its ']'), 1 at the
 * end of the text (left to cJSON), -1 with err. */
static int parse_rows(const char *t, size_t *i, size_t len, int point, struct part_rows *rows,
                      char *err, size_t errlen)
{
    size_t j = skip_ws(t, *i + 1, len);
    int64_t cap = 0;
    if (j < len && t[j] == ']') {
        *i = j + 1;
        return 0;
    }
    for (;;) {
        j = skip_ws(t, j, len);
        if (j >= len) return 1;
        if (rows->n == cap) {
            cap = cap ? cap * 2 : 1024;
            void *v = realloc(rows->v, (size_t)cap * sizeof *rows->v);
            if (!v) return errf(err, errlen, "points[%d].records: out of memory", point);
            rows->v = v;
        }
        int64_t *row = rows->v[rows->n];
        if (t[j] != '[') goto bad;
        j++;
        for (int f = 0; f < PART_ROW_FIELDS; f++) {
            j = skip_ws(t, j, len);
            int rc = parse_int(t, &j, len, &row[f]);
            if (rc)
                return rc > 0 ? 1
                              : errf(err, errlen,
                                     "points[%d].records[%lld]: must be an "
                                     "array of %d integers",
                                     point, (long long)rows->n, PART_ROW_FIELDS);
            j = skip_ws(t, j, len);
            if (j >= len) return 1;
            if (t[j] != (f + 1 < PART_ROW_FIELDS ? ',' : ']')) goto bad;
            j++;
        }
        rows->n++;
        j = skip_ws(t, j, len);
        if (j >= len) return 1;
        if (t[j] == ']') {
            *i = j + 1;
            return 0;
        }
        if (t[j] != ',') goto bad;
        j++;
    }
bad:
    return errf(err, errlen, "points[%d].records[%lld]: must be an array of %d integers", point,
                (long long)rows->n, PART_ROW_FIELDS);
}

/* Copies the key string t[s..s+n) into key (16 bytes) when it fits, else "". */
static void set_key(char key[16], const char *t, size_t s, size_t n)
{
    if (n >= 16) n = 0;
    memcpy(key, t + s, n);
    key[n] = '\0';
}

int part_rows_cut(char *text, size_t len, struct part_rows_set *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char kind[MAX_DEPTH + 1] = {0};
    char key1[16] = "", key3[16] = "";
    int depth = 0, point = -1;
    bool in_points = false;
    size_t i = 0;
    while (i < len) {
        char c = text[i];
        if (c == '"') {
            size_t s = ++i;
            while (i < len && text[i] != '"')
                i += text[i] == '\\' ? 2 : 1;
            if (i >= len) return 0; /* unterminated: cJSON refuses it */
            size_t n = i++ - s;
            size_t j = skip_ws(text, i, len);
            if (depth > 0 && kind[depth] == '{' && j < len && text[j] == ':') {
                if (depth == 1) set_key(key1, text, s, n);
                if (depth == 3) set_key(key3, text, s, n);
            }
            continue;
        }
        if (c == '[' && depth == 3 && kind[3] == '{' && in_points && !strcmp(key3, "records")) {
            if (point >= out->npt) {
                struct part_rows *p = realloc(out->pt, (size_t)(point + 1) * sizeof *p);
                if (!p) return errf(err, errlen, "points[%d].records: out of memory", point);
                memset(p + out->npt, 0, (size_t)(point + 1 - out->npt) * sizeof *p);
                out->pt = p;
                out->npt = point + 1;
            }
            struct part_rows *rows = &out->pt[point];
            free(rows->v);
            memset(rows, 0, sizeof *rows);
            size_t start = i;
            int rc = parse_rows(text, &i, len, point, rows, err, errlen);
            if (rc) return rc > 0 ? 0 : -1;
            rows->found = 1;
            memset(text + start, ' ', i - start);
            text[start] = '[';
            text[start + 1] = ']';
            key3[0] = '\0';
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH) return 0; /* json_guard_text refused it already */
            kind[++depth] = c;
            if (depth == 2) in_points = c == '[' && !strcmp(key1, "points");
            if (depth == 3 && c == '{' && in_points) {
                point++;
                key3[0] = '\0';
            }
        } else if (c == '}' || c == ']') {
            if (depth > 0) depth--;
            if (depth < 2) in_points = false;
        }
        i++;
    }
    return 0;
}

void part_rows_free(struct part_rows_set *s)
{
    for (int k = 0; k < s->npt; k++)
        free(s->pt[k].v);
    free(s->pt);
    memset(s, 0, sizeof *s);
}
