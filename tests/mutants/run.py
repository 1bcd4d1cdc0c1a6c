#!/usr/bin/env python3
"""Planted defects, one at a time: does the suite catch each?

    tests/mutants/run.py            every NN-name.patch here
    tests/mutants/run.py 03 17      only those (by number or name)
    tests/mutants/run.py --list     what each one plants and which tests should catch it

Each patch starts with two header lines, "Planted defect: ..." and "Tests: <ctest regex>",
then a unified diff against the sources. The script copies the working tree (tracked files,
as they are now) to a scratch folder, builds it once (normal build, browser tests on; the
page's node_modules are linked, not copied), runs every listed test once on the clean tree
(they must pass, or a "catch" would mean nothing), then for each patch: apply, build, run its
tests, revert. A defect is caught when a test fails; a patch that no longer applies or does not
build is reported as such and not counted. Prints one line per defect and the score. Not part
of the test command (it takes a quarter of an hour); run it after changing tests or code that a
patch touches. Exit status: 0 when every defect was caught."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))


def sh(cmd, cwd, timeout=1800, quiet=True):
    p = subprocess.run(cmd, cwd=cwd, shell=isinstance(cmd, str), capture_output=quiet,
                       text=True, timeout=timeout)
    return p.returncode, (p.stdout or "") + (p.stderr or "")


def load(names):
    out = []
    for f in sorted(os.listdir(HERE)):
        if not f.endswith(".patch"):
            continue
        if names and not any(f.startswith(n + "-") or f[:-6] == n for n in names):
            continue
        with open(os.path.join(HERE, f)) as fh:
            text = fh.read()
        what = re.search(r"^Planted defect: (.*)$", text, re.M).group(1)
        tests = re.search(r"^Tests: (.*)$", text, re.M).group(1)
        out.append((f[:-6], what, tests, os.path.join(HERE, f)))
    return out


def main():
    args = sys.argv[1:]
    mutants = load([a for a in args if not a.startswith("--")])
    if "--list" in args:
        for name, what, tests, _ in mutants:
            print(f"{name:32} {tests:40} {what}")
        return 0
    scratch = tempfile.mkdtemp(prefix="conlab-mutants-")
    src = os.path.join(scratch, "src")
    os.makedirs(src)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.split(b"\0")
    for f in filter(None, files):
        f = f.decode()
        if not os.path.exists(os.path.join(ROOT, f)):
            continue
        os.makedirs(os.path.dirname(os.path.join(src, f)) or src, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(src, f))
    if os.path.isdir(os.path.join(ROOT, "web/node_modules")):
        os.symlink(os.path.join(ROOT, "web/node_modules"), os.path.join(src, "web/node_modules"))
    build = os.path.join(src, "build")
    print(f"scratch copy in {src}; building", flush=True)
    rc, out = sh(["cmake", "-S", ".", "-B", "build", "-DCONLAB_BROWSER_TESTS=ON"], src)
    rc = rc or sh(["cmake", "--build", "build", f"-j{os.cpu_count()}"], src)[0]
    if rc:
        print("the clean tree does not build:\n" + out)
        return 2
    union = "|".join(sorted({t for _, _, t, _ in mutants}))
    rc, out = sh(["ctest", "--test-dir", build, "-R", union, "--timeout", "900"], src)
    if rc:
        print("the listed tests fail on the clean tree: a catch would mean nothing\n" + out[-3000:])
        return 2
    caught, counted = 0, 0
    for name, what, tests, patch in mutants:
        t0 = time.monotonic()
        rc, out = sh(["git", "apply", patch], src)
        if rc:
            print(f"{name:32} STALE     (the patch no longer applies)  {what}", flush=True)
            continue
        try:
            rc, out = sh(["cmake", "--build", "build", f"-j{os.cpu_count()}"], src)
            if rc:
                print(f"{name:32} NO BUILD  {what}", flush=True)
                continue
            counted += 1
            rc, out = sh(["ctest", "--test-dir", build, "-R", tests, "--timeout", "900"], src)
            failed = re.findall(r"\d+ - (\S+) \(Failed|Timeout\)", out)
            if rc:
                caught += 1
                print(f"{name:32} caught    by {', '.join(failed) or tests} "
                      f"({time.monotonic() - t0:.0f} s)  {what}", flush=True)
            else:
                print(f"{name:32} MISSED    ({tests})  {what}", flush=True)
        finally:
            sh(["git", "apply", "-R", patch], src)
    sh(["cmake", "--build", "build", f"-j{os.cpu_count()}"], src)
    print(f"\nscore: {caught} of {counted} planted defects caught"
          f" ({len(mutants) - counted} not counted)")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0 if caught == counted == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())
