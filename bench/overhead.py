"""conlab's overhead over the ideal time on the talk's scenario, next to the talk's Python clients.

Starts `conlab target` (3 workers, 1000 ms), then alternates RUNS times: `conlab run --requests N
--concurrency 3 --json` and bench/talk_clients.py, against the same server. The ideal time is what
a client with zero overhead would take: N x 1 s for sync, ceil(N/3) x 1 s for the concurrent
modes. Prints per mode the median overhead (wall - ideal) of each and their ratio.

Usage: python3 bench/overhead.py [--bin build/conlab] [--runs 7] [--requests 3] [--no-peers]
Needs python3-requests and python3-aiohttp for the peers (scripts/setup.sh --bench)."""
import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import time

MODES = ("sync", "threads", "async", "processes")
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"target did not start on port {port}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "build", "conlab"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--requests", type=int, default=3)
    ap.add_argument("--no-peers", action="store_true")
    a = ap.parse_args()

    port = free_port()
    target = subprocess.Popen([a.bin, "target", "--listen", f"127.0.0.1:{port}", "--workers", "3",
                               "--delay-ms", "1000"], stderr=subprocess.DEVNULL)
    wait_port(port)
    url = f"http://127.0.0.1:{port}/"
    ideal = {m: (a.requests if m == "sync" else math.ceil(a.requests / 3)) * 1000.0 for m in MODES}
    ours = {m: [] for m in MODES}
    peers = {m: [] for m in MODES}
    try:
        for i in range(a.runs):
            p = subprocess.run([a.bin, "run", "--url", url, "--requests", str(a.requests),
                                "--concurrency", "3", "--json", "--no-progress"],
                               capture_output=True, text=True, check=True, timeout=120)
            for r in json.loads(p.stdout)["results"]:
                ours[r["mode"]].append(r["wall_ms"] - ideal[r["mode"]])
            if not a.no_peers:
                p = subprocess.run([sys.executable, os.path.join(HERE, "talk_clients.py"), url,
                                    str(a.requests), "3"], capture_output=True, text=True,
                                   check=True, timeout=120)
                for m, ms in json.loads(p.stdout).items():
                    peers[m].append(ms - ideal[m])
            print(f"run {i + 1}/{a.runs} done", file=sys.stderr)
    finally:
        target.terminate()
        target.wait(10)

    print(f"\nOverhead over the ideal time, {a.requests} requests, 3 workers x 1000 ms; "
          f"median of {a.runs} runs (ms)")
    print(f"{'mode':<10} {'ideal':>8} {'conlab':>9} {'python':>9} {'python/conlab':>14}")
    for m in MODES:
        o = statistics.median(ours[m])
        line = f"{m:<10} {ideal[m]:>8.0f} {o:>9.2f}"
        if peers[m]:
            py = statistics.median(peers[m])
            line += f" {py:>9.2f} {py / o if o > 0 else float('inf'):>13.1f}x"
        print(line)


if __name__ == "__main__":
    main()
