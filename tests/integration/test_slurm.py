# conlab-test: serial (it asserts times: see tests/tests.cmake)
"""A sharded run on a real Slurm: munged, slurmctld and slurmd started here (slurm_testlib), a job
array of deploy/slurm/shards.sbatch against `conlab target` with common slots, and a dependent
deploy/slurm/merge.sbatch job, as the README's "Beyond one machine" tells."""
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from conlab_testlib import BIN, start_target, stop
import slurm_testlib

SOURCE = os.environ.get("CONLAB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
SHARDS = os.path.join(SOURCE, "deploy/slurm/shards.sbatch")
MERGE = os.path.join(SOURCE, "deploy/slurm/merge.sbatch")
MISSING = slurm_testlib.missing_binaries()


def pct(v, p):
    """stats.c's percentile of sorted v: linear interpolation between closest ranks."""
    rank = p / 100 * (len(v) - 1)
    lo = math.floor(rank)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (rank - lo)


@unittest.skipIf(MISSING, f"the Slurm binaries are missing ({', '.join(MISSING)}): "
                 "scripts/setup.sh --test installs slurmctld slurmd slurm-client munge")
class SlurmTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.target, cls.url = start_target(workers=64, delay_ms=5)
        cls.cluster = slurm_testlib.Cluster()
        try:
            cls.cluster.__enter__()
        except BaseException:
            stop(cls.target)
            raise
        cls.dir = tempfile.mkdtemp(prefix="conlab-slurm-run-")

    @classmethod
    def tearDownClass(cls):
        try:
            cls.cluster.__exit__(None, None, None)
        finally:
            stop(cls.target)
            shutil.rmtree(cls.dir, ignore_errors=True)

    def submit_array(self, parts, n, start_ms, slot_ms, *spec):
        env = f"ALL,CONLAB={os.path.abspath(BIN)},CONLAB_PARTS={parts}," \
              f"CONLAB_START_AT={start_ms},CONLAB_SLOT_MS={slot_ms}"
        os.makedirs(parts, exist_ok=True)  # Slurm opens the tasks' output files there
        p = self.cluster.sbatch(f"--array=0-{n - 1}", f"--export={env}",
                                f"--output={parts}/shard-%a.out", SHARDS, "--url", self.url, *spec)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip().split(";")[0]

    def merge_wait(self, parts, dependency, *args):
        """sbatch --wait of merge.sbatch; returns (exit status, its output, its job id)."""
        out = f"{parts}/merge.out"
        p = subprocess.run(["sbatch", "--wait", f"--dependency={dependency}",
                            f"--export=ALL,CONLAB={os.path.abspath(BIN)},CONLAB_PARTS={parts}",
                            f"--output={out}", MERGE, *args], env=self.cluster.env,
                           capture_output=True, text=True, timeout=60)
        try:
            with open(out) as f:
                text = f.read()
        except OSError:
            text = ""
        return p.returncode, text + p.stderr, p.stdout.split()[-1] if p.stdout.split() else ""

    def shard_logs(self, parts, n):
        logs = []
        for i in range(n):
            try:
                with open(f"{parts}/shard-{i}.out") as f:
                    logs.append(f.read())
            except OSError:
                logs.append("")
        return "\n".join(logs)

    def test_array_with_slots_then_merge(self):
        spec = ["--requests", "60", "--concurrency", "8", "--modes", "threads,async",
                "--timeout-ms", "5000"]
        parts = os.path.join(self.dir, "run")
        # Slurm starts the tasks within a second here; the lead leaves room for a loaded machine
        start = int(time.time() * 1000) + 4000
        job = self.submit_array(parts, 4, start, 3000, *spec)
        rc, out, _ = self.merge_wait(parts, f"afterok:{job}", "--json")
        self.assertEqual(self.cluster.wait_jobs_done(job, 10), ["COMPLETED"] * 4,
                         self.shard_logs(parts, 4))
        self.assertEqual(rc, 0, out)
        doc = json.loads(out)

        loaded = []
        for i in range(4):
            with open(f"{parts}/part-{i}.json") as f:
                loaded.append(json.load(f))
        # every seq exactly once per mode
        for k in range(2):
            seqs = sorted(r[0] for p in loaded for r in p["points"][k]["records"])
            self.assertEqual(seqs, list(range(60)))
        # merged counts equal a one-process run of the same spec
        one = subprocess.run([BIN, "run", "--url", self.url, "--json", "--no-progress", *spec],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(one.returncode, 0, one.stderr)
        single = json.loads(one.stdout)
        self.assertEqual(doc["spec"], single["spec"])
        for merged, plain in zip(doc["results"], single["results"]):
            for key in ("mode", "concurrency", "requests", "ok", "errors", "bytes", "lanes"):
                self.assertEqual(merged[key], plain[key], key)
        # merged percentiles are the exact ones over the union of the rows
        for k, res in enumerate(doc["results"]):
            lat = sorted(r[6] - r[3] for p in loaded for r in p["points"][k]["records"]
                         if r[9] == 0)
            for name, q in (("p50", 50), ("p90", 90), ("p99", 99)):
                self.assertLessEqual(abs(res["latency_ms"][name] - pct(lat, q) / 1000),
                                     0.0005 + 1e-9, name)
        # every shard's first request at or after the common start of its slot, skew reported
        for k, point in enumerate(doc["shards"]):
            slot_us = (start + 3000 * k) * 1000
            self.assertEqual(len(point["shards"]), 4)
            for p in loaded:
                pt = p["points"][k]
                first = min(r[3] for r in pt["records"])
                self.assertGreaterEqual(pt["started_wall_us"] + first, slot_us)
                self.assertGreaterEqual(pt["skew_us"], 0)
            for s in point["shards"]:
                self.assertGreaterEqual(s["skew_ms"], 0)
            self.assertGreaterEqual(point["start_skew_ms"], 0)
            print(f"\n{point['mode']}: start skew across 4 Slurm tasks {point['start_skew_ms']} ms, "
                  f"behind the slot {[s['skew_ms'] for s in point['shards']]} ms")

    def test_threshold_crossed_exits_3_through_sbatch_wait(self):
        parts = os.path.join(self.dir, "threshold")
        start = int(time.time() * 1000) + 3000
        job = self.submit_array(parts, 2, start, 10000, "--requests", "8", "--concurrency", "2",
                                "--modes", "async", "--threshold", "p99_ms=0.001")
        rc, out, _ = self.merge_wait(parts, f"afterok:{job}")
        self.assertEqual(rc, 3, out + self.shard_logs(parts, 2))
        self.assertIn("thresholds: FAILED", out)

    def test_killed_shard_makes_the_merge_refuse(self):
        parts = os.path.join(self.dir, "killed")
        start = int(time.time() * 1000) + 4000
        job = self.submit_array(parts, 4, start, 10000, "--requests", "20", "--concurrency", "4",
                                "--modes", "async")
        # the task of shard 2 is killed while it waits for its slot
        self.cluster.wait(lambda: self.cluster.job_state(f"{job}_2") == ["RUNNING"], 20,
                          "shard 2 runs", "slurmctld.log")
        subprocess.run(["scancel", f"{job}_2"], env=self.cluster.env, check=True, timeout=20)
        states = self.cluster.wait_jobs_done(job, 30)
        self.assertEqual(sorted(states), ["CANCELLED", "COMPLETED", "COMPLETED", "COMPLETED"],
                         self.shard_logs(parts, 4))
        self.assertFalse(os.path.exists(f"{parts}/part-2.json"))
        # afterok: never satisfied, the merge job is cancelled (--kill-on-invalid-dep) rather
        # than left pending; it never ran
        _, _, merge_job = self.merge_wait(parts, f"afterok:{job}")
        self.assertEqual(self.cluster.job_state(merge_job), ["CANCELLED"])
        # run whatever the shards did (afterany): the merge refuses, naming the missing shard
        rc, out, _ = self.merge_wait(parts, f"afterany:{job}")
        self.assertEqual(rc, 2, out)
        self.assertIn("shard 2 of 4 is missing", out)


if __name__ == "__main__":
    unittest.main()
