#!/usr/bin/env bash
# Installs what collabcare needs to build and test on Debian 12 (bookworm). Idempotent: it
# asks apt only for the packages that are missing. Run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev libsqlite3-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcurl4-openssl-dev libcpp-httplib-dev libgoogle-perftools-dev
  openssl ca-certificates curl
  clang libclang-rt-14-dev
  chromium fonts-dejavu-core
)
# chromium: the browser tests (tests/browser) drive Debian's Chromium with playwright-core;
# Playwright's own browser downloads are not used.

# Node.js and npm, for the independent FHIR validator (tests/fhir_validator). Any node + npm
# will do: Debian 12's nodejs 18 only bootstraps `npm ci` there, which installs the Node 22
# the validator runs on (pinned in its package-lock.json). A node already on PATH (e.g. from
# another source) is kept: apt's npm would conflict with it.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
