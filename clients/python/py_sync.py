#!/usr/bin/python3
"""py-sync: the talk's first client: `requests`, one request after another."""
import requests

import conlab_client as cc


def main():
    spec = cc.workload()
    method, url, headers, body, timeout = cc.request_args(spec)
    session = requests.Session() if spec.get("keepalive", True) else requests
    cc.hello("py-sync (requests %s)" % requests.__version__)
    for seq in range(spec["requests"]):
        cc.wait_due(spec, seq)
        start = cc.now_us()
        try:
            r = session.request(method, url, headers=headers, data=body, timeout=timeout,
                                allow_redirects=False)
            end = cc.now_us()
            cc.emit(seq, 0, start, end, r.status_code, len(r.content), cc.error_kind(r.status_code))
            cc.work(r.content, spec["work_us"])
        except Exception as e:
            kind, msg = cc.requests_error(e)
            cc.emit(seq, 0, start, cc.now_us(), 0, 0, kind, msg)
    cc.done(spec["requests"])


if __name__ == "__main__":
    main()
