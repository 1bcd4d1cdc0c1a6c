#!/usr/bin/python3
"""py-processes: a multiprocessing.Pool of C processes, each with its own requests.Session.
Each process takes the next request as it becomes free; the work runs in parallel."""
import multiprocessing

import requests

import conlab_client as cc

spec = None
session = None
lane = None


def init(lanes_given, the_spec):
    global spec, session, lane
    spec = the_spec
    session = requests.Session() if spec.get("keepalive", True) else requests
    with lanes_given.get_lock():
        lane = lanes_given.value
        lanes_given.value += 1


def fetch(job):
    seq, t0 = job
    method, url, headers, body, timeout = cc.request_args(spec)
    cc.wait_due(spec, seq, t0)
    start = cc.now_us()
    try:
        r = session.request(method, url, headers=headers, data=body, timeout=timeout,
                            allow_redirects=False)
        line = (seq, lane, start, cc.now_us(), r.status_code, len(r.content),
                cc.error_kind(r.status_code), None)
        cc.work(r.content, spec["work_us"])
    except Exception as e:
        kind, msg = cc.requests_error(e)
        line = (seq, lane, start, cc.now_us(), 0, 0, kind, msg)
    return line


def main():
    the_spec = cc.workload()
    n, c = the_spec["requests"], the_spec["concurrency"]
    lanes = min(c, n)
    with multiprocessing.Pool(lanes, init, (multiprocessing.Value("i", 0), the_spec)) as pool:
        cc.hello("py-processes (requests %s, %d processes)" % (requests.__version__, lanes))
        jobs = ((seq, cc.hello_us()) for seq in range(n))
        for line in pool.imap_unordered(fetch, jobs):
            cc.emit(*line)
    cc.done(n)


if __name__ == "__main__":
    main()
