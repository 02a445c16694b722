#!/usr/bin/env bash
# Installs the etcd the multi-instance tests run against (test/etcd/*), unless one is already
# there (ETCD_BIN, or `etcd` on PATH): Debian's `etcd-server` package (etcd 3.4), through
# apt-get. Needs root (CI and the development machines run as root). Nothing is started here:
# each test starts its own three-member cluster on free loopback ports (test/support/etcd-cluster.ts).
#
#   bash scripts/ensure-etcd.sh            # install if missing; fail if it cannot
#   bash scripts/ensure-etcd.sh --optional # install if possible; only warn if it cannot
set -uo pipefail
optional=false
[ "${1:-}" = "--optional" ] && optional=true

fail() {
  if $optional; then echo "ensure-etcd: $* (etcd tests will skip; see README, 'Operating several instances')" >&2; exit 0; fi
  echo "ensure-etcd: $*" >&2; exit 1
}

if [ -n "${ETCD_BIN:-}" ]; then [ -x "$ETCD_BIN" ] && exit 0; fail "ETCD_BIN=$ETCD_BIN is not an executable"; fi
command -v etcd >/dev/null 2>&1 && exit 0
command -v apt-get >/dev/null 2>&1 || fail "etcd not found and no apt-get to install Debian's etcd-server"
[ "$(id -u)" = 0 ] || fail "etcd not found; installing Debian's etcd-server needs root"
echo "ensure-etcd: installing Debian's etcd-server" >&2
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or old on a fresh machine.
if ! apt-get install -y --no-install-recommends etcd-server >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed"
  apt-get install -y --no-install-recommends etcd-server >/dev/null || fail "apt-get install etcd-server failed"
fi
command -v etcd >/dev/null 2>&1 || fail "etcd-server installed but no etcd on PATH"
echo "ensure-etcd: $(etcd --version | head -1)" >&2
