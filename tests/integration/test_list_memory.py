"""The runs list over large specs: 1000 stored runs of 60 KiB specs each, read by 12 clients at
once with limit=1000. Each answer is capped in bytes (the rest is a page away: next_offset), so the
dashboard's memory stays under 200 MB through it and after; paging with next_offset reaches every
run exactly once."""
# conlab-test: volume (its point is size: see tests/tests.cmake)
import json
import os
import sqlite3
import threading
import time
import unittest
import urllib.request

from serve_testlib import Serve

N = 1000


def rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class ListMemoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tmp = Serve(None, demo=False)
        db, cls.tmp = tmp.db, tmp.tmp
        assert tmp.stop() == 0
        headers = {f"X-H{i}": "v" * 8000 for i in range(7)}
        con = sqlite3.connect(db)
        for i in range(N):
            spec = {"target": {"url": "http://127.0.0.1:1/", "method": "GET", "headers": headers,
                               "body": None}, "requests": 1, "concurrency": 1, "modes": ["sync"],
                    "timeout_ms": 30000, "rate": 0, "keepalive": True, "label": ""}
            con.execute("INSERT INTO runs (id, status, created_us, finished_us, spec_json, url) "
                        "VALUES (?, 'done', ?, ?, ?, 'http://127.0.0.1:1/')",
                        (f"big{i:05d}", 1000 + i, 2000 + i, json.dumps(spec)))
        con.commit()
        con.close()
        cls.s = Serve(db, demo=False, tmp=cls.tmp)

    @classmethod
    def tearDownClass(cls):
        assert cls.s.stop() == 0, cls.s.errors()

    def get(self, path):
        with urllib.request.urlopen(f"{self.s.url}{path.lstrip('/')}", timeout=120) as r:
            return json.loads(r.read())

    def test_12_parallel_lists_stay_under_200_mb(self):
        pid = self.s.proc.pid
        before = rss_kb(pid, "VmRSS")
        errors = []

        def reader():
            try:
                for _ in range(3):
                    doc = self.get("/api/runs?limit=1000")
                    assert doc["runs"], doc
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=reader) for _ in range(12)]
        for t in threads:
            t.start()
        peak = 0
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_kb(pid, "VmRSS"))
            time.sleep(0.05)
        for t in threads:
            t.join()
        time.sleep(0.5)
        after = rss_kb(pid, "VmRSS")
        hwm = rss_kb(pid, "VmHWM")
        print(f"\nrss before {before // 1024} MB, peak {max(peak, hwm) // 1024} MB, "
              f"after {after // 1024} MB")
        self.assertEqual(errors, [])
        if os.environ.get("CONLAB_SANITIZED") == "1":
            return  # a sanitizer's shadow memory and quarantine are not the dashboard's
        self.assertLess(max(peak, hwm), 200 * 1024)
        self.assertLess(after, 200 * 1024)

    def test_paging_reaches_every_run_once(self):
        seen, offset, pages = [], 0, 0
        while pages < 200:
            doc = self.get(f"/api/runs?limit=1000&offset={offset}")
            seen += [r["id"] for r in doc["runs"]]
            pages += 1
            if "next_offset" not in doc:
                break
            self.assertGreater(doc["next_offset"], offset)
            offset = doc["next_offset"]
        self.assertEqual(len(seen), N)
        self.assertEqual(len(set(seen)), N)
        self.assertGreater(pages, 1)


if __name__ == "__main__":
    unittest.main()
