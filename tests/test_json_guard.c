/* json_guard and utf8: what cJSON would let through is refused with the field's path, and the
 * cleaner used for error messages leaves only well-formed UTF-8. */
#include <cjson/cJSON.h>
#include <string.h>
#include "check.h"
#include "json_guard.h"
#include "utf8.h"

static int text_refused(const char *text, int depth, const char *want)
{
    char err[256] = "";
    int rc = json_guard_text(text, strlen(text), depth, "spec", err, sizeof err);
    if (rc == 0 || strncmp(err, want, strlen(want))) {
        fprintf(stderr, "for %s expected '%s...', got rc %d: %s\n", text, want, rc, err);
        return 0;
    }
    return 1;
}

static int dup_refused(const char *text, const char *want)
{
    char err[256] = "";
    cJSON *j = cJSON_Parse(text);
    int rc = j ? json_guard_unique_keys(j, "spec", err, sizeof err) : 0;
    cJSON_Delete(j);
    if (rc == 0 || strcmp(err, want)) {
        fprintf(stderr, "for %s expected '%s', got rc %d: %s\n", text, want, rc, err);
        return 0;
    }
    return 1;
}

int main(void)
{
    char err[256];
    /* Depth: exactly the limit passes, one more is refused, at any position. */
    CHECK(json_guard_text("[[[1]]]", 7, 3, "spec", err, sizeof err) == 0);
    CHECK(text_refused("[[[[1]]]]", 3, "spec: nested deeper than 3 levels"));
    CHECK(text_refused("{\"a\":{\"b\":{\"c\":{}}}}", 3, "a.b: nested deeper"));
    /* Brackets inside strings are text, not nesting. */
    const char *brackets = "{\"a\":\"[[[[[[[[\\\"{{{{\"}";
    CHECK(json_guard_text(brackets, strlen(brackets), 2, "spec", err, sizeof err) == 0);
    /* Paths: two levels at most, keys that do not read plainly show as '?'. */
    CHECK(text_refused("{\"target\":{\"headers\":{\"X\":\"\\u0000\"}}}", 8,
                       "target.headers: the value contains a NUL"));
    CHECK(text_refused("{\"a b\":\"\\u0000\"}", 8, "?: the value contains a NUL"));
    CHECK(text_refused("{\"k\\u0000\":1}", 8, "spec: a key contains a NUL"));
    CHECK(text_refused("[\"\\u0000\"]", 8, "spec: the value contains a NUL"));
    CHECK(text_refused("{\"a\":1,\"b\":[\"x\",\"\xff\"]}", 8, "b: the value is not valid UTF-8"));
    /* A raw NUL byte anywhere in the text. */
    CHECK(json_guard_text("{}\0{}", 5, 8, "spec", err, sizeof err) == -1);
    /* Surrogate pairs are fine; halves are not. */
    CHECK(json_guard_text("[\"\\uD83D\\uDE00\"]", 16, 8, "spec", err, sizeof err) == 0);
    CHECK(text_refused("[\"\\uD83D\\u0041\"]", 8, "spec: the value has a lone UTF-16 surrogate"));
    CHECK(text_refused("[\"\\uD83D\"]", 8, "spec: the value has a lone UTF-16 surrogate"));

    CHECK(dup_refused("{\"a\":1,\"b\":2,\"a\":3}", "a: given twice"));
    CHECK(dup_refused("{\"t\":{\"h\":{},\"h\":{}}}", "t.h: given twice"));
    CHECK(dup_refused("{\"t\":{\"h\":{\"x\":\"1\",\"x\":\"2\"}}}", "t.h: 'x' is given twice"));
    CHECK(dup_refused("[{\"a\":1},{\"a\":1,\"a\":2}]", "a: given twice"));
    cJSON *ok = cJSON_Parse("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}");
    CHECK(json_guard_unique_keys(ok, "spec", err, sizeof err) == 0);
    cJSON_Delete(ok);

    /* UTF-8: every class of malformed sequence (Unicode table 3-7). */
    const char *bad[] = {
        "\x80",         "\xc0\x80",         "\xc1\xbf",         "\xe0\x9f\xbf",     "\xed\xa0\x80",
        "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
        "\xe2\x82",     "\xf0\x9f\x98"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(!utf8_valid(bad[i], strlen(bad[i])));
        char buf[8];
        snprintf(buf, sizeof buf, "%s", bad[i]);
        utf8_clean(buf);
        CHECK(utf8_valid(buf, strlen(buf)));
        CHECK(strchr(buf, '?') != NULL);
    }
    const char *good =
        "a\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf";
    CHECK(utf8_valid(good, strlen(good)));
    char copy[64];
    snprintf(copy, sizeof copy, "%s", good);
    utf8_clean(copy);
    CHECK(!strcmp(copy, good));
    return check_done("test_json_guard");
}
