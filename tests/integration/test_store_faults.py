"""Storage that fails under the dashboard: a disk that fills up mid-run (a file size limit, the
way a quota does it), a database file it may only read, and the dashboard killed with SIGKILL
mid-run. Each gives a clear error, no corruption, and a dashboard that stays up (or, for a
database it cannot write at start, one that says so and exits 1)."""
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import unittest

import serve_testlib
from serve_testlib import BIN, Serve, db_integrity


def rows(db, run_id):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        n = con.execute("SELECT count(*) FROM requests WHERE run_id = ?", (run_id,)).fetchone()[0]
        results = [r[0] for r in con.execute(
            "SELECT result_json FROM modes WHERE run_id = ? ORDER BY position", (run_id,))]
        return n, results
    finally:
        con.close()


def as_nobody():
    """argv prefix that runs a command as an unprivileged user when we are root (root writes
    any file whatever its mode)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


class StoreFaultsTest(unittest.TestCase):
    def test_disk_full_mid_run(self):
        """The database may not grow past 3 MiB: the big run fails naming the store, the
        dashboard stays up and keeps serving, the earlier run is intact, the file is sound."""
        limit = 3 << 20
        popen = subprocess.Popen

        def limited(*a, **kw):
            kw["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            return popen(*a, **kw)

        serve_testlib.subprocess.Popen = limited
        try:
            s = Serve(None)
        finally:
            serve_testlib.subprocess.Popen = popen
        try:
            small = s.post_run(s.spec(delay_ms=1, requests=5, modes=["sync", "async"]))
            self.assertEqual(s.wait_status(small)["status"], "done")
            before = rows(s.db, small)
            big = s.post_run(s.spec(delay_ms=0, requests=60000, concurrency=20, modes=["async"]))
            run = s.wait_status(big, timeout=180)
            self.assertEqual(run["status"], "failed")
            # Wherever the disk ran out (the job child's record spill, or the database), the
            # run says where.
            self.assertRegex(run["message"], r"stor(e|ing)|record|spill|disk")
            self.assertIsNone(s.proc.poll(), "the dashboard died")
            self.assertEqual(s.json("GET", "/api/health"), (200, {"status": "ok"}))
            self.assertEqual(s.json("GET", f"/api/runs/{small}")[1]["status"], "done")
            # A run that fits still runs: the failure did not wedge the runner.
            after = s.post_run(s.spec(delay_ms=1, requests=1, modes=["sync"]))
            self.assertIn(s.wait_status(after)["status"], ("done", "failed"))
        finally:
            self.assertEqual(s.stop(), 0)
        self.assertEqual(rows(s.db, small), before)
        self.assertEqual(db_integrity(s.db), "ok")

    def test_run_db_store_full_exits_1(self):
        """conlab run --db whose file may not grow past 3 MiB: the results are still printed,
        stderr says storing failed, the stored run says failed naming it, and the exit status is 1
        (a runtime failure of conlab itself), not 0."""
        from conlab_testlib import start_target, stop
        target, url = start_target(workers=64, delay_ms=0)
        tmp = tempfile.mkdtemp(prefix="conlab-full-")
        db = os.path.join(tmp, "run.db")
        limit = 3 << 20
        try:
            # Two modes of 25,000: each mode's record spill (a memfd, under the same limit) stays
            # under 3 MiB, the database of both does not.
            p = subprocess.run([BIN, "run", "--url", url, "--requests", "25000", "--concurrency",
                                "20", "--modes", "async,threads", "--db", db],
                               capture_output=True, text=True, timeout=180,
                               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                                     (limit, limit)))
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("storing request records", p.stderr)
            self.assertRegex(p.stdout, r"(?m)^threads\s+25000\s+25000\s+0\s")
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                status, message = con.execute("SELECT status, message FROM runs").fetchone()
            finally:
                con.close()
            self.assertEqual(status, "failed")
            self.assertIn("storing request records", message)
        finally:
            stop(target)
            shutil.rmtree(tmp, ignore_errors=True)

    def test_read_only_database(self):
        """A database file conlab may only read: serve and run --db say so and exit 1; the
        file is left as it was."""
        tmp = tempfile.mkdtemp(prefix="conlab-ro-")
        os.chmod(tmp, 0o755)
        db = os.path.join(tmp, "ro.db")
        s = Serve(db, tmp=tmp, demo=False)
        run_id = s.post_run({"target": {"url": "http://127.0.0.1:1/"}, "requests": 2,
                             "modes": ["sync"]})
        s.wait_status(run_id)
        self.assertEqual(s.stop(), 0)
        before = rows(db, run_id)
        for f in os.listdir(tmp):
            os.chmod(os.path.join(tmp, f), 0o444)
        os.chmod(tmp, 0o555)
        try:
            p = subprocess.run(as_nobody() + [BIN, "serve", "--listen", "127.0.0.1:0", "--db", db,
                                              "--no-demo-target"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(db, p.stderr)
            self.assertRegex(p.stderr, r"read-?only|readonly|permission|unable to open")
            p = subprocess.run(as_nobody() + [BIN, "run", "--url", "http://127.0.0.1:1/",
                                              "--requests", "1", "--modes", "sync", "--db", db],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("ro.db", p.stderr)
        finally:
            os.chmod(tmp, 0o755)
        self.assertEqual(rows(db, run_id), before)
        self.assertEqual(db_integrity(db), "ok")
        shutil.rmtree(tmp, ignore_errors=True)

    def test_sigkill_mid_run_keeps_earlier_runs(self):
        s = Serve(None)
        earlier = s.post_run(s.spec(delay_ms=1, requests=20, concurrency=4))
        self.assertEqual(s.wait_status(earlier)["status"], "done")
        before = rows(s.db, earlier)
        charts = s.json("GET", f"/api/runs/{earlier}/charts")[1]
        self.assertEqual(before[0], 80)
        running = s.post_run(s.spec(delay_ms=100, requests=200, concurrency=2, modes=["sync"]))
        s.wait_mode(running, "sync", done_at_least=3)
        s.kill()  # SIGKILL: no chance to clean up
        self.assertEqual(db_integrity(s.db), "ok")
        s2 = Serve(s.db, tmp=s.tmp)
        try:
            self.assertEqual(s2.json("GET", f"/api/runs/{running}")[1]["status"], "interrupted")
            self.assertEqual(s2.json("GET", f"/api/runs/{earlier}")[1]["status"], "done")
            self.assertEqual(s2.json("GET", f"/api/runs/{earlier}/charts")[1], charts)
        finally:
            self.assertEqual(s2.stop(), 0)
        self.assertEqual(rows(s.db, earlier), before)
        self.assertEqual(db_integrity(s.db), "ok")


if __name__ == "__main__":
    unittest.main()
