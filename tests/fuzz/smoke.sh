#!/usr/bin/env bash
# Builds every fuzz target with clang in its own build tree and runs each briefly: first over its
# seed corpus (regression), then mutating for FUZZ_SECONDS. Fails on any crash.
# Without clang or its libFuzzer runtime it prints "skipped: ..." and exits 0, except in CI
# (CI=true), where a missing tool is a failure.
# Environment: FUZZ_BUILD_DIR (default <repo>/build-fuzz), FUZZ_SECONDS (per target, default 15),
# FUZZ_BUILD_ONLY=1 (build the targets, run nothing).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-15}
source "$root/tests/fuzz/targets.sh"

missing() {
  if [[ "${CI:-}" == "true" ]]; then
    echo "FAILED: $1 (CI=true: deploy/install-deps.sh installs clang and libclang-rt-14-dev)" >&2
    exit 1
  fi
  echo "skipped: $1"
  exit 0
}

if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
  missing "clang/clang++ not found"
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# A distribution may ship clang without compiler-rt; probe for the fuzzer runtime directly.
cat >"$scratch/probe.cpp" <<'CPP'
#include <cstddef>
#include <cstdint>
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }
CPP
if ! clang++ -fsanitize=fuzzer,address,undefined "$scratch/probe.cpp" -o "$scratch/probe" \
    >/dev/null 2>&1; then
  missing "clang's libFuzzer runtime (libclang-rt-14-dev) is missing"
fi

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" "${launcher[@]}" \
  -DOUROBOROS_FUZZ=ON -DOUROBOROS_TESTS=ON >/dev/null
cmake --build "$build" --target fuzz_all
if [[ "${FUZZ_BUILD_ONLY:-}" == "1" ]]; then exit 0; fi

for target in "${FUZZ_TARGETS[@]}"; do
  # New inputs go to a throw-away directory so the checked-in seed corpus stays as it is.
  mkdir -p "$scratch/$target"
  "$build/tests/fuzz/fuzz_$target" "$scratch/$target" "$root/tests/fuzz/corpus/$target" \
    -max_total_time="$seconds" -max_len=4096 -artifact_prefix="$build/fuzz_$target-" \
    -print_final_stats=1 2>"$scratch/$target.log" || {
    tail -n 60 "$scratch/$target.log" >&2
    echo "FAILED: fuzz_$target crashed; the input is $build/fuzz_$target-crash-*" >&2
    exit 1
  }
  echo "fuzz_$target: no crash in ${seconds}s ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$scratch/$target.log" | grep -o '[0-9]*$') executions)"
done
