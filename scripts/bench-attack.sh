#!/usr/bin/env bash
# Echo latency of well-behaved clients while K attackers hammer an endpoint
# whose data event never ends (`while (true) {}`), each sending 5 msg/s
# (inside the default rate limit) and reconnecting whenever the gateway closes
# them. One fresh gateway per K; prints one row per K and keeps the JSON
# summaries in bench-results/attack-<time>/. GATEWAY=path runs another gateway
# binary (for example one built from an older commit) instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."

KS=${KS:-"0 1 4 8"}
DURATION=${DURATION:-20s}
CONNS=${CONNS:-10}     # healthy echo clients, 5 msg/s each
RUN=bench-results/attack-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUN" bin
command -v jq >/dev/null || { echo "bench-attack: jq is needed" >&2; exit 1; }
if [ -z "${GATEWAY:-}" ]; then
  go build -o bin/gateway ./cmd/gateway
  GATEWAY=bin/gateway
fi
go build -o bin/wsbench ./cmd/wsbench

cat > "$RUN/spin.js" <<'JS'
if (websocketInfo.type === "data") { while (true) {} }
JS
cat > "$RUN/gateway.yaml" <<YAML
listen: "127.0.0.1:18080"
admin: {listen: "127.0.0.1:19090"}
log: {level: error}
endpoints:
  - path: /echo
    script: $PWD/examples/echo.js
  - path: /spin
    script: spin.js
YAML

GW_PID=
trap '[ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null || true' EXIT
wait_port() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/18080") 2>/dev/null && return 0; sleep 0.1; done
  echo "bench-attack: the gateway did not start" >&2; return 1
}

printf "%-3s %10s %10s %10s %10s  %s\n" K p50 p99 max lost "attackers closed with"
for K in $KS; do
  "$GATEWAY" --config "$RUN/gateway.yaml" >>"$RUN/gateway.log" 2>&1 &
  GW_PID=$!
  wait_port
  bin/wsbench echo --url ws://127.0.0.1:18080/echo --conns "$CONNS" --rate 5 --duration "$DURATION" --drain 15s \
    --attackers "$K" --attack-url ws://127.0.0.1:18080/spin --attack-rate 5 --json >"$RUN/k$K.json" 2>>"$RUN/wsbench.log"
  kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; GW_PID=
  jq -r --arg k "$K" '.results as $r | [$k,
      ($r.messages.rtt.p50_ns / 1e4 | round / 100 | tostring + " ms"), ($r.messages.rtt.p99_ns / 1e4 | round / 100 | tostring + " ms"),
      ($r.messages.rtt.max_ns / 1e4 | round / 100 | tostring + " ms"), ($r.messages.lost | tostring),
      (($r.attack.closes // {}) | to_entries | map("\(.key): \(.value)") | join(", "))] | @tsv' "$RUN/k$K.json" |
    awk -F'\t' '{ printf "%-3s %10s %10s %10s %10s  %s\n", $1, $2, $3, $4, $5, $6 }'
done
