#!/usr/bin/env bash
# Writes copies of the conformance definitions with the default canonical base
# (https://collabcare.dev/fhir, kDefaultCanonicalBase in adapters/fhir/canonical.h) replaced by a
# deployment's own base, e.g.
#   adapters/conformance/rebase.sh https://fhir.example-clinic.org/collabcare out/conformance
# Run the server with the same base so the resources it writes name these URLs. Check the copies:
#   tests/fhir_validator/run.sh --base NEW_BASE --conformance OUT_DIR OUT_DIR
set -euo pipefail
default_base="https://collabcare.dev/fhir"
if [ $# -ne 2 ]; then
  echo "usage: $0 NEW_BASE OUT_DIR" >&2
  exit 2
fi
new_base="${1%/}"
out="$2"
case "$new_base" in
  http://*|https://*) ;;
  *) echo "rebase: NEW_BASE must be an absolute http(s) URL" >&2; exit 2 ;;
esac
case "$new_base" in
  *[[:space:]\"\\]*) echo "rebase: NEW_BASE must not contain spaces, quotes or backslashes" >&2; exit 2 ;;
esac
src="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
if [ "$(cd "$out" && pwd)" = "$src" ]; then
  echo "rebase: OUT_DIR must not be the source folder" >&2
  exit 2
fi
n=0
for f in "$src"/*.json; do
  OLD="$default_base" NEW="$new_base" perl -pe 's/\Q$ENV{OLD}\E/$ENV{NEW}/g' "$f" > "$out/$(basename "$f")"
  n=$((n + 1))
done
echo "rebase: wrote $n files with base $new_base to $out"
