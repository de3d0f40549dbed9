#!/usr/bin/env bash
# The long fuzz run (`make fuzz-long`): every target (or those named as arguments) for
# FUZZ_RUNS executions (default 10 million) with inputs up to FUZZ_MAX_LEN bytes (default: the
# target's own bound, see max_len_of; 64 KiB where large inputs matter).
# The corpus each run grows is kept outside the repository, in FUZZ_WORK_DIR/<target>/corpus
# (default /tmp/ouroboros-fuzz), with the log; the committed seed corpus is only read.
# FUZZ_MAX_SECONDS (default 0: no limit) caps each target's time. Prints a Markdown table row per
# target: executions, max_len, coverage (cov/ft of libFuzzer's last status line), the outcome and
# the average executions per second.
# FUZZ_FORK=N runs each target in libFuzzer's fork mode with N worker processes (one per core:
# a slow target reaches its executions N times sooner); the executions, coverage and crash
# count then come from the parent's status lines (its `cov` counts differently from a single
# process's).
# Environment: FUZZ_BUILD_DIR (default <repo>/build-fuzz), FUZZ_NO_BUILD=1 (run the targets
# already built there).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
work=${FUZZ_WORK_DIR:-/tmp/ouroboros-fuzz}
runs=${FUZZ_RUNS:-10000000}

# The largest input worth generating for a target, where its input has a natural bound: longer
# inputs only repeat what shorter ones reach, at a higher cost per execution.
max_len_of() {
  case "$1" in
    startup) echo 10000 ;;  # PostgreSQL refuses a start-up packet over 10,000 bytes
    config) echo 16384 ;;   # a 16 KiB configuration (or hba) file has every section many times
    session) echo 8192 ;;   # two bytes a step: 4,000 client actions and deliveries in one run
    *) echo 65536 ;;        # protocol streams, SQL text, values: large inputs matter
  esac
}
max_seconds=${FUZZ_MAX_SECONDS:-0}
fork=${FUZZ_FORK:-0}
source "$root/tests/fuzz/targets.sh"
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then targets=("${FUZZ_TARGETS[@]}"); fi

if [[ "${FUZZ_NO_BUILD:-}" != "1" ]]; then
  FUZZ_BUILD_ONLY=1 "$root/tests/fuzz/smoke.sh" >/dev/null  # builds every target (fails without clang)
fi

# Whether libFuzzer left a crash, timeout, out-of-memory or leak input in the directory.
left_failing_input() {
  local kind
  for kind in crash timeout oom leak; do
    if compgen -G "$1/$kind-*" >/dev/null; then return 0; fi
  done
  return 1
}

status=0
echo "| target | executions | max_len | cov | ft | crashes | exec/s |"
echo "|---|---|---|---|---|---|---|"
for target in "${targets[@]}"; do
  dir="$work/$target"
  mkdir -p "$dir/corpus"
  log="$dir/fuzz.log"
  outcome="zero"
  max_len=${FUZZ_MAX_LEN:-$(max_len_of "$target")}
  fork_args=()
  if [[ "$fork" != "0" ]]; then fork_args=(-fork="$fork"); fi
  "$build/tests/fuzz/fuzz_$target" "$dir/corpus" "$root/tests/fuzz/corpus/$target" \
    -runs="$runs" -max_len="$max_len" -max_total_time="$max_seconds" "${fork_args[@]}" \
    -artifact_prefix="$dir/" -print_final_stats=1 >"$log" 2>&1 || {
    status=1
    # Ctrl-C (SIGINT) ends a run early without a failure; anything else left an input in $dir.
    if grep -q 'libFuzzer: run interrupted' "$log" && ! left_failing_input "$dir"; then
      outcome="zero (stopped by hand)"
    else
      outcome="CRASH (see $dir)"
    fi
  }
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*$' || echo "?")
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*$' || echo "?")
  if [[ "$fork" != "0" ]]; then
    # The parent's lines: "#N: cov: C ft: F corp: K exec/s E oom/timeout/crash: 0/0/0 ...".
    executions=$(grep -o '^#[0-9]*' <<<"$last" | tr -d '#' || echo "?")
    # (its exec/s is the last job's; the average is executions over the run's time)
    seconds=$(grep -o 'time: [0-9]*s' <<<"$last" | grep -o '[0-9]*' || echo 0)
    per_second="?"
    if [[ "$executions" =~ ^[0-9]+$ && "$seconds" -gt 0 ]]; then per_second=$((executions / seconds)); fi
    failures=$(grep -o 'oom/timeout/crash: [0-9/]*' <<<"$last" | grep -o '[0-9/]*$' || echo "?")
    if [[ "$failures" != "0/0/0" && "$outcome" == zero* ]]; then
      outcome="oom/timeout/crash $failures (see $dir)"
      status=1
    fi
  else
    executions=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    per_second=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  fi
  echo "| fuzz_$target | $executions | $max_len | $cov | $ft | $outcome | $per_second |"
done
exit $status
