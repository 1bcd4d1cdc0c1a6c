/* Percentiles against known data (numpy's default linear interpolation). */
#include <stdlib.h>
#include "check.h"
#include "stats.h"

int main(void)
{
    struct stats s;
    stats_init(&s);
    CHECK(isnan(stats_percentile(&s, 50)));
    struct latency_summary sum;
    CHECK(stats_summary(&s, &sum) == -1);

    /* 1..100 shuffled: numpy.percentile(range(1,101), [50, 90, 99]) = 50.5, 90.1, 99.01 */
    int order[100];
    for (int i = 0; i < 100; i++) order[i] = i + 1;
    srand(7);
    for (int i = 99; i > 0; i--) {
        int j = rand() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < 100; i++) CHECK(stats_add(&s, order[i]) == 0);
    CHECK_NEAR(stats_percentile(&s, 50), 50.5, 1e-9);
    CHECK_NEAR(stats_percentile(&s, 90), 90.1, 1e-9);
    CHECK_NEAR(stats_percentile(&s, 99), 99.01, 1e-9);
    CHECK_NEAR(stats_percentile(&s, 0), 1, 1e-9);
    CHECK_NEAR(stats_percentile(&s, 100), 100, 1e-9);
    stats_free(&s);

    /* Summary in ms from µs: 1000, 2000, 3000, 10000 µs. */
    stats_init(&s);
    int64_t v[] = {3000, 1000, 10000, 2000};
    for (int i = 0; i < 4; i++) stats_add(&s, v[i]);
    CHECK(stats_summary(&s, &sum) == 0);
    CHECK_NEAR(sum.min, 1.0, 1e-9);
    CHECK_NEAR(sum.max, 10.0, 1e-9);
    CHECK_NEAR(sum.mean, 4.0, 1e-9);
    CHECK_NEAR(sum.p50, 2.5, 1e-9);
    CHECK_NEAR(sum.p90, 7.9, 1e-9);  /* rank 2.7: 3000 + 0.7 * 7000 */
    CHECK_NEAR(sum.p99, 9.79, 1e-9); /* rank 2.97 */
    stats_free(&s);

    /* One sample: every percentile is it. */
    stats_init(&s);
    stats_add(&s, 1234);
    CHECK(stats_summary(&s, &sum) == 0);
    CHECK_NEAR(sum.p50, 1.234, 1e-9);
    CHECK_NEAR(sum.p99, 1.234, 1e-9);
    stats_free(&s);

    /* Growth past the first allocation. */
    stats_init(&s);
    for (int i = 0; i < 100000; i++) stats_add(&s, 100000 - i);
    CHECK(s.n == 100000);
    CHECK_NEAR(stats_percentile(&s, 50), 50000.5, 1e-6);
    stats_free(&s);
    return check_done("test_stats");
}
