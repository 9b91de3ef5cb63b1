#!/usr/bin/env bash
# Type-checks and lints the xtask (binary and every test target) for Windows and macOS from a Linux
# machine with clippy, so a Unix-only call outside `cfg(unix)` or an unused import in a
# `cfg(windows)` branch shows up before the hosted Windows/macOS jobs run. `cargo check` needs no linker, only the target's
# standard library, found in the first of these that works:
#
#   1. rustup with the targets installed (`rustup target add ...`): plain `cargo clippy --target`.
#   2. rustup's rust-src component (`rustup component add rust-src`): the standard library is
#      built from source for the target (`-Zbuild-std`, allowed on stable by RUSTC_BOOTSTRAP=1).
#   3. Debian 12 (bookworm-security): Debian's `rustc-web` compiler, its clippy and
#      `rust-web-src`, the library source of the same release, downloaded with `apt-get download`
#      and unpacked into a cache folder (nothing is installed); then as 2 with that compiler. Its
#      version may be newer than the project's rustup toolchain (a newer clippy may know more
#      lints).
#
# Usage: bash .ci/cross-check.sh [TARGET...]   (default: x86_64-pc-windows-msvc aarch64-apple-darwin)
# Not part of .ci/run: way 3 downloads about 150 MB and the first run takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-pc-windows-msvc aarch64-apple-darwin)
target_args=()
for t in "${targets[@]}"; do target_args+=(--target "$t"); done
# Warnings in the project's own code are errors, as with clippy -D warnings on the hosts.
export RUSTFLAGS="${RUSTFLAGS:-} -D warnings"
args=(-p xtask --all-targets --locked --keep-going --target-dir target/cross "${target_args[@]}")

installed=""
if command -v rustup >/dev/null; then
  installed=$(rustup target list --installed 2>/dev/null || true)
fi
missing=0
for t in "${targets[@]}"; do grep -qx "$t" <<<"$installed" || missing=1; done
if [ "$missing" = 0 ]; then
  echo "cross-check: rustup's standard libraries for ${targets[*]}" >&2
  exec cargo clippy "${args[@]}"
fi

build_std=(-Zbuild-std=std,panic_abort)
if [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  echo "cross-check: the standard library built from rustup's rust-src ($(rustc --version))" >&2
  RUSTC_BOOTSTRAP=1 exec cargo clippy "${args[@]}" "${build_std[@]}"
fi

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || {
  echo "error: no standard library for ${targets[*]} on this machine" >&2
  echo "help: run \`rustup target add ${targets[*]}\` (or \`rustup component add rust-src\`), or run this on Debian 12" >&2
  exit 2
}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/todo-chatbot/cross-rust
root=$cache/root
if [ ! -x "$root/usr/bin/rustc" ] || [ ! -x "$root/usr/bin/clippy-driver" ] ||
  [ ! -d "$root/usr/lib/rustlib/src/rust/library" ]; then
  echo "cross-check: downloading Debian's rustc-web and rust-web-src into $cache" >&2
  rm -rf "$cache/debs"
  mkdir -p "$cache/debs" "$root"
  (
    cd "$cache/debs"
    apt-get download rustc-web rust-web-clippy rust-web-src libstd-rust-web-dev >/dev/null
    std=$(dpkg-deb -f libstd-rust-web-dev_*.deb Depends | grep -o 'libstd-rust-web-[0-9.]*' | head -n 1)
    apt-get download "$std" >/dev/null
    llvm=$(dpkg-deb -f "$std"_*.deb Depends | grep -o 'libllvm[0-9]*' | head -n 1)
    apt-get download "$llvm" >/dev/null
  )
  for deb in "$cache"/debs/*.deb; do
    case $deb in
      # The whole compiler's source: only the standard library and its rustlib link are needed.
      */rust-web-src_*)
        dpkg-deb --fsys-tarfile "$deb" |
          tar -x -C "$root" --wildcards './usr/lib/rustlib/src*' './usr/src/rustc-*/library*' ;;
      *) dpkg-deb -x "$deb" "$root" ;;
    esac
  done
fi
libs=$(find "$root/usr/lib" -maxdepth 3 -name 'librustc_driver-*.so' -printf '%h\n' -o -name 'libLLVM*.so*' -printf '%h\n' | sort -u | paste -sd:)
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export RUSTC="$root/usr/bin/rustc"
# What `cargo clippy` does, with Debian's clippy-driver (rustup's belongs to another compiler).
export RUSTC_WORKSPACE_WRAPPER="$root/usr/bin/clippy-driver"
echo "cross-check: the standard library built from Debian's rust-web-src ($("$RUSTC" --version))" >&2
RUSTC_BOOTSTRAP=1 exec cargo check "${args[@]}" "${build_std[@]}"
