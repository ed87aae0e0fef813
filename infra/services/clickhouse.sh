#!/usr/bin/env bash
# ClickHouse from Debian's `clickhouse-server` package (18.16 in bookworm) with its own config:
# HTTP on 127.0.0.1:18123, native TCP on 127.0.0.1:19000, interserver on 127.0.0.1:19009, user
# `default` without password, database `strata`. Data, tmp and logs under $STRATA_SERVICES_DIR/clickhouse.
# STRATA_CLICKHOUSE_HTTP_PORT, STRATA_CLICKHOUSE_TCP_PORT and STRATA_CLICKHOUSE_INTERSERVER_PORT move
# it (with STRATA_SERVICES_DIR, a private instance).
#   usage: infra/services/clickhouse.sh start|stop|status|restart
set -euo pipefail
SERVICE=clickhouse
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

HTTP_PORT=${STRATA_CLICKHOUSE_HTTP_PORT:-18123}
TCP_PORT=${STRATA_CLICKHOUSE_TCP_PORT:-19000}
INTERSERVER_PORT=${STRATA_CLICKHOUSE_INTERSERVER_PORT:-19009}
CONF=$SVC_DIR/conf
LOG=$SVC_DIR/logs/clickhouse-server.log
ERRLOG=$SVC_DIR/logs/clickhouse-server.err.log
OUT=$SVC_DIR/logs/stdout.log
PID_MARKER=clickhouse-server
PIDFILE=$SVC_DIR/clickhouse.pid
URL=http://127.0.0.1:$HTTP_PORT

write_config() {
  mkdir -p "$CONF" "$SVC_DIR/data" "$SVC_DIR/tmp" "$SVC_DIR/user_files" "$SVC_DIR/format_schemas" "$SVC_DIR/logs"
  # Written on every start; edits here are lost. Small caches: this is a test/dev instance.
  cat >"$CONF/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>$LOG</log>
    <errorlog>$ERRLOG</errorlog>
    <size>100M</size>
    <count>3</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$HTTP_PORT</http_port>
  <tcp_port>$TCP_PORT</tcp_port>
  <interserver_http_port>$INTERSERVER_PORT</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$SVC_DIR/data/</path>
  <tmp_path>$SVC_DIR/tmp/</tmp_path>
  <user_files_path>$SVC_DIR/user_files/</user_files_path>
  <format_schema_path>$SVC_DIR/format_schemas/</format_schema_path>
  <users_config>$CONF/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
  <query_log>
    <database>system</database>
    <table>query_log</table>
    <partition_by>toYYYYMM(event_date)</partition_by>
    <flush_interval_milliseconds>7500</flush_interval_milliseconds>
  </query_log>
</yandex>
EOF
  cat >"$CONF/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <use_uncompressed_cache>0</use_uncompressed_cache>
      <load_balancing>random</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
EOF
}

# query SQL: runs SQL over HTTP, prints the result; non-zero on any HTTP error.
query() { curl -fsS --max-time 10 "$URL/" --data-binary "$1"; }

ready() {
  [ "$(curl -fsS --max-time 2 "$URL/ping" 2>/dev/null)" = "Ok." ] \
    && [ "$(curl -fsS --max-time 5 "$URL/" --data-binary 'SELECT 1' 2>/dev/null)" = "1" ]
}

do_start() {
  need_cmd curl curl
  if pid_alive "$PIDFILE" && ready; then
    say "already running on $URL (pid $(cat "$PIDFILE"))"
  else
    need_cmd clickhouse-server clickhouse-server
    stop_pid "$PIDFILE" 30
    need_free_port "$HTTP_PORT" "$LOG"
    need_free_port "$TCP_PORT" "$LOG"
    need_free_port "$INTERSERVER_PORT" "$LOG"
    write_config
    say "starting ClickHouse on $URL (tcp 127.0.0.1:$TCP_PORT)"
    # Run in the foreground of its own session (setsid), so the pid recorded is the server's.
    # 9>&-: do not hand the start lock to the server.
    (cd "$SVC_DIR" && exec setsid clickhouse-server --config-file="$CONF/config.xml") \
      </dev/null >>"$OUT" 2>&1 9>&- &
    echo $! >"$PIDFILE"
    local waited=$SECONDS
    until ready; do
      proc_exists "$PIDFILE" || fail "server process exited during start-up" "$ERRLOG"
      if [ $((SECONDS - waited)) -ge "$STRATA_SERVICES_TIMEOUT" ]; then
        give_up "GET $URL/ping or SELECT 1 failing after ${STRATA_SERVICES_TIMEOUT}s" "$ERRLOG"
      fi
      sleep 0.5
    done
  fi
  query 'CREATE DATABASE IF NOT EXISTS strata' >/dev/null || fail "CREATE DATABASE strata failed" "$ERRLOG"
  say "ready on $URL (pid $(cat "$PIDFILE"), database strata)"
}

do_stop() { stop_background_service; }

# Status asks the service itself (curl may be missing on a fresh machine).
answering() { command -v curl >/dev/null && ready; }

do_status() { status_background_service answering "$URL" "$ERRLOG"; }

dispatch "$@"
