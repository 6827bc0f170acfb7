#!/usr/bin/env bash
# User-space instructions the server executes per echoed message, counted
# by valgrind's callgrind (docs/BENCHMARKS.md, "Time per message"): unlike
# time, the count hardly moves with what else the box is doing, so two
# builds compare without interleaving. The server runs ~50x slower under
# valgrind, so periodic work (timers, the collector, the watchdog) weighs
# more per message than at full speed: compare builds, not absolute cost.
#   scripts/bench/echo-instructions.sh BIN_DIR raw|echo|state-echo [OUT]
# Prints messages, instructions and instructions per message; OUT keeps
# the profile (callgrind_annotate --auto=no OUT shows where they go).
# Counting starts after start-up (callgrind_control -z) and ends with a
# dump (-d); Go's asynchronous preemption is off, as its signals trip
# callgrind.
set -euo pipefail
source "$(dirname "$0")/echo-common.sh"
command -v valgrind >/dev/null || { echo "valgrind (Debian's valgrind package) is needed" >&2; exit 1; }
out=${3:-$(mktemp -u)}
rm -f "$out" "$out".*
export GODEBUG=asyncpreemptoff=1
VALGRIND="valgrind --tool=callgrind --callgrind-out-file=$out" START_WAIT=600 start_server "$1" "$2"
sleep 2
callgrind_control -z "$SRV" >/dev/null 2>&1
n=$("$1/wsbench" echo --url "$URL" --conns "${CONNS:-50}" --duration "${SECONDS_RUN:-20}s" --json 2>/dev/null |
  jq -r '.results.messages.received')
if ! kill -0 "$SRV" 2>/dev/null; then
  # valgrind 3.19 does not know RDTSCP, which Go's runtime uses on some
  # CPUs (seen on AMD EPYC) when a lock is contended: SIGILL.
  echo "the server died under valgrind during the run: on this CPU valgrind may not know Go's RDTSCP (SIGILL in runtime.cputicks)" >&2
  exit 1
fi
callgrind_control -d "$SRV" >/dev/null 2>&1
ir=$(grep -h '^totals:' "$out".* | awk '{s += $2} END {print s}')
echo "messages $n  instructions $ir  per message $((ir / n))"
