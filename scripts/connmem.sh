#!/usr/bin/env bash
# Where an idle connection's memory goes (docs/BENCHMARKS.md, "Memory per
# idle connection"). Starts bin/gateway with every allocation profiled
# (GODEBUG=memprofilerate=1), takes a heap profile and the runtime's memory
# figures with no connection, then again while wsbench idle holds CONNS
# connections (each has sent one message and got its echo), and prints the
# difference per connection: heap by allocating function (go tool pprof
# -base), heap and goroutine stacks in all. Run it alone on the machine:
#   flock /work/bench.lock scripts/connmem.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-2000}
RUN=bench-results/connmem-$(date -u +%Y%m%dT%H%M%SZ)
ADMIN=http://127.0.0.1:19090
mkdir -p "$RUN" bin
go build -o bin/gateway ./cmd/gateway
go build -o bin/wsbench ./cmd/wsbench

cat > "$RUN/gateway.yaml" <<YAML
listen: "127.0.0.1:18080"
admin: {listen: "127.0.0.1:19090"}
log: {level: warn}
endpoints:
  - path: /echo
    script: $PWD/examples/echo.js
YAML

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
GODEBUG=memprofilerate=1 bin/gateway --config "$RUN/gateway.yaml" 2>"$RUN/gateway.log" &
GW_PID=$!; PIDS+=("$GW_PID")

metric() { curl -sf "$ADMIN/metrics" | awk -v m="$1" '$1 == m { printf "%d", $2 }'; }
# until N TRIES COMMAND...: retry COMMAND every 0.2 s, TRIES times at most
until_ok() { local n=$1; shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.2; done; echo "connmem: gave up waiting" >&2; return 1; }

until_ok 100 curl -sf -o /dev/null "$ADMIN/api/v1/solution/health"
curl -sf "$ADMIN/debug/pprof/heap?gc=1" >"$RUN/heap-0.pb.gz"
heap0=$(metric go_memstats_heap_inuse_bytes); stack0=$(metric go_memstats_stack_inuse_bytes)

bin/wsbench idle --url ws://127.0.0.1:18080/echo --conns "$CONNS" --hold 40s --settle 2s --pid "$GW_PID" --json \
  >"$RUN/idle.json" 2>"$RUN/wsbench.log" &
WS_PID=$!; PIDS+=("$WS_PID")
held() { [[ $(metric wsgw_connections_open) -ge $CONNS && $(metric wsgw_messages_in_total) -ge $CONNS ]]; }
until_ok 300 held
curl -sf "$ADMIN/debug/pprof/heap?gc=1" >"$RUN/heap-n.pb.gz"
heapn=$(metric go_memstats_heap_inuse_bytes); stackn=$(metric go_memstats_stack_inuse_bytes)
wait "$WS_PID"

{
  echo "connections held: $CONNS"
  echo "heap in use per connection:    $(( (heapn - heap0) / CONNS )) bytes"
  echo "goroutine stacks per connection: $(( (stackn - stack0) / CONNS )) bytes"
  echo
  echo "live heap per connection by allocating function (bytes):"
  pprof() { go tool pprof -sample_index=inuse_space -unit=B -base "$RUN/heap-0.pb.gz" "$@" bin/gateway "$RUN/heap-n.pb.gz" 2>/dev/null; }
  perconn() { awk -v n="$CONNS" '$1 ~ /^-?[0-9]+B$/ && $6 != "" { b=$1; sub("B","",b); if (b / n >= 1) printf "%8.0f  %s\n", b / n, $6 }'; }
  pprof -top -nodecount=25 | perconn
  echo
  echo "of which runtime.mallocgc, by the runtime function that asked (bytes):"
  pprof -peek 'runtime.newobject$' | awk -v n="$CONNS" '$1 ~ /^[0-9]+B$/ && $3 == "|" && $4 != "runtime.mallocgc" { b=$1; sub("B","",b); if (b / n >= 1) printf "%8.0f  %s\n", b / n, $4 }'
} | tee "$RUN/connmem.txt"
