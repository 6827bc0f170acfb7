#!/usr/bin/env bash
# The benchmark suite: Go micro-benchmarks, then load scenarios against a
# fresh gateway and a raw gws server (wsbench baseline) on loopback, in one
# run. Raw JSON goes to bench-results/<time>/, the table to
# docs/bench-results.md. Sizes fit a 2-core box and the 20,000 open files a
# process may hold here; override with CONNS_IDLE, CONNS_ECHO, ... below.
# The fan-out, state and STOMP scenarios use the gateway configs and scripts
# in scripts/bench/ (docs/wsbench.md); a scenario the gateway cannot serve
# yet leaves its cells empty ("–") and its reason in wsbench.log.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS_CONNECT=${CONNS_CONNECT:-10000}
CONNS_IDLE=${CONNS_IDLE:-10000}
CONNS_IDLE_MAX=${CONNS_IDLE_MAX:-19000}
CONNS_ECHO=${CONNS_ECHO:-1000}
CONNS_RATE=${CONNS_RATE:-10000}
DURATION=${DURATION:-20s}
CONNS_FANOUT=${CONNS_FANOUT:-10000}    # members of the one group
FANOUT_RATES=${FANOUT_RATES:-"5 20"}  # publishes/s; 20 x 10,000 is above what raw gws delivers here
FANOUT_DURATION=${FANOUT_DURATION:-30s}
CONNS_STOMP=${CONNS_STOMP:-5000}
STOMP_RATE=${STOMP_RATE:-20}
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

# gateway [env...]: start a fresh gateway on $GW_CONFIG (default: the echo
# endpoint above), set GW_PID
gateway() {
  env "$@" bin/gateway --config "${GW_CONFIG:-$RUN/gateway.yaml}" >>"$RUN/gateway.log" 2>&1 &
  GW_PID=$!; PIDS+=("$GW_PID"); wait_port 127.0.0.1:18080
}
# gateway2 [env...]: a second node of the same config on 18081 (admin 19091), set GW2_PID
gateway2() {
  env "$@" bin/gateway --config "${GW_CONFIG:-$RUN/gateway.yaml}" --addr 127.0.0.1:18081 --admin-addr 127.0.0.1:19091 \
    >>"$RUN/gateway2.log" 2>&1 &
  GW2_PID=$!; PIDS+=("$GW2_PID"); wait_port 127.0.0.1:18081
}
BENCH_GW=scripts/bench/gateway.yaml        # /sub, /pub, /echo, /state-echo
STOMP_GW=scripts/bench/gateway-stomp.yaml  # /stomp (protocol: stomp), /sub, /pub
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
# try NAME ARGS...: a scenario the gateway may not serve yet; a failure is
# reported and leaves no JSON, so its cells stay empty
try() {
  scenario "$@" || { echo "bench: $1 failed; the reason is in $RUN/wsbench.log" >&2; rm -f "$RUN/$1.json"; }
}

GW=ws://127.0.0.1:18080/echo
RAW=ws://127.0.0.1:18089/

gateway;  scenario connect-wsgw connect --url $GW --conns "$CONNS_CONNECT"; stop "$GW_PID"
baseline; scenario connect-raw connect --url $RAW --conns "$CONNS_CONNECT"; stop "$RAW_PID"
redis_hostport=${REDIS_URL#redis://}; redis_hostport=${redis_hostport%%/*}
have_redis() { (exec 3<>"/dev/tcp/${redis_hostport%:*}/${redis_hostport##*:}") 2>/dev/null; }
# Gateways on Redis use keys of their own, so no run meets another's.
REDIS_ENV=(WSGW_STORE_REDIS="$REDIS_URL" WSGW_STORE_KEY_PREFIX="wsbench-$$")
if have_redis; then
  gateway WSGW_STORE_REDIS="$REDIS_URL" WSGW_NODE_ID="bench-$$"
  scenario connect-wsgw-redis connect --url $GW --conns "$CONNS_CONNECT"; stop "$GW_PID"
fi

gateway;  scenario idle-wsgw idle --url $GW --conns "$CONNS_IDLE" --hold 45s --settle 20s --pid "$GW_PID"; stop "$GW_PID"
baseline; scenario idle-raw idle --url $RAW --conns "$CONNS_IDLE" --hold 45s --settle 20s --pid "$RAW_PID"; stop "$RAW_PID"
gateway;  scenario idle-wsgw-max idle --url $GW --conns "$CONNS_IDLE_MAX" --hold 45s --settle 20s --pid "$GW_PID"; stop "$GW_PID"

gateway WSGW_LIMITS_MESSAGES_PER_SECOND=0
scenario echo-wsgw echo --url $GW --conns "$CONNS_ECHO" --duration "$DURATION"; stop "$GW_PID"
baseline; scenario echo-raw echo --url $RAW --conns "$CONNS_ECHO" --duration "$DURATION"; stop "$RAW_PID"
# State: the same echo, counting each connection's messages in websocketInfo.state.
STATE=ws://127.0.0.1:18080/state-echo
GW_CONFIG=$BENCH_GW gateway; try echo-state-wsgw echo --url $STATE --conns "$CONNS_ECHO" --duration "$DURATION"; stop "$GW_PID"
if have_redis; then
  GW_CONFIG=$BENCH_GW gateway "${REDIS_ENV[@]}" WSGW_NODE_ID="bench-$$"
  scenario echo-wsgw-redis echo --url $GW --conns "$CONNS_ECHO" --duration "$DURATION"; stop "$GW_PID"
  GW_CONFIG=$BENCH_GW gateway "${REDIS_ENV[@]}" WSGW_NODE_ID="bench-$$"
  try echo-state-wsgw-redis echo --url $STATE --conns "$CONNS_ECHO" --duration "$DURATION"; stop "$GW_PID"
fi

gateway;  scenario echo-rate-wsgw echo --url $GW --conns "$CONNS_RATE" --rate 5 --duration 30s; stop "$GW_PID"
baseline; scenario echo-rate-raw echo --url $RAW --conns "$CONNS_RATE" --rate 5 --duration 30s; stop "$RAW_PID"
gateway;  scenario echo-rate1-wsgw echo --url $GW --conns "$CONNS_RATE" --rate 1 --duration 30s; stop "$GW_PID"
baseline; scenario echo-rate1-raw echo --url $RAW --conns "$CONNS_RATE" --rate 1 --duration 30s; stop "$RAW_PID"
gateway;  scenario rest-send-wsgw rest-send --url $GW --admin http://127.0.0.1:19090 --conns 1000 --rest-concurrency 16 --duration "$DURATION"; stop "$GW_PID"
baseline; scenario rest-send-raw rest-send --url $RAW --admin http://127.0.0.1:18089 --conns 1000 --rest-concurrency 16 --duration "$DURATION"; stop "$RAW_PID"
gateway;  scenario rest-batch-wsgw rest-send --url $GW --admin http://127.0.0.1:19090 --conns 1000 --rest-concurrency 16 --batch 100 --duration "$DURATION"; stop "$GW_PID"
baseline; scenario rest-batch-raw rest-send --url $RAW --admin http://127.0.0.1:18089 --conns 1000 --rest-concurrency 16 --batch 100 --duration "$DURATION"; stop "$RAW_PID"

# Fan-out: one publisher, one group of CONNS_FANOUT members, 64 B publishes.
# The raw gws side is wsbench baseline's /sub and /pub (gws's Broadcaster).
SUB=ws://127.0.0.1:18080/sub
fanout_args() { echo --conns "$CONNS_FANOUT" --rate "$1" --duration "$FANOUT_DURATION" --drain 30s; }
for rate in $FANOUT_RATES; do
  GW_CONFIG=$BENCH_GW gateway; try "fanout-$rate-wsgw" fanout --url $SUB $(fanout_args "$rate"); stop "$GW_PID"
  baseline; try "fanout-$rate-raw" fanout --url ws://127.0.0.1:18089/sub $(fanout_args "$rate"); stop "$RAW_PID"
  if have_redis; then
    GW_CONFIG=$BENCH_GW gateway "${REDIS_ENV[@]}" WSGW_NODE_ID="bench-a-$$"
    try "fanout-$rate-wsgw-redis" fanout --url $SUB $(fanout_args "$rate"); stop "$GW_PID"
    # Two nodes on one Redis: members alternate between them, the publisher is on the first.
    GW_CONFIG=$BENCH_GW gateway "${REDIS_ENV[@]}" WSGW_NODE_ID="bench-a-$$"
    GW_CONFIG=$BENCH_GW gateway2 "${REDIS_ENV[@]}" WSGW_NODE_ID="bench-b-$$"
    try "fanout-$rate-wsgw-2nodes" fanout --url $SUB --url ws://127.0.0.1:18081/sub $(fanout_args "$rate")
    stop "$GW_PID"; stop "$GW2_PID"
  fi
done

# STOMP fan-out beside plain members of the same size, on one gateway config.
if bin/gateway --config $STOMP_GW --check >/dev/null 2>&1; then
  GW_CONFIG=$STOMP_GW gateway
  try fanout-stomp-wsgw fanout --stomp --url ws://127.0.0.1:18080/stomp --conns "$CONNS_STOMP" --rate "$STOMP_RATE" \
    --duration "$FANOUT_DURATION" --drain 30s
  stop "$GW_PID"
  GW_CONFIG=$STOMP_GW gateway
  try fanout-plain-wsgw fanout --url $SUB --conns "$CONNS_STOMP" --rate "$STOMP_RATE" --duration "$FANOUT_DURATION" --drain 30s
  stop "$GW_PID"
else
  echo "bench: no STOMP fan-out: the gateway refuses $STOMP_GW (it needs protocol: stomp endpoints)" >&2
fi

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
  batch_w=$(j rest-batch-wsgw '.results.rest.messages_per_sec | floor'); batch_r=$(j rest-batch-raw '.results.rest.messages_per_sec | floor')
  echo "| REST batch send, 100 messages a request, 16 keep-alive clients → 1,000 sockets | $batch_w msg/s, p99 $(ms "$(j rest-batch-wsgw .results.rest.latency.p99_ns)") a request, lost $(j rest-batch-wsgw .results.rest.lost) | $batch_r msg/s, p99 $(ms "$(j rest-batch-raw .results.rest.latency.p99_ns)"), lost $(j rest-batch-raw .results.rest.lost) | $(ratio "$batch_w" "$batch_r") | |"
  state_w=$(j echo-state-wsgw '.results.messages.recv_per_sec | floor')
  echo "| echo with a state counter (scripts/bench/state-echo.js), memory store, $CONNS_ECHO ping-pong | $state_w msg/s | plain echo above: $echo_w msg/s | $(ratio "$state_w" "$echo_w") (state / plain) | ≥ 0.9 |"
  if [[ -f $RUN/echo-wsgw-redis.json ]]; then
    plain_redis=$(j echo-wsgw-redis '.results.messages.recv_per_sec | floor'); state_redis=$(j echo-state-wsgw-redis '.results.messages.recv_per_sec | floor')
    echo "| echo with a state counter, Redis store, $CONNS_ECHO ping-pong | $state_redis msg/s | plain echo, Redis store: $plain_redis msg/s | $(ratio "$state_redis" "$plain_redis") (state / plain) | ≥ 0.9 |"
  fi
  fan() { # NAME: deliveries/s, p99, lost
    [[ -f $RUN/$1.json ]] || { echo "–"; return; }
    echo "$(j "$1" '.results.fanout.deliveries_per_sec | floor')/s, p99 $(ms "$(j "$1" .results.fanout.latency.p99_ns)"), lost $(j "$1" .results.fanout.lost)"
  }
  for rate in $FANOUT_RATES; do
    dw=$(j "fanout-$rate-wsgw" '.results.fanout.deliveries_per_sec | floor'); dr=$(j "fanout-$rate-raw" '.results.fanout.deliveries_per_sec | floor')
    pw=$(j "fanout-$rate-wsgw" .results.fanout.latency.p99_ns); pr=$(j "fanout-$rate-raw" .results.fanout.latency.p99_ns)
    echo "| fan-out: 1 publisher × $rate/s → $CONNS_FANOUT members, 64 B, one node | $(fan "fanout-$rate-wsgw") | $(fan "fanout-$rate-raw") | deliveries $(ratio "$dw" "$dr"), p99 $(ratio "$pw" "$pr") | deliveries ≥ 0.8, p99 ≤ 1.2 |"
    if have_redis; then
      echo "| fan-out, $rate/s, one node on Redis | $(fan "fanout-$rate-wsgw-redis") | | | |"
      d2=$(j "fanout-$rate-wsgw-2nodes" '.results.fanout.deliveries_per_sec | floor')
      echo "| fan-out, $rate/s, two nodes on Redis, members alternating | $(fan "fanout-$rate-wsgw-2nodes") | | $(ratio "$d2" "$dw") (2 nodes / 1 node) | ≥ 0.6 × one node |"
    fi
  done
  ds=$(j fanout-stomp-wsgw '.results.fanout.deliveries_per_sec | floor'); dp=$(j fanout-plain-wsgw '.results.fanout.deliveries_per_sec | floor')
  echo "| STOMP fan-out: $STOMP_RATE/s → $CONNS_STOMP subscribers | $(fan fanout-stomp-wsgw) | plain members: $(fan fanout-plain-wsgw) | $(ratio "$ds" "$dp") (STOMP / plain) | ≥ 0.7 |"
  echo
  echo "Go micro-benchmarks (\`go test -run '^\$' -bench . -benchmem -count 3 ./runtime/ ./gateway/\`):"
  echo
  echo '```'
  grep -E '^(Benchmark|goos|goarch|cpu)' "$RUN/go-bench.txt"
  echo '```'
} >"$OUT"
echo "bench: wrote $OUT" >&2
cat "$OUT"
