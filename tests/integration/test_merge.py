# conlab-test: serial (it asserts times: see tests/tests.cmake)
"""Shards and merge without a cluster: `conlab run --shard i/n --out PART` on loopback against
`conlab target`, then `conlab merge`, checked against a one-process run and against the rows."""
import copy
import json
import math
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from conlab_testlib import BIN, assert_counts_of_one_process, start_target, stop


def pct(sorted_vals, p):
    """stats.c's percentile: linear interpolation between closest ranks."""
    n = len(sorted_vals)
    if p <= 0:
        return sorted_vals[0]
    if p >= 100:
        return sorted_vals[-1]
    rank = p / 100 * (n - 1)
    lo = math.floor(rank)
    hi = min(lo + 1, n - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (rank - lo)


def shard(url, i, n, out, *extra, timeout=60):
    return subprocess.run([BIN, "run", "--url", url, "--shard", f"{i}/{n}", "--out", out,
                           "--no-progress", *extra], capture_output=True, text=True, timeout=timeout)


def merge(*args, timeout=60):
    return subprocess.run([BIN, "merge", *args], capture_output=True, text=True, timeout=timeout)


class MergeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target, cls.url = start_target(workers=64, delay_ms=5)
        cls.dir = tempfile.mkdtemp(prefix="conlab-merge-")
        cls.spec_args = ["--requests", "50", "--concurrency", "7", "--modes", "threads,async",
                         "--timeout-ms", "5000"]
        # Four shards started together at a common instant, one mode per 1.5 s slot.
        start = int(time.time() * 1000) + 800
        cls.parts = [os.path.join(cls.dir, f"part-{i}.json") for i in range(4)]
        procs = [subprocess.Popen([BIN, "run", "--url", cls.url, "--shard", f"{i}/4", "--out",
                                   cls.parts[i], "--no-progress", "--start-at", str(start),
                                   "--mode-slot-ms", "1500", *cls.spec_args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(4)]
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
        cls.start_ms = start

    @classmethod
    def tearDownClass(cls):
        stop(cls.target)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def load(self, path):
        with open(path) as f:
            return json.load(f)

    def test_every_seq_once_and_lanes_split(self):
        seen = {}
        for i, path in enumerate(self.parts):
            part = self.load(path)
            self.assertEqual((part["shard"], part["shards"]), (i, 4))
            for pt in part["points"]:
                # C = 7 over 4 shards: 2, 2, 2, 1 lanes starting at 0, 2, 4, 6
                self.assertEqual(pt["shard_concurrency"], [2, 2, 2, 1][i])
                self.assertEqual(pt["lane_offset"], [0, 2, 4, 6][i])
                for r in pt["records"]:
                    self.assertEqual(r[0] % 4, i)
                    seen.setdefault(pt["mode"], []).append(r[0])
        for mode, seqs in seen.items():
            self.assertEqual(sorted(seqs), list(range(50)), mode)

    def test_merged_equals_one_process_and_exact_percentiles(self):
        p = merge(*self.parts, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        single = assert_counts_of_one_process(self, doc["results"], "--url", self.url,
                                              *self.spec_args)
        self.assertEqual(doc["spec"], single["spec"])
        # percentiles over the union of every shard's rows, computed here from the parts
        for k, res in enumerate(doc["results"]):
            lat = sorted(r[6] - r[3] for path in self.parts
                         for r in self.load(path)["points"][k]["records"] if r[9] == 0)
            for name, q in (("p50", 50), ("p90", 90), ("p99", 99)):
                # exact up to the RESULT's rounding to 3 decimals (1 µs)
                self.assertLessEqual(abs(res["latency_ms"][name] - pct(lat, q) / 1000), 0.0005 + 1e-9,
                                     name)
            self.assertLessEqual(abs(res["latency_ms"]["max"] - lat[-1] / 1000), 0.0005 + 1e-9)
        # every shard started at or after its slot, the skew reported
        for k, point in enumerate(doc["shards"]):
            slot = (self.start_ms + 1500 * k) * 1000
            for s in point["shards"]:
                self.assertGreaterEqual(s["started_wall_us"], slot)
                self.assertGreaterEqual(s["skew_ms"], 0)
            self.assertIn("start_skew_ms", point)
        for path in self.parts:
            for k, pt in enumerate(self.load(path)["points"]):
                first = min(r[3] for r in pt["records"])
                self.assertGreaterEqual(pt["started_wall_us"] + first, pt["slot_wall_us"])
                self.assertEqual(pt["skew_us"], pt["started_wall_us"] - pt["slot_wall_us"])

    def test_rows_none_merges_the_histograms(self):
        """--rows none: the parts keep no rows; the merged percentiles come from the merged
        histograms, within their stated precision (E / 2048) of the exact ones."""
        d = tempfile.mkdtemp(prefix="conlab-merge-norows-", dir=self.dir)
        bare = [os.path.join(d, f"p{i}.json") for i in range(4)]
        for i in range(4):
            # the same requests as the parts with rows: a copy of each part without its rows is
            # what the shard would have written with --rows none
            part = self.load(self.parts[i])
            part["rows"] = False
            for pt in part["points"]:
                del pt["records"]
            with open(bare[i], "w") as f:
                json.dump(part, f)
        exact = json.loads(merge(*self.parts, "--json").stdout)["results"]
        p = merge(*bare, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        for res, ex in zip(json.loads(p.stdout)["results"], exact):
            for key in ("requests", "ok", "errors", "wall_ms", "rps"):
                self.assertEqual(res[key], ex[key], key)
            for name in ("min", "max", "p50", "p90", "p99"):
                e = ex["latency_ms"][name]
                self.assertLessEqual(abs(res["latency_ms"][name] - e), e / 2048 + 0.0011, name)
            self.assertAlmostEqual(res["latency_ms"]["mean"], ex["latency_ms"]["mean"], delta=0.0011)
        # and a real shard written with --rows none keeps none
        q = shard(self.url, 0, 2, os.path.join(d, "real.json"), "--requests", "10", "--rows", "none")
        self.assertEqual(q.returncode, 0, q.stderr)
        part = self.load(os.path.join(d, "real.json"))
        self.assertIs(part["rows"], False)
        self.assertTrue(all("records" not in pt for pt in part["points"]))
        self.assertTrue(all(pt["histograms"]["ok"].startswith("h1;n=") for pt in part["points"]))

    def test_rows_read_either_way(self):
        """The rows are cut out of the text before cJSON parses it; a part whose key is spelt
        with an escape (cJSON reads it as "records", the cutter does not) merges the same."""
        d = tempfile.mkdtemp(prefix="conlab-merge-escaped-", dir=self.dir)
        escaped = os.path.join(d, "p0.json")
        with open(self.parts[0]) as f:
            text = f.read()
        self.assertIn('"records":', text)
        with open(escaped, "w") as f:
            f.write(text.replace('"records":', '"rec\\u006frds":'))
        a = merge(*self.parts, "--json")
        b = merge(escaped, *self.parts[1:], "--json")
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertEqual(json.loads(a.stdout)["results"], json.loads(b.stdout)["results"])

    def test_order_does_not_matter(self):
        a = merge(*self.parts, "--json")
        b = merge(*reversed(self.parts), "--json")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(json.loads(a.stdout)["results"], json.loads(b.stdout)["results"])

    def test_db_stores_a_run_like_any_other(self):
        db = os.path.join(self.dir, "merged.db")
        p = merge(*self.parts, "--db", db, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        run_id = json.loads(p.stdout)["id"]
        con = sqlite3.connect(db)
        status, = con.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        self.assertEqual(status, "done")
        rows = con.execute("SELECT mode, seq, lane FROM requests WHERE run_id = ? ORDER BY mode, seq",
                           (run_id,)).fetchall()
        self.assertEqual(len(rows), 100)
        for mode in (1, 2):
            seqs = [r[1] for r in rows if r[0] == mode]
            self.assertEqual(seqs, list(range(50)))
            # lane = offset of the seq's shard + its own lane: shard s owns lanes [off, off + C_s)
            for _, seq, lane in (r for r in rows if r[0] == mode):
                s = seq % 4
                self.assertIn(lane, range([0, 2, 4, 6][s], [0, 2, 4, 6][s] + [2, 2, 2, 1][s]))
        con.close()

    def test_rate_interleaves_due_times(self):
        """With a rate, seq s is due at s / rate in whichever shard runs it: together the shards
        keep the spec's rate."""
        d = tempfile.mkdtemp(prefix="conlab-merge-rate-", dir=self.dir)
        parts = [os.path.join(d, f"p{i}.json") for i in range(3)]
        start = int(time.time() * 1000) + 500
        procs = [subprocess.Popen([BIN, "run", "--url", self.url, "--shard", f"{i}/3", "--out",
                                   parts[i], "--no-progress", "--requests", "30", "--concurrency",
                                   "3", "--modes", "async", "--rate", "100", "--start-at",
                                   str(start)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True) for i in range(3)]
        for p in procs:
            _, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
        for i, path in enumerate(parts):
            for r in self.load(path)["points"][0]["records"]:
                self.assertEqual(r[2], r[0] * 10000)  # sched_us = seq / 100 per s
                self.assertGreaterEqual(r[3], r[2])   # started no earlier than due
        m = merge(*parts, "--json")
        self.assertEqual(m.returncode, 0, m.stderr)
        res = json.loads(m.stdout)["results"][0]
        self.assertEqual(res["requests"], 30)
        # 30 requests at 100/s: the last is due at 290 ms from the common start
        self.assertGreaterEqual(res["wall_ms"], 290)
        self.assertIsNotNone(res["latency_from_due_ms"])

    def test_a_mode_that_overruns_its_slot_fails_loudly(self):
        d = tempfile.mkdtemp(prefix="conlab-merge-slot-", dir=self.dir)
        out = os.path.join(d, "p0.json")
        start = int(time.time() * 1000) + 200
        # 4 requests of 300 ms one after another in sync: 1.2 s in a slot of 200 ms
        p = shard(self.url + "?delay_ms=300", 0, 2, out, "--requests", "8", "--concurrency", "2",
                  "--modes", "sync,async", "--start-at", str(start), "--mode-slot-ms", "200")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("sync", p.stderr)
        self.assertIn("overran its slot", p.stderr)
        self.assertIn("--mode-slot-ms", p.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(out + ".tmp"))

    def test_threshold_crossed_exits_3(self):
        d = tempfile.mkdtemp(prefix="conlab-merge-thr-", dir=self.dir)
        parts = [os.path.join(d, f"p{i}.json") for i in range(2)]
        for i in range(2):
            p = shard(self.url, i, 2, parts[i], "--requests", "6", "--concurrency", "2",
                      "--modes", "async", "--threshold", "p99_ms=0.001")
            self.assertEqual(p.returncode, 0, p.stderr)
        m = merge(*parts)
        self.assertEqual(m.returncode, 3, m.stdout + m.stderr)
        self.assertIn("thresholds: FAILED", m.stdout)

    def test_refusals(self):
        p = merge(*self.parts[:3])
        self.assertEqual(p.returncode, 2)
        self.assertIn("shard 3 of 4 is missing", p.stderr)
        p = merge(*self.parts, self.parts[1])
        self.assertEqual(p.returncode, 2)
        self.assertIn("given twice", p.stderr)
        other = os.path.join(self.dir, "other-0.json")
        q = shard(self.url, 0, 4, other, *self.spec_args[:-2], "--timeout-ms", "4000")
        self.assertEqual(q.returncode, 0, q.stderr)
        p = merge(other, *self.parts[1:])
        self.assertEqual(p.returncode, 2)
        self.assertIn("different specs", p.stderr)
        for args, needle in ((["--shard", "0/8"], "--shard"), (["--shard", "4/4"], "--shard"),
                             (["--out", "x.json"], "--out"), (["--shard", "1"], "--shard"),
                             (["--shard", "0/2", "--mode-slot-ms", "100"], "--mode-slot-ms"),
                             (["--shard", "0/2", "--start-at", "1"], "--start-at"),
                             (["--shard", "0/2", "--rows", "some"], "--rows"),
                             (["--shard", "0/2", "--db", "x.db"], "--db"),
                             (["--shard", "0/2", "--client", "echo=cat", "--modes", "echo,async"],
                              "client modes")):
            r = subprocess.run([BIN, "run", "--url", self.url, *args], capture_output=True,
                               text=True, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(needle, r.stderr)

    def test_hostile_parts_are_refused(self):
        good = self.load(self.parts[0])
        with open(self.parts[0]) as f:
            text = f.read()

        def mutate(fn):
            doc = copy.deepcopy(good)
            fn(doc)
            return json.dumps(doc)

        def setp(key, value, k=0):
            return lambda d: d["points"][k].__setitem__(key, value)

        def rec(j, value, k=0, row=0):
            return lambda d: d["points"][k]["records"][row].__setitem__(j, value)

        cases = [
            ("empty", "", "invalid JSON"),
            ("truncated", text[: len(text) // 2], "invalid JSON"),
            ("not an object", "[1, 2]", "must be a JSON object"),
            ("deep", "[" * 5000 + "]" * 5000, "deep"),
            ("nul", text.replace('"GET"', '"G\\u0000T"', 1), "NUL"),
            ("format", mutate(lambda d: d.__setitem__("conlab_part", 2)), "conlab_part"),
            ("hash", mutate(lambda d: d.__setitem__("spec_hash", "0" * 16)), "spec_hash"),
            ("bad spec", mutate(lambda d: d["spec"].__setitem__("requests", -5)), "spec"),
            ("shard out of range", mutate(lambda d: d.__setitem__("shard", 9)), "shard"),
            ("shards zero", mutate(lambda d: d.__setitem__("shards", 0)), "shards"),
            ("rows string", mutate(lambda d: d.__setitem__("rows", "yes")), "rows"),
            ("points missing", mutate(lambda d: d["points"].pop()), "points"),
            ("mode swapped", mutate(setp("mode", "sync")), "mode"),
            ("ok off", mutate(setp("ok", good["points"][0]["ok"] - 1)), "ok"),
            ("requests off", mutate(setp("requests", 99)), "requests"),
            ("lane offset", mutate(setp("lane_offset", 3)), "lane_offset"),
            ("string count", mutate(setp("ok", "13")), "ok"),
            ("huge", mutate(setp("bytes", 1e300)), "bytes"),
            ("negative wall", mutate(setp("wall_ms", -1)), "wall_ms"),
            ("unknown kind", mutate(setp("errors_by_kind", {"boom": 1})), "errors_by_kind"),
            ("record short", mutate(rec(0, None)), "records[0]"),
            ("seq of another shard", mutate(rec(0, 1)), "records[0]"),
            ("seq twice", mutate(lambda d: d["points"][0]["records"].__setitem__(
                1, list(d["points"][0]["records"][0]))), "twice"),
            ("lane", mutate(rec(1, 40)), "lane"),
            ("kind", mutate(rec(9, 42)), "error kind"),
            ("message index", mutate(rec(10, 5)), "message"),
            ("row count", mutate(lambda d: d["points"][0]["records"].pop()), "records"),
            ("status", mutate(rec(7, 100000)), "status"),
            ("a row turned failed", mutate(rec(9, 3)), "add up"),
            ("no records", mutate(lambda d: d["points"][0].pop("records")), "records"),
            ("histogram broken", mutate(lambda d: d["points"][0]["histograms"].__setitem__(
                "ok", "h1;n=3")), "histograms.ok"),
            ("histogram of other rows", mutate(lambda d: d["points"][0]["histograms"].__setitem__(
                "ok", good["points"][1]["histograms"]["all"])), "histograms"),
            ("message counts", mutate(setp("message_counts", [5])), "message_counts"),
            ("duplicate key", text.replace('"shard":0,', '"shard":0,"shard":0,', 1), "shard"),
        ]
        for name, body, needle in cases:
            with self.subTest(name):
                path = os.path.join(self.dir, "hostile.json")
                with open(path, "w") as f:
                    f.write(body)
                p = merge(path, *self.parts[1:])
                self.assertEqual(p.returncode, 2, f"{name}: {p.stdout} {p.stderr}")
                self.assertIn("hostile.json", p.stderr)
                self.assertIn(needle, p.stderr, name)
                self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        p = merge(os.path.join(self.dir, "no-such-part.json"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read", p.stderr)


if __name__ == "__main__":
    unittest.main()
