"""Helpers of the clients tests (test_clients.py, test_clients_timing.py): the shipped clients
and `conlab run ... --json`."""
import json
import os
import subprocess

from conlab_testlib import BIN

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
SHIPPED = {
    "py-sync": "clients/python/py_sync.py",
    "py-threads": "clients/python/py_threads.py",
    "py-asyncio": "clients/python/py_asyncio.py",
    "py-processes": "clients/python/py_processes.py",
    "go-goroutines": "clients/go/run",
    "node-fetch": "clients/node/fetch_pool.mjs",
}


def client_args(names):
    out = []
    for n in names:
        out += ["--client", f"{n}={os.path.join(ROOT, SHIPPED[n])}"]
    return out


def conlab_run(*args, timeout=180):
    """`conlab run ARGS --json`: (exit code, document or None, stderr)."""
    p = subprocess.run([BIN, "run", *args, "--json", "--no-progress"], capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, (json.loads(p.stdout) if p.returncode == 0 else None), p.stderr


def by_mode(doc):
    return {r["mode"]: r for r in doc["results"]}
