#!/usr/bin/env bash
# Initialises $PGDATA on first start the way the official postgres image does, then runs the server.
# Secrets are read from the environment or from *_FILE paths and never put on a command line.
set -Eeuo pipefail

# POSTGRES_PASSWORD_FILE etc.: read a secret from a file (Docker/Kubernetes secrets).
file_env() {
  local var=$1 file_var="${1}_FILE" default=${2:-}
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo "error: both $var and $file_var are set; set only one" >&2
    exit 2
  fi
  local val=$default
  if [ -n "${!var:-}" ]; then val=${!var}; elif [ -n "${!file_var:-}" ]; then val=$(<"${!file_var}"); fi
  export "$var"="$val"
  unset "$file_var"
}

first=${1:-}
if [ "$first" = postgres ] || [ "${first:0:1}" = - ]; then
  [ "${first:0:1}" = - ] && set -- postgres "$@"

  if [ "$(id -u)" = 0 ]; then
    echo "error: this image runs PostgreSQL as a non-root user, but it was started as root" >&2
    echo "help: drop --user 0 (the image's user is 999), or run with --user 999:999" >&2
    exit 2
  fi

  file_env POSTGRES_USER postgres
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  auth=${POSTGRES_HOST_AUTH_METHOD:-}

  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA" 2>/dev/null || true

  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
      cat >&2 <<'MSG'
error: the database is uninitialised and POSTGRES_PASSWORD is not set
help: set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value, or
      POSTGRES_HOST_AUTH_METHOD=trust to allow connections without a password (tests only)
MSG
      exit 1
    fi
    # The password goes to initdb through a file descriptor, not through the process arguments.
    # shellcheck disable=SC2086
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
      --encoding=UTF8 --locale=C.UTF-8 $POSTGRES_INITDB_ARGS >/dev/null

    [ -n "$auth" ] || auth=$(postgres -C password_encryption -D "$PGDATA" 2>/dev/null || echo scram-sha-256)
    printf '\n# Added by docker-entrypoint.sh: remote connections.\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

    # A temporary server on the Unix socket only, for creating the database and running init files.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
    psql_base=(psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" --host /var/run/postgresql)
    if [ "$POSTGRES_DB" != postgres ]; then
      "${psql_base[@]}" --dbname postgres --set db="$POSTGRES_DB" -q <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') \gexec
SQL
    fi
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) echo "running $f" >&2; . "$f" ;;
        *.sql) echo "running $f" >&2; "${psql_base[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
        *.sql.gz) echo "running $f" >&2; gunzip -c "$f" | "${psql_base[@]}" --dbname "$POSTGRES_DB" ;;
        *) [ -e "$f" ] && echo "ignoring $f" >&2 ;;
      esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "PostgreSQL init process complete; ready for start up." >&2
  fi
  unset POSTGRES_PASSWORD
  exec "$@"
fi

exec "$@"
