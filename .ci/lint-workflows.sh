#!/usr/bin/env bash
# Validates the GitHub Actions workflows against the workflow schema with action-validator
# (npm package @action-validator/cli), installed once into .ci/cache/.
set -euo pipefail
cd "$(dirname "$0")/.."
tool=.ci/cache/npm/node_modules/.bin/action-validator
if [ ! -x "$tool" ]; then
  mkdir -p .ci/cache/npm
  npm install --prefix .ci/cache/npm --silent --no-audit --no-fund \
    @action-validator/cli@0.6.0 @action-validator/core@0.6.0 >/dev/null
fi
status=0
for workflow in .github/workflows/*.yml; do
  if "$tool" "$workflow" >/dev/null 2>.ci/cache/action-validator.err; then
    echo "workflow ok: $workflow" >&2
  else
    echo "error: $workflow is not a valid GitHub Actions workflow:" >&2
    "$tool" "$workflow" >&2 || true
    status=1
  fi
done
exit "$status"
