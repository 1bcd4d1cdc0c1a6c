"""A big run deleted, or pruned by retention, while another run stores its modes: the delete goes
in small batches, so that the running run keeps writing (it ends `done` with every row) and
POST /api/runs keeps answering at once. The big runs are made with direct SQL inserts (2M rows
in a few seconds)."""
# conlab-test: volume (its point is size: see tests/tests.cmake)
import os
import sqlite3
import tempfile
import threading
import time
import unittest

from serve_testlib import Serve, db_rows_per_mode, db_integrity

SPEC_JSON = ('{"target":{"url":"http://127.0.0.1:1/","method":"GET","headers":{},"body":null},'
             '"requests":%d,"concurrency":1,"modes":["sync"],"timeout_ms":30000,"rate":0,'
             '"keepalive":true,"label":""}')


def make_db():
    tmp = tempfile.mkdtemp(prefix="conlab-batches-")
    db = os.path.join(tmp, "conlab.db")
    s = Serve(db, demo=False, tmp=tmp)  # creates and migrates the file
    assert s.stop() == 0, s.errors()
    return tmp, db


def add_big_run(db, run_id, rows, created_us):
    con = sqlite3.connect(db, timeout=30)
    try:
        con.execute("INSERT INTO runs (id, status, created_us, finished_us, spec_json, url) "
                    "VALUES (?, 'done', ?, ?, ?, 'http://127.0.0.1:1/')",
                    (run_id, created_us, created_us + 1, SPEC_JSON % rows))
        con.execute("INSERT INTO modes (run_id, mode, concurrency, position, total, lanes, done) "
                    "VALUES (?, 0, 1, 0, ?, 1, ?)", (run_id, rows, rows))
        con.execute("INSERT INTO requests (run_id, mode, concurrency, seq, lane, sched_us, "
                    "start_us, connect_us, ttfb_us, end_us, status, bytes, error_kind, error) "
                    "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
                    "SELECT ?, 0, 1, x, 0, NULL, x, x, x, x + 1, 200, 22, 0, NULL FROM c",
                    (rows - 1, run_id))
        con.commit()
    finally:
        con.close()


def post_ms(s):
    t0 = time.monotonic()
    status, doc = s.json("POST", "/api/runs", {"target": {"url": "http://127.0.0.1:1/"},
                                               "requests": 1, "modes": ["sync"]}, timeout=30)
    return (time.monotonic() - t0) * 1000, status


class Poster:
    """POSTs a tiny run every 100 ms from a thread until stopped: the worst latency and codes."""

    def __init__(self, s):
        self.s, self.worst, self.codes, self.stop = s, 0.0, set(), threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            ms, status = post_ms(self.s)
            self.worst = max(self.worst, ms)
            self.codes.add(status)
            self.stop.wait(0.1)

    def close(self):
        self.stop.set()
        self.t.join(60)


class StoreBatchesTest(unittest.TestCase):
    def test_delete_of_a_2m_row_run_while_another_run_stores(self):
        tmp, db = make_db()
        add_big_run(db, "bigrun0001", 2_000_000, 1)
        s = Serve(db, tmp=tmp)
        try:
            levels = [1, 2, 4, 8]
            rid = s.post_run(s.spec(delay_ms=5, requests=60, modes=["sync", "async"],
                                    concurrency=levels))
            s.wait_mode(rid, "sync", 1)
            poster = Poster(s)
            t0 = time.monotonic()
            status, _, _ = s.request("DELETE", "/api/runs/bigrun0001", timeout=120)
            took = time.monotonic() - t0
            poster.close()
            print(f"\n2M-row delete took {took:.1f} s; worst POST meanwhile {poster.worst:.0f} ms")
            self.assertEqual(status, 204)
            self.assertEqual(s.request("GET", "/api/runs/bigrun0001")[0], 404)
            run = s.wait_status(rid, timeout=120)
            self.assertEqual(run["status"], "done", run.get("message"))
            for r in run["results"]:
                self.assertEqual(r["requests"], 60, r)
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
            rows = con.execute("SELECT count(*) FROM requests WHERE run_id = ?", (rid,)).fetchone()[0]
            left = con.execute("SELECT count(*) FROM requests WHERE run_id = 'bigrun0001'").fetchone()[0]
            con.close()
            self.assertEqual(rows, 60 * len(levels) * 2)
            self.assertEqual(left, 0)
            self.assertLessEqual(poster.codes, {202, 429}, poster.codes)  # 429: a full queue
            self.assertLess(poster.worst, 1500, f"a POST waited {poster.worst:.0f} ms "
                                                f"during a {took:.1f} s delete")
        finally:
            self.assertEqual(s.stop(), 0, s.errors())
        self.assertEqual(db_integrity(db), "ok")

    def test_retention_does_not_block_new_runs(self):
        tmp, db = make_db()
        add_big_run(db, "bigrun0001", 1_000_000, 1)
        add_big_run(db, "bigrun0002", 1_000_000, 2)
        s = Serve(db, "--max-runs", "1", tmp=tmp)
        try:
            poster = Poster(s)
            # The poster's runs end one after another; each end prunes (--max-runs 1), the first
            # the two big runs, while the poster keeps asking for new runs.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and any(
                    s.request("GET", f"/api/runs/bigrun000{i}")[0] == 200 for i in (1, 2)):
                time.sleep(0.2)
            poster.close()
            print(f"\nretention of 2 x 1M rows: worst POST meanwhile {poster.worst:.0f} ms")
            for i in (1, 2):
                self.assertEqual(s.request("GET", f"/api/runs/bigrun000{i}")[0], 404)
            self.assertLessEqual(poster.codes, {202, 429}, poster.codes)  # 429: a full queue
            self.assertLess(poster.worst, 1500)
        finally:
            self.assertEqual(s.stop(), 0, s.errors())


if __name__ == "__main__":
    unittest.main()
