#!/usr/bin/env bash
# Measures the image builds of deploy/docker/Dockerfile with the engine at hand, in one run, for
# each Cargo profile (default: iter, then release):
#   1. a cold build of the backend image, then of the frontend image (Docker's layer cache unused
#      for the backend; the frontend reuses the dependency layer the backend build just made);
#   2. a one-line change to app/backend/src/main.rs, backend image rebuilt;
#   3. a one-line change to app/frontend/src/main.rs, frontend image rebuilt;
# then the size of every image and the request rate of every backend image (wrk, 2 threads,
# 32 connections, GET /api/bench/tasks listing 100 tasks on SQLite in a tmpfs, host network,
# 127.0.0.1 only; the profiles take turns, two rounds each).
# Every figure is printed as a Markdown table row with the 1-minute load average when it ended.
#
# Usage: deploy/docker/bench.sh [PROFILE...]
# Settings: BENCH_LOAD_SECS (default 10, per wrk run), BENCH_LOG_DIR (default /tmp/todo-bench;
# the full build logs), BENCH_BUILDKIT=1 (build deploy/docker/buildkit.Dockerfile with BuildKit;
# its cache mounts outlive --no-cache, so its "cold" row is cold for layers only).
# Needs: a Docker daemon with the base images (.ci/docker.sh, .ci/base-images.sh), git, curl, wrk.
# Builds in a temporary copy of the tracked files, so the working tree is never edited; the images
# are tagged todo-backend:bench-PROFILE and todo-frontend:bench-PROFILE and left for inspection.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
profiles=("$@")
[ ${#profiles[@]} -gt 0 ] || profiles=(iter release)
secs=${BENCH_LOAD_SECS:-10}
logs=${BENCH_LOG_DIR:-/tmp/todo-bench}
dockerfile=deploy/docker/Dockerfile
engine=classic
if [ "${BENCH_BUILDKIT:-}" = 1 ]; then
  dockerfile=deploy/docker/buildkit.Dockerfile
  engine=BuildKit
  export DOCKER_BUILDKIT=1
fi

for tool in docker git curl wrk; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool not found" >&2
    echo "help: apt-get install -y curl wrk git (docker: bash .ci/docker.sh)" >&2
    exit 1
  }
done
docker info >/dev/null 2>&1 || {
  echo "error: the Docker daemon does not answer" >&2
  echo "help: run \`bash .ci/docker.sh\` and \`bash .ci/base-images.sh\` first" >&2
  exit 1
}

mkdir -p "$logs"
work=$(mktemp -d)
container=
cleanup() {
  [ -n "$container" ] && docker rm --force "$container" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# The files git knows (tracked, and new ones not ignored): the same tree a fresh clone builds.
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -C "$work" -xf -

load1() { cut -d' ' -f1 /proc/loadavg; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }

# build LABEL PROFILE TARGET [docker build flags...]: one timed build in the copy.
build() {
  local label=$1 profile=$2 target=$3 log t0 t1
  shift 3
  log="$logs/$profile-$target-${label// /-}.log"
  t0=$(date +%s.%N)
  if ! (cd "$work" && docker build "$@" -f "$dockerfile" --target "$target" \
    --build-arg PROFILE="$profile" -t "todo-$target:bench-$profile" . >"$log" 2>&1); then
    tail -n 40 "$log" >&2
    echo "error: docker build ($label, $profile, $target) failed; full log: $log" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  row "$label" "$profile" "$target" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f s", b - a}')" "$(load1)"
}

edit() { printf '\n// bench edit %s\n' "$(date +%s%N)" >>"$work/$1"; }

echo "engine: $engine ($(docker version --format '{{.Server.Version}}')), $(nproc) cores, $dockerfile"
echo
row "build" "profile" "image" "wall clock" "load average (1 min) at the end"
row "---" "---" "---" "---" "---"
for profile in "${profiles[@]}"; do
  build "cold" "$profile" backend --no-cache
  build "cold, after the backend" "$profile" frontend
  edit app/backend/src/main.rs
  build "one-line backend change" "$profile" backend
  edit app/frontend/src/main.rs
  build "one-line frontend change" "$profile" frontend
done

echo
row "image" "profile" "size" "binary" ""
row "---" "---" "---" "---" "---"
for profile in "${profiles[@]}"; do
  for target in backend frontend; do
    image="todo-$target:bench-$profile"
    size=$(docker image inspect --format '{{.Size}}' "$image")
    # The last layer is the COPY of the binary.
    binary=$(docker history --no-trunc --format '{{.Size}}\t{{.CreatedBy}}' "$image" |
      awk -F'\t' '/COPY file:/ {print $1; exit}')
    row "$image" "$profile" "$(awk -v s="$size" 'BEGIN {printf "%.1f MB", s / 1e6}')" "${binary:-?}" ""
  done
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# rate PROFILE ROUND: starts the backend image on the host network, adds 100 tasks, one wrk run.
rate() {
  local profile=$1 round=$2 port out rps p99
  port=$(free_port)
  container=todo-bench-$$-$profile
  docker run -d --rm --name "$container" --network host --read-only \
    --tmpfs /data:uid=65532,gid=65532 -e HOST=127.0.0.1 -e PORT="$port" -e AGENT=rules \
    -e RUST_LOG=warn "todo-backend:bench-$profile" >/dev/null
  local tries=0
  until curl -fs -o /dev/null "http://127.0.0.1:$port/ready"; do
    tries=$((tries + 1))
    [ "$tries" -lt 500 ] || { docker logs "$container" >&2; echo "error: the $profile backend never got ready" >&2; exit 1; }
    sleep 0.02
  done
  for i in $(seq 1 100); do
    curl -sf -o /dev/null -H 'content-type: application/json' \
      -d "{\"title\":\"task $i\"}" "http://127.0.0.1:$port/api/bench/tasks"
  done
  out=$(wrk -t2 -c32 -d"${secs}s" --latency "http://127.0.0.1:$port/api/bench/tasks")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  docker rm --force "$container" >/dev/null
  container=
  row "GET 100 tasks, round $round" "$profile" "$rps req/s" "p99 $p99" "$(load1)"
}

echo
row "backend load (${secs} s, 32 connections)" "profile" "requests/s" "p99" "load average (1 min) at the end"
row "---" "---" "---" "---" "---"
for round in 1 2; do
  for profile in "${profiles[@]}"; do rate "$profile" "$round"; done
done
