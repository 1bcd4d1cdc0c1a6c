# conlab-test: serial (it asserts times: the common start, the join and point deadlines)
"""The dashboard as the shards' coordinator: a run created with "shards": n waits for n
`conlab run --join` processes, starts each point at a common instant, merges their parts and
stores one run; a shard that dies or never joins ends the run partial, naming it. The real
binaries on loopback against `conlab target`."""
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from conlab_testlib import BIN, assert_same_counts, run_one_process, start_target, stop
from serve_testlib import Serve

TOKEN = "coord-test-token-1234"

# The scenarios that only wait out a join deadline (2 s: no shard of theirs runs a point) start
# with the class, beside the other tests, on runs of their own (one on a dashboard of its own);
# their test methods take their outcome (an assertion that failed in one fails its method), and
# run last, so that the deadlines have passed meanwhile.
WAITING = {"test_active_sharded_runs_are_bounded": ("_active_sharded_runs_are_bounded",),
           "test_shard_that_never_joins": ("_one_shard_never_joins", "_no_shard_joins")}
# The tests whose shards run points against the target, timed by the 2 s point deadline and the
# common start: they run after the untimed ones, by when the scenarios above have started their
# dashboard and runs and only wait.
POINTS = ("test_four_shards_make_one_run", "test_threshold_crossed_exits_3",
          "test_killed_shard_makes_the_run_partial",
          "test_interrupted_shard_makes_the_run_partial")


def load_tests(loader, tests, pattern):
    """The module's tests: the untimed ones, then those of POINTS, then those of WAITING (each
    group in the usual order)."""
    flat = []

    def walk(suite):
        for t in suite:
            if isinstance(t, unittest.TestSuite):
                walk(t)
            else:
                flat.append(t)
    walk(tests)
    flat.sort(key=lambda t: (getattr(t, "_testMethodName", "") in WAITING,
                             getattr(t, "_testMethodName", "") in POINTS))
    return unittest.TestSuite(flat)


def pct(sorted_vals, p):
    """stats.c's percentile: linear interpolation between closest ranks."""
    n = len(sorted_vals)
    rank = p / 100 * (n - 1)
    lo = math.floor(rank)
    hi = min(lo + 1, n - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (rank - lo)


class CoordinatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target, cls.url = start_target(workers=64, delay_ms=100)
        cls.tmp = tempfile.mkdtemp(prefix="conlab-coord-")
        cls.token_file = os.path.join(cls.tmp, "token")
        with open(cls.token_file, "w") as f:
            f.write(TOKEN + "\n")
        cls.srv = Serve(None, "--token", TOKEN, "--shard-join-s", "2", "--shard-point-s", "2",
                        demo=False, tmp=cls.tmp)
        cls.pool = ThreadPoolExecutor(max_workers=4)
        cls.waiting = {}
        for test, scenarios in WAITING.items():
            inst = cls(test)
            cls.waiting[test] = [cls.pool.submit(getattr(inst, s)) for s in scenarios]

    @classmethod
    def tearDownClass(cls):
        cls.pool.shutdown(wait=True)
        cls.srv.stop()
        stop(cls.target)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def spec(self, **kw):
        s = {"target": {"url": self.url}, "requests": 40, "concurrency": 8,
             "modes": ["threads", "async"], "timeout_ms": 5000, "shards": 4}
        s.update(kw)
        return s

    def create(self, spec):
        status, doc = self.srv.json("POST", "/api/runs", spec)
        self.assertEqual(status, 202, doc)
        self.assertEqual(doc["status"], "waiting")
        return doc["id"]

    def join(self, run_id, i, n, *extra, token_file=None):
        return subprocess.Popen([BIN, "run", "--join", self.srv.url, "--run", run_id, "--shard",
                                 f"{i}/{n}", "--token-file", token_file or self.token_file,
                                 *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def outcome(self):
        """This test's scenarios of WAITING, run beside the others: waits for them (each ends
        within its own bounds) and re-raises what failed."""
        for f in self.waiting[self._testMethodName]:
            f.result(timeout=120)

    def rows(self, run_id, mode):
        status, page = self.srv.json("GET", f"/api/runs/{run_id}/requests?mode={mode}&limit=10000")
        self.assertEqual(status, 200, page)
        return page["requests"]

    def test_four_shards_make_one_run(self):
        spec = self.spec()
        # one process of the same spec, beside the shards (their counts do not depend on timing)
        one = self.pool.submit(run_one_process, self, "--url", self.url, "--requests", "40",
                               "--concurrency", "8", "--modes", "threads,async",
                               "--timeout-ms", "5000")
        run_id = self.create(spec)
        _, run = self.srv.json("GET", f"/api/runs/{run_id}")
        self.assertEqual(run["status"], "waiting")
        self.assertEqual([s["status"] for s in run["shards"]], ["waiting"] * 4)
        procs = [self.join(run_id, i, 4) for i in range(4)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
            self.assertIn(f"run {run_id}: done", out)
        run = self.srv.wait_status(run_id, timeout=10)
        self.assertEqual(run["status"], "done", run.get("message"))
        # one process of the same spec: the same counts
        self.assertEqual(len(run["results"]), 2)
        assert_same_counts(self, run["results"], one.result(timeout=90))
        for res in run["results"]:
            rows = self.rows(run_id, res["mode"])
            # every seq once; a shard's lanes are its offset + its own (C = 8: 2 per shard)
            self.assertEqual(sorted(r["seq"] for r in rows), list(range(40)))
            for r in rows:
                shard = r["seq"] % 4
                self.assertIn(r["lane"], (2 * shard, 2 * shard + 1), r)
                # times run from the common start: no request began before it
                self.assertGreaterEqual(r["start_us"], 0, r)
            # exact percentiles over the union of the rows (RESULTs round to 1 µs)
            lat = sorted(r["end_us"] - r["start_us"] for r in rows if r["error"] is None)
            for name, q in (("p50", 50), ("p90", 90), ("p99", 99)):
                self.assertLessEqual(abs(res["latency_ms"][name] - pct(lat, q) / 1000),
                                     0.0005 + 1e-9, name)
            self.assertLessEqual(abs(res["latency_ms"]["max"] - lat[-1] / 1000), 0.0005 + 1e-9)
        self.assertEqual(len(run["shards"]), 4)
        for i, s in enumerate(run["shards"]):
            self.assertEqual((s["shard"], s["status"]), (i, "done"))
            self.assertIsNotNone(s["joined_at"])
            # the clock skew measured at the barrier over a round trip: one machine, one clock
            self.assertIsInstance(s["skew_ms"], (int, float))
            self.assertLess(abs(s["skew_ms"]), 50)
            self.assertGreater(s["rps"], 0)
            self.assertEqual(s["errors"], 0)

    def test_threshold_crossed_exits_3(self):
        run_id = self.create(self.spec(requests=8, concurrency=2, modes=["async"], shards=2,
                                       thresholds={"p99_ms": 1}))
        procs = [self.join(run_id, i, 2) for i in range(2)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 3, out + err)
        self.assertEqual(self.srv.wait_status(run_id, timeout=10)["status"], "done")

    def test_killed_shard_makes_the_run_partial(self):
        # 40 requests at C=4 over 4 shards: 10 each on one lane, about 1 s per point
        run_id = self.create(self.spec(concurrency=4))
        procs = [self.join(run_id, i, 4) for i in range(4)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, run = self.srv.json("GET", f"/api/runs/{run_id}")
            if run["results"]:
                break
            time.sleep(0.05)
        self.assertEqual(len(run["results"]), 1, run)
        procs[3].send_signal(signal.SIGKILL)
        for p in procs:
            p.communicate(timeout=30)
        run = self.srv.wait_status(run_id, statuses=("partial", "failed", "done"), timeout=15)
        self.assertEqual(run["status"], "partial", run)
        self.assertIn("shard 3", run["message"])
        # what arrived is kept: the first point, whole
        self.assertEqual(len(run["results"]), 1)
        self.assertEqual(run["results"][0]["requests"], 40)
        self.assertEqual(len(self.rows(run_id, "threads")), 40)
        self.assertEqual(run["shards"][3]["status"], "failed")
        self.assertIn("async at C=4", run["shards"][3]["message"])
        self.assertEqual(procs[3].returncode, -signal.SIGKILL)
        for p in procs[:3]:
            self.assertEqual(p.returncode, 1)

    def test_interrupted_shard_makes_the_run_partial(self):
        # 40 requests at 40/s over 4 shards: each shard's 10 requests go at 10/s, so the point
        # lasts 1 s from its common start, which the dashboard sets 200 ms after the moment it
        # marks the shards "running" (every one ready at the barrier). SIGTERM (a scheduler's
        # cancel) reaches shard 3 300 ms after the test saw them running: never before the start
        # (a signal can only come late), and inside the point unless the test is held up more
        # than about 0.9 s. Its part, cut short, is never merged as if whole (it was: the run
        # ended failed, merged from the cut-short part): the shard exits 130, and the run ends
        # partial at once, naming it.
        run_id = self.create(self.spec(concurrency=4, rate=40, modes=["async"]))
        procs = [self.join(run_id, i, 4) for i in range(4)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, run = self.srv.json("GET", f"/api/runs/{run_id}")
            if run["status"] == "running" and all(s["status"] == "running"
                                                  for s in run["shards"]):
                break
            time.sleep(0.02)
        self.assertEqual(run["status"], "running", run)
        self.assertEqual([s["status"] for s in run["shards"]], ["running"] * 4, run["shards"])
        time.sleep(0.3)
        procs[3].send_signal(signal.SIGTERM)
        outs = [p.communicate(timeout=30) for p in procs]
        self.assertEqual(procs[3].returncode, 130, outs[3][1])
        self.assertIn("interrupted", outs[3][1])
        run = self.srv.wait_status(run_id, statuses=("partial", "failed", "done"), timeout=15)
        self.assertEqual(run["status"], "partial", run)
        self.assertIn("shard 3", run["message"])
        self.assertEqual(run["shards"][3]["status"], "failed", run["shards"])
        self.assertIn("interrupted during point 0 (async at C=4)", run["message"])
        self.assertEqual(run["results"], [], run["results"])  # no point is whole
        for p in procs[:3]:
            self.assertEqual(p.returncode, 1)

    def test_shard_that_never_joins(self):
        self.outcome()

    def _one_shard_never_joins(self):
        run_id = self.create(self.spec(requests=8, concurrency=2, shards=2))
        p = self.join(run_id, 0, 2)
        t0 = time.monotonic()
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 1, out + err)
        self.assertIn("partial", err)
        run = self.srv.wait_status(run_id, statuses=("partial", "failed"), timeout=10)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(run["status"], "partial")
        self.assertIn("shard 1 never joined within 2 s", run["message"])
        self.assertEqual([s["status"] for s in run["shards"]], ["joined", "failed"])

    def _no_shard_joins(self):
        # nobody at all: failed
        run_id = self.create(self.spec(requests=8, concurrency=2, shards=2))
        run = self.srv.wait_status(run_id, statuses=("partial", "failed"), timeout=10)
        self.assertEqual(run["status"], "failed")

    def test_bad_joins_are_refused_naming_the_problem(self):
        run_id = self.create(self.spec(requests=8, concurrency=2, shards=2))
        bad = os.path.join(self.tmp, "bad-token")
        with open(bad, "w") as f:
            f.write("wrong\n")
        p = self.join(run_id, 0, 2, token_file=bad)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 2, err)
        self.assertIn("token", err)
        p = self.join(run_id, 0, 3)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 2, err)
        self.assertIn("shards: the run has 2 shards, not 3", err)
        p = self.join("nosuchrun123", 0, 2)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 2, err)
        self.assertIn("no run with id 'nosuchrun123'", err)
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/join", {"shard": 2, "shards": 2})
        self.assertEqual((status, doc["field"]), (400, "shard"), doc)
        self.assertIn("out of range (0..1)", doc["error"])
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/join", {"shard": 0, "shards": 2})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["shard_concurrency"], [1])
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/join", {"shard": 0, "shards": 2})
        self.assertEqual(status, 409, doc)
        self.assertIn("shard: 0 has joined run", doc["error"])
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/join", {"shards": 2})
        self.assertEqual((status, doc["field"]), (400, "shard"), doc)
        # a run that is not sharded takes no shards
        status, plain = self.srv.json("POST", "/api/runs", self.spec(requests=2, concurrency=1,
                                                                     modes=["sync"], shards=0))
        self.assertEqual(status, 202, plain)
        status, doc = self.srv.json("POST", f"/api/runs/{plain['id']}/join",
                                    {"shard": 0, "shards": 1})
        self.assertEqual(status, 409, doc)
        self.assertIn("does not take shards", doc["error"])
        # every shard endpoint needs the token
        for path in ("join", "barrier", "results?shard=0&point=0"):
            status, doc = self.srv.json("POST", f"/api/runs/{run_id}/{path}", {"shard": 0},
                                        headers={})
            self.assertEqual(status, 401, path)
        # workload flags do not go with --join
        p = subprocess.run([BIN, "run", "--join", self.srv.url, "--run", run_id, "--shard", "0/2",
                            "--url", self.url], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--join: the spec comes from the dashboard", p.stderr)
        p = subprocess.run([BIN, "run", "--join", self.srv.url, "--shard", "0/2"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--run: required with --join", p.stderr)

    def test_a_clock_off_the_bound_makes_the_run_partial(self):
        run_id = self.create(self.spec(requests=8, concurrency=2, shards=2))
        for i in range(2):
            status, doc = self.srv.json("POST", f"/api/runs/{run_id}/join",
                                        {"shard": i, "shards": 2})
            self.assertEqual(status, 200, doc)
            self.assertLessEqual(doc["recv_ms"], doc["reply_ms"])
        # the shard's clock as it measured it over a round trip: 5 s ahead
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/barrier",
                                    {"shard": 1, "point": 0, "offset_ms": 5000})
        self.assertEqual(status, 409, doc)
        run = self.srv.wait_status(run_id, statuses=("partial", "failed"), timeout=5)
        self.assertEqual(run["status"], "partial")
        self.assertIn("shard 1's clock is 5000.0 ms off the dashboard's (bound 250 ms)",
                      run["message"])
        self.assertEqual([s["status"] for s in run["shards"]], ["joined", "failed"])
        self.assertEqual(run["shards"][1]["skew_ms"], 5000)
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/barrier",
                                    {"shard": 0, "point": 0, "offset_ms": "x"})
        self.assertEqual((status, doc.get("field")), (400, "offset_ms"), doc)

    def test_cancel_and_delete(self):
        run_id = self.create(self.spec(requests=8, concurrency=2, shards=2))
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/join", {"shard": 0, "shards": 2})
        self.assertEqual(status, 200, doc)
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/cancel")
        self.assertEqual((status, doc["status"]), (202, "cancelling"), doc)
        self.assertEqual(self.srv.wait_status(run_id, timeout=5)["status"], "cancelled")
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/join", {"shard": 1, "shards": 2})
        self.assertEqual(status, 409, doc)
        self.assertIn("has ended (cancelled)", doc["error"])
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/cancel")
        self.assertEqual(status, 409, doc)
        run_id = self.create(self.spec(requests=8, concurrency=2, shards=2))
        status, _, _ = self.srv.request("DELETE", f"/api/runs/{run_id}")
        self.assertEqual(status, 204)
        status, doc = self.srv.json("POST", f"/api/runs/{run_id}/join", {"shard": 0, "shards": 2})
        self.assertEqual(status, 409, doc)

    def test_sharded_specs_are_checked(self):
        for spec, field, text in (
                (self.spec(shards=65), "shards", "out of range (1..64)"),
                (self.spec(shards=9), "shards", "exceed the concurrency 8"),
                (self.spec(shards=4, requests=3), "shards", "a shard would get none"),
                (self.spec(shards="4"), "shards", "whole number")):
            status, doc = self.srv.json("POST", "/api/runs", spec)
            self.assertEqual(status, 400, doc)
            self.assertEqual(doc.get("field"), field, doc)
            self.assertIn(text, doc["error"])

    def test_upload_limit(self):
        srv = Serve(None, "--shard-upload-mb", "1", demo=False, tmp=self.tmp)
        try:
            run_id = srv.json("POST", "/api/runs", self.spec(requests=8, concurrency=2,
                                                              shards=2))[1]["id"]
            big = b"{" + b" " * (1 << 20) + b"}"
            status, _, body = srv.request("POST", f"/api/runs/{run_id}/results?shard=0&point=0",
                                          big)
            self.assertEqual(status, 413, body)
            self.assertIn(b"over the limit of 1048576 bytes", body)
            self.assertIn(b"--rows none", body)
            # under the limit, a part that is not one is refused naming it
            status, doc = srv.json("POST", f"/api/runs/{run_id}/join", {"shard": 0, "shards": 2})
            self.assertEqual(status, 200, doc)
            status, doc = srv.json("POST", f"/api/runs/{run_id}/results?shard=0&point=0",
                                   {"conlab_part": 1})
            self.assertEqual(status, 409, doc)  # the point has not started: no barrier yet
            self.assertIn("its barrier", doc["error"])
        finally:
            srv.stop()

    def test_active_sharded_runs_are_bounded(self):
        self.outcome()

    def _active_sharded_runs_are_bounded(self):
        tmp = tempfile.mkdtemp(prefix="conlab-coord-full-", dir=self.tmp)
        srv = Serve(None, "--shard-join-s", "2", demo=False, tmp=tmp)
        try:
            spec = self.spec(requests=8, concurrency=2, shards=2)
            for _ in range(16):
                self.assertEqual(srv.json("POST", "/api/runs", spec)[0], 202)
            status, doc = srv.json("POST", "/api/runs", spec)
            self.assertEqual(status, 429, doc)
            self.assertIn("16 sharded runs", doc["error"])
            # they end after the join timeout (none joined: failed), and room is made
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                status, doc = srv.json("POST", "/api/runs", spec)
                if status == 202:
                    break
                time.sleep(0.2)
            self.assertEqual(status, 202, doc)
        finally:
            srv.stop()

    def test_restart_interrupts_a_waiting_run(self):
        tmp = tempfile.mkdtemp(prefix="conlab-coord-restart-", dir=self.tmp)
        srv = Serve(None, demo=False, tmp=tmp)
        run_id = srv.json("POST", "/api/runs", self.spec(shards=2))[1]["id"]
        srv.stop()  # a dashboard that stops ends its waiting runs
        srv = Serve(srv.db, demo=False, tmp=tmp)
        _, run = srv.json("GET", f"/api/runs/{run_id}")
        self.assertEqual(run["status"], "interrupted")
        self.assertIn("shards", run["message"])
        run_id = srv.json("POST", "/api/runs", self.spec(shards=2))[1]["id"]
        srv.kill()  # one that crashed: the next start marks them
        srv = Serve(srv.db, demo=False, tmp=tmp)
        try:
            _, run = srv.json("GET", f"/api/runs/{run_id}")
            self.assertEqual(run["status"], "interrupted")
            self.assertIn("waited for its shards", run["message"])
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
