#!/usr/bin/env bash
# One command: set up a Debian 12 machine, build, and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup-debian.sh
tests/fhir_validator/install.sh
# The SMART app's bundler and the browser tests' tools (pinned npm packages).
[ -x web/install.sh ] && web/install.sh
[ -x tests/browser/install.sh ] && tests/browser/install.sh
deploy/build.sh
# The FHIR JSON readers under libFuzzer for a short run (a clang build of its own).
deploy/fuzz.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 300 -j "${TEST_JOBS:-2}"
