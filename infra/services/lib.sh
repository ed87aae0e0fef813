# shellcheck shell=bash
# Shared helpers for the service scripts in this folder; sourced, never run. Each script sets
# SERVICE (its name) before sourcing. Conventions: progress goes to stdout, a failure is ONE line on
# stderr that names the service, what failed and the log file, followed by exit 1.

STRATA_REPO=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
STRATA_SERVICES_DIR=${STRATA_SERVICES_DIR:-$STRATA_REPO/.services}
mkdir -p "$STRATA_SERVICES_DIR"
STRATA_SERVICES_DIR=$(cd "$STRATA_SERVICES_DIR" && pwd)
SVC_DIR=$STRATA_SERVICES_DIR/$SERVICE
# Seconds to wait for readiness before giving up.
STRATA_SERVICES_TIMEOUT=${STRATA_SERVICES_TIMEOUT:-120}

say() { printf '%s: %s\n' "$SERVICE" "$*"; }

# fail WHAT [LOG]: the one-line error, then exit 1.
fail() {
  if [ -n "${2:-}" ]; then
    printf '%s: FAILED: %s (log: %s)\n' "$SERVICE" "$1" "$2" >&2
  else
    printf '%s: FAILED: %s\n' "$SERVICE" "$1" >&2
  fi
  exit 1
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive PIDFILE: the process recorded in PIDFILE is still running and is ours: its command line
# contains $PID_MARKER (a stale file after a reboot may name someone else's process).
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -z "${PID_MARKER:-}" ] || tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$PID_MARKER"
}

# proc_exists PIDFILE: the recorded process exists (no marker check: right after launch it may not
# have exec'd its program yet).
proc_exists() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_until SECONDS CMD...: polls CMD every half second until it succeeds; 1 on timeout.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.5
  done
}

# need_free_port PORT LOG: fails with one line when another process already listens on PORT.
need_free_port() {
  if port_open "$1"; then
    fail "port 127.0.0.1:$1 is already in use by another process" "$2"
  fi
}

# apt_install PACKAGE...: installs Debian packages non-interactively (apt-get update first).
# Scripts run in parallel (all.sh), so installs queue on one lock instead of racing for dpkg's.
apt_install() {
  [ "$(id -u)" = 0 ] || fail "$* missing and not root, cannot apt-get install it"
  local log=$STRATA_SERVICES_DIR/apt.log
  say "installing $* with apt-get"
  # flock -o: daemons a package's postinst may start must not inherit (and keep) the lock.
  flock -o -w 600 "$STRATA_SERVICES_DIR/.apt.lock" env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get -o DPkg::Lock::Timeout=300 update -qq &&
     apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@"' apt_install "$@" \
    </dev/null >>"$log" 2>&1 9>&- || fail "apt-get install $* failed" "$log"
}

# need_cmd COMMAND PACKAGE: makes sure COMMAND exists, installing PACKAGE when it does not.
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_install "$2"; }

# stop_pid PIDFILE SECONDS: TERM, wait up to SECONDS, then KILL the recorded process.
stop_pid() {
  local pid
  pid_alive "$1" || { rm -f "$1"; return 0; }
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$2" eval "! kill -0 $pid 2>/dev/null"; then
    say "did not stop within $2 s, killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 eval "! kill -0 $pid 2>/dev/null" || true
  fi
  rm -f "$1"
}

# give_up WHAT LOG: stops the half-started process recorded in $PIDFILE, then fails.
give_up() {
  stop_pid "$PIDFILE" 30 >/dev/null || true
  fail "$1" "$2"
}

# with_lock CMD...: runs CMD holding this service's lock, so concurrent starts/stops queue up.
with_lock() {
  mkdir -p "$SVC_DIR"
  exec 9>"$SVC_DIR/.lock"
  flock -w "$STRATA_SERVICES_TIMEOUT" 9 || fail "another start/stop still holds $SVC_DIR/.lock"
  "$@"
}

# For services run as one background process with a pid file (kafka, clickhouse, synapse): the
# shared stop, and the shared status given a readiness check, where it listens, and its log.
stop_background_service() {
  if ! pid_alive "$PIDFILE"; then
    rm -f "$PIDFILE"
    say "not running"
    return 0
  fi
  say "stopping (pid $(cat "$PIDFILE"))"
  stop_pid "$PIDFILE" 60
  say "stopped"
}

# status_background_service CHECK WHERE LOG: 0 running and answering, 3 stopped, 1 alive but silent.
status_background_service() {
  if ! pid_alive "$PIDFILE"; then
    say "stopped"
    return 3
  fi
  if "$1"; then
    say "running on $2 (pid $(cat "$PIDFILE"))"
  else
    say "process $(cat "$PIDFILE") alive but not answering on $2 (log: $3)"
    return 1
  fi
}

# dispatch "$@": the start|stop|status|restart command line every script shares.
dispatch() {
  case "${1:-}" in
    start) with_lock do_start ;;
    stop) with_lock do_stop ;;
    status) do_status ;;
    restart) with_lock do_stop && with_lock do_start ;;
    *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
  esac
}
