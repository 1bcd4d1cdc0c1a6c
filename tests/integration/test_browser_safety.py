"""The contract's "Browser safety": what a page of another site, a rebound DNS name or a stray
client can do with the dashboard: Host and Origin checks, no CORS, JSON bodies only, the
methods that reach the server, headers on pages, the token for reads, and secrets shown as ***
in every answer, stream and export while the run used them for real."""
import http.client
import http.server
import json
import os
import socket
import sqlite3
import threading
import unittest
from urllib.parse import quote

from serve_testlib import Serve

PAGES = ["/", "/runs/abc", "/history", "/app.js", "/style.css", "/nope.html"]


def raw(host, port, data, timeout=10):
    """Sends raw bytes, returns everything the server sends until it closes or goes quiet."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out:
                    head, _, body = out.partition(b"\r\n\r\n")
                    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                         if l.lower().startswith(b"content-length:")]
                    if n and len(body) >= n[0]:
                        break
        except socket.timeout:
            pass
        return out


class Recorder(http.server.BaseHTTPRequestHandler):
    """A target that keeps the headers and path of every request it gets."""
    protocol_version = "HTTP/1.1"
    seen = []

    def do_GET(self):
        Recorder.seen.append((self.path, dict(self.headers)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class BrowserSafetyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.environ["CONLAB_ALLOW_HOSTS"] = "env-name.example, other.example"
        try:
            cls.s = Serve(None, "--allow-host", "conlab.example", "--secret-header", "X-Api-Key")
        finally:
            del os.environ["CONLAB_ALLOW_HOSTS"]
        cls.hostport = f"{cls.s.host}:{cls.s.port}"
        cls.rec = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        threading.Thread(target=cls.rec.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.rec.shutdown()
        assert cls.s.stop() == 0, cls.s.errors()

    def get(self, path, headers=None, method="GET", body=None):
        return self.s.request(method, path, body, headers if headers is not None else {})

    def assert_no_cors(self, resp):
        for k, _ in resp.getheaders():
            self.assertFalse(k.lower().startswith("access-control-"), resp.getheaders())

    def test_host_must_be_ours(self):
        for host in ["attacker.example", "attacker.example:%d" % self.s.port, "127.0.0.1.evil.example",
                     "localhost.evil.example", "10.0.0.1", "conlab.example.evil", "[::2]", "a:b:c", "",
                     "127.0.0.1:80:80"]:
            for path in ["/api/runs", "/api/health", "/", "/app.js"]:
                status, resp, body = self.get(path, {"Host": host})
                self.assertEqual(status, 403, (host, path, body))
                self.assert_no_cors(resp)
        for host in ["localhost", f"localhost:{self.s.port}", "LOCALHOST.", "127.0.0.1",
                     f"127.0.0.1:{self.s.port}", "127.9.9.9", f"[::1]:{self.s.port}",
                     "conlab.example", f"Conlab.Example:{self.s.port}", "env-name.example",
                     "other.example:1234"]:
            status, _, body = self.get("/api/runs", {"Host": host})
            self.assertEqual(status, 200, (host, body))
        # A client without Host (HTTP/1.0, no browser) is not a rebinding page.
        out = raw(self.s.host, self.s.port, b"GET /api/health HTTP/1.0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 200"), out)

    def test_foreign_origin_is_refused_and_gets_no_cors(self):
        before = len(self.s.json("GET", "/api/runs?limit=1000")[1]["runs"])
        spec = json.dumps(self.s.spec(delay_ms=1, requests=1, modes=["sync"]))
        for origin in ["http://evil.example", "null", f"http://localhost:{self.s.port + 1}",
                       f"https://evil.example:{self.s.port}", "http://127.0.0.1",
                       f"ftp://127.0.0.1:{self.s.port}", "http://conlab.example"]:
            for method, path, body, ctype in [
                    ("GET", "/api/runs", None, None), ("GET", "/api/config", None, None),
                    ("POST", "/api/runs", spec, "application/json"),
                    ("POST", "/api/runs", spec, "text/plain"),
                    ("DELETE", "/api/runs/abcdef", None, None), ("GET", "/", None, None)]:
                headers = {"Origin": origin, "Host": self.hostport}
                if ctype:
                    headers["Content-Type"] = ctype
                status, resp, data = self.get(path, headers, method, body)
                self.assertEqual(status, 403, (origin, method, path, data))
                self.assert_no_cors(resp)
            # The preflight a page would need first is refused too.
            status, resp, _ = self.get("/api/runs", {
                "Origin": origin, "Access-Control-Request-Method": "DELETE",
                "Access-Control-Request-Headers": "authorization,content-type"}, "OPTIONS")
            self.assertEqual(status, 403, origin)
            self.assert_no_cors(resp)
        self.assertEqual(len(self.s.json("GET", "/api/runs?limit=1000")[1]["runs"]), before)
        # Its own origin, in any spelling of the Host it used, is fine.
        for origin, host in [(f"http://{self.hostport}", self.hostport),
                             (f"http://localhost:{self.s.port}", f"localhost:{self.s.port}"),
                             ("https://conlab.example", "conlab.example"),
                             ("http://conlab.example:80", "conlab.example")]:
            status, resp, _ = self.get("/api/runs", {"Origin": origin, "Host": host})
            self.assertEqual(status, 200, origin)
            self.assert_no_cors(resp)

    def test_options_answers_without_cors(self):
        for path, allow in [("/api/runs", "GET, HEAD, POST, DELETE, OPTIONS"), ("/", "GET, HEAD, OPTIONS")]:
            status, resp, _ = self.get(path, {}, "OPTIONS")
            self.assertEqual(status, 204)
            self.assertEqual(resp.getheader("Allow"), allow)
            self.assert_no_cors(resp)
            self.assertIsNone(resp.getheader("DAV"))

    def test_only_five_methods_reach_the_server(self):
        for method in ["PUT", "PATCH", "PROPFIND", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK",
                       "TRACE", "PROPPATCH", "FOO"]:
            for path in ["/", "/app.js", "/api/runs"]:
                status, resp, _ = self.get(path, {}, method)
                # civetweb refuses methods it does not know, TRACE, and COPY or MOVE without a
                # Destination (400) before anything else sees them; the rest are ours (405).
                self.assertIn(status, (400, 405), (method, path))
                if status == 405:
                    self.assertIn("GET", resp.getheader("Allow"))
        # WebDAV on the page's files once answered 207.
        self.assertEqual(self.get("/", {}, "PROPFIND")[0], 405)
        for method in ["POST", "DELETE"]:
            status, _, _ = self.get("/app.js", {}, method)
            self.assertEqual(status, 405, method)
        self.assertEqual(self.get("/app.js")[0], 200)

    def test_pages_carry_csp_and_no_framing(self):
        for path in PAGES:
            # Even its own origin gets no CORS header: the page never needs one.
            for headers in ({}, {"Origin": f"http://{self.hostport}", "Host": self.hostport}):
                self.assert_no_cors(self.get(path, headers)[1])
            status, resp, _ = self.get(path)
            self.assertIn(status, (200, 404), path)
            csp = resp.getheader("Content-Security-Policy") or ""
            self.assertIn("frame-ancestors 'none'", csp, path)
            self.assertIn("script-src 'self'", csp, path)
            self.assertEqual(resp.getheader("X-Frame-Options"), "DENY", path)
            self.assertEqual(resp.getheader("X-Content-Type-Options"), "nosniff", path)
        status, resp, _ = self.get("/api/health")
        self.assertEqual(resp.getheader("X-Frame-Options"), "DENY")
        self.assertIn("default-src 'none'", resp.getheader("Content-Security-Policy"))

    def test_nul_byte_in_the_body(self):
        body = json.dumps(self.s.spec(delay_ms=1)).encode() + b"\x00{}"
        status, doc = self.s.json("POST", "/api/runs", body)
        self.assertEqual(status, 400, doc)
        self.assertIn("NUL", doc["error"])

    def test_secrets_are_stored_used_and_shown_as_stars(self):
        port = self.rec.server_address[1]
        url = f"http://alice:pa55word@127.0.0.1:{port}/secret-path"
        secrets = {"Authorization": "Bearer tok-AUTH-123", "Cookie": "sid=COOKIE-456",
                   "Proxy-Authorization": "Basic PROXY-789", "X-Api-Key": "KEY-000",
                   "X-Other": "visible"}
        Recorder.seen.clear()
        run_id = self.s.post_run({"target": {"url": url, "headers": secrets}, "requests": 2,
                                  "concurrency": 1, "modes": ["sync", "async"]})
        self.assertEqual(self.s.wait_status(run_id)["status"], "done")
        # The target got the real values: a run is what was submitted.
        self.assertEqual(len(Recorder.seen), 4)
        for path, got in Recorder.seen:
            self.assertEqual(path, "/secret-path")
            for k, v in secrets.items():
                self.assertEqual(got[k], v, k)
        hidden = [b"tok-AUTH-123", b"COOKIE-456", b"PROXY-789", b"KEY-000", b"pa55word"]
        answers = {
            "run": self.get(f"/api/runs/{run_id}")[2],
            "list": self.get("/api/runs")[2],
            "list by url": self.get("/api/runs?url=" + quote(url, safe=""))[2],
            "export.json": self.get(f"/api/runs/{run_id}/export.json")[2],
            "export.csv": self.get(f"/api/runs/{run_id}/export.csv")[2],
            "events": json.dumps(self.s.events(run_id)).encode(),
        }
        for what, data in answers.items():
            for h in hidden:
                self.assertNotIn(h, data, what)
        spec = json.loads(answers["run"])["spec"]
        self.assertEqual(spec["target"]["url"], f"http://alice:***@127.0.0.1:{port}/secret-path")
        self.assertEqual(spec["target"]["headers"], {"Authorization": "***", "Cookie": "***",
                                                     "Proxy-Authorization": "***",
                                                     "X-Api-Key": "***", "X-Other": "visible"})
        # Filtering history by the URL works with either form of it.
        for q in [url, spec["target"]["url"]]:
            runs = self.s.json("GET", "/api/runs?url=" + quote(q, safe=""))[1]["runs"]
            self.assertEqual([r["id"] for r in runs], [run_id], q)
        # Stored for real: the database keeps what runs again.
        con = sqlite3.connect(f"file:{self.s.db}?mode=ro", uri=True)
        stored = json.loads(con.execute("SELECT spec_json FROM runs WHERE id = ?", (run_id,)).fetchone()[0])
        con.close()
        self.assertEqual(stored["target"]["headers"], secrets)
        self.assertEqual(stored["target"]["url"], url)


class PublicReadTest(unittest.TestCase):
    def test_public_read_opens_reads_only(self):
        s = Serve(None, "--token", "tk", "--public-read")
        try:
            run_id = s.post_run(s.spec(delay_ms=1, requests=1, modes=["sync"]))
            s.wait_status(run_id)
            for path in ["/api/runs", f"/api/runs/{run_id}", "/api/config",
                         f"/api/runs/{run_id}/export.csv"]:
                self.assertEqual(s.request("GET", path, headers={})[0], 200, path)
            self.assertEqual(s.json("GET", "/api/config", headers={})[1]["read_token_required"], False)
            self.assertEqual(s.json("POST", "/api/runs", s.spec(), headers={})[0], 401)
            self.assertEqual(s.json("DELETE", f"/api/runs/{run_id}", headers={})[0], 401)
        finally:
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main()
