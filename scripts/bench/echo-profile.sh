#!/usr/bin/env bash
# A CPU profile of the gateway during a 14 s echo ping-pong run: 8 s from
# the 4th second, written to OUT (docs/BENCHMARKS.md). Prints msg/s.
#   scripts/bench/echo-profile.sh BIN_DIR echo|state-echo OUT
#   go tool pprof -top BIN_DIR/gateway OUT
set -euo pipefail
source "$(dirname "$0")/echo-common.sh"
start_server "$1" "$2"
rate=$(mktemp)
start_load "$1" 14 "$rate"
curl -sf -o "$3" "$ADMIN/debug/pprof/profile?seconds=8"
wait "$LOAD"
jq -r '.results.messages.recv_per_sec | floor' "$rate"
rm -f "$rate"
