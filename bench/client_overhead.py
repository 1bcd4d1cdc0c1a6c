"""The client protocol's overhead (docs/CLIENTS.md): conlab's own modes built in against the same
modes run as clients (`conlab __client MODE`, measured from outside like any client), in the same
`conlab run`, side by side.

- The talk's scenario (`conlab target`, 3 workers x 1000 ms; 3 requests at C=3): the wall time
  of threads and async built in and through the protocol, and the difference.
- nginx (`return 200`, 1 worker) at C=50: req/s of async built in and through the protocol, and
  the ratio.

Medians over --rounds rounds; in each round the two orders alternate.
Usage: python3 bench/client_overhead.py [--bin build/conlab] [--rounds 5] [--requests 50000]"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from suite import Nginx, free_port, wait_port  # noqa: E402


def run(bin_, url, n, c, modes, clients):
    args = [bin_, "run", "--url", url, "--requests", str(n), "--concurrency", str(c), "--modes",
            ",".join(modes), "--json", "--no-progress"]
    for name, mode in clients.items():
        args += ["--client", f"{name}={os.path.abspath(bin_)} __client {mode}"]
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if p.returncode:
        raise SystemExit(p.stderr)
    res = {r["mode"]: r for r in json.loads(p.stdout)["results"]}
    for name, r in res.items():
        if r.get("error") or r["ok"] != n:
            raise SystemExit(f"{name}: {r}")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/conlab")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=50000)
    a = ap.parse_args()
    clients = {"c-threads": "threads", "c-async": "async"}
    port = free_port()
    target = subprocess.Popen([a.bin, "target", "--listen", f"127.0.0.1:{port}"],
                              stderr=subprocess.DEVNULL)
    wait_port(port)
    nginx = Nginx()
    talk, rps = {m: [] for m in ("threads", "c-threads", "async", "c-async")}, []
    try:
        for rnd in range(a.rounds):
            order = ["threads", "c-threads", "async", "c-async"]
            if rnd % 2:
                order = ["c-threads", "threads", "c-async", "async"]
            res = run(a.bin, f"http://127.0.0.1:{port}/", 3, 3, order, clients)
            for m in order:
                talk[m].append(res[m]["wall_ms"])
            pair = ["async", "c-async"] if rnd % 2 == 0 else ["c-async", "async"]
            res = run(a.bin, nginx.url, a.requests, 50, pair, {"c-async": "async"})
            rps.append((res["async"]["rps"], res["c-async"]["rps"]))
    finally:
        target.terminate()
        nginx.stop()
    med = {m: statistics.median(v) for m, v in talk.items()}
    print(f"the talk's scenario (3 requests at C=3, 3 workers x 1000 ms), {a.rounds} rounds, median wall:")
    for m in ("threads", "async"):
        d = statistics.median(c - b for b, c in zip(talk[m], talk["c-" + m]))
        print(f"  {m:8s} built in {med[m]:8.1f} ms   through the protocol {med['c-' + m]:8.1f} ms"
              f"   difference {d:+.1f} ms (median of the rounds)")
    ratio = statistics.median(c / b for b, c in rps)
    print(f"nginx at C=50, {a.requests} requests: async built in {statistics.median(b for b, _ in rps):.0f} req/s, "
          f"through the protocol {statistics.median(c for _, c in rps):.0f} req/s, ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
