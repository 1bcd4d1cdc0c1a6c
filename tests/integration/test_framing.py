"""Request framing that request smuggling relies on is refused before any route runs, and the odd
request forms of HTTP/1.1 get an answer (a status line), never a dropped connection: a raw
socket sends each head exactly as written, one server for the whole table."""
import socket
import time
import unittest

from serve_testlib import Serve

H = b"Host: 127.0.0.1\r\n"
SPEC = b'{"target":{"url":"http://127.0.0.1:1/"},"requests":1,"modes":["sync"]}'


def post(extra, body=SPEC):
    return (b"POST /api/runs HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\n" + extra +
            b"\r\n" + body)


def many_headers(n, tail=b""):
    return (b"GET /api/health HTTP/1.1\r\n" + H +
            b"".join(b"X-%d: v\r\n" % i for i in range(n - 1)) + tail + b"\r\n")


# (name, raw request, expected statuses of the first answer)
CASES = [
    ("content-length with transfer-encoding",
     post(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"), {400}),
    ("transfer-encoding with content-length",
     post(b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"), {400}),
    ("two content-lengths, 0 then N",
     post(b"Content-Length: 0\r\nContent-Length: %d\r\n" % len(SPEC)), {400}),
    ("two equal content-lengths",
     post(b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(SPEC), len(SPEC))), {400}),
    ("content-length +N", post(b"Content-Length: +%d\r\n" % len(SPEC)), {400}),
    ("content-length list", post(b"Content-Length: %d, %d\r\n" % (len(SPEC), len(SPEC))), {400}),
    ("content-length hex", post(b"Content-Length: 0x10\r\n"), {400}),
    ("content-length trailing junk", post(b"Content-Length: %dabc\r\n" % len(SPEC)), {400}),
    ("content-length empty", post(b"Content-Length: \r\n"), {400, 411}),
    ("two transfer-encodings", post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                                    b"0\r\n\r\n"), {400}),
    ("space before the colon", post(b"Content-Length : %d\r\n" % len(SPEC)), {400}),
    ("folded header line",
     b"GET /api/health HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\nX-B: c\r\n\r\n", {400}),
    ("folded line hides a content-length",
     post(b"X-A: a\r\n\tb\r\nContent-Length: %d\r\n" % len(SPEC)), {400}),
    ("63 headers", many_headers(63), {200}),
    ("64 headers", many_headers(64), {431}),
    ("100 headers", many_headers(100), {431}),
    ("content-length after the 64th header",
     b"POST /api/runs HTTP/1.1\r\n" + H + b"".join(b"X-%d: v\r\n" % i for i in range(70)) +
     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(SPEC) + SPEC, {431}),
    ("nul in the api path", b"GET /api/health%00.json HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("nul in a file path", b"GET /app.js%00.txt HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("encoded newline in the path", b"GET /api/health%0d%0a HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("absolute-form, another host",
     b"GET http://evil.example/api/health HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("absolute-form, https", b"GET https://evil.example/ HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("options star", b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n", {200, 204}),
    ("get star", b"GET * HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("not a target", b"GET x HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("absolute-form, bad port", b"GET http://h:abc/ HTTP/1.1\r\n" + H + b"\r\n", {400}),
    ("websocket upgrade",
     b"GET /api/health HTTP/1.1\r\n" + H + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
     {400, 426, 501}),
    ("h2c upgrade, ignored",
     b"GET /api/health HTTP/1.1\r\n" + H + b"Upgrade: h2c\r\nConnection: Upgrade\r\n"
     b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n", {200}),
    ("expect something else", post(b"Expect: magic\r\nContent-Length: %d\r\n" % len(SPEC)), {417}),
]


def send(port, raw, timeout=10):
    """Sends raw, reads until the peer closes or goes quiet for 1.5 s: the bytes received."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        s.settimeout(1.5)
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        return data


def statuses(data):
    """The status codes of every answer in data."""
    return [int(line.split(b" ")[1]) for line in data.split(b"\r\n")
            if line.startswith(b"HTTP/1.") and len(line.split(b" ")) > 1]


class FramingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Serve()

    @classmethod
    def tearDownClass(cls):
        rc = cls.s.stop()
        assert rc == 0, f"serve exited {rc}: {cls.s.errors()}"

    def test_table(self):
        for name, raw, want in CASES:
            with self.subTest(name):
                data = send(self.s.port, raw)
                self.assertTrue(data.startswith(b"HTTP/1."), (name, data[:200]))
                got = statuses(data)
                self.assertIn(got[0], want, (name, data[:300]))
                # One answer only: nothing after the head was run as a second request.
                self.assertEqual(len(got), 1, (name, data[:600]))
            self.assertEqual(self.s.json("GET", "/api/health"), (200, {"status": "ok"}), name)
        self.assertEqual(self.s.json("GET", "/api/runs")[1]["runs"], [])

    def test_smuggled_second_request_is_not_run(self):
        inner = (b"POST /api/runs HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(SPEC) + SPEC)
        raw = (b"POST /api/runs HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\n"
               b"Content-Length: 0\r\nContent-Length: %d\r\n\r\n" % len(inner) + inner)
        data = send(self.s.port, raw)
        self.assertEqual(statuses(data), [400], data[:400])
        self.assertEqual(self.s.json("GET", "/api/runs")[1]["runs"], [])

    def test_double_slash_is_no_redirect_off_site(self):
        for path in (b"//vendor", b"//evil.example/x", b"/\\evil.example"):
            with self.subTest(path):
                data = send(self.s.port, b"GET " + path + b" HTTP/1.1\r\n" + H + b"\r\n")
                self.assertTrue(data.startswith(b"HTTP/1.1 "), data[:200])
                self.assertNotIn(statuses(data)[0], (301, 302, 303, 307, 308), data[:300])
                self.assertNotIn(b"\r\nLocation: //", data)

    def test_expect_over_the_limit_is_refused_at_once(self):
        raw = post(b"Expect: 100-continue\r\nContent-Length: 10000000\r\n", b"")
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.s.port), timeout=10) as k:
            k.sendall(raw)
            data = k.recv(4096)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertIn(statuses(data)[0], (413, 417), data[:300])

    def test_absolute_form_to_this_server_is_answered(self):
        raw = (b"GET http://127.0.0.1:%d/api/health HTTP/1.1\r\n" % self.s.port) + H + b"\r\n"
        data = send(self.s.port, raw)
        self.assertTrue(data.startswith(b"HTTP/1.1 "), data[:200])
        self.assertIn(statuses(data)[0], (200, 400))


if __name__ == "__main__":
    unittest.main()
