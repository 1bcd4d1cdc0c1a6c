"""`conlab target` as a user runs it: the real binary ($CONLAB_BIN) on 127.0.0.1."""
import http.client
import os
import select
import signal
import socket
import subprocess
import threading
import time
import unittest

from conlab_testlib import server_read_all, wait_until

BIN = os.environ.get("CONLAB_BIN", "")
BODY = b"This is a slow web api"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, timeout=10):
    return subprocess.run([BIN, "target", *args], capture_output=True, text=True, timeout=timeout)


class Server:
    """Starts `conlab target` on a free port and waits (at most 10 s) until it listens."""

    def __init__(self, *args):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [BIN, "target", "--listen", f"127.0.0.1:{self.port}", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        line = b""
        while b"listening" not in line and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
        if b"listening" not in line:
            self.stop()
            raise AssertionError(f"conlab target did not start: {line!r}")

    def request(self, path="/", timeout=30):
        """One GET on a new connection: (status, headers, body, seconds)."""
        t0 = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, resp, body, time.monotonic() - t0
        finally:
            conn.close()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


def setUpModule():
    if not BIN or not os.access(BIN, os.X_OK):
        raise RuntimeError("set CONLAB_BIN to the conlab binary")


class TargetServes(unittest.TestCase):
    # conlab-test: serial (it asserts times: see tests/tests.cmake)
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--workers", "3", "--delay-ms", "1000")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_four_concurrent_requests_like_gunicorn_w3(self):
        results = [None] * 4
        barrier = threading.Barrier(4, timeout=10)

        def one(i):
            barrier.wait()
            results[i] = self.server.request()

        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        self.assertTrue(all(r is not None for r in results), results)
        for status, resp, body, _ in results:
            self.assertEqual(status, 200)
            self.assertEqual(body, BODY)
            self.assertEqual(resp.getheader("Content-Type"), "text/plain; charset=utf-8")
            self.assertEqual(resp.getheader("Content-Length"), str(len(BODY)))
        times = sorted(r[3] for r in results)
        for t in times[:3]:
            self.assertAlmostEqual(t, 1.0, delta=0.15, msg=f"times {times}")
        self.assertAlmostEqual(times[3], 2.0, delta=0.15, msg=f"times {times}")

    def test_keepalive_reuses_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            socks = []
            for _ in range(3):
                conn.request("GET", "/?delay_ms=0")
                resp = conn.getresponse()
                self.assertEqual((resp.status, resp.read()), (200, BODY))
                socks.append(conn.sock)
            self.assertIs(socks[0], socks[2])
        finally:
            conn.close()

    def test_overrides(self):
        status, _, body, secs = self.server.request("/?delay_ms=0&status=418&bytes=50")
        self.assertEqual(status, 418)
        self.assertEqual(body, (BODY * 3)[:50])
        self.assertLess(secs, 0.5)
        status, _, body, secs = self.server.request("/?delay_ms=abc")
        self.assertEqual(status, 400)
        self.assertIn(b"delay_ms", body)
        self.assertLess(secs, 0.5)

    def test_post_body_is_read(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            conn.request("POST", "/?delay_ms=0", body=b"x" * 100000)
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.read()), (200, BODY))
        finally:
            conn.close()


class TargetCommandLine(unittest.TestCase):
    def test_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--workers", r.stdout)
        self.assertIn("--delay-ms", r.stdout)

    def test_bad_flags_exit_2_naming_the_option(self):
        cases = [
            (["--workers", "0"], "--workers"),
            (["--workers", "abc"], "--workers"),
            (["--workers", "10001"], "--workers"),
            (["--delay-ms", "-5"], "--delay-ms"),
            (["--delay-ms", "3600001"], "--delay-ms"),
            (["--listen", "nope"], "--listen"),
            (["--listen", "127.0.0.1:70000"], "--listen"),
            (["--listen"], "--listen"),
            (["--frobnicate"], "--frobnicate"),
        ]
        for args, name in cases:
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(name, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_port_in_use_exits_1(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            r = run("--listen", f"127.0.0.1:{port}")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("in use", r.stderr)

    def test_sigint_stops_cleanly(self):
        server = Server("--workers", "1", "--delay-ms", "5000")
        # A request in progress must not keep the server from stopping.
        conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        conn.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        wait_until(lambda: server_read_all(server.port) >= 1, 10, "the target to read the request")
        t0 = time.monotonic()
        self.assertEqual(server.stop(signal.SIGINT), 0)
        self.assertLess(time.monotonic() - t0, 3)
        conn.close()


if __name__ == "__main__":
    unittest.main()
