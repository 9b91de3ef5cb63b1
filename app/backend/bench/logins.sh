#!/usr/bin/env bash
# Probes a backend binary the way a hostile client would log in: resident memory under two waves
# of 150 parallel wrong-password logins, then the median login time (61 interleaved samples) for a
# registered email with a wrong password and for an unknown email. SQLite in a temporary
# directory, auth on, failed-login limits off (so every login reaches the password hash).
#
# Usage: app/backend/bench/logins.sh [BINARY] [PORT]
#        (default target/debug/todo-backend, built first; port 18100)
# Needs: curl, xargs; Linux (/proc). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../../.."
if [ -z "${1:-}" ]; then
  cargo build -q -p todo-backend >&2
fi
bin=${1:-${CARGO_TARGET_DIR:-target}/debug/todo-backend}
port=${2:-18100}
for tool in curl xargs; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; echo "help: apt-get install -y curl findutils" >&2; exit 1; }
done
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

AUTH_SECRET=bench-secret-of-enough-length DATABASE_URL="sqlite://$work/todo.db" PORT=$port \
  HOST=127.0.0.1 LOGIN_FAILURES_PER_ACCOUNT=0 LOGIN_FAILURES_PER_ADDRESS=0 RUST_LOG=warn \
  "$bin" >/dev/null 2>&1 &
pid=$!
url=http://127.0.0.1:$port
until curl -fs "$url/health" >/dev/null; do sleep 0.1; done
login() {
  curl -s -o /dev/null -w "$2" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"wrong horse\"}" "$url/auth/login"
}
export -f login
export url
mib() { awk -v f="$1" '$1 == f { printf "%.1f MiB", $2 / 1024 }' "/proc/$pid/status"; }

curl -s -o /dev/null -H 'content-type: application/json' \
  -d '{"email":"known@example.com","password":"correct horse"}' "$url/auth/signup"
echo "RSS after one sign-up: $(mib VmRSS:)"
for wave in 1 2; do
  statuses=$(seq 150 | xargs -P 150 -I{} bash -c 'login known@example.com "%{http_code}\n"' | sort | uniq -c | tr -s ' \n' ' ')
  echo "wave $wave of 150 parallel logins: answers${statuses}; RSS $(mib VmRSS:), peak $(mib VmHWM:)"
done

for _ in $(seq 61); do
  login known@example.com "known %{time_total}\n"
  login nobody@example.com "unknown %{time_total}\n"
done >"$work/times"
for kind in known unknown; do
  echo "median login, $kind email: $(awk -v k=$kind '$1 == k { print $2 }' "$work/times" | sort -n | sed -n 31p) s"
done
