#!/usr/bin/env bash
# The README's second command: install what is missing, build four times (normal, ASan+UBSan,
# ThreadSanitizer, libFuzzer with clang), and run every test: C unit tests, integration tests on
# loopback, browser tests in headless Chromium (normal build only), the static checks (layers,
# the compose file and the container: normal build only); the threaded tests again under TSan;
# each fuzzer for 20 s from its corpus.
#
# Tests run two at a time (ctest -j, CONLAB_TEST_JOBS, default 2), except those marked
# `conlab-test: serial` in their file (they assert times: each runs alone; tests/tests.cmake).
# After each build's tests the ten slowest are listed, from ctest's own timings.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
jobs=$(nproc)
test_jobs=${CONLAB_TEST_JOBS:-2}

# The ten slowest tests of the last ctest run in build dir $1 (its Testing/Temporary/LastTest.log).
slowest() {
  local log=$1/Testing/Temporary/LastTest.log
  [ -f "$log" ] || return 0
  echo "-- ten slowest tests ($1)"
  awk '/^[0-9]+\/[0-9]+ Test: / { name = $3 }
       /^Test time = / { printf "%8.2f s  %s\n", $4, name }' "$log" | sort -rn | head -10
}

# ctest in build dir $1 with the other arguments; lists the slowest tests whatever the outcome.
# A build whose tests fail is noted and the next builds' tests still run; the script fails at
# the end.
failed=()
run_tests() {
  local dir=$1 rc=0 t0=$SECONDS
  shift
  ctest --test-dir "$dir" --output-on-failure --timeout 900 "$@" || rc=$?
  slowest "$dir"
  echo "-- $dir: tests took $((SECONDS - t0)) s"
  if ((rc)); then failed+=("$dir"); fi
}

echo "== build (normal)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONLAB_BROWSER_TESTS=ON >/dev/null
cmake --build build -j"$jobs"
echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCONLAB_SANITIZE=ON -DCONLAB_BROWSER_TESTS=OFF >/dev/null
cmake --build build-asan -j"$jobs"
echo "== build (ThreadSanitizer)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONLAB_TSAN=ON -DCONLAB_BROWSER_TESTS=OFF >/dev/null
cmake --build build-tsan -j"$jobs"
echo "== build (libFuzzer, clang)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DCONLAB_FUZZ=ON -DCONLAB_WEB=OFF -DCONLAB_BROWSER_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzzers

echo "== tests (normal build)"
run_tests build -j"$test_jobs"
echo "== tests (ASan + UBSan build)"
ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_tests build-asan -j"$test_jobs"
echo "== tests (ThreadSanitizer build: the threaded tests)"
run_tests build-tsan -j"$test_jobs"
echo "== fuzzers (libFuzzer, bounded; one per core at once)"
run_tests build-fuzz -j"$jobs"
if ((${#failed[@]})); then
  echo "== tests failed in: ${failed[*]}"
  exit 1
fi
echo "== all tests passed"
