#!/usr/bin/env bash
# The benchmark suite: Go micro-benchmarks, then load scenarios against a
# fresh gateway and a raw gws echo server (wsbench baseline) on loopback, in
# one run. Raw JSON goes to bench-results/<time>/, the table to
# docs/bench-results.md. Sizes fit a 2-core box and the 20,000 open files a
# process may hold here; override with CONNS_IDLE, CONNS_ECHO, ... below.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS_CONNECT=${CONNS_CONNECT:-10000}
CONNS_IDLE=${CONNS_IDLE:-10000}
CONNS_IDLE_MAX=${CONNS_IDLE_MAX:-19000}
CONNS_ECHO=${CONNS_ECHO:-1000}
CONNS_RATE=${CONNS_RATE:-10000}
DURATION=${DURATION:-20s}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
OUT=${OUT:-docs/bench-results.md}
RUN=bench-results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN" bin
command -v jq >/dev/null || { echo "bench: jq is needed to write the table" >&2; exit 1; }

echo "bench: building" >&2
go build -o bin/gateway ./cmd/gateway
go build -o bin/wsbench ./cmd/wsbench

echo "bench: go micro-benchmarks" >&2
go test -run '^$' -bench . -benchmem -count 3 ./runtime/ ./gateway/ | tee "$RUN/go-bench.txt" >&2

cat > "$RUN/gateway.yaml" <<YAML
listen: "127.0.0.1:18080"
admin: {listen: "127.0.0.1:19090"}
log: {level: warn}
endpoints:
  - path: /echo
    script: $PWD/examples/echo.js
YAML

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_port() { # host:port
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null && return 0; sleep 0.1; done
  echo "bench: nothing listens on $1" >&2; return 1
}

# gateway [env...]: start a fresh gateway, set GW_PID
gateway() {
  env "$@" bin/gateway --config "$RUN/gateway.yaml" >>"$RUN/gateway.log" 2>&1 &
  GW_PID=$!; PIDS+=("$GW_PID"); wait_port 127.0.0.1:18080
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

# baseline: start a fresh raw gws echo server, set RAW_PID
baseline() {
  bin/wsbench baseline --listen 127.0.0.1:18089 >>"$RUN/baseline.log" 2>&1 &
  RAW_PID=$!; PIDS+=("$RAW_PID"); wait_port 127.0.0.1:18089
}

# scenario NAME ARGS...: run wsbench, keep its JSON summary
scenario() {
  local name=$1; shift
  echo "bench: $name: wsbench $*" >&2
  bin/wsbench "$@" --json >"$RUN/$name.json" 2>>"$RUN/wsbench.log"
}

GW=ws://127.0.0.1:18080/echo
RAW=ws://127.0.0.1:18089/

gateway;  scenario connect-wsgw connect --url $GW --conns "$CONNS_CONNECT"; stop "$GW_PID"
baseline; scenario connect-raw connect --url $RAW --conns "$CONNS_CONNECT"; stop "$RAW_PID"
redis_hostport=${REDIS_URL#redis://}; redis_hostport=${redis_hostport%%/*}
if (exec 3<>"/dev/tcp/${redis_hostport%:*}/${redis_hostport##*:}") 2>/dev/null; then
  gateway WSGW_STORE_REDIS="$REDIS_URL" WSGW_NODE_ID="bench-$$"
  scenario connect-wsgw-redis connect --url $GW --conns "$CONNS_CONNECT"; stop "$GW_PID"
fi

gateway;  scenario idle-wsgw idle --url $GW --conns "$CONNS_IDLE" --hold 45s --settle 20s --pid "$GW_PID"; stop "$GW_PID"
baseline; scenario idle-raw idle --url $RAW --conns "$CONNS_IDLE" --hold 45s --settle 20s --pid "$RAW_PID"; stop "$RAW_PID"
gateway;  scenario idle-wsgw-max idle --url $GW --conns "$CONNS_IDLE_MAX" --hold 45s --settle 20s --pid "$GW_PID"; stop "$GW_PID"

gateway WSGW_LIMITS_MESSAGES_PER_SECOND=0
scenario echo-wsgw echo --url $GW --conns "$CONNS_ECHO" --duration "$DURATION"; stop "$GW_PID"
baseline; scenario echo-raw echo --url $RAW --conns "$CONNS_ECHO" --duration "$DURATION"; stop "$RAW_PID"

gateway;  scenario echo-rate-wsgw echo --url $GW --conns "$CONNS_RATE" --rate 5 --duration 30s; stop "$GW_PID"
baseline; scenario echo-rate-raw echo --url $RAW --conns "$CONNS_RATE" --rate 5 --duration 30s; stop "$RAW_PID"
gateway;  scenario echo-rate1-wsgw echo --url $GW --conns "$CONNS_RATE" --rate 1 --duration 30s; stop "$GW_PID"
baseline; scenario echo-rate1-raw echo --url $RAW --conns "$CONNS_RATE" --rate 1 --duration 30s; stop "$RAW_PID"
gateway;  scenario rest-send-wsgw rest-send --url $GW --admin http://127.0.0.1:19090 --conns 1000 --rest-concurrency 16 --duration "$DURATION"; stop "$GW_PID"
baseline; scenario rest-send-raw rest-send --url $RAW --admin http://127.0.0.1:18089 --conns 1000 --rest-concurrency 16 --duration "$DURATION"; stop "$RAW_PID"

# The table.
j() { jq -r "$2" "$RUN/$1.json" 2>/dev/null || echo "–"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "–") printf "%.2f", a / b; else print "–" }'; }
ms() { awk -v n="$1" 'BEGIN { printf "%.2f ms", n / 1e6 }'; }
connect_w=$(j connect-wsgw '.results.conns.handshakes_per_sec | floor')
connect_r=$(j connect-raw '.results.conns.handshakes_per_sec | floor')
idle_w=$(j idle-wsgw '.results.memory.rss_per_conn_kib * 100 | round / 100')
idle_r=$(j idle-raw '.results.memory.rss_per_conn_kib * 100 | round / 100')
echo_w=$(j echo-wsgw '.results.messages.recv_per_sec | floor')
echo_r=$(j echo-raw '.results.messages.recv_per_sec | floor')
{
  echo "# Benchmark results"
  echo
  echo "Written by \`scripts/bench.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(go env GOVERSION), loader and servers on the same machine, loopback). Raw JSON: \`$RUN/\`."
  echo
  echo "| scenario | wsgw | raw gws | wsgw / raw | target |"
  echo "|---|---|---|---|---|"
  echo "| connect: $CONNS_CONNECT handshakes, memory store | $connect_w/s ($(j connect-wsgw .results.conns.failed) failed) | $connect_r/s | $(ratio "$connect_w" "$connect_r") | ≥ 5,000/s, 0 failed |"
  if [[ -f $RUN/connect-wsgw-redis.json ]]; then
    echo "| connect: $CONNS_CONNECT handshakes, Redis store | $(j connect-wsgw-redis '.results.conns.handshakes_per_sec | floor')/s ($(j connect-wsgw-redis .results.conns.failed) failed) | | | ≥ 3,000/s, 0 failed |"
  fi
  echo "| idle: RSS per connection, $CONNS_IDLE held after one message each | $idle_w KiB | $idle_r KiB | $(ratio "$idle_w" "$idle_r") | ≤ 10 KiB |"
  echo "| idle: RSS per connection, $CONNS_IDLE_MAX held (one process's file limit) | $(j idle-wsgw-max '.results.memory.rss_per_conn_kib * 100 | round / 100') KiB | | | ≤ 10 KiB |"
  echo "| echo through JS, rate limit lifted: $CONNS_ECHO connections ping-pong, 64 B | $echo_w msg/s, p99 $(ms "$(j echo-wsgw .results.messages.rtt.p99_ns)") | $echo_r msg/s, p99 $(ms "$(j echo-raw .results.messages.rtt.p99_ns)") | $(ratio "$echo_w" "$echo_r") | ≥ 0.6 |"
  echo "| echo, default limit: $CONNS_RATE connections × 5 msg/s | $(j echo-rate-wsgw '.results.messages.recv_per_sec | floor') msg/s, lost $(j echo-rate-wsgw .results.messages.lost), p99 $(ms "$(j echo-rate-wsgw .results.messages.rtt.p99_ns)") | $(j echo-rate-raw '.results.messages.recv_per_sec | floor') msg/s, lost $(j echo-rate-raw .results.messages.lost), p99 $(ms "$(j echo-rate-raw .results.messages.rtt.p99_ns)") | | every message, p99 ≤ 20 ms |"
  echo "| echo, default limit: $CONNS_RATE connections × 1 msg/s | $(j echo-rate1-wsgw '.results.messages.recv_per_sec | floor') msg/s, lost $(j echo-rate1-wsgw .results.messages.lost), p99 $(ms "$(j echo-rate1-wsgw .results.messages.rtt.p99_ns)") | $(j echo-rate1-raw '.results.messages.recv_per_sec | floor') msg/s, lost $(j echo-rate1-raw .results.messages.lost), p99 $(ms "$(j echo-rate1-raw .results.messages.rtt.p99_ns)") | | |"
  rest_w=$(j rest-send-wsgw '.results.rest.per_sec | floor'); rest_r=$(j rest-send-raw '.results.rest.per_sec | floor')
  echo "| REST send, 16 keep-alive clients → 1,000 sockets | $rest_w sends/s, p99 $(ms "$(j rest-send-wsgw .results.rest.latency.p99_ns)"), lost $(j rest-send-wsgw .results.rest.lost) | $rest_r sends/s, p99 $(ms "$(j rest-send-raw .results.rest.latency.p99_ns)"), lost $(j rest-send-raw .results.rest.lost) | $(ratio "$rest_w" "$rest_r") | ≥ 30,000/s |"
  echo
  echo "Go micro-benchmarks (\`go test -run '^\$' -bench . -benchmem -count 3 ./runtime/ ./gateway/\`):"
  echo
  echo '```'
  grep -E '^(Benchmark|goos|goarch|cpu)' "$RUN/go-bench.txt"
  echo '```'
} >"$OUT"
echo "bench: wrote $OUT" >&2
cat "$OUT"
