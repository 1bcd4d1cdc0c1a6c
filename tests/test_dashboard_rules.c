/* The rules a request head meets before any route (http_head_refusal), the targets a run may aim
 * at (http_target_check, with addresses: no resolver needed) and the URL redaction of user info
 * in every form curl reads. */
#include <string.h>
#include "check.h"
#include "http_rules.h"
#include "http_targets.h"
#include "redact.h"

static int head(const char *uri, const char *const *kv, int n)
{
    const char *names[70], *values[70];
    for (int i = 0; i < n; i++) {
        names[i] = kv[2 * i];
        values[i] = kv[2 * i + 1];
    }
    struct http_head h = {.method = "POST", .uri = uri, .names = names, .values = values, .n = n,
                          .max_headers = 64, .body_max = 65536};
    char msg[200];
    return http_head_refusal(&h, msg, sizeof msg);
}

static void test_framing(void)
{
    const char *ok[] = {"Host", "x", "Content-Length", "12"};
    CHECK(head("/api/runs", ok, 2) == 0);
    const char *cl_te[] = {"Content-Length", "5", "Transfer-Encoding", "chunked"};
    CHECK(head("/api/runs", cl_te, 2) == 400);
    const char *two_cl[] = {"Content-Length", "0", "content-length", "5"};
    CHECK(head("/api/runs", two_cl, 2) == 400);
    const char *plus[] = {"Content-Length", "+5"};
    CHECK(head("/api/runs", plus, 1) == 400);
    const char *list[] = {"Content-Length", "5, 5"};
    CHECK(head("/api/runs", list, 1) == 400);
    const char *expect_big[] = {"Content-Length", "10000000", "Expect", "100-continue"};
    CHECK(head("/api/runs", expect_big, 2) == 413);
    const char *expect_small[] = {"Content-Length", "100", "Expect", "100-Continue"};
    CHECK(head("/api/runs", expect_small, 2) == 0);
    const char *expect_other[] = {"Expect", "magic"};
    CHECK(head("/api/runs", expect_other, 1) == 417);
    const char *ws[] = {"Upgrade", "websocket"};
    CHECK(head("/api/health", ws, 1) == 400);
    const char *many[128];
    for (int i = 0; i < 64; i++) many[2 * i] = "X", many[2 * i + 1] = "v";
    CHECK(head("/api/health", many, 63) == 0);
    CHECK(head("/api/health", many, 64) == 431);
    CHECK(head("/api/health%00.json", NULL, 0) == 400);
    CHECK(head("/api/health%2e", NULL, 0) == 400);
    CHECK(head("/%2E%2e/x", NULL, 0) == 400);
    CHECK(head("/a%2fb", NULL, 0) == 400);
    CHECK(head("/a%zz", NULL, 0) == 400);
    CHECK(head("/a%4", NULL, 0) == 400);
    CHECK(head("/a%41", NULL, 0) == 0);
    CHECK(head("//vendor", NULL, 0) == 400);
    CHECK(head("/\\evil", NULL, 0) == 400);
    CHECK(head("http://evil/", NULL, 0) == 400);
    CHECK(head("/runs/abc", NULL, 0) == 0);
}

static int target(const char *url, const char *const *allow, int n, int self_port)
{
    struct http_targets t = {.allow = allow, .nallow = n, .self_port = self_port};
    char err[300];
    return http_target_check(&t, url, err, sizeof err);
}

static void test_targets(void)
{
    CHECK(target("http://127.0.0.1:8080/api/runs", NULL, 0, 8080) == -1);
    CHECK(target("http://127.0.0.1:8081/", NULL, 0, 8080) == 0);
    CHECK(target("http://0.0.0.0:8080/", NULL, 0, 8080) == -1);
    CHECK(target("http://[::1]:8080/", NULL, 0, 8080) == -1);
    CHECK(target("http://2130706433:8080/", NULL, 0, 8080) == -1);
    CHECK(target("http://10.9.8.7:8080/", NULL, 0, 8080) == 0);
    const char *allow[] = {"10.0.0.0/8", "*.example.test", "fd00::/8", "api.internal"};
    CHECK(target("http://10.1.2.3/", allow, 4, 8080) == 0);
    CHECK(target("http://11.1.2.3/", allow, 4, 8080) == -1);
    CHECK(target("http://a.example.test/", allow, 4, 8080) == 0);
    CHECK(target("http://example.test.evil/", allow, 4, 8080) == -1);
    CHECK(target("http://API.internal/", allow, 4, 8080) == 0);
    CHECK(target("http://[fd00::5]/", allow, 4, 8080) == 0);
    CHECK(target("http://[fe80::5]/", allow, 4, 8080) == -1);
    char err[200];
    CHECK(http_target_pattern_valid("10.0.0.0/8", err, sizeof err) == 0);
    CHECK(http_target_pattern_valid("10.0.0.0/33", err, sizeof err) == -1);
    CHECK(http_target_pattern_valid("bad host", err, sizeof err) == -1);
    CHECK(http_target_pattern_valid("*.ok.test", err, sizeof err) == 0);
}

static void shows(const char *url, const char *want)
{
    char out[300];
    redact_url(url, out, sizeof out);
    CHECK(!strcmp(out, want));
    if (strcmp(out, want)) fprintf(stderr, "  %s -> %s (want %s)\n", url, out, want);
}

static void test_redaction(void)
{
    shows("http://alice:pw@h/x", "http://alice:***@h/x");
    shows("http:/alice:pw@h/", "http://alice:***@h/");
    shows("http:///alice:pw@h/", "http://alice:***@h/");
    shows("http://TOKEN@h/", "http://***@h/");
    shows("http://alice%3Apw@h/", "http://***@h/");
    shows("HTTP://alice:pw@h:81/?q=1", "http://alice:***@h:81/?q=1");
    shows("http://h/plain", "http://h/plain");
}

int main(void)
{
    test_framing();
    test_targets();
    test_redaction();
    return check_done("test_dashboard_rules");
}
