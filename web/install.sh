#!/usr/bin/env bash
# Installs the web app's pinned npm dependencies (package-lock.json: fhirclient, esbuild).
exec "$(dirname "$0")/../deploy/npm-ci.sh" "$(dirname "$0")" web fhirclient esbuild
