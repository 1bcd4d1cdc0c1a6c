"""A table of hostile requests, one server for all of them: malformed and oversized specs,
strings that are not what they seem (NUL, bad UTF-8, surrogates), keys given twice, deep
nesting, wrong content types, bad methods, oversize heads, traversal, SQL in ids and queries.
Each gets its exact refusal; none creates a run, crashes the server or leaves the database
damaged, and every API answer is JSON in valid UTF-8."""
import json
import socket
import time
import unittest

from serve_testlib import Serve, db_integrity

URL = "http://127.0.0.1:1/"


def spec(**kw):
    s = {"target": {"url": URL}, "requests": 1, "modes": ["sync"]}
    s.update(kw)
    return s


def body(text):
    return text.encode() if isinstance(text, str) else text


def post(payload, ctype="application/json", extra=b""):
    """A raw POST /api/runs with the given body bytes."""
    payload = body(payload)
    head = (f"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n").encode()
    return head + extra + b"\r\n" + payload


def get(path, extra=b"", method=b"GET"):
    return method + b" " + body(path) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra + b"\r\n"


T = f'{{"target":{{"url":"{URL}"'

# (name, raw request, expected statuses, the field a 400 must name or None)
CASES = [
    # keys given twice, at every level
    ("dup headers", post(T + ',"headers":{"a":"1","b":"2"},"headers":{"c":"3"}}}'), {400}, "target.headers"),
    ("dup key in headers", post(T + ',"headers":{"a":"1","a":"2"}}}'), {400}, "target.headers"),
    ("dup url", post(T + ',"url":"http://x/"}}'), {400}, "target.url"),
    ("dup target", post(T + '},"target":{"url":"http://x/"}}'), {400}, "target"),
    ("dup requests", post(T + '},"requests":1,"requests":2}'), {400}, "requests"),
    ("dup modes", post(T + '},"modes":["sync"],"modes":["async"]}'), {400}, "modes"),
    # nesting
    ("depth 9", post("[" * 9 + "]" * 9), {400}, "spec"),
    ("depth 900", post("[" * 900 + "]" * 900), {400}, "spec"),
    ("depth 30000", post("[" * 30000 + "]" * 30000), {400}, "spec"),
    ("deep objects", post('{"a":' * 5000 + "1" + "}" * 5000), {400}, "a.a"),
    ("deep label", post(T + '},"label":' + "[" * 20 + "]" * 20 + "}"), {400}, "label"),
    # NUL, raw and escaped
    ("nul body", post(T + ',"body":"abc\\u0000def"}}'), {400}, "target.body"),
    ("nul method", post(T + ',"method":"GET\\u0000POST"}}'), {400}, "target.method"),
    ("nul header", post(T + ',"headers":{"X":"a\\u0000b"}}}'), {400}, "target.headers"),
    ("nul label", post(T + '},"label":"\\u0000"}'), {400}, "label"),
    ("nul url", post('{"target":{"url":"http://127.0.0.1:1/\\u0000@evil/"}}'), {400}, "target.url"),
    ("nul key", post('{"target":{"url\\u0000":"http://x/"}}'), {400}, "target"),
    ("raw nul byte", post(json.dumps(spec()).encode() + b"\x00"), {400}, "spec"),
    # malformed UTF-8 in every string and in keys
    ("utf8 ff", post(body(T + '},"label":"') + b"\xff" + b'"}'), {400}, "label"),
    ("utf8 overlong", post(body(T + '},"label":"') + b"\xc0\xaf" + b'"}'), {400}, "label"),
    ("utf8 overlong 3", post(body(T + '},"label":"') + b"\xe0\x80\xaf" + b'"}'), {400}, "label"),
    ("utf8 surrogate", post(body(T + '},"label":"') + b"\xed\xa0\x80" + b'"}'), {400}, "label"),
    ("utf8 beyond", post(body(T + '},"label":"') + b"\xf4\x90\x80\x80" + b'"}'), {400}, "label"),
    ("utf8 cut", post(body(T + '},"label":"') + b"\xe2\x82" + b'"}'), {400}, "label"),
    ("utf8 in header", post(body(T + ',"headers":{"X":"') + b"\xc1\xbf" + b'"}}}'), {400}, "target.headers"),
    ("utf8 in body", post(body(T + ',"body":"') + b"\x80" + b'"}}'), {400}, "target.body"),
    ("utf8 in key", post(b'{"\xff":1}'), {400}, "spec"),
    ("lone surrogate", post(T + '},"label":"\\ud800"}'), {400}, "label"),
    ("reversed pair", post(T + '},"label":"\\udc00\\ud800"}'), {400}, "label"),
    # rates, numbers, types
    ("rate 1e-13", post(json.dumps(spec(rate=1e-13))), {400}, "rate"),
    ("rate 1e-300", post(json.dumps(spec(rate=1e-300))), {400}, "rate"),
    ("rate 0.0009", post(json.dumps(spec(rate=0.0009))), {400}, "rate"),
    ("rate -1", post(json.dumps(spec(rate=-1))), {400}, "rate"),
    ("rate huge", post(json.dumps(spec(rate=1e308))), {400}, "rate"),
    ("rate string", post(json.dumps(spec(rate="fast"))), {400}, "rate"),
    ("sync concurrency 9e15", post(T + '},"modes":["sync"],"concurrency":9e15}'), {400}, "concurrency"),
    ("requests 1e300", post(T + '},"requests":1e300}'), {400}, "requests"),
    ("requests negative", post(json.dumps(spec(requests=-5))), {400}, "requests"),
    ("requests fraction", post(json.dumps(spec(requests=1.5))), {400}, "requests"),
    ("requests over limit", post(json.dumps(spec(requests=1000001))), {400}, "requests"),
    ("concurrency 0", post(json.dumps(spec(concurrency=0))), {400}, "concurrency"),
    ("timeout 0", post(json.dumps(spec(timeout_ms=0))), {400}, "timeout_ms"),
    ("keepalive number", post(json.dumps(spec(keepalive=1))), {400}, "keepalive"),
    ("modes string", post(json.dumps(spec(modes="sync"))), {400}, "modes"),
    ("modes unknown", post(json.dumps(spec(modes=["fibers"]))), {400}, "modes"),
    ("modes twice", post(json.dumps(spec(modes=["sync", "sync"]))), {400}, "modes"),
    ("unknown field", post(json.dumps(spec(color="red"))), {400}, "color"),
    ("label too long", post(json.dumps(spec(label="x" * 201))), {400}, "label"),
    # targets: schemes, injection
    ("scheme file", post('{"target":{"url":"file:///etc/passwd"}}'), {400}, "target.url"),
    ("scheme gopher", post('{"target":{"url":"gopher://127.0.0.1:1/"}}'), {400}, "target.url"),
    ("scheme javascript", post('{"target":{"url":"javascript:alert(1)"}}'), {400}, "target.url"),
    ("scheme data", post('{"target":{"url":"data:text/plain,x"}}'), {400}, "target.url"),
    ("url crlf", post('{"target":{"url":"http://x/\\r\\nHost: evil"}}'), {400}, "target.url"),
    ("url no host", post('{"target":{"url":"http://"}}'), {400}, "target.url"),
    ("header crlf", post(T + ',"headers":{"X":"a\\r\\nInjected: 1"}}}'), {400}, "target.headers"),
    ("header bad name", post(T + ',"headers":{"Bad Name":"v"}}}'), {400}, "target.headers"),
    ("101 headers", post(json.dumps({"target": {"url": URL, "headers": {f"H{i}": "v" for i in range(101)}}})), {400}, "target.headers"),
    ("method space", post(T + ',"method":"GE T"}}'), {400}, "target.method"),
    # not a spec at all
    ("empty body", post(""), {400}, "spec"),
    ("json null", post("null"), {400}, "spec"),
    ("json array", post("[1,2]"), {400}, "spec"),
    ("json string", post('"x"'), {400}, "spec"),
    ("trailing data", post(json.dumps(spec()) + "{}"), {400}, "spec"),
    ("unterminated", post('{"target":{"url":"http://x/'), {400}, "spec"),
    # the transport
    ("text/plain", post(json.dumps(spec()), "text/plain"), {415}, None),
    ("form", post("a=b", "application/x-www-form-urlencoded"), {415}, None),
    ("multipart", post("--x--", "multipart/form-data; boundary=x"), {415}, None),
    ("json-ish type", post(json.dumps(spec()), "application/jsonp"), {415}, None),
    ("body 100 KiB", post(json.dumps(spec(label="x" * 100 * 1024))), {413}, None),
    ("declared 1 GiB", b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\nConnection: close\r\n\r\n{}", {413}, None),
    ("negative length", b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n", {400, 411, 413}, None),
    ("length not a number", b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n", {400, 411}, None),
    ("header 20 KiB", get("/api/health", b"X-Big: " + b"a" * 20000 + b"\r\n"), {413, 431, 400}, None),
    ("uri 20 KiB", get("/api/runs?url=" + "a" * 20000), {413, 414, 400}, None),
    ("1000 header lines", get("/api/health", b"".join(b"X-%d: v\r\n" % i for i in range(1000))), {200, 400, 413, 431}, None),
    ("method PUT", get("/api/runs", method=b"PUT"), {405}, None),
    ("method PROPFIND", get("/", method=b"PROPFIND"), {405}, None),
    ("method TRACE", get("/", method=b"TRACE"), {400, 405}, None),
    ("method lowercase", get("/api/health", method=b"get"), {400, 405}, None),
    ("method junk", get("/", method=b"\x00\x01"), {400}, None),
    ("http 2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, 405, 505}, None),
    ("version 3", b"GET /api/health HTTP/3.0\r\nHost: 127.0.0.1\r\n\r\n", {400, 505}, None),
    ("bad host", b"GET /api/runs HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", {403}, None),
    ("two hosts", b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n", {400, 403}, None),
    ("foreign origin", get("/api/runs", b"Origin: http://evil.example\r\n"), {403}, None),
    ("null origin", post(json.dumps(spec()), extra=b"Origin: null\r\n"), {403}, None),
    # traversal
    ("dotdot", get("/../../etc/passwd"), {400, 403, 404}, None),
    ("encoded dotdot", get("/%2e%2e/%2e%2e/etc/passwd"), {400, 403, 404}, None),
    ("encoded slash", get("/..%2f..%2fetc%2fpasswd"), {400, 403, 404}, None),
    ("api dotdot", get("/api/../../etc/passwd"), {400, 403, 404}, None),
    ("double slash", get("//etc/passwd"), {400, 403, 404}, None),
    ("git config", get("/.git/config"), {403, 404}, None),
    ("backend source", get("/../backend/cli/cmd_serve.c"), {400, 403, 404}, None),
    # civetweb cuts a decoded path at its NUL: this serves the page's app.js, nothing else.
    ("nul in path", get("/app.js%00.txt"), {200, 400, 403, 404}, None),
    # SQL and junk in ids and queries
    ("sql in id", get("/api/runs/1'%20OR%20'1'='1"), {404}, None),
    ("sql drop", get("/api/runs/x;DROP%20TABLE%20runs"), {404}, None),
    ("quote id", get("/api/runs/%27"), {404}, None),
    ("long id", get("/api/runs/" + "A" * 1000), {404}, None),
    ("unicode id", get("/api/runs/%C3%A9t%C3%A9"), {404}, None),
    ("sql delete", get("/api/runs/x'%20OR%201=1--", method=b"DELETE"), {404}, None),
    ("sql in url filter", get("/api/runs?url=x'%20OR%20'1'='1"), {200}, None),
    ("sql in label", get("/api/runs?label=%27)%3BDROP%20TABLE%20runs%3B--"), {200}, None),
    ("limit -1", get("/api/runs?limit=-1"), {400}, None),
    ("limit huge", get("/api/runs?limit=99999999999999999999999"), {400}, None),
    ("limit text", get("/api/runs?limit=abc"), {400}, None),
    ("offset negative", get("/api/runs?offset=-5"), {400}, None),
    ("bad escape", get("/api/runs?url=%ZZ"), {200, 400}, None),
    ("url filter 9000", get("/api/runs?url=" + "a" * 9000), {400}, None),
]


def send(host, port, raw, timeout=15):
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                head, sep, rest = data.partition(b"\r\n\r\n")
                if sep:
                    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")[1:]
                         if l.lower().startswith(b"content-length:")]
                    if n and len(rest) >= n[0]:
                        break
        except (ConnectionResetError, socket.timeout):
            pass
        return data


class HostileInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Serve()

    @classmethod
    def tearDownClass(cls):
        rc = cls.s.stop()
        assert rc == 0, f"serve exited {rc}: {cls.s.errors()}"

    def test_table(self):
        self.assertGreaterEqual(len(CASES), 80)
        names = [c[0] for c in CASES]
        self.assertEqual(len(names), len(set(names)))
        victim = self.s.post_run(self.s.spec(delay_ms=1, requests=1, modes=["sync"]))
        self.s.wait_status(victim)
        for name, raw, statuses, field in CASES:
            with self.subTest(name):
                data = send(self.s.host, self.s.port, raw)
                self.assertTrue(data.startswith(b"HTTP/"), (name, data[:200]))
                status = int(data.split(b" ", 2)[1])
                self.assertIn(status, statuses, (name, data[:300]))
                head, _, rest = data.partition(b"\r\n\r\n")
                if b"application/json" in head and rest:
                    doc = json.loads(rest.decode("utf-8"))  # valid UTF-8 JSON, or this raises
                    if status >= 400:
                        self.assertIn("error", doc, name)
                    if field is not None:
                        self.assertEqual(doc.get("field"), field, (name, doc))
                for secret in (b"root:", b"#include", b"[core]"):
                    self.assertNotIn(secret, rest, name)
            # the server is still there after every case
            self.assertEqual(self.s.json("GET", "/api/health"), (200, {"status": "ok"}), name)
        runs = self.s.json("GET", "/api/runs?limit=1000")[1]["runs"]
        self.assertEqual([r["id"] for r in runs], [victim])
        self.assertEqual(db_integrity(self.s.db), "ok")


if __name__ == "__main__":
    unittest.main()
