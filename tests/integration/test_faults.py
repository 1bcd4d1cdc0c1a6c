# conlab-test: serial (it asserts times: see tests/tests.cmake)
"""Faults are data: every fault of `conlab target` (?fault=...) gives its error kind in every
mode, every mode ends within its timeouts, and every request is accounted for."""
import math
import unittest

from conlab_testlib import free_port, run, start_target, stop

MODES = ("sync", "threads", "async", "processes")
REQUESTS, CONCURRENCY, TIMEOUT_MS = 4, 2, 300

# fault -> the error kind the README promises for it in every mode.
FAULTS = {
    "reset": "reset",
    "hang": "timeout",
    "slow_body": "timeout",
    "bad_length": "reset",
    "close_early": "reset",
    "garbage": "other",
}


class FaultsAreData(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.url = start_target(workers=16, delay_ms=0)

    @classmethod
    def tearDownClass(cls):
        stop(cls.proc)

    def run_all_modes(self, url, timeout_ms=TIMEOUT_MS):
        code, doc, err = run("--url", url, "--requests", str(REQUESTS), "--concurrency",
                             str(CONCURRENCY), "--modes", ",".join(MODES), "--timeout-ms",
                             str(timeout_ms), timeout=60)
        self.assertEqual(code, 0, err)
        self.assertEqual([r["mode"] for r in doc["results"]], list(MODES))
        return doc["results"]

    def assert_all_failed_as(self, results, kind, what):
        for r in results:
            with self.subTest(what=what, mode=r["mode"]):
                self.assertEqual(r["ok"] + r["errors"], REQUESTS, r)
                self.assertEqual(r["errors"], REQUESTS, r)
                self.assertEqual(r["errors_by_kind"], {kind: REQUESTS}, r)
                self.assertIsNone(r["latency_ms"], r)
                # Within its timeouts: rounds of `lanes` requests, each at most one timeout,
                # plus start-up and stop of the workers.
                lanes = 1 if r["mode"] == "sync" else CONCURRENCY
                bound = math.ceil(REQUESTS / lanes) * TIMEOUT_MS + 1500
                self.assertLess(r["wall_ms"], bound, r)

    def test_each_fault_gives_its_kind_in_every_mode(self):
        for fault, kind in FAULTS.items():
            results = self.run_all_modes(f"{self.url}?fault={fault}")
            self.assert_all_failed_as(results, kind, fault)

    def test_status_and_connect(self):
        self.assert_all_failed_as(self.run_all_modes(f"{self.url}?status=503"), "status", "status")
        closed = f"http://127.0.0.1:{free_port()}/"
        self.assert_all_failed_as(self.run_all_modes(closed), "connect", "connect")

    def test_slow_body_within_the_timeout_is_ok(self):
        """5 bytes at 100 ms each: about 0.5 s, well within 3 s: data, not an error."""
        for r in self.run_all_modes(f"{self.url}?fault=slow_body&bytes=5", timeout_ms=3000):
            with self.subTest(mode=r["mode"]):
                self.assertEqual(r["ok"], REQUESTS, r)
                self.assertGreaterEqual(r["latency_ms"]["min"], 390, r)


if __name__ == "__main__":
    unittest.main()
