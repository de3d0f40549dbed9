#!/usr/bin/env bash
# Builds and runs metrics_cost.cpp (-O2, like the release build). Prints ns per request.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
g++ -std=c++20 -O2 -I"$root/src" "$root/tests/bench/metrics_cost.cpp" "$root/src/metrics/histogram.cpp" \
  "$root/src/metrics/sqlstate_class.cpp" -o "$out/metrics_cost"
"$out/metrics_cost"
