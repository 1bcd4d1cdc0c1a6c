"""The dashboard under load it did not ask for: half-open connections (slowloris), many
keep-alive clients, an over-size Content-Length that never comes, event streams with few
threads; keep-alive timeouts on purpose and at their boundary; a stop that does not wait for
civetweb's 2 s poll; retention of the history and a cap on a run's duration."""
import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import unittest

from conlab_testlib import server_read_all, wait_until
from serve_testlib import BIN, Serve, db_integrity

SANITIZED = os.environ.get("CONLAB_SANITIZED") == "1"


def health_ms(s, timeout=5):
    t0 = time.monotonic()
    c = http.client.HTTPConnection(s.host, s.port, timeout=timeout)
    try:
        c.request("GET", "/api/health")
        r = c.getresponse()
        assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}
    finally:
        c.close()
    return (time.monotonic() - t0) * 1000


def half_open(s, n, partial=b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "):
    """n connections that send part of a request head and then nothing."""
    socks = []
    for _ in range(n):
        k = socket.create_connection((s.host, s.port), timeout=10)
        k.sendall(partial)
        socks.append(k)
    return socks


class LoadTest(unittest.TestCase):
    # conlab-test: serial (it asserts times: see tests/tests.cmake)
    @classmethod
    def setUpClass(cls):
        cls.s = Serve()

    @classmethod
    def tearDownClass(cls):
        assert cls.s.stop() == 0, cls.s.errors()

    def test_200_half_open_connections_leave_health_answering(self):
        socks = half_open(self.s, 200)
        try:
            # Every one of them taken and read by a server thread before health is asked.
            wait_until(lambda: server_read_all(self.s.port) >= 200, 10, "200 half-open taken")
            for _ in range(5):
                self.assertLess(health_ms(self.s), 1000)
            # The same with heads that are complete but whose body never comes.
            bodies = half_open(self.s, 50, b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            socks += bodies
            for _ in range(5):
                self.assertLess(health_ms(self.s), 1000)
        finally:
            for k in socks:
                k.close()

    def test_half_open_connections_are_closed_by_the_request_timeout(self):
        """A head that never ends is given up at --request-timeout-ms (1 s here; 5 s by
        default): EOF (or a 408-like answer) after about that long, not before."""
        s = Serve(None, "--request-timeout-ms", "1000", demo=False)
        try:
            k = half_open(s, 1)[0]
            t0 = time.monotonic()
            k.settimeout(15)
            data = k.recv(100)
            took = time.monotonic() - t0
            k.close()
            self.assertGreaterEqual(took, 0.9, data)
            self.assertLess(took, 3, data)
            self.assertLess(health_ms(s), 1000)
        finally:
            self.assertEqual(s.stop(), 0, s.errors())

    def test_request_timeout_flag_is_checked(self):
        for bad in ("50", "600001", "1s", ""):
            p = subprocess.run([BIN, "serve", "--request-timeout-ms", bad, "--no-demo-target",
                                "--listen", "127.0.0.1:0", "--db", ":memory:"],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
            self.assertIn("--request-timeout-ms", p.stderr, bad)

    def test_oversize_content_length_that_never_comes(self):
        """Declared over 64 KiB, never sent: 413 at once, and the thread is not held for long."""
        k = socket.create_connection((self.s.host, self.s.port), timeout=15)
        t0 = time.monotonic()
        k.sendall(b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000000\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = k.recv(4096)
            if not chunk:
                break
            data += chunk
        took = time.monotonic() - t0
        k.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data)
        # At once: not after the request timeout (5 s) spent waiting for a body that never comes.
        self.assertLess(took, 1.0)

    def test_100_keep_alive_clients_are_all_served(self):
        """100 clients, each on one keep-alive connection held open, 20 requests each: every
        request is answered, and a keep-alive reply comes in one piece (no 40 ms Nagle wait)."""
        n, per = 100, 20
        conns = [http.client.HTTPConnection(self.s.host, self.s.port, timeout=10) for _ in range(n)]
        errors, lat = [], []
        lock = threading.Lock()

        def client(c):
            try:
                for _ in range(per):
                    t0 = time.monotonic()
                    c.request("GET", "/api/runs?limit=5")
                    r = c.getresponse()
                    r.read()
                    with lock:
                        lat.append(time.monotonic() - t0)
                        if r.status != 200:
                            errors.append(r.status)
            except Exception as e:  # noqa: BLE001 - any failure is the finding
                with lock:
                    errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(c,)) for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for c in conns:
            c.close()
        self.assertEqual(errors, [])
        self.assertEqual(len(lat), n * per)
        # A sequential keep-alive client: every reply after the first as fast as the first.
        c = http.client.HTTPConnection(self.s.host, self.s.port, timeout=10)
        times = []
        for _ in range(20):
            t0 = time.monotonic()
            c.request("GET", "/api/health")
            c.getresponse().read()
            times.append(time.monotonic() - t0)
        c.close()
        times.sort()
        self.assertLess(times[10], 0.02 if not SANITIZED else 0.05, times)

    def test_event_streams_with_four_threads(self):
        """--threads 4 once refused every event stream (a cap of threads - 8 = -4): half the
        threads may stream, two here, and the third is told to poll."""
        s = Serve(None, "--threads", "4")
        conns = []
        try:
            run_id = s.post_run(s.spec(delay_ms=3000, requests=2, concurrency=1, modes=["sync"]))
            s.wait_status(run_id, ("running",))
            statuses = []
            for _ in range(3):
                c = s.conn(10)
                c.request("GET", f"/api/runs/{run_id}/events")
                r = c.getresponse()
                statuses.append(r.status)
                if r.status == 200:
                    r.fp.readline()
                else:
                    r.read()
                conns.append(c)
            self.assertEqual(statuses, [200, 200, 503])
            for c in conns:
                c.close()
            conns = []
            s.json("POST", f"/api/runs/{run_id}/cancel")
            s.wait_status(run_id)
            # The closed streams' threads notice the end of the run (or the closed socket) at
            # their next write: until then they still hold the two slots, and a third stream is
            # told to poll (seen under ASan). Within a few seconds a stream is served again.
            deadline = time.monotonic() + 10
            while True:
                c = s.conn(10)
                c.request("GET", f"/api/runs/{run_id}/events")
                status = c.getresponse().status
                c.close()
                if status == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.assertEqual(status, 200)
            self.assertEqual(s.events(run_id)[-1][0], "end")
        finally:
            for c in conns:
                c.close()
            self.assertEqual(s.stop(), 0)


class KeepAliveTest(unittest.TestCase):
    def test_keep_alive_timeout_is_set_and_announced(self):
        s = Serve(None, "--keepalive-timeout-ms", "1000", demo=False)
        try:
            with socket.create_connection((s.host, s.port), timeout=10) as k:
                req = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                k.sendall(req)
                first = k.recv(65536)
                self.assertIn(b"Keep-Alive: timeout=1\r\n", first)
                self.assertIn(b"Connection: keep-alive\r\n", first)
                # Just inside the boundary (idle time is what is tested: these sleeps are the
                # test's subject, not waits for something): the connection still serves.
                time.sleep(0.7)
                k.sendall(req)
                self.assertTrue(k.recv(65536).startswith(b"HTTP/1.1 200"))
                # Past it: the server has closed, cleanly (FIN, not a reset) and before any
                # new request could be sent on it.
                time.sleep(1.5)
                self.assertEqual(k.recv(65536), b"")
        finally:
            self.assertEqual(s.stop(), 0)
        d = Serve(None, demo=False)
        try:
            _, resp, _ = d.request("GET", "/api/health")
            self.assertEqual(resp.getheader("Keep-Alive"), "timeout=5")
        finally:
            self.assertEqual(d.stop(), 0)

    def test_requests_at_the_boundary_never_get_a_broken_answer(self):
        """A request sent right at the keep-alive timeout gets a whole answer or finds the
        connection closed before any byte of an answer: never half an answer."""
        s = Serve(None, "--keepalive-timeout-ms", "1000", demo=False)
        outcomes = {"served": 0, "closed": 0}
        try:
            for delay in (0.95, 0.98, 1.0, 1.02, 1.05):
                with socket.create_connection((s.host, s.port), timeout=10) as k:
                    req = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                    k.sendall(req)
                    k.recv(65536)
                    time.sleep(delay)
                    try:
                        k.sendall(req)
                        data = k.recv(65536)
                    except (ConnectionResetError, BrokenPipeError):
                        data = b""
                    if data:
                        self.assertTrue(data.startswith(b"HTTP/1.1 200") and data.endswith(b'{"status":"ok"}'), data)
                        outcomes["served"] += 1
                    else:
                        outcomes["closed"] += 1
        finally:
            self.assertEqual(s.stop(), 0)
        self.assertEqual(sum(outcomes.values()), 5)


class StopTest(unittest.TestCase):
    # conlab-test: serial (it asserts times: see tests/tests.cmake)
    def test_stops_within_300_ms_with_connections_open(self):
        s = Serve()
        limit = 0.3 if not SANITIZED else 1.0
        idle = http.client.HTTPConnection(s.host, s.port, timeout=10)
        idle.request("GET", "/api/health")
        idle.getresponse().read()
        socks = half_open(s, 20)
        run_id = s.post_run(s.spec(delay_ms=5000, requests=2, concurrency=1, modes=["sync"]))
        s.wait_status(run_id, ("running",))
        stream = s.conn(10)
        stream.request("GET", f"/api/runs/{run_id}/events")
        self.assertEqual(stream.getresponse().status, 200)
        try:
            t0 = time.monotonic()
            self.assertEqual(s.stop(signal.SIGTERM), 0)
            took = time.monotonic() - t0
            self.assertLess(took, limit)
        finally:
            for k in socks:
                k.close()
            idle.close()
            stream.close()
        self.assertEqual(db_integrity(s.db), "ok")


class RetentionTest(unittest.TestCase):
    @staticmethod
    def run_ids(s):
        return [r["id"] for r in s.json("GET", "/api/runs?limit=100")[1]["runs"]]

    def test_max_runs_keeps_the_newest(self):
        s = Serve(None, "--max-runs", "2")
        try:
            ids = []
            for _ in range(4):
                ids.append(s.post_run(s.spec(delay_ms=1, requests=2, modes=["sync"])))
                s.wait_status(ids[-1])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                runs = [r["id"] for r in s.json("GET", "/api/runs")[1]["runs"]]
                if len(runs) == 2:
                    break
                time.sleep(0.05)
            self.assertEqual(runs, [ids[3], ids[2]])
            self.assertEqual(s.json("GET", f"/api/runs/{ids[0]}")[0], 404)
            con = sqlite3.connect(f"file:{s.db}?mode=ro", uri=True)
            self.assertEqual(con.execute("SELECT count(*) FROM requests").fetchone()[0], 4)
            con.close()
            self.assertIn("deleted the 1 oldest run", s.errors())
        finally:
            self.assertEqual(s.stop(), 0)

    def test_max_db_mb_bounds_the_data(self):
        s = Serve(None, "--max-db-mb", "1")
        try:
            ids = []
            # One run's rows and charts fit under 1 MiB (about 750 KB since records carry their
            # connection's fields), two do not.
            for _ in range(3):
                ids.append(s.post_run(s.spec(delay_ms=0, requests=2500, concurrency=20,
                                             modes=["async"])))
                self.assertEqual(s.wait_status(ids[-1], timeout=120)["status"], "done")
            deadline = time.monotonic() + 10
            while "deleted" not in s.errors() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn("deleted the", s.errors())
            con = sqlite3.connect(f"file:{s.db}?mode=ro", uri=True)
            pages = con.execute("PRAGMA page_count").fetchone()[0]
            free = con.execute("PRAGMA freelist_count").fetchone()[0]
            size = con.execute("PRAGMA page_size").fetchone()[0]
            left = [r[0] for r in con.execute("SELECT id FROM runs ORDER BY created_us")]
            con.close()
            self.assertLessEqual((pages - free) * size, 1 << 20)
            self.assertIn(ids[2], left)
            self.assertNotIn(ids[0], left)
            # The limit holds during a run too: a run that would take the file past twice the
            # limit ends failed naming the store, and what was stored stays readable.
            big = s.post_run(s.spec(delay_ms=0, requests=15000, concurrency=20, modes=["async"]))
            run = s.wait_status(big, timeout=120)
            self.assertEqual(run["status"], "failed", run)
            self.assertTrue(run["message"].startswith("store full"), run["message"])
            self.assertEqual(s.json("GET", f"/api/runs/{big}")[1]["status"], "failed")
            self.assertEqual(s.json("GET", "/api/health"), (200, {"status": "ok"}))
            con = sqlite3.connect(f"file:{s.db}?mode=ro", uri=True)
            pages = con.execute("PRAGMA page_count").fetchone()[0]
            con.close()
            self.assertLessEqual(pages * size, 2 << 20)
            # the runner goes on: a run that fits runs
            ok = s.post_run(s.spec(delay_ms=1, requests=5, modes=["sync"]))
            self.assertEqual(s.wait_status(ok)["status"], "done")
        finally:
            self.assertEqual(s.stop(), 0)
        self.assertEqual(db_integrity(s.db), "ok")

    def test_max_run_s_cancels_a_run_that_never_ends(self):
        s = Serve(None, "--max-run-s", "1")
        try:
            t0 = time.monotonic()
            stuck = s.post_run({"target": {"url": f"{s.target}?fault=hang&delay_ms=0"},
                                "requests": 1000, "concurrency": 1, "modes": ["sync"],
                                "timeout_ms": 30000})
            nxt = s.post_run(s.spec(delay_ms=1, requests=1, modes=["sync"]))
            run = s.wait_status(stuck, timeout=20)
            self.assertEqual(run["status"], "cancelled")
            self.assertIn("--max-run-s", run["message"])
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual(s.wait_status(nxt, timeout=20)["status"], "done")
        finally:
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main()
