"""`conlab serve --token T --queue 2`: who may start, cancel and delete runs, the bounded queue
(429), cancelling queued and running runs, deleting a running one. One server for the file."""
import time
import unittest

from serve_testlib import Serve, db_integrity, db_rows_per_mode

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class QueueTokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Serve(None, "--token", TOKEN, "--queue", "2")

    @classmethod
    def tearDownClass(cls):
        rc = cls.s.stop()
        assert rc == 0, f"serve exited {rc}: {cls.s.errors()}"
        assert db_integrity(cls.s.db) == "ok"

    def long_spec(self, requests=3):
        return self.s.spec(delay_ms=2000, requests=requests, concurrency=1, modes=["sync"])

    def idle(self):
        """Cancels whatever is still active, so that each test starts with an empty queue."""
        _, doc = self.s.json("GET", "/api/runs?limit=1000")
        for r in doc["runs"]:
            if r["status"] in ("queued", "running"):
                self.s.json("POST", f"/api/runs/{r['id']}/cancel", headers=AUTH)
        for r in doc["runs"]:
            if r["status"] in ("queued", "running"):
                self.s.wait_status(r["id"], timeout=20)

    def setUp(self):
        self.idle()

    def test_token(self):
        self.assertTrue(self.s.json("GET", "/api/config")[1]["token_required"])
        spec = self.s.spec(delay_ms=1, requests=1, modes=["sync"])
        for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                        {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": "Bearer "},
                        {"Authorization": f"Basic {TOKEN}"}]:
            status, doc = self.s.json("POST", "/api/runs", spec, headers)
            self.assertEqual(status, 401, headers)
            self.assertIn("error", doc)
        run_id = self.s.post_run(spec, AUTH)
        self.s.wait_status(run_id, timeout=30)
        # Reads need it too (only health is open), and the answers are the same with it.
        for path in [f"/api/runs/{run_id}", "/api/runs", f"/api/runs/{run_id}/export.csv",
                     f"/api/runs/{run_id}/export.json", f"/api/runs/{run_id}/charts",
                     f"/api/runs/{run_id}/requests?mode=sync", f"/api/runs/{run_id}/events",
                     "/api/config"]:
            self.assertEqual(self.s.request("GET", path, headers={})[0], 401, path)
            self.assertEqual(self.s.request("GET", path, headers={"Authorization": "bearer " + TOKEN})[0], 200, path)
        self.assertEqual(self.s.request("GET", "/api/health", headers={})[0], 200)
        # Cancel and delete need it too.
        self.assertEqual(self.s.json("POST", f"/api/runs/{run_id}/cancel", headers={})[0], 401)
        self.assertEqual(self.s.json("DELETE", f"/api/runs/{run_id}", headers={})[0], 401)
        self.assertEqual(self.s.json("POST", f"/api/runs/{run_id}/cancel", headers=AUTH)[0], 409)
        self.assertEqual(self.s.request("DELETE", f"/api/runs/{run_id}", headers=AUTH)[0], 204)
        self.assertEqual(self.s.json("GET", f"/api/runs/{run_id}")[0], 404)

    def test_401_with_a_body_keeps_the_answer(self):
        status, doc = self.s.json("POST", "/api/runs", b"x" * 100000, headers={})
        self.assertEqual(status, 401)
        self.assertIn("error", doc)

    def test_queue_full_429_and_cancel_queued(self):
        running = self.s.post_run(self.long_spec(), AUTH)
        self.s.wait_status(running, ("running",), timeout=10)
        q1 = self.s.post_run(self.long_spec(), AUTH)
        q2 = self.s.post_run(self.long_spec(), AUTH)
        status, doc = self.s.json("POST", "/api/runs", self.long_spec(), AUTH)
        self.assertEqual(status, 429, doc)
        self.assertIn("error", doc)
        _, run = self.s.json("GET", f"/api/runs/{q2}")
        self.assertEqual(run["status"], "queued")
        self.assertEqual(run["progress"]["position"], 1)
        self.assertEqual((run["progress"]["done"], run["progress"]["total"]), (0, 3))
        # A queued run leaves the queue at once, which frees a slot.
        status, doc = self.s.json("POST", f"/api/runs/{q1}/cancel", headers=AUTH)
        self.assertEqual(status, 202)
        self.assertEqual(self.s.json("GET", f"/api/runs/{q1}")[1]["status"], "cancelled")
        self.assertEqual(self.s.json("POST", f"/api/runs/{q1}/cancel", headers=AUTH)[0], 409)
        self.assertEqual(db_rows_per_mode(self.s.db, q1), {})
        events = self.s.events(q1, timeout=10)
        self.assertEqual([e for e, _ in events], ["end"])
        self.assertEqual(events[0][1]["status"], "cancelled")
        q3 = self.s.post_run(self.long_spec(), AUTH)
        self.assertEqual(self.s.json("GET", f"/api/runs/{q2}")[1]["progress"]["position"], 0)
        for run_id in (running, q2, q3):
            self.assertEqual(self.s.json("POST", f"/api/runs/{run_id}/cancel", headers=AUTH)[0],
                             202)
        for run_id in (running, q2, q3):
            self.assertEqual(self.s.wait_status(run_id, timeout=20)["status"], "cancelled")

    def test_cancel_running_with_an_event_stream_open(self):
        run_id = self.s.post_run(self.long_spec(requests=5), AUTH)
        self.s.wait_status(run_id, ("running",), timeout=10)
        t0 = time.monotonic()
        import threading
        got = {}
        opened = threading.Event()
        reader = threading.Thread(target=lambda: got.update(
            ev=self.s.events(run_id, timeout=30, on_first=opened.set)))
        reader.start()
        self.assertTrue(opened.wait(10), "the stream never sent its first event")
        self.assertEqual(self.s.json("POST", f"/api/runs/{run_id}/cancel", headers=AUTH)[0], 202)
        reader.join(30)
        self.assertFalse(reader.is_alive())
        names = [e for e, _ in got["ev"]]
        self.assertEqual(names[0], "progress")
        self.assertEqual(names[-1], "end")
        self.assertEqual(got["ev"][-1][1]["status"], "cancelled")
        self.assertLess(time.monotonic() - t0, 10)

    def test_delete_running(self):
        run_id = self.s.post_run(self.long_spec(), AUTH)
        self.s.wait_status(run_id, ("running",), timeout=10)
        t0 = time.monotonic()
        status, _, body = self.s.request("DELETE", f"/api/runs/{run_id}", headers=AUTH)
        self.assertEqual(status, 204)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(self.s.json("GET", f"/api/runs/{run_id}")[0], 404)
        self.assertEqual(db_rows_per_mode(self.s.db, run_id), {})

    def test_delete_queued(self):
        running = self.s.post_run(self.long_spec(), AUTH)
        queued = self.s.post_run(self.long_spec(), AUTH)
        self.assertEqual(self.s.request("DELETE", f"/api/runs/{queued}", headers=AUTH)[0], 204)
        self.assertEqual(self.s.json("GET", f"/api/runs/{queued}")[0], 404)
        self.s.json("POST", f"/api/runs/{running}/cancel", headers=AUTH)
        self.s.wait_status(running, timeout=20)


if __name__ == "__main__":
    unittest.main()
