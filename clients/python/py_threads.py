#!/usr/bin/python3
"""py-threads: a ThreadPoolExecutor of C workers, each with its own requests.Session.
Each worker takes the next request as it becomes free; the work on a response holds the GIL."""
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

import conlab_client as cc


def main():
    spec = cc.workload()
    method, url, headers, body, timeout = cc.request_args(spec)
    n, c = spec["requests"], spec["concurrency"]
    lanes = min(c, n)
    seqs = itertools.count()  # next() on a count is atomic under the GIL
    ready = threading.Barrier(lanes + 1)

    def worker(lane):
        session = requests.Session() if spec.get("keepalive", True) else requests
        ready.wait()
        while (seq := next(seqs)) < n:
            cc.wait_due(spec, seq)
            start = cc.now_us()
            try:
                r = session.request(method, url, headers=headers, data=body, timeout=timeout,
                                    allow_redirects=False)
                cc.emit(seq, lane, start, cc.now_us(), r.status_code, len(r.content),
                        cc.error_kind(r.status_code))
                cc.work(r.content, spec["work_us"])
            except Exception as e:
                kind, msg = cc.requests_error(e)
                cc.emit(seq, lane, start, cc.now_us(), 0, 0, kind, msg)

    with ThreadPoolExecutor(max_workers=lanes) as pool:
        futures = [pool.submit(worker, lane) for lane in range(lanes)]
        cc.hello("py-threads (requests %s, %d threads)" % (requests.__version__, lanes))
        ready.wait()
        for f in futures:
            f.result()
    cc.done(n)


if __name__ == "__main__":
    main()
