# conlab-test: once (Slurm is what it adds: see tests/tests.cmake)
# Not marked serial: it asserts no time, and it waits on no fixed timing. Every wait is a poll
# of Slurm's or the dashboard's state; the slots' lead grows and the array is run again when a
# shard overran its slot because the machine was slow to start it (that failure is loud by
# design); the killed tasks are killed at a step they are known to be in. It passes beside two
# CPU hogs.
"""A sharded run on a real Slurm: munged, slurmctld and slurmd started here (slurm_testlib), a job
array of deploy/slurm/shards.sbatch against `conlab target` with common slots, and a dependent
deploy/slurm/merge.sbatch job; and a job array of deploy/slurm/join.sbatch whose tasks join a
dashboard's run, as the README's "Beyond one machine" tells. `sbatch --wait` is used only by the
test of its exit status (it first looks at the job 2 s after the submission, then 8 s later);
elsewhere the jobs are polled and the exit codes Slurm recorded are read."""
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from conlab_testlib import BIN, assert_counts_of_one_process, start_target, stop
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

    def join_array(self, run_id, n, name):
        """Submits join.sbatch as an n-task array joining run_id: (job id, output folder)."""
        out = os.path.join(self.dir, name)
        os.makedirs(out, exist_ok=True)
        env = {"CONLAB": os.path.abspath(BIN), "CONLAB_JOIN": self.srv.url, "CONLAB_RUN": run_id,
               "CONLAB_TOKEN_FILE": self.token_file}
        p = self.cluster.sbatch(f"--array=0-{n - 1}", f"--output={out}/join-%a.out", JOIN, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip().split(";")[0], out

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
        job, out = self.join_array(run_id, 4, "join")
        run = self.srv.wait_status(run_id, statuses=("done", "partial", "failed"), timeout=40)
        self.assertEqual(self.cluster.wait_jobs_done(job, 20), ["COMPLETED"] * 4,
                         self.logs(out, 4))
        self.assertEqual(self.cluster.exit_codes(job), [0] * 4)
        self.assertEqual(run["status"], "done", run)
        assert_counts_of_one_process(self, run["results"], "--url", self.url, "--requests", "60",
                                     "--concurrency", "8", "--modes", "threads,async",
                                     "--timeout-ms", "5000")
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
        # two runs and two arrays at once: one crosses a threshold, one loses a task
        crossed = self.dashboard_run(requests=8, concurrency=2, modes=["async"], shards=2,
                                     thresholds={"p99_ms": 0.001})
        # 40 requests at 30/s: 1.3 s per mode; task 2 is killed once the first mode is stored,
        # so at some step of the second mode before its upload (the barrier, the lead, the mode)
        run_id = self.dashboard_run(requests=40, concurrency=4, modes=["async", "threads"],
                                    shards=4, rate=30)
        job3, out3 = self.join_array(crossed, 2, "join-threshold")
        job, out = self.join_array(run_id, 4, "join-killed")
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            _, run = self.srv.json("GET", f"/api/runs/{run_id}")
            if run["results"] or run["status"] not in ("waiting", "running"):
                break
            time.sleep(0.02)
        self.assertEqual(len(run["results"]), 1, f"{run}\n{self.logs(out, 4)}")
        # SIGKILL: the task dies at once, whatever it is doing, and sends nothing more
        subprocess.run(["scancel", "--signal=KILL", f"{job}_2"], env=self.cluster.env, check=True,
                       timeout=20)

        # each task of the crossed run exits 3 (sbatch --wait would return it: test_threshold_
        # crossed_exits_3_... shows that; here Slurm's record of the tasks' exit codes is read)
        self.assertEqual(self.cluster.wait_jobs_done(job3, 30), ["FAILED"] * 2, self.logs(out3, 2))
        self.assertEqual(self.cluster.exit_codes(job3), [3] * 2, self.logs(out3, 2))
        self.assertEqual(self.srv.wait_status(crossed, statuses=("done", "partial", "failed"),
                                              timeout=20)["status"], "done")

        run = self.srv.wait_status(run_id, statuses=("done", "partial", "failed"), timeout=20)
        self.assertEqual(run["status"], "partial", f"{run}\n{self.logs(out, 4)}")
        self.assertIn("shard 2", run["message"])
        self.assertEqual(len(run["results"]), 1, run)  # what arrived is kept
        self.assertEqual(run["results"][0]["requests"], 40)
        self.assertEqual(run["shards"][2]["status"], "failed")
        self.cluster.wait_jobs_done(job, 20)

    def submit_array(self, parts, n, start_ms, slot_ms, *spec):
        env = {"CONLAB": os.path.abspath(BIN), "CONLAB_PARTS": parts,
               "CONLAB_START_AT": str(start_ms), "CONLAB_SLOT_MS": str(slot_ms)}
        os.makedirs(parts, exist_ok=True)  # Slurm opens the tasks' output files there
        p = self.cluster.sbatch(f"--array=0-{n - 1}", f"--output={parts}/shard-%a.out", SHARDS,
                                "--url", self.url, *spec, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip().split(";")[0]

    def submit_merge(self, parts, dependency, name, *args):
        """Submits merge.sbatch (without --wait); returns (job id, its output file)."""
        out = f"{parts}/{name}.out"
        p = self.cluster.sbatch(f"--dependency={dependency}", f"--output={out}", MERGE, *args,
                                env={"CONLAB": os.path.abspath(BIN), "CONLAB_PARTS": parts})
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip().split(";")[0], out

    def merge_done(self, job, out):
        """Waits for merge job `job`: (its state, its exit status, its output)."""
        state = self.cluster.wait_jobs_done(job, 30)
        try:
            with open(out) as f:
                text = f.read()
        except OSError:
            text = ""
        return state, self.cluster.exit_codes(job), text

    def shard_logs(self, parts, n):
        logs = []
        for i in range(n):
            try:
                with open(f"{parts}/shard-{i}.out") as f:
                    logs.append(f.read())
            except OSError:
                logs.append("")
        return "\n".join(logs)

    def slotted_run(self, name, n, spec, *merge_args):
        """An n-task array of shards.sbatch in common slots and its merge job (afterok), as the
        README does. The slots must give Slurm room to start every task: a task started after
        its second slot began fails by design ("overran its slot"). The lead and the slot start
        short and double when that happened (the machine was slow), up to three tries. Returns
        (start, slot, parts, array job, merge state, merge exit status, merge output)."""
        self.cluster.ready()
        lead_ms, slot_ms = 1500, 1500
        for attempt in range(3):
            parts = os.path.join(self.dir, f"{name}-{attempt}")
            start = int(time.time() * 1000) + lead_ms
            job = self.submit_array(parts, n, start, slot_ms, *spec)
            merge, out = self.submit_merge(parts, f"afterok:{job}", "merge", *merge_args)
            states = self.cluster.wait_jobs_done(job, 60)
            logs = self.shard_logs(parts, n)
            if states != ["COMPLETED"] * n and "overran its slot" in logs and attempt < 2:
                late = [line for line in logs.splitlines() if "overran" in line]
                print(f"\nslots of {slot_ms} ms after a lead of {lead_ms} ms: {late}; again with "
                      "both doubled")
                self.cluster.wait_jobs_done(merge, 30)
                lead_ms, slot_ms = lead_ms * 2, slot_ms * 2
                continue
            self.assertEqual(states, ["COMPLETED"] * n, logs)
            return (start, slot_ms, parts, job, *self.merge_done(merge, out))

    def test_array_with_slots_then_merge(self):
        spec = ["--requests", "60", "--concurrency", "8", "--modes", "threads,async",
                "--timeout-ms", "5000"]
        start, slot_ms, parts, _, state, rc, out = self.slotted_run("run", 4, spec, "--json")
        self.assertEqual((state, rc), (["COMPLETED"], [0]), out)
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
        single = assert_counts_of_one_process(self, doc["results"], "--url", self.url, *spec)
        self.assertEqual(doc["spec"], single["spec"])
        # merged percentiles are the exact ones over the union of the rows
        for k, res in enumerate(doc["results"]):
            lat = sorted(r[6] - r[3] for p in loaded for r in p["points"][k]["records"]
                         if r[9] == 0)
            for name, q in (("p50", 50), ("p90", 90), ("p99", 99)):
                self.assertLessEqual(abs(res["latency_ms"][name] - pct(lat, q) / 1000),
                                     0.0005 + 1e-9, name)
        # every shard's first request at or after the common start of its slot, skew reported
        for k, point in enumerate(doc["shards"]):
            slot_us = (start + slot_ms * k) * 1000
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
        self.cluster.ready()
        # one mode: its slot is a deadline, not a wait; a task that Slurm starts after the
        # common instant starts at once (its lateness is the skew the merge reports)
        start = int(time.time() * 1000) + 300
        job = self.submit_array(parts, 2, start, 20000, "--requests", "8", "--concurrency", "2",
                                "--modes", "async", "--threshold", "p99_ms=0.001")
        self.assertEqual(self.cluster.wait_jobs_done(job, 60), ["COMPLETED"] * 2,
                         self.shard_logs(parts, 2))
        # the array has ended: the merge starts at once and ends before sbatch --wait's first
        # look, 2 s after the submission (then it looks 8 s later, then 32 s)
        out = f"{parts}/merge.out"
        p = self.cluster.sbatch(f"--dependency=afterok:{job}", f"--output={out}", MERGE,
                                env={"CONLAB": os.path.abspath(BIN), "CONLAB_PARTS": parts},
                                wait=True, timeout=90)
        try:
            with open(out) as f:
                text = f.read()
        except OSError:
            text = ""
        self.assertEqual(p.returncode, 3, text + p.stderr + self.shard_logs(parts, 2))
        self.assertIn("thresholds: FAILED", text)

    def test_killed_shard_makes_the_merge_refuse(self):
        parts = os.path.join(self.dir, "killed")
        self.cluster.ready()
        # 20 requests at 20/s: each task takes 1 s from the common instant (or from its own
        # start, when Slurm starts it later); one mode, so the slot is a deadline only
        start = int(time.time() * 1000) + 300
        job = self.submit_array(parts, 4, start, 20000, "--requests", "20", "--concurrency", "4",
                                "--modes", "async", "--rate", "20")
        # as the README does: the merge jobs are submitted with the array, on its dependency
        ok_job, ok_out = self.submit_merge(parts, f"afterok:{job}", "merge-ok")
        any_job, any_out = self.submit_merge(parts, f"afterany:{job}", "merge-any")
        # the task of shard 2 is killed while it waits for the instant or runs its requests
        self.cluster.wait(lambda: self.cluster.job_state(f"{job}_2") == ["RUNNING"], 30,
                          "shard 2 runs", "slurmctld.log")
        subprocess.run(["scancel", f"{job}_2"], env=self.cluster.env, check=True, timeout=20)
        states = self.cluster.wait_jobs_done(job, 30)
        self.assertEqual(sorted(states), ["CANCELLED", "COMPLETED", "COMPLETED", "COMPLETED"],
                         self.shard_logs(parts, 4))
        self.assertFalse(os.path.exists(f"{parts}/part-2.json"))
        # afterok: never satisfied, the merge job is cancelled (--kill-on-invalid-dep) rather
        # than left pending; it never ran (Slurm never opened its output)
        state, _, _ = self.merge_done(ok_job, ok_out)
        self.assertEqual(state, ["CANCELLED"])
        self.assertFalse(os.path.exists(ok_out))
        # run whatever the shards did (afterany): the merge refuses, naming the missing shard
        state, rc, out = self.merge_done(any_job, any_out)
        self.assertEqual((state, rc), (["FAILED"], [2]), out)
        self.assertIn("shard 2 of 4 is missing", out)


if __name__ == "__main__":
    unittest.main()
