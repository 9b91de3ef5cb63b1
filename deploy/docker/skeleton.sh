#!/bin/sh
# Reduces a Cargo workspace to what resolving and compiling its dependencies needs: every
# Cargo.toml, Cargo.lock, .cargo/config.toml, and an empty stub for each library, main binary and
# explicitly declared target ([[bin]], [[test]], [[bench]], [[example]], [lib] path). Targets cargo
# discovers by itself (a new file under tests/ or benches/) are left out, so adding one does not
# change the skeleton and Docker keeps the compiled dependency layer.
# Usage: skeleton.sh SOURCE_DIR DEST_DIR (used by deploy/docker/Dockerfile).
set -eu
src=$1
dest=$2
mkdir -p "$dest"
cd "$src"

stub() {
  mkdir -p "$dest/$(dirname "$1")"
  case "$1" in
    */lib.rs) : >"$dest/$1" ;;
    *) echo 'fn main() {}' >"$dest/$1" ;;
  esac
}

[ -f Cargo.lock ] && cp Cargo.lock "$dest/"
if [ -f .cargo/config.toml ]; then
  mkdir -p "$dest/.cargo"
  cp .cargo/config.toml "$dest/.cargo/"
fi

find . -name 'target*' -prune -o -name Cargo.toml -type f -print | sort | while read -r manifest; do
  dir=$(dirname "$manifest")
  mkdir -p "$dest/$dir"
  cp "$manifest" "$dest/$manifest"
  for f in src/lib.rs src/main.rs build.rs; do
    if [ -f "$dir/$f" ]; then stub "$dir/$f"; fi
  done
  # One line per declared target: KIND NAME PATH ("-" when not given).
  awk '
    function flush() { if (kind != "") print kind, (name == "" ? "-" : name), (path == "" ? "-" : path); kind = "" }
    function value(line) { sub(/^[^=]*=[ \t]*["\047]/, "", line); sub(/["\047].*$/, "", line); return line }
    /^[ \t]*\[\[(bin|test|bench|example)\]\]/ { flush(); kind = $0; gsub(/[][ \t]/, "", kind); name = ""; path = ""; next }
    /^[ \t]*\[lib\]/ { flush(); kind = "lib"; name = ""; path = ""; next }
    /^[ \t]*\[/ { flush(); next }
    kind != "" && /^[ \t]*name[ \t]*=/ { name = value($0) }
    kind != "" && /^[ \t]*path[ \t]*=/ { path = value($0) }
    END { flush() }
  ' "$manifest" | while read -r kind name path; do
    if [ "$path" = "-" ]; then
      case "$kind" in
        lib) continue ;;
        bin) base=src/bin ;;
        test) base=tests ;;
        bench) base=benches ;;
        example) base=examples ;;
        *) continue ;;
      esac
      if [ -f "$dir/$base/$name/main.rs" ]; then path=$base/$name/main.rs; else path=$base/$name.rs; fi
    fi
    stub "$dir/$path"
  done
done
