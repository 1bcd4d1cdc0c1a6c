/* Spec parsing and validation: defaults, round trip, and every refusal names its field. */
#include <cjson/cJSON.h>
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

int main(void)
{
    spec_limits_default(&lim);
    struct spec s;
    char err[512];

    CHECK(spec_from_text("{\"target\": {\"url\": \"http://127.0.0.1:8000/\"}}", &lim, &s, err, sizeof err) == 0);
    CHECK(!strcmp(s.url, "http://127.0.0.1:8000/"));
    CHECK(!strcmp(s.method, "GET"));
    CHECK(s.requests == 3 && s.concurrency == 3 && s.timeout_ms == 30000);
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

    CHECK(mode_from_name("async") == MODE_ASYNC && mode_from_name("x") == -1);
    CHECK(!strcmp(mode_name(MODE_PROCESSES), "processes") && mode_name(MODE_COUNT) == NULL);
    return check_done("test_spec");
}
