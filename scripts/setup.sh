#!/usr/bin/env bash
# Installs what conlab needs and is missing (Debian 12). Idempotent: quick when all is there.
#   scripts/setup.sh          build and run the dashboard
#   scripts/setup.sh --test   also what the tests need (Chromium, docker-compose, Python, clang
#                             with libFuzzer for the fuzzers, nginx and nghttpd as TLS and
#                             HTTP/2 targets, Slurm and munge for the sharded runs on a real
#                             cluster engine)
#   scripts/setup.sh --bench  also the peers of the bench suite (bench/suite.py): nginx, wrk,
#                             h2load, hey, Locust, the talk's Python clients; perf for profiles
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libcivetweb-dev libcjson-dev libcurl4-openssl-dev
      libsqlite3-dev zlib1g-dev libssl-dev libnghttp2-dev ca-certificates python3
      python3-requests python3-aiohttp golang-go) # the shipped clients (clients/, start.sh)
if [[ ${1:-} == --bench ]]; then
  pkgs+=(nginx wrk nghttp2-client hey python3-locust linux-perf)
fi
if [[ ${1:-} == --test ]]; then
  pkgs+=(chromium docker-compose procps clang libfuzzer-14-dev binutils openssl curl
         nghttp2-client)
  # TLS and HTTP/2 targets of tests/integration/test_tls.py and test_h2mux.py
  pkgs+=(nginx libnginx-mod-http-echo nghttp2-server)
  # a real cluster engine for tests/integration/test_slurm.py
  pkgs+=(slurmctld slurmd slurm-client munge)
fi
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
