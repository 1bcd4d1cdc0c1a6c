#include "json_guard.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"
#include "util.h"

#define PATH_PARTS 2 /* "target.headers": deeper keys belong to the second level's field */
#define KEY_MAX 40

/* One open object or array of the scan. `key` is the object's latest key (path material). */
struct frame {
    bool object;
    bool expect_key; /* in an object: the next string is a key */
    char key[KEY_MAX + 1];
};

/* A key goes into a path only when it reads plainly; anything else shows as "?". */
static void key_copy(char *dst, const char *src, size_t n)
{
    bool plain = n > 0 && n <= KEY_MAX;
    for (size_t i = 0; plain && i < n; i++) {
        char c = src[i];
        plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-';
    }
    if (!plain) {
        src = "?";
        n = 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Appends `key` to path (at most PATH_PARTS parts); *parts counts them. */
static void path_add(char *path, size_t pathlen, int *parts, const char *key)
{
    if (*parts >= PATH_PARTS || !key[0]) return;
    size_t n = strlen(path);
    snprintf(path + n, pathlen - n, "%s%s", *parts ? "." : "", key);
    (*parts)++;
}

/* The path of frames[0..depth): their keys, or `root` when none. */
static void scan_path(const struct frame *f, int depth, const char *root, char *path,
                      size_t pathlen)
{
    int parts = 0;
    path[0] = '\0';
    for (int i = 0; i < depth; i++)
        if (f[i].object) path_add(path, pathlen, &parts, f[i].key);
    if (!parts) snprintf(path, pathlen, "%s", root);
}

static int hex4(const char *s, size_t n, unsigned *out)
{
    if (n < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15) return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

/* Checks the string whose opening quote is at text[i]. Returns the index just past its closing
 * quote (len when unterminated: the parser reports it), or -1 with *why set. */
static long scan_string(const char *text, size_t len, size_t i, const char **why)
{
    size_t j = i + 1;
    while (j < len) {
        unsigned char b = (unsigned char)text[j];
        if (b == '"') return (long)j + 1;
        if (b == '\\') {
            if (j + 1 < len && text[j + 1] == 'u') {
                unsigned cp, lo;
                if (hex4(text + j + 2, len - j - 2, &cp)) {
                    j += 2; /* malformed: the parser refuses it */
                    continue;
                }
                if (cp == 0) return *why = "contains a NUL character (\\u0000)", -1;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return *why = "has a lone UTF-16 surrogate escape", -1;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (j + 7 >= len || text[j + 6] != '\\' || text[j + 7] != 'u' ||
                        hex4(text + j + 8, len - j - 8, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return *why = "has a lone UTF-16 surrogate escape", -1;
                    j += 12;
                } else {
                    j += 6;
                }
            } else {
                j += 2;
            }
            continue;
        }
        if (b == 0) return *why = "contains a NUL byte", -1;
        size_t k = utf8_seq_len((const unsigned char *)text + j, len - j);
        if (k == 0) return *why = "is not valid UTF-8", -1;
        j += k;
    }
    return (long)len;
}

int json_guard_text(const char *text, size_t len, int max_depth, const char *root, char *err,
                    size_t errlen)
{
    struct frame f[JSON_GUARD_DEPTH_CAP];
    if (max_depth > JSON_GUARD_DEPTH_CAP) max_depth = JSON_GUARD_DEPTH_CAP;
    if (max_depth < 1) max_depth = 1;
    int depth = 0;
    char path[2 * KEY_MAX + 8];
    for (size_t i = 0; i < len;) {
        char c = text[i];
        struct frame *top = depth ? &f[depth - 1] : NULL;
        if (c == '"') {
            const char *why = NULL;
            long end = scan_string(text, len, i, &why);
            bool is_key = top && top->object && top->expect_key;
            if (end < 0) {
                scan_path(f, is_key ? depth - 1 : depth, root, path, sizeof path);
                return errf(err, errlen, "%s: %s %s", path, is_key ? "a key" : "the value", why);
            }
            if (is_key) key_copy(top->key, text + i + 1, (size_t)end - i - 2);
            i = (size_t)end;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == max_depth) {
                scan_path(f, depth, root, path, sizeof path);
                return errf(err, errlen, "%s: nested deeper than %d levels", path, max_depth);
            }
            f[depth].object = c == '{';
            f[depth].expect_key = c == '{';
            f[depth].key[0] = '\0';
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth) depth--;
        } else if (c == ':' && top && top->object) {
            top->expect_key = false;
        } else if (c == ',' && top && top->object) {
            top->expect_key = true;
        } else if (c == '\0') {
            return errf(err, errlen, "%s: the text contains a NUL byte", root);
        }
        i++;
    }
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int unique_keys(const cJSON *o, const char *path, int parts, int level, char *err,
                       size_t errlen)
{
    if (level >= JSON_GUARD_DEPTH_CAP || !(cJSON_IsObject(o) || cJSON_IsArray(o))) return 0;
    if (cJSON_IsObject(o)) {
        int n = cJSON_GetArraySize(o);
        const char **keys = n > 1 ? malloc((size_t)n * sizeof *keys) : NULL;
        if (n > 1 && !keys) return errf(err, errlen, "%s: out of memory", path);
        int k = 0;
        for (const cJSON *c = o->child; keys && c && k < n; c = c->next)
            keys[k++] = c->string;
        if (k > 1) qsort(keys, (size_t)k, sizeof *keys, cmp_key);
        for (int i = 1; i < k; i++) {
            if (strcmp(keys[i - 1], keys[i])) continue;
            char name[KEY_MAX + 1];
            key_copy(name, keys[i], strlen(keys[i]));
            if (parts < PATH_PARTS) {
                char full[2 * KEY_MAX + 8] = "";
                if (parts) snprintf(full, sizeof full, "%s", path);
                int p = parts;
                path_add(full, sizeof full, &p, name);
                free(keys);
                return errf(err, errlen, "%s: given twice", full);
            }
            free(keys);
            return errf(err, errlen, "%s: '%s' is given twice", path, name);
        }
        free(keys);
    }
    for (const cJSON *c = o->child; c; c = c->next) {
        char sub[2 * KEY_MAX + 8];
        int p = parts;
        snprintf(sub, sizeof sub, "%s", parts ? path : "");
        if (cJSON_IsObject(o)) {
            char name[KEY_MAX + 1];
            key_copy(name, c->string, strlen(c->string));
            path_add(sub, sizeof sub, &p, name);
        }
        if (!p) snprintf(sub, sizeof sub, "%s", path);
        if (unique_keys(c, sub, p, level + 1, err, errlen)) return -1;
    }
    return 0;
}

int json_guard_unique_keys(const cJSON *json, const char *root, char *err, size_t errlen)
{
    char path[2 * KEY_MAX + 8];
    snprintf(path, sizeof path, "%s", root);
    return unique_keys(json, path, 0, 0, err, errlen);
}
