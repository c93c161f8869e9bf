#!/usr/bin/env bash
# A three-node roomcore group on this machine, for trying failover by hand (server/README.md,
# "A replicated group"). Each node is a roomcore-server process with its own data directory,
# on 127.0.0.1:7001, :7002 and :7003; the page of any node connects clients to the group.
#
#   scripts/cluster.sh start        # build (release) and start nodes 1-3 in the background
#   scripts/cluster.sh status       # each node's GET /status (role, leader, applied index, digest)
#   scripts/cluster.sh kill 2       # kill -9 node 2 (its clients resume on another node)
#   scripts/cluster.sh restart 2    # start node 2 again from its data directory
#   scripts/cluster.sh stop         # stop every node (their data stays)
#   scripts/cluster.sh clean        # stop, then delete the data directory
#
# Environment: CLUSTER_DIR (default ./cluster-data: data, logs, pids, secrets), BASE_PORT
# (7001), SIGNING_KEY_FILE (logins then need signed access tokens; without it the nodes run
# with --insecure-dev so the page mints its own), BIN (default target/release), and any
# further server flags in SERVER_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER_DIR="${CLUSTER_DIR:-cluster-data}"
BASE_PORT="${BASE_PORT:-7001}"
BIN="${BIN:-${CARGO_TARGET_DIR:-target}/release}"
SERVER_FLAGS="${SERVER_FLAGS:-}"
NODES=(1 2 3)

port() { echo $(( BASE_PORT + $1 - 1 )); }
peers() {
  local out="" n
  for n in "${NODES[@]}"; do out="${out:+$out,}$n=127.0.0.1:$(port "$n")"; done
  echo "$out"
}
pid_of() { cat "$CLUSTER_DIR/node$1.pid" 2>/dev/null || true; }
alive() { local p; p="$(pid_of "$1")"; [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

secrets() {
  mkdir -p "$CLUSTER_DIR"
  [ -s "$CLUSTER_DIR/admin.token" ] || "$BIN/roomcore-server" keygen > "$CLUSTER_DIR/admin.token"
  [ -s "$CLUSTER_DIR/cluster.secret" ] || "$BIN/roomcore-server" keygen > "$CLUSTER_DIR/cluster.secret"
}

start_node() {
  local n="$1" auth
  if alive "$n"; then echo "node $n is running (pid $(pid_of "$n"))"; return; fi
  if [ -n "${SIGNING_KEY_FILE:-}" ]; then auth=(--signing-key-file "$SIGNING_KEY_FILE"); else auth=(--insecure-dev); fi
  # shellcheck disable=SC2086 # SERVER_FLAGS is a list of flags
  ROOMCORE_ADMIN_TOKEN="$(cat "$CLUSTER_DIR/admin.token")" \
  ROOMCORE_CLUSTER_SECRET="$(cat "$CLUSTER_DIR/cluster.secret")" \
    nohup "$BIN/roomcore-server" --listen "127.0.0.1:$(port "$n")" \
      --data-dir "$CLUSTER_DIR/node$n" --node-id "$n" --peers "$(peers)" \
      "${auth[@]}" $SERVER_FLAGS \
      >> "$CLUSTER_DIR/node$n.log" 2>&1 &
  echo $! > "$CLUSTER_DIR/node$n.pid"
  echo "node $n: http://127.0.0.1:$(port "$n")/ (pid $!, log $CLUSTER_DIR/node$n.log)"
}

status() {
  local n token
  token="$(cat "$CLUSTER_DIR/admin.token")"
  for n in "${NODES[@]}"; do
    printf 'node %s: ' "$n"
    if alive "$n"; then
      curl -s --max-time 5 -H "Authorization: Bearer $token" "http://127.0.0.1:$(port "$n")/status" || printf 'no answer'
      echo
    else
      echo "down"
    fi
  done
}

stop_node() {
  local n="$1" sig="$2" p
  p="$(pid_of "$n")"
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "-$sig" "$p"
    echo "node $n (pid $p): sent SIG$sig"
  fi
  rm -f "$CLUSTER_DIR/node$n.pid"
}

case "${1:-}" in
  start)
    [ -x "$BIN/roomcore-server" ] || cargo build --release -p roomcore-server --bins
    secrets
    for n in "${NODES[@]}"; do start_node "$n"; done
    echo "admin token: $CLUSTER_DIR/admin.token; try: scripts/cluster.sh status"
    ;;
  status) status ;;
  kill) stop_node "${2:?node id}" KILL ;;
  restart) secrets; start_node "${2:?node id}" ;;
  stop) for n in "${NODES[@]}"; do stop_node "$n" TERM; done ;;
  clean)
    for n in "${NODES[@]}"; do stop_node "$n" TERM; done
    rm -rf "$CLUSTER_DIR"
    ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
