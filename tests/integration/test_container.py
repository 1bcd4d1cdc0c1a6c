# conlab-test: static (it checks the sources: see tests/tests.cmake)
"""The container, checked without a Docker engine: docker-compose refuses to start without
CONLAB_TOKEN (no default token); the Dockerfile's runtime stage holds only the binary, the web
assets and the runtime libraries the binary links (no compiler, npm or sources), runs as a
non-root user, and its HEALTHCHECK command really tells a healthy dashboard from a dead one."""
import json
import os
import re
import shutil
import subprocess
import unittest

from serve_testlib import Serve

SRC = os.environ.get("CONLAB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
BIN = os.environ.get("CONLAB_BIN", os.path.join(SRC, "build/conlab"))
COMPOSE = shutil.which("docker-compose")


def stages():
    """The Dockerfile as [(stage name, [instruction lines joined])]."""
    with open(os.path.join(SRC, "Dockerfile")) as f:
        text = f.read().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            out.append((line.split()[-1], []))
        out[-1][1].append(line)
    return out


class ContainerTest(unittest.TestCase):
    @unittest.skipUnless(COMPOSE, "docker-compose is missing: run scripts/setup.sh --test")
    def test_compose_needs_a_token(self):
        env = {k: v for k, v in os.environ.items() if k != "CONLAB_TOKEN"}
        p = subprocess.run([COMPOSE, "-f", os.path.join(SRC, "docker-compose.yml"), "config", "-q"],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("CONLAB_TOKEN", p.stderr)
        env["CONLAB_TOKEN"] = "a-token"
        p = subprocess.run([COMPOSE, "-f", os.path.join(SRC, "docker-compose.yml"), "config"],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("change-me", p.stdout)
        self.assertIn("a-token", p.stdout)
        for port in ("8080", "8000"):
            self.assertRegex(p.stdout, rf"127\.0\.0\.1:{port}:{port}|host_ip: 127\.0\.0\.1")
        # runs may aim only at the demo servers unless told otherwise
        self.assertRegex(p.stdout, r"CONLAB_ALLOW_TARGETS: 127\.0\.0\.1/32,target")
        env["CONLAB_ALLOW_TARGETS"] = "10.0.0.0/8"
        p = subprocess.run([COMPOSE, "-f", os.path.join(SRC, "docker-compose.yml"), "config"],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertIn("CONLAB_ALLOW_TARGETS: 10.0.0.0/8", p.stdout)

    def test_runtime_stage_is_minimal_and_not_root(self):
        st = stages()
        self.assertGreaterEqual(len(st), 2, "a multi-stage build")
        name, lines = st[-1]
        body = "\n".join(lines)
        self.assertNotIn("COPY . ", body, "no sources in the runtime image")
        copies = [l for l in lines if l.startswith("COPY")]
        self.assertEqual(sorted(l.split()[2] for l in copies), ["/build/conlab", "/build/web"], copies)
        for tool in ["build-essential", "gcc", "cmake", "npm", "nodejs", "-dev ", "python3"]:
            self.assertNotIn(tool, body + " ", tool)
        users = [l.split()[1] for l in lines if l.startswith("USER ")]
        self.assertTrue(users and users[-1] not in ("root", "0"), users)
        self.assertTrue(any(l.startswith("HEALTHCHECK") and "/api/health" in l for l in lines))

    def test_runtime_packages_cover_the_binary(self):
        """Every library the binary links directly comes from a package the runtime stage
        installs (or from libc6, in every image)."""
        body = "\n".join(stages()[-1][1])
        installed = set(re.findall(r"\b(lib[a-z0-9.+-]+|zlib1g|ca-certificates)\b", body))
        needed = re.findall(r"\(NEEDED\).*\[(.*)\]", subprocess.run(
            ["readelf", "-d", BIN], capture_output=True, text=True, check=True).stdout)
        self.assertTrue(needed)
        for lib in needed:
            if re.match(r"lib(asan|ubsan|tsan)\.", lib):
                continue  # a sanitizer build's runtime: the image is built without one
            path = subprocess.run(["sh", "-c", f"ldconfig -p | grep -m1 '{lib} ' | sed 's/.*=> //'"],
                                  capture_output=True, text=True).stdout.strip()
            pkg = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True,
                                 text=True).stdout.split(":")[0]
            if not pkg:  # the symlink itself may be the file dpkg knows
                pkg = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True).stdout.split(":")[0]
            self.assertTrue(pkg in installed or pkg == "libc6", f"{lib} ({path}) is in {pkg!r}, "
                            f"which the runtime stage does not install: {sorted(installed)}")

    def test_healthcheck_tells_healthy_from_dead(self):
        line = next(l for l in stages()[-1][1] if l.startswith("HEALTHCHECK"))
        cmd = json.loads(line[line.index("CMD") + 3:].strip())
        s = Serve(None, demo=False)
        url = f"http://127.0.0.1:{s.port}/api/health"
        run = [BIN if c == "/opt/conlab/conlab" else c.replace("http://127.0.0.1:8080/api/health", url)
               for c in cmd]
        try:
            self.assertEqual(subprocess.run(run, capture_output=True, timeout=30).returncode, 0)
        finally:
            self.assertEqual(s.stop(), 0)
        self.assertNotEqual(subprocess.run(run, capture_output=True, timeout=30).returncode, 0)


if __name__ == "__main__":
    unittest.main()
