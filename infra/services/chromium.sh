#!/usr/bin/env bash
# Debian's `chromium` for the dashboard's headless-browser test (gateways/analytics/dashboard). Not a
# service: nothing is started, the tests launch it themselves (puppeteer-core, STRATA_CHROMIUM_PATH or
# /usr/bin/chromium). Idempotent: installed once, then only checked.
#   usage: infra/services/chromium.sh install|status
set -euo pipefail
SERVICE=chromium
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM=${STRATA_CHROMIUM_PATH:-/usr/bin/chromium}

case "${1:-install}" in
  install)
    [ -x "$CHROMIUM" ] || apt_install chromium
    [ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing after apt-get install chromium"
    say "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    ;;
  status)
    [ -x "$CHROMIUM" ] || { say "not installed ($CHROMIUM)"; exit 3; }
    say "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
    ;;
  *)
    echo "usage: $0 install|status" >&2
    exit 2
    ;;
esac
