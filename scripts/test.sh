#!/usr/bin/env bash
# The README's second command: install what is missing, build four times (normal, ASan+UBSan,
# ThreadSanitizer, libFuzzer with clang), and run every test: C unit tests, integration tests on
# loopback, browser tests in headless Chromium (normal build only), the compose file's
# validation; the threaded tests again under TSan; each fuzzer for 20 s from its corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
jobs=$(nproc)

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

# Timing tests run one at a time: two at once on a small machine would disturb each other.
echo "== tests (normal build)"
ctest --test-dir build --output-on-failure --timeout 900
echo "== tests (ASan + UBSan build)"
ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 900
echo "== tests (ThreadSanitizer build: the threaded tests)"
ctest --test-dir build-tsan --output-on-failure --timeout 900
echo "== fuzzers (libFuzzer, bounded)"
ctest --test-dir build-fuzz --output-on-failure --timeout 900
echo "== all tests passed"
