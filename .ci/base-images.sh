#!/usr/bin/env bash
# Makes, on a machine without a container registry, the base images that deploy/docker/Dockerfile and
# deploy/docker/*.Dockerfile name in their ARG defaults, under exactly those names, and only when an
# image of that name is missing:
#   debian:bookworm-slim                    Debian minbase root file system (debootstrap)
#   rust:1.95-slim-bookworm                 the same plus gcc/libc6-dev and the host's Rust toolchain
#   gcr.io/distroless/static-debian12:nonroot
#                                           no shared library at all: CA certificates, time zones,
#                                           /etc/passwd with a `nonroot` user 65532, nsswitch.conf and
#                                           /tmp (the app binaries are linked statically)
# Where a registry is reachable, `docker pull` of the real images does the same job.
# The CA bundle of this machine ($SSL_CERT_FILE) goes into these local images so that builds inside
# them trust the machine's HTTPS proxy; the project's Dockerfiles never add it.
# Needs a running daemon (.ci/docker.sh). Settings: BASE_IMAGES_WORK (default /tmp/todo-base-images),
# DEBIAN_MIRROR (default: the first URIs: of the machine's Debian apt sources).
set -euo pipefail

debian_image=debian:bookworm-slim
rust_image=rust:1.95-slim-bookworm
runtime_image=gcr.io/distroless/static-debian12:nonroot
suite=bookworm
work=${BASE_IMAGES_WORK:-/tmp/todo-base-images}
ca_bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}

have() { docker image inspect "$1" >/dev/null 2>&1; }
say() { echo "base-images: $*" >&2; }

if ! docker info >/dev/null 2>&1; then
  echo "error: the Docker daemon does not answer" >&2
  echo "help: run \`bash .ci/docker.sh\` first" >&2
  exit 1
fi

if have "$debian_image" && have "$rust_image" && have "$runtime_image"; then
  say "all present ($debian_image, $rust_image, $runtime_image)"
  exit 0
fi

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
mkdir -p "$work"
cache="$work/debs"
mkdir -p "$cache"

# apt lists are needed for `apt-get download` and debootstrap's dependencies; fetch them once.
apt_ready() { apt-cache policy libc6 2>/dev/null | grep -q 'Candidate: [0-9]'; }
if ! command -v debootstrap >/dev/null 2>&1 || ! apt_ready; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  command -v debootstrap >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

add_ca() {
  mkdir -p "$1/etc/ssl/certs"
  cp "$ca_bundle" "$1/etc/ssl/certs/ca-certificates.crt"
}

# Trims what a container never uses: documentation, man pages, apt lists and caches.
trim() {
  rm -rf "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/* \
    "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*
}

bootstrap() { # DIR [--include=...]
  local dir=$1
  shift
  rm -rf "$dir"
  debootstrap --variant=minbase --cache-dir="$cache" "$@" "$suite" "$dir" "$mirror" >"$dir.log" 2>&1 || {
    tail -n 30 "$dir.log" >&2
    echo "error: debootstrap of $dir failed" >&2
    echo "help: check the mirror ($mirror) or set DEBIAN_MIRROR" >&2
    exit 1
  }
}

make_debian() {
  local dir="$work/debian"
  bootstrap "$dir"
  add_ca "$dir"
  trim "$dir"
  tar -C "$dir" -c . | docker import -c 'CMD ["bash"]' - "$debian_image" >/dev/null
  rm -rf "$dir"
  say "made $debian_image"
}

make_rust() {
  local dir="$work/rust" sysroot
  sysroot=$(rustc --print sysroot)
  bootstrap "$dir" --include=gcc,libc6-dev,ca-certificates,pkg-config
  add_ca "$dir"
  trim "$dir"
  # The toolchain is relocatable: its bin/ and lib/ work from /usr/local. Docs stay behind.
  cp -a "$sysroot/bin/." "$dir/usr/local/bin/"
  cp -a "$sysroot/lib/." "$dir/usr/local/lib/"
  mkdir -p "$dir/usr/local/cargo"
  tar -C "$dir" -c . | docker import \
    -c 'ENV PATH=/usr/local/cargo/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV CARGO_HOME=/usr/local/cargo' \
    -c 'CMD ["bash"]' - "$rust_image" >/dev/null
  rm -rf "$dir"
  say "made $rust_image ($(rustc --version))"
}

make_runtime() {
  local dir="$work/runtime" debs="$work/runtime-debs" deb pkg
  rm -rf "$dir" "$debs"
  mkdir -p "$dir" "$debs"
  # apt fetches as the unprivileged _apt user where it can write.
  id _apt >/dev/null 2>&1 && chown _apt "$debs"
  # Retried: another CI script may be running `apt-get update` at the same moment.
  local try
  for try in 1 2 3; do
    (cd "$debs" && apt-get download -qq ca-certificates tzdata netbase base-files >/dev/null) && break
    [ "$try" = 3 ] && { echo "error: apt-get download of the runtime packages failed" >&2; exit 1; }
    sleep 5
  done
  mkdir -p "$dir/var/lib/dpkg/status.d"
  for deb in "$debs"/*.deb; do
    dpkg-deb -x "$deb" "$dir"
    pkg=$(dpkg-deb -f "$deb" Package)
    # Package records in the place distroless keeps them, so image scanners can list the contents.
    dpkg-deb -f "$deb" >"$dir/var/lib/dpkg/status.d/$pkg"
  done
  add_ca "$dir"
  trim "$dir"
  # The CA bundle is in place (add_ca); the single certificates and the script that joins them are
  # not used at run time.
  rm -rf "$dir"/usr/share/locale "$dir"/usr/share/lintian "$dir"/usr/share/common-licenses \
    "$dir"/usr/share/ca-certificates "$dir"/usr/sbin/update-ca-certificates
  # glibc's built-in lookups: /etc/hosts first, then DNS (as in the distroless images).
  printf 'hosts: files dns\nnetworks: files\n' >"$dir/etc/nsswitch.conf"
  mkdir -p "$dir/tmp" "$dir/home/nonroot" "$dir/root"
  chmod 1777 "$dir/tmp"
  chmod 700 "$dir/root"
  chown 65532:65532 "$dir/home/nonroot"
  cat >"$dir/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
  cat >"$dir/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
GROUP
  tar -C "$dir" --numeric-owner -c . | docker import \
    -c 'USER 65532:65532' -c 'WORKDIR /home/nonroot' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    - "$runtime_image" >/dev/null
  rm -rf "$dir" "$debs"
  say "made $runtime_image"
}

# The three are independent; the runtime is quick, the two debootstraps mostly wait on the network.
pids=()
have "$runtime_image" || { make_runtime & pids+=($!); }
have "$debian_image" || { make_debian & pids+=($!); }
have "$rust_image" || { make_rust & pids+=($!); }
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ "$status" = 0 ] || { echo "error: a base image could not be made" >&2; exit 1; }
say "ready: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'bookworm|distroless' | tr '\n' ' ')"
