#!/usr/bin/env bash
# The README's second command: install what is missing, build four times (normal, ASan+UBSan,
# ThreadSanitizer, libFuzzer with clang), and run every test: C unit tests, integration tests on
# loopback, browser tests in headless Chromium (normal build only), the static checks (layers,
# the compose file and the container: normal build only); the threaded tests again under TSan;
# each fuzzer for CONLAB_FUZZ_SECONDS (10 here) from its corpus.
#
# The tests run in three phases, so that waiting tests overlap and timed tests run alone:
#   1. side by side: the tests of the three builds that assert no time (ctest -LE serial), the
#      normal build's two at a time, the ASan build's two at a time, the TSan build's one at a
#      time, the three ctest runs at once (most of these tests wait on sockets and sleeps);
#   2. alone: the tests marked `conlab-test: serial` in their file (they assert times: a wall, a
#      latency, a deadline), one at a time, normal build first, then ASan, then TSan;
#   3. the fuzzers, one per core.
# Each ctest run's output goes to build*/ctest-PHASE.log and is printed when it ends. After all,
# the ten slowest tests of each build are listed, from ctest's own timings, with each phase's time.
set -euo pipefail
cd "$(dirname "$0")/.."
t_all=$SECONDS
scripts/setup.sh --test
jobs=$(nproc)
fuzz_seconds=${CONLAB_FUZZ_SECONDS:-10}

# Appends the test times of the last ctest run in build dir $1 to $1/test-times.txt.
record_times() {
  local log=$1/Testing/Temporary/LastTest.log
  [ -f "$log" ] || return 0
  awk '/^[0-9]+\/[0-9]+ Test: / { name = $3 }
       /^Test time = / { printf "%8.2f s  %s\n", $4, name }' "$log" >>"$1/test-times.txt"
}

slowest() {
  [ -f "$1/test-times.txt" ] || return 0
  echo "-- ten slowest tests ($1)"
  sort -rn "$1/test-times.txt" | head -10
}

# ctest in build dir $1, phase name $2, with the other arguments; its output goes to
# $1/ctest-$2.log. A build whose tests fail is noted and the other phases still run; the script
# fails at the end.
failed=()
ctest_phase() {
  local dir=$1 phase=$2 rc=0
  shift 2
  ctest --test-dir "$dir" --output-on-failure --timeout 900 "$@" >"$dir/ctest-$phase.log" 2>&1 || rc=$?
  record_times "$dir"
  return $rc
}
report() { # dir phase rc
  echo "== $1, $2 (exit $3)"
  cat "$1/ctest-$2.log"
  if (($3)); then failed+=("$1 ($2)"); fi
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
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DCONLAB_FUZZ=ON \
  -DCONLAB_FUZZ_SECONDS="$fuzz_seconds" -DCONLAB_WEB=OFF -DCONLAB_BROWSER_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzzers
echo "-- built in $((SECONDS - t_all)) s"
for d in build build-asan build-tsan build-fuzz; do rm -f "$d/test-times.txt"; done

export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== tests, phase 1: the untimed tests of the three builds, side by side"
t0=$SECONDS
rc_n=0 rc_a=0 rc_t=0
ctest_phase build side -LE serial -j2 &
p_n=$!
ctest_phase build-asan side -LE serial -j2 &
p_a=$!
ctest_phase build-tsan side -LE serial -j1 &
p_t=$!
wait $p_n || rc_n=$?
wait $p_a || rc_a=$?
wait $p_t || rc_t=$?
report build side $rc_n
report build-asan side $rc_a
report build-tsan side $rc_t
t_side=$((SECONDS - t0))

echo "== tests, phase 2: the timed tests, one at a time"
t0=$SECONDS
for d in build build-asan build-tsan; do
  rc=0
  ctest_phase "$d" alone -L serial -j1 || rc=$?
  report "$d" alone $rc
done
t_alone=$((SECONDS - t0))

echo "== tests, phase 3: the fuzzers ($fuzz_seconds s each, one per core)"
t0=$SECONDS
rc=0
ctest_phase build-fuzz fuzz -j"$jobs" || rc=$?
report build-fuzz fuzz $rc
t_fuzz=$((SECONDS - t0))

for d in build build-asan build-tsan build-fuzz; do slowest "$d"; done
echo "-- tests side by side ${t_side} s, alone ${t_alone} s, fuzzers ${t_fuzz} s; all $((SECONDS - t_all)) s"
if ((${#failed[@]})); then
  echo "== tests failed in: ${failed[*]}"
  exit 1
fi
echo "== all tests passed"
