#!/usr/bin/env bash
# Builds the protocol fuzzer with clang in its own build tree and runs it for a bounded time.
# Exits 0 with "skipped: ..." when clang or its libFuzzer runtime is not installed.
# Environment: FUZZ_BUILD_DIR (default <repo>/build-fuzz), FUZZ_SECONDS (default 20).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-20}

if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
  echo "skipped: clang/clang++ not found"
  exit 0
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
  echo "skipped: clang's libFuzzer runtime (libclang-rt-dev) is missing"
  exit 0
fi

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
CC=clang CXX=clang++ cmake -S "$root" -B "$build" "${generator[@]}" \
  -DOUROBOROS_FUZZ=ON -DOUROBOROS_TESTS=ON >/dev/null
cmake --build "$build" --target fuzz_protocol

# New inputs go to a throw-away directory so the checked-in seed corpus stays as it is.
mkdir -p "$scratch/corpus"
"$build/tests/fuzz/fuzz_protocol" "$scratch/corpus" "$root/tests/fuzz/corpus/protocol" \
  -max_total_time="$seconds" -max_len=4096 -artifact_prefix="$build/" -print_final_stats=1
echo "fuzz_protocol: no crash in ${seconds}s"
