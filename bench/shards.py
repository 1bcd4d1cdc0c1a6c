#!/usr/bin/env python3
"""Shards measured: what splitting one run over processes buys, and what the coordination costs.

  bench/shards.py [--bin build/conlab] [--rounds R] [--requests N]

Needs nginx (scripts/setup.sh --bench). Not part of the test command. Against nginx (1 worker,
`return 200`, keep-alive), rounds interleaved, medians:
 1. sync, single-core by nature: one process against 2 shards (`--shard 0/2`, `1/2`, started in
    one slot with --start-at and merged): the merged req/s over the one process's.
 2. async at C=50: one shard of one (`--shard 0/1`, merged) against a plain run: the ratio of
    req/s (what sharding costs inside a mode).
 3. The start skew across 4 shards started with --start-at (merge's start_skew_ms, latest start
    minus earliest) and how far behind the slot each shard started: p50 and max.
 4. The same through the dashboard's barrier: 4 `conlab run --join` shards of a run created with
    "shards": 4; from the stored rows (times from the common start), each shard's first request
    of each mode: the latest minus the earliest, and how far behind the common start.
    `--dashboard-only` measures this one alone."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from suite import Nginx, log  # noqa: E402


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} exited {p.returncode}: {p.stderr[-400:]}")
    return json.loads(p.stdout) if p.stdout.strip().startswith("{") else None


def sharded(binary, url, n, spec, tmp, lead_ms=700, slot_ms=None):
    """Runs n shards of spec started together in one slot; returns merge's JSON document."""
    start = int(time.time() * 1000) + lead_ms
    parts = [os.path.join(tmp, f"part-{i}.json") for i in range(n)]
    slot = ["--mode-slot-ms", str(slot_ms)] if slot_ms else []
    procs = [subprocess.Popen([binary, "run", "--url", url, *spec, "--no-progress", "--rows", "all",
                               "--shard", f"{i}/{n}", "--out", parts[i], "--start-at", str(start),
                               *slot], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"a shard exited {p.returncode}: {err[-400:]}")
    doc = run_json([binary, "merge", *parts, "--json"])
    for path in parts:
        os.unlink(path)
    return doc


def through_dashboard(binary, url, rounds):
    """4 --join shards of a dashboard's run per round; returns (start skews, behind the start),
    both in ms, one skew per mode start, one 'behind' per shard and mode."""
    db = os.path.join(tempfile.mkdtemp(prefix="conlab-bench-coord-"), "conlab.db")
    serve = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--db", db,
                              "--no-demo-target"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        line = serve.stdout.readline()
        base = line.split("dashboard on ")[1].split()[0].rstrip("/")

        def api(method, path, body=None):
            req = urllib.request.Request(base + path, method=method,
                                         data=json.dumps(body).encode() if body else None,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.load(r)

        skews, behind = [], []
        for _ in range(rounds):
            run = api("POST", "/api/runs", {"target": {"url": url}, "requests": 2000,
                                            "concurrency": 8, "modes": ["threads", "async"],
                                            "shards": 4})["id"]
            procs = [subprocess.Popen([binary, "run", "--join", base + "/", "--run", run,
                                       "--shard", f"{i}/4"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True) for i in range(4)]
            for p in procs:
                _, err = p.communicate(timeout=600)
                if p.returncode != 0:
                    raise RuntimeError(f"a shard exited {p.returncode}: {err[-400:]}")
            for mode in ("threads", "async"):
                rows = api("GET", f"/api/runs/{run}/requests?mode={mode}&limit=10000")["requests"]
                first = [min(r["start_us"] for r in rows if r["seq"] % 4 == i) / 1000
                         for i in range(4)]
                skews.append(max(first) - min(first))
                behind += first
        return skews, behind
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(HERE), "build/conlab"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--dashboard-only", action="store_true")
    a = ap.parse_args()
    nginx = Nginx()
    med = statistics.median
    if a.dashboard_only:
        try:
            skews, behind = through_dashboard(a.bin, nginx.url, a.rounds)
        finally:
            nginx.stop()
        print(f"through the dashboard, start skew across 4 shards ({len(skews)} mode starts): "
              f"p50 {med(skews):.3f} ms, max {max(skews):.3f} ms; first request behind the common "
              f"start p50 {med(behind):.3f} ms, max {max(behind):.3f} ms")
        return
    tmp = tempfile.mkdtemp(prefix="conlab-bench-shards-")
    sync_ratio, async_ratio, skews, behind = [], [], [], []
    sync_one, sync_two, async_one, async_shard = [], [], [], []
    try:
        n = a.requests
        for r in range(a.rounds):
            spec = ["--requests", str(n), "--concurrency", "2", "--modes", "sync"]
            one = run_json([a.bin, "run", "--url", nginx.url, *spec, "--json", "--no-progress"])
            two = sharded(a.bin, nginx.url, 2, spec, tmp)
            sync_one.append(one["results"][0]["rps"])
            sync_two.append(two["results"][0]["rps"])
            sync_ratio.append(sync_two[-1] / sync_one[-1])
            spec = ["--requests", str(n), "--concurrency", "50", "--modes", "async"]
            plain = run_json([a.bin, "run", "--url", nginx.url, *spec, "--json", "--no-progress"])
            one_shard = sharded(a.bin, nginx.url, 1, spec, tmp)
            async_one.append(plain["results"][0]["rps"])
            async_shard.append(one_shard["results"][0]["rps"])
            async_ratio.append(async_shard[-1] / async_one[-1])
            spec = ["--requests", "2000", "--concurrency", "8", "--modes", "threads,async"]
            four = sharded(a.bin, nginx.url, 4, spec, tmp, lead_ms=1000, slot_ms=1500)
            for point in four["shards"]:
                skews.append(point["start_skew_ms"])
                behind += [s["skew_ms"] for s in point["shards"]]
            log(f"round {r + 1}: sync x2 {sync_ratio[-1]:.2f}, async n=1 {async_ratio[-1]:.3f}, "
                f"skew {[p['start_skew_ms'] for p in four['shards']]} ms")
    finally:
        nginx.stop()
    med = statistics.median
    print(f"sync, {a.requests} requests: one process {med(sync_one):,.0f} req/s, 2 shards merged "
          f"{med(sync_two):,.0f} req/s: {med(sync_ratio):.2f}x (rounds {', '.join(f'{x:.2f}' for x in sync_ratio)})")
    print(f"async C=50, {a.requests} requests: plain {med(async_one):,.0f} req/s, one shard of one "
          f"{med(async_shard):,.0f} req/s: {med(async_ratio):.3f} (rounds {', '.join(f'{x:.3f}' for x in async_ratio)})")
    print(f"start skew across 4 shards ({len(skews)} mode starts): p50 {med(skews):.3f} ms, "
          f"max {max(skews):.3f} ms; behind the slot p50 {med(behind):.3f} ms, max {max(behind):.3f} ms")


if __name__ == "__main__":
    main()
