"""The client protocol of docs/CLIENTS.md, shared by the Python clients.

    spec = workload()            # the run spec, one JSON line on stdin
    hello()                      # ready: imports done, pools started
    emit(seq, lane, start, end, status=200, nbytes=22)   # one line per request
    done(n)                      # the last line

Times are CLOCK_MONOTONIC microseconds (now_us()); conlab turns them into offsets.
"""
import json
import sys
import threading
import time

_out = sys.stdout
_lock = threading.Lock()
_t0 = None


def now_us():
    return time.monotonic_ns() // 1000


def workload():
    """The run spec as a dict: target.url/method/headers/body, requests, concurrency (an
    integer), timeout_ms, rate, keepalive, work_us, mode."""
    return json.loads(sys.stdin.readline())


def _write(obj):
    line = json.dumps(obj, separators=(",", ":")) + "\n"
    with _lock:
        _out.write(line)
        _out.flush()


def hello(name):
    global _t0
    _t0 = now_us()
    _write({"hello": name, "t_us": _t0})


def emit(seq, lane, start_us, end_us, status=0, nbytes=0, error_kind=None, error=None):
    """One finished request. error_kind: None (decided from status), "connect", "timeout",
    "reset", "status" or "other"."""
    _write({"seq": seq, "lane": lane, "start_us": start_us, "end_us": end_us, "status": status,
            "bytes": nbytes, "error_kind": error_kind, "error": error})


def done(n):
    _write({"done": n})


def hello_us():
    """When hello() was called (now_us()); None before."""
    return _t0


def due_in(spec, seq, t0_us=None):
    """Seconds until request seq is due: seq / rate seconds after hello (0 without a rate)."""
    rate = spec.get("rate") or 0
    t0 = t0_us if t0_us is not None else _t0
    if rate <= 0 or t0 is None:
        return 0
    return t0 / 1e6 + seq / rate - time.monotonic_ns() / 1e9


def wait_due(spec, seq, t0_us=None):
    """With a rate, sleeps until request seq is due."""
    left = due_in(spec, seq, t0_us)
    if left > 0:
        time.sleep(left)


def work(body, work_us):
    """work_us of CPU time of this thread, in Python, over the response body: a computation
    that holds the GIL (threads take turns; processes run side by side)."""
    if work_us <= 0:
        return 0
    data = body[:4096] or b"x"
    end = time.thread_time_ns() + work_us * 1000
    h = 0
    while True:
        for b in data[:256]:
            h = (h * 31 + b) & 0xFFFFFFFF
        if time.thread_time_ns() >= end:
            return h


def request_args(spec):
    """method, url, headers, body and the whole-request timeout (s) of the spec's target."""
    t = spec["target"]
    headers = dict(t.get("headers") or {})
    if not spec.get("keepalive", True):
        headers["Connection"] = "close"
    body = t.get("body")
    return (t.get("method") or "GET", t["url"], headers,
            body.encode() if isinstance(body, str) else None, spec.get("timeout_ms", 30000) / 1000)


def error_kind(status):
    return None if 200 <= status < 400 else "status"


def requests_error(e):
    """(kind, message) of a `requests` exception."""
    import requests
    if isinstance(e, requests.exceptions.Timeout):
        return "timeout", str(e)[:180]
    if isinstance(e, requests.exceptions.ConnectionError):
        text = str(e)
        aborted = "aborted" in text or "RemoteDisconnected" in text or "reset" in text
        return ("reset" if aborted else "connect"), text[:180]
    return "other", str(e)[:180]
