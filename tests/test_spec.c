/* Spec parsing and validation: defaults, round trip, and every refusal names its field. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "spec.h"

static struct spec_limits lim;

/* Returns 1 when text is refused with a message starting with "field:". */
static int refused(const char *text, const char *field)
{
    struct spec s;
    char err[512] = "";
    if (spec_from_text(text, &lim, &s, err, sizeof err) == 0) {
        fprintf(stderr, "accepted: %s\n", text);
        spec_free(&s);
        return 0;
    }
    size_t n = strlen(field);
    if (strncmp(err, field, n) || err[n] != ':') {
        fprintf(stderr, "for %s expected field '%s', got: %s\n", text, field, err);
        return 0;
    }
    return 1;
}

/* 1 when text is refused naming `field` and the message contains `words`. */
static int refused_with(const char *text, const char *field, const char *words)
{
    struct spec s;
    char err[512] = "";
    if (!refused(text, field)) return 0;
    spec_from_text(text, &lim, &s, err, sizeof err);
    if (!strstr(err, words)) {
        fprintf(stderr, "for %s expected '%s' in: %s\n", text, words, err);
        return 0;
    }
    return 1;
}

static int accepted(const char *text)
{
    struct spec s;
    char err[512] = "";
    if (spec_from_text(text, &lim, &s, err, sizeof err)) {
        fprintf(stderr, "refused: %s: %s\n", text, err);
        return 0;
    }
    spec_free(&s);
    return 1;
}

/* Input an attacker would send: keys given twice, deep nesting, NUL characters, malformed
 * UTF-8, rates that overflow due times, a concurrency no mode could run. */
static void hostile_specs(void)
{
    /* `headers` twice once overflowed the second array with the first one's count. */
    CHECK(refused_with("{\"target\":{\"url\":\"http://127.0.0.1:1/\",\"headers\":{\"a\":\"1\","
                       "\"b\":\"2\"},\"headers\":{\"c\":\"3\"}}}",
                       "target.headers", "twice"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\"},\"requests\":1,\"requests\":2}",
                       "requests", "twice"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\"},\"target\":{\"url\":\"http://y/\"}}",
                       "target", "twice"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\",\"url\":\"http://y/\"}}", "target.url",
                       "twice"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\",\"headers\":{\"a\":\"1\",\"a\":\"2\"}}}",
                       "target.headers", "'a' is given twice"));
    /* Same name, other case: two header lines, which HTTP allows. */
    CHECK(accepted("{\"target\":{\"url\":\"http://x/\",\"headers\":{\"a\":\"1\",\"A\":\"2\"}}}"));

    /* Nesting is refused before cJSON recurses into it. */
    static char deep[200001];
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    deep[200000] = '\0';
    CHECK(refused_with(deep, "spec", "nested deeper than"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\"},\"label\":[[[[[[[[[1]]]]]]]]]}", "label",
                       "nested deeper than"));

    /* NUL would cut the string short: what runs would not be what was sent. */
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\",\"body\":\"abc\\u0000def\"}}",
                       "target.body", "NUL"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\",\"method\":\"GET\\u0000X\"}}",
                       "target.method", "NUL"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\",\"headers\":{\"X\":\"a\\u0000b\"}}}",
                       "target.headers", "NUL"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\\u0000.evil/\"}}", "target.url", "NUL"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\"},\"label\":\"\\u0000\"}", "label", "NUL"));
    CHECK(refused_with("{\"target\":{\"ur\\u0000l\":\"http://x/\"}}", "target", "NUL"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\"},\"modes\":[\"sy\\u0000nc\"]}", "modes",
                       "NUL"));

    /* Strict UTF-8: overlong forms, surrogates, beyond U+10FFFF, stray bytes, lone escapes. */
    const char *bad[] = {"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                         "\x80", "\xe2\x82", "\xf8\x88\x80\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"target\":{\"url\":\"http://x/\"},\"label\":\"a%sb\"}", bad[i]);
        CHECK(refused_with(text, "label", "UTF-8"));
    }
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\"},\"label\":\"\\ud800\"}", "label",
                       "surrogate"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\"},\"label\":\"\\udc00\\ud800\"}", "label",
                       "surrogate"));
    CHECK(refused_with("{\"target\":{\"url\":\"http://x/\",\"headers\":{\"X\":\"\xc0\xaf\"}}}",
                       "target.headers", "UTF-8"));
    CHECK(accepted("{\"target\":{\"url\":\"http://x/\"},\"label\":\"h\xc3\xa9llo \xe2\x82\xac "
                   "\xf0\x9f\x98\x80 \\ud83d\\ude00 \xf4\x8f\xbf\xbf\"}"));
    /* The same check for a spec built by the command line. */
    struct spec s;
    char err[256];
    spec_init(&s);
    s.url = strdup("http://x/");
    s.method = strdup("GET");
    s.label = strdup("\xed\xbf\xbf");
    CHECK(spec_validate(&s, &lim, err, sizeof err) == -1 && !strncmp(err, "label:", 6));
    spec_free(&s);

    /* A rate so small that a due time overflows (1e-13) or cannot be cast (1e-300). */
    CHECK(refused("{\"target\":{\"url\":\"http://x/\"},\"rate\":1e-13}", "rate"));
    CHECK(refused("{\"target\":{\"url\":\"http://x/\"},\"rate\":1e-300}", "rate"));
    CHECK(refused("{\"target\":{\"url\":\"http://x/\"},\"rate\":0.0009}", "rate"));
    CHECK(accepted("{\"target\":{\"url\":\"http://x/\"},\"rate\":0.001}"));
    CHECK(accepted("{\"target\":{\"url\":\"http://x/\"},\"rate\":0}"));

    /* With sync only, concurrency is unused but must still be one some mode could run. */
    CHECK(refused("{\"target\":{\"url\":\"http://x/\"},\"concurrency\":9e15,\"modes\":[\"sync\"]}",
                  "concurrency"));
    CHECK(refused("{\"target\":{\"url\":\"http://x/\"},\"concurrency\":10001,\"modes\":[\"sync\"]}",
                  "concurrency"));
}

/* The lab's fields: a sweep's levels, work_us, expect, and expect filled for the demo target. */
static void lab_fields(void)
{
    struct spec s;
    char err[512];
    const char *sweep = "{\"target\": {\"url\": \"http://127.0.0.1:8000/\"}, \"concurrency\": [1, 2, 4, 8], "
                        "\"work_us\": 2000, \"expect\": {\"delay_ms\": 200, \"workers\": 3}}";
    CHECK(spec_from_text(sweep, &lim, &s, err, sizeof err) == 0);
    CHECK(s.sweep && s.nlevels == 4 && s.levels[0] == 1 && s.levels[3] == 8);
    CHECK(s.work_us == 2000 && s.has_expect && s.expect_delay_ms == 200 && s.expect_workers == 3);
    /* Round trip: a list stays a list, expect and work_us come back. */
    char *text = spec_to_text(&s);
    CHECK(strstr(text, "\"concurrency\":[1,2,4,8]") != NULL);
    CHECK(strstr(text, "\"work_us\":2000") != NULL);
    CHECK(strstr(text, "\"expect\":{\"delay_ms\":200,\"workers\":3}") != NULL);
    struct spec back;
    CHECK(spec_from_text(text, &lim, &back, err, sizeof err) == 0);
    CHECK(back.sweep && back.nlevels == 4 && back.levels[2] == 4 && back.work_us == 2000 && back.has_expect);
    spec_free(&back);
    free(text);
    spec_free(&s);

    /* A list of one level is still a sweep (printed back as a list); a number is not. */
    CHECK(spec_from_text("{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": [5]}", &lim, &s, err, sizeof err) == 0);
    CHECK(s.sweep && s.nlevels == 1 && s.levels[0] == 5);
    text = spec_to_text(&s);
    CHECK(strstr(text, "\"concurrency\":[5]") != NULL);
    free(text);
    spec_free(&s);
    CHECK(spec_from_text("{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": 5, \"expect\": null}", &lim, &s, err, sizeof err) == 0);
    text = spec_to_text(&s);
    CHECK(strstr(text, "\"concurrency\":5,") != NULL && strstr(text, "\"expect\":null") != NULL);
    free(text);
    spec_free(&s);

    /* Refused, each naming its field: {fields after the target, field}. */
    static const char *const bad[][2] = {
        {"\"concurrency\": []", "concurrency"},
        {"\"concurrency\": [1, 1]", "concurrency"},
        {"\"concurrency\": [4, 2]", "concurrency"},
        {"\"concurrency\": [0, 2]", "concurrency"},
        {"\"concurrency\": [1, 2.5]", "concurrency"},
        {"\"concurrency\": [1, \"2\"]", "concurrency"},
        {"\"concurrency\": [1, 300]", "concurrency"},
        {"\"concurrency\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]", "concurrency"},
        {"\"work_us\": -1", "work_us"},
        {"\"work_us\": 1000001", "work_us"},
        {"\"work_us\": 1.5", "work_us"},
        {"\"expect\": 3", "expect"},
        {"\"expect\": {\"workers\": 3}", "expect.delay_ms"},
        {"\"expect\": {\"delay_ms\": 3}", "expect.workers"},
        {"\"expect\": {\"delay_ms\": 3, \"workers\": 0}", "expect.workers"},
        {"\"expect\": {\"delay_ms\": -1, \"workers\": 1}", "expect.delay_ms"},
        {"\"expect\": {\"delay_ms\": 1, \"workers\": 1, \"x\": 1}", "expect.x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"target\": {\"url\": \"http://x/\"}, %s}", bad[i][0]);
        CHECK(refused(text, bad[i][1]));
    }
    CHECK(spec_from_text("{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": "
                         "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}", &lim, &s, err, sizeof err) == 0);
    spec_free(&s);
    /* Each level within the limit of every mode of the run: 300 is fine for async alone. */
    CHECK(spec_from_text("{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": [1, 300], \"modes\": [\"async\"]}",
                         &lim, &s, err, sizeof err) == 0);
    spec_free(&s);

    /* expect for the demo target: same origin only; a delay_ms override wins, the last one. */
    struct {
        const char *url;
        int filled;
        int64_t delay;
    } demo[] = {
        {"http://127.0.0.1:8000/", 1, 1000},
        {"http://127.0.0.1:8000", 1, 1000},
        {"http://127.0.0.1:8000/x?delay_ms=200", 1, 200},
        {"http://127.0.0.1:8000/?delay_ms=5&delay_ms=0", 1, 0},
        {"http://127.0.0.1:8000/?delay_ms=abc", 0, 0},
        {"http://127.0.0.1:8001/", 0, 0},
        {"http://localhost:8000/", 0, 0},
        {"https://127.0.0.1:8000/", 0, 0},
    };
    for (size_t i = 0; i < sizeof demo / sizeof demo[0]; i++) {
        spec_init(&s);
        s.url = strdup(demo[i].url);
        int got = spec_expect_from_demo(&s, "http://127.0.0.1:8000/", 3, 1000);
        CHECK(got == demo[i].filled);
        CHECK(s.has_expect == (demo[i].filled == 1));
        if (got) CHECK(s.expect_workers == 3 && s.expect_delay_ms == demo[i].delay);
        spec_free(&s);
    }
    /* Unbounded limits (a spec handed to the dashboard's job child) refuse no budget: the CPU
     * budget's product must not overflow into a refusal of 2 CPU s. */
    {
        struct spec_limits unb;
        spec_limits_unbounded(&unb);
        CHECK(spec_from_text("{\"target\": {\"url\": \"http://x/\"}, \"requests\": 200, "
                             "\"concurrency\": 4, \"work_us\": 2000}",
                             &unb, &s, err, sizeof err) == 0);
        spec_free(&s);
        CHECK(spec_from_text("{\"target\": {\"url\": \"http://x/\"}, \"requests\": 1000000, "
                             "\"concurrency\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16], "
                             "\"work_us\": 1000000}",
                             &unb, &s, err, sizeof err) == 0);
        spec_free(&s);
    }
    /* An expect given in the spec is kept. */
    spec_init(&s);
    s.url = strdup("http://127.0.0.1:8000/");
    s.has_expect = true;
    s.expect_workers = 7;
    s.expect_delay_ms = 10;
    CHECK(spec_expect_from_demo(&s, "http://127.0.0.1:8000/", 3, 1000) == 0 && s.expect_workers == 7);
    spec_free(&s);
}

/* Unbounded limits (the job child's, a stored run's) accept what the default ones accept: the
 * CPU budget's check multiplies its limit by 1,000,000 without overflowing. */
static void unbounded_limits(void)
{
    struct spec_limits open;
    spec_limits_unbounded(&open);
    struct spec s;
    char err[512];
    const char *cpu = "{\"target\": {\"url\": \"http://127.0.0.1:8000/?delay_ms=0\"}, \"requests\": 200, "
                      "\"concurrency\": 4, \"work_us\": 2000}";
    CHECK(spec_from_text(cpu, &open, &s, err, sizeof err) == 0);
    CHECK(spec_validate(&s, &open, err, sizeof err) == 0);
    spec_free(&s);
}

int main(void)
{
    unbounded_limits();
    spec_limits_default(&lim);
    struct spec s;
    char err[512];

    CHECK(spec_from_text("{\"target\": {\"url\": \"http://127.0.0.1:8000/\"}}", &lim, &s, err, sizeof err) == 0);
    CHECK(!strcmp(s.url, "http://127.0.0.1:8000/"));
    CHECK(!strcmp(s.method, "GET"));
    CHECK(s.requests == 3 && s.nlevels == 1 && s.levels[0] == 3 && !s.sweep && s.timeout_ms == 30000);
    CHECK(s.work_us == 0 && !s.has_expect);
    CHECK(s.nmodes == 4 && s.modes[0] == MODE_SYNC && s.modes[3] == MODE_PROCESSES);
    CHECK(s.rate == 0 && s.keepalive && s.body == NULL && !strcmp(s.label, ""));

    /* The normalized JSON has every field of the contract and parses back to the same spec. */
    char *text = spec_to_text(&s);
    CHECK(strstr(text, "\"timeout_ms\":30000") != NULL);
    CHECK(strstr(text, "\"keepalive\":true") != NULL);
    CHECK(strstr(text, "\"body\":null") != NULL);
    struct spec back;
    CHECK(spec_from_text(text, &lim, &back, err, sizeof err) == 0);
    CHECK(back.requests == 3 && !strcmp(back.url, s.url));
    spec_free(&back);
    free(text);
    spec_free(&s);

    const char *full =
        "{\"target\": {\"url\": \"https://example.test/x?y=1\", \"method\": \"post\", "
        "\"headers\": {\"X-A\": \"1\", \"Accept\": \"text/plain\"}, \"body\": \"hi\"}, "
        "\"requests\": 9, \"concurrency\": 3, \"modes\": [\"async\", \"sync\"], \"timeout_ms\": 500, "
        "\"rate\": 2.5, \"keepalive\": false, \"label\": \"talk\"}";
    CHECK(spec_from_text(full, &lim, &s, err, sizeof err) == 0);
    CHECK(!strcmp(s.method, "POST"));
    CHECK(s.nheaders == 2 && !strcmp(s.headers[0].name, "X-A") && !strcmp(s.headers[1].value, "text/plain"));
    CHECK(s.body && !strcmp(s.body, "hi"));
    CHECK(s.nmodes == 2 && s.modes[0] == MODE_ASYNC && s.modes[1] == MODE_SYNC);
    CHECK(s.rate == 2.5 && !s.keepalive && !strcmp(s.label, "talk"));
    struct spec copy;
    CHECK(spec_copy(&copy, &s) == 0);
    CHECK(copy.nheaders == 2 && copy.rate == 2.5 && !strcmp(copy.body, "hi"));
    spec_free(&copy);
    spec_free(&s);

    /* Refusals, each naming the field. */
    CHECK(refused("{}", "target.url"));
    CHECK(refused("[1]", "spec"));
    CHECK(refused("not json", "spec"));
    CHECK(refused("", "spec"));
    CHECK(spec_from_text(" {\"target\": {\"url\": \"http://x/\"}}\r\n ", &lim, &s, err, sizeof err) == 0);
    spec_free(&s);
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}} trailing", "spec"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}}{}", "spec"));
    CHECK(refused("{\"target\": {}}", "target.url"));
    CHECK(refused("{\"target\": \"http://x/\"}", "target"));
    CHECK(refused("{\"target\": {\"url\": 5}}", "target.url"));
    CHECK(refused("{\"target\": {\"url\": \"ftp://x/\"}}", "target.url"));
    CHECK(refused("{\"target\": {\"url\": \"file:///etc/passwd\"}}", "target.url"));
    CHECK(refused("{\"target\": {\"url\": \"http://\"}}", "target.url"));
    CHECK(refused("{\"target\": {\"url\": \"\"}}", "target.url"));
    CHECK(refused("{\"target\": {\"url\": \"http://a b/\"}}", "target.url"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\", \"method\": \"GE T\"}}", "target.method"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\", \"headers\": {\"Bad Name\": \"v\"}}}", "target.headers"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\", \"headers\": {\"X\": \"a\\r\\nInjected: 1\"}}}", "target.headers"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\", \"headers\": {\"X\": 1}}}", "target.headers"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\", \"body\": 1}}", "target.body"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\", \"nope\": 1}}", "target.nope"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"requests\": 0}", "requests"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"requests\": 1.5}", "requests"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"requests\": \"3\"}", "requests"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"requests\": 1000001}", "requests"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"requests\": 1e300}", "requests"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": 0}", "concurrency"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": -3}", "concurrency"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": 257}", "concurrency"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": 1001, \"modes\": [\"threads\"]}", "concurrency"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": 10001, \"modes\": [\"async\"]}", "concurrency"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"modes\": []}", "modes"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"modes\": [\"fibers\"]}", "modes"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"modes\": [\"sync\", \"sync\"]}", "modes"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"modes\": \"sync\"}", "modes"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"timeout_ms\": 0}", "timeout_ms"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"rate\": -1}", "rate"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"rate\": \"fast\"}", "rate"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"keepalive\": 1}", "keepalive"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"label\": 7}", "label"));
    CHECK(refused("{\"target\": {\"url\": \"http://x/\"}, \"requets\": 3}", "requets"));

    /* Limits are configurable: the same spec passes with raised limits. */
    const char *big = "{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": 300, \"modes\": [\"processes\"]}";
    CHECK(refused(big, "concurrency"));
    lim.max_concurrency[MODE_PROCESSES] = 512;
    CHECK(spec_from_text(big, &lim, &s, err, sizeof err) == 0);
    spec_free(&s);
    /* sync ignores the concurrency limits: it always has one worker. */
    CHECK(spec_from_text("{\"target\": {\"url\": \"http://x/\"}, \"concurrency\": 5000, \"modes\": [\"sync\"]}",
                         &lim, &s, err, sizeof err) == 0);
    spec_free(&s);

    spec_limits_default(&lim);
    hostile_specs();
    lab_fields();

    CHECK(mode_from_name("async") == MODE_ASYNC && mode_from_name("x") == -1);
    CHECK(!strcmp(mode_name(MODE_PROCESSES), "processes") && mode_name(MODE_COUNT) == NULL);
    return check_done("test_spec");
}
