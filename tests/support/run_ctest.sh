#!/usr/bin/env bash
# Runs ctest in the build tree $1 (further arguments go to ctest). Under CI=true a test that did
# not run (skipped by its return code, or missing) fails the run: in CI nothing passes by not
# running. Tests without a TIMEOUT of their own get 30 minutes (suite_every_test_has_a_timeout
# keeps that from being needed).
set -uo pipefail
build=$1
shift
log=$(mktemp)
ctest --test-dir "$build" --output-on-failure --no-tests=error --timeout 1800 "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
ci=$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]')
if [ -n "$ci" ] && [ "$ci" != 0 ] && [ "$ci" != false ] && [ "$ci" != no ] &&
   grep -q "The following tests did not run" "$log"; then
  echo "run_ctest: tests did not run (listed above); under CI=true that fails the run" >&2
  [ "$rc" -ne 0 ] || rc=1
fi
rm -f "$log"
exit "$rc"
