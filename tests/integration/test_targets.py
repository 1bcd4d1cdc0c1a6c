"""Where runs may aim: never at the dashboard itself (in any spelling of its address) unless told;
only at the hosts and networks of --allow-target (or CONLAB_ALLOW_TARGETS) when some are given.
Also the token read from a file (a token on the command line is warned about) and request
bodies shown as *** with --secret-body."""
import json
import os
import tempfile
import unittest

from serve_testlib import Serve


def run_spec(url, **target):
    return {"target": dict(url=url, **target), "requests": 1, "modes": ["sync"]}


class SelfTargetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Serve()

    @classmethod
    def tearDownClass(cls):
        assert cls.s.stop() == 0, cls.s.errors()

    def test_the_dashboard_is_not_a_target(self):
        p = self.s.port
        for url in (f"http://127.0.0.1:{p}/api/runs", f"http://localhost:{p}/",
                    f"http://127.0.0.2:{p}/", f"http://0.0.0.0:{p}/", f"http://[::1]:{p}/",
                    f"http://2130706433:{p}/", f"http://0x7f.1:{p}/api/health"):
            with self.subTest(url):
                status, doc = self.s.json("POST", "/api/runs",
                                          run_spec(url, method="DELETE"))
                self.assertEqual(status, 400, doc)
                self.assertEqual(doc["field"], "target.url")
                self.assertIn("dashboard itself", doc["error"])
        runs = self.s.json("GET", "/api/runs")[1]["runs"]
        self.assertEqual([r for r in runs if f":{p}/" in r["spec"]["target"]["url"]], [])

    def test_other_ports_of_this_machine_still_are(self):
        status, doc = self.s.json("POST", "/api/runs", run_spec(self.s.target))
        self.assertEqual(status, 202, doc)


class AllowTargetTest(unittest.TestCase):
    def test_only_allowed_targets(self):
        env = dict(os.environ, CONLAB_ALLOW_TARGETS="*.example.test")
        old = os.environ.copy()
        os.environ.update(env)
        try:
            s = Serve(None, "--allow-target", "127.0.0.0/8", "--allow-target", "api.internal")
        finally:
            os.environ.clear()
            os.environ.update(old)
        try:
            ok = [s.target, "http://api.internal/", "http://a.example.test/", "http://127.9.9.9:1/"]
            bad = ["http://10.1.2.3/", "http://example.test/", "http://api.internal.evil/",
                   "http://[::2]/", "http://169.254.169.254/latest/meta-data/"]
            for url in ok:
                status, doc = s.json("POST", "/api/runs", run_spec(url))
                self.assertEqual(status, 202, (url, doc))
            for url in bad:
                status, doc = s.json("POST", "/api/runs", run_spec(url))
                self.assertEqual(status, 400, (url, doc))
                self.assertEqual(doc["field"], "target.url")
                self.assertIn("allowed targets", doc["error"])
        finally:
            self.assertEqual(s.stop(), 0, s.errors())

    def test_a_bad_pattern_is_refused_naming_it(self):
        import subprocess
        from serve_testlib import BIN
        r = subprocess.run([BIN, "serve", "--allow-target", "10.0.0.0/99"], capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--allow-target", r.stderr)


class TokenAndBodyTest(unittest.TestCase):
    def test_token_file_and_secret_body(self):
        tmp = tempfile.mkdtemp(prefix="conlab-token-")
        path = os.path.join(tmp, "token")
        with open(path, "w") as f:
            f.write("file-token-123\n")
        s = Serve(None, "--token-file", path, "--secret-body", tmp=tmp, demo=False)
        try:
            self.assertEqual(s.request("GET", "/api/runs", headers={})[0], 401)
            auth = {"Authorization": "Bearer file-token-123"}
            status, _, data = s.request("POST", "/api/runs", json.dumps(run_spec(
                "http://127.0.0.1:1/", method="POST", body="password=hunter2")).encode(), headers=dict(
                auth, **{"Content-Type": "application/json"}))
            self.assertEqual(status, 202, data)
            rid = json.loads(data)["id"]
            for path_ in (f"/api/runs/{rid}", "/api/runs", f"/api/runs/{rid}/export.json"):
                got = s.request("GET", path_, headers=auth)[2]
                self.assertNotIn(b"hunter2", got, path_)
            run = json.loads(s.request("GET", f"/api/runs/{rid}", headers=auth)[2])
            self.assertEqual(run["spec"]["target"]["body"], "***")
            self.assertNotIn("warning", s.errors())
        finally:
            self.assertEqual(s.stop(), 0, s.errors())

    def test_token_on_the_command_line_is_warned_about(self):
        s = Serve(None, "--token", "cli-token-456", demo=False)
        try:
            self.assertIn("--token-file", s.errors())
        finally:
            self.assertEqual(s.stop(), 0, s.errors())


if __name__ == "__main__":
    unittest.main()
