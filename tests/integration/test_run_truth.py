"""`conlab run` tells the same truth as the page: no rate for a mode whose requests all failed,
"all failed", the most common error message with its count; thresholds fail a run with exit 3."""
import collections
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from conlab_testlib import BIN, start_target, stop

CLOSED = "http://127.0.0.1:9/"  # the discard port: nothing listens there on a test machine


def conlab_run(*args, timeout=120):
    p = subprocess.run([BIN, "run", "--no-progress", *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class RunTruthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target, cls.url = start_target(workers=3, delay_ms=50)
        cls.tmp = tempfile.mkdtemp(prefix="conlab-run-truth-")

    @classmethod
    def tearDownClass(cls):
        stop(cls.target)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_all_failed_modes_show_no_rate_and_name_the_error(self):
        rows_file = os.path.join(self.tmp, "rows.jsonl")
        code, out, err = conlab_run("--url", CLOSED, "--requests", "4", "--concurrency", "2",
                                    "--modes", "sync,async", "--requests-out", rows_file)
        self.assertEqual(code, 0, err)  # failed requests are data
        rows = {line.split()[0]: line for line in out.splitlines()
                if line.split() and line.split()[0] in ("sync", "async") and "errors:" not in line}
        self.assertEqual(set(rows), {"sync", "async"})
        for mode, line in rows.items():
            cells = line.split()
            # mode requests ok errors wall req/s p50 p90 p99 max cpu peak
            self.assertEqual(cells[1:4], ["4", "0", "4"], line)
            self.assertEqual(cells[5], "-", f"{mode} shows a rate for failures: {line}")
            self.assertTrue(line.rstrip().endswith("all failed"), line)
        # The most common message of each mode, counted from the same run's request rows (the
        # message can vary: "after 0 ms" / "after 1 ms").
        with open(rows_file) as f:
            rows = [json.loads(line) for line in f]
        for mode in ("sync", "async"):
            counts = collections.Counter(r["error"] for r in rows if r["mode"] == mode)
            (message, n), = counts.most_common(1)
            line = next(l for l in out.splitlines() if l.startswith(f"{mode} errors:"))
            self.assertIn(f'most common: "{message}" (connect, {n} of 4)', line)
            self.assertIn("connect", message.lower())

    def test_a_crossed_threshold_exits_3_and_says_which(self):
        code, out, err = conlab_run("--url", self.url, "--requests", "6", "--concurrency", "3",
                                    "--modes", "sync,threads", "--threshold", "p99_ms=10",
                                    "--threshold", "error_rate=0")
        self.assertEqual(code, 3, out + err)
        self.assertIn("thresholds: FAILED", out)
        # 50 ms per response: p99 crosses 10 ms in both modes; no error, so error_rate holds.
        crossed = [l.split() for l in out.split("thresholds: FAILED")[1].splitlines() if l.strip()]
        # In the page's units: "sync       p99 50.6 ms > 10 ms".
        self.assertEqual([(c[0], c[1], c[3], c[4], c[6]) for c in crossed],
                         [("sync", "p99", "ms", ">", "ms"), ("threads", "p99", "ms", ">", "ms")])
        for c in crossed:
            self.assertGreaterEqual(float(c[2]), 50)
            self.assertEqual(float(c[5]), 10)

    def test_the_verdict_in_json_and_a_run_that_passes(self):
        code, out, err = conlab_run("--url", self.url, "--requests", "3", "--concurrency", "3",
                                    "--modes", "threads", "--threshold", "p99_ms=5000",
                                    "--threshold", "rps_min=1", "--json")
        self.assertEqual(code, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["spec"]["thresholds"], {"p99_ms": 5000, "rps_min": 1})
        self.assertEqual(doc["verdict"], {"pass": True, "failed": []})
        code, out, err = conlab_run("--url", self.url, "--requests", "3", "--concurrency", "3",
                                    "--modes", "threads", "--threshold", "rps_min=1000", "--json")
        self.assertEqual(code, 3, err)
        v = json.loads(out)["verdict"]
        self.assertFalse(v["pass"])
        self.assertEqual([(f["mode"], f["threshold"], f["limit"]) for f in v["failed"]],
                         [("threads", "rps_min", 1000)])
        self.assertLess(v["failed"][0]["value"], 1000)
        code, out, _ = conlab_run("--url", self.url, "--requests", "3", "--modes", "threads")
        self.assertEqual(code, 0)
        self.assertNotIn("thresholds", out)

    def test_bad_thresholds_are_refused_naming_the_flag(self):
        for arg in ["p95_ms=10", "p99_ms", "p99_ms=fast", "error_rate=1.5", "p99_ms=0", "=3"]:
            code, out, err = conlab_run("--url", self.url, "--threshold", arg)
            self.assertEqual(code, 2, arg)
            self.assertTrue(err.startswith("conlab run: --threshold"), err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)


if __name__ == "__main__":
    unittest.main()
