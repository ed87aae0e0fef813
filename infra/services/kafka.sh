#!/usr/bin/env bash
# Apache Kafka 4.x, one KRaft node acting as broker and controller, on 127.0.0.1:19092 (clients)
# and 127.0.0.1:19093 (controller). Jars come from Maven Central through a tiny pom and are cached
# under $STRATA_SERVICES_DIR/kafka/libs; data and logs live beside them. STRATA_KAFKA_PORT (and
# STRATA_KAFKA_CONTROLLER_PORT, default the next port) move it; with STRATA_SERVICES_DIR, a private
# instance, which may reuse another folder's jars through STRATA_KAFKA_LIBS.
#   usage: infra/services/kafka.sh start|stop|status|restart
set -euo pipefail
SERVICE=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION=${STRATA_KAFKA_VERSION:-4.4.0}
PORT=${STRATA_KAFKA_PORT:-19092}
CONTROLLER_PORT=${STRATA_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}
LIBS=${STRATA_KAFKA_LIBS:-$SVC_DIR/libs-$KAFKA_VERSION}
DATA=$SVC_DIR/data
CONF=$SVC_DIR/conf
LOG=$SVC_DIR/logs/kafka.log
PID_MARKER=kafka.Kafka
PIDFILE=$SVC_DIR/kafka.pid
BOOTSTRAP=127.0.0.1:$PORT

fetch_jars() {
  [ -f "$LIBS/.complete" ] && return 0
  need_cmd java openjdk-17-jre-headless
  need_cmd mvn maven
  say "fetching Kafka $KAFKA_VERSION jars from Maven Central"
  local pom=$SVC_DIR/pom
  mkdir -p "$pom" "$SVC_DIR/logs"
  # kafka-tools only for its admin commands (readiness check); its own dependencies are Connect's
  # and are not needed for them. slf4j 2 + log4j2 binding so the broker's logging reaches log4j.
  cat >"$pom/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>strata.services</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version>
      <exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.25.5</version></dependency>
  </dependencies>
</project>
EOF
  rm -rf "$LIBS"
  # The Maven repository lives under the services folder too: nothing is cached outside it.
  (cd "$pom" && mvn -q -B -Dmaven.repo.local="$SVC_DIR/m2" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS") >"$SVC_DIR/logs/maven.log" 2>&1 \
    || fail "mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION" "$SVC_DIR/logs/maven.log"
  touch "$LIBS/.complete"
}

write_config() {
  mkdir -p "$CONF" "$DATA" "$SVC_DIR/logs"
  cat >"$CONF/server.properties" <<EOF
# Written by infra/services/kafka.sh on every start; edits here are lost.
node.id=1
process.roles=broker,controller
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
log.dirs=$DATA
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
EOF
  cat >"$CONF/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $LOG
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
EOF
  # Admin tool settings for the readiness probe: give up quickly, the loop retries.
  printf 'request.timeout.ms=3000\ndefault.api.timeout.ms=5000\n' >"$CONF/admin.properties"
}

java_run() {
  java -Xmx256m -Dlog4j2.configurationFile="$CONF/log4j2.properties" -cp "$LIBS/*" "$@"
}

format_storage() {
  [ -f "$DATA/meta.properties" ] && return 0
  local cluster_id
  cluster_id=$(java_run kafka.tools.StorageTool random-uuid 2>>"$LOG") \
    || fail "kafka.tools.StorageTool random-uuid failed" "$LOG"
  say "formatting $DATA (cluster id $cluster_id)"
  java_run kafka.tools.StorageTool format -t "$cluster_id" -c "$CONF/server.properties" >>"$LOG" 2>&1 \
    || fail "kafka.tools.StorageTool format failed" "$LOG"
}

# A metadata request (list topics) answered by the broker, not just an open port.
metadata_ok() {
  proc_exists "$PIDFILE" || return 2
  port_open "$PORT" || return 1
  java_run org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
    --command-config "$CONF/admin.properties" --list >/dev/null 2>>"$SVC_DIR/logs/probe.log"
}

do_start() {
  if pid_alive "$PIDFILE" && metadata_ok; then
    say "already running on $BOOTSTRAP (pid $(cat "$PIDFILE"))"
    return 0
  fi
  stop_pid "$PIDFILE" 30
  need_free_port "$PORT" "$LOG"
  need_free_port "$CONTROLLER_PORT" "$LOG"
  fetch_jars
  write_config
  format_storage
  say "starting Kafka $KAFKA_VERSION on $BOOTSTRAP"
  # setsid: own session, so the broker survives the shell (and CI step) that started it.
  # 9>&-: do not hand the start lock to the broker.
  KAFKA_HEAP="-Xmx512m -Xms512m"
  # shellcheck disable=SC2086
  setsid java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$CONF/log4j2.properties" -Dkafka.logs.dir="$SVC_DIR/logs" \
    -cp "$LIBS/*" kafka.Kafka "$CONF/server.properties" </dev/null >>"$LOG" 2>&1 9>&- &
  echo $! >"$PIDFILE"
  local waited=$SECONDS
  until metadata_ok; do
    proc_exists "$PIDFILE" || fail "broker process exited during start-up" "$LOG"
    if [ $((SECONDS - waited)) -ge "$STRATA_SERVICES_TIMEOUT" ]; then
      give_up "not ready on $BOOTSTRAP after ${STRATA_SERVICES_TIMEOUT}s (metadata request failed)" "$LOG"
    fi
    sleep 1
  done
  say "ready on $BOOTSTRAP (pid $(cat "$PIDFILE"), after $((SECONDS - waited))s)"
}

do_stop() { stop_background_service; }

do_status() { status_background_service metadata_ok "$BOOTSTRAP" "$LOG"; }

dispatch "$@"
