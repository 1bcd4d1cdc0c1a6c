"""`conlab serve`'s HTTP API end to end: the real binary, a real SQLite file, the real demo target
(started by serve on a free port; the ?delay_ms= query keeps requests short). One server for the
whole file."""
import csv
import io
import json
import socket
import time
import unittest
import urllib.parse

from serve_testlib import Serve, db_integrity, db_rows_per_mode

MODES = ["sync", "threads", "async", "processes"]


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Serve()
        # One finished run that several tests read.
        t0 = time.monotonic()
        status, resp, body = cls.s.request(
            "POST", "/api/runs", cls.s.spec(delay_ms=20, requests=5, concurrency=2, label="main"))
        cls.post_seconds = time.monotonic() - t0
        assert status == 202, (status, body)
        cls.post_reply = json.loads(body)
        cls.post_location = resp.getheader("Location")
        cls.done_id = cls.post_reply["id"]
        cls.done_run = cls.s.wait_status(cls.done_id, ("done",), timeout=60)

    @classmethod
    def tearDownClass(cls):
        rc = cls.s.stop()
        assert rc == 0, f"serve exited {rc}: {cls.s.errors()}"
        assert db_integrity(cls.s.db) == "ok"

    # --- a run from POST to done -------------------------------------------------------------

    def test_post_reply(self):
        r = self.post_reply
        self.assertEqual(r["status"], "queued")
        self.assertRegex(r["id"], r"^[A-Za-z0-9]{12}$")
        self.assertEqual(r["url"], f"/runs/{r['id']}")
        self.assertEqual(self.post_location, f"/api/runs/{r['id']}")
        self.assertLess(self.post_seconds, 1.0)

    def test_run_done_with_every_request(self):
        run = self.done_run
        self.assertEqual(run["status"], "done")
        self.assertIsNone(run["message"])
        self.assertTrue(run["created_at"].endswith("Z"))
        self.assertTrue(run["finished_at"].endswith("Z"))
        self.assertEqual(run["label"], "main")
        self.assertEqual(run["spec"]["requests"], 5)
        self.assertEqual([r["mode"] for r in run["results"]], MODES)
        for r in run["results"]:
            self.assertEqual(r["requests"], 5)
            self.assertEqual(r["ok"] + r["errors"], 5)
            self.assertEqual(r["ok"], 5, r)
            self.assertGreaterEqual(r["latency_ms"]["min"], 19)
        p = run["progress"]
        self.assertEqual((p["done"], p["total"]), (20, 20))
        self.assertEqual(p["modes"], {m: {"done": 5, "total": 5} for m in MODES})
        # The file itself: one row per request and mode, and a sound database.
        self.assertEqual(db_rows_per_mode(self.s.db, self.done_id), {m: 5 for m in MODES})
        self.assertEqual(db_integrity(self.s.db), "ok")

    def test_list_and_filters(self):
        status, doc = self.s.json("GET", "/api/runs")
        self.assertEqual(status, 200)
        self.assertIn(self.done_id, [r["id"] for r in doc["runs"]])
        url = urllib.parse.quote(self.done_run["spec"]["target"]["url"], safe="")
        status, doc = self.s.json("GET", f"/api/runs?url={url}&limit=1000")
        self.assertEqual(status, 200)
        self.assertIn(self.done_id, [r["id"] for r in doc["runs"]])
        status, doc = self.s.json("GET", "/api/runs?label=main")
        self.assertEqual([r["id"] for r in doc["runs"]], [self.done_id])
        status, doc = self.s.json("GET", "/api/runs?url=http%3A%2F%2Fnowhere%2F")
        self.assertEqual(doc["runs"], [])
        status, doc = self.s.json("GET", "/api/runs?limit=1")
        self.assertEqual(len(doc["runs"]), 1)

    def test_pages_serve_the_html(self):
        for path in ["/", f"/runs/{self.done_id}", "/runs/UNKNOWN", "/history", "/compare?a=x&b=y"]:
            status, resp, body = self.s.request("GET", path)
            self.assertEqual(status, 200, path)
            self.assertTrue(resp.getheader("Content-Type").startswith("text/html"), path)
            self.assertIn(b"<html", body.lower(), path)

    def test_requests_paging(self):
        base = f"/api/runs/{self.done_id}/requests"
        status, doc = self.s.json("GET", f"{base}?mode=sync")
        self.assertEqual(status, 200)
        self.assertEqual(doc["mode"], "sync")
        self.assertEqual(doc["total"], 5)
        self.assertEqual([r["seq"] for r in doc["requests"]], [0, 1, 2, 3, 4])
        row = doc["requests"][0]
        for k in ["seq", "lane", "sched_us", "start_us", "connect_us", "ttfb_us", "end_us",
                  "status", "bytes", "error", "error_kind"]:
            self.assertIn(k, row)
        self.assertEqual(row["status"], 200)
        self.assertIsNone(row["error"])
        status, doc = self.s.json("GET", f"{base}?mode=threads&limit=2&offset=3")
        self.assertEqual([r["seq"] for r in doc["requests"]], [3, 4])
        self.assertEqual(doc["total"], 5)
        status, doc = self.s.json("GET", f"{base}?mode=async&offset=50")
        self.assertEqual((status, doc["requests"]), (200, []))
        status, doc = self.s.json("GET", f"{base}?mode=processes&limit=10000")
        self.assertEqual((status, len(doc["requests"])), (200, 5))

    def test_charts_shape(self):
        status, doc = self.s.json("GET", f"/api/runs/{self.done_id}/charts")
        self.assertEqual(status, 200)
        self.assertEqual([m["mode"] for m in doc["modes"]], MODES)
        for m in doc["modes"]:
            h = m["histogram"]
            self.assertEqual(len(h["edges_ms"]), len(h["counts"]) + 1)
            self.assertEqual(sum(h["counts"]), 5)
            self.assertLessEqual(len(h["counts"]), 60)
            self.assertTrue(0 < len(m["cdf"]) <= 200)
            self.assertAlmostEqual(m["cdf"][-1][1], 1.0)
            self.assertLessEqual(len(m["throughput"]["points"]), 200)
            self.assertEqual(m["timeline"]["total"], 5)
            self.assertEqual(len(m["timeline"]["requests"]), 5)
            self.assertFalse(m["timeline"]["sampled"])

    def test_export_csv(self):
        status, resp, body = self.s.request("GET", f"/api/runs/{self.done_id}/export.csv")
        self.assertEqual(status, 200)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/csv"))
        self.assertIn("attachment", resp.getheader("Content-Disposition"))
        rows = list(csv.reader(io.StringIO(body.decode())))
        self.assertEqual(rows[0], ["mode", "seq", "lane", "sched_us", "start_us", "connect_us",
                                   "ttfb_us", "end_us", "status", "bytes", "error_kind", "error",
                                   "concurrency", "tls_us", "reused", "http_version", "conn"])
        self.assertEqual(len(rows) - 1, 20)
        self.assertEqual([r[0] for r in rows[1:]].count("async"), 5)
        self.assertTrue(all(r[8] == "200" and r[10] == "" for r in rows[1:]))

    def test_export_json(self):
        status, resp, body = self.s.request("GET", f"/api/runs/{self.done_id}/export.json")
        self.assertEqual(status, 200)
        self.assertIn("attachment", resp.getheader("Content-Disposition"))
        doc = json.loads(body)
        self.assertEqual(doc["run"]["id"], self.done_id)
        self.assertEqual(doc["run"]["status"], "done")
        self.assertEqual(list(doc["requests"]), MODES)
        for m in MODES:
            self.assertEqual([r["seq"] for r in doc["requests"][m]], [0, 1, 2, 3, 4])

    # --- live: events, cancel ----------------------------------------------------------------

    def test_events_in_order(self):
        run_id = self.s.post_run(self.s.spec(delay_ms=150, requests=4, concurrency=2,
                                             modes=["sync", "threads"]))
        events = self.s.events(run_id, timeout=60)
        names = [e for e, _ in events]
        self.assertEqual(names[0], "progress", names)
        self.assertEqual(names[-1], "end", names)
        self.assertEqual(names.count("end"), 1)
        self.assertEqual([d["mode"] for e, d in events if e == "mode"], ["sync", "threads"])
        self.assertLess(names.index("progress"), names.index("mode"))
        end = events[-1][1]
        self.assertEqual(end["status"], "done")
        self.assertEqual(end["progress"]["done"], 8)
        self.assertEqual(len(end["results"]), 2)
        first = events[0][1]
        self.assertIn(first["status"], ["queued", "running"])
        self.assertEqual(first["progress"]["total"], 8)
        dones = [d["progress"]["done"] for e, d in events if e == "progress"]
        self.assertEqual(dones, sorted(dones))
        # An ended run: `end` at once, then the stream closes.
        t0 = time.monotonic()
        events = self.s.events(run_id, timeout=10)
        self.assertEqual([e for e, _ in events], ["end"])
        self.assertLess(time.monotonic() - t0, 5)

    def test_events_progress_during_a_mode(self):
        run_id = self.s.post_run(self.s.spec(delay_ms=300, requests=4, concurrency=1,
                                             modes=["sync"]))
        events = self.s.events(run_id, timeout=60)
        dones = [d["progress"]["done"] for e, d in events if e == "progress"]
        self.assertGreaterEqual(len(set(dones)), 3, events)
        self.assertEqual(events[-1][1]["status"], "done")

    def test_cancel_mid_mode(self):
        run_id = self.s.post_run(self.s.spec(delay_ms=700, requests=8, concurrency=1,
                                             modes=["sync", "threads"]))
        self.s.wait_mode(run_id, "sync", done_at_least=1, timeout=60)
        t0 = time.monotonic()
        status, doc = self.s.json("POST", f"/api/runs/{run_id}/cancel")
        self.assertEqual((status, doc), (202, {"id": run_id, "status": "cancelling"}))
        run = self.s.wait_status(run_id, timeout=15)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(run["status"], "cancelled")
        self.assertEqual([r["mode"] for r in run["results"]], ["sync"])
        self.assertTrue(run["results"][0]["cancelled"])
        self.assertEqual(run["results"][0]["ok"] + run["results"][0]["errors"], 8)
        status, doc = self.s.json("GET", f"/api/runs/{run_id}/requests?mode=sync")
        kinds = [r["error_kind"] for r in doc["requests"]]
        self.assertEqual(len(kinds), 8)
        self.assertIn("cancelled", kinds)
        self.assertEqual(db_rows_per_mode(self.s.db, run_id), {"sync": 8})
        status, doc = self.s.json("POST", f"/api/runs/{run_id}/cancel")
        self.assertEqual(status, 409)
        self.assertIn("error", doc)

    def test_cancel_after_end_409(self):
        status, doc = self.s.json("POST", f"/api/runs/{self.done_id}/cancel")
        self.assertEqual(status, 409)
        self.assertIn("error", doc)

    def test_delete(self):
        run_id = self.s.post_run(self.s.spec(delay_ms=1, requests=2, modes=["async"]))
        self.s.wait_status(run_id, timeout=60)
        status, resp, body = self.s.request("DELETE", f"/api/runs/{run_id}")
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(self.s.json("GET", f"/api/runs/{run_id}")[0], 404)
        self.assertEqual(db_rows_per_mode(self.s.db, run_id), {})
        self.assertEqual(self.s.request("DELETE", f"/api/runs/{run_id}")[0], 404)

    # --- errors ------------------------------------------------------------------------------

    def test_bad_specs_name_the_field(self):
        url = self.s.target
        cases = [
            ({}, "target.url"),
            ({"target": {}}, "target.url"),
            ({"target": {"url": "ftp://127.0.0.1/"}}, "target.url"),
            ({"target": {"url": "nonsense"}}, "target.url"),
            ({"target": "http://x/"}, "target"),
            ({"target": {"url": url}, "requests": 0}, "requests"),
            ({"target": {"url": url}, "requests": "5"}, "requests"),
            ({"target": {"url": url}, "requests": 2000000}, "requests"),
            ({"target": {"url": url}, "concurrency": 257, "modes": ["processes"]}, "concurrency"),
            ({"target": {"url": url}, "concurrency": 1001, "modes": ["threads"]}, "concurrency"),
            ({"target": {"url": url}, "modes": ["sync", "fibers"]}, "modes"),
            ({"target": {"url": url}, "modes": "sync"}, "modes"),
            ({"target": {"url": url}, "keepalive": "yes"}, "keepalive"),
            ({"target": {"url": url}, "timeout_ms": -1}, "timeout_ms"),
            ({"target": {"url": url}, "color": "red"}, "color"),
        ]
        for spec, field in cases:
            status, doc = self.s.json("POST", "/api/runs", spec)
            self.assertEqual(status, 400, spec)
            self.assertEqual(doc["field"], field, (spec, doc))
            self.assertTrue(doc["error"].startswith(field + ":"), doc)

    def test_invalid_json_400(self):
        for body in [b"{nope", b"", b"[1,2", b"\xff\xfe"]:
            status, doc = self.s.json("POST", "/api/runs", body,
                                      {"Content-Type": "application/json"})
            self.assertEqual(status, 400, body)
            self.assertIn("error", doc)

    def test_a_body_must_be_json(self):
        """What a page of another site can send without a preflight (text/plain, a form) or a
        body without a type is refused 415 before it is read: no run is created."""
        before = len(self.s.json("GET", "/api/runs?limit=1000")[1]["runs"])
        body = json.dumps(self.s.spec(delay_ms=1, requests=1, modes=["sync"])).encode()
        for ctype in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                      "application/jsonx", "", None]:
            headers = {} if ctype is None else {"Content-Type": ctype}
            c = self.s.conn()
            c.putrequest("POST", "/api/runs", skip_accept_encoding=True)
            for k, v in headers.items():
                c.putheader(k, v)
            c.putheader("Content-Length", str(len(body)))
            c.endheaders(body)
            r = c.getresponse()
            self.assertEqual(r.status, 415, ctype)
            self.assertIn("application/json", json.loads(r.read())["error"])
            c.close()
        for ctype in ["application/json", "Application/JSON; charset=utf-8"]:
            status, doc = self.s.json("POST", "/api/runs", body, {"Content-Type": ctype})
            self.assertEqual(status, 202, (ctype, doc))
            self.s.wait_status(doc["id"], timeout=60)
        self.assertEqual(len(self.s.json("GET", "/api/runs?limit=1000")[1]["runs"]), before + 2)

    def test_413_for_100_kib_body_received_intact(self):
        body = json.dumps({"target": {"url": self.s.target}, "label": "x" * 100 * 1024}).encode()
        self.assertGreater(len(body), 100 * 1024)
        # http.client: the whole body is sent, the answer read after.
        status, doc = self.s.json("POST", "/api/runs", body, {"Content-Type": "application/json"})
        self.assertEqual(status, 413)
        self.assertIn("error", doc)
        # A raw socket: the answer arrives whole, and the connection still serves the next one.
        with socket.create_connection((self.s.host, self.s.port), timeout=10) as sock:
            head = (f"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            sock.sendall(head + body)
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            deadline = time.monotonic() + 10
            while data.count(b"HTTP/1.1") < 2 or not data.endswith(b'{"status":"ok"}'):
                self.assertLess(time.monotonic(), deadline, data)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        first, second = data.split(b"HTTP/1.1 200")
        self.assertTrue(first.startswith(b"HTTP/1.1 413"), data)
        self.assertIn(b'{"error":', first)
        self.assertTrue(second.endswith(b'{"status":"ok"}'))

    def test_64_kib_body_is_accepted(self):
        spec = self.s.spec(delay_ms=1, requests=1, modes=["sync"])
        spec["target"]["headers"] = {"X-Pad": "p" * 100}
        body = json.dumps(spec).encode()
        body += b" " * (64 * 1024 - len(body))
        self.assertEqual(len(body), 64 * 1024)
        status, doc = self.s.json("POST", "/api/runs", body)
        self.assertEqual(status, 202, doc)
        self.s.wait_status(doc["id"], timeout=60)

    def test_unknown_id_404_on_every_route(self):
        for run_id in ["nope12345678", "A" * 33, "bad-id", "bad%20id"]:
            for method, path in [
                ("GET", ""), ("DELETE", ""), ("GET", "/requests?mode=sync"), ("GET", "/requests"),
                ("GET", "/charts"), ("GET", "/failures"), ("GET", "/events"), ("POST", "/cancel"),
                ("GET", "/export.json"), ("GET", "/export.csv"),
            ]:
                status, doc = self.s.json(method, f"/api/runs/{run_id}{path}")
                self.assertEqual(status, 404, (method, run_id, path))
                self.assertIn("error", doc)

    def test_malformed_query_400(self):
        base = f"/api/runs/{self.done_id}/requests"
        for q in ["", "?mode=", "?mode=fibers", "?mode=SYNC", "?mode=sync&limit=-1",
                  "?mode=sync&limit=0", "?mode=sync&limit=10001", "?mode=sync&limit=abc",
                  "?mode=sync&limit=1.5", "?mode=sync&offset=-1", "?mode=sync&offset=x"]:
            status, doc = self.s.json("GET", base + q)
            self.assertEqual(status, 400, q)
            self.assertIn("error", doc)
        for q in ["?limit=-1", "?limit=0", "?limit=1001", "?limit=x", "?offset=-2"]:
            status, doc = self.s.json("GET", "/api/runs" + q)
            self.assertEqual(status, 400, q)

    def test_unknown_route_404_wrong_method_405(self):
        for path in ["/api/nope", "/api/runs/x/y/z", "/api", "/api/healthz"]:
            status, doc = self.s.json("GET", path)
            self.assertEqual(status, 404, path)
            self.assertIn("error", doc)
        for method, path in [("PUT", "/api/runs"), ("DELETE", "/api/health"),
                             ("POST", f"/api/runs/{self.done_id}"),
                             ("GET", f"/api/runs/{self.done_id}/cancel")]:
            status, resp, body = self.s.request(method, path)
            self.assertEqual(status, 405, (method, path))
            self.assertIn("error", json.loads(body))
            self.assertTrue(resp.getheader("Allow"))

    def test_health_and_config(self):
        self.assertEqual(self.s.json("GET", "/api/health"), (200, {"status": "ok"}))
        status, c = self.s.json("GET", "/api/config")
        self.assertEqual(status, 200)
        self.assertTrue(c["demo_target"].startswith("http://127.0.0.1:"))
        self.assertEqual(c["demo"], {"workers": 3, "delay_ms": 1000})
        lim = c["limits"]
        self.assertEqual(lim["max_requests"], 1000000)
        self.assertEqual(lim["max_concurrency"], {"threads": 1000, "async": 10000, "processes": 256,
                                                  "h2mux": 1000})
        self.assertEqual(lim["queue"], 16)
        self.assertEqual(c["modes"], MODES + ["h2mux"])
        self.assertEqual(c["defaults"]["modes"], MODES)
        self.assertFalse(c["token_required"])
        self.assertEqual(c["defaults"]["target"]["url"], c["demo_target"])
        self.assertTrue(c["version"])


if __name__ == "__main__":
    unittest.main()
