#!/usr/bin/env bash
# Runs each libFuzzer target for the given number of seconds on a scratch
# copy of its seed corpus (tests/fuzz/corpus/NAME), so that the repository
# is never written to. Crash inputs are kept in build/fuzz/artifacts.
#   run.sh SECONDS TARGET...
set -u
seconds=$1
shift
src=${BLO_SRCDIR:-.}
artifacts=$src/build/fuzz/artifacts
mkdir -p "$artifacts"
failed=0
summary=""
for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz_}
	work=$(mktemp -d)
	if [ -d "$src/tests/fuzz/corpus/$name" ]; then
		cp -r "$src/tests/fuzz/corpus/$name/." "$work/"
	fi
	log=$(mktemp)
	echo "== fuzz $name: ${seconds}s"
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$artifacts/$name-" "$work" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		failed=$((failed + 1))
		tail -n 40 "$log"
		summary="$summary
  $name: FAILED (rc=$rc), $runs runs; see $artifacts"
	else
		summary="$summary
  $name: ok, ${runs:-?} runs in ${seconds}s, ${cov:-cov: ?}, corpus $(ls "$work" | wc -l) inputs"
	fi
	rm -rf "$work" "$log"
done
echo "fuzz summary:$summary"
[ "$failed" -eq 0 ]
