/* `sync`: one worker, one request after another, one reused easy handle. */
#include "bench_sync.h"
#include "bench_curl.h"
#include "bench_dispatch.h"
#include "bench_log.h"

int bench_sync_run(struct bench_ctx *c, char *err, size_t errlen)
{
    struct bench_xfer x;
    if (bench_xfer_init(&x, c->spec, c->headers, c->t0, err, errlen)) return -1;
    struct bench_log *log = &c->sh->logs[0];
    int64_t seq, due;
    while (bench_claim(c, &seq, &due) && bench_wait_due(c, due)) {
        bench_xfer_begin(&x, seq, 0, due);
        bench_xfer_end(&x, bench_xfer_perform(&x));
        bench_log_put(c, log, &x.rec, x.error);
        bench_xfer_work(&x);
    }
    bench_log_flush(c, log);
    bench_xfer_cleanup(&x);
    return 0;
}
