#!/usr/bin/env bash
# The xtask's Windows build, run on this Linux machine under Wine: its unit tests (the Windows
# branches: the job object that stops a process with everything it started, `.exe` lookup, paths)
# and the CLI tests that need no fake tool (tests/portable.rs). The CLI tests against the bash
# fakes cannot run here: Wine does not hand back the exit code of a Linux program it starts. The
# hosted Windows job runs those with Git for Windows' bash.
#
#   bash .ci/wine.sh install   apt packages: wine64 and the mingw-w64 linker (idempotent)
#   bash .ci/wine.sh           build for x86_64-pc-windows-gnu (see .ci/cross-toolchain.sh for
#                              the standard library) and run the tests under Wine
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = install ]; then
  need=()
  command -v wine >/dev/null || need+=(wine wine64)
  command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
  if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  exit 0
fi

for tool in wine x86_64-w64-mingw32-gcc; do
  command -v "$tool" >/dev/null || {
    echo "error: \`$tool\` not found" >&2
    echo "help: run \`bash .ci/wine.sh install\`" >&2
    exit 2
  }
done
# shellcheck source=.ci/cross-toolchain.sh
source .ci/cross-toolchain.sh
target=x86_64-pc-windows-gnu
cross_toolchain "$target"
unset RUSTC_WORKSPACE_WRAPPER # building, not linting
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
export WINEPREFIX=$PWD/target/wine/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="

if [ ! -f "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ]; then
  echo "wine: a new prefix in $WINEPREFIX" >&2
  mkdir -p "$WINEPREFIX"
  wineboot --init >/dev/null 2>&1 || wine wineboot --init >/dev/null 2>&1
  wineserver --wait || true
  x86_64-w64-mingw32-gcc -shared -O2 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
    .ci/wine/bcryptprimitives.c -ladvapi32
fi

# Wine's watch of a folder tree reports changes only one level deep, so the watch test that
# edits app/backend/src/main.rs cannot pass under it; the hosted Windows job runs it.
cargo test -p xtask --bin xtask --test portable --locked --target "$target" \
  --target-dir target/wine "${cross_args[@]}" -- \
  --skip stages::dev::watch::tests::a_burst_of_saves_is_one_batch
