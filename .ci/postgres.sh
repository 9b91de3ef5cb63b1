# shellcheck shell=bash
# Starts a throw-away PostgreSQL 15 server for the tests and exports TEST_DATABASE_URL.
# Use it with `source .ci/postgres.sh`; running it again reuses the server it started.
# Settings: PGTEST_PORT (default 55432), PGTEST_DIR (default /tmp/todo-pgtest).
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
pg_port=${PGTEST_PORT:-55432}
pg_dir=${PGTEST_DIR:-/tmp/todo-pgtest}
pg_user=pgtest

if [ ! -x "$pg_bin/initdb" ]; then
  echo "error: PostgreSQL server binaries not found in $pg_bin" >&2
  echo "help: apt-get install -y postgresql-15, or set PG_BIN" >&2
  return 1 2>/dev/null || exit 1
fi

# initdb refuses to run as root: run the server as a dedicated user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    id "$pg_user" >/dev/null 2>&1 || useradd --system --create-home "$pg_user"
    runuser -u "$pg_user" -- "$@"
  else
    "$@"
  fi
}

if [ "$(id -u)" = 0 ]; then
  id "$pg_user" >/dev/null 2>&1 || useradd --system --create-home "$pg_user"
  mkdir -p "$pg_dir" && chown "$pg_user" "$pg_dir"
else
  mkdir -p "$pg_dir"
fi

if [ ! -f "$pg_dir/data/PG_VERSION" ]; then
  as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust >"$pg_dir/initdb.log" 2>&1 || {
    cat "$pg_dir/initdb.log" >&2
    return 1 2>/dev/null || exit 1
  }
fi

if ! as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" status >/dev/null 2>&1; then
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null || {
    cat "$pg_dir/server.log" >&2
    return 1 2>/dev/null || exit 1
  }
fi

export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "postgres: ready at $TEST_DATABASE_URL" >&2
