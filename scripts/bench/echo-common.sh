# Shared by the echo-*.sh scripts: start_server BIN_DIR raw|PATH starts a
# fresh server (under $VALGRIND, when set), sets SRV (its pid), URL and
# ADMIN, waits for its port ($START_WAIT tenths of a second at most) and
# stops it when the script exits; start_load BIN_DIR SECONDS OUT starts the
# ping-pong loader in the background, its JSON to OUT, sets LOAD (its pid)
# and returns 4 s into the run.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ulimit -n 20000 2>/dev/null || true

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {
  local bin=$1 path=$2 port
  # A server left over on the port would be measured in place of this one.
  for port in 18080 18089 19090; do
    if listening $port; then echo "something already listens on $port: stop it first" >&2; return 1; fi
  done
  if [ "$path" = raw ]; then
    ${VALGRIND:-} "$bin/wsbench" baseline --listen 127.0.0.1:18089 >/dev/null 2>&1 &
    SRV=$! URL=ws://127.0.0.1:18089/echo ADMIN=http://127.0.0.1:18089 port=18089
  else
    # shellcheck disable=SC2086 # EXTRA_ENV is a list of settings
    env WSGW_LIMITS_MESSAGES_PER_SECOND=0 ${EXTRA_ENV:-} ${VALGRIND:-} "$bin/gateway" --config "$ROOT/scripts/bench/gateway.yaml" >/dev/null 2>&1 &
    SRV=$! URL=ws://127.0.0.1:18080/$path ADMIN=http://127.0.0.1:19090 port=18080
  fi
  trap 'kill $SRV 2>/dev/null || true' EXIT
  for _ in $(seq "${START_WAIT:-100}"); do
    kill -0 "$SRV" 2>/dev/null || { echo "the server exited at start-up" >&2; return 1; }
    listening "$port" && return 0
    sleep 0.1
  done
  echo "nothing listens on $port" >&2
  return 1
}

start_load() {
  "$1/wsbench" echo --url "$URL" --conns "${CONNS:-1000}" --duration "$2s" --json 2>/dev/null >"$3" &
  LOAD=$!
  sleep 4
}
