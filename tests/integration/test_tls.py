"""TLS and HTTP versions from the client's side (the contract's "TLS and HTTP versions"): every
mode over TLS against nginx with a throwaway CA, refused without it (error kind `tls`), mTLS,
--resolve with a hostname, HTTP/2 negotiated and with prior knowledge (h2c, nghttpd), HTTP/3
refused, and a client key that never shows in an answer or an export."""
import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from conlab_testlib import BIN, free_port, read_jsonl, run, stop, wait_port
from serve_testlib import Serve
from tls_testlib import HOST, Nghttpd, Nginx, Pki

MODES = ["sync", "threads", "async", "processes"]


def key_lines(pki):
    """The base64 lines of the client key: none of them may appear anywhere."""
    return [l for l in pki.text("client.key").splitlines() if l and not l.startswith("-----")]


class TlsTargets(unittest.TestCase):
    # conlab-test: serial (it asserts times: see tests/tests.cmake)
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.nginx = Nginx(cls.pki, sleep=0.2)
        cls.h2c = Nghttpd()
        cls.refusing = Nghttpd(cls.pki, verify_client=True)

    @classmethod
    def tearDownClass(cls):
        for x in (cls.nginx, cls.h2c, cls.refusing, cls.pki):
            x.close()

    def url(self, port, path="/"):
        return ["--url", f"https://{HOST}:{port}{path}", "--resolve", f"{HOST}:{port}:127.0.0.1"]

    def ca(self):
        return ["--cacert", self.pki.path("ca.pem")]

    def client(self):
        return ["--cert", self.pki.path("client.pem"), "--key", self.pki.path("client.key")]

    def test_every_mode_over_tls_with_a_hostname(self):
        """--resolve reaches the certificate's name on loopback; --cacert verifies it. Each new
        connection's handshake is its own phase: connect <= tls <= ttfb."""
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "r.jsonl")
            code, doc, err = run(*self.url(self.nginx.port, "/slow"), *self.ca(), "--requests",
                                 "6", "--concurrency", "3", "--requests-out", out)
            self.assertEqual(code, 0, err)
            recs = read_jsonl(out)
        self.assertEqual([r["mode"] for r in doc["results"]], MODES)
        for r in doc["results"]:
            self.assertEqual((r["ok"], r["errors"]), (6, 0), r)
            self.assertEqual(r["http_versions"], {"1.1": 6}, r)
            # keep-alive: at most one connection per worker, reused afterwards (a worker that
            # starts late on a loaded machine may find every request taken)
            if r["mode"] == "sync":
                self.assertEqual(r["connections"], 1, r)
            else:
                self.assertIn(r["connections"], (2, 3), r)
        self.assertEqual(doc["spec"]["target"]["tls"]["ca"], self.pki.text("ca.pem"))
        self.assertEqual(len(recs), 24)
        for rec in recs:
            self.assertEqual(rec["http_version"], "1.1", rec)
            self.assertIsNotNone(rec["tls_us"], rec)
            if rec["reused"]:
                self.assertEqual(rec["tls_us"], rec["start_us"], rec)
            else:
                self.assertLess(rec["connect_us"], rec["tls_us"], rec)
                self.assertLessEqual(rec["tls_us"], rec["ttfb_us"], rec)
        for res in doc["results"]:
            mine = [r for r in recs if r["mode"] == res["mode"]]
            self.assertEqual(sum(1 for r in mine if r["reused"] is False), res["connections"])

    def test_without_the_ca_every_mode_fails_with_kind_tls(self):
        code, doc, err = run(*self.url(self.nginx.port), "--requests", "3", "--concurrency", "3")
        self.assertEqual(code, 0, err)
        for r in doc["results"]:
            self.assertEqual((r["ok"], r["errors_by_kind"]), (0, {"tls": 3}), r)
            self.assertEqual(r["top_error"]["kind"], "tls")
            self.assertIn("certificate", r["top_error"]["message"])
        # --insecure skips the check
        code, doc, err = run(*self.url(self.nginx.port), "--insecure", "--requests", "2",
                             "--concurrency", "2")
        self.assertEqual([r["ok"] for r in doc["results"]], [2] * 4, doc)

    def test_a_wrong_hostname_is_refused(self):
        """The certificate names conlab.test, localhost and 127.0.0.1: another name resolved to
        the same address is a TLS error, not a silent success."""
        port = self.nginx.port
        code, doc, err = run("--url", f"https://wrong.test:{port}/", "--resolve",
                             f"wrong.test:{port}:127.0.0.1", *self.ca(), "--requests", "1",
                             "--modes", "sync")
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["results"][0]["errors_by_kind"], {"tls": 1}, doc["results"][0])

    def test_mtls_required_by_the_server(self):
        """nginx requires a client certificate signed by the CA: with --cert/--key every mode
        is answered; nghttpd asks for one in the handshake: without it every mode fails with
        kind tls."""
        code, doc, err = run(*self.url(self.nginx.mtls_port), *self.ca(), *self.client(),
                             "--requests", "4", "--concurrency", "2")
        self.assertEqual(code, 0, err)
        for r in doc["results"]:
            self.assertEqual((r["ok"], r["errors"]), (4, 0), r)
        # nginx answers a missing certificate with 400 after the handshake
        code, doc, err = run(*self.url(self.nginx.mtls_port), *self.ca(), "--requests", "2",
                             "--concurrency", "2", "--modes", "sync,async")
        for r in doc["results"]:
            self.assertEqual((r["ok"], r["errors_by_kind"]), (0, {"status": 2}), r)
        code, doc, err = run(*self.url(self.refusing.port), *self.ca(), "--http", "2",
                             "--requests", "3", "--concurrency", "3")
        self.assertEqual(code, 0, err)
        for r in doc["results"]:
            self.assertEqual((r["ok"], r["errors_by_kind"]), (0, {"tls": 3}), r)
        code, doc, err = run(*self.url(self.refusing.port), *self.ca(), *self.client(),
                             "--http", "2", "--requests", "3", "--concurrency", "3")
        for r in doc["results"]:
            self.assertEqual((r["ok"], r["http_versions"]), (3, {"2": 3}), r)

    def test_http2_prior_knowledge_against_h2c(self):
        """Every mode speaks h2c to nghttpd and reuses its connections (libcurl 7.88 needs the
        engine's care for that: a reused prior-knowledge connection broke its framing)."""
        code, doc, err = run("--url", f"http://127.0.0.1:{self.h2c.port}/", "--http",
                             "2-prior-knowledge", "--requests", "6", "--concurrency", "3")
        self.assertEqual(code, 0, err)
        for r in doc["results"]:
            self.assertEqual((r["ok"], r["http_versions"]), (6, {"2": 6}), r)
            # reused: at most one connection per worker (a fast worker may take them all)
            self.assertGreaterEqual(r["connections"], 1, r)
            self.assertLessEqual(r["connections"], 1 if r["mode"] == "sync" else 3, r)
        # plain HTTP/1.1 to an h2c-only server fails: no silent downgrade
        code, doc, err = run("--url", f"http://127.0.0.1:{self.h2c.port}/", "--requests", "1",
                             "--modes", "sync")
        self.assertEqual(doc["results"][0]["ok"], 0, doc["results"][0])

    def test_async_with_http2_negotiates_and_counts_connections(self):
        # "/" (nginx's own return): nginx's echo module, behind "/slow", once left the last
        # DATA frame of a slow answer over HTTP/2 unsent (4 of 8 streams held "slow\n" without
        # END_STREAM until curl's 30 s timeout) on a loaded machine
        code, doc, err = run(*self.url(self.nginx.port, "/"), *self.ca(), "--http", "2",
                             "--modes", "async", "--requests", "8", "--concurrency", "4")
        self.assertEqual(code, 0, err)
        r = doc["results"][0]
        self.assertEqual((r["ok"], r["http_versions"]), (8, {"2": 8}), r)
        self.assertGreaterEqual(r["connections"], 1)
        self.assertLessEqual(r["connections"], 4)
        # the default stays HTTP/1.1, one transfer per connection
        code, doc, err = run(*self.url(self.nginx.port), *self.ca(), "--modes", "async",
                             "--requests", "8", "--concurrency", "4")
        r = doc["results"][0]
        self.assertEqual((r["http_versions"], r["connections"]), ({"1.1": 8}, 4), r)

    def test_findings_say_when_handshakes_dominate(self):
        """Without keep-alive every request pays a handshake: a `tls` finding per mode, with
        its numbers; with keep-alive against a slow answer the handshakes are a sliver: none."""
        code, doc, err = run(*self.url(self.nginx.port), *self.ca(), "--no-keepalive",
                             "--modes", "sync,async", "--requests", "20", "--concurrency", "2")
        self.assertEqual(code, 0, err)
        tls = [f for f in doc["findings"] if f["kind"] == "tls"]
        self.assertEqual([f["mode"] for f in tls], ["sync", "async"], doc["findings"])
        for f, r in zip(tls, doc["results"]):
            self.assertEqual(f["values"]["connections"], 20, f)
            self.assertEqual(r["connections"], 20, r)
            self.assertGreaterEqual(f["values"]["share"], 0.2, f)
            self.assertAlmostEqual(f["values"]["share"], r["tls_ms"] / r["busy_ms"], places=2)
            self.assertIn("20 connections", f["text"])
            self.assertIn("TLS handshakes took", f["text"])
        code, doc, err = run(*self.url(self.nginx.port, "/slow"), *self.ca(), "--modes", "async",
                             "--requests", "6", "--concurrency", "2")
        self.assertEqual([f for f in doc["findings"] if f["kind"] == "tls"], [])
        self.assertLess(doc["results"][0]["tls_ms"], 0.2 * doc["results"][0]["busy_ms"])

    def test_http3_is_refused_where_libcurl_lacks_it(self):
        code, _, err = run(*self.url(self.nginx.port), "--http", "3")
        self.assertEqual(code, 2, err)
        self.assertIn("--http", err)
        self.assertIn("HTTP/3", err)

    def test_bad_transport_flags_name_the_flag(self):
        cases = [(["--http", "1.0"], "--http"), (["--cacert", "/nonexistent.pem"], "--cacert"),
                 (["--cert", __file__], "--cert"), (["--resolve", "nohost"], "--resolve"),
                 (["--key", self.pki.path("client.key")], "--key")]
        for extra, flag in cases:
            code, _, err = run(*self.url(self.nginx.port), *extra)
            self.assertEqual(code, 2, (extra, err))
            self.assertTrue(err.startswith(f"conlab run: {flag}"), (extra, err))

    def test_the_key_never_shows_in_the_cli_output(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "r.csv")
            code, doc, err = run(*self.url(self.nginx.mtls_port), *self.ca(), *self.client(),
                                 "--requests", "2", "--modes", "sync", "--requests-out", out)
            with open(out) as f:
                text = f.read()
        self.assertEqual(code, 0, err)
        self.assertEqual(doc["spec"]["target"]["tls"]["key"], "***")
        self.assertEqual(doc["spec"]["target"]["tls"]["cert"], self.pki.text("client.pem"))
        shown = json.dumps(doc) + text + err
        for line in key_lines(self.pki):
            self.assertNotIn(line, shown)


class TlsFaultsOfTheDemoTarget(unittest.TestCase):
    """`conlab target --fault tls_*`: each fault gives its error kind in every mode (h2mux
    included), within the timeout."""

    FAULTS = {"tls_bad_cert": "tls", "tls_close": "tls", "tls_hang": "timeout"}
    TIMEOUT_MS = 800

    def test_each_fault_in_every_mode(self):
        pki = Pki()
        try:
            for fault, kind in self.FAULTS.items():
                port = free_port()
                proc = subprocess.Popen([BIN, "target", "--listen", f"127.0.0.1:{port}",
                                         "--fault", fault], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
                try:
                    wait_port(port)
                    code, doc, err = run("--url", f"https://{HOST}:{port}/", "--resolve",
                                         f"{HOST}:{port}:127.0.0.1", "--cacert",
                                         pki.path("ca.pem"), "--requests", "1",
                                         "--timeout-ms", str(self.TIMEOUT_MS), "--modes",
                                         "sync,threads,async,processes,h2mux")
                finally:
                    stop(proc)
                self.assertEqual(code, 0, (fault, err))
                for r in doc["results"]:
                    self.assertEqual(r["errors_by_kind"], {kind: 1}, (fault, r))
                    # bounded by the timeout (a hang would last until the test's own timeout)
                    self.assertLess(r["wall_ms"], self.TIMEOUT_MS + 3000, (fault, r))
        finally:
            pki.close()


class TlsThroughTheDashboard(unittest.TestCase):
    """The dashboard reads no path it is sent: PEM text or names from --tls-dir only; the key
    is shown as *** in every answer and export."""

    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.nginx = Nginx(cls.pki)
        cls.dir = tempfile.mkdtemp(prefix="conlab-tlsdir-")
        for name in ("ca.pem", "client.pem", "client.key"):
            shutil.copy(cls.pki.path(name), os.path.join(cls.dir, name))
        cls.s = Serve(None, "--tls-dir", cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        cls.nginx.close()
        cls.pki.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def spec(self, tls, **kw):
        port = self.nginx.mtls_port
        s = {"target": {"url": f"https://{HOST}:{port}/", "resolve": [f"{HOST}:{port}:127.0.0.1"],
                        "tls": tls},
             "requests": 2, "concurrency": 2, "modes": ["sync", "async", "processes", "h2mux"]}
        s.update(kw)
        return s

    def test_a_path_is_refused_naming_the_field(self):
        for field, value in (("cert", "/etc/ssl/certs/ssl-cert-snakeoil.pem"),
                             ("ca", "../ca.pem"), ("key", "~/.ssh/id_rsa"),
                             ("ca", "not-here.pem")):
            status, doc = self.s.json("POST", "/api/runs", self.spec({field: value}))
            self.assertEqual(status, 400, (field, value, doc))
            self.assertEqual(doc["field"], f"target.tls.{field}", doc)
        status, doc = self.s.json("POST", "/api/runs", self.spec({"ca": "ca.pem"}, modes=["sync"],
                                                                 requests=1))
        self.assertEqual(status, 202, doc)
        # a name that is not PEM is refused too (the file exists, it is just not a certificate)
        with open(os.path.join(self.dir, "notes.txt"), "w") as f:
            f.write("not a certificate\n")
        status, doc = self.s.json("POST", "/api/runs", self.spec({"ca": "notes.txt"}))
        self.assertEqual((status, doc["field"]), (400, "target.tls.ca"), doc)

    def test_the_config_lists_the_tls_dir_names_only(self):
        status, doc = self.s.json("GET", "/api/config")
        self.assertEqual(status, 200, doc)
        names = doc["tls_names"]
        self.assertTrue({"ca.pem", "client.pem", "client.key"} <= set(names), names)
        self.assertEqual(names, sorted(names))
        text = json.dumps(doc)
        self.assertNotIn(self.dir, text)
        self.assertNotIn("PRIVATE KEY", text)
        self.assertNotIn("BEGIN CERTIFICATE", text)

    def run_mtls(self, tls):
        run_id = self.s.post_run(self.spec(tls))
        done = self.s.wait_status(run_id)
        self.assertEqual(done["status"], "done", done)
        for r in done["results"]:
            self.assertEqual((r["ok"], r["errors"]), (2, 0), r)
        return run_id, done

    def test_names_from_the_tls_dir_and_pem_text_both_run(self):
        self.run_mtls({"ca": "ca.pem", "cert": "client.pem", "key": "client.key"})
        self.run_mtls({"ca": self.pki.text("ca.pem"), "cert": self.pki.text("client.pem"),
                       "key": self.pki.text("client.key")})

    def test_the_key_never_shows_in_an_answer_or_an_export(self):
        run_id, done = self.run_mtls({"ca": self.pki.text("ca.pem"),
                                      "cert": self.pki.text("client.pem"),
                                      "key": self.pki.text("client.key")})
        self.assertEqual(done["spec"]["target"]["tls"]["key"], "***")
        answers = [json.dumps(done)]
        for path in (f"/api/runs/{run_id}", "/api/runs", f"/api/runs/{run_id}/export.json",
                     f"/api/runs/{run_id}/export.csv", f"/api/runs/{run_id}/requests?mode=sync",
                     f"/api/runs/{run_id}/charts"):
            status, _, body = self.s.request("GET", path)
            self.assertEqual(status, 200, path)
            answers.append(body.decode())
        for line in key_lines(self.pki):
            for text in answers:
                self.assertNotIn(line, text)
        status, _, body = self.s.request("GET", f"/api/runs/{run_id}/export.csv")
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        self.assertEqual({r["mode"] for r in rows}, {"sync", "async", "processes", "h2mux"})
        for r in rows:
            self.assertEqual(r["http_version"], "2" if r["mode"] == "h2mux" else "1.1", r)
            self.assertTrue(r["tls_us"], r)
            self.assertEqual(r["conn"], "0" if r["mode"] == "h2mux" else "", r)
        status, page = self.s.json("GET", f"/api/runs/{run_id}/requests?mode=async")
        self.assertEqual({r["reused"] for r in page["requests"]}, {False}, page)


if __name__ == "__main__":
    unittest.main()
