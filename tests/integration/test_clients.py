"""Clients (docs/CLIENTS.md): programs registered with --client run as modes beside conlab's
own, measured from outside. Hostile programs, one per rule, fail their own mode and nothing else;
the dashboard lists the registered clients, refuses others and runs them. (The shipped clients'
timed runs and the GIL: test_clients_timing.py.)"""
import json
import os
import sqlite3
import subprocess
import tempfile
import textwrap
import time
import unittest

from clients_testlib import ROOT, SHIPPED, by_mode, conlab_run
from conlab_testlib import BIN, start_target, stop
from serve_testlib import Serve

PRELUDE = """\
import json, os, signal, subprocess, sys, time
now = lambda: time.monotonic_ns() // 1000
def out(o):
    print(o if isinstance(o, str) else json.dumps(o), flush=True)
spec = json.loads(sys.stdin.readline())
N, C = spec["requests"], spec["concurrency"]
sys.stderr.write("stderr of " + os.path.basename(sys.argv[0])[:-3] + "\\n")
sys.stderr.flush()
def hello():
    out({"hello": "x", "t_us": now()})
def req(_seq, lane=0, **kw):
    t = now()
    line = {"seq": _seq, "lane": lane, "start_us": t, "end_us": t + 10, "status": 200, "bytes": 1}
    line.update(kw)
    time.sleep(0.001)
    return line
"""

HOSTILE = {
    # name: (body, rule, words of the message)
    "h-json": ("hello(); out('{not json')", "json", "line 2"),
    "h-type": ("hello(); out(req(0, seq='0'))", "field", "'seq'"),
    "h-unknown": ("hello(); out(req(0, start=1))", "field", "unknown field 'start'"),
    "h-kind": ("hello(); out(req(0, error_kind='oops'))", "field", "oops"),
    "h-nohello": ("out(req(0))", "hello", "first line"),
    "h-badtime": ("out({'hello': 'x', 't_us': 'soon'})", "hello", "'t_us' must be an integer"),
    "h-twice": ("hello(); out(req(0)); out(req(0))", "seq", "given twice"),
    "h-missing": ("hello()\nfor s in range(N - 1): out(req(s))\nout({'done': N})",
                  "seq", "missing"),
    "h-account": ("hello()\nfor s in range(N): out(req(s))\nout({'done': N, 'ok': N - 1, 'errors': 0})",
                  "accounting", "ok"),
    "h-lane": ("hello(); out(req(0, lane=C))", "lane", "outside"),
    "h-backwards": ("hello(); t = now(); out(req(0, start_us=t, end_us=t - 5))",
                    "times", "before start_us"),
    "h-early": ("t = now(); time.sleep(0.01); hello(); out(req(0, start_us=t - 1000000))",
                "times", "outside the mode"),
    "h-future": ("hello(); out(req(0, end_us=now() + 60000000))", "times", "outside the mode"),
    "h-long": ("hello(); out(json.dumps(req(0, error='x' * 10000)))", "flood", "longer than 4096"),
    "h-after": ("hello()\nfor s in range(N): out(req(s))\nout({'done': N}); out({'done': N})",
                "flood", "after done"),
    "h-status": ("hello()\nfor s in range(N): out(req(s))\nout({'done': N}); sys.exit(3)",
                 "exit", "status 3"),
    "h-crash": ("hello(); out(req(0)); os.kill(os.getpid(), signal.SIGSEGV)",
                "exit", "signal 11"),
    "h-silent": (None, "timeout", "no line for"),
    "h-mute": (None, "timeout", "no hello"),
}


class Hostile(unittest.TestCase):
    """A table of broken clients: each run holds conlab's threads mode, then the broken client,
    then sync: the client's mode fails naming its rule and the line, the two built-in modes are
    stored intact, the run is done (exit 0), and the client's tree is gone."""

    N = 3

    @classmethod
    def setUpClass(cls):
        cls.target, cls.url = start_target(workers=8, delay_ms=0)
        cls.tmp = tempfile.mkdtemp(prefix="conlab-hostile-")

    @classmethod
    def tearDownClass(cls):
        stop(cls.target)

    def script(self, name, body):
        path = os.path.join(self.tmp, name + ".py")
        pidfile = os.path.join(self.tmp, name + ".pids")
        if body is None and name == "h-silent":  # hello, one request, then a child and silence
            body = (f"hello(); out(req(0))\n"
                    f"p = subprocess.Popen(['sleep', '300'])\n"
                    f"open({pidfile!r}, 'w').write(str(p.pid))\ntime.sleep(300)")
        elif body is None:  # never a word, a grandchild holding stdout
            body = (f"p = subprocess.Popen(['sleep', '300'])\n"
                    f"open({pidfile!r}, 'w').write(str(p.pid))\ntime.sleep(300)")
        with open(path, "w") as f:
            f.write(PRELUDE + textwrap.dedent(body) + "\n")
        return f"/usr/bin/python3 {path}", pidfile

    def hostile_run(self, names, timeout_ms=1000):
        db = os.path.join(self.tmp, f"run-{time.monotonic_ns()}.db")
        regs, pidfiles = [], {}
        for n in names:
            cmd, pidfiles[n] = self.script(n, HOSTILE[n][0])
            regs += ["--client", f"{n}={cmd}"]
        code, doc, err = conlab_run("--url", self.url, "--requests", str(self.N), "--concurrency",
                                    "2", "--timeout-ms", str(timeout_ms), "--db", db,
                                    "--modes", ",".join(["threads", *names, "sync"]), *regs)
        self.assertEqual(code, 0, err)
        res = by_mode(doc)
        self.assertEqual(list(res), ["threads", *names, "sync"])
        con = sqlite3.connect(db)
        try:
            for m, mid in (("threads", 1), ("sync", 0)):
                self.assertEqual((res[m]["ok"], res[m]["errors"]), (self.N, 0), res[m])
                rows = con.execute("SELECT seq, error_kind, status FROM requests WHERE run_id = ? "
                                   "AND mode = ? ORDER BY seq", (doc["id"], mid)).fetchall()
                self.assertEqual(rows, [(s, 0, 200) for s in range(self.N)], m)
            for k, n in enumerate(names):
                _, rule, words = HOSTILE[n]
                r = res[n]
                self.assertTrue(r["client"], r)
                self.assertIn(f"rule '{rule}'", r.get("error", ""), r)
                self.assertIn(words, r["error"], r)
                self.assertIn(f"stderr of {n}", r["stderr"], r)
                self.assertEqual((r["ok"], r["errors"], r["errors_by_kind"]),
                                 (0, self.N, {"worker": self.N}), r)
                self.assertEqual(r["rps"], 0, r)  # failures are not throughput
                rows = con.execute("SELECT count(*), min(error_kind), max(error_kind) FROM requests "
                                   "WHERE run_id = ? AND mode = ?", (doc["id"], 16 + k)).fetchone()
                self.assertEqual(rows, (self.N, 7, 7), n)  # every request: kind worker
            status = con.execute("SELECT status FROM runs WHERE id = ?", (doc["id"],)).fetchone()
            self.assertEqual(status, ("done",))
        finally:
            con.close()
        for n, pf in pidfiles.items():  # killed with its whole tree
            if os.path.exists(pf):
                with open(pf) as f:
                    pid = int(f.read())
                self.assertFalse(os.path.exists(f"/proc/{pid}"), f"{n}'s child {pid} survived")
        return res

    def test_line_rules(self):
        names = [n for n in HOSTILE if n not in ("h-silent", "h-mute")]
        for at in range(0, len(names), 8):  # a run names at most 8 clients
            with self.subTest(names=names[at:at + 8]):
                self.hostile_run(names[at:at + 8])

    def test_the_contracts_minimal_hello_is_enough(self):
        """A client written from the contract alone: {"hello": ...} with no t_us, then its
        requests at once. Its mode is measured from the moment conlab read the hello."""
        body = ("out({'hello': {'lib': 'urllib'}})\n"
                "import urllib.request\n"
                "for s in range(N):\n"
                "    t = now(); b = urllib.request.urlopen(spec['target']['url']).read(); e = now()\n"
                "    out({'seq': s, 'lane': 0, 'start_us': t, 'end_us': e, 'status': 200,\n"
                "         'bytes': len(b), 'error_kind': None, 'error': None})\n"
                "out({'done': N})\n")
        path = os.path.join(self.tmp, "minimal.py")
        with open(path, "w") as f:
            f.write(PRELUDE + body)
        code, doc, err = conlab_run("--url", self.url, "--requests", str(self.N), "--concurrency",
                                    "1", "--modes", "minimal",
                                    "--client", f"minimal=/usr/bin/python3 {path}")
        self.assertEqual(code, 0, err)
        r = by_mode(doc)["minimal"]
        self.assertNotIn("error", r)
        self.assertEqual((r["requests"], r["ok"], r["errors"]), (self.N, self.N, 0), r)
        self.assertGreater(r["wall_ms"], 0, r)

    def test_timeouts_kill_the_tree(self):
        t0 = time.monotonic()
        res = self.hostile_run(["h-silent", "h-mute"], timeout_ms=500)
        # silence: timeout_ms + 5 s; no hello: 10 s
        self.assertLess(time.monotonic() - t0, 30)
        self.assertGreaterEqual(res["h-mute"]["startup_ms"], 10000)

    def test_registration_is_checked(self):
        p = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", "--db",
                            os.path.join(self.tmp, "x.db"), "--client", "a=/bin/true",
                            "--default-modes", "sync,a,ghost"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--default-modes: 'ghost'", p.stderr)
        for bad, words in (("sync=/bin/true", "built-in"), ("Nope=/bin/true", "[a-z]"),
                           ("x", "NAME=COMMAND"), ("a=", "empty command")):
            p = subprocess.run([BIN, "run", "--url", self.url, "--client", bad], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
            self.assertIn("--client", p.stderr)
            self.assertIn(words, p.stderr)
        p = subprocess.run([BIN, "run", "--url", self.url, "--modes", "threads,ghost"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--modes: unknown mode 'ghost'", p.stderr)


class Dashboard(unittest.TestCase):
    """The dashboard lists its registered clients (never their commands), refuses a spec naming
    another, and runs a registered one like a mode: results, requests, charts, exports."""

    @classmethod
    def setUpClass(cls):
        conf = os.path.join(tempfile.mkdtemp(prefix="conlab-clients-"), "clients.conf")
        with open(conf, "w") as f:
            f.write("# asyncio with aiohttp\n")
            f.write(f"py-asyncio={os.path.join(ROOT, SHIPPED['py-asyncio'])}\n\n")
            f.write(f"py-threads = {os.path.join(ROOT, SHIPPED['py-threads'])}\n")
        cls.s = Serve(None, "--clients", conf, "--demo-delay-ms", "200",
                      "--default-modes", "threads,py-asyncio")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop() if hasattr(cls.s, "stop") else cls.s.kill()

    def test_lists_refuses_and_runs(self):
        status, doc = self.s.json("GET", "/api/clients")
        self.assertEqual(status, 200)
        self.assertEqual(doc, {"clients": [
            {"name": "py-asyncio", "description": "asyncio with aiohttp"},
            {"name": "py-threads", "description": ""}]})
        status, cfg = self.s.json("GET", "/api/config")
        self.assertEqual(cfg["modes"][-2:], ["py-asyncio", "py-threads"])  # after the built-in
        self.assertEqual(cfg["clients"], doc["clients"])
        self.assertEqual(cfg["defaults"]["modes"], ["threads", "py-asyncio"])
        self.assertNotIn("clients/python", json.dumps(cfg))  # never a command line
        status, doc = self.s.json("POST", "/api/runs", {"target": {"url": self.s.target},
                                                        "modes": ["threads", "py-nope"]})
        self.assertEqual(status, 400)
        self.assertIn("py-nope", doc["error"])
        self.assertEqual(doc.get("field"), "modes")

        rid = self.s.post_run({"target": {"url": self.s.target}, "modes": ["threads", "py-asyncio"]})
        run = self.s.wait_status(rid, timeout=60)
        self.assertEqual(run["status"], "done", run)
        res = by_mode(run)
        self.assertEqual(res["py-asyncio"]["ok"], 3, res)
        self.assertTrue(res["py-asyncio"]["client"])
        self.assertEqual(set(run["progress"]["modes"]), {"threads", "py-asyncio"})
        status, page = self.s.json("GET", f"/api/runs/{rid}/requests?mode=py-asyncio")
        self.assertEqual(status, 200, page)
        self.assertEqual(page["mode"], "py-asyncio")
        self.assertEqual([q["seq"] for q in page["requests"]], [0, 1, 2])
        status, charts = self.s.json("GET", f"/api/runs/{rid}/charts")
        self.assertEqual([m["mode"] for m in charts["modes"]], ["threads", "py-asyncio"])
        status, _, csv = self.s.request("GET", f"/api/runs/{rid}/export.csv")
        self.assertEqual(csv.decode().count("\npy-asyncio,"), 3)
        status, page = self.s.json("GET", f"/api/runs/{rid}/requests?mode=py-threads")
        self.assertEqual(status, 400)  # registered, but not a mode of this run


if __name__ == "__main__":
    unittest.main()
