# shellcheck shell=bash
# Shared by the fake cluster tools. Each fake answers in the real tool's formats and exit codes
# (see shared reference tool-formats.md), keeps its state under $FAKE_STATE, and appends one line
# per call to $FAKE_STATE/calls.log:
#
#   <tool> TAB <M|R> TAB <pipe|none> TAB <argv joined by spaces>
#
# M marks a call that would change something (start, enable, build, load, use-context, apply...),
# R a read-only one; pipe means stdin was a pipe (what was sent is appended to stdin.log).
# The working directory of each call goes to $FAKE_STATE/cwd.log (<tool> TAB <dir>).
# A test makes a call fail by writing $FAKE_STATE/fail/<tool>-<subcommand>: the first line is
# the exit code, the rest goes to stderr.
#
# CRLF mode: with FAKE_CRLF=1 in the environment, or a file $FAKE_STATE/crlf, every line a fake
# prints on stdout or stderr ends with CRLF, as the tools' output reads on Windows.
set -u
STATE=${FAKE_STATE:?FAKE_STATE must point at the fake tools state directory}
TOOL=$(basename "$0")
mkdir -p "$STATE"

# to_crlf: copies stdin to stdout with every LF line end turned into CRLF, a line at a time
# (a ready line reaches the reader at once); a last line without a line end stays without one.
to_crlf() {
  local line
  while IFS= read -r line; do
    printf '%s\r\n' "$line"
  done
  if [ -n "$line" ]; then printf '%s' "$line"; fi
}

if [ -n "${FAKE_CRLF:-}" ] || [ -f "$STATE/crlf" ]; then
  exec > >(to_crlf) 2> >(to_crlf >&2)
fi

# log_call MODE ARGS...
log_call() {
  local mode=$1 stdin=none
  shift
  if [ -p /dev/stdin ]; then
    stdin=pipe
    # A copy the fake can read after logging (kubectl apply -f -).
    STDIN_COPY="$STATE/stdin.$$"
    trap 'rm -f "$STDIN_COPY"' EXIT
    cat >"$STDIN_COPY"
    { printf '%s %s:\n' "$TOOL" "$*"; cat "$STDIN_COPY"; printf '\n'; } >>"$STATE/stdin.log"
  fi
  printf '%s\t%s\t%s\t%s\n' "$TOOL" "$mode" "$stdin" "$*" >>"$STATE/calls.log"
  printf '%s\t%s\n' "$TOOL" "$(here)" >>"$STATE/cwd.log"
}

# here: the working directory as the xtask names it: bash on Windows (Git for Windows) says
# /c/Users/... where the xtask says C:\Users\..., and `pwd -W` gives C:/Users/...; elsewhere
# `pwd -W` is refused and $PWD is the answer.
here() {
  pwd -W 2>/dev/null || printf '%s\n' "$PWD"
}

# maybe_fail KEY: fail as configured by the test.
maybe_fail() {
  local f="$STATE/fail/$1"
  if [ -f "$f" ]; then
    local code
    code=$(head -n 1 "$f")
    tail -n +2 "$f" >&2
    exit "$code"
  fi
}

# json_escape TEXT
json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '%s' "$s"
}
