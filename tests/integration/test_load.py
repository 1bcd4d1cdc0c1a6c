"""The API under read load while a run executes: 200 clients (conlab's own async mode, 100
connections on the history and 100 on the running run) read for 30 s at a fixed rate. Not one
API request fails, the run completes with every request ok, and the API's p50/p99 are printed
(CONLAB_LOAD_SECONDS shortens it: ctest gives 10 s, 3 s in the sanitized builds)."""
import json
import os
import subprocess
import threading
import time
import unittest

from serve_testlib import BIN, Serve

SANITIZED = os.environ.get("CONLAB_SANITIZED") == "1"
SECONDS = int(os.environ.get("CONLAB_LOAD_SECONDS", "10" if SANITIZED else "30"))
RATE = 300 if SANITIZED else 1000  # requests/s per group of 100 clients


def load(url, out):
    p = subprocess.run([BIN, "run", "--url", url, "--modes", "async", "--concurrency", "100",
                        "--requests", str(RATE * SECONDS), "--rate", str(RATE), "--timeout-ms",
                        "10000", "--json", "--no-progress"],
                       capture_output=True, text=True, timeout=SECONDS + 120)
    out.append((url, p.returncode, p.stdout, p.stderr))


class ReadLoadTest(unittest.TestCase):
    def test_200_clients_read_while_a_run_executes(self):
        s = Serve(None, "--demo-workers", "100")
        try:
            run_id = s.post_run(s.spec(delay_ms=1000, requests=100 * SECONDS, concurrency=100,
                                       modes=["async"]))
            s.wait_status(run_id, ("running",))
            base = f"http://{s.host}:{s.port}"
            out = []
            threads = [threading.Thread(target=load, args=(u, out)) for u in
                       (f"{base}/api/runs?limit=20", f"{base}/api/runs/{run_id}")]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join(SECONDS + 150)
            took = time.monotonic() - t0
            self.assertEqual(len(out), 2)
            for url, rc, stdout, stderr in out:
                self.assertEqual(rc, 0, stderr)
                r = json.loads(stdout)["results"][0]
                self.assertEqual(r["errors"], 0, (url, r["errors_by_kind"], r.get("top_error")))
                self.assertEqual(r["ok"], RATE * SECONDS, url)
                lat = r["latency_ms"]
                print(f"\n{url.split(base)[1]}: {r['ok']} reads in {r['wall_ms'] / 1000:.1f} s "
                      f"({r['rps']:.0f}/s), p50 {lat['p50']:.2f} ms, p90 {lat['p90']:.2f} ms, "
                      f"p99 {lat['p99']:.2f} ms, max {lat['max']:.2f} ms")
            run = s.wait_status(run_id, timeout=120)
            self.assertEqual(run["status"], "done")
            self.assertEqual(run["results"][0]["ok"], 100 * SECONDS)
            self.assertLess(took, SECONDS + 60)
        finally:
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main()
