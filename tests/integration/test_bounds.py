"""Bounded work per run: a cap on a run's total requests (requests x levels x modes) and on the CPU
its work_us asks for, each configurable; the demo target, which lives in the dashboard's process,
holds at most a quarter of the descriptors, so that a flood of connections to it leaves
/api/health answering."""
import json
import resource
import socket
import time
import unittest

from serve_testlib import Serve

URL = "http://127.0.0.1:1/"
LEVELS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]


class BoundsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Serve()

    @classmethod
    def tearDownClass(cls):
        assert cls.s.stop() == 0, cls.s.errors()

    def refused(self, spec, field, s=None):
        status, doc = (s or self.s).json("POST", "/api/runs", spec)
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc.get("field"), field, doc)
        return doc["error"]

    def test_64_million_requests_are_refused(self):
        msg = self.refused({"target": {"url": URL}, "requests": 1000000, "concurrency": LEVELS,
                            "modes": ["sync", "threads", "async", "processes"]}, "requests")
        self.assertIn("64000000", msg)

    def test_a_cpu_budget_of_hours_is_refused(self):
        msg = self.refused({"target": {"url": URL}, "requests": 100000, "work_us": 1000000,
                            "concurrency": 1000, "modes": ["threads"]}, "work_us")
        self.assertIn("3600", msg)

    def test_within_the_budget_is_accepted(self):
        status, doc = self.s.json("POST", "/api/runs", {"target": {"url": URL}, "requests": 1,
                                                         "work_us": 1000, "modes": ["sync"]})
        self.assertEqual(status, 202, doc)

    def test_limits_are_configurable(self):
        s = Serve(None, "--max-total-requests", "100", "--max-work-s", "1", demo=False)
        try:
            self.refused({"target": {"url": URL}, "requests": 60, "modes": ["sync", "async"]},
                         "requests", s)
            self.refused({"target": {"url": URL}, "requests": 50, "work_us": 30000,
                          "modes": ["sync"]}, "work_us", s)
            status, _ = s.json("POST", "/api/runs", {"target": {"url": URL}, "requests": 50,
                                                      "modes": ["sync", "async"]})
            self.assertEqual(status, 202)
        finally:
            self.assertEqual(s.stop(), 0, s.errors())

    def test_a_flood_of_connections_to_the_demo_target(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        cap = hard // 4
        port = int(self.s.target.split(":")[2].split("/")[0])
        socks, closed = [], 0
        try:
            for _ in range(min(cap + 200, hard - 500)):
                k = socket.create_connection(("127.0.0.1", port), timeout=10)
                socks.append(k)
            time.sleep(1.0)
            # those beyond the cap were closed by the target at once
            for k in socks[cap - 50:]:
                k.setblocking(False)
                try:
                    if k.recv(1) == b"":
                        closed += 1
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
            self.assertGreaterEqual(closed, 150, f"{closed} of {len(socks)} closed, cap {cap}")
            status, doc = self.s.json("GET", "/api/health", timeout=5)
            self.assertEqual((status, doc), (200, {"status": "ok"}))
        finally:
            for k in socks:
                k.close()


def own_address():
    k = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        k.connect(("192.0.2.1", 9))  # no packet is sent
        a = k.getsockname()[0]
        return None if a.startswith("127.") else a
    except OSError:
        return None
    finally:
        k.close()


class QueuePerClientTest(unittest.TestCase):
    def test_one_client_queues_a_few_runs_at_most(self):
        import http.client
        addr = own_address()
        if not addr:
            self.skipTest("no address but loopback")
        tok = "q" * 32
        # (0.0.0.0 allowed as a Host only so that the helper's first request, to the URL the
        # dashboard prints, gets through)
        s = Serve(None, "--listen", "0.0.0.0:0", "--token", tok, "--allow-host", addr,
                  "--allow-host", "0.0.0.0", "--queue-per-client", "3")
        s.host = "127.0.0.1"
        try:
            slow = s.spec(delay_ms=3000, requests=1, modes=["sync"])

            def post_from(host):
                c = http.client.HTTPConnection(host, s.port, timeout=10)
                try:
                    c.request("POST", "/api/runs", json.dumps(slow),
                              {"Content-Type": "application/json",
                               "Authorization": f"Bearer {tok}"})
                    r = c.getresponse()
                    return r.status, json.loads(r.read())
                finally:
                    c.close()

            # the first runs: once the runner has taken it, it no longer waits in the queue
            # (posted back to back, it could still be waiting when the fourth arrives)
            status, first = post_from(addr)
            self.assertEqual(status, 202, first)
            s.wait_status(first["id"], ("running",), timeout=10)
            codes = [post_from(addr)[0] for _ in range(4)]
            # three wait; the next is one too many for this client
            self.assertEqual(codes, [202, 202, 202, 429], codes)
            status, doc = post_from(addr)
            self.assertEqual(status, 429)
            self.assertIn("this client", doc["error"])
            # another client (here loopback, never counted) still gets in
            self.assertEqual(post_from("127.0.0.1")[0], 202)
        finally:
            self.assertEqual(s.stop(), 0, s.errors())


if __name__ == "__main__":
    unittest.main()
