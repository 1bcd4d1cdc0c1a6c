"""What the API says about failures, thresholds and details, end to end against the real binary:
the failures table of a run, RUN's verdict, the requests that overlap a time window (the page's
zoom). One server for the whole file."""
import gzip
import json
import time
import unittest

from serve_testlib import Serve

CLOSED = "http://127.0.0.1:9/"  # the discard port: nothing listens there on a test machine


class TruthApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Serve()
        cls.failed_id = cls.s.post_run({"target": {"url": CLOSED}, "requests": 7, "concurrency": 2,
                                        "modes": ["sync", "async"]})
        cls.mixed_id = cls.s.post_run({"target": {"url": f"{cls.s.target}?delay_ms=100"},
                                       "requests": 9, "concurrency": 3, "modes": ["threads"]})
        cls.judged_id = cls.s.post_run({"target": {"url": f"{cls.s.target}?delay_ms=30"},
                                        "requests": 3, "concurrency": 3, "modes": ["sync", "threads"],
                                        "thresholds": {"p99_ms": 10, "error_rate": 0}})
        cls.failed = cls.s.wait_status(cls.failed_id, ("done",))
        cls.mixed = cls.s.wait_status(cls.mixed_id, ("done",))
        cls.judged = cls.s.wait_status(cls.judged_id, ("done",))

    @classmethod
    def tearDownClass(cls):
        rc = cls.s.stop()
        assert rc == 0, f"serve exited {rc}: {cls.s.errors()}"

    def rows(self, run_id, mode, query="&limit=10000"):
        status, doc = self.s.json("GET", f"/api/runs/{run_id}/requests?mode={mode}{query}")
        self.assertEqual(status, 200, doc)
        return doc

    def test_failures_group_every_failed_request_by_mode_kind_and_message(self):
        status, doc = self.s.json("GET", f"/api/runs/{self.failed_id}/failures")
        self.assertEqual(status, 200)
        # In run order; a mode's message may vary ("... after 0 ms", "... after 1 ms"): one entry
        # per message, most frequent first, each counting exactly its rows.
        modes = [f["mode"] for f in doc["failures"]]
        self.assertEqual(sorted(set(modes), key=modes.index), ["sync", "async"])
        for mode in ("sync", "async"):
            rows = self.rows(self.failed_id, mode)["requests"]
            entries = [f for f in doc["failures"] if f["mode"] == mode]
            self.assertEqual(sum(f["count"] for f in entries), 7)
            self.assertEqual({f["message"] for f in entries}, {r["error"] for r in rows})
            counts = [f["count"] for f in entries]
            self.assertEqual(counts, sorted(counts, reverse=True))
            for f in entries:
                self.assertEqual(f["kind"], "connect")
                self.assertIn("connect", f["message"].lower())
                seen = [r["end_us"] for r in rows if r["error"] == f["message"]]
                self.assertEqual(f["count"], len(seen))
                self.assertEqual((f["first_us"], f["last_us"]), (min(seen), max(seen)))

    def test_failures_of_a_clean_run_and_of_an_unknown_run(self):
        self.assertEqual(self.s.json("GET", f"/api/runs/{self.mixed_id}/failures"), (200, {"failures": []}))
        status, doc = self.s.json("GET", "/api/runs/nope12345678/failures")
        self.assertEqual(status, 404)
        self.assertIn("error", doc)

    def test_run_verdict_against_the_thresholds(self):
        run = self.judged
        self.assertEqual(run["spec"]["thresholds"], {"p99_ms": 10, "error_rate": 0})
        v = run["verdict"]
        self.assertFalse(v["pass"])
        p99 = {r["mode"]: r["latency_ms"]["p99"] for r in run["results"]}
        self.assertEqual([(f["mode"], f["threshold"], f["limit"]) for f in v["failed"]],
                         [("sync", "p99_ms", 10), ("threads", "p99_ms", 10)])
        for f in v["failed"]:
            self.assertAlmostEqual(f["value"], p99[f["mode"]], places=3)
            self.assertEqual(f["concurrency"], 3)
        # The same verdict in the list, and none for a run without thresholds.
        status, doc = self.s.json("GET", "/api/runs?limit=100")
        listed = {r["id"]: r for r in doc["runs"]}
        self.assertEqual(listed[self.judged_id]["verdict"], v)
        self.assertIsNone(listed[self.mixed_id]["verdict"])
        self.assertIsNone(self.mixed["spec"]["thresholds"])

    def test_bad_thresholds_are_refused_naming_the_field(self):
        for thresholds, field in [({"p99_ms": 0}, "thresholds.p99_ms"), ({"error_rate": 2}, "thresholds.error_rate"),
                                  ({"rps_min": "x"}, "thresholds.rps_min"), ({"p95": 1}, "thresholds.p95"),
                                  ([1], "thresholds")]:
            status, doc = self.s.json("POST", "/api/runs", {"target": {"url": self.s.target}, "thresholds": thresholds})
            self.assertEqual(status, 400, thresholds)
            self.assertEqual(doc["field"], field, doc)
            self.assertTrue(doc["error"].startswith(field + ":"), doc)

    def test_live_points_while_a_mode_runs(self):
        # 24 requests, 2 at a time, 100 ms each: the mode lasts about 1.2 s.
        run_id = self.s.post_run({"target": {"url": f"{self.s.target}?delay_ms=100"},
                                  "requests": 24, "concurrency": 2, "modes": ["threads"]})
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, run = self.s.json("GET", f"/api/runs/{run_id}")
            if run["status"] not in ("queued", "running"):
                break
            live = run["progress"]["live"]
            if live and not run["results"]:
                seen.append(live)
            time.sleep(0.1)
        self.assertEqual(run["status"], "done")
        self.assertIsNone(run["progress"]["live"])  # a stored run has no live view
        with_points = [l for l in seen if len(l["points"]) >= 2]
        self.assertTrue(with_points, f"no live points before the mode ended: {seen}")
        last = with_points[-1]
        self.assertEqual(last["mode"], "threads")
        pts = last["points"]
        self.assertEqual([p["t_ms"] for p in pts], [250 * (i + 1) for i in range(len(pts))])
        self.assertGreaterEqual(last["elapsed_ms"], pts[-1]["t_ms"])
        for a, b in zip(pts, pts[1:]):
            self.assertLessEqual(a["done"], b["done"])
        self.assertTrue(0 < pts[-1]["done"] < 24)
        self.assertEqual(pts[-1]["done"], pts[-1]["ok"] + pts[-1]["errors"])
        lat = [p["p50_ms"] for p in pts if p["p50_ms"] is not None]
        self.assertTrue(lat)
        for v in lat:
            self.assertTrue(95 <= v < 1000, v)  # 100 ms a response

    def test_requests_in_a_time_window_are_those_that_overlap_it(self):
        every = self.rows(self.mixed_id, "threads")["requests"]
        self.assertEqual(len(every), 9)
        # 9 requests through 3 lanes at 100 ms: three rounds; a window inside the second round
        # holds exactly the requests that were running then.
        second = sorted(every, key=lambda r: r["start_us"])[3:6]
        a = max(r["start_us"] for r in second) + 1000
        b = min(r["end_us"] for r in second) - 1000
        self.assertLess(a, b)
        doc = self.rows(self.mixed_id, "threads", f"&from_us={a}&to_us={b}")
        want = sorted(r["seq"] for r in every if r["start_us"] <= b and r["end_us"] >= a)
        self.assertEqual([r["seq"] for r in doc["requests"]], want)
        self.assertEqual(doc["total"], len(want))
        self.assertEqual(sorted(r["seq"] for r in second), want)
        # paging inside the window, and open-ended windows
        doc = self.rows(self.mixed_id, "threads", f"&from_us={a}&to_us={b}&limit=1&offset=1")
        self.assertEqual(([r["seq"] for r in doc["requests"]], doc["total"]), (want[1:2], len(want)))
        self.assertEqual(self.rows(self.mixed_id, "threads", "&from_us=0")["total"], 9)
        late = max(r["end_us"] for r in every) + 1
        self.assertEqual(self.rows(self.mixed_id, "threads", f"&from_us={late}")["total"], 0)

    def test_chart_data_is_gzipped_when_the_client_asks(self):
        path = f"/api/runs/{self.mixed_id}/charts"
        _, plain_resp, plain = self.s.request("GET", path)
        self.assertIsNone(plain_resp.getheader("Content-Encoding"))
        status, resp, body = self.s.request("GET", path, headers={"Accept-Encoding": "gzip, deflate, br"})
        self.assertEqual(status, 200)
        self.assertEqual(resp.getheader("Content-Encoding"), "gzip")
        self.assertIn("Accept-Encoding", resp.getheader("Vary"))
        self.assertEqual(int(resp.getheader("Content-Length")), len(body))
        self.assertLess(len(body), len(plain) / 3)
        self.assertEqual(json.loads(gzip.decompress(body)), json.loads(plain))
        # refused with q=0, and small answers go as they are
        for accept in ["gzip;q=0", "identity", "deflate"]:
            _, resp, body = self.s.request("GET", path, headers={"Accept-Encoding": accept})
            self.assertIsNone(resp.getheader("Content-Encoding"), accept)
            self.assertEqual(body, plain)
        _, resp, body = self.s.request("GET", "/api/health", headers={"Accept-Encoding": "gzip"})
        self.assertIsNone(resp.getheader("Content-Encoding"))
        self.assertEqual(json.loads(body), {"status": "ok"})

    def test_an_unknown_page_is_the_dashboards_not_found_view(self):
        for path in ["/nope", "/runs-of-yesterday.html", "/a/b/c"]:
            status, resp, body = self.s.request("GET", path)
            self.assertEqual(status, 404, path)
            self.assertTrue(resp.getheader("Content-Type").startswith("text/html"), path)
            self.assertIn(b'<main id="app"', body, path)  # the page, which says "Not found"
        status, resp, body = self.s.request("GET", "/api/nope")
        self.assertEqual(status, 404)
        self.assertIn("error", json.loads(body))  # the API keeps its JSON errors

    def test_a_window_that_ends_before_it_starts_is_refused(self):
        for q in ["&from_us=5&to_us=4", "&from_us=-1", "&to_us=x"]:
            status, doc = self.s.json("GET", f"/api/runs/{self.mixed_id}/requests?mode=threads{q}")
            self.assertEqual(status, 400, q)
            self.assertIn("error", doc)


if __name__ == "__main__":
    unittest.main()
