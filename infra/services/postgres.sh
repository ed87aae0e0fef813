#!/usr/bin/env bash
# PostgreSQL from Debian's `postgresql` package, in its own cluster under
# $STRATA_SERVICES_DIR/postgres, on 127.0.0.1:15432, with role strata/strata and database strata.
# The cluster belongs to the `postgres` OS user: the server refuses to run as root.
# STRATA_POSTGRES_PORT moves it to another port (with STRATA_SERVICES_DIR, a private instance).
#   usage: infra/services/postgres.sh start|stop|status|restart
set -euo pipefail
SERVICE=postgres
OS_USER=postgres
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PORT=${STRATA_POSTGRES_PORT:-15432}
# The server runs as the `postgres` OS user, which cannot enter a folder such as /root. When the
# services folder is closed to it, the cluster lives in the postgres user's home instead, in a
# folder named after the services folder so that several clones keep separate clusters.
if id "$OS_USER" >/dev/null 2>&1 && ! runuser -u "$OS_USER" -- test -x "$(dirname -- "$SVC_DIR")" 2>/dev/null; then
  SVC_DIR=/var/lib/postgresql/strata-$(printf '%s' "$SVC_DIR" | sha256sum | cut -c1-12)
fi
DATA=$SVC_DIR/data
RUN=$SVC_DIR/run
LOG=$SVC_DIR/logs/postgres.log

# The newest PostgreSQL's bin folder under /usr/lib/postgresql (empty when there is none).
newest_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/initdb" ]; then printf '%s\n' "$dir"; fi
  done | sort -V | tail -n 1
}

# BIN = newest_bin; with "install", apt installs PostgreSQL when there is none.
find_bin() {
  BIN=$(newest_bin)
  [ -n "$BIN" ] && return 0
  [ "${1:-}" = install ] || return 1
  apt_install postgresql
  BIN=$(newest_bin)
  [ -n "$BIN" ] || fail "no initdb under /usr/lib/postgresql/*/bin after apt-get install postgresql"
}

as_pg() { runuser -u "$OS_USER" -- "$@"; }

prepare_dirs() {
  id "$OS_USER" >/dev/null 2>&1 || fail "OS user '$OS_USER' does not exist (it comes with the postgresql package)"
  mkdir -p "$SVC_DIR/logs" "$RUN"
  touch "$LOG"
  chown "$OS_USER:" "$SVC_DIR" "$SVC_DIR/logs" "$RUN" "$LOG"
  as_pg test -w "$SVC_DIR" \
    || fail "OS user '$OS_USER' cannot write $SVC_DIR (a parent folder is closed to it); set STRATA_SERVICES_DIR elsewhere"
}

init_cluster() {
  [ -f "$DATA/PG_VERSION" ] && return 0
  say "initdb $DATA ($BIN)"
  rm -rf "$DATA"
  # Local socket: trust (the socket folder is private to the postgres user); TCP: passwords.
  as_pg "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --no-locale \
    --auth-local=trust --auth-host=scram-sha-256 >>"$LOG" 2>&1 || fail "initdb failed" "$LOG"
  echo "include_if_exists = 'strata.conf'" >>"$DATA/postgresql.conf"
}

write_config() {
  # Rewritten on every start so a changed script takes effect; edits here are lost.
  cat >"$DATA/strata.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$RUN'
max_connections = 200
logging_collector = off
EOF
  chown "$OS_USER:" "$DATA/strata.conf"
}

ready() { "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 2; }

running() { [ -f "$DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

psql_admin() { as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U postgres -d postgres; }

create_role_and_db() {
  # CREATEDB so tests may create throw-away databases of their own.
  psql_admin >>"$LOG" 2>&1 <<'EOF' || fail "creating role/database strata failed" "$LOG"
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'strata') THEN
    CREATE ROLE strata LOGIN CREATEDB PASSWORD 'strata';
  END IF;
END $$;
SELECT 'CREATE DATABASE strata OWNER strata' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'strata')
\gexec
EOF
}

do_start() {
  find_bin install
  if running && ready; then
    say "already running on 127.0.0.1:$PORT"
    create_role_and_db
    return 0
  fi
  prepare_dirs
  running && as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >>"$LOG" 2>&1
  need_free_port "$PORT" "$LOG"
  init_cluster
  write_config
  say "starting PostgreSQL $(basename "$(dirname "$BIN")") on 127.0.0.1:$PORT"
  # 9>&-: do not hand the start lock to the server.
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t "$STRATA_SERVICES_TIMEOUT" start >/dev/null 9>&- \
    || fail "pg_ctl start failed or timed out" "$LOG"
  wait_until "$STRATA_SERVICES_TIMEOUT" ready \
    || fail "pg_isready 127.0.0.1:$PORT still failing after ${STRATA_SERVICES_TIMEOUT}s" "$LOG"
  create_role_and_db
  say "ready on 127.0.0.1:$PORT (database strata, user strata)"
}

do_stop() {
  if ! find_bin || ! running; then
    say "not running"
    return 0
  fi
  say "stopping"
  as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >>"$LOG" 2>&1 || fail "pg_ctl stop failed" "$LOG"
  say "stopped"
}

do_status() {
  if ! find_bin || ! running; then
    say "stopped"
    return 3
  fi
  if ready; then
    say "running on 127.0.0.1:$PORT"
  else
    say "server process alive but pg_isready fails on 127.0.0.1:$PORT (log: $LOG)"
    return 1
  fi
}

dispatch "$@"
