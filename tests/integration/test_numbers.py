"""One definition per number (the contract's RESULT): `rps` is ok requests per second of wall
time, `attempts_per_s` every request, `latency_all_ms` counts a failed request at its elapsed
time (a timeout at least timeout_ms) and latency thresholds judge it, so that a run whose
requests time out fails `p99_ms`. The same run is read from the CLI's table, its --json, and the
API of a dashboard over the same database; and a run of the dashboard's own says the same.

The workload: a target with 3 workers answering in 300 ms, 6 requests at once with a 450 ms
timeout. The first 3 are answered at ~300 ms; the other 3 wait for a worker (until ~600 ms) and
time out at 450 ms. Only relations are asserted (a loaded machine may time out one more
request)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from conlab_testlib import BIN, start_target, stop
from serve_testlib import Serve

TIMEOUT_MS = 450
P99_LIMIT = 400  # above the ok requests' ~300 ms, below any timeout


def conlab_run(*args, timeout=120):
    p = subprocess.run([BIN, "run", "--no-progress", *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class NumbersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target, cls.base = start_target(workers=3, delay_ms=300)
        cls.tmp = tempfile.mkdtemp(prefix="conlab-numbers-")
        cls.args = ["--url", cls.base, "--requests", "6", "--concurrency", "6", "--modes",
                    "threads", "--timeout-ms", str(TIMEOUT_MS), "--threshold",
                    f"p99_ms={P99_LIMIT}", "--threshold", "error_rate=0.01"]

    @classmethod
    def tearDownClass(cls):
        stop(cls.target)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check_result(self, r):
        """The definitions, on one RESULT of this workload."""
        wall_s = r["wall_ms"] / 1000
        self.assertGreaterEqual(r["ok"], 1, r)
        self.assertGreaterEqual(r["errors_by_kind"].get("timeout", 0), 1, r)
        self.assertEqual(r["ok"] + r["errors"], 6, r)
        self.assertAlmostEqual(r["rps"], r["ok"] / wall_s, delta=0.002 + r["rps"] * 1e-3)
        self.assertAlmostEqual(r["attempts_per_s"], 6 / wall_s, delta=0.002 + 6 / wall_s * 1e-3)
        self.assertLess(r["rps"], r["attempts_per_s"])
        # Over every request: a timeout counts at least timeout_ms; the ok-only view does not.
        self.assertGreaterEqual(r["latency_all_ms"]["max"], TIMEOUT_MS)
        self.assertGreaterEqual(r["latency_all_ms"]["p99"], TIMEOUT_MS)
        self.assertLessEqual(r["latency_ms"]["p99"], r["latency_all_ms"]["p99"])
        self.assertLessEqual(r["latency_ms"]["max"], r["latency_all_ms"]["max"])

    def check_verdict(self, v, r):
        self.assertFalse(v["pass"])
        crossed = {f["threshold"]: f for f in v["failed"]}
        self.assertIn("p99_ms", crossed)
        self.assertEqual(crossed["p99_ms"]["value"], r["latency_all_ms"]["p99"])
        self.assertGreaterEqual(crossed["p99_ms"]["value"], TIMEOUT_MS)
        self.assertAlmostEqual(crossed["error_rate"]["value"], r["errors"] / 6, places=5)

    def test_json_says_ok_per_second_and_fails_p99(self):
        code, out, err = conlab_run(*self.args, "--json")
        self.assertEqual(code, 3, err)
        doc = json.loads(out)
        (r,) = doc["results"]
        self.check_result(r)
        self.check_verdict(doc["verdict"], r)

    def test_table_and_api_agree_on_one_stored_run(self):
        db = os.path.join(self.tmp, "table.db")
        code, out, err = conlab_run(*self.args, "--db", db)
        self.assertEqual(code, 3, out + err)
        run_id = re.search(r"stored as run (\w+)", err).group(1)
        s = Serve(db, demo=False, tmp=self.tmp)
        try:
            status, run = s.json("GET", f"/api/runs/{run_id}")
        finally:
            s.stop()
        self.assertEqual(status, 200)
        self.assertEqual(run["status"], "done")
        (r,) = run["results"]
        self.check_result(r)
        self.check_verdict(run["verdict"], r)
        # The table's req/s is the API's rps; its p99 is the ok requests' one.
        row = next(l for l in out.splitlines() if l.startswith("threads ")).split()
        self.assertEqual(row[5], f"{r['rps']:.2f}")
        self.assertEqual(row[8], f"{r['latency_ms']['p99']:.1f}")
        # The crossed thresholds in the page's units.
        lines = out.split("thresholds: FAILED")[1]
        self.assertRegex(lines, r"threads\s+p99 (\d+\.\d) ms > 400 ms")
        self.assertEqual(float(re.search(r"p99 (\d+\.\d) ms", lines).group(1)),
                         round(r["latency_all_ms"]["p99"], 1))
        pct = f"{100 * r['errors'] / 6:.1f}".rstrip("0").rstrip(".")
        self.assertIn(f"error_rate {pct} % > 1 %", lines)

    def test_a_dashboard_run_says_the_same(self):
        s = Serve(tmp=self.tmp)
        try:
            run_id = s.post_run({"target": {"url": self.base}, "requests": 6, "concurrency": 6,
                                 "modes": ["threads"], "timeout_ms": TIMEOUT_MS,
                                 "thresholds": {"p99_ms": P99_LIMIT, "error_rate": 0.01}})
            run = s.wait_status(run_id, ("done",))
        finally:
            s.stop()
        (r,) = run["results"]
        self.check_result(r)
        self.check_verdict(run["verdict"], r)


if __name__ == "__main__":
    unittest.main()
