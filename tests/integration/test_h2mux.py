# conlab-test: serial (it asserts times: see tests/tests.cmake)
"""The fifth mode, h2mux: C HTTP/2 streams in flight over K connections on one thread. Against
nginx over TLS (HTTP/2 by ALPN, a slow location), nghttpd over h2c, and HTTP/1.1-only targets,
which must fail the mode clearly, never run it silently over HTTP/1.1."""
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest

from conlab_testlib import BIN, free_port, read_jsonl, run, stop, wait_port
from serve_testlib import Serve
from tls_testlib import HOST, Nghttpd, Nginx, Pki

SLEEP = 0.5  # nginx's /slow answers after this long, whatever else is in flight


class H2mux(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.nginx = Nginx(cls.pki, sleep=SLEEP)
        cls.h2c = Nghttpd()

    @classmethod
    def tearDownClass(cls):
        cls.nginx.close()
        cls.h2c.close()
        cls.pki.close()

    def tls(self, port, path="/slow"):
        return ["--url", f"https://{HOST}:{port}{path}", "--resolve", f"{HOST}:{port}:127.0.0.1",
                "--cacert", self.pki.path("ca.pem")]

    def run_h2mux(self, *args):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "r.jsonl")
            code, doc, err = run(*args, "--modes", "h2mux", "--requests-out", out)
            self.assertEqual(code, 0, err)
            return doc["results"][0], read_jsonl(out)

    def test_three_streams_over_one_connection_take_one_delay(self):
        """C=3, K=1: three requests in flight on one connection, so three slow answers take one
        delay (the talk's lesson without threads, processes or more sockets)."""
        r, recs = self.run_h2mux(*self.tls(self.nginx.port), "--requests", "3",
                                 "--concurrency", "3")
        self.assertEqual((r["ok"], r["connections"], r["http_versions"]), (3, 1, {"2": 3}), r)
        self.assertGreaterEqual(r["wall_ms"], SLEEP * 1000)
        self.assertLess(r["wall_ms"], SLEEP * 1000 * 1.8, r)
        self.assertEqual(sorted(x["lane"] for x in recs), [0, 1, 2])
        self.assertEqual({x["conn"] for x in recs}, {0})
        self.assertEqual(sorted(x["reused"] for x in recs), [False, True, True])
        # the streams overlap: each started before any ended
        self.assertLess(max(x["start_us"] for x in recs), min(x["end_us"] for x in recs))

    def test_streams_spread_over_k_connections(self):
        r, recs = self.run_h2mux(*self.tls(self.nginx.port), "--requests", "12",
                                 "--concurrency", "6", "--connections", "2")
        self.assertEqual((r["ok"], r["connections"], r["lanes"]), (12, 2, 6), r)
        self.assertLess(r["wall_ms"], SLEEP * 1000 * 2 * 1.8, r)
        for x in recs:
            self.assertEqual(x["conn"], x["lane"] % 2, x)
        self.assertEqual(sum(1 for x in recs if x["reused"] is False), 2)

    def test_h2c_with_prior_knowledge(self):
        r, recs = self.run_h2mux("--url", f"http://127.0.0.1:{self.h2c.port}/", "--http",
                                 "2-prior-knowledge", "--requests", "40", "--concurrency", "4",
                                 "--connections", "2")
        self.assertEqual((r["ok"], r["connections"], r["http_versions"]), (40, 2, {"2": 40}), r)
        self.assertEqual({x["conn"] for x in recs}, {0, 1})
        self.assertIsNone(recs[0]["tls_us"])

    def test_an_http11_only_target_fails_the_mode_clearly(self):
        for args in (["--url", f"http://127.0.0.1:{self.nginx.plain_port}/"],
                     self.tls(self.nginx.tls11_port, "/")):
            t = time.monotonic()
            code, doc, err = run(*args, "--modes", "h2mux", "--requests", "20",
                                 "--concurrency", "4")
            self.assertEqual(code, 1, (args, err))
            self.assertIn("h2mux", err)
            self.assertIn("HTTP/1.1", err)
            self.assertIn("HTTP/2", err)
            self.assertLess(time.monotonic() - t, 10)

    def test_ctrl_c_ends_the_streams_at_once(self):
        port = self.nginx.port
        p = subprocess.Popen([BIN, "run", *self.tls(port), "--modes", "h2mux", "--requests",
                              "30", "--concurrency", "3", "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.2)
        t = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        self.assertLess(time.monotonic() - t, 1.0)
        self.assertEqual(p.returncode, 130, err)
        r = json.loads(out)["results"][0]
        self.assertTrue(r["cancelled"], r)
        self.assertEqual(r["ok"] + r["errors"], 30, r)
        self.assertEqual(r["errors"], r["errors_by_kind"].get("cancelled"), r)
        self.assertGreaterEqual(r["ok"], 3, r)

    def test_other_modes_run_beside_it(self):
        code, doc, err = run(*self.tls(self.nginx.port, "/"), "--modes", "async,h2mux",
                             "--requests", "6", "--concurrency", "3")
        self.assertEqual(code, 0, err)
        self.assertEqual([(r["mode"], r["http_versions"]) for r in doc["results"]],
                         [("async", {"1.1": 6}), ("h2mux", {"2": 6})])

    def test_bad_h2mux_specs_name_the_flag(self):
        url = self.tls(self.nginx.port, "/")
        for extra, flag in ((["--connections", "0"], "--connections"),
                            (["--connections", "1001"], "--connections"),
                            (["--concurrency", "1001"], "--concurrency"),
                            (["--no-keepalive"], "--no-keepalive")):
            code, _, err = run(*url, "--modes", "h2mux", *extra)
            self.assertEqual(code, 2, (extra, err))
            self.assertTrue(err.startswith(f"conlab run: {flag}"), (extra, err))
        code, _, err = run(*url, "--modes", "h2mux", "--concurrency", "1001", "--max-h2mux",
                           "2000", "--requests", "1")
        self.assertEqual(code, 0, err)

    def test_through_the_dashboard(self):
        s = Serve(None)
        try:
            status, config = s.json("GET", "/api/config")
            self.assertIn("h2mux", config["modes"])
            self.assertEqual(config["limits"]["max_concurrency"]["h2mux"], 1000)
            self.assertEqual(config["defaults"]["modes"],
                             ["sync", "threads", "async", "processes"])
            port = self.nginx.port
            spec = {"target": {"url": f"https://{HOST}:{port}/slow",
                               "resolve": [f"{HOST}:{port}:127.0.0.1"],
                               "tls": {"ca": self.pki.text("ca.pem")}},
                    "requests": 4, "concurrency": 4, "connections": 2, "modes": ["h2mux"]}
            run_id = s.post_run(spec)
            done = s.wait_status(run_id)
            self.assertEqual(done["status"], "done", done)
            r = done["results"][0]
            self.assertEqual((r["mode"], r["ok"], r["connections"]), ("h2mux", 4, 2), r)
            self.assertEqual(done["spec"]["connections"], 2)
            status, page = s.json("GET", f"/api/runs/{run_id}/requests?mode=h2mux")
            self.assertEqual(status, 200, page)
            self.assertEqual(sorted((x["lane"], x["conn"]) for x in page["requests"]),
                             [(0, 0), (1, 1), (2, 0), (3, 1)])
            self.assertEqual({x["http_version"] for x in page["requests"]}, {"2"})
        finally:
            s.stop()


def start_demo(*extra):
    """`conlab target` with the talk's model (3 workers, 1 s) on a free port."""
    port = free_port()
    proc = subprocess.Popen([BIN, "target", "--listen", f"127.0.0.1:{port}", "--workers", "3",
                             "--delay-ms", "1000", *extra], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    wait_port(port)
    return proc, port


class H2muxAgainstTheDemoTarget(unittest.TestCase):
    """The talk's next chapter: 3 requests, 3 workers, 1 s, over ONE HTTP/2 connection take
    1 s in h2mux: the server counts streams, not connections."""

    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.h2c, cls.h2c_port = start_demo()
        cls.tls, cls.tls_port = start_demo("--tls-cert", cls.pki.path("server.pem"),
                                           "--tls-key", cls.pki.path("server.key"))

    @classmethod
    def tearDownClass(cls):
        stop(cls.h2c)
        stop(cls.tls)
        cls.pki.close()

    def check(self, r):
        self.assertEqual((r["mode"], r["ok"], r["connections"]), ("h2mux", 3, 1), r)
        self.assertEqual(r["http_versions"], {"2": 3}, r)
        self.assertGreaterEqual(r["wall_ms"], 1000, r)
        self.assertLess(r["wall_ms"], 1500, r)

    def test_h2c_prior_knowledge(self):
        code, doc, err = run("--url", f"http://127.0.0.1:{self.h2c_port}/", "--http",
                             "2-prior-knowledge", "--modes", "h2mux", "--requests", "3",
                             "--concurrency", "3")
        self.assertEqual(code, 0, err)
        self.check(doc["results"][0])

    def test_over_tls(self):
        port = self.tls_port
        code, doc, err = run("--url", f"https://{HOST}:{port}/", "--resolve",
                             f"{HOST}:{port}:127.0.0.1", "--cacert", self.pki.path("ca.pem"),
                             "--modes", "h2mux", "--requests", "3", "--concurrency", "3")
        self.assertEqual(code, 0, err)
        self.check(doc["results"][0])


if __name__ == "__main__":
    unittest.main()
