#!/usr/bin/env bash
# Installs the headless browser the console's browser tests drive (test/console/, through
# playwright-core, which never downloads browsers): Debian's `chromium` package at
# /usr/bin/chromium, unless it is already there.
#
#   bash scripts/ensure-chromium.sh            # install if missing; fail if it cannot
#   bash scripts/ensure-chromium.sh --optional # install if possible; only warn if it cannot
set -uo pipefail
CHROMIUM=/usr/bin/chromium
optional=false
[ "${1:-}" = "--optional" ] && optional=true

fail() {
  if $optional; then echo "ensure-chromium: $* (the console's browser tests will skip; see README, 'Tests')" >&2; exit 0; fi
  echo "ensure-chromium: $*" >&2; exit 1
}

[ -x "$CHROMIUM" ] && exit 0
command -v apt-get >/dev/null 2>&1 || fail "$CHROMIUM is missing and apt-get is not available to install Debian's chromium"
sudo=""
if [ "$(id -u)" != 0 ]; then
  # Never prompt: a password prompt would hang npm test.
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else fail "$CHROMIUM is missing; install it as root: apt-get install chromium"; fi
fi
echo "ensure-chromium: installing Debian's chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent (slim images) or stale: update once if the first try fails.
$sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
  { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } ||
  fail "apt-get install chromium failed"
[ -x "$CHROMIUM" ] || fail "chromium installed but $CHROMIUM is missing"
"$CHROMIUM" --headless=new --no-sandbox --disable-gpu --version >/dev/null 2>&1 || fail "$CHROMIUM does not run"
echo "ensure-chromium: $("$CHROMIUM" --version 2>/dev/null)" >&2
