/* Shards' arithmetic, a part's round trip through its file, and the merge's order independence
 * (part.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "part.h"
#include "stats.h"

/* A part of shard i of n for spec s, its records made up: latency 1000 + 37 × seq mod 911 µs,
 * every seventh request failed with one of two messages. */
static void make_part(struct part *p, const struct spec *s, int64_t i, int64_t n)
{
    CHECK(part_init(p, s, i, n, true) == 0);
    for (int l = 0; l < s->nlevels; l++)
        for (int m = 0; m < s->nmodes; m++) {
            struct part_point *pt = part_add_point(p);
            pt->mode = s->modes[m];
            pt->level = s->levels[l];
            pt->shard_concurrency = part_share(pt->level, i, n);
            pt->lane_offset = pt->mode == MODE_SYNC ? i : part_lane_offset(pt->level, i, n);
            pt->requests = part_share(s->requests, i, n);
            pt->lanes = pt->mode == MODE_SYNC ? 1 : pt->shard_concurrency;
            pt->wall_ms = 100 + (double)i;
            pt->cpu_user_ms = 1;
            pt->peak_rss_kb = 1000;
            pt->started_wall_us = 1700000000000000 + i * 250;
            const char *texts[2] = {"boom", i % 2 ? "bang" : "boom"};
            CHECK(part_point_set_msgs(pt, texts, 2) == 0);
            pt->recs = calloc((size_t)pt->requests, sizeof *pt->recs);
            for (int64_t k = 0; k < pt->requests; k++) {
                struct bench_record *r = &pt->recs[pt->nrecs++];
                r->seq = i + k * n;
                r->lane = (int32_t)(k % pt->lanes);
                r->start_us = 10 * k;
                r->connect_us = r->ttfb_us = r->tls_us = -1;
                r->conn = -1;
                r->http_version = 11;
                r->reused = k > 0 ? 1 : 0; /* the first request opens the connection */
                pt->http_versions[1]++;
                pt->connections += r->reused == 0;
                r->end_us = r->start_us + 1000 + (37 * r->seq) % 911;
                r->status = 200;
                r->bytes = 22;
                r->msg = -1;
                if (r->seq % 7 == 3) {
                    r->err_kind = REQ_ERR_STATUS;
                    r->status = 500;
                    r->msg = (int32_t)(r->seq % 2);
                    pt->errors++;
                    pt->errors_by_kind[REQ_ERR_STATUS]++;
                } else {
                    pt->ok++;
                }
                pt->bytes += r->bytes;
                part_point_count(pt, r, s->timeout_ms, s->rate);
            }
        }
}

int main(void)
{
    /* the split: shares sum to the total, the first total mod n get one more */
    int64_t sum = 0;
    for (int64_t i = 0; i < 4; i++) sum += part_share(7, i, 4);
    CHECK(sum == 7);
    CHECK(part_share(7, 0, 4) == 2 && part_share(7, 2, 4) == 2 && part_share(7, 3, 4) == 1);
    CHECK(part_lane_offset(7, 0, 4) == 0 && part_lane_offset(7, 1, 4) == 2);
    CHECK(part_lane_offset(7, 3, 4) == 6 && part_lane_offset(8, 3, 4) == 6);
    int64_t i, n;
    char err[512];
    CHECK(part_parse_shard("2/5", "--shard", &i, &n, err, sizeof err) == 0 && i == 2 && n == 5);
    CHECK(part_parse_shard("5/5", "--shard", &i, &n, err, sizeof err) == -1);
    CHECK(strstr(err, "--shard") != NULL);
    CHECK(part_parse_shard("-1/5", "--shard", &i, &n, err, sizeof err) == -1);
    CHECK(part_parse_shard("1/0", "--shard", &i, &n, err, sizeof err) == -1);
    CHECK(part_parse_shard("1", "--shard", &i, &n, err, sizeof err) == -1);
    CHECK(part_parse_shard("a/b", "--shard", &i, &n, err, sizeof err) == -1);

    struct spec_limits lim;
    spec_limits_default(&lim);
    struct spec s;
    CHECK(spec_from_text("{\"target\":{\"url\":\"http://127.0.0.1:9/\"},\"requests\":101,"
                         "\"concurrency\":[4,6],\"modes\":[\"sync\",\"async\"]}",
                         &lim, &s, err, sizeof err) == 0);
    CHECK(spec_check_split(&s, 4, "--shard", err, sizeof err) == 0);
    /* a spec with work_us copies (spec_limits_unbounded's CPU budget in µs overflowed 64 bits:
     * every such spec was refused, and `run --shard --work-us N` failed) */
    {
        struct spec w, copy;
        CHECK(spec_from_text("{\"target\":{\"url\":\"http://127.0.0.1:9/\"},\"work_us\":10}",
                             &lim, &w, err, sizeof err) == 0);
        CHECK(spec_copy(&copy, &w) == 0);
        CHECK(copy.work_us == 10);
        struct part wp;
        CHECK(part_init(&wp, &w, 0, 1, true) == 0);
        part_free(&wp);
        spec_free(&copy);
        spec_free(&w);
    }
    CHECK(spec_check_split(&s, 5, "--shard", err, sizeof err) == -1);
    CHECK(strstr(err, "concurrency 4") != NULL);

    /* a part written and read back is the same part */
    struct part parts[3];
    for (int k = 0; k < 3; k++) make_part(&parts[k], &s, k, 3);
    char path[] = "/tmp/conlab-test-part-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    CHECK(part_write(f, &parts[1], err, sizeof err) == 0);
    fclose(f);
    struct part back;
    CHECK(part_read(path, &back, err, sizeof err) == 0);
    CHECK(back.shard == 1 && back.shards == 3 && back.npoints == 4);
    CHECK(!strcmp(back.spec_hash, parts[1].spec_hash));
    CHECK(back.points[3].nrecs == parts[1].points[3].nrecs);
    CHECK(!memcmp(back.points[3].recs, parts[1].points[3].recs,
                  (size_t)back.points[3].nrecs * sizeof(struct bench_record)));

    /* merged: counts summed, percentiles those of the union, order of the parts irrelevant */
    struct part order_a[3] = {parts[0], back, parts[2]}, order_b[3] = {parts[2], parts[0], back};
    struct merged a, b;
    CHECK(part_merge(order_a, 3, &a, err, sizeof err) == 0);
    CHECK(part_merge(order_b, 3, &b, err, sizeof err) == 0);
    CHECK(a.npoints == 4 && b.npoints == 4);
    for (int k = 0; k < 4; k++) {
        struct mode_result *ra = &a.points[k].res, *rb = &b.points[k].res;
        CHECK(ra->requests == 101 && ra->ok + ra->errors == 101);
        CHECK(ra->connections == 3 && ra->http_versions[1] == 101);
        CHECK(ra->errors == ra->errors_by_kind[REQ_ERR_STATUS]);
        CHECK(ra->ok == rb->ok && ra->latency_ms.p99 == rb->latency_ms.p99);
        CHECK(ra->latency_ms.p50 == rb->latency_ms.p50 && !strcmp(ra->top_error, rb->top_error));
        CHECK(a.points[k].nrecs == 101);
        for (int64_t j = 0; j < 101; j++) CHECK(a.points[k].recs[j].seq == j);
        struct stats st;
        stats_init(&st);
        for (int64_t q = 0; q < 101; q++)
            if (q % 7 != 3) stats_add(&st, 1000 + (37 * q) % 911);
        struct latency_summary ls;
        stats_summary(&st, &ls);
        CHECK(ls.p50 == ra->latency_ms.p50 && ls.p90 == ra->latency_ms.p90);
        CHECK(ls.p99 == ra->latency_ms.p99 && ls.max == ra->latency_ms.max);
        stats_free(&st);
        /* wall: from the earliest start (no slot) to the last end: shard 2 starts 500 µs late
         * and runs 102 ms */
        CHECK_NEAR(ra->wall_ms, 102.5, 1e-9);
        CHECK_NEAR(a.points[k].start_skew_ms, 0.5, 1e-9);
        CHECK(ra->peak_rss_kb == 3000);
    }
    /* "boom" is the message of shard 0's and 2's failures and of shard 1's even seqs */
    CHECK(!strcmp(a.points[0].res.top_error, "boom"));
    merged_free(&a);
    merged_free(&b);

    /* without rows: the merged histograms, within their precision (here every latency is below
     * 2048 µs: exact); counts and the top error the same */
    struct part bare[3];
    for (int k = 0; k < 3; k++) {
        make_part(&bare[k], &s, k, 3);
        bare[k].rows = false;
    }
    struct merged h;
    CHECK(part_merge(bare, 3, &h, err, sizeof err) == 0);
    CHECK(part_merge(order_a, 3, &a, err, sizeof err) == 0);
    for (int k = 0; k < 4; k++) {
        struct mode_result *rh = &h.points[k].res, *ra = &a.points[k].res;
        CHECK(rh->ok == ra->ok && rh->errors == ra->errors && h.points[k].nrecs == 0);
        CHECK_NEAR(rh->latency_ms.p50, ra->latency_ms.p50, 1e-9);
        CHECK_NEAR(rh->latency_ms.p99, ra->latency_ms.p99, 1e-9);
        CHECK_NEAR(rh->latency_all_ms.p90, ra->latency_all_ms.p90, 1e-9);
        CHECK_NEAR(rh->latency_ms.mean, ra->latency_ms.mean, 1e-9);
        CHECK(!strcmp(rh->top_error, ra->top_error) && rh->top_error_count == ra->top_error_count);
    }
    merged_free(&h);
    merged_free(&a);
    for (int k = 0; k < 3; k++) part_free(&bare[k]);
    /* a union of histograms is the histogram of the union, whatever the grouping */
    struct histogram *u = calloc(4, sizeof *u);
    for (int k = 0; k < 3; k++) histogram_merge(&u[0], parts[k].points[1].hist_ok);
    histogram_merge(&u[1], parts[2].points[1].hist_ok);
    histogram_merge(&u[2], parts[0].points[1].hist_ok);
    histogram_merge(&u[2], parts[1].points[1].hist_ok);
    histogram_merge(&u[1], &u[2]);
    for (int k = 0; k < 3; k++)
        for (int64_t j = 0; j < parts[k].points[1].nrecs; j++) {
            const struct bench_record *r = &parts[k].points[1].recs[j];
            if (r->err_kind == REQ_OK) histogram_add(&u[3], r->end_us - r->start_us);
        }
    CHECK(!memcmp(&u[0], &u[1], sizeof u[0]) && !memcmp(&u[0], &u[3], sizeof u[0]));
    free(u);

    /* refusals */
    struct part dup[3] = {parts[0], parts[0], parts[2]};
    CHECK(part_merge(dup, 3, &a, err, sizeof err) == -1 && strstr(err, "twice"));
    CHECK(part_merge(parts, 2, &a, err, sizeof err) == -1 && strstr(err, "missing"));

    part_free(&back);
    for (int k = 0; k < 3; k++) part_free(&parts[k]);
    spec_free(&s);
    unlink(path);
    return check_done("test_part");
}
