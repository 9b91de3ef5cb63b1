#!/usr/bin/env bash
# Type-checks and lints the xtask (binary and every test target) for Windows and macOS from a Linux
# machine with clippy, so a Unix-only call outside `cfg(unix)` or an unused import in a
# `cfg(windows)` branch shows up before the hosted Windows/macOS jobs run. `cargo check` needs no
# linker, only the target's standard library (see .ci/cross-toolchain.sh for where it comes from).
#
# Usage: bash .ci/cross-check.sh [TARGET...]   (default: x86_64-pc-windows-msvc aarch64-apple-darwin)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/cross-toolchain.sh
source .ci/cross-toolchain.sh

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-pc-windows-msvc aarch64-apple-darwin)
target_args=()
for t in "${targets[@]}"; do target_args+=(--target "$t"); done
cross_toolchain "${targets[@]}"
# Warnings in the project's own code are errors, as with clippy -D warnings on the hosts.
export RUSTFLAGS="${RUSTFLAGS:-} -D warnings"
exec cargo "$cross_clippy" -p xtask --all-targets --locked --keep-going --target-dir target/cross \
  "${target_args[@]}" "${cross_args[@]}"
