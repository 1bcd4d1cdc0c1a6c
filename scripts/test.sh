#!/usr/bin/env bash
# The README's second command: install what is missing, build four times (normal, ASan+UBSan,
# ThreadSanitizer, libFuzzer with clang), and run every test: C unit tests, integration tests on
# loopback, browser tests in headless Chromium (normal build only), the static checks (layers,
# the compose file and the container: normal build only); the threaded tests again under TSan;
# each fuzzer for CONLAB_FUZZ_SECONDS (10 here) from its corpus.
#
# The tests run in three phases. Tests marked `conlab-test: serial` (they assert times: a wall, a
# latency, a deadline) run one at a time, never beside another timed test; the others (most wait
# on sockets and sleeps) run beside them at the lowest CPU priority, taking only the idle cores:
#   1. the normal build's timed tests; beside them the ASan and TSan builds' untimed ones, then
#      the fuzzers (one per core);
#   2. the ASan build's timed tests, then the TSan build's; beside them the normal build's
#      untimed ones;
#   3. the tests marked `conlab-test: quiet` (they measure the cores they get: the GIL), with
#      nothing beside them.
# Each ctest run's output goes to build*/ctest-PHASE.log (its exit status to ctest-PHASE.rc) and
# is printed when its phase ends. At the end, the ten slowest tests of each build are listed,
# from ctest's own timings.
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
  ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout 900 "$@" >"$dir/ctest-$phase.log" 2>&1 || rc=$?
  record_times "$dir"
  echo $rc >"$dir/ctest-$phase.rc"
  return $rc
}
# A timed test that fails is run once more (ctest --repeat until-pass:2): on a shared machine a
# scheduling stall of a few hundred ms can push one measured time out of its bounds. A test that
# passed only on its second run is listed here and at the end, never hidden; an untimed test that
# fails is never run again.
retries=()
retried() { # dir phase
  local t
  for t in $(sed -nE 's/^ *([0-9]+\/[0-9]+ )?Test +#[0-9]+: ([^ ]+) .*\*\*\*(Failed|Timeout|Exception).*/\2/p' "$1/ctest-$2.log" | sort -u); do
    grep -qE "Test +#[0-9]+: $t \.+ +Passed" "$1/ctest-$2.log" && retries+=("$1: $t")
  done
  return 0
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
for d in build build-asan build-tsan build-fuzz; do rm -f "$d"/test-times.txt "$d"/ctest-*.rc; done

export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# A phase: the timed tests of some builds in the foreground, one build after the other and one
# test at a time, while untimed tests of other builds (or the fuzzers) run beside them at the
# lowest CPU priority (nice 19): those take the cores the timed tests leave idle (most tests wait
# on sockets and sleeps) and give them back at once when a timed test wakes. Two ctest runs never
# share a build dir.
#   $1 the phase's name; $2 the build dirs of the timed tests (space-separated); then the
#   background jobs, each "DIR:ARGS[;DIR:ARGS...]" (ctest arguments; the parts of one job run one
#   after the other).
phase() {
  local name=$1 timed=$2 t0=$SECONDS rc job part dir args quiet=-LE\ quiet
  [ $# -gt 2 ] || quiet="-L quiet" # a phase with nothing beside: the tests marked quiet
  shift 2
  local pids=() jobs_=()
  for job in "$@"; do
    (
      renice -n 19 -p $BASHPID >/dev/null
      rc=0
      IFS=';' read -ra parts <<<"$job"
      for part in "${parts[@]}"; do
        dir=${part%%:*} args=${part#*:}
        # shellcheck disable=SC2086
        ctest_phase "$dir" "$name" $args || rc=1
      done
      exit $rc
    ) &
    pids+=($!) jobs_+=("$job")
  done
  for dir in $timed; do
    rc=0
    # A build may have none of a phase's tests (TSan runs no GIL test): it is skipped, saying so,
    # rather than given to ctest, which would print "No tests were found".
    # shellcheck disable=SC2086
    if ! ctest --test-dir "$dir" -N -L serial $quiet | grep -qE '^ +Test +#'; then
      echo "== $dir, $name: none of this phase's tests are in this build"
      continue
    fi
    ctest_phase "$dir" "$name" -L serial $quiet -j1 --repeat until-pass:2 || rc=$?
    report "$dir" "$name" $rc
    retried "$dir" "$name"
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || true
    IFS=';' read -ra parts <<<"${jobs_[$i]}"
    for part in "${parts[@]}"; do
      dir=${part%%:*}
      report "$dir" "$name" "$(cat "$dir/ctest-$name.rc" 2>/dev/null || echo 1)"
    done
  done
  echo "-- phase $name took $((SECONDS - t0)) s"
}

echo "== tests, phase 1: the normal build's timed tests; beside them the untimed of ASan and TSan, then the fuzzers ($fuzz_seconds s each)"
phase p1 build "build-asan:-LE serial -j2" "build-tsan:-LE serial -j2;build-fuzz:-j$jobs"
echo "== tests, phase 2: the ASan, then the TSan build's timed tests; beside them the normal build's untimed"
phase p2 "build-asan build-tsan" "build:-LE serial -j2"
echo "== tests, phase 3: the tests that measure the cores they get, with nothing beside them"
phase p3 "build build-asan build-tsan"

for d in build build-asan build-tsan build-fuzz; do slowest "$d"; done
echo "-- all $((SECONDS - t_all)) s"
if ((${#retries[@]})); then
  echo "-- timed tests that passed only on their second run:"
  printf '   %s\n' "${retries[@]}"
fi
if ((${#failed[@]})); then
  echo "== tests failed in: ${failed[*]}"
  exit 1
fi
echo "== all tests passed"
