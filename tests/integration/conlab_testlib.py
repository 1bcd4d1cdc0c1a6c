"""Helpers for the integration tests: the real binary on loopback, free ports, bounded waits."""
import json
import os
import socket
import subprocess
import time

BIN = os.environ.get("CONLAB_BIN", os.path.join(os.path.dirname(__file__), "../../build/conlab"))


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
