#!/usr/bin/env bash
# The README's first command: install what is missing, build, start the dashboard on
# http://127.0.0.1:8080 (with the talk's slow server inside on 127.0.0.1:8000).
# The shipped clients (clients/clients.conf) are registered: the first Run holds conlab's four
# modes and the talk's four Python clients side by side.
# Extra arguments go to `conlab serve` (e.g. --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
exec build/conlab serve --clients clients/clients.conf \
  --default-modes sync,threads,async,processes,py-sync,py-threads,py-asyncio,py-processes "$@"
