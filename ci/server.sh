#!/usr/bin/env bash
# The reference server (server/, issue 8) end to end, beyond `cargo test`: the live page in
# headless Chromium (a switch between two rooms with a second client watching; screenshots in
# server/browser-test/out/), then a bounded load run on loopback as a smoke check.
#
#   bash ci/server.sh                                     # CI: 200 clients x 5 s
#   LOAD_CLIENTS=1000 LOAD_SECONDS=30 SKIP_BROWSER=1 bash ci/server.sh   # server/FIGURES.md
#
# Needs node/npm; installs Debian's chromium when /usr/bin/chromium is missing (CI runs as
# root on a fresh Debian machine). About 1 minute on a warm machine besides the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

LOAD_CLIENTS="${LOAD_CLIENTS:-200}"
LOAD_SECONDS="${LOAD_SECONDS:-5}"
LOAD_ROOMS="${LOAD_ROOMS:-$(( LOAD_CLIENTS / 10 > 4 ? LOAD_CLIENTS / 10 : 4 ))}"
LOAD_THINK_MS="${LOAD_THINK_MS:-0}"
SKIP_BROWSER="${SKIP_BROWSER:-0}"
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

step "start the server on a free port"
workdir="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$workdir"
}
trap cleanup EXIT
# Each load client is a closed loop with no think time, far hotter than a person: the
# per-connection frame rate is raised so the run measures the server, not the rate limit.
ROOMCORE_ADMIN_TOKEN="ci-$$-$RANDOM" "$bin/roomcore-server" \
  --listen 127.0.0.1:0 --frames-per-s 1000 --frames-burst 1000 \
  > "$workdir/server.out" 2> "$workdir/server.err" &
server_pid=$!
url=""
for _ in $(seq 1 100); do
  url="$(grep -o 'http://[0-9.:]*' "$workdir/server.out" || true)"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$workdir/server.err"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "server did not start"; exit 1; }
echo "server at $url/"

if [ "$SKIP_BROWSER" != 1 ]; then
  step "browser test: switch between two rooms with a second client watching"
  timeout 120 node server/browser-test/switch.test.mjs "$url/"
  ls -l server/browser-test/out/
fi

step "load run: $LOAD_CLIENTS clients x $LOAD_SECONDS s over $LOAD_ROOMS rooms, think $LOAD_THINK_MS ms"
nproc
uptime
timeout $(( LOAD_SECONDS + 120 )) "$bin/roomcore-load" --url "${url/http/ws}/ws" \
  --clients "$LOAD_CLIENTS" --duration-s "$LOAD_SECONDS" --rooms "$LOAD_ROOMS" \
  --think-ms "$LOAD_THINK_MS"

step "the server survived"
kill -0 "$server_pid"
grep -E 'VmHWM|Threads' "/proc/$server_pid/status" || true
echo "ok"
