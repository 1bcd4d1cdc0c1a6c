"""`conlab run` against the real `conlab target` on loopback: the talk's numbers, every request
accounted for, failures as data, bad flags refused."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

from conlab_testlib import (BIN, SANITIZED, Background, children, free_port, open_sockets,
                            read_jsonl, run, start_target, stop, wait_until)

CONCURRENT = ("threads", "async", "processes")


def percentile(sorted_values, p):
    """numpy's default: linear interpolation between closest ranks."""
    rank = p / 100 * (len(sorted_values) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (rank - lo)


class _Target:
    """A demo target of 3 workers answering in 1 s (a URL's delay_ms overrides it), and a
    temporary folder."""
    @classmethod
    def setUpClass(cls):
        cls.target, cls.url = start_target(workers=3, delay_ms=1000)
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        stop(cls.target)
        cls.tmp.cleanup()

    def by_mode(self, doc):
        return {r["mode"]: r for r in doc["results"]}

    def run_rows(self, name, *args):
        """`conlab run ARGS --json --requests-out FILE`: (the JSON document, the request rows)."""
        out = os.path.join(self.tmp.name, name)
        code, doc, err = run(*args, "--requests-out", out)
        self.assertEqual(code, 0, err)
        return doc, read_jsonl(out)


class TalkScenario(_Target, unittest.TestCase):
    # conlab-test: serial (it asserts times: see tests/tests.cmake)

    # The talk's scenario at its full 1 s (the product's headline numbers; the other tests run it
    # at shorter delays) is 6 s of the server's sleeps: it starts in setUpClass against a target
    # of its own and runs beside the class's other tests. Its CPU is a few ms, and theirs delays
    # its wake-ups by milliseconds (beside them its walls were 1-6 ms over D, as alone), far
    # inside its 200 ms of slack. The sanitized builds run it at 200 ms and assert no upper bound
    # on a time (their processes mode once took 276 ms over D, forking its workers beside two
    # busy loops): their point is memory and thread errors on these code paths, not the 1 s
    # numbers.
    THREE_DELAY = 200 if SANITIZED else 1000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.three_out = os.path.join(cls.tmp.name, "three.jsonl")
        cls.three = Background(3, cls.THREE_DELAY, "--requests", "3", "--concurrency", "3",
                               "--requests-out", cls.three_out)
        cls.addClassCleanup(cls.three.stop)

    def test_three_requests(self):
        delay, slack = self.THREE_DELAY, 200
        code, doc, err = self.three.result()
        self.assertEqual(code, 0, err)
        res = self.by_mode(doc)
        self.assertEqual(list(res), ["sync", "threads", "async", "processes"])
        self.assertGreaterEqual(res["sync"]["wall_ms"], 3 * delay)
        if not SANITIZED:
            self.assertLess(res["sync"]["wall_ms"], 3 * delay + slack)
        for m in CONCURRENT:
            self.assertGreaterEqual(res[m]["wall_ms"], delay, m)
            if not SANITIZED:
                self.assertLess(res[m]["wall_ms"], delay + slack, m)
        for m, r in res.items():
            self.assertEqual((r["requests"], r["ok"], r["errors"]), (3, 3, 0), m)
            self.assertAlmostEqual(r["rps"], 3 / (r["wall_ms"] / 1000), places=2)
            lat = r["latency_ms"]
            self.assertTrue(delay <= lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat)
            if not SANITIZED:
                self.assertLess(lat["max"], delay + slack, lat)
            self.assertGreater(r["cpu_ms"]["user"] + r["cpu_ms"]["sys"], 0)
            self.assertGreater(r["peak_rss_kb"], 1000)
        rows = read_jsonl(self.three_out)
        self.assertEqual(len(rows), 12)
        for m in res:
            mine = [r for r in rows if r["mode"] == m]
            self.assertEqual(sorted(r["seq"] for r in mine), [0, 1, 2])
            lanes = {r["lane"] for r in mine}
            self.assertEqual(lanes, {0} if m == "sync" else {0, 1, 2}, m)
            for r in mine:
                self.assertEqual(r["status"], 200)
                self.assertEqual(r["bytes"], len("This is a slow web api"))
                self.assertIsNone(r["error"])
                self.assertTrue(0 <= r["start_us"] <= r["connect_us"] <= r["ttfb_us"] <= r["end_us"], r)
                self.assertGreaterEqual(r["end_us"] - r["start_us"], delay * 1000)
        # sync: one after another on one lane.
        sync = sorted((r for r in rows if r["mode"] == "sync"), key=lambda r: r["seq"])
        for a, b in zip(sync, sync[1:]):
            self.assertGreaterEqual(b["start_us"], a["end_us"])

    def test_nine_requests_through_three_workers(self):
        # The talk's scenario at a fifth of its delay (test_three_requests keeps the full
        # second): three rounds of D, with the same 300 ms of slack for starting and stopping. A
        # lane takes a fourth request only if another falls a whole D behind.
        delay = 200
        out = os.path.join(self.tmp.name, "nine.jsonl")
        code, doc, err = run("--url", f"{self.url}?delay_ms={delay}", "--requests", "9",
                             "--concurrency", "3", "--modes", ",".join(CONCURRENT),
                             "--requests-out", out)
        self.assertEqual(code, 0, err)
        rows = read_jsonl(out)
        for r in doc["results"]:
            self.assertGreaterEqual(r["wall_ms"], 3 * delay, r["mode"])
            self.assertLess(r["wall_ms"], 3 * delay + 300, r["mode"])
            self.assertEqual(r["ok"] + r["errors"], 9)
            mine = [x for x in rows if x["mode"] == r["mode"]]
            self.assertEqual({x["lane"] for x in mine}, {0, 1, 2})
            self.assertEqual(sorted(x["seq"] for x in mine), list(range(9)))
            # Each lane ran three requests back to back.
            for lane in range(3):
                self.assertEqual(sum(1 for x in mine if x["lane"] == lane), 3, r["mode"])

    def test_rate_schedules_arrivals(self):
        # 5 requests due every 50 ms against a 0 ms server: the schedule alone makes the wall
        # (the last is due at 200 ms), with 500 ms of slack for starting and stopping.
        out = os.path.join(self.tmp.name, "rate.jsonl")
        code, doc, err = run("--url", self.url + "?delay_ms=0", "--requests", "5", "--concurrency",
                             "2", "--rate", "20", "--modes", "threads,async,processes",
                             "--requests-out", out)
        self.assertEqual(code, 0, err)
        for r in doc["results"]:
            self.assertGreaterEqual(r["wall_ms"], 200, r["mode"])
            self.assertLess(r["wall_ms"], 700, r["mode"])
        for row in read_jsonl(out):
            self.assertEqual(row["sched_us"], row["seq"] * 50_000)
            self.assertGreaterEqual(row["start_us"], row["sched_us"])

    def test_rate_reports_latency_from_due(self):
        """With a rate, latency_from_due_ms is over end - sched of the ok requests (the latency
        corrected for coordinated omission); without one it is null."""
        doc, rows = self.run_rows("due.jsonl", "--url", self.url + "?delay_ms=50", "--requests", "8",
                                  "--concurrency", "2", "--rate", "40")
        for r in doc["results"]:
            mine = [x for x in rows if x["mode"] == r["mode"] and x["error"] is None]
            self.assertEqual(len(mine), r["ok"])
            for key, start in (("latency_ms", "start_us"), ("latency_from_due_ms", "sched_us")):
                lat = sorted((x["end_us"] - x[start]) / 1000 for x in mine)
                for p in (50, 90, 99):
                    self.assertAlmostEqual(r[key][f"p{p}"], percentile(lat, p), delta=0.002,
                                           msg=(r["mode"], key, p))
                self.assertAlmostEqual(r[key]["max"], lat[-1], delta=0.002)
            # 8 requests due every 25 ms, 50 ms each, 2 at a time: sync falls behind its schedule.
            self.assertGreaterEqual(r["latency_from_due_ms"]["max"], r["latency_ms"]["max"])
        sync = self.by_mode(doc)["sync"]
        self.assertGreater(sync["latency_from_due_ms"]["max"], sync["latency_ms"]["max"] + 100)
        code, doc, err = run("--url", self.url + "?delay_ms=0", "--requests", "2", "--modes", "sync")
        self.assertEqual(code, 0, err)
        self.assertIsNone(doc["results"][0]["latency_from_due_ms"])

    def test_no_idle_waits(self):
        """A mode never sleeps while a request could start or has ended. Compared between modes
        of one run, not against the clock: async's small runs take as long as threads' (an idle
        50 ms wait once made them 50 ms slower), and every mode ends when its last transfer
        does."""
        gaps = []
        for _ in range(5):
            code, doc, err = run("--url", self.url + "?delay_ms=0", "--requests", "5",
                                 "--concurrency", "2", "--modes", "threads,async")
            self.assertEqual(code, 0, err)
            m = self.by_mode(doc)
            gaps.append(m["async"]["wall_ms"] - m["threads"]["wall_ms"])
        self.assertLess(sorted(gaps)[2], 10, gaps)
        # Each mode's wall past its last end, the least of three runs: an idle wait shows in
        # every run, a stall of the machine (a worker process slow to exit) in one.
        tails = {}
        for i in range(3):
            doc, rows = self.run_rows(f"idle{i}.jsonl", "--url", self.url + "?delay_ms=0",
                                      "--requests", "10", "--concurrency", "2", "--rate", "100")
            for r in doc["results"]:
                last_end = max(x["end_us"] for x in rows if x["mode"] == r["mode"]) / 1000
                tails.setdefault(r["mode"], []).append(r["wall_ms"] - last_end)
        for mode, t in tails.items():
            self.assertLess(min(t), 10, (mode, t))

    def test_db_json_and_requests_out_agree(self):
        """One run written three ways (--db, --json, --requests-out) tells one story: the same
        rows, the same ok/errors, and percentiles that the rows reproduce. Some requests time
        out, so errors and their messages are compared too: 9 at once (all started within 40 ms)
        against 3 workers of 120 ms with a 300 ms timeout: by 340 ms a worker has answered at
        most two, so at least 3 of a concurrent mode's requests time out, however slow the
        machine (and the first three have 180 ms to spare)."""
        db = os.path.join(self.tmp.name, "agree.db")
        doc, rows = self.run_rows("agree.jsonl", "--url", self.url + "?delay_ms=120", "--requests",
                                  "9", "--concurrency", "9", "--timeout-ms", "300", "--rate", "200",
                                  "--db", db)
        con = sqlite3.connect(db)
        con.row_factory = sqlite3.Row
        try:
            names = dict(con.execute("SELECT mode, name FROM mode_names").fetchall())
            stored = {}
            for r in con.execute("SELECT * FROM requests WHERE run_id = ?", (doc["id"],)):
                stored[(names[r["mode"]], r["seq"])] = r
            results = {names[m["mode"]]: json.loads(m["result_json"]) for m in
                       con.execute("SELECT mode, result_json FROM modes WHERE run_id = ?", (doc["id"],))}
        finally:
            con.close()
        fields = ("lane", "sched_us", "start_us", "connect_us", "ttfb_us", "end_us", "status",
                  "bytes", "error")
        kinds = ["ok", "connect", "timeout", "reset", "status", "other", "cancelled", "worker"]
        self.assertEqual(len(rows), len(stored))
        for row in rows:
            db_row = stored[(row["mode"], row["seq"])]
            for f in fields:
                self.assertEqual(row[f], db_row[f], (row, f))
            self.assertEqual(row["error_kind"] or "ok", kinds[db_row["error_kind"]], row)
        errors = 0
        for r in doc["results"]:
            mine = [x for x in rows if x["mode"] == r["mode"]]
            self.assertEqual(sorted(x["seq"] for x in mine), list(range(9)))
            ok = [x for x in mine if x["error"] is None]
            self.assertEqual((r["ok"], r["errors"]), (len(ok), len(mine) - len(ok)), r["mode"])
            errors += r["errors"]
            self.assertEqual(results[r["mode"]]["ok"], r["ok"])
            self.assertEqual(results[r["mode"]]["errors"], r["errors"])
            for key, start in (("latency_ms", "start_us"), ("latency_from_due_ms", "sched_us")):
                self.assertEqual(results[r["mode"]][key], r[key], (r["mode"], key))
                lat = sorted((x["end_us"] - x[start]) / 1000 for x in ok)
                for p in (50, 90, 99):
                    self.assertAlmostEqual(r[key][f"p{p}"], percentile(lat, p), delta=0.002)
                self.assertAlmostEqual(r[key]["min"], lat[0], delta=0.002)
                self.assertAlmostEqual(r[key]["max"], lat[-1], delta=0.002)
        self.assertGreater(errors, 0, "no request timed out: the errors went untested")

    def test_worker_process_killed(self):
        """A worker that dies mid-run: its request becomes an error, the others go on, no zombies.
        conlab run is single-threaded when the mode starts: it forks the workers itself."""
        out = os.path.join(self.tmp.name, "kill.jsonl")
        p = subprocess.Popen([BIN, "run", "--url", self.url + "?delay_ms=500", "--requests", "6",
                              "--concurrency", "3", "--modes", "processes", "--json",
                              "--requests-out", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # conlab run is single-threaded when the mode starts, so it forks the 3 workers itself.
        victim, workers = None, []
        deadline = time.monotonic() + 10
        while victim is None and time.monotonic() < deadline:
            workers = children(p.pid)
            if len(workers) == 3:
                victim = workers[1]
            else:
                time.sleep(0.05)
        self.assertIsNotNone(victim, "no worker processes appeared")
        with open(f"/proc/{victim}/cmdline") as f:
            self.assertNotIn("__workers", f.read())
        # Killed while it holds a request: it has its connection to the target open.
        wait_until(lambda: open_sockets(victim) > 0, 10, "the worker to start a request")
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, stderr)
        r = json.loads(stdout)["results"][0]
        self.assertEqual(r["ok"] + r["errors"], 6)
        self.assertGreaterEqual(r["errors_by_kind"].get("worker", 0), 1, r)
        self.assertGreaterEqual(r["ok"], 4, r)
        rows = read_jsonl(out)
        self.assertEqual(sorted(x["seq"] for x in rows), list(range(6)))
        dead = [x for x in rows if x["error_kind"] == "worker"]
        self.assertIn("signal 9", dead[0]["error"])
        # Nothing is left behind: the starter and its workers are gone, none a zombie.
        for pid in workers:
            self.assertFalse(os.path.exists(f"/proc/{pid}"), pid)


    def test_interrupt_cancels_every_mode_promptly(self):
        """Ctrl-C: transfers in flight are aborted, every request is still accounted for."""
        for mode in ("sync", "threads", "async", "processes"):
            p = subprocess.Popen([BIN, "run", "--url", self.url + "?delay_ms=3000", "--requests", "6",
                                  "--concurrency", "2", "--modes", mode, "--json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # Interrupted with its transfers in flight: both lanes hold a connection.
            wait_until(lambda: open_sockets(p.pid) >= (1 if mode == "sync" else 2), 10,
                       f"{mode}: transfers in flight")
            start = time.monotonic()
            p.send_signal(signal.SIGINT)
            stdout, stderr = p.communicate(timeout=20)
            self.assertLess(time.monotonic() - start, 1.0, mode)
            self.assertEqual(p.returncode, 130, (mode, stderr))
            r = json.loads(stdout)["results"][0]
            self.assertTrue(r["cancelled"], r)
            self.assertEqual(r["ok"] + r["errors"], 6, r)
            self.assertEqual(r["errors_by_kind"].get("cancelled"), 6, r)


class RunData(_Target, unittest.TestCase):
    """The talk's target, short delays: what a run records and prints (no time asserted)."""

    def test_keepalive_reuses_connections(self):
        out = os.path.join(self.tmp.name, "ka.jsonl")
        fast = self.url + "?delay_ms=0"
        code, _, err = run("--url", fast, "--requests", "5", "--modes", "sync", "--requests-out", out)
        self.assertEqual(code, 0, err)
        rows = sorted(read_jsonl(out), key=lambda r: r["seq"])
        self.assertTrue(all(r["connect_us"] == r["start_us"] for r in rows[1:]), rows)
        code, _, err = run("--url", fast, "--requests", "5", "--modes", "sync", "--no-keepalive",
                           "--requests-out", out)
        self.assertEqual(code, 0, err)
        rows = read_jsonl(out)
        self.assertTrue(all(r["connect_us"] > r["start_us"] for r in rows), rows)

    def test_status_and_bytes(self):
        code, doc, err = run("--url", self.url + "?delay_ms=0&status=503", "--requests", "4",
                             "--concurrency", "2")
        self.assertEqual(code, 0, err)
        for r in doc["results"]:
            self.assertEqual((r["ok"], r["errors"]), (0, 4))
            self.assertEqual(r["errors_by_kind"], {"status": 4})
            self.assertIsNone(r["latency_ms"])
        code, doc, err = run("--url", self.url + "?delay_ms=0&status=302&bytes=5000", "--requests", "2")
        self.assertEqual(code, 0, err)
        for r in doc["results"]:
            self.assertEqual(r["ok"], 2, r)
            self.assertEqual(r["bytes"], 10000)

    def test_method_headers_body(self):
        code, doc, err = run("--url", self.url + "?delay_ms=0", "--method", "post", "--header",
                             "X-Test: 1", "--body", "hello", "--requests", "2", "--modes", "sync,async")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["spec"]["target"]["method"], "POST")
        self.assertEqual(doc["spec"]["target"]["headers"], {"X-Test": "1"})
        self.assertEqual(doc["spec"]["target"]["body"], "hello")
        self.assertTrue(all(r["ok"] == 2 for r in doc["results"]))

    def test_table_output(self):
        p = subprocess.run([BIN, "run", "--url", self.url + "?delay_ms=0", "--requests", "2"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertIn("mode", lines[1])
        self.assertIn("req/s", lines[1])
        self.assertEqual([l.split()[0] for l in lines[2:6]], ["sync", "threads", "async", "processes"])
        self.assertNotIn("due p99", lines[1])
        # With a rate, the latency from the due time stands beside the transfer's.
        p = subprocess.run([BIN, "run", "--url", self.url + "?delay_ms=0", "--requests", "2",
                            "--rate", "100", "--modes", "async"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        head, row = p.stdout.splitlines()[1:3]
        for two_words in ("wall s", "p50 ms", "p90 ms", "p99 ms", "max ms", "due p50", "due p99",
                          "cpu ms", "peak MiB"):
            head = head.replace(two_words, two_words.replace(" ", "_"))
        cols = head.split()
        self.assertIn("due_p99", cols)
        self.assertEqual(len(row.split()), len(cols), (head, row))

    def test_db_stores_every_request(self):
        db = os.path.join(self.tmp.name, "sub", "conlab.db")  # the folder is created too
        code, doc, err = run("--url", self.url + "?delay_ms=10", "--requests", "7", "--concurrency",
                             "3", "--label", "from the cli", "--db", db)
        self.assertEqual(code, 0, err)
        run_id = doc["id"]
        con = sqlite3.connect(db)
        try:
            status, spec = con.execute("SELECT status, spec_json FROM runs WHERE id = ?", (run_id,)).fetchone()
            self.assertEqual(status, "done")
            self.assertEqual(json.loads(spec)["label"], "from the cli")
            self.assertEqual(con.execute("SELECT count(*) FROM requests WHERE run_id = ?", (run_id,)).fetchone()[0], 28)
            self.assertEqual(con.execute("SELECT count(*) FROM modes WHERE run_id = ?", (run_id,)).fetchone()[0], 4)
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        finally:
            con.close()
        # A second run lands in the same database next to the first.
        code, doc2, err = run("--url", self.url + "?delay_ms=0", "--requests", "2", "--modes", "async", "--db", db)
        self.assertEqual(code, 0, err)
        con = sqlite3.connect(db)
        try:
            self.assertEqual(con.execute("SELECT count(*) FROM runs").fetchone()[0], 2)
        finally:
            con.close()

    def test_db_unwritable_is_a_runtime_error(self):
        blocker = os.path.join(self.tmp.name, "file")
        open(blocker, "w").close()
        code, _, err = run("--url", self.url, "--requests", "1", "--db", os.path.join(blocker, "x.db"))
        self.assertEqual(code, 1)
        self.assertIn("x.db", err)


class Failures(unittest.TestCase):
    def test_closed_port_is_data(self):
        port = free_port()  # nothing listens there
        code, doc, err = run("--url", f"http://127.0.0.1:{port}/", "--requests", "5", "--concurrency", "2")
        self.assertEqual(code, 0, err)
        for r in doc["results"]:
            self.assertEqual((r["ok"], r["errors"]), (0, 5), r)
            self.assertEqual(r["errors_by_kind"], {"connect": 5})
            self.assertLess(r["wall_ms"], 2000)

    def test_requests_csv_writes_null_as_an_empty_field(self):
        """--requests-out FILE.csv and the dashboard's export share one writer: a request that
        never connected has empty connect/ttfb/status fields (not -1)."""
        import csv
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "reqs.csv")
            code, _, err = run("--url", f"http://127.0.0.1:{port}/", "--requests", "2",
                               "--modes", "sync", "--requests-out", out)
            self.assertEqual(code, 0, err)
            with open(out, newline="") as f:
                rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["mode", "seq", "lane", "sched_us", "start_us", "connect_us",
                                   "ttfb_us", "end_us", "status", "bytes", "error_kind", "error",
                                   "concurrency", "tls_us", "reused", "http_version", "conn"])
        self.assertEqual(len(rows), 3)
        for row in rows[1:]:
            rec = dict(zip(rows[0], row))
            self.assertEqual((rec["mode"], rec["error_kind"]), ("sync", "connect"), rec)
            self.assertEqual((rec["connect_us"], rec["ttfb_us"], rec["status"]), ("", "", ""), rec)
            self.assertEqual((rec["tls_us"], rec["reused"], rec["http_version"], rec["conn"]),
                             ("", "", "", ""), rec)
            self.assertNotIn("-1", row, rec)
            self.assertTrue(rec["error"], rec)

    def test_hanging_target_times_out(self):
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(64)
        port = srv.getsockname()[1]
        held, stop_flag = [], threading.Event()

        def accept_and_hold():
            srv.settimeout(0.2)
            while not stop_flag.is_set():
                try:
                    held.append(srv.accept()[0])
                except OSError:
                    pass

        t = threading.Thread(target=accept_and_hold, daemon=True)
        t.start()
        try:
            start = time.monotonic()
            code, doc, err = run("--url", f"http://127.0.0.1:{port}/", "--requests", "4",
                                 "--concurrency", "2", "--timeout-ms", "300")
            elapsed = time.monotonic() - start
        finally:
            stop_flag.set()
            t.join(5)
            for c in held:
                c.close()
            srv.close()
        self.assertEqual(code, 0, err)
        for r in doc["results"]:
            self.assertEqual((r["ok"], r["errors"]), (0, 4), r)
            self.assertEqual(r["errors_by_kind"], {"timeout": 4})
        # sync: 4 x 300 ms; the others 2 x 300 ms each: well under 10 s in all.
        self.assertLess(elapsed, 10)

    def test_bad_flags_exit_2_naming_the_option(self):
        cases = [
            ([], "--url"),
            (["--url", "ftp://127.0.0.1/"], "--url"),
            (["--url", "http://127.0.0.1:1/", "--requests", "0"], "--requests"),
            (["--url", "http://127.0.0.1:1/", "--requests", "abc"], "--requests"),
            (["--url", "http://127.0.0.1:1/", "--requests", "1000001"], "--requests"),
            (["--url", "http://127.0.0.1:1/", "--concurrency", "257"], "--concurrency"),
            (["--url", "http://127.0.0.1:1/", "--modes", "sync,fibers"], "--modes"),
            (["--url", "http://127.0.0.1:1/", "--timeout-ms"], "--timeout-ms"),
            (["--url", "http://127.0.0.1:1/", "--header", "nocolon"], "--header"),
            (["--url", "http://127.0.0.1:1/", "--rate", "-2"], "--rate"),
            (["--url", "http://127.0.0.1:1/", "--frobnicate"], "--frobnicate"),
        ]
        for args, name in cases:
            p = subprocess.run([BIN, "run", *args], capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(name, p.stderr, args)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertEqual(p.stdout, "")

    def test_limits_are_configurable(self):
        port = free_port()
        code, doc, err = run("--url", f"http://127.0.0.1:{port}/", "--requests", "2", "--concurrency",
                             "300", "--modes", "processes", "--max-processes", "400")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["results"][0]["lanes"], 2)

    def test_help(self):
        for args in (["--help"], ["run", "--help"], ["target", "--help"], ["serve", "--help"]):
            p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, args)
            self.assertIn("usage", p.stdout.lower(), args)
        p = subprocess.run([BIN, "fly"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("fly", p.stderr)


if __name__ == "__main__":
    unittest.main()
