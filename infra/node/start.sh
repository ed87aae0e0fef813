#!/bin/sh
# `npm start`: the server (infra/main.ts) on a supported Node (run.sh), with V8's thread pool sized
# to the machine. V8 runs the garbage collector's helpers on a pool of four threads whatever the
# machine; where fewer cores than that are free they compete with the event loop and the PGlite
# worker, and a collection waits for whichever helper the scheduler set aside. The pool gets one
# thread fewer than the cores this process may use, one at least and four (V8's default) at most:
# on two cores the embedded server's delivery p99 at 200 messages/s fell by a quarter
# (docs/benchmarks.md, round 20). STRATA_V8_POOL_SIZE sets it outright.
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
pool=${STRATA_V8_POOL_SIZE:-}
if [ -z "$pool" ]; then
  cores=$(nproc 2>/dev/null || echo 4)
  pool=$((cores - 1))
  [ "$pool" -ge 1 ] || pool=1
  [ "$pool" -le 4 ] || pool=4
fi
case $pool in
  '' | *[!0-9]*) echo "strata: STRATA_V8_POOL_SIZE must be a whole number, got '$pool'" >&2; exit 2 ;;
esac
exec sh "$root/infra/node/run.sh" "--v8-pool-size=$pool" "$root/infra/main.ts" "$@"
