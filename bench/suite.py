#!/usr/bin/env python3
"""conlab's bench suite: everything side by side, in one go, one table with ratios.

  bench/suite.py [--quick] [--bin build/conlab] [--rounds R] [--json FILE]

Needs the peers (scripts/setup.sh --bench): nginx, wrk, h2load (nghttp2-client), hey, Locust
(python3-locust) and the talk's Python clients (python3-requests, python3-aiohttp), all from
Debian; the Python peers run under Debian's /usr/bin/python3. Not part of the test command.

What it measures (rounds are interleaved: every tool once, then again; medians):
 1. Against nginx (1 worker, `return 200`, keep-alive) at 50 connections: wrk (1 thread),
    h2load --h1, hey, Locust FastHttpUser, the talk's four Python clients, the minimal libcurl
    loop (bench/curl_loop.c), and conlab's four modes plain, stored (--db) and through the
    dashboard (POST /api/runs).
 2. The talk's scenario (3 workers x 1000 ms, 3 requests at 3): each mode's time over the ideal.
 3. One million async requests stored and not: the mode's wall time, the whole command's, and the
    process's peak RSS.
 4. 10,000 concurrent async requests against the demo target at 1 s.
 5. The dashboard API (GET /api/runs/ID) under 100 keep-alive connections while a run executes:
    p50/p99, and whether every connection was served.
 6. The idle-wait checks: 5 requests at C=2 against a 0 ms target (async vs threads), and the end
    of a --rate run (async vs threads).
--quick (under 2 minutes): one round, fewer requests, 200,000 instead of a million."""
import argparse
import json
import math
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SYS_PY = "/usr/bin/python3"  # Debian's: where python3-requests, -aiohttp and -locust live
MODES = ("sync", "threads", "async", "processes")
C = 50


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on port {port}")


def sh(cmd, timeout=600, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): {p.stderr[-400:]}")
    return p.stdout + p.stderr


def wait4_rss(cmd, timeout=900):
    """Runs cmd; returns (stdout, wall seconds, its own peak RSS in MiB, its CPU seconds), the
    last two from wait4."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        out.seek(0)
        text = out.read()
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} exited {p.returncode}")
    return text, wall, ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime


class Nginx:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="conlab-bench-nginx-")
        self.port = free_port()
        os.makedirs(os.path.join(self.dir, "logs"))
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(f"""worker_processes 1;
error_log {self.dir}/logs/error.log warn;
pid {self.dir}/nginx.pid;
events {{ worker_connections 20000; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    server {{ listen 127.0.0.1:{self.port}; location / {{ return 200; }} }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", "nginx.conf", "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Serve:
    """conlab serve on a free port with a database of its own."""

    def __init__(self, binary, tmp, extra=()):
        self.port = free_port()
        self.db = os.path.join(tmp, f"serve-{self.port}.db")
        self.proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--db",
                                      self.db, *extra], cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)
        self.base = f"http://127.0.0.1:{self.port}"

    def api(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def start(self, spec):
        return self.api("POST", "/api/runs", spec)["id"]

    def wait(self, run_id, timeout=900):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.api("GET", f"/api/runs/{run_id}")
            if run["status"] not in ("queued", "running"):
                return run
            time.sleep(0.2)
        raise RuntimeError(f"run {run_id} did not end")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def conlab_run(binary, url, n, modes, extra=()):
    out = sh([binary, "run", "--url", url, "--requests", str(n), "--concurrency", str(C),
              "--modes", ",".join(modes), "--json", "--no-progress", *extra])
    return {r["mode"]: r for r in json.loads(out)["results"]}


def row(rps, p99=None, mx=None, extra=None):
    return {"rps": rps, "p99": p99, "max": mx, **(extra or {})}


# --- the peers -------------------------------------------------------------------------------

def run_wrk(url, secs):
    out = sh(["wrk", "-t1", f"-c{C}", f"-d{secs}s", "--latency", url])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    return row(rps, parse_dur(m.group(1)) if m else None)


def parse_dur(s):
    """wrk's and h2load's durations ("598.00us", "5.70ms", "1.02s", "2.10m") in ms."""
    m = re.match(r"([\d.]+)(us|ms|s|m)\b", s)
    if not m:
        return None
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]
    return float(m.group(1)) * scale


def run_h2load(url, n):
    out = sh(["h2load", "--h1", "-t1", f"-c{C}", f"-n{n}", url])
    rps = float(re.search(r"finished in .*?, ([\d.]+) req/s", out).group(1))
    mx = parse_dur(re.search(r"time for request:\s+\S+\s+(\S+)", out).group(1))
    return row(rps, None, mx)


def run_hey(url, n):
    out = sh(["hey", "-n", str(n), "-c", str(C), url])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = float(re.search(r"99% in ([\d.]+) secs", out).group(1)) * 1000
    mx = float(re.search(r"Slowest:\s+([\d.]+) secs", out).group(1)) * 1000
    return row(rps, p99, mx)


LOCUSTFILE = """from locust import task, constant
from locust.contrib.fasthttp import FastHttpUser
class U(FastHttpUser):
    wait_time = constant(0)
    @task
    def get(self):
        self.client.get("/")
"""


def run_locust(url, secs, tmp):
    lf = os.path.join(tmp, "locustfile.py")
    with open(lf, "w") as f:
        f.write(LOCUSTFILE)
    csv = os.path.join(tmp, "locust")
    sh([SYS_PY, "/usr/bin/locust", "-f", lf, "--headless", "-u", str(C), "-r", str(C), "-t",
        f"{secs}s", "--only-summary", "-H", url.rstrip("/"), "--csv", csv], timeout=secs + 60)
    with open(csv + "_stats.csv") as f:
        head, *lines = [l.strip().split(",") for l in f if l.strip()]
    agg = dict(zip(head, next(l for l in lines if l[1] == "Aggregated")))
    return row(float(agg["Requests/s"]), float(agg["99%"]), float(agg["Max Response Time"]))


def run_python(url, n):
    out = sh([SYS_PY, os.path.join(HERE, "talk_clients.py"), url, str(n), str(C)])
    return {m: row(n / (ms / 1000)) for m, ms in json.loads(out).items()}


def build_curl_loop():
    out = os.path.join(ROOT, "build", "curl_loop")
    src = os.path.join(HERE, "curl_loop.c")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        sh(["cc", "-O2", "-Wall", "-Wextra", src, "-lcurl", "-o", out])
    return out


def run_curl_loop(exe, url, n):
    """The loop's req/s, and its CPU per request (from wait4) to compare with conlab's."""
    out, _, _, cpu_s = wait4_rss([exe, url, str(n), str(C)])
    return row(float(re.search(r"rps ([\d.]+)", out).group(1)), extra={"cpu_us": cpu_s * 1e6 / n})


def result_row(r):
    lat = r.get("latency_ms") or {}
    cpu_us = (r["cpu_ms"]["user"] + r["cpu_ms"]["sys"]) * 1000 / r["requests"]
    return row(r["rps"], lat.get("p99"), lat.get("max"), {"wall_ms": r["wall_ms"], "cpu_us": cpu_us})


# --- the sections ----------------------------------------------------------------------------

def peers_section(a, nginx, tmp, serve):
    """Every tool once per round. The figures compared by a target run next to each other: the
    libcurl loop just before conlab's async, and each conlab mode plain, --db and through the
    dashboard in a row; a ratio is taken within a round, and the median of the rounds' ratios
    is what counts (the machine's load drifts between rounds)."""
    n, n_sync, n_py = (50_000, 10_000, 2_000) if a.quick else (200_000, 40_000, 5_000)
    wrk_s, locust_s = (2, 4) if a.quick else (5, 8)
    curl_loop = build_curl_loop()
    url = nginx.url
    samples, rounds = {}, []

    def add(name, r):
        samples.setdefault(name, []).append(r)
        rounds[-1][name] = r

    for rnd in range(a.rounds):
        log(f"[peers] round {rnd + 1}/{a.rounds}")
        rounds.append({})
        add("wrk -t1", run_wrk(url, wrk_s))
        add("h2load --h1", run_h2load(url, n))
        add("hey", run_hey(url, n))
        add("Locust FastHttpUser", run_locust(url, locust_s, tmp))
        for m, r in run_python(url, n_py).items():
            add(f"python {m}", r)
        for m in ("async", "threads", "processes", "sync"):
            nn = n_sync if m == "sync" else n
            if m == "async":
                add("libcurl loop", run_curl_loop(curl_loop, url, n))
            add(f"conlab {m}", result_row(conlab_run(a.bin, url, nn, [m])[m]))
            db = os.path.join(tmp, f"stored-{rnd}-{m}.db")
            add(f"conlab {m} --db", result_row(conlab_run(a.bin, url, nn, [m], ["--db", db])[m]))
            run = serve.wait(serve.start({"target": {"url": url}, "requests": nn, "concurrency": C,
                                          "modes": [m]}))
            add(f"conlab {m} dashboard", result_row(run["results"][0]))
            # The same plain run again: how far two identical runs differ here (the noise floor).
            add(f"conlab {m} again", result_row(conlab_run(a.bin, url, nn, [m])[m]))
    table = {k: {f: med([x.get(f) for x in v]) for f in ("rps", "p99", "max", "cpu_us")}
             for k, v in samples.items()}
    return table, rounds


def round_ratio(rounds, num, den, field="rps"):
    """Median over the rounds of num's field / den's field, measured in the same round."""
    rs = [r[num][field] / r[den][field] for r in rounds
          if r.get(num, {}).get(field) and r.get(den, {}).get(field)]
    return statistics.median(rs) if rs else None


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def talk_section(a):
    port = free_port()
    target = subprocess.Popen([a.bin, "target", "--listen", f"127.0.0.1:{port}", "--workers", "3",
                               "--delay-ms", "1000"], stderr=subprocess.DEVNULL)
    wait_port(port)
    url = f"http://127.0.0.1:{port}/"
    ideal = {m: (3000.0 if m == "sync" else 1000.0) for m in MODES}
    ours, peers = {m: [] for m in MODES}, {m: [] for m in MODES}
    try:
        for rnd in range(a.talk_rounds):
            log(f"[talk] round {rnd + 1}/{a.talk_rounds}")
            out = sh([a.bin, "run", "--url", url, "--requests", "3", "--concurrency", "3", "--json",
                      "--no-progress"])
            for r in json.loads(out)["results"]:
                ours[r["mode"]].append(r["wall_ms"] - ideal[r["mode"]])
            out = sh([SYS_PY, os.path.join(HERE, "talk_clients.py"), url, "3", "3"])
            for m, ms in json.loads(out).items():
                peers[m].append(ms - ideal[m])
    finally:
        target.terminate()
        target.wait(10)
    return {m: {"conlab": statistics.median(ours[m]), "python": statistics.median(peers[m])} for m in MODES}


def million_section(a, nginx, tmp):
    n = 200_000 if a.quick else 1_000_000
    out = {}
    for rnd in range(a.big_rounds):
        log(f"[{n} stored] round {rnd + 1}/{a.big_rounds}")
        order = (("plain", []), ("stored", ["--db", os.path.join(tmp, f"big-{rnd}.db")]))
        for label, extra in order if rnd % 2 == 0 else order[::-1]:  # neither always goes first
            text, wall, rss, _ = wait4_rss([a.bin, "run", "--url", nginx.url, "--requests", str(n),
                                         "--concurrency", str(C), "--modes", "async", "--json",
                                         "--no-progress", *extra])
            r = json.loads(text)["results"][0]
            out.setdefault(label, []).append({"mode_wall_s": r["wall_ms"] / 1000, "command_s": wall,
                                              "rss_mib": rss, "rps": r["rps"],
                                              "mode_rss_mib": r["peak_rss_kb"] / 1024})
    ratio = {f: statistics.median(s[f] / p[f] for p, s in zip(out["plain"], out["stored"]))
             for f in ("mode_wall_s", "command_s")}
    return n, {k: {f: med([x[f] for x in v]) for f in v[0]} for k, v in out.items()}, ratio


def ten_thousand_section(a):
    port = free_port()
    target = subprocess.Popen([a.bin, "target", "--listen", f"127.0.0.1:{port}", "--workers", "10000",
                               "--delay-ms", "1000"], stderr=subprocess.DEVNULL)
    wait_port(port)
    walls = []
    try:
        for rnd in range(a.big_rounds):
            log(f"[10,000 concurrent] round {rnd + 1}/{a.big_rounds}")
            out = sh([a.bin, "run", "--url", f"http://127.0.0.1:{port}/", "--requests", "10000",
                      "--concurrency", "10000", "--modes", "async", "--json", "--no-progress"])
            r = json.loads(out)["results"][0]
            if r["ok"] != 10000:
                raise RuntimeError(f"10,000 concurrent: only {r['ok']} ok ({r['errors_by_kind']})")
            walls.append(r["wall_ms"] / 1000)
    finally:
        target.terminate()
        target.wait(20)
    return statistics.median(walls)


def api_load(base, path, conns, secs):
    """wrk with `conns` keep-alive connections on GET path: req/s, p50/p99, and the requests that
    failed or timed out (a connection held waiting for 2 s counts as a timeout)."""
    out = sh(["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency", base + path])
    lat = {p: re.search(rf"^\s+{p}%\s+(\S+)", out, re.M) for p in (50, 99)}
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": parse_dur(lat[50].group(1)) if lat[50] else None,
            "p99": parse_dur(lat[99].group(1)) if lat[99] else None,
            "errors": sum(int(x) for x in errs.groups()) if errs else 0,
            "timeouts": int(errs.group(4)) if errs else 0,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "conns": conns}


def api_section(a, serve, nginx):
    """GET /api/runs/ID from 100 keep-alive connections while that run executes: a run like the
    dashboard's own (the demo target's kind: 50 workers x 50 ms, ~1,000 req/s), and one that
    takes both cores (async against nginx)."""
    secs = 3 if a.quick else 10
    port = free_port()
    target = subprocess.Popen([a.bin, "target", "--listen", f"127.0.0.1:{port}", "--workers", "50",
                               "--delay-ms", "50"], stderr=subprocess.DEVNULL)
    wait_port(port)
    out = {}
    try:
        for name, url in (("moderate", f"http://127.0.0.1:{port}/"), ("saturating", nginx.url)):
            run_id = serve.start({"target": {"url": url}, "requests": 1_000_000, "concurrency": C,
                                  "modes": ["async"]})
            time.sleep(1)
            try:
                res = api_load(serve.base, f"/api/runs/{run_id}", 100, secs)
                res["run_status"] = serve.api("GET", f"/api/runs/{run_id}")["status"]
            finally:
                serve.api("POST", f"/api/runs/{run_id}/cancel")
                serve.wait(run_id)
            out[name] = res
    finally:
        target.terminate()
        target.wait(10)
    return out


def idle_section(a):
    port = free_port()
    target = subprocess.Popen([a.bin, "target", "--listen", f"127.0.0.1:{port}", "--workers", "50",
                               "--delay-ms", "0"], stderr=subprocess.DEVNULL)
    wait_port(port)
    url = f"http://127.0.0.1:{port}/"
    small, rate = {"threads": [], "async": []}, {"threads": [], "async": []}
    try:
        for _ in range(5 if a.quick else 15):
            out = sh([a.bin, "run", "--url", url, "--requests", "5", "--concurrency", "2", "--modes",
                      "threads,async", "--json", "--no-progress"])
            for r in json.loads(out)["results"]:
                small[r["mode"]].append(r["wall_ms"])
        for _ in range(2 if a.quick else 3):
            out = sh([a.bin, "run", "--url", url, "--requests", "100", "--concurrency", "2", "--rate",
                      "100", "--modes", "threads,async", "--json", "--no-progress"])
            for r in json.loads(out)["results"]:
                rate[r["mode"]].append(r["wall_ms"])
    finally:
        target.terminate()
        target.wait(10)
    return ({m: statistics.median(v) for m, v in small.items()},
            {m: statistics.median(v) for m, v in rate.items()})


# --- the report ------------------------------------------------------------------------------

def fmt(v, digits=1):
    return "-" if v is None else f"{v:,.{digits}f}"


def report(a, peers, talk, big, ten, api, idle):
    peers, rounds = peers
    lines = []
    p = lines.append
    wrk = peers["wrk -t1"]["rps"]
    p(f"## Against nginx (1 worker, return 200) at {C} connections: medians of {a.rounds} round(s)\n")
    p("| client | req/s | vs wrk | p99 ms | max ms | CPU µs/request |")
    p("|---|---:|---:|---:|---:|---:|")
    for k, v in peers.items():
        p(f"| {k} | {fmt(v['rps'], 0)} | {v['rps'] / wrk:.3f} | {fmt(v['p99'], 2)} | {fmt(v['max'], 2)} | {fmt(v['cpu_us'], 1)} |")
    p("")
    p("## Ratios (targets of issue 9)\n")
    p("| figure | mode | value | target |")
    p("|---|---|---:|---|")
    p("(each ratio is the median over the rounds of the two figures measured side by side; \"plain "
      "again\" is the same plain run twice: ratios within its distance of 1 are noise)\n")
    for m in MODES:
        for field, name in (("rps", "req/s"), ("p99", "p99"), ("max", "max latency")):
            v = round_ratio(rounds, f"conlab {m} again", f"conlab {m}", field)
            p(f"| plain again vs plain (noise floor), {name} | {m} | {fmt(v, 3)} | - |")
    for m in MODES:
        for how in ("--db", "dashboard"):
            s, b = f"conlab {m} {how}", f"conlab {m}"
            for field, name, target in (("rps", "req/s", ">= 0.97"), ("p99", "p99", "<= 1.1"),
                                        ("max", "max latency", "<= 2")):
                v = round_ratio(rounds, s, b, field)
                p(f"| stored ({how}) vs plain, {name} | {m} | {fmt(v, 3)} | {target} |")
    pt = statistics.median([v for v in (round_ratio(rounds, f"conlab processes{h}", f"conlab threads{h}")
                                        for h in ("", " --db", " dashboard")) if v])
    p(f"| processes vs threads, req/s (plain, --db and dashboard runs) | C={C} | {pt:.3f} | >= 0.9 |")
    p(f"| async vs the libcurl loop, req/s | C={C} | {fmt(round_ratio(rounds, 'conlab async', 'libcurl loop'), 3)} | >= 0.95 |")
    p(f"| async vs the libcurl loop, CPU per request | C={C} | {fmt(round_ratio(rounds, 'conlab async', 'libcurl loop', 'cpu_us'), 3)} | (lower is better) |")
    for m in MODES:
        py = peers[f"python {m}"]["rps"]
        p(f"| conlab vs its Python twin, req/s | {m} | {peers[f'conlab {m}']['rps'] / py:.1f}x | ahead |")
        p(f"| conlab vs hey, req/s | {m} | {peers[f'conlab {m}']['rps'] / peers['hey']['rps']:.2f}x | ahead |")
    small, rate = idle
    p(f"| async, 5 requests at C=2, 0 ms target | wall ms | {small['async']:.2f} (threads {small['threads']:.2f}) | <= threads + 1 ms |")
    p(f"| --rate 100, 100 requests: end of async - threads | ms | {rate['async'] - rate['threads']:+.2f} | <= 2 ms |")
    worst = max(talk.values(), key=lambda x: x["conlab"])
    p(f"| talk's scenario, over the ideal, worst mode | ms | {worst['conlab']:+.2f} | <= +2 every mode |")
    n, b, br = big
    p(f"| {n:,} async stored vs not, the mode's wall | ratio | {br['mode_wall_s']:.3f} (medians {b['stored']['mode_wall_s']:.2f} s vs {b['plain']['mode_wall_s']:.2f} s) | <= 1.1 |")
    p(f"| {n:,} async stored vs not, the whole command | ratio | {br['command_s']:.3f} (medians {b['stored']['command_s']:.2f} s vs {b['plain']['command_s']:.2f} s) | - |")
    p(f"| {n:,} async stored, peak RSS of conlab run | MiB | {b['stored']['rss_mib']:.1f} (not stored {b['plain']['rss_mib']:.1f}; the mode's own {b['stored']['mode_rss_mib']:.1f}) | <= 128 |")
    p(f"| 10,000 concurrent against a 1 s target | s | {ten:.3f} | <= 1.5 |")
    for name, what in (("moderate", "a run at ~1,000 req/s"), ("saturating", "a run taking both cores")):
        x = api[name]
        p(f"| dashboard API (wrk), 100 keep-alive connections during {what} | p50 / p99 ms | {fmt(x['p50'], 2)} / {fmt(x['p99'], 2)} ({x['rps']:,.0f} req/s, {x['timeouts']} timeouts, {x['errors'] + x['non2xx']} errors) | p99 <= 10, all served |")
    p("")
    p("## The talk's scenario: time over the ideal (3 workers x 1000 ms, 3 requests at 3), ms\n")
    p("| mode | conlab | Python | Python / conlab |")
    p("|---|---:|---:|---:|")
    for m in MODES:
        t = talk[m]
        ratio = t["python"] / t["conlab"] if t["conlab"] > 0 else float("inf")
        p(f"| {m} | {t['conlab']:+.2f} | {t['python']:+.2f} | {ratio:.1f}x |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "conlab"))
    ap.add_argument("--quick", action="store_true", help="one round, fewer requests: under 2 minutes")
    ap.add_argument("--rounds", type=int, help="rounds of the side-by-side peers (3; quick 1)")
    ap.add_argument("--json", help="also write every number as JSON to this file")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    a.rounds = a.rounds or (1 if a.quick else 3)
    a.talk_rounds = 2 if a.quick else 5
    a.big_rounds = 1 if a.quick else 4
    for tool in ("nginx", "wrk", "h2load", "hey", SYS_PY):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/setup.sh --bench")
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="conlab-bench-")
    nginx = Nginx()
    serve = Serve(a.bin, tmp, ["--no-demo-target"])
    try:
        peers = peers_section(a, nginx, tmp, serve)
        api = api_section(a, serve, nginx)
        big = million_section(a, nginx, tmp)
        ten = ten_thousand_section(a)
        talk = talk_section(a)
        idle = idle_section(a)
    finally:
        serve.stop()
        nginx.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(a, peers, talk, big, ten, api, idle)
    cpu = os.cpu_count()
    print(f"conlab bench suite{' --quick' if a.quick else ''}: {cpu} cores, "
          f"load {os.getloadavg()[0]:.2f}, {time.monotonic() - t0:.0f} s\n")
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"peers": peers, "talk": talk, "big": big, "ten_thousand_s": ten, "api": api,
                       "idle": idle}, f, indent=1)


if __name__ == "__main__":
    main()
