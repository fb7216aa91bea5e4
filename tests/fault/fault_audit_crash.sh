#!/usr/bin/env bash
# Audit archive under SIGKILL: the journal keeps at most audit.max_records
# audit records, and the broker moves the rest to the archive files first
# thing when it starts. Each round publishes a burst (thousands of accept
# records to move), then kills the broker with SIGKILL at a random moment
# of the first 0.15 s after each exec, several times, so that kills land
# while a move reads the journal, writes its file or trims the journal.
# At the end, a clean start lets the last moves finish.
# Figures: rounds, kills, moves (starts that logged a finished move), cut
# (starts that logged their start but no finished move: killed in or
# before it), head
# (the newest audit sequence), archived and
# journal (records in each, the anchor's overlap counted once), files,
# lost (an audit sequence in neither: must be 0), twice (one held twice in
# the archive up to the anchor: must be 0), accepts (accept records of
# acknowledged alerts found: must be all), verify (audit-verify's exit: 0).
. "$(dirname "$0")/lib.sh"

ROUNDS=$(short_or 8 2)
PER_ROUND=$(short_or 50000 3000)
KILLS=$(short_or 4 2) # per round
KEEP=500

provision "$SRC/tests/integration/topology_single.json" || fault_abort "provision"
cfg="$WORK/d/th-broker/config.json"
python3 - "$cfg" "$KEEP" <<'EOF' || fault_abort "audit settings"
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["audit"] = {"max_records": int(sys.argv[2]), "archive_dir": "archive"}
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
EOF
ARCH="$WORK/d/th-broker/archive"
start_broker th-broker || fault_abort "broker starts"

kills=0
for r in $(seq 1 "$ROUNDS"); do
	gen_stream "r$r" "$PER_ROUND" >"$WORK/r$r.jsonl"
	"$BIN/blonet-pub" -c "$WORK/d/th-customs-maesai/config.json" --timeout 60 "$WORK/r$r.jsonl" \
		>"$WORK/r$r.res" 2>"$WORK/r$r.err"
	expect "round $r: every publish acknowledged" [ $? = 0 ]
	# Killed at a random moment of its first 0.15 s from exec: opening
	# the journal, moving (reading, writing the file, trimming), serving.
	for _ in $(seq 1 "$KILLS"); do
		kill_broker th-broker
		kills=$((kills + 1))
		"$BIN/blonet-broker" -c "$cfg" 2>>"$WORK/th-broker.log" &
		PIDS[th-broker]=$!
		sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.15 * r / 32767 }')"
	done
	kill_broker th-broker
	kills=$((kills + 1))
	start_broker th-broker >/dev/null || fault_abort "restart after kill $kills"
done
kill_broker th-broker
kills=$((kills + 1))
start_broker th-broker >/dev/null || fault_abort "the last start"
# The last moves: until the journal is down to its KEEP (and this start's own).
wait_for 30 sh -c '"$1" -c "$2" audit-verify 2>/dev/null | grep -q "\"journal_records\":[0-9]\{1,3\},"' \
	check "$BIN/blonetctl" "$cfg"
stop_broker th-broker TERM

"$BIN/blonetctl" -c "$cfg" audit-verify >"$WORK/verify.json" 2>&1
verify=$?
field() { grep -o "\"$1\":[a-z0-9]*" "$WORK/verify.json" | cut -d: -f2; }
"$BIN/blonetctl" -c "$cfg" audit >"$WORK/journal.audit"
head_aseq=$(tail -n 1 "$WORK/journal.audit" | grep -o '^{"aseq":[0-9]*' | cut -d: -f2)
anchor=$(( ${head_aseq:-0} - $(field journal_records) ))
# The archive up to the anchor, then the journal: 1..head, each once.
{ grep -hv '^prev	' "$ARCH"/audit-*.jsonl 2>/dev/null | cut -f1 |
	awk -v a="$anchor" -F'[:,]' '$2 <= a'; cat "$WORK/journal.audit"; } |
	grep -o '^{"aseq":[0-9]*' | cut -d: -f2 >"$WORK/aseqs"
lost=$(seq 1 "${head_aseq:-0}" | sort | comm -23 - <(sort -u "$WORK/aseqs") | wc -l)
twice=$(sort "$WORK/aseqs" | uniq -d | wc -l)
# Every acknowledged alert's accept record is somewhere.
cat "$WORK"/r*.res | awk -F'"id":"' '/"status":"accepted"/ {split($2, a, "\""); print a[1]}' |
	sort -u >"$WORK/acked.ids"
{ grep -hv '^prev	' "$ARCH"/audit-*.jsonl 2>/dev/null | cut -f1; cat "$WORK/journal.audit"; } |
	grep '"event":"accept"' | grep -o '"alert":"[0-9a-f]*"' | cut -d'"' -f4 | sort -u >"$WORK/accept.ids"
missing_accepts=$(comm -23 "$WORK/acked.ids" "$WORK/accept.ids" | wc -l)
acked=$(wc -l <"$WORK/acked.ids")

expect "audit-verify passes over archive and journal (exit $verify)" [ "$verify" = 0 ]
expect "the journal is down to its audit.max_records ($(field journal_records))" \
	[ "$(field journal_records)" -le $((KEEP + 100)) ]
expect "some records were archived ($(field archived_records))" [ "$(field archived_records)" -gt 0 ]
zero lost "$lost"
zero twice "$twice"
zero missing_accepts "$missing_accepts"
moves=$(grep -c '"audit.archived"' "$WORK/th-broker.log")
cut=$(grep -o '"event":"\(broker.started\|audit.archived\)"' "$WORK/th-broker.log" |
	awk '/started/ { if (open) n++; open = 1 } /archived/ { open = 0 } END { print n + 0 }')
fault_done "rounds=$ROUNDS kills=$kills moves=$moves cut=$cut head=${head_aseq:-0} archived=$(field archived_records) journal=$(field journal_records) files=$(field archive_files) lost=$lost twice=$twice accepts=$((acked - missing_accepts))/$acked verify=$verify"
