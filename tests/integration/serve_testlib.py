"""Helpers for the `conlab serve` integration tests: the real binary ($CONLAB_BIN) on loopback
with a real database file in a temporary folder and its demo target on a free port. Every wait
is bounded."""
import http.client
import json
import os
import select
import signal
import sqlite3
import subprocess
import tempfile
import time

BIN = os.environ.get("CONLAB_BIN", os.path.join(os.path.dirname(__file__), "../../build/conlab"))


class Serve:
    """`conlab serve --listen 127.0.0.1:0 --db DB --demo-target 127.0.0.1:0 EXTRA...`; waits (at
    most 15 s) for its "dashboard on URL" line."""

    def __init__(self, db=None, *extra, demo=True, tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="conlab-serve-")
        self.db = db or os.path.join(self.tmp, "conlab.db")
        args = [BIN, "serve", "--listen", "127.0.0.1:0", "--db", self.db]
        args += ["--demo-target", "127.0.0.1:0"] if demo else ["--no-demo-target"]
        args += list(extra)
        self.stderr_path = os.path.join(self.tmp, f"serve-{time.monotonic_ns()}.err")
        self.stderr = open(self.stderr_path, "wb")
        # With --token every API request but health needs it: requests made without explicit
        # headers carry it.
        self.token = extra[extra.index("--token") + 1] if "--token" in extra else None
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr)
        line = b""
        deadline = time.monotonic() + 15
        while b"dashboard on" not in line and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
        if b"dashboard on" not in line:
            self.kill()
            raise AssertionError(f"conlab serve did not start: {line!r} {self.errors()}")
        self.url = line.split(b"dashboard on ")[1].split()[0].decode()
        hostport = self.url.split("//")[1].rstrip("/")
        self.host, self.port = hostport.split(":")[0], int(hostport.split(":")[1])
        self.target = None
        if demo:
            self.target = self.json("GET", "/api/config")[1]["demo_target"]

    def errors(self):
        if not self.stderr.closed:
            self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def conn(self, timeout=30):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One request on a new connection: (status, headers, body bytes). A body goes as
        application/json unless headers say otherwise; without explicit headers the request
        carries the server's token, if it has one."""
        c = self.conn(timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            if headers is None:
                headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            headers = dict(headers)
            if body is not None and "Content-Type" not in headers:
                headers["Content-Type"] = "application/json"
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, r, r.read()
        finally:
            c.close()

    def json(self, method, path, body=None, headers=None, timeout=30):
        status, _, data = self.request(method, path, body, headers, timeout)
        return status, (json.loads(data) if data else None)

    def post_run(self, spec, headers=None):
        status, doc = self.json("POST", "/api/runs", spec, headers)
        assert status == 202, (status, doc)
        return doc["id"]

    def spec(self, delay_ms=20, **kw):
        s = {"target": {"url": f"{self.target}?delay_ms={delay_ms}"}}
        s.update(kw)
        return s

    def wait_status(self, run_id, statuses=("done", "failed", "cancelled", "interrupted"),
                    timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, run = self.json("GET", f"/api/runs/{run_id}")
            assert status == 200, (status, run)
            if run["status"] in statuses:
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")

    def wait_mode(self, run_id, mode, done_at_least=0, timeout=30):
        """Waits until `mode` is the current mode with at least done_at_least rows stored."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, run = self.json("GET", f"/api/runs/{run_id}")
            p = run["progress"]
            if p.get("mode") == mode and p["modes"][mode]["done"] >= done_at_least:
                return run
            time.sleep(0.02)
        raise AssertionError(f"run {run_id} never reached {mode} with {done_at_least} done")

    def events(self, run_id, timeout=60, on_first=None):
        """Reads /api/runs/ID/events to its end: [(event, data)...]; on_first() is called once
        the first event has arrived (the stream is open)."""
        c = self.conn(timeout)
        out = []
        try:
            c.request("GET", f"/api/runs/{run_id}/events",
                      headers={"Authorization": f"Bearer {self.token}"} if self.token else {})
            r = c.getresponse()
            assert r.status == 200, r.status
            assert r.getheader("Content-Type").startswith("text/event-stream")
            event, data = None, []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                line = r.fp.readline()
                if not line:
                    break
                line = line.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and event:
                    out.append((event, json.loads("\n".join(data))))
                    event, data = None, []
                    if on_first and len(out) == 1:
                        on_first()
        finally:
            c.close()
        return out

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends sig and waits; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"conlab serve did not stop within {timeout}s")
        finally:
            self.proc.stdout.close()
            self.stderr.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()


def db_rows_per_mode(db, run_id):
    """{mode name: rows} from the SQLite file itself."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = con.execute(
            "SELECT n.name, count(*) FROM requests r JOIN mode_names n ON n.mode = r.mode "
            "WHERE r.run_id = ? GROUP BY r.mode", (run_id,)).fetchall()
        return dict(rows)
    finally:
        con.close()


def db_integrity(db):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def db_status(db, run_id):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        row = con.execute("SELECT status, message FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row
    finally:
        con.close()
