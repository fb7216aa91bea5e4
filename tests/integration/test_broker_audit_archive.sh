#!/usr/bin/env bash
# Audit retention on a real broker: with audit.max_records set, the journal
# keeps at most that many audit records and the oldest move to the archive
# files; no record is lost on the way (every accept of every round is in
# the archive or the journal, once), audit-verify checks archive and
# journal as one chain and catches a changed byte or a missing newest file,
# and with alert retention bounded too the journal's file stops growing.
. "$(dirname "$0")/lib.sh"

KEEP=2000
ROUNDS=6
provision "$SRC/tests/integration/topology_single.json" || { fail provision; finish; }
cfg="$WORK/d/th-broker/config.json"
sed -i "s/\"data_dir\": *\"data\",/\"data_dir\": \"data\", \"journal\": {\"max_count\": 1000}, \"audit\": {\"max_records\": $KEEP, \"archive_dir\": \"archive\"},/" "$cfg"
grep -q '"archive"' "$cfg" || { fail "could not set audit retention"; finish; }
ARCH="$WORK/d/th-broker/archive"
start_broker th-broker || { fail "broker starts"; finish; }

# verify_field NAME: a number or boolean of the last audit-verify output.
verify_field() { grep -o "\"$1\":[a-z0-9]*" "$WORK/verify.json" | cut -d: -f2; }
# head_aseq: the newest audit sequence the journal holds.
head_aseq() { ctl th-broker audit | tail -n 1 | grep -o '^{"aseq":[0-9]*' | cut -d: -f2; }

# records FILES...: the record lines of archive files (not their prev lines).
records() { grep -hv '^prev	' "$@" | cut -f1; }

sizes=()
accepted=0
for r in $(seq 1 $ROUNDS); do
	# A copy of the journal as a backup would take it, before round 4.
	[ "$r" = 4 ] && cp "$WORK/d/th-broker/data/data.mdb" "$WORK/backup.mdb"
	gen_alerts "round$r" 1000 >"$WORK/r.jsonl"
	pub th-customs-maesai "$WORK/r.jsonl" >"$WORK/r.res" 2>/dev/null
	accepted=$((accepted + $(count_lines "$WORK/r.res" '"status":"accepted"')))
	sub th-console-maesai --durable arch --count 1000 --timeout 10 >/dev/null 2>&1
	stop_broker th-broker TERM
	# Retention runs when the broker starts, then every minute.
	start_broker th-broker || { fail "broker restarts (round $r)"; finish; }
	for _ in $(seq 1 100); do
		ctl th-broker audit-verify >"$WORK/verify.json" 2>&1 &&
			[ "$(verify_field journal_records)" -le $((KEEP + 50)) ] && break
		sleep 0.1
	done
	sizes+=("$(stat -c %s "$WORK/d/th-broker/data/data.mdb")")
done
check "every round's alerts were accepted ($accepted)" [ "$accepted" = $((ROUNDS * 1000)) ]

# The broker's own records (its start) are committed a moment after the
# event, with the next publish or within 300 ms: read once they are in and
# the head stays put.
prev=
for _ in $(seq 1 50); do
	ctl th-broker audit-verify >"$WORK/verify.json" 2>&1
	now=$(head_aseq)
	[ "$(verify_field records)" = "$now" ] && [ "$now" = "$prev" ] && break
	prev=$now
	sleep 0.4
done
check "audit-verify passes over archive and journal" [ "$(verify_field ok)" = true ]
check "the journal keeps at most audit.max_records (+ this run's) ($(verify_field journal_records))" \
	[ "$(verify_field journal_records)" -le $((KEEP + 50)) ]
check "the rest moved to the archive ($(verify_field archived_records) records)" \
	[ "$(verify_field archived_records)" -ge $((ROUNDS * 1000 - KEEP)) ]
check "one archive file per move ($(verify_field archive_files))" \
	[ "$(verify_field archive_files)" = "$(ls "$ARCH" | wc -l)" -a "$(ls "$ARCH" | wc -l)" -ge 2 ]
check "the archive starts at the chain's start" [ "$(verify_field archive_from_start)" = true ]
check "records counted once across archive and journal" \
	[ "$(verify_field records)" = "$(head_aseq)" ]

# Every record 1..head exactly once, in order, across the archive (up to
# the anchor) and the journal.
anchor=$(($(head_aseq) - $(verify_field journal_records)))
{ records "$ARCH"/audit-*.jsonl | head -n "$anchor"; ctl th-broker audit; } >"$WORK/all.jsonl"
check "archive lines are JSON records (jq reads every one)" \
	jq -e -s 'length > 0' <(records "$ARCH"/audit-*.jsonl) >/dev/null
check "aseq 1..head, each once and in order" \
	[ "$(grep -o '^{"aseq":[0-9]*' "$WORK/all.jsonl" | cut -d: -f2 | awk '$1 != NR {bad = 1} END {print bad + 0, NR}')" = "0 $(head_aseq)" ]
check "every accepted alert's accept record is kept, once" \
	[ "$(grep -c '"event":"accept"' "$WORK/all.jsonl")" = "$accepted" ]

# The journal's file stops growing once retention bounds it: the last
# rounds add no more than a tenth to what the middle round had.
mid=${sizes[$((ROUNDS / 2))]}
last=${sizes[$((ROUNDS - 1))]}
check "the journal file stops growing (sizes ${sizes[*]})" [ "$last" -le $((mid + mid / 10)) ]

# Tampering. One byte of an archived record's text.
first=$(ls "$ARCH" | head -n 1)
cp "$ARCH/$first" "$WORK/saved"
sed -i '6s/"event":"/"event":"X/' "$ARCH/$first"
if ctl th-broker audit-verify >"$WORK/verify.json" 2>&1; then
	fail "audit-verify fails after an archived record is changed"
else
	ok "audit-verify fails after an archived record is changed"
fi
check "it names the file and the record" grep -q "$first: record 5: hash does not match" "$WORK/verify.json"
cp "$WORK/saved" "$ARCH/$first"
check "the restored file verifies again" ctl th-broker audit-verify

# The newest archive file taken away: the archive no longer meets the journal.
newest=$(ls "$ARCH" | tail -n 1)
mv "$ARCH/$newest" "$WORK/saved"
if ctl th-broker audit-verify >"$WORK/verify.json" 2>&1; then
	fail "audit-verify fails without the newest archive file"
else
	ok "audit-verify fails without the newest archive file"
fi
mv "$WORK/saved" "$ARCH/$newest"
# The oldest taken away (to cold storage): the rest still verifies.
mv "$ARCH/$first" "$WORK/saved"
ctl th-broker audit-verify >"$WORK/verify.json" 2>&1
check "without the oldest file the rest still verifies" [ "$(verify_field ok)" = true ]
check "and it says the archive no longer starts at the chain's start" \
	[ "$(verify_field archive_from_start)" = false ]
mv "$WORK/saved" "$ARCH/$first"

# The journal restored from the copy taken before round 4, beside the newer
# archive: the broker's next records differ from the archived ones of the
# same sequence numbers. No archive file may be overwritten: the move is
# refused and said so, the records stay in the journal, and audit-verify
# fails until the operator moves the newer archive aside.
check "SIGTERM exits 0" stop_broker th-broker TERM
md5sum "$ARCH"/* >"$WORK/archive.md5"
cp "$WORK/backup.mdb" "$WORK/d/th-broker/data/data.mdb"
# As OPERATIONS says: the write-ahead log goes with the lock file.
rm -f "$WORK/d/th-broker/data/lock.mdb" "$WORK/d/th-broker/data/wal"
start_broker th-broker || { fail "broker starts on the restored journal"; finish; }
gen_alerts after-restore 3000 >"$WORK/r.jsonl"
pub th-customs-maesai "$WORK/r.jsonl" >/dev/null 2>&1
stop_broker th-broker TERM
start_broker th-broker || { fail "broker restarts on the restored journal"; finish; }
wait_log() { for _ in $(seq 1 50); do grep -q "$1" "$WORK/th-broker.log" && return 0; sleep 0.1; done; return 1; }
check "the move over the newer archive is refused and logged (audit.archive_failed)" \
	wait_log '"audit.archive_failed".*a file of another history'
check "no archive file was changed" md5sum --quiet -c "$WORK/archive.md5"
if ctl th-broker audit-verify >"$WORK/verify.json" 2>&1; then
	fail "audit-verify fails while the archive is of another history"
else
	ok "audit-verify fails while the archive is of another history"
fi
# The operator's fix (OPERATIONS.md): the newer archive moved aside.
stop_broker th-broker TERM
mv "$ARCH" "$WORK/archive-aside"
start_broker th-broker || { fail "broker restarts with the archive moved aside"; finish; }
for _ in $(seq 1 50); do [ -n "$(ls "$ARCH" 2>/dev/null)" ] && break; sleep 0.1; done
ctl th-broker audit-verify >"$WORK/verify.json" 2>&1
check "with the archive moved aside, moves go on and the log verifies" [ "$(verify_field ok)" = true ]
check "SIGTERM exits 0 at the end" stop_broker th-broker TERM
finish
