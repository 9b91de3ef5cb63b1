#!/usr/bin/env bash
# Brings a plain Debian 12 machine (a CI container, say) to what the project's own machines have
# before .ci/run: PostgreSQL 15 server binaries, Node.js with npm, Python with pip, kubectl, git.
# Idempotent; .ci/run itself installs the rest (Docker, Chromium, helm, base images).
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15 postgresql-client-15)
command -v npm >/dev/null || need+=(nodejs npm)
command -v pip3 >/dev/null || need+=(python3-pip python3-venv)
command -v git >/dev/null || need+=(git)
command -v curl >/dev/null || need+=(curl ca-certificates)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
if ! command -v kubectl >/dev/null; then
  version=$(curl -fsSL https://dl.k8s.io/release/stable.txt)
  curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/${version}/bin/linux/amd64/kubectl"
  chmod +x /usr/local/bin/kubectl
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
