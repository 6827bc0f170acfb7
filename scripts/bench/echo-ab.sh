#!/usr/bin/env bash
# One echo ping-pong run against a fresh server, for A/B comparisons of
# builds (docs/BENCHMARKS.md): prints the messages echoed per second.
#   scripts/bench/echo-ab.sh BIN_DIR raw|echo|state-echo [seconds]
# BIN_DIR holds the build's gateway and wsbench (go build -o BIN_DIR/
# ./cmd/...); "raw" is wsbench baseline, a bare gws echo server. The gateway
# runs scripts/bench/gateway.yaml with the rate limit lifted; EXTRA_ENV adds
# settings, e.g. EXTRA_ENV="WSGW_STORE_REDIS=redis://127.0.0.1:6379/0".
# Interleave builds (A, B, A, B, ...): a shared box moves single runs a lot.
set -euo pipefail
source "$(dirname "$0")/echo-common.sh"
start_server "$1" "$2"
"$1/wsbench" echo --url "$URL" --conns "${CONNS:-1000}" --duration "${3:-10}s" --json 2>/dev/null |
  jq -r '.results.messages.recv_per_sec | floor'
