#!/usr/bin/env bash
# The agency adapters against a real broker: the 240-record sample export of
# each agency published and in the journal once each, signed by the agency's
# principal; the same files again are duplicates; files mixing good and bad
# records (the golden records) publish every good one and put every bad one
# in the reject file with the reason the golden files give; standard input;
# a spool folder whose files move to done/ and failed/.
. "$(dirname "$0")/lib.sh"

RULES="$SRC/agents/formats/rules-th.json"
GOLDEN="$SRC/tests/golden/adapters"

# adapter AGENCY PRINCIPAL ARGS...: blonet-adapter as PRINCIPAL.
adapter() { "$BIN/blonet-adapter" "$1" -c "$WORK/d/$2/config.json" "${@:3}"; }

# journal_field KEY: the values of "KEY":"..." in the broker's journal.
journal_refs() { ctl th-broker journal | grep -o '"source_ref":"[^"]*"' | cut -d'"' -f4; }

# reasons FILE: the "reason" strings of a reject file or golden file, sorted.
reasons() { grep -oE '"reason":"([^"\\]|\\.)*"' "$1" | sort; }

provision "$SRC/tests/integration/topology_adapter.json" || { fail provision; finish; }
start_broker th-broker || { fail "broker starts"; finish; }

# ---- 1. The samples, 240 records per agency.
for spec in customs:th-customs-maesai:customs-th.jsonl \
	immigration:th-immigration-maesai:immigration-th.csv \
	narcotics:th-narcotics-maesai:narcotics-th.jsonl; do
	IFS=: read -r agency who file <<<"$spec"
	adapter "$agency" "$who" --rules "$RULES" "$SRC/agents/formats/samples/$file" \
		>"$WORK/$agency.out" 2>"$WORK/$agency.log"
	rc=$?
	check "$agency samples: exit 0" [ "$rc" = 0 ]
	check "$agency samples: read 240, published 240" \
		grep -q "read 240, published 240, duplicate 0, rejected 0" "$WORK/$agency.out"
done
journal_refs >"$WORK/refs"
check "the journal holds the 720 sample alerts" [ "$(wc -l <"$WORK/refs")" = 720 ]
check "each once" [ -z "$(sort "$WORK/refs" | uniq -d)" ]
ctl th-broker journal >"$WORK/journal.out"
check "customs alerts are signed as th-customs-maesai" \
	[ "$(grep -c '"principal":"th-customs-maesai","agency":"CUSTOMS"' "$WORK/journal.out")" = 240 ]
check "immigration alerts as th-immigration-maesai" \
	[ "$(grep -c '"principal":"th-immigration-maesai","agency":"IMMIGRATION"' "$WORK/journal.out")" = 240 ]
check "narcotics alerts as th-narcotics-maesai" \
	[ "$(grep -c '"principal":"th-narcotics-maesai","agency":"NARCOTICS_POLICE"' "$WORK/journal.out")" = 240 ]
check "immigration hits are TLP:AMBER+STRICT" \
	[ "$(grep -c '"agency":"IMMIGRATION".*"tlp":"TLP_AMBER_STRICT"' "$WORK/journal.out")" = 240 ]

# ---- 2. Submitted again: duplicates, nothing new stored.
adapter customs th-customs-maesai --rules "$RULES" "$SRC/agents/formats/samples/customs-th.jsonl" \
	>"$WORK/again.out" 2>/dev/null
check "a re-submitted export is all duplicates" \
	grep -q "read 240, published 0, duplicate 240 (240 already done), rejected 0" "$WORK/again.out"
# A fresh progress store: the broker itself says duplicate.
adapter customs th-customs-maesai --rules "$RULES" --state "$WORK/fresh-state" \
	"$SRC/agents/formats/samples/customs-th.jsonl" >"$WORK/again2.out" 2>/dev/null
check "with no progress store the broker answers duplicate" \
	grep -q "read 240, published 0, duplicate 240, rejected 0" "$WORK/again2.out"
check "still 720 alerts stored" [ "$(journal_refs | wc -l)" = 720 ]

# ---- 3. Good and bad records mixed: the golden files.
for spec in customs:th-customs-maesai:customs.records.jsonl:15:1:18 \
	immigration:th-immigration-maesai:immigration.records.csv:11:0:12 \
	narcotics:th-narcotics-maesai:narcotics.records.jsonl:8:1:11; do
	IFS=: read -r agency who file pub dup rej <<<"$spec"
	read_n=$((pub + dup + rej))
	adapter "$agency" "$who" --rules "$GOLDEN/rules.json" --rejects "$WORK/$agency.rejects" \
		--json "$GOLDEN/$file" >"$WORK/$agency.mixed" 2>"$WORK/$agency.mixed.log"
	rc=$?
	check "$agency mixed file: exit 1 (some rejected)" [ "$rc" = 1 ]
	check "$agency mixed file: read $read_n, published $pub, duplicate $dup, rejected $rej" \
		grep -q "\"read\":$read_n,\"published\":$pub,\"duplicate\":$dup,\"already_done\":$dup,\"rejected\":$rej," \
		"$WORK/$agency.mixed"
	expected="$GOLDEN/${file%%.*}.alerts.jsonl"
	check "$agency: the reject file has each bad record with the golden reason" \
		diff <(reasons "$expected") <(reasons "$WORK/$agency.rejects")
	check "$agency: rejects name record and line" \
		[ "$(grep -c '"record":[0-9]*,"line":[0-9]*' "$WORK/$agency.rejects")" = "$rej" ]
	check "$agency: and are in the log" \
		[ "$(grep -c '"event":"adapter.rejected"' "$WORK/$agency.mixed.log")" = "$rej" ]
	grep -o '^{"id":"[0-9a-f]*"' "$expected" | cut -d'"' -f4 | sort -u >"$WORK/$agency.want"
	ctl th-broker journal | grep -o '"alert":{"id":"[0-9a-f]*"' | cut -d'"' -f6 | sort >"$WORK/ids"
	check "$agency: every good record is in the journal" \
		[ -z "$(comm -23 "$WORK/$agency.want" "$WORK/ids")" ]
	check "$agency: nothing stored twice" [ -z "$(uniq -d "$WORK/ids")" ]
done
check "a record that is not UTF-8 goes to the reject file as hex" \
	grep -q '"record":32,.*"text_hex":"' "$WORK/customs.rejects"

# ---- 4. Standard input.
head -n 3 "$GOLDEN/narcotics.records.jsonl" | sed 's/-PS-91/-PS-STDIN-91/; s/NSB-D3-91/NSB-D3-STDIN-91/' |
	adapter narcotics th-narcotics-maesai --rules "$GOLDEN/rules.json" - >"$WORK/stdin.out" 2>/dev/null
check "records from standard input are published" \
	grep -q "^stdin: read 3, published 3, duplicate 0, rejected 0" "$WORK/stdin.out"

# ---- 5. A spool folder.
SPOOL="$WORK/spool"
mkdir -p "$SPOOL"
sed 's/"hit_ref"/"hit_ref"/' "$SRC/agents/formats/samples/immigration-th.csv" |
	sed '1!s/^\([A-Z]*\)-2025/\1-SPOOL-2025/' >"$SPOOL/a-hits.csv"
cp "$GOLDEN/immigration.records.csv" "$SPOOL/b-mixed.csv"
printf 'hit_ref,checkpoint,colour\r\nX,MSI,red\r\n' >"$SPOOL/c-bad-header.csv"
cp "$SPOOL/a-hits.csv" "$SPOOL/d-being-written.csv.part"
adapter immigration th-immigration-maesai --rules "$GOLDEN/rules.json" --spool "$SPOOL" --once \
	--rejects "$WORK/spool.rejects" >"$WORK/spool.out" 2>"$WORK/spool.log"
rc=$?
check "spool run exits 1 (some file had rejects)" [ "$rc" = 1 ]
check "a file all published goes to done/" [ -f "$SPOOL/done/a-hits.csv" ]
check "its summary" grep -q "a-hits.csv: read 240, published 240, duplicate 0, rejected 0; moved to .*done/a-hits.csv" "$WORK/spool.out"
check "a file with rejects goes to failed/" [ -f "$SPOOL/failed/b-mixed.csv" ]
check "a file with a bad header goes to failed/" [ -f "$SPOOL/failed/c-bad-header.csv" ]
check "the bad header is in the reject file as record 0" \
	grep -q '"record":0,"line":0,"reason":"immigration: header (line 1): column 3: unknown column \\"colour\\"' "$WORK/spool.rejects"
check "a .part file is left alone" [ -f "$SPOOL/d-being-written.csv.part" ]
check "nothing else is left in the spool" [ "$(find "$SPOOL" -maxdepth 1 -type f | wc -l)" = 1 ]
cp "$GOLDEN/immigration.records.csv" "$SPOOL/b-mixed.csv"
adapter immigration th-immigration-maesai --rules "$GOLDEN/rules.json" --spool "$SPOOL" --once \
	--rejects "$WORK/spool.rejects" >"$WORK/spool2.out" 2>/dev/null
check "the same name again goes beside the first, with a suffix" [ -f "$SPOOL/failed/b-mixed.csv.1" ]
check "its rejects are not written twice" \
	[ "$(grep -c '"input":"[^"]*b-mixed.csv"' "$WORK/spool.rejects")" = 12 ]

# ---- 6. Wrong setups are refused before anything is read.
adapter customs th-narcotics-maesai --rules "$RULES" "$GOLDEN/customs.records.jsonl" \
	>/dev/null 2>"$WORK/wrong.err"
rc=$?
check "a narcotics principal cannot run the customs adapter" [ "$rc" = 2 ]
check "and says why" grep -q "not a CUSTOMS agent" "$WORK/wrong.err"
adapter customs th-customs-maesai --rules "$SRC/agents/formats/rules-la.json" \
	"$GOLDEN/customs.records.jsonl" >/dev/null 2>"$WORK/wrong2.err"
rc=$?
check "rules of another country are refused" [ "$rc" = 2 ]
stop_broker th-broker TERM
finish
