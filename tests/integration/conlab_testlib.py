"""Helpers for the integration tests: the real binary on loopback, free ports, bounded waits."""
import json
import os
import socket
import subprocess
import time

BIN = os.environ.get("CONLAB_BIN", os.path.join(os.path.dirname(__file__), "../../build/conlab"))
# Set by ctest in the ASan+UBSan and TSan builds. There, tests whose whole point is a time measured
# at the talk's full delay (a knee, a 1 s wall) are skipped: the sanitizers look for memory and
# thread errors, and the same code paths run in the shorter tests beside them.
SANITIZED = os.environ.get("CONLAB_SANITIZED") == "1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def start_target(workers=3, delay_ms=1000):
    """Starts `conlab target` on a free port; returns (process, base URL)."""
    port = free_port()
    proc = subprocess.Popen([BIN, "target", "--listen", f"127.0.0.1:{port}", "--workers",
                             str(workers), "--delay-ms", str(delay_ms)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_port(port)
    return proc, f"http://127.0.0.1:{port}/"


def stop(proc, timeout=10):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(*args, timeout=120, check_json=True):
    """Runs `conlab run ARGS --json`; returns (exit code, parsed JSON or None, stderr)."""
    cmd = [BIN, "run", *args]
    if check_json:
        cmd.append("--json")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    doc = None
    if check_json and p.returncode == 0:
        doc = json.loads(p.stdout)
    return p.returncode, doc, p.stderr


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def wait_until(cond, timeout, what):
    """Polls cond() every 10 ms until it is true; fails the test after `timeout` seconds. The
    condition is what a fixed sleep would only hope for."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout}s")
        time.sleep(0.01)


def children(pid):
    """The pids of pid's children."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _tcp_table():
    """[(local port, state, rx_queue, inode)] of every TCP socket, from /proc/net/tcp{,6}."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    p = line.split()
                    out.append((int(p[1].split(":")[1], 16), p[3], int(p[4].split(":")[1], 16),
                                p[9]))
        except OSError:
            pass
    return out


def open_sockets(pid):
    """Established TCP connections held by pid and its descendants (a transfer in flight holds
    one; libcurl's own socketpairs are not counted)."""
    inodes, todo = set(), [pid]
    while todo:
        p = todo.pop()
        todo += children(p)
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                try:
                    link = os.readlink(f"/proc/{p}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            pass
    return sum(1 for _, state, _, inode in _tcp_table() if state == "01" and inode in inodes)


def server_read_all(port):
    """How many established connections to local `port` the server has read everything from
    (its receive queue is empty)."""
    return sum(1 for lport, state, rx, _ in _tcp_table() if lport == port and state == "01" and rx == 0)


COUNTS = ("mode", "concurrency", "requests", "ok", "errors", "bytes", "lanes")


def run_one_process(test, *run_args):
    """Runs `conlab run RUN_ARGS --json` in one process; returns its document (asserting it
    exited 0). A test may run it beside the shards it is compared with: counts do not depend on
    timing."""
    one = subprocess.run([BIN, "run", *run_args, "--json", "--no-progress"], capture_output=True,
                         text=True, timeout=60)
    test.assertEqual(one.returncode, 0, one.stderr)
    return json.loads(one.stdout)


def assert_same_counts(test, results, doc):
    """Asserts that `results` (the RESULTs of a run made of shards) have the counts of `doc`'s
    (run_one_process), mode by mode."""
    test.assertEqual(len(results), len(doc["results"]))
    for merged, plain in zip(results, doc["results"]):
        for key in COUNTS:
            test.assertEqual(merged[key], plain[key], (merged["mode"], key))


def assert_counts_of_one_process(test, results, *run_args):
    """Runs `conlab run RUN_ARGS --json` in one process and asserts that `results` (the RESULTs of
    a run made of shards) have the same counts, mode by mode. Returns the one-process document."""
    doc = run_one_process(test, *run_args)
    assert_same_counts(test, results, doc)
    return doc
