"""A real one-node Slurm cluster for the tests: munged, slurmctld and slurmd started directly (PID 1
is not systemd) with a slurm.conf, a munge key and every state file of their own under a
temporary folder, on free ports. Debian 12's slurm-wlm 22.05."""
import getpass
import os
import shutil
import subprocess
import tempfile
import time

from conlab_testlib import free_port

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "squeue", "scancel")


def missing_binaries():
    return [b for b in BINARIES if not shutil.which(b)]


def process_state(pid):
    """The state letter of process pid (R, S, Z, ...), None when there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


CONF = """\
ClusterName=conlabtest
SlurmctldHost=localhost
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={dir}/munge.sock
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/slurmctld.log
SlurmdLogFile={dir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmdParameters=config_overrides
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MinJobAge=300
InactiveLimit=0
KillWait=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=8 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class Cluster:
    """munged + slurmctld + slurmd; `env` has SLURM_CONF for the clients. Use as a context
    manager: the daemons are stopped on exit whatever happened."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="conlab-slurm-")
        os.chmod(self.dir, 0o755)
        self.procs = []
        self.munged_pid = None
        self.warm_job = None
        self.env = dict(os.environ, SLURM_CONF=os.path.join(self.dir, "slurm.conf"))

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        d = self.dir
        for sub in ("state", "spool"):
            os.makedirs(os.path.join(d, sub))
        key = os.path.join(d, "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        subprocess.run(["munged", "--force", f"--socket={d}/munge.sock", f"--key-file={key}",
                        f"--pid-file={d}/munged.pid", f"--log-file={d}/munged.log",
                        f"--seed-file={d}/munged.seed"], check=True, timeout=20,
                       capture_output=True)
        with open(f"{d}/munged.pid") as f:
            self.munged_pid = int(f.read().strip())
        with open(self.env["SLURM_CONF"], "w") as f:
            f.write(CONF.format(dir=d, user=getpass.getuser(), ctld_port=free_port(),
                                d_port=free_port()))
        # -D: in the foreground, children of this test, so that nothing outlives it
        self.procs.append(subprocess.Popen(["slurmctld", "-D", "-i"], env=self.env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.wait(lambda: self.scontrol("ping").returncode == 0, 20, "slurmctld answers ping",
                  "slurmctld.log")
        self.procs.append(subprocess.Popen(["slurmd", "-D", "-N", "localhost"], env=self.env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.wait(lambda: "State=IDLE" in self.scontrol("show", "node", "localhost").stdout, 30,
                  "the node is idle", "slurmd.log")
        # The first job of a fresh controller waits ~2 s for the scheduler's first pass; later
        # ones start at its next pass, once a second (sched_interval=1: jobs wait for it, also
        # with batch_sched_delay=0). A warm-up job is submitted here; ready() waits until it
        # ran, for a caller whose jobs count time from their submission; the others' jobs may
        # simply wait for that first pass beside it.
        warm = self.sbatch("--output=/dev/null", "--wrap=true")
        if warm.returncode != 0:
            raise AssertionError(f"sbatch: {warm.stderr}\n{self.log('slurmctld.log')}")
        self.warm_job = warm.stdout.strip()

    def ready(self, timeout=30):
        """Waits for the warm-up job of start(): the scheduler has made its first pass."""
        if self.warm_job:
            self.wait_jobs_done(self.warm_job, timeout)
            self.warm_job = None

    def wait(self, cond, timeout, what, logname):
        deadline = time.monotonic() + timeout
        while not cond():
            for p in self.procs:
                if p.poll() is not None:
                    raise AssertionError(f"{p.args[0]} exited ({p.returncode}) while waiting for "
                                         f"{what}:\n{self.log(logname)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not after {timeout}s:\n{self.log(logname)}")
            time.sleep(0.1)

    def scontrol(self, *args):
        return subprocess.run(["scontrol", *args], env=self.env, capture_output=True, text=True,
                              timeout=20)

    def sbatch(self, *args, env=None, wait=False, timeout=60):
        """sbatch --parsable ARGS (with --wait when wait); returns the CompletedProcess (stdout:
        the job id). env: variables for the job, given to sbatch in its own environment, which
        the job gets (--export=ALL, the default): an --export=ALL,NAME=VALUE list does the same
        but makes Slurm 22.05 launch each task 1-2 s later than it allocated it."""
        return subprocess.run(["sbatch", "--parsable", *(["--wait"] if wait else []), *args],
                              env=dict(self.env, **(env or {})), capture_output=True, text=True,
                              timeout=timeout)

    def job_fields(self, job, name):
        """The field `name` (JobState, ExitCode, ...) of every task of job, as Slurm records it."""
        out = self.scontrol("show", "job", "-o", str(job)).stdout
        return [f.split("=", 1)[1] for line in out.splitlines() for f in line.split()
                if f.startswith(name + "=")]

    def job_state(self, job):
        return self.job_fields(job, "JobState")

    def exit_codes(self, job):
        """The exit status of every task of job (ExitCode=STATUS:SIGNAL), as Slurm recorded it."""
        return [int(c.split(":")[0]) for c in self.job_fields(job, "ExitCode")]

    def wait_jobs_done(self, job, timeout):
        """Waits until every task of job (an array or not) has ended; returns their states.
        It asks slurmctld every 50 ms (sbatch --wait asks after 2 s, then 8 s more, then 32)."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.job_state(job)
            if states and all(s not in ("PENDING", "RUNNING", "CONFIGURING", "COMPLETING")
                              for s in states):
                return states
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job} still {states} after {timeout}s:\n"
                                     f"{self.log('slurmctld.log')}")
            time.sleep(0.05)

    def stop(self):
        if self.procs:
            try:
                subprocess.run(["scontrol", "shutdown"], env=self.env, capture_output=True,
                               timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                pass
            for p in self.procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            self.procs = []
        if self.munged_pid:
            # munged forked itself away: once it exits it is PID 1's child, a zombie until
            # PID 1 reaps it (here, seconds later): exited is what is waited for
            try:
                os.kill(self.munged_pid, 15)
                for _ in range(100):
                    if process_state(self.munged_pid) in (None, "Z"):
                        break
                    time.sleep(0.02)
            except ProcessLookupError:
                pass
            self.munged_pid = None
        shutil.rmtree(self.dir, ignore_errors=True)
