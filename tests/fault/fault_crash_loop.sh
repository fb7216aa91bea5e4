#!/usr/bin/env bash
# Crash loop: a publisher streams 100,000 alerts (short mode: 5,000) while
# the broker is killed with SIGKILL every 3 to 8 seconds and restarted, at
# least 20 times (short: 3); a durable subscriber reads throughout.
# Figures: acked (distinct alerts the publisher saw acknowledged), stored
# (journal records), delivered (distinct alerts the subscriber got), lost
# (acked but not stored or not delivered: must be 0), duplicates (an alert
# stored twice, or delivered under two sequences, which an application's
# dedup by delivery would pass on: must be 0), redeliveries (deliveries of
# a sequence already delivered: at-least-once at work), order (a sequence
# delivered for the first time below an earlier one: must be 0), kills.
. "$(dirname "$0")/lib.sh"

N=$(short_or 100000 5000)
KILLS=$(short_or 20 3)
# The stream is paced to last about as long as the kills take (5.5 s on
# average each), so that every kill lands in the middle of it.
CHUNK=500
PAUSE=$(awk -v n="$N" -v k="$KILLS" -v c="$CHUNK" 'BEGIN { printf "%.2f", (k * 5.5) / (n / c) }')

provision "$SRC/tests/integration/topology_single.json" || fault_abort "provision"
start_broker th-broker || fault_abort "broker starts"

gen_stream crash "$N" >"$WORK/stream.jsonl"
mkdir "$WORK/chunks"
split -l "$CHUNK" -a 4 "$WORK/stream.jsonl" "$WORK/chunks/c"

bg sub "$FAULT_BIN/fault_sub" -c "$WORK/d/th-committee/config.json" --durable crash \
	--count "$N" --idle 60 >"$WORK/sub.out" 2>"$WORK/sub.err"
bg pub bash -c 'for c in "$1"/c*; do cat "$c"; sleep "$2"; done |
	"$3/blonet-pub" -c "$4" --timeout 120 -' pace "$WORK/chunks" "$PAUSE" "$BIN" \
	"$WORK/d/th-customs-maesai/config.json" >"$WORK/pub.res" 2>"$WORK/pub.err"

kills=0
restart_failed=0
# A publisher that never finishes must not keep the loop going forever.
deadline=$((SECONDS + $(short_or 600 90)))
while { [ "$kills" -lt "$KILLS" ] || kill -0 "${PIDS[pub]}" 2>/dev/null; } && [ $SECONDS -lt $deadline ]; do
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.1f", 3 + 5 * r / 32767 }')"
	# Once the stream is over, the remaining kills go on while the
	# subscriber catches up; after that, stop.
	if [ "$kills" -ge "$KILLS" ] && ! kill -0 "${PIDS[pub]}" 2>/dev/null; then
		break
	fi
	kill_broker th-broker
	kills=$((kills + 1))
	start_broker th-broker >/dev/null || { restart_failed=1; break; }
done
expect "the broker restarts after each kill" [ "$restart_failed" = 0 ]
[ "$restart_failed" = 0 ] || fault_abort "broker restart"

bg_wait pub
pub_rc=$?
expect "blonet-pub got every alert acknowledged (exit $pub_rc)" [ "$pub_rc" = 0 ]
bg_wait sub

acked_ids "$WORK/pub.res" >"$WORK/acked.ids"
journal_ids th-broker >"$WORK/journal.ids"
awk '$2 != "-" { print $2 }' "$WORK/sub.out" | sort -u >"$WORK/delivered.ids"
read -r deliveries seqs delivered twice order <<<"$(sub_figures "$WORK/sub.out")"
acked=$(wc -l <"$WORK/acked.ids")
stored=$(wc -l <"$WORK/journal.ids")
stored_twice=$(uniq -d "$WORK/journal.ids" | wc -l)
lost=$({ comm -23 "$WORK/acked.ids" <(uniq "$WORK/journal.ids")
	comm -23 "$WORK/acked.ids" "$WORK/delivered.ids"; } | sort -u | wc -l)
duplicates=$((stored_twice + twice))
redeliveries=$((deliveries - seqs))

expect "all $N alerts acknowledged (acked=$acked)" [ "$acked" = "$N" ]
zero lost "$lost"
zero duplicates "$duplicates"
zero order "$order"
expect "at least $KILLS kills ($kills)" [ "$kills" -ge "$KILLS" ]
expect "every stored alert delivered (stored=$stored delivered=$delivered)" [ "$delivered" = "$stored" ]
stop_broker th-broker TERM
fault_done "acked=$acked stored=$stored delivered=$delivered lost=$lost duplicates=$duplicates redeliveries=$redeliveries order=$order kills=$kills"
