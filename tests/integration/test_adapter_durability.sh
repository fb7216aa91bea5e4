#!/usr/bin/env bash
# The agency adapters when things go wrong: kill -9 of the adapter in the
# middle of a file and a restart leave each record in the broker's journal
# exactly once, re-sending nothing but what was in flight; an adapter started
# before its broker delivers everything once the broker starts; a broker
# killed under a running adapter loses nothing; SIGTERM stops an adapter
# cleanly and the next run finishes the file.
. "$(dirname "$0")/lib.sh"

RULES="$SRC/agents/formats/rules-th.json"
SAMPLES="$SRC/agents/formats/samples"

adapter() { "$BIN/blonet-adapter" "$1" -c "$WORK/d/$2/config.json" "${@:3}"; }
# adapter_bg NAME OUT ERR AGENCY PRINCIPAL ARGS...: the adapter in the
# background, its own PID (no subshell between) in PIDS[NAME].
adapter_bg() {
	"$BIN/blonet-adapter" "$4" -c "$WORK/d/$5/config.json" "${@:6}" >"$2" 2>"$3" &
	PIDS[$1]=$!
}
journal_refs() { ctl th-broker journal | grep -o '"source_ref":"[^"]*"' | cut -d'"' -f4; }
# The journal's record count ("count" of the status's "journal" object; the
# status has other counts).
journal_count() {
	ctl th-broker status | tr -d '\t\n ' | grep -o '"journal":{[^}]*}' |
		grep -o '"count":[0-9]*' | cut -d: -f2
}

# many FILE COPIES: COPIES copies of the customs samples with distinct
# seizure references.
many() {
	for c in $(seq 1 "$2"); do
		sed "s/\"seizure_ref\":\"SZ-\\([0-9]*\\)-68-/\"seizure_ref\":\"SZ-\\1-$c-/" \
			"$SAMPLES/customs-th.jsonl"
	done >"$1"
}

# summary_field FILE KEY: a number from a --json summary.
summary_field() { grep -o "\"$2\":[0-9]*" "$1" | tail -n 1 | cut -d: -f2; }

provision "$SRC/tests/integration/topology_adapter.json" || { fail provision; finish; }

# ---- 1. Adapter started before its broker.
adapter_bg early "$WORK/early.out" "$WORK/early.log" narcotics th-narcotics-maesai \
	--rules "$RULES" --json "$SAMPLES/narcotics-th.jsonl"
EARLY=${PIDS[early]}
sleep 2
check "with no broker the adapter waits" kill -0 "$EARLY"
check "having acknowledged nothing" [ ! -s "$WORK/early.out" ]
start_broker th-broker || { fail "broker starts"; finish; }
wait "$EARLY"
rc=$?
unset "PIDS[early]"
check "once the broker is up, the adapter finishes: exit 0" [ "$rc" = 0 ]
check "every record published" [ "$(summary_field "$WORK/early.out" published)" = 240 ]
check "and in the journal" [ "$(journal_refs | wc -l)" = 240 ]

# ---- 2. kill -9 of the adapter in the middle of a file, then a restart.
many "$WORK/big.jsonl" 10 # 2,400 records
before=$(journal_count)
# A window of one publish at a time makes the file take a while.
adapter_bg kill "$WORK/kill1.out" "$WORK/kill1.log" customs th-customs-maesai \
	--rules "$RULES" --window 1 "$WORK/big.jsonl"
for _ in $(seq 1 300); do
	n=$(journal_count)
	[ "${n:-0}" -ge $((before + 500)) ] && break
	sleep 0.05
done
kill -KILL "${PIDS[kill]}"
wait "${PIDS[kill]}" 2>/dev/null
unset "PIDS[kill]"
at_kill=$(($(journal_count) - before))
check "adapter killed mid-file ($at_kill of 2400 stored)" [ "$at_kill" -gt 0 -a "$at_kill" -lt 2400 ]
adapter customs th-customs-maesai --rules "$RULES" --json "$WORK/big.jsonl" \
	>"$WORK/kill2.out" 2>"$WORK/kill2.log"
rc=$?
check "the restarted adapter finishes the file: exit 0" [ "$rc" = 0 ]
done_before=$(summary_field "$WORK/kill2.out" already_done)
dups=$(summary_field "$WORK/kill2.out" duplicate)
pub=$(summary_field "$WORK/kill2.out" published)
check "it skips what was acknowledged before the kill ($done_before)" \
	[ "$done_before" -ge $((at_kill - 2)) ]
check "it re-sends only what was in flight ($((dups - done_before)) sent again)" \
	[ $((dups - done_before)) -le 2 ]
check "published + duplicates account for every record" [ $((pub + dups)) = 2400 ]
grep -o '"seizure_ref":"[^"]*"' "$WORK/big.jsonl" | cut -d'"' -f4 | sort >"$WORK/big.refs"
journal_refs | sort >"$WORK/journal.refs"
check "the journal holds every record of the file" \
	[ -z "$(comm -23 "$WORK/big.refs" "$WORK/journal.refs")" ]
check "each exactly once" [ -z "$(journal_refs | sort | uniq -d)" ]
check "and nothing else" [ "$(journal_count)" = $((before + 2400)) ]

# ---- 3. The broker killed under a running adapter.
many "$WORK/big2.jsonl" 20 # 4,800 records, new references
sed -i 's/"seizure_ref":"SZ-\([0-9]*\)-\([0-9]*\)-/"seizure_ref":"SZ-\1-B\2-/' "$WORK/big2.jsonl"
before=$(journal_count)
adapter_bg bk "$WORK/bk.out" "$WORK/bk.log" customs th-customs-maesai \
	--rules "$RULES" --window 8 --json "$WORK/big2.jsonl"
for _ in $(seq 1 300); do
	n=$(journal_count)
	[ "${n:-0}" -ge $((before + 300)) ] && break
	sleep 0.05
done
stop_broker th-broker KILL
check "broker killed while the adapter publishes" kill -0 "${PIDS[bk]}"
sleep 1
start_broker th-broker || { fail "broker restarts after kill -9"; finish; }
wait "${PIDS[bk]}"
rc=$?
unset "PIDS[bk]"
check "the adapter rides out the broker's crash: exit 0" [ "$rc" = 0 ]
check "all 4,800 acknowledged" \
	[ $(($(summary_field "$WORK/bk.out" published) + $(summary_field "$WORK/bk.out" duplicate))) = 4800 ]
check "and stored once each" [ "$(journal_count)" = $((before + 4800)) ]
check "no reference twice in the journal" [ -z "$(journal_refs | sort | uniq -d)" ]

# ---- 4. SIGTERM stops the adapter; the next run finishes.
many "$WORK/big3.jsonl" 10
sed -i 's/"seizure_ref":"SZ-\([0-9]*\)-\([0-9]*\)-/"seizure_ref":"SZ-\1-T\2-/' "$WORK/big3.jsonl"
before=$(journal_count)
adapter_bg term "$WORK/term.out" "$WORK/term.log" customs th-customs-maesai \
	--rules "$RULES" --window 1 --json "$WORK/big3.jsonl"
for _ in $(seq 1 300); do
	n=$(journal_count)
	[ "${n:-0}" -ge $((before + 200)) ] && break
	sleep 0.05
done
kill -TERM "${PIDS[term]}"
wait "${PIDS[term]}"
rc=$?
unset "PIDS[term]"
check "SIGTERM: exit 3 (unfinished)" [ "$rc" = 3 ]
check "with a summary of what was done" grep -q '"published":[1-9]' "$WORK/term.out"
adapter customs th-customs-maesai --rules "$RULES" --json "$WORK/big3.jsonl" >"$WORK/term2.out" 2>/dev/null
rc=$?
check "the next run finishes the file: exit 0" [ "$rc" = 0 ]
check "every record stored once" [ "$(journal_count)" = $((before + 2400)) ]
stop_broker th-broker TERM
finish
