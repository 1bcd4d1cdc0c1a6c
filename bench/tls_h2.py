#!/usr/bin/env python3
"""TLS and HTTP/2 against nginx (1 worker, `return 200`, TLS with a throwaway CA, h2 and
http/1.1 by ALPN), at C connections or streams; rounds interleaved, medians.

  bench/tls_h2.py [--bin build/conlab] [--rounds R] [--requests N] [--concurrency C]

Rows: conlab async over TLS (HTTP/1.1) with keep-alive and with --no-keepalive (every request
a handshake), conlab async with --http 2, h2mux over 1 connection and over C connections,
and h2load (package nghttp2-client) as the peer: --h1 over TLS, and h2 over 1 connection with
C streams. For conlab: req/s (ok requests over the mode's wall time), CPU µs per request (the
mode's user + sys over its requests), connections opened, and the handshake's share of the
latency (sum of tls_us - connect_us over the sum of end_us - start_us, from the records).
Not part of the test command."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from tls_testlib import HOST, Nginx, Pki  # noqa: E402


def conlab(bin_, port, pki, mode, n, c, *extra):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.jsonl")
        p = subprocess.run([bin_, "run", "--url", f"https://{HOST}:{port}/", "--resolve",
                            f"{HOST}:{port}:127.0.0.1", "--cacert", pki.path("ca.pem"),
                            "--modes", mode, "--requests", str(n), "--concurrency", str(c),
                            "--timeout-ms", "10000", "--json", "--requests-out", out, *extra],
                           capture_output=True, text=True, check=True)
        r = json.loads(p.stdout)["results"][0]
        tls = lat = 0
        with open(out) as f:
            for line in f:
                x = json.loads(line)
                if x["end_us"] is None or x["start_us"] is None:
                    continue
                lat += x["end_us"] - x["start_us"]
                if x["tls_us"] is not None and x["connect_us"] is not None:
                    tls += x["tls_us"] - x["connect_us"]
    cpu_us = (r["cpu_ms"]["user"] + r["cpu_ms"]["sys"]) * 1000 / r["requests"]
    return {"rps": r["rps"], "cpu_us": cpu_us, "conns": r["connections"],
            "tls_share": tls / lat if lat else 0, "ok": r["ok"]}


def h2load(port, n, c, h1):
    args = ["h2load", "-n", str(n), "-t", "1"]
    args += ["-c", str(c), "--h1"] if h1 else ["-c", "1", "-m", str(c)]
    p = subprocess.run(args + [f"https://127.0.0.1:{port}/"], capture_output=True, text=True,
                       check=True)
    m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", p.stdout)
    return {"rps": float(m.group(1)) if m else float("nan")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "conlab"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=50)
    a = ap.parse_args()
    n, c = a.requests, a.concurrency
    pki = Pki()
    nginx = Nginx(pki)
    rows = {
        "async TLS h1.1 keep-alive": lambda: conlab(a.bin, nginx.port, pki, "async", n, c),
        "async TLS h1.1 no keep-alive": lambda: conlab(a.bin, nginx.port, pki, "async", n // 4,
                                                       c, "--no-keepalive"),
        "async --http 2": lambda: conlab(a.bin, nginx.port, pki, "async", n, c, "--http", "2"),
        "h2mux, 1 connection": lambda: conlab(a.bin, nginx.port, pki, "h2mux", n, c),
        f"h2mux, {c} connections": lambda: conlab(a.bin, nginx.port, pki, "h2mux", n, c,
                                                  "--connections", str(c)),
        "h2load --h1 (TLS)": lambda: h2load(nginx.port, n, c, True),
        "h2load h2, 1 connection": lambda: h2load(nginx.port, n, c, False),
    }
    got = {k: [] for k in rows}
    try:
        for _ in range(a.rounds):
            for k, fn in rows.items():
                got[k].append(fn())
    finally:
        nginx.close()
        pki.close()
    print(f"nginx over TLS, {n} requests, C={c}, {a.rounds} rounds (medians)")
    print(f"{'':32} {'req/s':>9} {'CPU us/req':>11} {'conns':>6} {'TLS share':>10}")
    for k, rs in got.items():
        med = lambda f: statistics.median(r[f] for r in rs) if f in rs[0] else float("nan")
        print(f"{k:32} {med('rps'):9.0f} {med('cpu_us'):11.1f} {med('conns'):6.0f} "
              f"{med('tls_share') * 100:9.1f}%")


if __name__ == "__main__":
    main()
