"""`conlab target` with TLS and HTTP/2, as clients meet it: a throwaway CA made with `openssl`,
Python's ssl and http.client, curl, and h2load (one connection, many streams)."""
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from conlab_testlib import run as conlab_run
from test_target import BODY, Server, run

SANITIZED = os.environ.get("CONLAB_SANITIZED", "0") not in ("", "0")
SLACK = 0.4 if SANITIZED else 0.25  # seconds over the ideal a loaded machine may add
PKI = None


def setUpModule():
    global PKI
    for tool in ("openssl", "curl", "h2load"):
        if not shutil.which(tool):
            raise RuntimeError(f"{tool} is missing: run scripts/setup.sh --test")
    PKI = tempfile.mkdtemp(prefix="conlab-pki-")
    steps = [
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
        "-out ca.pem -days 2 -subj '/CN=conlab test CA'",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key "
        "-out srv.csr -subj '/CN=localhost'",
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext",
        "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem "
        "-days 2 -extfile ext",
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout cli.key "
        "-out cli.csr -subj '/CN=client'",
        "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem "
        "-days 2",
    ]
    for step in steps:
        subprocess.run(step, shell=True, cwd=PKI, check=True, capture_output=True, timeout=30)


def tearDownModule():
    if PKI:
        shutil.rmtree(PKI, ignore_errors=True)


def pki(name):
    return os.path.join(PKI, name)


def tls_args():
    return ["--tls-cert", pki("srv.pem"), "--tls-key", pki("srv.key")]


def curl(*args, timeout=20):
    """curl with -sS; returns (exit code, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def h2load(url, n, timeout=30):
    """n requests as n concurrent streams over one connection; returns (seconds, output)."""
    p = subprocess.run(["h2load", "-n", str(n), "-c", "1", "-m", str(n), url],
                       capture_output=True, text=True, timeout=timeout)
    m = re.search(r"finished in ([\d.]+)(ms|s)", p.stdout)
    if not m:
        raise AssertionError(f"h2load: {p.stdout}{p.stderr}")
    secs = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
    return secs, p.stdout


def https_get(port, path="/", cafile=None, timeout=10):
    ctx = ssl.create_default_context(cafile=cafile)
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read(), conn.sock.version(), conn.sock.selected_alpn_protocol()
    finally:
        conn.close()


class OverTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--workers", "3", "--delay-ms", "300", *tls_args())
        cls.url = f"https://localhost:{cls.server.port}/"
        cls.resolve = f"localhost:{cls.server.port}:127.0.0.1"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_python_verifies_the_ca_and_gets_the_body(self):
        status, body, version, alpn = https_get(self.server.port, "/?delay_ms=0&status=201",
                                                cafile=pki("ca.pem"))
        self.assertEqual((status, body), (201, BODY))
        self.assertIn(version, ("TLSv1.2", "TLSv1.3"))
        self.assertIsNone(alpn)  # http.client offers no ALPN: the connection speaks HTTP/1.1

    def test_python_refuses_the_target_without_the_ca(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            https_get(self.server.port, "/?delay_ms=0")

    def test_alpn_answers_h2_and_http11(self):
        for flag, want in (("--http2", "2"), ("--http1.1", "1.1")):
            with self.subTest(flag=flag):
                rc, out, err, _ = curl("--cacert", pki("ca.pem"), "--resolve", self.resolve,
                                       flag, "-w", " %{http_version} %{http_code}",
                                       self.url + "?delay_ms=0")
                self.assertEqual(rc, 0, err)
                self.assertEqual(out, BODY.decode() + f" {want} 200")



class H2c(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--workers", "3", "--delay-ms", "300")
        cls.url = f"http://127.0.0.1:{cls.server.port}/"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_prior_knowledge_is_answered_and_http11_still_is(self):
        rc, out, err, _ = curl("--http2-prior-knowledge", "-w", " %{http_version}",
                               self.url + "?delay_ms=0&bytes=30")
        self.assertEqual((rc, out), (0, (BODY * 2)[:30].decode() + " 2"), err)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            conn.request("GET", "/?delay_ms=0")
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.read()), (200, BODY))
        finally:
            conn.close()

    def test_faults_over_http2_give_the_kinds_of_http11_in_every_mode(self):
        """A stream reset (RST_STREAM: curl's code 92) is a `reset`, as a reset connection is over
        HTTP/1.1; so is a body cut short. One request per connection (--no-keepalive): curl 7.88
        reports the next request on a connection whose stream was reset as a framing error."""
        for fault in ("reset", "bad_length", "close_early"):
            code, doc, err = conlab_run(
                "--url", self.url + f"?delay_ms=0&fault={fault}", "--http", "2-prior-knowledge",
                "--no-keepalive", "--requests", "4", "--concurrency", "2", "--timeout-ms", "2000",
                "--modes", "sync,threads,async,processes", timeout=60)
            self.assertEqual(code, 0, err)
            for r in doc["results"]:
                with self.subTest(fault=fault, mode=r["mode"]):
                    self.assertEqual(r["errors_by_kind"], {"reset": 4}, r["top_error"])
        code, doc, err = conlab_run(
            "--url", self.url + "?delay_ms=0&fault=reset", "--http", "2-prior-knowledge",
            "--requests", "3", "--concurrency", "3", "--connections", "3", "--timeout-ms", "2000",
            "--modes", "h2mux", timeout=60)
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["results"][0]["errors_by_kind"], {"reset": 3}, doc["results"][0])

    def test_faults_over_http2_fail_the_request_in_time(self):
        cases = [("reset", 92), ("close_early", None), ("garbage", None), ("bad_length", None),
                 ("hang", 28)]
        for fault, want in cases:
            with self.subTest(fault=fault):
                rc, _, err, secs = curl("--http2-prior-knowledge", "-m", "1", "-o", os.devnull,
                                        self.url + f"?delay_ms=0&fault={fault}")
                self.assertNotEqual(rc, 0, err)
                if want:
                    self.assertEqual(rc, want, err)
                self.assertLess(secs, 2.5)
        rc, out, err, secs = curl("--http2-prior-knowledge", "-m", "5",
                                  self.url + "?delay_ms=0&fault=slow_body&bytes=4")
        self.assertEqual((rc, out), (0, "This"), err)
        self.assertGreaterEqual(secs, 0.35)


class Waves(unittest.TestCase):
    # conlab-test: serial (it asserts times: see tests/tests.cmake)
    """The model over HTTP/2: streams wait for the same W workers as HTTP/1.1 requests, so 3
    streams take one delay D and 6 take two, over TLS and h2c alike."""

    @classmethod
    def setUpClass(cls):
        cls.tls = Server("--workers", "3", "--delay-ms", "300", *tls_args())
        cls.plain = Server("--workers", "3", "--delay-ms", "300")
        cls.h2c = f"http://127.0.0.1:{cls.plain.port}/"

    @classmethod
    def tearDownClass(cls):
        cls.tls.stop()
        cls.plain.stop()

    def test_streams_over_one_tls_connection_take_d_per_wave(self):
        url = f"https://127.0.0.1:{self.tls.port}/"  # h2load does not verify
        secs, out = h2load(url, 3)
        self.assertIn("Application protocol: h2", out)
        self.assertIn("3 succeeded", out)
        self.assertGreaterEqual(secs, 0.29)
        self.assertLess(secs, 0.3 + SLACK, out)
        secs, out = h2load(url, 6)
        self.assertIn("6 succeeded", out)
        self.assertGreaterEqual(secs, 0.59)
        self.assertLess(secs, 0.6 + SLACK, out)

    def test_three_streams_take_d_and_six_take_2d(self):
        secs, out = h2load(self.h2c, 3)
        self.assertIn("Application protocol: h2c", out)
        self.assertIn("3 succeeded", out)
        self.assertGreaterEqual(secs, 0.29)
        self.assertLess(secs, 0.3 + SLACK, out)
        secs, out = h2load(self.h2c, 6)
        self.assertIn("6 succeeded", out)
        self.assertGreaterEqual(secs, 0.59)
        self.assertLess(secs, 0.6 + SLACK, out)

    def test_workers_are_shared_by_http11_and_http2_clients(self):
        """3 streams and 3 HTTP/1.1 requests at once with W=3: two waves, 0.6 s."""
        done = []
        barrier = threading.Barrier(4, timeout=10)

        def http11():
            barrier.wait()
            conn = http.client.HTTPConnection("127.0.0.1", self.plain.port, timeout=10)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                done.append((resp.status, resp.read()))
            finally:
                conn.close()

        threads = [threading.Thread(target=http11) for _ in range(3)]
        for t in threads:
            t.start()
        barrier.wait()
        t0 = time.monotonic()
        secs, out = h2load(self.h2c, 3)
        for t in threads:
            t.join(timeout=20)
        total = time.monotonic() - t0
        self.assertEqual(done, [(200, BODY)] * 3)
        self.assertIn("3 succeeded", out)
        self.assertGreaterEqual(total, 0.59, f"h2 {secs:.3f} s")
        self.assertLess(total, 0.6 + SLACK + 0.1, f"h2 {secs:.3f} s")


class MutualTls(unittest.TestCase):
    """--tls-client-ca: only clients with a certificate that CA signed are answered."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--delay-ms", "0", "--tls-client-ca", pki("ca.pem"), *tls_args())
        cls.args = ["--cacert", pki("ca.pem"), "--resolve",
                    f"localhost:{cls.server.port}:127.0.0.1", "-m", "5"]
        cls.url = f"https://localhost:{cls.server.port}/"

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_curl_with_and_without_a_client_certificate(self):
        rc, out, err, _ = curl(*self.args, self.url)
        # TLS 1.3 ends the client's handshake before the server's verdict: the refusal (an
        # alert, or the reset after it) meets the client's first send or receive.
        # (curl: 35, 55, 56, or 16 through its HTTP/2 layer; never a timeout)
        self.assertNotIn(rc, (0, 28), err)
        self.assertEqual(out, "")
        for flag, want in (("--http2", "2"), ("--http1.1", "1.1")):
            rc, out, err, _ = curl(*self.args, "--cert", pki("cli.pem"), "--key", pki("cli.key"),
                                   flag, "-w", " %{http_version}", self.url)
            self.assertEqual((rc, out), (0, f"{BODY.decode()} {want}"), err)

    def test_python_with_a_client_certificate(self):
        ctx = ssl.create_default_context(cafile=pki("ca.pem"))
        ctx.load_cert_chain(pki("cli.pem"), pki("cli.key"))
        conn = http.client.HTTPSConnection("localhost", self.server.port, context=ctx,
                                           timeout=10)
        try:
            conn.request("GET", "/")
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.read()), (200, BODY))
        finally:
            conn.close()


class TlsFaults(unittest.TestCase):
    """Each TLS fault fails the client's handshake within a bound; the target stays up."""

    def handshake(self, port, timeout):
        ctx = ssl.create_default_context(cafile=pki("ca.pem"))
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost"):
                pass

    def test_each_fault(self):
        cases = [
            ("tls_bad_cert", ssl.SSLCertVerificationError, 60),
            ("tls_hang", (socket.timeout, TimeoutError), 28),
            ("tls_close", (ConnectionResetError, ssl.SSLError), 35),
        ]
        for fault, python_error, curl_exit in cases:
            with self.subTest(fault=fault):
                server = Server("--fault", fault, *tls_args())
                try:
                    t0 = time.monotonic()
                    with self.assertRaises(python_error):
                        self.handshake(server.port, 1.0)
                    self.assertLess(time.monotonic() - t0, 2.0)
                    rc, _, err, secs = curl("--cacert", pki("ca.pem"), "-m", "1", "--resolve",
                                            f"localhost:{server.port}:127.0.0.1",
                                            f"https://localhost:{server.port}/")
                    self.assertEqual(rc, curl_exit, err)
                    self.assertLess(secs, 2.0)
                    self.assertIsNone(server.proc.poll())
                finally:
                    self.assertEqual(server.stop(), 0)

    def test_bad_cert_needs_no_certificate_of_its_own(self):
        server = Server("--fault", "tls_bad_cert")
        try:
            rc, _, err, _ = curl("-m", "2", f"https://127.0.0.1:{server.port}/")
            self.assertEqual(rc, 60, err)
            rc, out, err, _ = curl("-k", "-m", "5", f"https://127.0.0.1:{server.port}/?delay_ms=0")
            self.assertEqual((rc, out), (0, BODY.decode()), err)
        finally:
            server.stop()


class TlsCommandLine(unittest.TestCase):
    def test_help_names_the_tls_flags_and_faults(self):
        r = run("--help")
        for word in ("--tls-cert", "--tls-key", "--tls-client-ca", "--fault", "tls_bad_cert",
                     "tls_hang",
                     "tls_close", "h2c"):
            self.assertIn(word, r.stdout)

    def test_bad_tls_flags_exit_2_naming_the_flag(self):
        cases = [
            (["--tls-cert", pki("srv.pem")], "--tls-key"),
            (["--tls-key", pki("srv.key")], "--tls-cert"),
            (["--tls-cert", "/nonexistent.pem", "--tls-key", pki("srv.key")], "--tls-cert"),
            (["--tls-cert", pki("srv.key"), "--tls-key", pki("srv.key")], "--tls-cert"),
            (["--tls-cert", pki("srv.pem"), "--tls-key", pki("ca.key")], "--tls-key"),
            (["--fault", "tls_nope"], "--fault"),
            (["--tls-client-ca", pki("ca.pem")], "--tls-client-ca"),
            (["--tls-client-ca", "/nonexistent.pem", *tls_args()], "--tls-client-ca"),
        ]
        for args, name in cases:
            with self.subTest(args=args):
                r = run("--listen", "127.0.0.1:0", *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(name, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_listening_line_says_https(self):
        server = Server(*tls_args())
        try:
            rc, out, err, _ = curl("--cacert", pki("ca.pem"), "--resolve",
                                   f"localhost:{server.port}:127.0.0.1",
                                   f"https://localhost:{server.port}/?delay_ms=0")
            self.assertEqual((rc, out), (0, BODY.decode()), err)
        finally:
            server.stop()
        p = subprocess.Popen([os.environ["CONLAB_BIN"], "target", "--listen", "127.0.0.1:0",
                              *tls_args()], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
        try:
            self.assertIn("listening on https://127.0.0.1:", p.stdout.readline())
        finally:
            p.terminate()
            p.wait(timeout=10)
            p.stdout.close()


if __name__ == "__main__":
    unittest.main()
