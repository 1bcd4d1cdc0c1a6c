"""The cost of the client protocol (docs/CLIENTS.md) to conlab itself: how much CPU conlab spends
checking and recording a client's lines, per line, and how fast it reads them.

A client that sends nothing over the network prints `--requests` valid request lines as fast as
Python can (the lines prepared before its hello); `conlab run` checks each one (JSON, fields,
seq, lane, times) and records it like a built-in mode's request. conlab's own CPU is the CPU of
`conlab run` and its children (RUSAGE_CHILDREN around it) minus the client tree's, which conlab
measured and reports as the mode's cpu_ms. Prints the medians of --runs runs.

Usage: python3 bench/client_protocol.py [--bin build/conlab] [--requests 200000] [--runs 5]"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time

FAKE = r'''#!/usr/bin/python3
import json, sys, time
spec = json.loads(sys.stdin.readline())
n, c = spec["requests"], spec["concurrency"]
out = sys.stdout
t0 = time.monotonic_ns() // 1000
out.write(json.dumps({"hello": "fake", "t_us": t0}) + "\n")
# every request 0..n-1 on lanes 0..c-1, between t0 and now, status 200
lines = ['{"seq":%d,"lane":%d,"start_us":%d,"end_us":%d,"status":200,"bytes":22,"error_kind":null,"error":null}\n'
         % (s, s % c, t0 + 1, t0 + 2) for s in range(n)]
for at in range(0, n, 1000):
    out.write("".join(lines[at:at + 1000]))
out.write('{"done":%d}\n' % n)
out.flush()
'''


def one(bin_, script, n):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    p = subprocess.run([bin_, "run", "--url", "http://127.0.0.1:9/", "--requests", str(n),
                        "--concurrency", "4", "--client", f"fake={script}", "--modes", "fake",
                        "--json", "--no-progress", "--max-requests", str(n)],
                       capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(p.stderr)
    r = json.loads(p.stdout)["results"][0]
    if "error" in r or r["ok"] != n:
        raise SystemExit(f"the fake client failed: {r}")
    total_ms = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000
    client_ms = r["cpu_ms"]["user"] + r["cpu_ms"]["sys"] + r["startup_cpu_ms"]
    return {"conlab_cpu_ms": total_ms - client_ms, "client_cpu_ms": client_ms,
            "wall_ms": r["wall_ms"], "elapsed_s": elapsed}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/conlab")
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "fake.py")
        with open(script, "w") as f:
            f.write(FAKE)
        os.chmod(script, 0o755)
        runs = [one(a.bin, script, a.requests) for _ in range(a.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    n = a.requests
    print(f"{n} lines, {a.runs} runs (medians):")
    print(f"  conlab's CPU: {med['conlab_cpu_ms']:.0f} ms, {med['conlab_cpu_ms'] * 1000 / n:.2f} us per line "
          f"(the whole `conlab run`: spawn, checks, recording, RESULT)")
    print(f"  the client's CPU: {med['client_cpu_ms']:.0f} ms; the whole command took "
          f"{med['elapsed_s']:.2f} s ({n / med['elapsed_s']:.0f} lines/s, start-up and storing included)")


if __name__ == "__main__":
    main()
