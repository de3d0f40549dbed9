#!/usr/bin/env bash
# The long fuzz run (`make fuzz-long`): every target (or those named as arguments) for
# FUZZ_RUNS executions (default 10 million) with inputs up to FUZZ_MAX_LEN bytes (default 64 KiB).
# The corpus each run grows is kept outside the repository, in FUZZ_WORK_DIR/<target>/corpus
# (default /tmp/ouroboros-fuzz), with the log; the committed seed corpus is only read.
# FUZZ_MAX_SECONDS (default 0: no limit) caps each target's time. Prints a Markdown table row per
# target: executions, coverage (cov/ft of libFuzzer's last status line) and the outcome.
# Environment: FUZZ_BUILD_DIR (default <repo>/build-fuzz), FUZZ_NO_BUILD=1 (run the targets
# already built there).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
work=${FUZZ_WORK_DIR:-/tmp/ouroboros-fuzz}
runs=${FUZZ_RUNS:-10000000}
max_len=${FUZZ_MAX_LEN:-65536}
max_seconds=${FUZZ_MAX_SECONDS:-0}
source "$root/tests/fuzz/targets.sh"
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=("${FUZZ_TARGETS[@]}"); fi

if [[ "${FUZZ_NO_BUILD:-}" != "1" ]]; then
  FUZZ_BUILD_ONLY=1 "$root/tests/fuzz/smoke.sh" >/dev/null  # builds every target (fails without clang)
fi

status=0
echo "| target | executions | cov | ft | crashes |"
echo "|---|---|---|---|---|"
for target in "${targets[@]}"; do
  dir="$work/$target"
  mkdir -p "$dir/corpus"
  log="$dir/fuzz.log"
  outcome="zero"
  "$build/tests/fuzz/fuzz_$target" "$dir/corpus" "$root/tests/fuzz/corpus/$target" \
    -runs="$runs" -max_len="$max_len" -max_total_time="$max_seconds" \
    -artifact_prefix="$dir/" -print_final_stats=1 >"$log" 2>&1 || { outcome="CRASH (see $dir)"; status=1; }
  executions=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*$' || echo "?")
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*$' || echo "?")
  echo "| fuzz_$target | $executions | $cov | $ft | $outcome |"
done
exit $status
