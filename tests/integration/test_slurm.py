# conlab-test: serial (it asserts times: see tests/tests.cmake)
"""A sharded run on a real Slurm: munged, slurmctld and slurmd started here (slurm_testlib), a job
array of deploy/slurm/shards.sbatch against `conlab target` with common slots, and a dependent
deploy/slurm/merge.sbatch job; and a job array of deploy/slurm/join.sbatch whose tasks join a
dashboard's run, as the README's "Beyond one machine" tells."""
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
from serve_testlib import Serve

SOURCE = os.environ.get("CONLAB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
SHARDS = os.path.join(SOURCE, "deploy/slurm/shards.sbatch")
MERGE = os.path.join(SOURCE, "deploy/slurm/merge.sbatch")
JOIN = os.path.join(SOURCE, "deploy/slurm/join.sbatch")
TOKEN = "slurm-test-token-5678"
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
        cls.token_file = os.path.join(cls.dir, "token")
        with open(cls.token_file, "w") as f:
            f.write(TOKEN + "\n")
        cls.srv = None
        try:
            cls.srv = Serve(None, "--token", TOKEN, "--shard-point-s", "3", demo=False,
                            tmp=cls.dir)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.srv:
                cls.srv.stop()
            cls.cluster.__exit__(None, None, None)
        finally:
            stop(cls.target)
            shutil.rmtree(cls.dir, ignore_errors=True)

    def dashboard_run(self, **spec):
        s = {"target": {"url": self.url}, "timeout_ms": 5000}
        s.update(spec)
        status, doc = self.srv.json("POST", "/api/runs", s)
        self.assertEqual(status, 202, doc)
        self.assertEqual(doc["status"], "waiting")
        return doc["id"]

    def join_array(self, run_id, n, name, wait=True):
        """sbatch [--wait] of join.sbatch as an n-task array joining run_id: (exit status, job
        id, the tasks' output)."""
        out = os.path.join(self.dir, name)
        os.makedirs(out, exist_ok=True)
        env = f"ALL,CONLAB={os.path.abspath(BIN)},CONLAB_JOIN={self.srv.url},CONLAB_RUN={run_id}," \
              f"CONLAB_TOKEN_FILE={self.token_file}"
        args = ["sbatch", "--parsable", f"--array=0-{n - 1}", f"--export={env}",
                f"--output={out}/join-%a.out", JOIN]
        if wait:
            args.insert(1, "--wait")
        p = subprocess.run(args, env=self.cluster.env, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout.strip().split(";")[0], out

    def logs(self, out, n):
        text = ""
        for i in range(n):
            try:
                with open(f"{out}/join-{i}.out") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def test_array_joins_a_dashboard(self):
        run_id = self.dashboard_run(requests=60, concurrency=8, modes=["threads", "async"],
                                    shards=4)
        rc, job, out = self.join_array(run_id, 4, "join", wait=False)
        self.assertEqual(rc, 0)
        run = self.srv.wait_status(run_id, statuses=("done", "partial", "failed"), timeout=40)
        self.assertEqual(self.cluster.wait_jobs_done(job, 20), ["COMPLETED"] * 4,
                         self.logs(out, 4))
        self.assertEqual(run["status"], "done", run)
        one = subprocess.run([BIN, "run", "--url", self.url, "--json", "--no-progress",
                              "--requests", "60", "--concurrency", "8", "--modes", "threads,async",
                              "--timeout-ms", "5000"], capture_output=True, text=True, timeout=60)
        self.assertEqual(one.returncode, 0, one.stderr)
        for merged, plain in zip(run["results"], json.loads(one.stdout)["results"]):
            for key in ("mode", "concurrency", "requests", "ok", "errors", "bytes", "lanes"):
                self.assertEqual(merged[key], plain[key], key)
        for res in run["results"]:
            _, page = self.srv.json("GET", f"/api/runs/{run_id}/requests?mode={res['mode']}"
                                           "&limit=10000")
            rows = page["requests"]
            self.assertEqual(sorted(r["seq"] for r in rows), list(range(60)))
            self.assertGreaterEqual(min(r["start_us"] for r in rows), 0)  # after the common start
            lat = sorted(r["end_us"] - r["start_us"] for r in rows if r["error"] is None)
            for name, q in (("p50", 50), ("p90", 90), ("p99", 99)):
                self.assertLessEqual(abs(res["latency_ms"][name] - pct(lat, q) / 1000),
                                     0.0005 + 1e-9, name)
        self.assertEqual([s["status"] for s in run["shards"]], ["done"] * 4)
        for s in run["shards"]:
            self.assertIsInstance(s["skew_ms"], (int, float))
        print(f"\nclock skew of 4 Slurm tasks at the barrier: "
              f"{[s['skew_ms'] for s in run['shards']]} ms")

    def test_joined_threshold_exits_3_and_a_killed_task_makes_the_run_partial(self):
        run_id = self.dashboard_run(requests=8, concurrency=2, modes=["async"], shards=2,
                                    thresholds={"p99_ms": 0.001})
        # each task exits 3 (sbatch --wait would return it: test_threshold_crossed_exits_3_...
        # shows that; Slurm's record of the tasks' exit codes is read here, without its polls)
        _, job, out = self.join_array(run_id, 2, "join-threshold", wait=False)
        self.assertEqual(self.cluster.wait_jobs_done(job, 30), ["FAILED"] * 2, self.logs(out, 2))
        codes = [f.split("=", 1)[1] for line in
                 self.cluster.scontrol("show", "job", "-o", job).stdout.splitlines()
                 for f in line.split() if f.startswith("ExitCode=")]
        self.assertEqual(codes, ["3:0"] * 2, self.logs(out, 2))
        # 40 requests at 20/s: 2 s per mode; task 2 is cancelled once the first mode is stored
        run_id = self.dashboard_run(requests=40, concurrency=4, modes=["async", "threads"],
                                    shards=4, rate=20)
        _, job, out = self.join_array(run_id, 4, "join-killed", wait=False)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, run = self.srv.json("GET", f"/api/runs/{run_id}")
            if run["results"]:
                break
            time.sleep(0.05)
        self.assertEqual(len(run["results"]), 1, self.logs(out, 4))
        subprocess.run(["scancel", f"{job}_2"], env=self.cluster.env, check=True, timeout=20)
        run = self.srv.wait_status(run_id, statuses=("done", "partial", "failed"), timeout=20)
        self.assertEqual(run["status"], "partial", run)
        self.assertIn("shard 2", run["message"])
        self.assertEqual(run["results"][0]["requests"], 40)
        self.assertEqual(run["shards"][2]["status"], "failed")
        self.cluster.wait_jobs_done(job, 20)

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
