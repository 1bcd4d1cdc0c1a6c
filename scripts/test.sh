#!/usr/bin/env bash
# The README's second command: install what is missing, build four times (normal, ASan+UBSan,
# ThreadSanitizer, libFuzzer with clang), and run every test: C unit tests, integration tests on
# loopback, browser tests in headless Chromium (normal build only), the static checks (layers,
# the compose file and the container: normal build only); the threaded tests again under TSan;
# each fuzzer for CONLAB_FUZZ_SECONDS (10 here) from its corpus.
#
# The normal build comes first. Tests marked `conlab-test: serial` assert times (a wall, a
# latency, a deadline): they run in the foreground, one at a time, never beside another timed
# test: the normal build's, then ASan's, then TSan's (by when TSan's untimed tests, which must come
# first, have had time to end). Everything else runs beside them at a lower CPU priority, taking
# the cores they leave idle (most tests wait on sockets and sleeps), in four background tracks,
# each a session of its own:
#   S. (nice 10: the timed tests wait for them) the TSan and ASan builds;
#   A. (nice 15) the normal build's untimed tests;
#   B. (nice 15) TSan's untimed tests (before TSan's timed ones start: they share the TSan report
#      folder), then ASan's, each once its build is done;
#   C. (nice 19: it only computes) the fuzzing build, then the fuzzers one at a time, on what
#      CPU the others leave.
# Last, with nothing beside them, the tests marked `conlab-test: quiet` (they measure the cores
# they get: the GIL).
# Each ctest run's output goes to build*/ctest-RUN.log (its exit status to ctest-RUN.rc) and is
# printed when the foreground gets to it; the fuzzing build's output goes to build-fuzz/build.log.
# Two ctest runs of one build may overlap (its timed and untimed ones): each names
# itself in CONLAB_TEST_RUN, which keeps their browsers apart. At the end, the ten slowest tests
# of each build are listed, from ctest's own timings.
set -euo pipefail
cd "$(dirname "$0")/.."
self=$PWD/scripts/test.sh
t_all=$SECONDS
jobs=$(nproc)
fuzz_seconds=${CONLAB_FUZZ_SECONDS:-10}
say() { echo "-- $* ($((SECONDS - t_all)) s)"; }

# The test times of a ctest run (its log: "Test #N: NAME .... Passed 1.23 sec") are appended to
# DIR/test-times.txt.
record_times() { # dir run
  sed -nE 's/^ *([0-9]+\/[0-9]+ )?Test +#[0-9]+: ([^ ]+) .* ([0-9.]+) sec$/\3 \2/p' "$1/ctest-$2.log" |
    awk '{ printf "%8.2f s  %s\n", $1, $2 }' >>"$1/test-times.txt"
}

slowest() {
  [ -f "$1/test-times.txt" ] || return 0
  echo "-- ten slowest tests ($1)"
  sort -rn "$1/test-times.txt" | head -10
}

# ctest in build dir $1 as the run named $2, with the other arguments; its output goes to
# $1/ctest-$2.log and its exit status to $1/ctest-$2.rc.
run_ctest() {
  local dir=$1 run=$2 rc=0
  shift 2
  CONLAB_TEST_RUN=$run ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout 900 \
    "$@" >"$dir/ctest-$run.log" 2>&1 || rc=$?
  record_times "$dir" "$run"
  echo $rc >"$dir/ctest-$run.rc"
  return $rc
}

# A build's tests that fail are noted and the others still run; the script fails at the end.
failed=()
report() { # dir run
  local rc
  rc=$(cat "$1/ctest-$2.rc" 2>/dev/null || echo 1)
  echo "== $1, $2 (exit $rc)"
  cat "$1/ctest-$2.log" 2>/dev/null || echo "(no log: the run did not start)"
  if ((rc)); then failed+=("$1 ($2)"); fi
}

# A timed test that fails is run once more (ctest --repeat until-pass:2): on a shared machine a
# scheduling stall of a few hundred ms can push one measured time out of its bounds. A test that
# passed only on its second run is listed here and at the end, never hidden; an untimed test that
# fails is never run again.
retries=()
retried() { # dir run
  local t
  for t in $(sed -nE 's/^ *([0-9]+\/[0-9]+ )?Test +#[0-9]+: ([^ ]+) .*\*\*\*(Failed|Timeout|Exception).*/\2/p' "$1/ctest-$2.log" | sort -u); do
    grep -qE "Test +#[0-9]+: $t \.+ +Passed" "$1/ctest-$2.log" && retries+=("$1: $t")
  done
  return 0
}

# The timed tests of build $1 (run $2: `timed`, or `quiet` for the tests marked quiet), in the
# foreground. A build with none of them is skipped, saying so (TSan runs no GIL test).
timed() {
  local dir=$1 run=$2 sel=(-L serial -LE quiet)
  [ "$run" = quiet ] && sel=(-L quiet)
  local listed
  listed=$(ctest --test-dir "$dir" -N "${sel[@]}")
  if ! grep -qE '^ +Test +#' <<<"$listed"; then
    echo "== $dir, $run: none of these tests are in this build"
    return 0
  fi
  run_ctest "$dir" "$run" "${sel[@]}" -j1 --repeat until-pass:2 || true
  report "$dir" "$run"
  retried "$dir" "$run"
}

configure() { # dir cmake-args...
  local dir=$1
  shift
  cmake -S . -B "$dir" "$@" >/dev/null
}
configure_all() {
  configure build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONLAB_BROWSER_TESTS=ON
  configure build-asan -DCMAKE_BUILD_TYPE=Debug -DCONLAB_SANITIZE=ON -DCONLAB_BROWSER_TESTS=OFF
  configure build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONLAB_TSAN=ON -DCONLAB_BROWSER_TESTS=OFF
  configure build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DCONLAB_FUZZ=ON \
    -DCONLAB_FUZZ_SECONDS="$fuzz_seconds" -DCONLAB_WEB=OFF -DCONLAB_BROWSER_TESTS=OFF
}


# A build in the background: its output to DIR/build.log, then DIR/.built or DIR/.build-failed.
build_bg() { # dir [cmake --build arguments]
  local dir=$1
  shift
  if cmake --build "$dir" -j"$jobs" "$@" >"$dir/build.log" 2>&1; then
    touch "$dir/.built"
  else
    touch "$dir/.build-failed"
  fi
}
built() { [ -e "$1/.built" ]; }
# Waits until background build $1 has ended (or job $2, which makes it, has).
await_build() {
  until [ -e "$1/.built" ] || [ -e "$1/.build-failed" ] || ! kill -0 "$2" 2>/dev/null; do
    sleep 0.5
  done
}
# Prints the output of background build $1 (named $2) and notes a failure; true if it built.
show_build() {
  echo "== build ($2)"
  cat "$1/build.log" 2>/dev/null || true
  built "$1" && return 0
  echo "== build ($2) FAILED"
  failed+=("$1 (build)")
  return 1
}

# The background tracks (see above), run by the script itself in sessions of their own.
track_s() {
  build_bg build-tsan
  build_bg build-asan
}
track_a() {
  run_ctest build untimed -LE serial -j2 || true
}
track_b() { # the pid of track S
  await_build build-tsan "$1"
  if built build-tsan; then run_ctest build-tsan untimed -LE serial -j2 || true; fi
  touch build-tsan/.untimed-done
  await_build build-asan "$1"
  if built build-asan; then run_ctest build-asan untimed -LE serial -j2 || true; fi
}
track_c() {
  build_bg build-fuzz --target fuzzers
  if built build-fuzz; then run_ctest build-fuzz fuzz -j1 || true; fi
}
if [ "${1:-}" = --track ]; then
  # the sanitized builds at 10 (the timed tests wait for them); tests at 15; the fuzzing track,
  # which only computes, at 19
  case $2 in s) nice=10 ;; c) nice=19 ;; *) nice=15 ;; esac
  echo $nice >/proc/self/autogroup 2>/dev/null || true
  renice -n $nice -p $$ >/dev/null
  "track_$2" "${@:3}"
  exit 0
fi

scripts/setup.sh --test
echo "== configure (normal, ASan + UBSan, ThreadSanitizer, libFuzzer with clang)"
configure_all
for d in build build-asan build-tsan build-fuzz; do
  rm -f "$d"/test-times.txt "$d"/ctest-*.rc "$d"/ctest-*.log "$d"/build.log "$d"/.built "$d"/.build-failed "$d"/.untimed-done
done
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Each track runs in a session of its own (setsid) whose autogroup has its nice (10, 15 or 19):
# with Linux's autogroup scheduling, the CPU is shared between sessions first, so
# a niced process in this script's session would still compete as the session's share (a compile
# would starve the browsers, which run in sessions of their own at nice 15). The script runs
# itself with --track s, a, b or c; on exit it ends what is left of them.
tracks=()
trap 'for t in "${tracks[@]}"; do kill -- "-$t" 2>/dev/null || true; done' EXIT
echo "== build (normal)"
cmake --build build -j"$jobs"
say "the normal build; the timed tests start, beside them the other builds and the untimed tests"
start_track() { # name [args]
  setsid "$self" --track "$@" &
  tracks+=("$!")
}
start_track s
track_s=$!
start_track a
track_a=$!
start_track c
track_c=$!
start_track b "$track_s"
track_b=$!

timed build timed
say "the normal build's timed tests"

await_build build-asan "$track_s"
if show_build build-asan "ASan + UBSan"; then timed build-asan timed; fi
say "ASan's timed tests"

until [ -e build-tsan/.untimed-done ] || ! kill -0 "$track_b" 2>/dev/null; do sleep 0.5; done
if show_build build-tsan ThreadSanitizer; then timed build-tsan timed; fi
say "TSan's timed tests"

wait "$track_a" "$track_b" "$track_c" "$track_s" || true
report build untimed
if built build-tsan; then report build-tsan untimed; fi
if built build-asan; then report build-asan untimed; fi
if show_build build-fuzz "libFuzzer, clang"; then report build-fuzz fuzz; fi
say "the untimed tests and the fuzzers"

echo "== tests that measure the cores they get, with nothing beside them"
for d in build build-asan build-tsan; do
  if [ "$d" = build ] || built "$d"; then timed "$d" quiet; fi
done
say "the quiet tests"

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
