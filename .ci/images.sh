#!/usr/bin/env bash
# Makes the base images when missing (.ci/base-images.sh), then builds the app images and the
# local PostgreSQL image, so that the image tests later find every layer in Docker's cache.
# .ci/run starts it in the background right after .ci/docker.sh: the release build in a container
# then overlaps the lint and test compiles instead of running inside a test.
# Idempotent: a second run is a fully cached build. Settings: IMAGE_TAG (default dev),
# IMAGES_LOG_DIR (default /tmp/todo-images; full build logs).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${IMAGE_TAG:-dev}
logs=${IMAGES_LOG_DIR:-/tmp/todo-images}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
t0=$(date +%s)
mkdir -p "$logs"

bash .ci/base-images.sh
echo "images: base images ready ($(( $(date +%s) - t0 ))s)" >&2

build() { # NAME LOG docker-build-arguments...
  local name=$1 log=$2
  shift 2
  if ! docker build "$@" >"$log" 2>&1; then
    tail -n 80 "$log" >&2
    echo "error: docker build of $name failed (full log: $log)" >&2
    exit 1
  fi
  echo "images: built $name ($(( $(date +%s) - t0 ))s, $(docker image inspect --format '{{.Size}}' "$name" | awk '{printf "%.1f MB", $1/1e6}'))" >&2
}

# The PostgreSQL image mostly waits on apt's downloads: build it beside the app images.
build todo-postgres:15 "$logs/postgres.log" -t todo-postgres:15 deploy/docker/postgres &
postgres_pid=$!
# Release profile (what ships and what the size gates measure). The backend first: the frontend
# build then finds the dependency layer and, with the classic builder, the backend stage cached.
for target in backend frontend; do
  build "todo-$target:$tag" "$logs/$target.log" -f deploy/docker/Dockerfile --target "$target" \
    --build-arg VERSION="$tag" --build-arg REVISION="$revision" -t "todo-$target:$tag" .
done
wait "$postgres_pid"
