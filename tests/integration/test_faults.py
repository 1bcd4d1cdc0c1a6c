# conlab-test: serial (it asserts times: see tests/tests.cmake)
"""Faults are data: every fault of `conlab target` (?fault=...) gives its error kind in every
mode, every mode ends within its timeouts, and every request is accounted for."""
import math
import unittest
from concurrent.futures import ThreadPoolExecutor

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

# Runs of one mode each go PARALLEL at a time (their wait is mostly timeouts). A run holds at
# most CONCURRENCY of the target's 16 workers at once (a hang holds none, a slow body one per
# lane until the client gives up), so 6 runs leave 4 workers free: no request of one run ever
# queues behind another's, and each run's times are its own.
PARALLEL = 6
assert PARALLEL * CONCURRENCY < 16


class FaultsAreData(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.url = start_target(workers=16, delay_ms=0)

    @classmethod
    def tearDownClass(cls):
        stop(cls.proc)

    def run_modes(self, url, modes=MODES, timeout_ms=TIMEOUT_MS):
        return run("--url", url, "--requests", str(REQUESTS), "--concurrency", str(CONCURRENCY),
                   "--modes", ",".join(modes), "--timeout-ms", str(timeout_ms), timeout=60)

    def results_of(self, outcome, modes=MODES):
        code, doc, err = outcome
        self.assertEqual(code, 0, err)
        self.assertEqual([r["mode"] for r in doc["results"]], list(modes))
        return doc["results"]

    def run_all_modes(self, url, timeout_ms=TIMEOUT_MS):
        """One run of every mode, one after the other."""
        return self.results_of(self.run_modes(url, MODES, timeout_ms))

    def run_each_mode(self, urls, timeout_ms=TIMEOUT_MS):
        """One run per url and mode, PARALLEL at a time; returns {url: [results in MODES order]}.
        The runs that wait longest (sync, one lane) start first."""
        jobs = [(url, mode) for mode in MODES for url in urls]
        with ThreadPoolExecutor(PARALLEL) as pool:
            outcomes = list(pool.map(lambda j: self.run_modes(j[0], (j[1],), timeout_ms), jobs))
        got = {url: [] for url in urls}
        for (url, mode), outcome in zip(jobs, outcomes):
            with self.subTest(url=url, mode=mode):
                got[url] += self.results_of(outcome, (mode,))
        return got

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
        urls = {f"{self.url}?fault={fault}": fault for fault in FAULTS}
        for url, results in self.run_each_mode(list(urls)).items():
            fault = urls[url]
            self.assertEqual([r["mode"] for r in results], list(MODES), fault)
            self.assert_all_failed_as(results, FAULTS[fault], fault)

    def test_status_and_connect(self):
        self.assert_all_failed_as(self.run_all_modes(f"{self.url}?status=503"), "status", "status")
        closed = f"http://127.0.0.1:{free_port()}/"
        self.assert_all_failed_as(self.run_all_modes(closed), "connect", "connect")

    def test_slow_body_within_the_timeout_is_ok(self):
        """5 bytes at 100 ms each: about 0.5 s, well within 3 s: data, not an error."""
        url = f"{self.url}?fault=slow_body&bytes=5"
        results = self.run_each_mode([url], timeout_ms=3000)[url]
        self.assertEqual([r["mode"] for r in results], list(MODES))
        for r in results:
            with self.subTest(mode=r["mode"]):
                self.assertEqual(r["ok"], REQUESTS, r)
                self.assertGreaterEqual(r["latency_ms"]["min"], 390, r)


if __name__ == "__main__":
    unittest.main()
