#!/usr/bin/env bash
# Benchmarks the release backend: requests/s, p50 and p99 for GET /api/{user}/tasks (100 tasks)
# and POST /api/{user}/tasks at 32 connections, on SQLite and on Postgres; idle RSS; and the time
# from process start to /ready answering 200.
#
# Usage: app/backend/bench/run.sh [DURATION]      (default 10s per load run)
#        TODO_BACKEND_BIN=PATH app/backend/bench/run.sh 2s   (another binary, no build)
# Needs: wrk (apt-get install wrk), curl, python3; for Postgres, TEST_DATABASE_URL
# (`source .ci/postgres.sh`) and psql. Without TEST_DATABASE_URL the Postgres rows are skipped.
# The load runs on loopback only, bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/../../.."
duration=${1:-10s}
connections=32
threads=2

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; echo "help: apt-get install -y wrk curl python3" >&2; exit 1; }
done

# TODO_BACKEND_BIN runs another build of the binary (e.g. a debug one) instead of the release one.
if [ -z "${TODO_BACKEND_BIN:-}" ]; then
  cargo build --release -p todo-backend >&2
fi
bin=${TODO_BACKEND_BIN:-${CARGO_TARGET_DIR:-target}/release/todo-backend}
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ns() { date +%s%N; }

# start DB_URL: starts the server, waits for /ready, sets pid, port, ready_ms, rss_kib.
start() {
  port=$(free_port)
  local t0
  t0=$(now_ns)
  HOST=127.0.0.1 PORT=$port DATABASE_URL=$1 AGENT=rules RUST_LOG=warn "$bin" 2>"$work/server.log" &
  pid=$!
  until "$bin" healthcheck "http://127.0.0.1:$port/ready" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.002
  done
  ready_ms=$(( ($(now_ns) - t0) / 1000000 ))
  sleep 1
  rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
}

stop() {
  kill -TERM "$pid"
  wait "$pid" || { echo "error: server exited non-zero" >&2; exit 1; }
  pid=
}

# load NAME URL [SCRIPT]: one wrk run, prints a table row.
load() {
  local name=$1 url=$2 script=${3:-}
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency ${script:+-s "$script"} "$url")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

run_db() {
  local label=$1 url=$2
  start "$url"
  for i in $(seq 1 100); do
    curl -sf -o /dev/null -H 'content-type: application/json' \
      -d "{\"title\":\"task $i\"}" "http://127.0.0.1:$port/api/bench/tasks"
  done
  load "$label GET /api/bench/tasks (100 tasks)" "http://127.0.0.1:$port/api/bench/tasks"
  load "$label POST /api/load/tasks" "http://127.0.0.1:$port/api/load/tasks" app/backend/bench/post.lua
  stop
  echo "$label|$ready_ms|$rss_kib" >>"$work/startup"
}

echo "| run ($connections connections, $threads wrk threads, $duration) | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
run_db sqlite "sqlite://$work/bench.db"
if [ -n "${TEST_DATABASE_URL:-}" ] && command -v psql >/dev/null; then
  db="todo_bench_$$"
  psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
  run_db postgres "${TEST_DATABASE_URL%/*}/$db"
  psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE $db" >/dev/null
else
  echo "| postgres | skipped: TEST_DATABASE_URL not set | | | |"
fi
echo
echo "| database | start to /ready 200 | idle RSS (1 s after ready) |"
echo "|---|---|---|"
while IFS='|' read -r label ms kib; do
  printf '| %s | %s ms | %s MiB |\n' "$label" "$ms" "$(awk -v k="$kib" 'BEGIN {printf "%.1f", k/1024}')"
done <"$work/startup"
