#!/usr/bin/env bash
# Runs every test binary given on the command line, every integration
# test script under tests/integration/ and every fault scenario under
# tests/fault/ in its short mode, and closes with one line:
#   check: N passed, N failed[, N skipped]
# before which it lists the ten slowest tests (CI has 30 minutes for three
# builds). Exits non-zero if any test failed or a binary crashed.
#
# An integration test whose header has the line "# check: beside" spends
# its time waiting on timers (a link cut for 20 s, loss for a minute), not
# on the CPU: those run one after another in a second lane, beside the
# rest, and their output is printed after it. Each test makes its own
# folder, ports and namespaces, so the two lanes share none of those; a
# test that binds fixed ports in the first namespace may not be marked.
set -u
passed=0
failed=0
skipped=0
crashed=""
times="" # "SECONDS NAME" lines

# took NAME START: notes how long NAME ran since START ($SECONDS).
took() { times="$times$((SECONDS - $2)) $1
"; }

run_one() { # run_one NAME COMMAND...
	local name=$1 out rc start=$SECONDS
	shift
	out=$("$@" 2>&1)
	rc=$?
	took "$name" "$start"
	tally "$name" "$out" "$rc"
}

tally() { # tally NAME OUTPUT STATUS: prints a test's output and counts it
	local name=$1 out=$2 rc=$3 p f
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

# The second lane: its tests in order, each one's output, status and time
# in files of its own under $beside_dir. Interrupted (or stopped with
# SIGTERM), run.sh stops the lane's test too, which then cleans up after
# itself, and removes the folder.
beside=()
beside_dir=""
beside_pid=""
beside_names=""
stop_beside() {
	[ -n "$beside_pid" ] || return 0
	kill -TERM "$beside_pid" 2>/dev/null
	wait "$beside_pid" 2>/dev/null
	rm -rf "$beside_dir"
	beside_pid=""
}
trap 'stop_beside; exit 130' INT
trap 'stop_beside; exit 143' TERM
if [ -d "${BLO_SRCDIR:-.}/tests/integration" ]; then
	mapfile -t beside < <(grep -l '^# check: beside$' "${BLO_SRCDIR:-.}"/tests/integration/test_*.sh 2>/dev/null)
	if [ "${#beside[@]}" -gt 0 ]; then
		beside_dir=$(mktemp -d "${TMPDIR:-/tmp}/blonet-check-XXXXXX")
		for t in "${beside[@]}"; do
			beside_names="$beside_names $(basename "$t")"
		done
		(
			child=""
			trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child"; exit 143' TERM
			for t in "${beside[@]}"; do
				n=$(basename "$t")
				start=$SECONDS
				bash "$t" >"$beside_dir/$n.out" 2>&1 &
				child=$!
				wait "$child"
				echo $? >"$beside_dir/$n.rc"
				child=""
				echo $((SECONDS - start)) >"$beside_dir/$n.s"
			done
		) &
		beside_pid=$!
	fi
fi

for bin in "$@"; do
	run_one "$(basename "$bin")" "$bin"
done

if [ -d "${BLO_SRCDIR:-.}/tests/integration" ]; then
	for t in "${BLO_SRCDIR:-.}"/tests/integration/test_*.sh; do
		[ -e "$t" ] || continue
		case " $beside_names " in *" $(basename "$t") "*) continue ;; esac
		run_one "$(basename "$t")" bash "$t"
	done
fi

# A fault scenario is one test, judged by its exit status: 0 passed, 77
# skipped (not counted as passed), anything else failed.
run_fault() { # run_fault SCRIPT
	local name out rc line start=$SECONDS
	name=$(basename "$1" .sh)
	out=$(BLO_FAULT_SHORT=1 bash "$1" 2>&1)
	rc=$?
	took "$name" "$start"
	printf '%s\n' "$out" | grep -v '^FAULT '
	line=$(printf '%s\n' "$out" | grep '^FAULT ' | tail -n 1)
	case $rc in
	0) echo "[       OK ] $name: ${line:-no figures line}"; passed=$((passed + 1)) ;;
	77) echo "[  SKIPPED ] $name: ${line:-no figures line}"; skipped=$((skipped + 1)) ;;
	*) echo "[  FAILED  ] $name: ${line:-no figures line} (exit $rc)"; failed=$((failed + 1)) ;;
	esac
}

if [ -d "${BLO_SRCDIR:-.}/tests/fault" ] && [ -n "${BLO_FAULT_BIN:-}" ]; then
	for t in "${BLO_SRCDIR:-.}"/tests/fault/fault_*.sh; do
		[ -e "$t" ] || continue
		run_fault "$t"
	done
fi

if [ -n "$beside_pid" ]; then
	wait "$beside_pid"
	for n in $beside_names; do
		if [ -e "$beside_dir/$n.rc" ]; then
			times="$times$(cat "$beside_dir/$n.s") $n (beside)
"
			tally "$n" "$(cat "$beside_dir/$n.out")" "$(cat "$beside_dir/$n.rc")"
		else
			crashed="$crashed $n(did not finish)"
			failed=$((failed + 1))
		fi
	done
	rm -rf "$beside_dir"
	beside_pid=""
fi

printf '%s' "$times" | sort -rn | head -n 10 | awk '{t = $1; $1 = ""; printf "check: slowest:%s %d s\n", $0, t}'
[ -n "$crashed" ] && echo "check: crashed or failed outside a test:$crashed"
echo "check: $passed passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
[ "$failed" -eq 0 ]
