#!/usr/bin/env bash
# Benchmarks the release backend side by side with a FastAPI + SQLModel + uvicorn peer (peer/):
# requests/s, p50 and p99 of GET /api/{user}/tasks (100 tasks) and of POST /api/{user}/tasks at
# 32 connections, on SQLite for both servers in one run, then the backend's same GET and POST on
# PostgreSQL; idle RSS of both; and the ratios. The load average is printed before and after, since
# ratios from a busy machine are only comparable within one run.
#
# Usage: app/backend/bench/run.sh [DURATION]      (default 10s per load run)
#        TODO_BACKEND_BIN=PATH app/backend/bench/run.sh 2s   (another binary, no build)
#        BENCH_NO_PEER=1 ...                       (the backend only)
# Needs: wrk (apt-get install wrk), curl, python3 with venv; for PostgreSQL, TEST_DATABASE_URL
# and psql (without them the PostgreSQL rows say "skipped"). The peer is installed from PyPI into
# a virtualenv under the target dir (PEER_VENV to choose another place), never into the repository.
# The load runs on loopback only, bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/../../.."
duration=${1:-10s}
connections=32
threads=2
peer_workers=$(nproc)

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; echo "help: apt-get install -y wrk curl python3 python3-venv" >&2; exit 1; }
done

# TODO_BACKEND_BIN runs another build of the binary (e.g. a debug one) instead of the release one.
if [ -z "${TODO_BACKEND_BIN:-}" ]; then
  cargo build --release -p todo-backend >&2
fi
bin=${TODO_BACKEND_BIN:-${CARGO_TARGET_DIR:-target}/release/todo-backend}
venv=${PEER_VENV:-${CARGO_TARGET_DIR:-target}/bench-peer-venv}
peer_dir=app/backend/bench/peer
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${BENCH_NO_PEER:-}" ]; then
  stamp="$venv/.installed-$(sha256sum "$peer_dir/requirements.txt" | cut -c1-16)"
  if [ ! -e "$stamp" ]; then
    echo "installing the FastAPI peer into $venv" >&2
    python3 -m venv "$venv" || { echo "error: could not make a virtualenv at $venv" >&2; echo "help: apt-get install -y python3-venv" >&2; exit 1; }
    "$venv/bin/pip" install -q -r "$peer_dir/requirements.txt" >&2
    touch "$stamp"
  fi
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ns() { date +%s%N; }
# RSS in KiB of a process and its children (uvicorn runs one process per worker).
tree_rss() {
  local total=0 p kib
  for p in "$1" $(pgrep -P "$1" || true); do
    kib=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$(( total + ${kib:-0} ))
  done
  echo "$total"
}

# wait_ready URL: until it answers 200 (or the server died).
wait_ready() {
  until curl -sf -o /dev/null "$1"; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.01
  done
}

# start_backend DB_URL / start_peer DB_FILE: start a server, wait for /ready; set pid, port,
# ready_ms, rss_kib (1 s after ready).
start_backend() {
  port=$(free_port)
  local t0
  t0=$(now_ns)
  HOST=127.0.0.1 PORT=$port DATABASE_URL=$1 AGENT=rules RUST_LOG=warn "$bin" 2>"$work/server.log" &
  pid=$!
  wait_ready "http://127.0.0.1:$port/ready"
  ready_ms=$(( ($(now_ns) - t0) / 1000000 ))
  sleep 1
  rss_kib=$(tree_rss "$pid")
}
start_peer() {
  port=$(free_port)
  local t0
  t0=$(now_ns)
  PEER_DATABASE=$1 "$venv/bin/uvicorn" app:app --app-dir "$peer_dir" --host 127.0.0.1 --port "$port" \
    --workers "$peer_workers" --log-level warning --no-access-log 2>"$work/server.log" &
  pid=$!
  wait_ready "http://127.0.0.1:$port/ready"
  ready_ms=$(( ($(now_ns) - t0) / 1000000 ))
  sleep 1
  rss_kib=$(tree_rss "$pid")
}

stop() {
  kill -TERM "$pid"
  wait "$pid" || { echo "error: server exited non-zero" >&2; cat "$work/server.log" >&2; exit 1; }
  pid=
}

seed() {
  for i in $(seq 1 100); do
    curl -sf -o /dev/null -H 'content-type: application/json' \
      -d "{\"title\":\"task $i\",\"description\":\"details of task $i\"}" "http://127.0.0.1:$port/api/bench/tasks"
  done
}

# load KEY URL [SCRIPT]: one wrk run; records "KEY rps p50 p99 non2xx" in results.
load() {
  local key=$1 url=$2 script=${3:-}
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency ${script:+-s "$script"} "$url")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "$key $rps $p50 $p99 ${non2xx:-0}" >>"$work/results"
}

# run SERVER LABEL TARGET: seed 100 tasks, load GET then POST, stop; records idle RSS.
run() {
  local server=$1 label=$2 target=$3
  "start_$server" "$target"
  seed
  load "$label-get" "http://127.0.0.1:$port/api/bench/tasks"
  load "$label-post" "http://127.0.0.1:$port/api/load/tasks" app/backend/bench/post.lua
  stop
  echo "$label $ready_ms $rss_kib" >>"$work/startup"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
touch "$work/results" "$work/startup"
run backend backend-sqlite "sqlite://$work/backend.db"
[ -z "${BENCH_NO_PEER:-}" ] && run peer peer-sqlite "$work/peer.db"
if [ -n "${TEST_DATABASE_URL:-}" ] && command -v psql >/dev/null; then
  db="todo_bench_$$"
  psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
  run backend backend-postgres "${TEST_DATABASE_URL%/*}/$db"
  psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE $db" >/dev/null
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

field() { awk -v k="$1" -v f="$2" '$1==k {print $f}' "$work/results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.1fx", a/b }'; }
# ms converts wrk's 1.23ms / 456.00us / 1.20s to milliseconds.
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.2f", v/1000; else if (v ~ /ms$/) printf "%.2f", v+0; else if (v ~ /s$/) printf "%.0f", v*1000; else print "-" }'; }

echo "load average (1, 5, 15 min): before $load_before, after $load_after; $(nproc) cores"
echo
echo "| run ($connections connections, $threads wrk threads, $duration) | requests/s | p50 ms | p99 ms | non-2xx |"
echo "|---|---|---|---|---|"
for key in backend-sqlite-get peer-sqlite-get backend-postgres-get backend-sqlite-post peer-sqlite-post backend-postgres-post; do
  line=$(awk -v k="$key" '$1==k' "$work/results")
  if [ -z "$line" ]; then
    echo "| $key | skipped | | | |"
    continue
  fi
  read -r _ rps p50 p99 non2xx <<<"$line"
  echo "| $key | $rps | $(ms "$p50") | $(ms "$p99") | $non2xx |"
done
echo
echo "| ratio backend / peer (SQLite) | GET requests/s | POST requests/s | GET p99 (peer / backend) |"
echo "|---|---|---|---|"
echo "| | $(ratio "$(field backend-sqlite-get 2)" "$(field peer-sqlite-get 2)") | $(ratio "$(field backend-sqlite-post 2)" "$(field peer-sqlite-post 2)") | $(ratio "$(ms "$(field peer-sqlite-get 4)")" "$(ms "$(field backend-sqlite-get 4)")") |"
echo
echo "| server | start to /ready 200 | idle RSS (1 s after ready) |"
echo "|---|---|---|"
while read -r label ms_ready kib; do
  printf '| %s | %s ms | %s MiB |\n' "$label" "$ms_ready" "$(awk -v k="$kib" 'BEGIN {printf "%.1f", k/1024}')"
done <"$work/startup"
