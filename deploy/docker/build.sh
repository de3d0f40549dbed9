#!/usr/bin/env bash
# Release build of the ouroboros daemon: the binary the Docker image ships.
# The Dockerfile's build stage runs exactly this script, and CI runs the same script outside
# Docker, so both build the same way. Build dependencies: deploy/install-deps.sh --build.
#
#   deploy/docker/build.sh [BUILD_DIR]     default BUILD_DIR: <repo>/build-release
#
# The binary ends up at BUILD_DIR/src/app/ouroboros.
# Environment: JOBS (parallel jobs, default nproc), OUROBOROS_WERROR (ON|OFF, default OFF).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-release}
jobs=${JOBS:-$(nproc)}

cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DOUROBOROS_TESTS=OFF \
  -DOUROBOROS_WERROR="${OUROBOROS_WERROR:-OFF}"
cmake --build "$build" --target ouroboros -j "$jobs"
"$build/src/app/ouroboros" --version
