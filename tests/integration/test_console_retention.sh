#!/usr/bin/env bash
# The console's store at its size limit, against a real broker: a console
# started with --store-mb 1 fills up, says so on its --json stream (an
# "error" event naming the store and what to do), stores and shows nothing
# more, and acknowledges nothing it did not store; restarted with a larger
# limit it shows the rest: every alert exactly once across both runs.
# (Pruning by age is proven by the unit tests: days cannot pass here.)
. "$(dirname "$0")/lib.sh"

if [ ! -x "$BIN/blonet-console" ]; then
	echo "$T_NAME: SKIPPED: $BIN/blonet-console is not built"
	finish
fi

provision "$SRC/tests/integration/topology_console.json" || { fail provision; finish; }
start_broker th-broker || { fail "broker starts"; finish; }
CK=th-console-chiangkhong
N=3000

wait_lines() { # wait_lines FILE PATTERN N [SECONDS]
	local i
	for i in $(seq 1 $((${4:-20} * 10))); do
		[ "$(count_lines "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
received_ids() {
	sed -n 's/^{"event":"received","n":[0-9]*,"id":"\([0-9a-f]*\)".*/\1/p' "$@"
}

check "the console rejects a limit under 1 MB" \
	bash -c '! "$0" -c "$1" --json --store-mb 0 </dev/null >/dev/null 2>&1' "$BIN/blonet-console" "$WORK/d/$CK/config.json"
check "and a negative --keep-days" \
	bash -c '! "$0" -c "$1" --json --keep-days -1 </dev/null >/dev/null 2>&1' "$BIN/blonet-console" "$WORK/d/$CK/config.json"

gen_alerts full $N '{"tlp":"TLP_AMBER"}' >"$WORK/a.jsonl"
pub th-customs-maesai "$WORK/a.jsonl" >"$WORK/a.res" 2>&1
check "$N alerts accepted" [ "$(count_lines "$WORK/a.res" '"status":"accepted"')" = $N ]

"$BIN/blonet-console" -c "$WORK/d/$CK/config.json" --json --store-mb 1 </dev/null \
	>"$WORK/1.out" 2>"$WORK/1.err" &
PIDS[ck]=$!
check "a 1 MB store fills up and says so on the JSON stream" \
	wait_lines "$WORK/1.out" '^{"event":"error","text":"console store .* is full (limit 1 MB)' 1 60
check "the message says what to do" grep -q -- '--keep-days.*--store-mb' "$WORK/1.out"
check "and it is on standard error too" grep -q 'is full (limit 1 MB)' "$WORK/1.err"
sleep 2
FIRST=$(received_ids "$WORK/1.out" | wc -l)
check "part of the alerts was stored and shown" [ "$FIRST" -gt 100 -a "$FIRST" -lt $N ]
check "the error is not repeated at every poll" [ "$(count_lines "$WORK/1.out" '"event":"error"')" -le 2 ]
kill -TERM "${PIDS[ck]}"
wait "${PIDS[ck]}"
check "the full console stops cleanly" [ $? = 0 ]
unset "PIDS[ck]"

"$BIN/blonet-console" -c "$WORK/d/$CK/config.json" --json --store-mb 64 --count $((N - FIRST)) \
	--timeout 30 </dev/null >"$WORK/2.out" 2>"$WORK/2.err" &
PIDS[ck]=$!
wait "${PIDS[ck]}"
unset "PIDS[ck]"
check "with a larger limit the rest arrives" \
	[ "$(received_ids "$WORK/1.out" "$WORK/2.out" | wc -l)" = $N ]
check "every alert shown exactly once across both runs" \
	[ "$(received_ids "$WORK/1.out" "$WORK/2.out" | sort -u | wc -l)" = $N ]
check "no error in the second run" [ "$(count_lines "$WORK/2.out" '"event":"error"')" = 0 ]

check "th-broker stops cleanly" stop_broker th-broker TERM
finish
