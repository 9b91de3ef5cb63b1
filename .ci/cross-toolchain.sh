# shellcheck shell=bash
# Sourced by .ci/cross-check.sh and .ci/windows.sh: makes `cargo` able to compile the xtask for
# other targets on this Linux machine, with the first of these that works:
#
#   1. rustup with the targets installed (`rustup target add ...`): plain `cargo --target`.
#   2. rustup's rust-src component (`rustup component add rust-src`): the standard library is
#      built from source for the target (`-Zbuild-std`, allowed on stable by RUSTC_BOOTSTRAP=1).
#   3. Debian 12 (bookworm-security): Debian's `rustc-web` compiler, its clippy and
#      `rust-web-src`, the library source of the same release, downloaded with `apt-get download`
#      and unpacked into a cache folder (nothing is installed); then as 2 with that compiler. Its
#      version may be newer than the project's rustup toolchain (a newer clippy may know more
#      lints). The first download is about 150 MB.
#
# Usage: cross_toolchain TARGET...  Sets `cross_args` (extra cargo arguments) and `cross_clippy`
# (the cargo subcommand that lints: `clippy`, or `check` with Debian's clippy-driver as the
# workspace wrapper), and exports what the compiler needs.

cross_toolchain() {
  local targets=("$@") installed="" missing=0 t
  cross_args=()
  cross_clippy=clippy
  if command -v rustup >/dev/null; then
    installed=$(rustup target list --installed 2>/dev/null || true)
  fi
  for t in "${targets[@]}"; do grep -qx "$t" <<<"$installed" || missing=1; done
  if [ "$missing" = 0 ]; then
    echo "cross: rustup's standard libraries for ${targets[*]}" >&2
    return 0
  fi
  cross_args=(-Zbuild-std=std,panic_abort)
  export RUSTC_BOOTSTRAP=1
  if [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
    echo "cross: the standard library built from rustup's rust-src ($(rustc --version))" >&2
    return 0
  fi

  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || {
    echo "error: no standard library for ${targets[*]} on this machine" >&2
    echo "help: run \`rustup target add ${targets[*]}\` (or \`rustup component add rust-src\`), or run this on Debian 12" >&2
    return 2
  }
  local cache=${XDG_CACHE_HOME:-$HOME/.cache}/todo-chatbot/cross-rust
  local root=$cache/root deb libs
  if [ ! -x "$root/usr/bin/rustc" ] || [ ! -x "$root/usr/bin/clippy-driver" ] ||
    [ ! -d "$root/usr/lib/rustlib/src/rust/library" ]; then
    echo "cross: downloading Debian's rustc-web and rust-web-src into $cache" >&2
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
  cross_clippy=check
  echo "cross: the standard library built from Debian's rust-web-src ($("$RUSTC" --version))" >&2
}
