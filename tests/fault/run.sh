#!/usr/bin/env bash
# Runs every fault scenario, tests/fault/fault_*.sh (or those named on the
# command line, e.g. `run.sh crash_loop disk_full`), full length unless
# BLO_FAULT_SHORT=1. Each scenario prints one line "FAULT name: figures"
# and exits 0 (pass), 1 (fail) or 77 (skipped, with the reason). Prints
# the figures lines again at the end, then
#   faults: N passed, N failed, N skipped (S s)
# and exits non-zero if any scenario failed (a skip is not a pass, but
# not a failure either). Each scenario's whole output is kept in
# ${BLO_FAULT_LOGS:-/tmp}/blonet-fault-logs-PID/ when one fails.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
export BLO_SRCDIR=${BLO_SRCDIR:-$(cd "$dir/../.." && pwd)}
: "${BLO_BIN:?run through make faults}" "${BLO_PROBE:?run through make faults}"
: "${BLO_FAULT_BIN:?run through make faults}"

scenarios=()
if [ $# -gt 0 ]; then
	for n in "$@"; do scenarios+=("$dir/fault_${n#fault_}.sh"); done
else
	for t in "$dir"/fault_*.sh; do [ -e "$t" ] && scenarios+=("$t"); done
fi

passed=0 failed=0 skipped=0 lines="" start=$SECONDS
logs=$(mktemp -d "${BLO_FAULT_LOGS:-/tmp}/blonet-fault-logs-XXXXXX")
for t in "${scenarios[@]}"; do
	name=$(basename "$t" .sh)
	echo "== $name$([ "${BLO_FAULT_SHORT:-0}" = 1 ] && echo ' (short)')"
	bash "$t" 2>&1 | tee "$logs/$name.log"
	rc=${PIPESTATUS[0]}
	line=$(grep '^FAULT ' "$logs/$name.log" | tail -n 1)
	[ -n "$line" ] || line="FAULT ${name#fault_}: no figures line (exit $rc)"
	case $rc in
	0) passed=$((passed + 1)); lines="$lines
  pass  $line" ;;
	77) skipped=$((skipped + 1)); lines="$lines
  skip  $line" ;;
	*) failed=$((failed + 1)); lines="$lines
  FAIL  $line (exit $rc)" ;;
	esac
done
echo "== summary$lines"
echo "faults: $passed passed, $failed failed, $skipped skipped ($((SECONDS - start)) s)"
if [ "$failed" -eq 0 ]; then
	rm -rf "$logs"
else
	echo "faults: logs kept in $logs"
fi
[ "$failed" -eq 0 ]
