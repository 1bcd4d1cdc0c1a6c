# conlab-test: serial (it asserts times: the talk's walls, the GIL's cores; see tests/tests.cmake)
"""Clients (docs/CLIENTS.md), timed: the shipped clients run the talk's scenario (at 300 ms, with
bounds scaled to it; test_run's test_three_requests keeps the talk's 1 s), their rate is honoured,
conlab's own modes go through the protocol, and the GIL shows in a CPU-bound run (py-threads on
one core, py-processes on two)."""
import json
import os
import tempfile
import unittest

from clients_testlib import SHIPPED, by_mode, client_args, conlab_run
from conlab_testlib import BIN, SANITIZED, start_target, stop
from test_lab import parallel_cores


class Shipped(unittest.TestCase):
    """Every shipped client, next to conlab's own modes, against the talk's server: 3 requests
    at C=3 against 3 workers answering in D ms: about D for the concurrent ones, 3 D one after
    another."""

    def run_rows(self, workers, delay_ms, *args):
        """`conlab run ARGS --requests-out FILE` against a target of its own (W workers, delay
        D): (the results by mode, the request rows)."""
        target, url = start_target(workers=workers, delay_ms=delay_ms)
        reqs = os.path.join(tempfile.mkdtemp(prefix="conlab-clients-"), "requests.jsonl")
        try:
            code, doc, err = conlab_run("--url", url, *args, "--requests-out", reqs)
        finally:
            stop(target)
        self.assertEqual(code, 0, err)
        with open(reqs) as f:
            return by_mode(doc), [json.loads(line) for line in f]

    def scenario(self, delay_ms, names, also=("sync", "threads")):
        return self.run_rows(3, delay_ms, "--requests", "3", "--concurrency", "3",
                             "--modes", ",".join([*also, *names]), *client_args(names))

    def check(self, res, rows, delay_ms, names):
        for name in names:
            r = res[name]
            self.assertTrue(r["client"], r)
            self.assertNotIn("error", r, r)
            self.assertEqual((r["requests"], r["ok"], r["errors"]), (3, 3, 0), r)
            self.assertGreater(r["startup_ms"], 0, r)
            self.assertGreater(r["cpu_ms"]["user"] + r["cpu_ms"]["sys"], 0, r)
            self.assertGreater(r["peak_rss_kb"], 1000, r)  # a runtime's Pss: megabytes
            mine = sorted((q for q in rows if q["mode"] == name), key=lambda q: q["seq"])
            self.assertEqual([q["seq"] for q in mine], [0, 1, 2], name)
            for q in mine:
                self.assertTrue(0 <= q["start_us"] <= q["end_us"] <= r["wall_ms"] * 1000 + 1, q)
                self.assertLess(q["lane"], 3, q)
                self.assertEqual((q["status"], q["bytes"]), (200, 22), q)
                # each response took the server's D ms
                self.assertGreaterEqual(q["end_us"] - q["start_us"], delay_ms * 1000 * 0.95, q)
            # the wall ends with the last request
            self.assertAlmostEqual(r["wall_ms"] * 1000, max(q["end_us"] for q in mine), delta=2)
            one_by_one = name == "py-sync"
            self.assertEqual(len({q["lane"] for q in mine}), 1 if one_by_one else 3, mine)
            low = (3 if one_by_one else 1) * delay_ms
            # a loaded machine stretches a run; the shape holds: one by one ≥ 3 D, the others
            # well under it (< 2.2 D)
            self.assertGreaterEqual(r["wall_ms"], low * 0.98, r)
            self.assertLess(r["wall_ms"], low + (1.5 * delay_ms if one_by_one else 1.2 * delay_ms), r)

    def test_every_shipped_client_short_delay(self):
        names = list(SHIPPED)
        res, rows = self.scenario(300, names)
        self.check(res, rows, 300, names)
        self.assertEqual([r for r in res], ["sync", "threads", *names])  # run order

    def test_conlabs_own_modes_through_the_protocol(self):
        """`conlab __client MODE` (bench/client_overhead.py) is a client like any: the same mode
        built in and through the protocol, in one run, take the same time (within 150 ms, whatever
        the server's delay)."""
        target, url = start_target(workers=3, delay_ms=150)
        try:
            code, doc, err = conlab_run(
                "--url", url, "--requests", "3", "--concurrency", "3",
                "--modes", "threads,c-threads,async,c-async",
                "--client", f"c-threads={os.path.abspath(BIN)} __client threads",
                "--client", f"c-async={os.path.abspath(BIN)} __client async")
        finally:
            stop(target)
        self.assertEqual(code, 0, err)
        res = by_mode(doc)
        for m in ("threads", "async"):
            c = res["c-" + m]
            self.assertTrue(c["client"] and "error" not in c, c)
            self.assertEqual((c["ok"], c["lanes"]), (3, 3), c)
            self.assertIn(f"conlab {m} through the client protocol", c["hello"])
            self.assertLess(abs(c["wall_ms"] - res[m]["wall_ms"]), 150, (c, res[m]))

    def test_rate_is_honoured(self):
        """With a rate, request seq is due seq / rate after the hello: no shipped client starts
        one early (conlab's t0 is the hello's t_us, so the client's due times are conlab's): 6
        requests due every 25 ms from a 0 ms server take at least the 125 ms of the schedule."""
        names = ["py-threads", "py-asyncio", "py-processes", "go-goroutines", "node-fetch"]
        res, rows = self.run_rows(8, 0, "--requests", "6", "--concurrency", "3", "--rate", "40",
                                  "--modes", ",".join(names), *client_args(names))
        for name in names:
            mine = [q for q in rows if q["mode"] == name]
            self.assertEqual(sorted(q["sched_us"] for q in mine), [k * 25000 for k in range(6)])
            for q in mine:
                self.assertGreaterEqual(q["start_us"], q["sched_us"], (name, q))
            self.assertGreaterEqual(res[name]["wall_ms"], 125, name)


class Gil(unittest.TestCase):
    # conlab-test: quiet (it measures the cores it gets: nothing may run beside it)
    """CPU work per response in Python holds the GIL: py-threads computes on one core at a time,
    py-processes on both; conlab's C threads beside them use both too."""

    REQUESTS, WORK_US = 40, 25000  # 1 s of Python CPU per mode

    @unittest.skipIf(SANITIZED, "Python's GIL is the same whatever conlab's build: the client "
                     "runner's accounting runs under the sanitizers in Shipped and test_clients")
    def test_threads_serialise_processes_do_not(self):
        target, url = start_target(workers=64, delay_ms=0)
        seen = []
        try:
            for _ in range(4):
                before = parallel_cores()
                code, doc, err = conlab_run(
                    "--url", url, "--requests", str(self.REQUESTS), "--concurrency", "2",
                    "--work-us", str(self.WORK_US), "--modes", "threads,py-threads,py-processes",
                    *client_args(["py-threads", "py-processes"]))
                self.assertEqual(code, 0, err)
                res = by_mode(doc)
                floor = self.REQUESTS * self.WORK_US / 1000
                for m in ("py-threads", "py-processes"):
                    r = res[m]
                    self.assertEqual(r["ok"], self.REQUESTS, r)
                    # measured from outside, children included: the pool's work counts
                    cpu = r["cpu_ms"]["user"] + r["cpu_ms"]["sys"]
                    self.assertGreaterEqual(cpu, floor * 0.95, r)
                # one core at a time: wall ≥ the work
                self.assertGreaterEqual(res["py-threads"]["wall_ms"], floor * 0.98)
                walls = {m: res[m]["wall_ms"] for m in res}
                cores = min(before, parallel_cores())  # two cores before and after the run
                seen.append((round(cores, 2), walls))
                if cores < 1.6:
                    continue
                if walls["py-threads"] >= 1.6 * walls["py-processes"]:
                    # and the findings say why: the GIL serialised py-threads' work
                    par = {f["mode"]: f for f in doc["findings"] if f["kind"] == "parallel"}
                    self.assertTrue(par["py-threads"]["values"]["serialised"], par)
                    self.assertIn("GIL", par["py-threads"]["text"])
                    self.assertGreaterEqual(par["py-processes"]["values"]["cores"], 1.5, par)
                    return
        finally:
            stop(target)
        if all(c < 1.6 for c, _ in seen):
            self.skipTest(f"this machine gave our processes less than two cores at once: {seen}")
        self.fail(f"py-threads not 1.6x slower than py-processes with two cores free: {seen}")


# Hostile clients: each breaks one rule. They read the workload, and most print a proper hello.


if __name__ == "__main__":
    unittest.main()
