#!/usr/bin/env bash
# Synapse (PyPI `matrix-synapse[postgres]`) in a virtualenv under $STRATA_SERVICES_DIR/synapse, server
# name synapse.localhost, on PostgreSQL as production Synapse runs (SQLite is its test-only backend):
# database `synapse` (collation C) in the project's PostgreSQL on 127.0.0.1:15432, which must be
# running (postgres.sh start). Client + federation API on 127.0.0.1:18008 only, open registration
# and a registration shared secret (STRATA_SYNAPSE_SHARED_SECRET), rate limits raised for
# benchmarks. Used by benchmarks and federation interop tests; not started by all.sh.
#
# With STRATA_SYNAPSE_FEDERATION=1, a second, separate instance to federate with (it can run beside
# the benchmark one): its own folder $STRATA_SERVICES_DIR/synapse-federation, database
# `synapse_fed`, a TLS listener (client + federation API, self-signed certificate) on
# 127.0.0.1:18448 and server name `127.0.0.1:18448` (an IP literal, so other servers reach it with
# no DNS, .well-known or SRV), plus the client API over plain HTTP on 127.0.0.1:18009. It does not
# verify other servers' certificates and may reach loopback addresses, IP-literal names included. Ports:
# STRATA_SYNAPSE_FEDERATION_PORT, STRATA_SYNAPSE_FEDERATION_CLIENT_PORT. The virtualenv is shared.
#
# The benchmark instance (not the federation one) lists the test bridge's application service
# registration, test/fixtures/appservice/testBridge.yaml, its url pointing at
# http://127.0.0.1:${STRATA_SYNAPSE_APPSERVICE_PORT:-18029}, where the appservice tests and
# `npm run bench appservice` run that bridge; ephemeral events and to-device messages are pushed to it.
#   usage: [STRATA_SYNAPSE_FEDERATION=1] infra/services/synapse.sh start|stop|status|restart
set -euo pipefail
FEDERATION=${STRATA_SYNAPSE_FEDERATION:-}
case "$FEDERATION" in '' | 0) FEDERATION= ;; *) FEDERATION=1 ;; esac
SERVICE=synapse${FEDERATION:+-federation}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

SHARED_SECRET=${STRATA_SYNAPSE_SHARED_SECRET:-synapse-bench-secret}
SYNAPSE_SPEC="matrix-synapse[postgres]${STRATA_SYNAPSE_VERSION:+==$STRATA_SYNAPSE_VERSION}"
PG_HOST=127.0.0.1
PG_PORT=15432
PG_USER=strata
PG_PASSWORD=strata
if [ -n "$FEDERATION" ]; then
  PORT=${STRATA_SYNAPSE_FEDERATION_CLIENT_PORT:-18009}
  TLS_PORT=${STRATA_SYNAPSE_FEDERATION_PORT:-18448}
  SERVER_NAME=127.0.0.1:$TLS_PORT
  PG_DATABASE=${STRATA_SYNAPSE_DATABASE:-synapse_fed}
else
  PORT=18008
  SERVER_NAME=synapse.localhost
  PG_DATABASE=${STRATA_SYNAPSE_DATABASE:-synapse}
fi
# One virtualenv for both instances: installing Synapse is the slow part.
VENV=$STRATA_SERVICES_DIR/synapse/venv
CONF=$SVC_DIR/conf
DATA=$SVC_DIR/data
LOG=$SVC_DIR/logs/homeserver.log
OUT=$SVC_DIR/logs/stdout.log
PID_MARKER=synapse.app.homeserver
PIDFILE=$SVC_DIR/synapse.pid
URL=http://127.0.0.1:$PORT
# A server name with a port is not a file name everywhere (":"), so files use the port alone.
KEY_FILE=$CONF/${SERVER_NAME//:/_}.signing.key
BRIDGE_REGISTRATION=$STRATA_REPO/test/fixtures/appservice/testBridge.yaml
APPSERVICE_PORT=${STRATA_SYNAPSE_APPSERVICE_PORT:-18029}

install_synapse() {
  # The marker names the spec installed, so a venv from before a spec change is rebuilt.
  [ "$(cat "$VENV/.complete" 2>/dev/null)" = "$SYNAPSE_SPEC" ] && return 0
  need_cmd python3 python3
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  mkdir -p "$SVC_DIR/logs" "$(dirname -- "$VENV")"
  # Both instances share the venv: an install waits for one another instance has under way.
  exec 8>"$VENV.install.lock"
  flock -w 600 8 || fail "another install of $VENV is still running"
  if [ "$(cat "$VENV/.complete" 2>/dev/null)" != "$SYNAPSE_SPEC" ]; then
    say "installing $SYNAPSE_SPEC into $VENV"
    rm -rf "$VENV"
    # pip's cache stays under the services folder as well.
    { python3 -m venv "$VENV" \
      && PIP_CACHE_DIR=$STRATA_SERVICES_DIR/synapse/pip-cache "$VENV/bin/pip" install -q --disable-pip-version-check "$SYNAPSE_SPEC"; } \
      >"$SVC_DIR/logs/pip.log" 2>&1 || fail "pip install $SYNAPSE_SPEC failed" "$SVC_DIR/logs/pip.log"
    printf '%s' "$SYNAPSE_SPEC" >"$VENV/.complete"
  fi
  exec 8>&-
}

# Creates Synapse's database once, as the strata role (CREATEDB). Synapse refuses a database whose
# collation and ctype are not C, so it is made from template0 with both set to C.
create_database() {
  port_open "$PG_PORT" \
    || fail "PostgreSQL is not listening on $PG_HOST:$PG_PORT (run: bash infra/services/all.sh start postgres)"
  PGHOST=$PG_HOST PGPORT=$PG_PORT PGUSER=$PG_USER PGPASSWORD=$PG_PASSWORD PGDB=$PG_DATABASE \
    "$VENV/bin/python" - >>"$OUT" 2>&1 <<'PY' || fail "creating PostgreSQL database $PG_DATABASE failed" "$OUT"
import os, psycopg2
from psycopg2 import sql
conn = psycopg2.connect(host=os.environ["PGHOST"], port=os.environ["PGPORT"], user=os.environ["PGUSER"],
                        password=os.environ["PGPASSWORD"], dbname="postgres")
conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
cur = conn.cursor()
cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (os.environ["PGDB"],))
if cur.fetchone() is None:
    cur.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
                .format(sql.Identifier(os.environ["PGDB"])))
    print("created database", os.environ["PGDB"])
PY
}

# Secrets made once per services folder, so restarts keep sessions and keys valid.
secret() {
  local file=$CONF/$1
  [ -s "$file" ] || "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$file"
  cat "$file"
}

# The federation instance's self-signed certificate for 127.0.0.1 (IP subjectAltName), made once with
# the `cryptography` package Synapse itself depends on (no openssl binary needed). Peers do not
# verify it (federation_verify_certificates: false on both sides of the interop tests).
write_certificate() {
  [ -s "$CONF/tls.crt" ] && [ -s "$CONF/tls.key" ] && return 0
  CERT=$CONF/tls.crt KEY=$CONF/tls.key "$VENV/bin/python" - >>"$OUT" 2>&1 <<'PY' || fail "creating the TLS certificate failed" "$OUT"
import datetime, ipaddress, os
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256()))
old = os.umask(0o077)
with open(os.environ["KEY"], "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
os.umask(old)
with open(os.environ["CERT"], "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
PY
}

write_config() {
  mkdir -p "$CONF" "$DATA/media_store" "$SVC_DIR/logs"
  local limit='{per_second: 10000, burst_count: 100000}'
  local tls_listener='' federation_settings='' appservice_settings=''
  if [ -n "$FEDERATION" ]; then
    write_certificate
    tls_listener="  - port: $TLS_PORT
    bind_addresses: [\"127.0.0.1\"]
    type: http
    tls: true
    x_forwarded: false
    resources:
      - names: [client, federation]
        compress: false"
    # ip_range_whitelist (below) is not enough for peers named by an IP literal: Synapse checks
    # those against the federation blocklist alone, so it is emptied (0.0.0.0 and :: stay blocked).
    # Synapse lets nobody publish rooms in its directory, and keeps that directory from other
    # servers, unless told otherwise; interop tests list it from Strata (GET /publicRooms?server=).
    federation_settings="tls_certificate_path: \"$CONF/tls.crt\"
tls_private_key_path: \"$CONF/tls.key\"
federation_ip_range_blacklist: []
allow_public_rooms_over_federation: true
room_list_publication_rules: [{action: allow}]"
  else
    # The registration is the fixture's, with the url of the bridge the tests run (one source of truth).
    [ -s "$BRIDGE_REGISTRATION" ] || fail "the test bridge's registration $BRIDGE_REGISTRATION is missing"
    sed "s|^url: .*|url: http://127.0.0.1:$APPSERVICE_PORT|" "$BRIDGE_REGISTRATION" >"$CONF/test-bridge.yaml"
    appservice_settings="app_service_config_files: [\"$CONF/test-bridge.yaml\"]
experimental_features:
  msc2409_to_device_messages_enabled: true"
  fi
  # Rewritten on every start; edits here are lost.
  cat >"$CONF/homeserver.yaml" <<EOF
server_name: "$SERVER_NAME"
public_baseurl: "$URL/"
pid_file: "$SVC_DIR/homeserver.pid"
report_stats: false
listeners:
  - port: $PORT
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client, federation]
        compress: false
$tls_listener
$federation_settings
$appservice_settings
database:
  name: psycopg2
  args:
    host: "$PG_HOST"
    port: $PG_PORT
    user: "$PG_USER"
    password: "$PG_PASSWORD"
    dbname: "$PG_DATABASE"
    cp_min: 5
    cp_max: 10
log_config: "$CONF/log.config"
media_store_path: "$DATA/media_store"
signing_key_path: "$KEY_FILE"
macaroon_secret_key: "$(secret macaroon_secret_key)"
form_secret: "$(secret form_secret)"
registration_shared_secret: "$SHARED_SECRET"
enable_registration: true
enable_registration_without_verification: true
trusted_key_servers: []
suppress_key_server_warning: true
# Interop tests federate with homeservers on loopback, which Synapse blocks by default.
ip_range_whitelist: ["127.0.0.0/8", "::1/128"]
federation_verify_certificates: false
# Benchmarks drive many requests from few users and addresses.
rc_message: $limit
rc_registration: $limit
rc_registration_token_validity: $limit
rc_login:
  address: $limit
  account: $limit
  failed_attempts: $limit
rc_joins:
  local: $limit
  remote: $limit
rc_joins_per_room: $limit
rc_invites:
  per_room: $limit
  per_user: $limit
  per_issuer: $limit
rc_3pid_validation: $limit
rc_admin_redaction: $limit
rc_room_creation: $limit
rc_presence:
  per_user: $limit
rc_delayed_event_mgmt: $limit
rc_reports: $limit
rc_media_create: $limit
rc_federation:
  window_size: 1000
  sleep_limit: 10000
  sleep_delay: 0
  reject_limit: 10000
  concurrent: 100
federation_rr_transactions_per_room_per_second: 10000
EOF
  cat >"$CONF/log.config" <<EOF
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.handlers.RotatingFileHandler
    formatter: precise
    filename: "$LOG"
    maxBytes: 104857600
    backupCount: 3
    encoding: utf8
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
EOF
  if [ ! -s "$KEY_FILE" ]; then
    "$VENV/bin/python" -m synapse.app.homeserver -c "$CONF/homeserver.yaml" --generate-keys >>"$OUT" 2>&1 \
      || fail "generating the signing key failed" "$OUT"
  fi
}

ready() {
  curl -fsS --max-time 3 "$URL/_matrix/client/versions" 2>/dev/null | grep -q '"versions"' || return 1
  # The federation instance is ready once its TLS listener serves its keys as well.
  [ -z "$FEDERATION" ] || curl -kfsS --max-time 3 "https://127.0.0.1:$TLS_PORT/_matrix/key/v2/server" 2>/dev/null | grep -q '"verify_keys"'
}

do_start() {
  need_cmd curl curl
  if pid_alive "$PIDFILE" && ready; then
    say "already running on $URL (pid $(cat "$PIDFILE"))"
    return 0
  fi
  stop_pid "$PIDFILE" 30
  need_free_port "$PORT" "$LOG"
  [ -z "$FEDERATION" ] || need_free_port "$TLS_PORT" "$LOG"
  # The venv may exist already (shared by both instances), so its install does not make this folder.
  mkdir -p "$SVC_DIR/logs"
  install_synapse
  create_database
  write_config
  say "starting Synapse $("$VENV/bin/python" -c 'import synapse; print(synapse.__version__)') on $URL"
  # Foreground process in its own session (setsid), so the pid recorded is the server's.
  # 9>&-: do not hand the start lock to the server.
  (cd "$SVC_DIR" && exec setsid "$VENV/bin/python" -m synapse.app.homeserver -c "$CONF/homeserver.yaml") \
    </dev/null >>"$OUT" 2>&1 9>&- &
  echo $! >"$PIDFILE"
  local waited=$SECONDS
  until ready; do
    proc_exists "$PIDFILE" || fail "homeserver process exited during start-up (see also $OUT)" "$LOG"
    if [ $((SECONDS - waited)) -ge "$STRATA_SERVICES_TIMEOUT" ]; then
      give_up "GET $URL/_matrix/client/versions failing after ${STRATA_SERVICES_TIMEOUT}s" "$LOG"
    fi
    sleep 0.5
  done
  say "ready on $URL${FEDERATION:+ and https://$SERVER_NAME} (pid $(cat "$PIDFILE"), server name $SERVER_NAME, PostgreSQL database $PG_DATABASE on $PG_HOST:$PG_PORT)"
}

do_stop() { stop_background_service; }

# Status asks the service itself (curl may be missing on a fresh machine).
answering() { command -v curl >/dev/null && ready; }

do_status() { status_background_service answering "$URL" "$LOG"; }

dispatch "$@"
