#!/usr/bin/env bash
# Installs the Docker Engine from Debian's docker.io package (and debootstrap, which
# .ci/base-images.sh uses), starts dockerd in the background when it is not running, and waits
# until `docker info` answers. Idempotent: a second run only checks.
# Settings: DOCKERD_LOG (default /tmp/todo-dockerd.log), DOCKER_WAIT_SECS (default 60).
set -euo pipefail

log=${DOCKERD_LOG:-/tmp/todo-dockerd.log}
wait_secs=${DOCKER_WAIT_SECS:-60}

if docker info >/dev/null 2>&1; then
  echo "docker: daemon already answers ($(docker info --format '{{.ServerVersion}}'))" >&2
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "error: the Docker daemon does not answer and installing it needs root" >&2
  echo "help: run \`sudo bash .ci/docker.sh\`, or start dockerd yourself" >&2
  exit 1
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  echo "docker: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker: starting dockerd (log: $log)" >&2
  # setsid detaches the daemon from this shell's process group, so it outlives the script.
  setsid nohup dockerd >"$log" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$wait_secs"); do
  if docker info >/dev/null 2>&1; then
    echo "docker: daemon ready ($(docker info --format '{{.ServerVersion}} {{.Driver}}'))" >&2
    exit 0
  fi
  sleep 1
done
echo "error: dockerd did not answer within ${wait_secs}s" >&2
echo "help: see $log" >&2
tail -n 20 "$log" >&2 || true
exit 1
