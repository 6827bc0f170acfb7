#!/usr/bin/env bash
# A CPU profile of the gateway during a 14 s echo ping-pong run: 8 s from
# the 4th second, written to OUT (docs/BENCHMARKS.md). Prints msg/s.
#   scripts/bench/echo-profile.sh BIN_DIR echo|state-echo OUT
#   go tool pprof -top BIN_DIR/gateway OUT
set -euo pipefail
source "$(dirname "$0")/echo-common.sh"
start_server "$1" "$2"
rate=$(mktemp)
"$1/wsbench" echo --url "$URL" --conns "${CONNS:-1000}" --duration 14s --json 2>/dev/null >"$rate" &
load=$!
sleep 4
curl -sf -o "$3" "$ADMIN/debug/pprof/profile?seconds=8"
wait "$load"
jq -r '.results.messages.recv_per_sec | floor' "$rate"
rm -f "$rate"
