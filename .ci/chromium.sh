#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the browser tests (/usr/bin/chromium,
# /usr/bin/chromedriver). Idempotent: does nothing when both are already there.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  echo "chromium.sh: $(chromium --version 2>/dev/null | head -n1), $(chromedriver --version | head -n1)" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
echo "chromium.sh: installed $(chromium --version 2>/dev/null | head -n1)" >&2
