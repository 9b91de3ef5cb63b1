#!/usr/bin/env bash
# The shells the completion tests load the scripts in: zsh, fish, and bash-completion (the loader
# cargo's own bash completion needs). Idempotent.
set -euo pipefail
need=()
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
[ -r /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
