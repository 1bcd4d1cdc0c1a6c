/* Checks on JSON from outside, made before and after cJSON parses it: cJSON accepts what these
 * refuse (it recurses once per nesting level, keeps duplicate keys, cuts strings at \u0000 and
 * passes malformed UTF-8 through). Every message starts with the path of the field at fault
 * ("target.headers: ..."), or with the root's name when no field can be named. */
#ifndef CONLAB_JSON_GUARD_H
#define CONLAB_JSON_GUARD_H

#include <stddef.h>

struct cJSON;

#define JSON_GUARD_DEPTH_CAP 32 /* the deepest max_depth json_guard_text accepts */

/* Scans text[0..len) without parsing it: nesting of objects and arrays at most max_depth
 * (capped at JSON_GUARD_DEPTH_CAP), every string and key well-formed UTF-8 with no NUL, neither
 * raw nor escaped (\u0000), and no lone UTF-16 surrogate escape. Returns 0 or -1 with err.
 * Syntax errors are left to the parser: text that is not JSON may pass. Linear in len, no
 * recursion, no allocation. `root` names the whole document in messages ("spec"). */
int json_guard_text(const char *text, size_t len, int max_depth, const char *root, char *err,
                    size_t errlen);

/* Refuses an object anywhere in the tree that has the same key twice. Returns 0 or -1 with err
 * naming the key's path. Recursion is bounded by JSON_GUARD_DEPTH_CAP levels (deeper levels are
 * not looked at: run json_guard_text first). */
int json_guard_unique_keys(const struct cJSON *json, const char *root, char *err, size_t errlen);

#endif
