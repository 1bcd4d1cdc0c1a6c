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

# The runs of one mode each (below) go PARALLEL at a time: their wait is mostly timeouts and
# slow bodies. A run holds at most CONCURRENCY of the target's 16 workers at once (a hang holds
# none, a slow body one per lane until it ends or the client gives up), so 6 runs leave 4 workers
# free: no request of one run ever queues behind another's, and each run's times are its own.
PARALLEL = 6
assert PARALLEL * CONCURRENCY < 16
SLOW_OK_MS = 3000  # the timeout that a slow body of 5 bytes (about 0.5 s) is well within


def run_modes(url, modes, timeout_ms):
    return run("--url", url, "--requests", str(REQUESTS), "--concurrency", str(CONCURRENCY),
               "--modes", ",".join(modes), "--timeout-ms", str(timeout_ms), timeout=60)


class FaultsAreData(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.url = start_target(workers=16, delay_ms=0)
        try:
            cls.slow_ok = f"{cls.url}?fault=slow_body&bytes=5"
            cls.fault_urls = {f"{cls.url}?fault={fault}": fault for fault in FAULTS}
            # One run per url and mode for the two tests that wait, the longest first (the
            # slow bodies that end, then sync: one lane); the tests read cls.outcomes.
            jobs = [(cls.slow_ok, mode, SLOW_OK_MS) for mode in MODES]
            jobs += [(url, mode, TIMEOUT_MS) for mode in MODES for url in cls.fault_urls]
            with ThreadPoolExecutor(PARALLEL) as pool:
                outcomes = pool.map(lambda job: run_modes(job[0], (job[1],), job[2]), jobs)
                cls.outcomes = {job[:2]: outcome for job, outcome in zip(jobs, outcomes)}
        except BaseException:
            stop(cls.proc)
            raise

    @classmethod
    def tearDownClass(cls):
        stop(cls.proc)

    def results_of(self, outcome, modes):
        code, doc, err = outcome
        self.assertEqual(code, 0, err)
        self.assertEqual([r["mode"] for r in doc["results"]], list(modes))
        return doc["results"]

    def run_all_modes(self, url):
        """One run of every mode, one after the other."""
        return self.results_of(run_modes(url, MODES, TIMEOUT_MS), MODES)

    def each_mode(self, url):
        """The results of url's runs of one mode each (setUpClass), in MODES order."""
        results = []
        for mode in MODES:
            with self.subTest(url=url, mode=mode):
                results += self.results_of(self.outcomes[url, mode], (mode,))
        self.assertEqual([r["mode"] for r in results], list(MODES), url)
        return results

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
        for url, fault in self.fault_urls.items():
            self.assert_all_failed_as(self.each_mode(url), FAULTS[fault], fault)

    def test_status_and_connect(self):
        self.assert_all_failed_as(self.run_all_modes(f"{self.url}?status=503"), "status", "status")
        closed = f"http://127.0.0.1:{free_port()}/"
        self.assert_all_failed_as(self.run_all_modes(closed), "connect", "connect")

    def test_slow_body_within_the_timeout_is_ok(self):
        """5 bytes at 100 ms each: about 0.5 s, well within 3 s: data, not an error."""
        for r in self.each_mode(self.slow_ok):
            with self.subTest(mode=r["mode"]):
                self.assertEqual(r["ok"], REQUESTS, r)
                self.assertGreaterEqual(r["latency_ms"]["min"], 390, r)


if __name__ == "__main__":
    unittest.main()
