#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (into ./build-fuzz) and runs their short CI runs
# (30 s each, seeded with the golden FHIR resources). Longer runs: run the fuzzer binary by
# hand, e.g. build-fuzz/tests/fuzz/fuzz_fhir_readers -max_total_time=600 corpus/
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCOLLABCARE_BUILD_BENCH=OFF >/dev/null
ninja -C "$build_dir" fuzz_fhir_readers fhir_golden
cd "$build_dir"
ctest --output-on-failure -L fuzz
