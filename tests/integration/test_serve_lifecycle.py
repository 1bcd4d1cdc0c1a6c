"""`conlab serve` starting and stopping: restarts keep the history, SIGTERM and kill -9 mid-run
leave the run "interrupted" and the database sound, `conlab run --db` shares the history, and the
start-up refusals (non-loopback without a token, a port in use). These tests start several
servers by nature, one after another, on one database per test."""
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from serve_testlib import BIN, Serve, db_integrity, db_rows_per_mode, db_status


def pids_with_parent(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == ppid:
                    out.append(int(d))
            except OSError:
                pass
    return out


def gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="conlab-life-")
        self.db = os.path.join(self.tmp, "conlab.db")

    def serve(self, *extra):
        return Serve(self.db, *extra, tmp=self.tmp)

    def long_run(self, s):
        run_id = s.post_run(s.spec(delay_ms=800, requests=20, concurrency=1,
                                   modes=["sync", "async"]))
        s.wait_mode(run_id, "sync", done_at_least=1, timeout=30)
        return run_id

    def test_restart_keeps_runs(self):
        s = self.serve()
        run_id = s.post_run(s.spec(delay_ms=5, requests=3, modes=["sync", "threads"]))
        before = s.wait_status(run_id, timeout=60)
        self.assertEqual(before["status"], "done")
        self.assertEqual(s.stop(), 0)
        s = self.serve()
        try:
            status, after = s.json("GET", f"/api/runs/{run_id}")
            self.assertEqual(status, 200)
            self.assertEqual(after, before)
            self.assertIn(run_id, [r["id"] for r in s.json("GET", "/api/runs")[1]["runs"]])
            self.assertEqual(s.json("GET", f"/api/runs/{run_id}/charts")[0], 200)
        finally:
            self.assertEqual(s.stop(), 0)

    def test_sigterm_mid_run_marks_it_interrupted(self):
        s = self.serve()
        run_id = self.long_run(s)
        queued = s.post_run(s.spec(delay_ms=1, requests=1, modes=["sync"]))
        t0 = time.monotonic()
        self.assertEqual(s.stop(signal.SIGTERM, timeout=30), 0)
        self.assertEqual(db_status(self.db, queued)[0], "interrupted")
        self.assertLess(time.monotonic() - t0, 15)
        status, message = db_status(self.db, run_id)
        self.assertEqual(status, "interrupted")
        self.assertTrue(message)
        self.assertEqual(db_integrity(self.db), "ok")
        self.assertGreaterEqual(db_rows_per_mode(self.db, run_id).get("sync", 0), 1)
        s = self.serve()
        try:
            self.assertEqual(s.json("GET", f"/api/runs/{run_id}")[1]["status"], "interrupted")
            self.assertEqual([e for e, _ in s.events(run_id, timeout=10)], ["end"])
        finally:
            self.assertEqual(s.stop(), 0)

    def test_sigint_stops_cleanly(self):
        s = self.serve()
        s.json("GET", "/api/health")
        self.assertEqual(s.stop(signal.SIGINT, timeout=20), 0)
        self.assertEqual(db_integrity(self.db), "ok")

    def test_kill_9_mid_run_then_restart(self):
        s = self.serve()
        run_id = self.long_run(s)
        children = pids_with_parent(s.proc.pid)
        self.assertTrue(children, "no job child")
        s.kill()
        for pid in children:
            self.assertTrue(gone(pid), f"job child {pid} outlived its dashboard")
        self.assertEqual(db_status(self.db, run_id)[0], "running")
        s = self.serve()
        try:
            status, run = s.json("GET", f"/api/runs/{run_id}")
            self.assertEqual(status, 200)
            self.assertEqual(run["status"], "interrupted")
            self.assertIn("interrupted", s.errors())
        finally:
            self.assertEqual(s.stop(), 0)
        self.assertEqual(db_integrity(self.db), "ok")

    def test_conlab_run_db_shows_up(self):
        s = self.serve()
        try:
            p = subprocess.run([BIN, "run", "--url", f"{s.target}?delay_ms=5", "--requests", "4",
                                "--concurrency", "2", "--modes", "sync,async", "--db", self.db,
                                "--json"], capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            runs = s.json("GET", "/api/runs")[1]["runs"]
            self.assertEqual(len(runs), 1)
            run = runs[0]
            self.assertEqual(run["status"], "done")
            self.assertEqual([r["mode"] for r in run["results"]], ["sync", "async"])
            self.assertEqual(run["progress"]["done"], 8)
            page = s.json("GET", f"/api/runs/{run['id']}/requests?mode=async")[1]
            self.assertEqual(page["total"], 4)
            self.assertEqual(s.json("GET", f"/api/runs/{run['id']}/charts")[0], 200)
        finally:
            self.assertEqual(s.stop(), 0)

    def test_non_loopback_needs_a_token(self):
        p = subprocess.run([BIN, "serve", "--listen", "0.0.0.0:0", "--db", self.db,
                            "--no-demo-target"], capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--token", p.stderr)
        self.assertFalse(os.path.exists(self.db))
        env = dict(os.environ, CONLAB_TOKEN="")
        p = subprocess.run([BIN, "serve", "--listen", "0.0.0.0:0", "--token", "", "--db", self.db],
                           capture_output=True, text=True, timeout=20, env=env)
        self.assertEqual(p.returncode, 2)

    def test_bad_arguments_exit_2(self):
        for args in (["--listen", "nope"], ["--listen", "127.0.0.1:99999"], ["--bogus"],
                     ["--queue", "0"], ["--db"], ["--max-requests", "x"]):
            p = subprocess.run([BIN, "serve", *args], capture_output=True, text=True, timeout=20)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--demo-target", p.stdout)

    def test_port_in_use_exits_1(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            p = subprocess.run([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--db", self.db,
                                "--no-demo-target"], capture_output=True, text=True, timeout=20)
            self.assertEqual(p.returncode, 1)
            self.assertIn(str(port), p.stderr)
            p = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", "--db", self.db,
                                "--demo-target", f"127.0.0.1:{port}"],
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(p.returncode, 1)
            self.assertIn("demo target", p.stderr)

    def test_limits_flags_show_in_config(self):
        s = self.serve("--max-requests", "50", "--max-concurrency-threads", "7",
                       "--max-concurrency-async", "9", "--max-concurrency-processes", "3",
                       "--max-concurrency-h2mux", "5",
                       "--queue", "4", "--no-demo-target")
        try:
            c = s.json("GET", "/api/config")[1]
            self.assertIsNone(c["demo_target"])
            self.assertIsNone(c["demo"])
            self.assertEqual(c["limits"]["max_requests"], 50)
            self.assertEqual(c["limits"]["max_concurrency"],
                             {"threads": 7, "async": 9, "processes": 3, "h2mux": 5})
            self.assertEqual(c["limits"]["queue"], 4)
            status, doc = s.json("POST", "/api/runs", {"target": {"url": "http://127.0.0.1:1/"},
                                                       "requests": 51})
            self.assertEqual((status, doc["field"]), (400, "requests"))
            status, doc = s.json("POST", "/api/runs", {"target": {"url": "http://127.0.0.1:1/"},
                                                       "concurrency": 4, "modes": ["processes"]})
            self.assertEqual((status, doc["field"]), (400, "concurrency"))
        finally:
            self.assertEqual(s.stop(), 0)

    def test_failed_requests_are_data(self):
        s = self.serve("--no-demo-target")
        try:
            with socket.socket() as closed:
                closed.bind(("127.0.0.1", 0))
                port = closed.getsockname()[1]
            run_id = s.post_run({"target": {"url": f"http://127.0.0.1:{port}/"}, "requests": 3,
                                 "modes": ["sync", "processes"]})
            run = s.wait_status(run_id, timeout=60)
            self.assertEqual(run["status"], "done")
            for r in run["results"]:
                self.assertEqual((r["ok"], r["errors"]), (0, 3))
            rows = s.json("GET", f"/api/runs/{run_id}/requests?mode=processes")[1]["requests"]
            self.assertEqual([r["error_kind"] for r in rows], ["connect"] * 3)
        finally:
            self.assertEqual(s.stop(), 0)


    def test_static_files_and_page_routes(self):
        root = os.path.join(self.tmp, "web")
        os.makedirs(os.path.join(root, "vendor"))
        files = {"index.html": "<html>page</html>", "api.js": "export const a = 1;",
                 "runs.css": "body {}", "vendor/chart.umd.js": "var Chart;"}
        for name, text in files.items():
            with open(os.path.join(root, name), "w") as f:
                f.write(text)
        s = self.serve("--web-root", root, "--no-demo-target")
        try:
            for path, ctype, text in [("/api.js", "javascript", files["api.js"]),
                                      ("/runs.css", "text/css", files["runs.css"]),
                                      ("/vendor/chart.umd.js", "javascript", "var Chart;"),
                                      ("/", "text/html", "<html>page</html>"),
                                      ("/runs/abc", "text/html", "<html>page</html>"),
                                      ("/history", "text/html", "<html>page</html>"),
                                      ("/compare?a=1&b=2", "text/html", "<html>page</html>")]:
                status, resp, body = s.request("GET", path)
                self.assertEqual(status, 200, path)
                self.assertIn(ctype, resp.getheader("Content-Type"), path)
                self.assertEqual(body.decode(), text, path)
            self.assertEqual(s.request("GET", "/missing.js")[0], 404)
            self.assertIn(s.request("GET", "/vendor/")[0], (403, 404))
            self.assertEqual(s.json("GET", "/api/health"), (200, {"status": "ok"}))
            os.remove(os.path.join(root, "index.html"))
            status, _, body = s.request("GET", "/runs/abc")
            self.assertEqual(status, 404)
            self.assertIn(b"--web-root", body)
        finally:
            self.assertEqual(s.stop(), 0)

    def test_job_child_killed_fails_the_run(self):
        """A mode's records are stored once its clock stops: a child killed during the second
        mode leaves the first mode whole, and the run failed with the reason."""
        s = self.serve()
        try:
            run_id = s.post_run(s.spec(delay_ms=300, requests=3, concurrency=1,
                                       modes=["sync", "async"]))
            s.wait_mode(run_id, "async", done_at_least=1, timeout=30)
            children = pids_with_parent(s.proc.pid)
            self.assertEqual(len(children), 1, children)
            os.kill(children[0], signal.SIGKILL)
            run = s.wait_status(run_id, timeout=20)
            self.assertEqual(run["status"], "failed")
            self.assertIn("signal 9", run["message"])
            self.assertEqual(run["progress"]["modes"]["sync"]["done"], 3)
            self.assertEqual([r["mode"] for r in run["results"]], ["sync"])
            self.assertEqual(db_rows_per_mode(self.db, run_id).get("sync"), 3)
            # The runner goes on with the next run.
            nxt = s.post_run(s.spec(delay_ms=1, requests=2, modes=["sync"]))
            self.assertEqual(s.wait_status(nxt, timeout=30)["status"], "done")
        finally:
            self.assertEqual(s.stop(), 0)
        self.assertEqual(pids_with_parent(s.proc.pid), [])

    def test_event_streams_cannot_starve_the_api(self):
        s = self.serve("--threads", "8")  # 4 event streams at most: half the threads
        conns = []
        try:
            # A run that outlasts the test (it is cancelled below): its streams must stay open
            # while the fifth is asked for. With 2 requests (6 s) it once ended first under TSan
            # on a loaded machine, and the fifth stream was answered with its end.
            run_id = s.post_run(s.spec(delay_ms=3000, requests=20, concurrency=1, modes=["sync"]))
            for _ in range(4):
                c = s.conn(10)
                c.request("GET", f"/api/runs/{run_id}/events")
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                r.fp.readline()
                conns.append(c)
            status, doc = s.json("GET", f"/api/runs/{run_id}/events")
            self.assertEqual(status, 503)
            self.assertIn("error", doc)
            t0 = time.monotonic()
            for _ in range(20):
                self.assertEqual(s.json("GET", f"/api/runs/{run_id}")[0], 200)
            self.assertLess(time.monotonic() - t0, 5)
            for c in conns:
                c.close()
            conns = []
            s.json("POST", f"/api/runs/{run_id}/cancel")
            s.wait_status(run_id, timeout=20)
            # Streams of clients that left are noticed and their threads come back.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                c = s.conn(10)
                c.request("GET", f"/api/runs/{run_id}/events")
                status = c.getresponse().status
                c.close()
                if status == 200:
                    break
                time.sleep(0.2)
            self.assertEqual(status, 200)
        finally:
            for c in conns:
                c.close()
            self.assertEqual(s.stop(), 0)

if __name__ == "__main__":
    unittest.main()
