#!/usr/bin/env bash
# The reference server (server/) end to end, beyond `cargo test`:
#  1. the live page in headless Chromium against a development server (--insecure-dev: the
#     page gets its access tokens from it); screenshots in server/browser-test/out/;
#  2. a bounded load run against a server that requires signed access tokens (the load
#     tool mints them with the same key);
#  3. a hostile-client soak (server/README.md, "Hostile clients"): idle and slow sockets and
#     unfinished fragmented messages from 20 other addresses, rounds of members that never
#     read and of a 1,000-member room joined at once, while a fresh client is probed every
#     half second; it fails if any probe is not served or the server's RSS passes the bound;
#  4. a three-node replicated group (scripts/cluster.sh, server/README.md "A replicated
#     group"): two pages in headless Chromium through a leader killed with SIGKILL, then a
#     load run over the three nodes with the leader killed mid-run, the killed node restarted,
#     and the replicas' digests compared at equal applied indexes.
#
#   bash ci/server.sh                                     # CI: 200 clients x 5 s, 60 s soak
#   LOAD_CLIENTS=1000 LOAD_SECONDS=30 SKIP_BROWSER=1 SKIP_SOAK=1 bash ci/server.sh   # FIGURES
#   SKIP_CLUSTER=1 bash ci/server.sh                      # without step 4
#
# Needs node/npm; installs Debian's chromium when /usr/bin/chromium is missing (CI runs as
# root on a fresh Debian machine). About 2 minutes on a warm machine besides the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

LOAD_CLIENTS="${LOAD_CLIENTS:-200}"
LOAD_SECONDS="${LOAD_SECONDS:-5}"
LOAD_ROOMS="${LOAD_ROOMS:-$(( LOAD_CLIENTS / 10 > 4 ? LOAD_CLIENTS / 10 : 4 ))}"
LOAD_THINK_MS="${LOAD_THINK_MS:-0}"
SKIP_BROWSER="${SKIP_BROWSER:-0}"
SKIP_SOAK="${SKIP_SOAK:-0}"
SKIP_CLUSTER="${SKIP_CLUSTER:-0}"
CLUSTER_BASE_PORT="${CLUSTER_BASE_PORT:-17101}"
SOAK_SECONDS="${SOAK_SECONDS:-60}"
SOAK_MAX_RSS_MIB="${SOAK_MAX_RSS_MIB:-512}"
bin="${CARGO_TARGET_DIR:-target}/release"

step() { printf '\n=== server: %s ===\n' "$1"; }

if [ "$SKIP_BROWSER" != 1 ]; then
  step "chromium and playwright-core"
  if [ ! -x /usr/bin/chromium ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  fi
  /usr/bin/chromium --version
  (cd server/browser-test && npm ci --no-audit --no-fund)
fi

step "build (release)"
cargo build --release -p roomcore-server --bins

workdir="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$workdir"
}
trap cleanup EXIT
"$bin/roomcore-server" keygen > "$workdir/signing.key"
ROOMCORE_ADMIN_TOKEN="$("$bin/roomcore-server" keygen)"
export ROOMCORE_ADMIN_TOKEN

# start NAME FLAGS...: starts a server on a free port; sets $url and $server_pid.
start() {
  local name="$1"; shift
  "$bin/roomcore-server" --listen 127.0.0.1:0 "$@" \
    > "$workdir/$name.out" 2> "$workdir/$name.err" &
  server_pid=$!
  pids+=("$server_pid")
  url=""
  for _ in $(seq 1 100); do
    url="$(grep -o 'http://[0-9.:]*' "$workdir/$name.out" | head -1 || true)"
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$workdir/$name.err"; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "server $name did not start"; exit 1; }
  echo "server $name at $url/ (pid $server_pid)"
}

if [ "$SKIP_BROWSER" != 1 ]; then
  step "browser test: a switch with a second client watching, a ban and a move through the admin panel (dev server)"
  start dev --insecure-dev --service-events
  grep -q "INSECURE DEV MODE" "$workdir/dev.out"
  timeout 120 node server/browser-test/switch.test.mjs "$url/"
  ls -l server/browser-test/out/
  kill "$server_pid"
fi

step "load run: $LOAD_CLIENTS clients x $LOAD_SECONDS s over $LOAD_ROOMS rooms, think $LOAD_THINK_MS ms"
# Each load client is a closed loop with no think time, far hotter than a person: the
# per-connection frame rate is raised so the run measures the server, not the rate limit.
start load --signing-key-file "$workdir/signing.key" --frames-per-s 1000 --frames-burst 1000
nproc
uptime
timeout $(( LOAD_SECONDS + 120 )) "$bin/roomcore-load" --url "${url/http/ws}/ws" \
  --signing-key-file "$workdir/signing.key" \
  --clients "$LOAD_CLIENTS" --duration-s "$LOAD_SECONDS" --rooms "$LOAD_ROOMS" \
  --think-ms "$LOAD_THINK_MS"
kill -0 "$server_pid"
grep -E 'VmHWM|Threads' "/proc/$server_pid/status" || true
kill "$server_pid"

if [ "$SKIP_SOAK" != 1 ]; then
  step "hostile-client soak: $SOAK_SECONDS s with default limits, RSS bound $SOAK_MAX_RSS_MIB MiB"
  start soak --signing-key-file "$workdir/signing.key"
  timeout $(( SOAK_SECONDS + 120 )) "$bin/roomcore-hostile" --addr "${url#http://}" \
    --pid "$server_pid" --signing-key-file "$workdir/signing.key" --attacker-ips 20 \
    soak --seconds "$SOAK_SECONDS" --max-rss-mib "$SOAK_MAX_RSS_MIB" \
    --idle-sockets 1200 --fragment-sockets 200 --non-readers 40 --room-members 1000
  kill -0 "$server_pid"
  curl -s -H "Authorization: Bearer $ROOMCORE_ADMIN_TOKEN" "$url/admin/stats" || true
  echo
  kill "$server_pid"
fi

if [ "$SKIP_CLUSTER" != 1 ]; then
  if [ "$SKIP_BROWSER" != 1 ]; then
    step "replicated group: two pages through a leader killed with SIGKILL"
    BIN="$bin" BASE_PORT="$CLUSTER_BASE_PORT" timeout 180 node server/browser-test/failover.test.mjs
  fi
  step "replicated group: load over three nodes, the leader killed mid-run, replicas compared"
  export CLUSTER_DIR="$workdir/cluster" BASE_PORT="$CLUSTER_BASE_PORT" BIN="$bin"
  # Closed-loop load clients are hotter than people: the frame rate is raised as above.
  export SERVER_FLAGS="--frames-per-s 1000 --frames-burst 1000"
  trap 'bash scripts/cluster.sh clean >/dev/null 2>&1 || true; cleanup' EXIT
  bash scripts/cluster.sh start
  node_url() { echo "http://127.0.0.1:$(( CLUSTER_BASE_PORT + $1 - 1 ))"; }
  admin="$(cat "$CLUSTER_DIR/admin.token")"
  status_of() { curl -s --max-time 5 -H "Authorization: Bearer $admin" "$(node_url "$1")/status" || true; }
  leader=""
  for _ in $(seq 1 100); do
    for n in 1 2 3; do
      if status_of "$n" | grep -q '"role":"leader"'; then leader="$n"; fi
    done
    [ -n "$leader" ] && break
    sleep 0.2
  done
  [ -n "$leader" ] || { echo "no leader"; bash scripts/cluster.sh status; exit 1; }
  echo "leader: node $leader"
  urls="ws://127.0.0.1:$CLUSTER_BASE_PORT/ws,ws://127.0.0.1:$(( CLUSTER_BASE_PORT + 1 ))/ws,ws://127.0.0.1:$(( CLUSTER_BASE_PORT + 2 ))/ws"
  timeout 120 "$bin/roomcore-load" --url "$urls" --clients 60 --duration-s 8 --rooms 8 \
    > "$workdir/cluster-load.out" &
  load_pid=$!
  sleep 3
  bash scripts/cluster.sh kill "$leader"
  wait "$load_pid" || { cat "$workdir/cluster-load.out"; exit 1; }
  tail -n 1 "$workdir/cluster-load.out"
  grep -q '"failed_clients":0' "$workdir/cluster-load.out"
  bash scripts/cluster.sh restart "$leader"
  # Every node at the same applied index has the same digest (the load is over; a few
  # ticks and node announcements may still be applied, so poll until they agree).
  agreed=""
  for _ in $(seq 1 150); do
    s1="$(status_of 1)"; s2="$(status_of 2)"; s3="$(status_of 3)"
    i1="$(echo "$s1" | grep -o '"last_applied":[0-9]*' || true)"
    if [ -n "$i1" ] && [ "$s1" != "" ] \
      && [ "$(echo "$s1" | grep -o '"last_applied".*')" = "$(echo "$s2" | grep -o '"last_applied".*')" ] \
      && [ "$(echo "$s1" | grep -o '"last_applied".*')" = "$(echo "$s3" | grep -o '"last_applied".*')" ]; then
      agreed="$i1"; break
    fi
    sleep 0.2
  done
  bash scripts/cluster.sh status
  [ -n "$agreed" ] || { echo "the replicas did not agree"; exit 1; }
  echo "replicas agree at $agreed"
  bash scripts/cluster.sh clean
fi
echo "ok"
