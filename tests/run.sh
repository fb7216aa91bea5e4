#!/usr/bin/env bash
# Runs every test binary given on the command line and every integration
# test script under tests/integration/, and closes with one line:
#   check: N passed, N failed
# Exits non-zero if any test failed or a binary crashed.
set -u
passed=0
failed=0
crashed=""

run_one() { # run_one NAME COMMAND...
	local name=$1 out rc p f
	shift
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	# cmocka closes each group with "[  PASSED  ] N test(s)." and, if any
	# failed, "[  FAILED  ] N test(s), listed below:".
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed.*/\1/p' | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		crashed="$crashed $name(rc=$rc)"
		failed=$((failed + 1))
	fi
}

for bin in "$@"; do
	run_one "$(basename "$bin")" "$bin"
done

if [ -d "${BLO_SRCDIR:-.}/tests/integration" ]; then
	for t in "${BLO_SRCDIR:-.}"/tests/integration/test_*.sh; do
		[ -e "$t" ] || continue
		run_one "$(basename "$t")" bash "$t"
	done
fi

[ -n "$crashed" ] && echo "check: crashed or failed outside a test:$crashed"
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
