"""Second, independent checks of promises that one test each guarded, and of three kinds of
defect that once passed the whole suite:
- work_us is spent after every response that has a status, 5xx included (not only 2xx);
- secret headers are redacted whatever the case of their name (`authorization`, `COOKIE`);
- processes' lanes are numbered from 0, read from the stored rows rather than from RESULT;
- latency from the due time is end - sched of the ok rows, recomputed from the rows;
- the rps_min threshold judges ok requests per second, not attempts."""
import json
import os
import sqlite3
import tempfile
import unittest

from conlab_testlib import run, start_target, stop
from serve_testlib import Serve


class EngineSecondChecks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target, cls.url = start_target(workers=16, delay_ms=0)
        cls.tmp = tempfile.mkdtemp(prefix="conlab-second-")

    @classmethod
    def tearDownClass(cls):
        stop(cls.target)

    def test_work_after_a_5xx_answer(self):
        """8 answers of 500, 30 ms of CPU work each, one lane: the mode's CPU and wall hold the
        work (240 ms) although no request was ok."""
        code, doc, err = run("--url", self.url + "?status=500", "--requests", "8",
                             "--concurrency", "1", "--modes", "sync", "--work-us", "30000")
        self.assertEqual(code, 0, err)
        r = doc["results"][0]
        self.assertEqual((r["ok"], r["errors"]), (0, 8), r)
        self.assertGreaterEqual(r["wall_ms"], 8 * 30 * 0.95, r)
        self.assertGreaterEqual(r["cpu_ms"]["user"] + r["cpu_ms"]["sys"], 8 * 30 * 0.9, r)

    def test_processes_lanes_from_zero_in_the_rows(self):
        db = os.path.join(self.tmp, "lanes.db")
        # 20 requests of 100 ms over 4 workers (500 ms): every worker takes some, unless one
        # starts half a second late (with no delay, three workers could take all 40 before the
        # fourth had started: seen under ASan on a loaded machine, lanes [1, 2, 3])
        code, doc, err = run("--url", self.url + "?delay_ms=100", "--requests", "20",
                             "--concurrency", "4", "--modes", "processes", "--db", db)
        self.assertEqual(code, 0, err)
        con = sqlite3.connect(db)
        try:
            lanes = sorted(r[0] for r in con.execute("SELECT DISTINCT lane FROM requests"))
        finally:
            con.close()
        self.assertEqual(lanes[0], 0, lanes)
        self.assertTrue(set(lanes) <= {0, 1, 2, 3}, lanes)
        self.assertGreaterEqual(len(lanes), 2, lanes)

    def test_latency_from_due_recomputed_from_rows(self):
        out = os.path.join(self.tmp, "due.jsonl")
        code, doc, err = run("--url", self.url + "?delay_ms=20", "--requests", "20",
                             "--concurrency", "2", "--modes", "async", "--rate", "200",
                             "--requests-out", out)
        self.assertEqual(code, 0, err)
        r = doc["results"][0]
        with open(out) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        due = sorted(q["end_us"] - q["sched_us"] for q in rows if q.get("error") in (None, ""))
        self.assertEqual(len(due), r["ok"])
        self.assertAlmostEqual(r["latency_from_due_ms"]["max"], due[-1] / 1000, delta=0.01)
        self.assertAlmostEqual(r["latency_from_due_ms"]["min"], due[0] / 1000, delta=0.01)
        # 200/s through 2 lanes of 20 ms: requests queue, so from due is longer than the
        # transfer's own latency for the last ones.
        self.assertGreater(r["latency_from_due_ms"]["max"], r["latency_ms"]["max"])

    def test_rps_min_counts_ok_requests(self):
        """Half the requests fail at once: attempts/s is about twice rps; a floor between the
        two is crossed, since the threshold counts ok requests."""
        # seq alternates between two URLs? One URL: status=500 for all, plus ok ones would need
        # two targets; use a timeout instead: 4 workers, 8 requests at once, 300 ms each, a
        # 450 ms timeout: 4 ok, 4 timed out.
        target, url = start_target(workers=4, delay_ms=300)
        try:
            code, doc, err = run("--url", url, "--requests", "8", "--concurrency", "8",
                                 "--modes", "async", "--timeout-ms", "450", check_json=True)
            self.assertEqual(code, 0, err)
            r = doc["results"][0]
            self.assertEqual(r["ok"], 4, r)
            limit = (r["rps"] + r["attempts_per_s"]) / 2
            code, doc, err = run("--url", url, "--requests", "8", "--concurrency", "8",
                                 "--modes", "async", "--timeout-ms", "450",
                                 "--threshold", f"rps_min={limit:.3f}", check_json=False)
            self.assertEqual(code, 3, err)
        finally:
            stop(target)


class RedactionAnyCase(unittest.TestCase):
    def test_secret_headers_in_any_case(self):
        s = Serve(None)
        try:
            spec = s.spec(requests=1, modes=["sync"])
            spec["target"]["headers"] = {"authorization": "Bearer sekrit-one",
                                         "COOKIE": "sid=sekrit-two",
                                         "Proxy-authorization": "Basic sekrit-three"}
            rid = s.post_run(spec)
            self.assertEqual(s.wait_status(rid)["status"], "done")
            answers = [s.request("GET", f"/api/runs/{rid}")[2],
                       s.request("GET", "/api/runs")[2],
                       s.request("GET", f"/api/runs/{rid}/export.json")[2]]
            for body in answers:
                text = body.decode() if isinstance(body, bytes) else str(body)
                self.assertNotIn("sekrit", text)
            run_doc = s.json("GET", f"/api/runs/{rid}")[1]
            headers = run_doc["spec"]["target"]["headers"]
            self.assertEqual(set(headers.values()), {"***"}, headers)
        finally:
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main()
