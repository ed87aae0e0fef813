#!/usr/bin/env bash
# Starts, stops or reports Kafka, PostgreSQL and ClickHouse together (not Synapse: see synapse.sh).
# Start and stop run the services in parallel; the exit status is non-zero when any one fails.
#   usage: infra/services/all.sh start|stop|status|restart [kafka] [postgres] [clickhouse]
set -euo pipefail
here=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

command=${1:-}
case "$command" in
  start | stop | status | restart) shift ;;
  *) echo "usage: $0 start|stop|status|restart [kafka] [postgres] [clickhouse]" >&2; exit 2 ;;
esac
services=("$@")
[ ${#services[@]} -gt 0 ] || services=(kafka postgres clickhouse)
for service in "${services[@]}"; do
  case "$service" in
    kafka | postgres | clickhouse) ;;
    *) echo "all: unknown service '$service' (expected kafka, postgres or clickhouse)" >&2; exit 2 ;;
  esac
done

failed=()
if [ "$command" = status ]; then
  for service in "${services[@]}"; do
    bash "$here/$service.sh" status || failed+=("$service")
  done
else
  pids=()
  for service in "${services[@]}"; do
    bash "$here/$service.sh" "$command" &
    pids+=($!)
  done
  for i in "${!services[@]}"; do
    wait "${pids[$i]}" || failed+=("${services[$i]}")
  done
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "all: $command failed for: ${failed[*]}" >&2
  exit 1
fi
