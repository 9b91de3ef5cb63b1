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
#        BENCH_ROUNDS=N ...                        (N rounds of backend then peer, default 1; the
#                                                   ratio of each round compares two runs seconds apart)
#        BENCH_PIN=SERVER_CPUS:WRK_CPUS ...        (e.g. 0:1: every server under `taskset -c 0`,
#                                                   wrk under `taskset -c 1`; default: unpinned)
# Needs: wrk (apt-get install wrk), curl, python3 with venv; for PostgreSQL, TEST_DATABASE_URL
# and psql (without them the PostgreSQL rows say "skipped"). The peer is installed from PyPI into
# a virtualenv under the target dir (PEER_VENV to choose another place), never into the repository.
# The load runs on loopback only, bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/../../.."
duration=${1:-10s}
connections=32
threads=2
rounds=${BENCH_ROUNDS:-1}
server_pin=() wrk_pin=()
if [ -n "${BENCH_PIN:-}" ]; then
  case $BENCH_PIN in
    *:*) server_pin=(taskset -c "${BENCH_PIN%%:*}") wrk_pin=(taskset -c "${BENCH_PIN#*:}") ;;
    *) echo "error: BENCH_PIN=$BENCH_PIN is not SERVER_CPUS:WRK_CPUS" >&2; echo "help: e.g. BENCH_PIN=0:1" >&2; exit 1 ;;
  esac
fi
# One uvicorn worker per core the servers may use (the backend's runtime counts them the same way).
peer_workers=$("${server_pin[@]}" nproc)

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
  HOST=127.0.0.1 PORT=$port DATABASE_URL=$1 AGENT=rules RUST_LOG=warn "${server_pin[@]}" "$bin" 2>"$work/server.log" &
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
  PEER_DATABASE=$1 "${server_pin[@]}" "$venv/bin/uvicorn" app:app --app-dir "$peer_dir" --host 127.0.0.1 --port "$port" \
    --workers "$peer_workers" --log-level warning --no-access-log 2>"$work/server.log" &
  pid=$!
  wait_ready "http://127.0.0.1:$port/ready"
  ready_ms=$(( ($(now_ns) - t0) / 1000000 ))
  sleep 1
  rss_kib=$(tree_rss "$pid")
}

# stop SERVER: SIGTERM, then the exit status must be 0. A single uvicorn process (one worker)
# re-raises the signal once it has shut down cleanly, so for the peer 143 is clean too.
stop() {
  local rc=0
  kill -TERM "$pid"
  wait "$pid" || rc=$?
  if [ "$rc" != 0 ] && ! { [ "$1" = peer ] && [ "$rc" = 143 ]; }; then
    echo "error: server exited with $rc" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
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
  out=$("${wrk_pin[@]}" wrk -t"$threads" -c"$connections" -d"$duration" --latency ${script:+-s "$script"} "$url")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "$key $rps $p50 $p99 ${non2xx:-0} $(cut -d' ' -f1 /proc/loadavg)" >>"$work/results"
}

# run SERVER LABEL.ROUND TARGET: seed 100 tasks, load GET then POST, stop; records idle RSS.
run() {
  local server=$1 label=$2 target=$3
  "start_$server" "$target"
  seed
  load "${label%.*}-get.${label##*.}" "http://127.0.0.1:$port/api/bench/tasks"
  load "${label%.*}-post.${label##*.}" "http://127.0.0.1:$port/api/load/tasks" app/backend/bench/post.lua
  stop "$server"
  echo "$label $ready_ms $rss_kib" >>"$work/startup"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
touch "$work/results" "$work/startup"
# Backend and peer alternate, so each round's two runs see about the same machine.
for round in $(seq 1 "$rounds"); do
  run backend "backend-sqlite.$round" "sqlite://$work/backend-$round.db"
  [ -z "${BENCH_NO_PEER:-}" ] && run peer "peer-sqlite.$round" "$work/peer-$round.db"
done
if [ -n "${TEST_DATABASE_URL:-}" ] && command -v psql >/dev/null; then
  db="todo_bench_$$"
  psql -q "$TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
  run backend backend-postgres.1 "${TEST_DATABASE_URL%/*}/$db"
  psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE $db" >/dev/null
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

field() { awk -v k="$1" -v f="$2" '$1==k {print $f}' "$work/results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b == 0) print "-"; else printf "%.1fx", a/b }'; }
# ms converts wrk's 1.23ms / 456.00us / 1.20s to milliseconds.
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.2f", v/1000; else if (v ~ /ms$/) printf "%.2f", v+0; else if (v ~ /s$/) printf "%.0f", v*1000; else print "-" }'; }

echo "load average (1, 5, 15 min): before $load_before, after $load_after; $(nproc) cores${BENCH_PIN:+; servers on CPU ${BENCH_PIN%%:*}, wrk on CPU ${BENCH_PIN#*:}}"
echo
echo "| run ($connections connections, $threads wrk threads, $duration) | requests/s | p50 ms | p99 ms | non-2xx | load (1 min) at its end |"
echo "|---|---|---|---|---|---|"
# row KEY LABEL: the results line of KEY as a table row named LABEL, or "skipped".
row() {
  local line rps p50 p99 non2xx load1
  line=$(awk -v k="$1" '$1==k' "$work/results")
  if [ -z "$line" ]; then
    echo "| $2 | skipped | | | | |"
    return
  fi
  read -r _ rps p50 p99 non2xx load1 <<<"$line"
  echo "| $2 | $rps | $(ms "$p50") | $(ms "$p99") | $non2xx | $load1 |"
}
for round in $(seq 1 "$rounds"); do
  for key in backend-sqlite-get peer-sqlite-get backend-sqlite-post peer-sqlite-post; do
    row "$key.$round" "$key.$round"
  done
done
for key in backend-postgres-get backend-postgres-post; do
  row "$key.1" "$key"
done
echo
echo "| ratio backend / peer (SQLite) | GET requests/s | POST requests/s | GET p99 (peer / backend) |"
echo "|---|---|---|---|"
for round in $(seq 1 "$rounds"); do
  b=backend-sqlite-get.$round p=peer-sqlite-get.$round
  echo "| round $round | $(ratio "$(field "$b" 2)" "$(field "$p" 2)") | $(ratio "$(field backend-sqlite-post.$round 2)" "$(field peer-sqlite-post.$round 2)") | $(ratio "$(ms "$(field "$p" 4)")" "$(ms "$(field "$b" 4)")") |"
done
echo
echo "| server | start to /ready 200 | idle RSS (1 s after ready) |"
echo "|---|---|---|"
while read -r label ms_ready kib; do
  printf '| %s | %s ms | %s MiB |\n' "$label" "$ms_ready" "$(awk -v k="$kib" 'BEGIN {printf "%.1f", k/1024}')"
done <"$work/startup"
