#!/usr/bin/env bash
# What one echoed message costs the server: system calls and CPU time per
# message over 6 s in the middle of a 12 s ping-pong run (docs/BENCHMARKS.md).
#   scripts/bench/echo-cost.sh BIN_DIR raw|echo|state-echo
# Reads, writes and CPU come from /proc/PID/io and /proc/PID/stat; with
# perf (Debian's linux-perf) every system call and context switch is
# counted too.
set -euo pipefail
source "$(dirname "$0")/echo-common.sh"
start_server "$1" "$2"
out=$(mktemp)
start_load "$1" 12 "$out"
io() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$SRV/io"; }
cpu() { awk '{print $14 + $15}' "/proc/$SRV/stat"; }
r0=$(io syscr) w0=$(io syscw) c0=$(cpu)
perfout=$(mktemp)
if command -v perf >/dev/null && perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$SRV" sleep 6 2>"$perfout"; then :; else sleep 6; fi
r1=$(io syscr) w1=$(io syscw) c1=$(cpu)
wait "$LOAD"
tick=$(getconf CLK_TCK)
jq -r --argjson r "$((r1 - r0))" --argjson w "$((w1 - w0))" --argjson c "$((c1 - c0))" --argjson tick "$tick" \
  --arg perf "$(cat "$perfout")" '
  .results.messages.recv_per_sec as $rate | ($rate * 6) as $n |
  ($perf | split("\n") | map(split(",")) | map(select(length > 3)) | map({(.[2]): (.[0] | tonumber? // null)}) | add // {}) as $p |
  "msg/s \($rate | floor)  reads/msg \($r / $n * 100 | round / 100)  writes/msg \($w / $n * 100 | round / 100)  cpu µs/msg \($c / $tick / $n * 1e7 | round / 10)" +
  (if $p["raw_syscalls:sys_enter"] then "  syscalls/msg \($p["raw_syscalls:sys_enter"] / $n * 100 | round / 100)  ctxsw/msg \($p["context-switches"] / $n * 1000 | round / 1000)" else "" end)' "$out"
rm -f "$out" "$perfout"
