#!/usr/bin/env bash
# Installs the web app's pinned npm dependencies (package-lock.json: fhirclient, esbuild) with
# `npm ci`. Idempotent and fast: skipped while node_modules matches the lock file.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.collabcare-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/fhirclient ] && [ -d node_modules/esbuild ]; then
  echo "web: npm dependencies up to date"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "web: npm not found (deploy/setup-debian.sh must install Node.js and npm)" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
echo "web: installed"
