#!/usr/bin/env bash
# Makes a checkout runnable: installs the npm dependencies when they are missing or older than
# package-lock.json (`npm ci`, so the lock file is followed exactly and never rewritten),
# generates the Envoy/Tether proto types when their inputs changed, and compiles incrementally.
# `npm start` and `npm test` both run it, so a fresh clone needs nothing installed beforehand
# but Node; a second run with nothing changed takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "setup: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# Type generation depends on the installed protos, Tether's own protos and the script itself.
gen_key=$( { cat scripts/gen-types.sh; find protos -name '*.proto' -type f | sort | xargs cat;
  cat node_modules/@grpc/grpc-js-xds/package.json node_modules/@grpc/proto-loader/package.json; } | sha256sum | cut -c1-16)
if [ ! -f src/generated/.key ] || [ "$(cat src/generated/.key)" != "$gen_key" ]; then
  echo "setup: generating proto types" >&2
  bash scripts/gen-types.sh
  echo "$gen_key" > src/generated/.key
fi

# Incremental: an unchanged tree type-checks from dist/.tsbuildinfo in seconds.
npx --no-install tsc -p . --incremental --tsBuildInfoFile dist/.tsbuildinfo
# tsc writes the bin without its execute bit; npm sets it only on install, before dist exists
# in a fresh clone, and `npx tether` runs the bin directly.
chmod +x dist/src/cli/main.js

# The web console's page (src/console/web → dist/console): type-checked and bundled only when
# its sources, the bundler script or the versions of Preact / esbuild changed.
console_key=$( { cat scripts/build-console.mjs src/console/api-types.ts; find src/console/web -type f | sort | xargs cat;
  cat src/generated/.key node_modules/preact/package.json node_modules/esbuild/package.json; } | sha256sum | cut -c1-16)
if [ ! -f dist/console/.key ] || [ "$(cat dist/console/.key)" != "$console_key" ]; then
  echo "setup: building the web console" >&2
  npx --no-install tsc -p src/console/web
  node scripts/build-console.mjs
  echo "$console_key" > dist/console/.key
fi
