/* Clients (docs/CLIENTS.md) below the process level: a spec naming clients (ids, names, what is
 * refused), the registry (flags, files, the text handed to the job child), and the check of a
 * client's stdout lines, one rule at a time. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench_client.h"
#include "bench_log.h"
#include "check.h"
#include "client_registry.h"
#include "spec.h"
#include "util.h"

static void test_spec_names_clients(void)
{
    struct client_registry reg = {0};
    char err[512];
    CHECK(client_registry_add(&reg, "py-threads=clients/python/py_threads.py", "", "--client", err,
                              sizeof err) == 0);
    CHECK(client_registry_add(&reg, "mine=./mine --fast", "mine", "--client", err, sizeof err) ==
          0);
    struct spec_limits lim;
    spec_limits_default(&lim);
    const char *text = "{\"target\": {\"url\": \"http://127.0.0.1:8000/\"}, "
                       "\"modes\": [\"threads\", \"mine\", \"sync\", \"py-threads\"]}";
    struct spec s;
    /* Not registered here: a 400 naming the client. */
    CHECK(spec_from_text(text, &lim, &s, err, sizeof err) == -1);
    CHECK(!strncmp(err, "modes: unknown mode 'mine'", 26));
    client_registry_limits(&reg, &lim);
    CHECK(spec_from_text(text, &lim, &s, err, sizeof err) == 0);
    CHECK(s.nmodes == 4 && s.nclients == 2);
    CHECK(s.modes[1] == MODE_CLIENT_BASE && s.modes[3] == MODE_CLIENT_BASE + 1);
    CHECK(!strcmp(spec_mode_name(&s, MODE_CLIENT_BASE + 1), "py-threads"));
    CHECK(spec_mode_from_name(&s, "mine") == MODE_CLIENT_BASE &&
          spec_mode_from_name(&s, "x") == -1);
    CHECK(spec_mode_name(&s, MODE_CLIENT_BASE + 2) == NULL);
    /* Printed back by name, parsed back to the same ids (the job child accepts any well-formed
     * name: the dashboard checked them). */
    char *out = spec_to_text(&s);
    CHECK(strstr(out, "\"modes\":[\"threads\",\"mine\",\"sync\",\"py-threads\"]") != NULL);
    struct spec copy;
    CHECK(spec_copy(&copy, &s) == 0 && copy.nclients == 2 && copy.modes[3] == s.modes[3]);
    spec_free(&copy);
    /* A reader with only the stored JSON finds the same names. */
    struct mode_names names;
    cJSON *j = spec_to_json(&s);
    mode_names_from_json(j, &names);
    cJSON_Delete(j);
    CHECK(names.n == 2 && mode_names_find(&names, "py-threads") == MODE_CLIENT_BASE + 1);
    CHECK(!strcmp(mode_names_get(&names, MODE_THREADS), "threads"));
    /* The text for the job child carries the named clients' commands only. */
    char *t = client_registry_to_text(&reg, &s);
    CHECK(!strcmp(t, "mine=./mine --fast\npy-threads=clients/python/py_threads.py\n"));
    struct client_registry back = {0};
    CHECK(client_registry_from_text(&back, t, err, sizeof err) == 0 && back.n == 2);
    CHECK(!strcmp(client_registry_find(&back, "mine")->command, "./mine --fast"));
    client_registry_free(&back);
    free(t);
    free(out);
    spec_free(&s);

    /* A spec validated once is read again with limits that refuse nothing, work_us included
     * (the job child, the store: their limit times 10^6 overflowed and refused every work_us). */
    spec_limits_unbounded(&lim);
    CHECK(spec_from_text("{\"target\": {\"url\": \"http://a/\"}, \"work_us\": 2000, "
                         "\"requests\": 40}",
                         &lim, &s, err, sizeof err) == 0);
    CHECK(spec_copy(&copy, &s) == 0 && copy.work_us == 2000);
    spec_free(&copy);
    spec_free(&s);
    spec_limits_default(&lim);
    client_registry_limits(&reg, &lim);

    /* A listed twice, a ninth client, a client above its concurrency limit. */
    CHECK(spec_from_text("{\"target\": {\"url\": \"http://a/\"}, \"modes\": [\"mine\", \"mine\"]}",
                         &lim, &s, err, sizeof err) == -1 &&
          strstr(err, "listed twice"));
    spec_limits_unbounded(&lim);
    CHECK(spec_from_text("{\"target\": {\"url\": \"http://a/\"}, \"modes\": [\"a\", \"b\", \"c\", "
                         "\"d\", \"e\", \"f\", \"g\", \"h\", \"i\"]}",
                         &lim, &s, err, sizeof err) == -1);
    CHECK(strstr(err, "more than 8 clients") != NULL);
    spec_limits_default(&lim);
    client_registry_limits(&reg, &lim);
    CHECK(spec_from_text("{\"target\": {\"url\": \"http://a/\"}, \"concurrency\": 1001, "
                         "\"modes\": [\"mine\"]}",
                         &lim, &s, err, sizeof err) == -1);
    CHECK(!strncmp(err, "concurrency: 1001 is above the limit of 1000 for mine", 52));
    client_registry_free(&reg);
}

static void test_registry_refusals_and_files(void)
{
    struct client_registry reg = {0};
    char err[512];
    const char *bad[][2] = {{"sync=x", "built-in"}, {"h2mux=x", "built-in"},      {"Up=x", "[a-z]"},
                            {"a b=x", "[a-z]"},     {"noequals", "NAME=COMMAND"}, {"e=  ", "empty"},
                            {"c=a\nb", "control"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(client_registry_add(&reg, bad[i][0], "", "--client", err, sizeof err) == -1);
        CHECK(!strncmp(err, "--client: ", 10) && strstr(err, bad[i][1]));
    }
    CHECK(client_registry_add(&reg, "a-1=x", "", "--client", err, sizeof err) == 0);
    CHECK(client_registry_add(&reg, "a-1=y", "", "--client", err, sizeof err) == -1 &&
          strstr(err, "twice"));
    char path[] = "/tmp/conlab-clients-XXXXXX";
    int fd = mkstemp(path);
    const char *file = "# the first\none = ./one arg\n\n# stale comment\n\ntwo=./two\n  # last\n"
                       "three=./three\nbad name=x\n";
    CHECK(write(fd, file, strlen(file)) == (ssize_t)strlen(file));
    close(fd);
    CHECK(client_registry_load(&reg, path, err, sizeof err) == -1);
    CHECK(strstr(err, ":9: client name 'bad name'") != NULL); /* file and line named */
    CHECK(reg.n == 4);
    CHECK(!strcmp(client_registry_find(&reg, "one")->command, "./one arg"));
    CHECK(!strcmp(client_registry_find(&reg, "one")->description, "the first"));
    CHECK(!strcmp(client_registry_find(&reg, "two")->description, "")); /* a blank line between */
    CHECK(!strcmp(client_registry_find(&reg, "three")->description, "last"));
    unlink(path);
    client_registry_free(&reg);
}

/* A client run of 3 requests at C=2 whose hello came at t0 = 1,000,000 µs. */
struct fixture {
    struct spec s;
    struct bench_ctx c;
    struct client_run r;
    int32_t lines[3];
};

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    spec_init(&f->s);
    f->s.url = strdup("http://a/");
    f->c.spec = &f->s;
    f->c.sh_fd = f->c.spill_fd = -1;
    char err[200];
    CHECK(bench_shared_init(&f->c, 1, false, err, sizeof err) == 0);
    f->r.c = &f->c;
    f->r.name = "mine";
    f->r.n = 3;
    f->r.conc = 2;
    f->r.max_lane = -1;
    f->r.seq_line = f->lines;
    f->r.spawn_us = 500000;
}

static void fixture_free(struct fixture *f)
{
    bench_shared_free(&f->c);
    spec_free(&f->s);
}

static int feed(struct client_run *r, const char *line, int64_t now)
{
    char buf[CLIENT_LINE_MAX + 1];
    snprintf(buf, sizeof buf, "%s", line);
    return client_line(r, buf, strlen(buf), now);
}

#define HELLO "{\"hello\": \"me\", \"t_us\": 1000000}"

/* The line breaks `rule`, with `words` in the failure. */
static int breaks(const char *const *lines, const char *rule, const char *words)
{
    struct fixture f;
    fixture_init(&f);
    int rc = 0;
    for (int i = 0; lines[i] && rc == 0; i++)
        rc = feed(&f.r, lines[i], 2000000);
    int ok = rc == -1 && !strcmp(f.r.rule, rule) && strstr(f.r.failure, words) != NULL;
    if (!ok) fprintf(stderr, "rule %s: got rc %d, '%s'\n", rule, rc, f.r.failure);
    fixture_free(&f);
    return ok;
}

static void test_lines(void)
{
    /* A good run: offsets from t0, the kind from the status, every line counted. */
    struct fixture f;
    fixture_init(&f);
    CHECK(feed(&f.r, HELLO, 1000100) == 0 && f.c.t0 == 1000000 && !strcmp(f.r.hello_text, "me"));
    CHECK(feed(&f.r,
               "{\"seq\": 1, \"lane\": 1, \"start_us\": 1000010, \"end_us\": 1300010, "
               "\"status\": 200, \"bytes\": 22, \"error_kind\": null, \"error\": null}",
               1300100) == 0);
    CHECK(feed(&f.r,
               "{\"seq\": 0, \"lane\": 0, \"start_us\": 1000020, \"end_us\": 1000900, "
               "\"status\": 503, \"ttfb_us\": 1000800}",
               1300200) == 0);
    CHECK(feed(&f.r,
               "{\"seq\": 2, \"lane\": 0, \"start_us\": 1001000, \"end_us\": 1002000, "
               "\"status\": 0, \"error_kind\": \"timeout\", \"error\": \"too slow\"}",
               1300300) == 0);
    CHECK(f.r.ok == 1 && f.r.errors == 2 && f.r.max_end == 1300010 && f.r.max_lane == 1);
    struct bench_log *l = &f.c.sh->logs[0];
    CHECK(l->n == 3 && l->buf[0].seq == 1 && l->buf[0].start_us == 10 &&
          l->buf[0].end_us == 300010);
    CHECK(l->buf[1].err_kind == REQ_ERR_STATUS && l->buf[1].ttfb_us == 800 &&
          l->buf[1].connect_us == -1);
    CHECK(l->buf[2].err_kind == REQ_ERR_TIMEOUT && !strcmp(l->msg[0], "too slow"));
    CHECK(feed(&f.r, "{\"done\": 3, \"ok\": 1, \"errors\": 2}", 1300400) == 0 && f.r.done);
    fixture_free(&f);

    const char *json[] = {HELLO, "{\"seq\": 0,", NULL};
    CHECK(breaks(json, "json", "line 2: not one JSON object"));
    const char *array[] = {HELLO, "[1]", NULL};
    CHECK(breaks(array, "json", "not one JSON object"));
    const char *type[] = {
        HELLO, "{\"seq\": \"0\", \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000002}", NULL};
    CHECK(breaks(type, "field", "'seq'"));
    const char *frac[] = {
        HELLO, "{\"seq\": 0.5, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000002}", NULL};
    CHECK(breaks(frac, "field", "'seq'"));
    const char *unknown[] = {HELLO, "{\"seq\": 0, \"lane\": 0, \"start\": 1}", NULL};
    CHECK(breaks(unknown, "field", "unknown field 'start'"));
    const char *dup[] = {
        HELLO, "{\"seq\": 0, \"seq\": 1, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000002}",
        NULL};
    CHECK(breaks(dup, "field", "seq"));
    const char *kind[] = {HELLO,
                          "{\"seq\": 0, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000002, "
                          "\"error_kind\": \"worker\"}",
                          NULL};
    CHECK(breaks(kind, "field", "'worker' is not one of"));
    const char *okbad[] = {HELLO,
                           "{\"seq\": 0, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000002, "
                           "\"status\": 500, \"error_kind\": \"ok\"}",
                           NULL};
    CHECK(breaks(okbad, "field", "'ok' with status 500"));
    const char *first[] = {"{\"seq\": 0}", NULL};
    CHECK(breaks(first, "hello", "first line"));
    /* The contract's minimal hello ({"hello": ...}, any value, no t_us): t0 is the moment it
     * was read; a start up to CLIENT_HELLO_SLACK_US before counts from t0, one earlier is
     * refused. */
    {
        struct fixture g;
        fixture_init(&g);
        CHECK(feed(&g.r, "{\"hello\": {\"lib\": \"x\"}}", 1000100) == 0 && g.c.t0 == 1000100 &&
              !strcmp(g.r.hello_text, ""));
        CHECK(feed(&g.r, "{\"seq\": 0, \"lane\": 0, \"start_us\": 1000090, \"end_us\": 1000300}",
                   1000400) == 0);
        struct bench_log *gl = &g.c.sh->logs[0];
        CHECK(gl->n == 1 && gl->buf[0].start_us == 0 && gl->buf[0].end_us == 200);
        fixture_free(&g);
    }
    const char *notime[] = {"{\"hello\": \"me\"}",
                            "{\"seq\": 0, \"lane\": 0, \"start_us\": 1000, \"end_us\": 1000002}",
                            NULL};
    CHECK(breaks(notime, "times", "outside the mode"));
    const char *badtime[] = {"{\"hello\": \"me\", \"t_us\": \"soon\"}", NULL};
    CHECK(breaks(badtime, "hello", "'t_us' must be an integer"));
    const char *early[] = {"{\"hello\": \"me\", \"t_us\": 400000}", NULL};
    CHECK(breaks(early, "hello", "not between the spawn"));
    const char *twice[] = {HELLO, HELLO, NULL};
    CHECK(breaks(twice, "hello", "a second hello"));
    const char *range[] = {
        HELLO, "{\"seq\": 3, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000002}", NULL};
    CHECK(breaks(range, "seq", "seq 3 is outside 0..2"));
    const char *again[] = {
        HELLO, "{\"seq\": 1, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000002}",
        "{\"seq\": 1, \"lane\": 1, \"start_us\": 1000001, \"end_us\": 1000002}", NULL};
    CHECK(breaks(again, "seq", "line 3: seq 1 given twice (first on line 2)"));
    const char *lane[] = {
        HELLO, "{\"seq\": 0, \"lane\": 2, \"start_us\": 1000001, \"end_us\": 1000002}", NULL};
    CHECK(breaks(lane, "lane", "lane 2 is outside 0..1 (concurrency 2)"));
    const char *back[] = {
        HELLO, "{\"seq\": 0, \"lane\": 0, \"start_us\": 1000005, \"end_us\": 1000002}", NULL};
    CHECK(breaks(back, "times", "before start_us"));
    const char *before[] = {
        HELLO, "{\"seq\": 0, \"lane\": 0, \"start_us\": 999999, \"end_us\": 1000002}", NULL};
    CHECK(breaks(before, "times", "outside the mode"));
    const char *future[] = {
        HELLO, "{\"seq\": 0, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 2000001}", NULL};
    CHECK(breaks(future, "times", "outside the mode"));
    const char *ttfb[] = {HELLO,
                          "{\"seq\": 0, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000009, "
                          "\"ttfb_us\": 1000010}",
                          NULL};
    CHECK(breaks(ttfb, "times", "ttfb_us"));
    const char *count[] = {HELLO, "{\"done\": 4}", NULL};
    CHECK(breaks(count, "accounting", "done says 4 requests, the spec has 3"));
    const char *sum[] = {HELLO, "{\"done\": 3, \"ok\": 3, \"errors\": 1}", NULL};
    CHECK(breaks(sum, "accounting", "ok 3 + errors 1 != requests 3"));
    const char *after[] = {HELLO,
                           "{\"seq\": 0, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000002}",
                           "{\"seq\": 1, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000002}",
                           "{\"seq\": 2, \"lane\": 0, \"start_us\": 1000001, \"end_us\": 1000002}",
                           "{\"done\": 3}",
                           "{\"done\": 3}",
                           NULL};
    CHECK(breaks(after, "flood", "a line after done"));
}

int main(void)
{
    test_spec_names_clients();
    test_registry_refusals_and_files();
    test_lines();
    return check_done("test_engine_client");
}
