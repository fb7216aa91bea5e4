#!/usr/bin/env bash
# Stale reader: a process reading the broker's journal (an operator tool,
# a backup) is killed with SIGKILL in the middle of its LMDB read
# transaction, while the broker runs. Its reader slot pins the snapshot it
# read: until the slot is cleared (mdb_reader_check), no page freed after
# that snapshot can be reused and the journal file grows with every
# commit. The broker is not restarted and no blonetctl runs meanwhile
# (opening the journal clears stale slots as a side effect).
# The journal is bounded (a small map, retention by count); the publisher
# streams several times what the map holds.
# Figures: stale_before (dead slots right after the kill), stale_after
# (after the stream: must be 0), file_start_kb and file_end_kb (data.mdb),
# map_kb (the configured map), growth_kb, acked, lost (must be 0).
. "$(dirname "$0")/lib.sh"

# The map must hold the audit log (about 250 bytes per publish: audit
# retention moves it to the archive files at start, once an hour and when
# the map is full), beside the KEEP newest alerts; the stream is
# about 1.5 times the map, so that retention has to make room.
MAP_MB=$(short_or 16 4)
KEEP=$(short_or 2000 800)
ROUNDS=$(short_or 15 5)
PER_ROUND=$(short_or 2000 1000)

provision "$SRC/tests/integration/topology_single.json" || fault_abort "provision"
set_journal th-broker "\"map_size_mb\": $MAP_MB, \"max_count\": $KEEP"
start_broker th-broker || fault_abort "broker starts"
data="$WORK/d/th-broker/data"
file_kb() { echo $(($(stat -c %s "$data/data.mdb") / 1024)); }

publish_round() { # publish_round TAG
	gen_stream "$1" "$PER_ROUND" >"$WORK/$1.jsonl"
	"$BIN/blonet-pub" -c "$WORK/d/th-customs-maesai/config.json" --timeout 20 "$WORK/$1.jsonl" \
		>"$WORK/$1.res" 2>"$WORK/$1.err"
}

publish_round warm || expect "warm-up round acknowledged" false
# The reader: a read transaction on the current snapshot, then SIGKILL.
bg reader "$FAULT_BIN/fault_lmdb" hold "$data" >"$WORK/reader.out" 2>&1
wait_for 5 grep -q '^holding' "$WORK/reader.out" || fault_abort "the reader holds a transaction"
kill -KILL "${PIDS[reader]}"
{ wait "${PIDS[reader]}"; } 2>/dev/null
unset "PIDS[reader]"
read -r stale_before <<<"$("$FAULT_BIN/fault_lmdb" readers "$data" | sed -n 's/.*dead=\([0-9]*\).*/\1/p')"
expect "the killed reader left a stale slot (stale_before=$stale_before)" [ "${stale_before:-0}" -ge 1 ]
# Commits look for dead readers at most once a second: until the first
# commit a second after the last look, the stream's freed pages stay pinned
# (a second's worth of commits). Let that second pass, so the figures show
# the steady state; without the clearing they grow until the map is full.
sleep 1.2

file_start=$(file_kb)
sizes=""
for r in $(seq 1 "$ROUNDS"); do
	publish_round "r$r" || { expect "round r$r acknowledged" false; sizes="$sizes $(file_kb)"; break; }
	sizes="$sizes $(file_kb)"
done
file_end=$(file_kb)
read -r stale_after <<<"$("$FAULT_BIN/fault_lmdb" readers "$data" | sed -n 's/.*dead=\([0-9]*\).*/\1/p')"
# Now blonetctl may open the journal.
cat "$WORK"/*.res | awk -F'"id":"' '/"status":"(accepted|duplicate)"/ {split($2, a, "\""); print a[1]}' |
	sort -u >"$WORK/acked.ids"
acked=$(wc -l <"$WORK/acked.ids")
# Retention may have purged acknowledged alerts (it keeps the newest $KEEP):
# lost counts those of the last round missing from the journal.
journal_ids th-broker >"$WORK/journal.ids"
awk -F'"id":"' '/"status":"(accepted|duplicate)"/ {split($2, a, "\""); print a[1]}' \
	"$WORK/r$r.res" | sort -u >"$WORK/last.ids"
lost=$(comm -23 "$WORK/last.ids" <(uniq "$WORK/journal.ids") | wc -l)
map_kb=$((MAP_MB * 1024))
growth=$((file_end - file_start))

zero stale_after "$stale_after"
zero lost "$lost"
expect "every publish acknowledged ($acked of $(((ROUNDS + 1) * PER_ROUND)))" \
	[ "$acked" = $(((ROUNDS + 1) * PER_ROUND)) ]
# The map may exceed its size by the reserve for refusals (1/64) and by
# purge's steps on a full map (1/64 each); a pinned snapshot makes purge
# step again and again.
expect "the journal file stays within its map and reserve (${file_end} KiB, sizes:$sizes)" \
	[ "$file_end" -le $((map_kb + 3 * (map_kb / 64 > 256 ? map_kb / 64 : 256))) ]
stop_broker th-broker TERM
fault_done "stale_before=$stale_before stale_after=$stale_after file_start_kb=$file_start file_kb_by_round=$(echo $sizes | tr " " ,) file_end_kb=$file_end map_kb=$map_kb growth_kb=$growth acked=$acked lost=$lost"
