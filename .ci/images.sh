#!/usr/bin/env bash
# Makes the base images when missing (.ci/base-images.sh), then builds the app images and the
# local PostgreSQL image, so that the image tests later find every layer in Docker's cache.
# .ci/run starts it in the background right after .ci/docker.sh: the release build in a container
# then overlaps the lint and test compiles instead of running inside a test.
# Idempotent: a second run is a fully cached build. Settings: IMAGE_TAG (default dev).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${IMAGE_TAG:-dev}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
t0=$(date +%s)

bash .ci/base-images.sh
for target in backend frontend; do
  docker build --quiet -f deploy/docker/Dockerfile --target "$target" \
    --build-arg VERSION="$tag" --build-arg REVISION="$revision" -t "todo-$target:$tag" . >/dev/null
  echo "images: built todo-$target:$tag ($(( $(date +%s) - t0 ))s)" >&2
done
docker build --quiet -t todo-postgres:15 deploy/docker/postgres >/dev/null
echo "images: built todo-postgres:15 ($(( $(date +%s) - t0 ))s)" >&2
