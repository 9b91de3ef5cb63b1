#!/usr/bin/env bash
# Runs a command with the fake cluster tools instead of the real ones, for trying the xtask by
# hand or timing it:
#
#   bash xtask/tests/fakes/with-fakes.sh target/debug/xtask setup
#   bash xtask/tests/fakes/with-fakes.sh bash          # a shell with the fakes on PATH
#
# PATH holds only the fakes and the system programs they use, so nothing real is touched. The
# fakes' state and call log stay in $FAKE_STATE (default: a new temp dir, printed on stderr).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
cmd=$(command -v "$1") || { echo "error: \`$1\` not found" >&2; exit 2; }
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/xtask-fakes.XXXXXX")
export FAKE_STATE=${FAKE_STATE:-$work/state}
mkdir -p "$work/bin" "$FAKE_STATE"
for f in docker minikube kubectl helm; do ln -s "$here/$f" "$work/bin/$f"; done
for t in bash env cat mkdir rm cp ls basename dirname readlink sed grep tr cut head tail sha256sum touch sort wc; do
  ln -s "$(command -v "$t")" "$work/bin/$t"
done
echo "fakes: state and call log in $FAKE_STATE" >&2
PATH="$work/bin" exec "$cmd" "$@"
