#!/usr/bin/env bash
# Durability on one node: a subscriber offline during 10,000 publishes gets
# each exactly once when it returns; kill -9 of the broker in the middle of
# a 20,000-alert stream loses nothing acknowledged and delivers nothing
# twice; a full journal refuses publishes with a clear error, keeps
# delivering, loses nothing acknowledged and recovers when it has room.
. "$(dirname "$0")/lib.sh"

provision "$SRC/tests/integration/topology_single.json" || { fail provision; finish; }
start_broker th-broker || { fail "broker starts"; finish; }

# ---- 1. Offline subscriber.
sub th-console-maesai --durable offline --timeout 1 >/dev/null 2>&1
gen_alerts offline 10000 >"$WORK/offline.jsonl"
pub th-customs-maesai "$WORK/offline.jsonl" >"$WORK/offline.res" 2>/dev/null
check "10,000 publishes acknowledged while the subscriber is away" \
	[ "$(count_lines "$WORK/offline.res" '"status":"accepted"')" = 10000 ]
sub th-console-maesai --durable offline --count 10000 --timeout 20 >"$WORK/offline.out" 2>&1
check "the returning subscriber gets all 10,000" [ "$(distinct_ids "$WORK/offline.out")" = 10000 ]
check "and each exactly once" [ "$(grep -c '"alert"' "$WORK/offline.out")" = 10000 ]

# ---- 2. kill -9 in the middle of a 20,000-alert stream.
gen_alerts crash 20000 >"$WORK/crash.jsonl"
"$BIN/blonet-pub" -c "$WORK/d/th-customs-chiangkhong/config.json" --timeout 90 "$WORK/crash.jsonl" \
	>"$WORK/crash.res" 2>"$WORK/crash.err" &
PUB=$!
# Kill once some of the stream is acknowledged, but not all of it.
for _ in $(seq 1 200); do
	[ "$(wc -l <"$WORK/crash.res")" -ge 3000 ] && break
	sleep 0.05
done
acked_before=$(count_lines "$WORK/crash.res" '"status":"accepted"')
stop_broker th-broker KILL
check "broker killed mid-stream (after $acked_before acks)" [ "$acked_before" -gt 0 -a "$acked_before" -lt 20000 ]
sleep 1
start_broker th-broker || { fail "broker restarts after kill -9"; finish; }
wait $PUB
PUB_RC=$?
check "the publisher's retries get every alert acknowledged" [ "$PUB_RC" = 0 ]
awk -F'"id":"' '/"status":"(accepted|duplicate)"/ {split($2, a, "\""); print a[1]}' "$WORK/crash.res" | sort -u >"$WORK/acked.ids"
ctl th-broker journal >"$WORK/journal.out"
grep -o '"id":"[0-9a-f]*","bytes"' "$WORK/journal.out" | cut -d'"' -f4 | sort >"$WORK/journal.ids"
check "20,000 distinct alerts acknowledged" [ "$(wc -l <"$WORK/acked.ids")" = 20000 ]
check "every acknowledged alert is in the journal" \
	[ -z "$(comm -23 "$WORK/acked.ids" "$WORK/journal.ids")" ]
check "no alert is stored twice" [ -z "$(uniq -d "$WORK/journal.ids")" ]
sub th-committee --durable crash --count 30000 --timeout 5 >"$WORK/crash.out" 2>&1
check "a subscriber gets the 30,000 stored alerts" [ "$(distinct_ids "$WORK/crash.out")" = 30000 ]
check "with no duplicate delivered" [ "$(grep -c '"alert"' "$WORK/crash.out")" = 30000 ]

# ---- 2b. A crash between a logged batch's acks and its commit. A lone
# publish is committed with the journal's write-ahead log: acknowledged
# once the log has it, before its commit to data.mdb ends; the next start
# replays what a crash cut short. The broker runs under
# tests/integration/wal_kill.c, which kills it (SIGKILL) in exactly that
# gap: at the commit of its 20th logged batch, 300 ms after that batch's
# acks went out. Alerts are published one by one, each by a blonet-pub of
# its own, until the broker is gone.
SHIM="$(dirname "$PROBE")/libwal_kill.so"
check "the crash shim is built ($SHIM)" [ -f "$SHIM" ]
stop_broker th-broker TERM
replays_before=$(grep -c '"journal.replayed"' "$WORK/th-broker.log")
# A sanitized broker wants its runtime first; the shim has none of its own.
LD_PRELOAD="$SHIM" BLO_WAL_KILL_AFTER=20 \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	start_broker th-broker || { fail "broker starts under the crash shim"; finish; }
gen_alerts lone 40 >"$WORK/lone.jsonl"
: >"$WORK/lone.res"
for i in $(seq 1 40); do
	kill -0 "${PIDS[th-broker]}" 2>/dev/null || break
	sed -n "${i}p" "$WORK/lone.jsonl" >"$WORK/lone.one"
	"$BIN/blonet-pub" -c "$WORK/d/th-customs-chiangkhong/config.json" --timeout 2 "$WORK/lone.one" \
		>>"$WORK/lone.res" 2>/dev/null
	sleep 0.1
done
for _ in $(seq 1 50); do kill -0 "${PIDS[th-broker]}" 2>/dev/null || break; sleep 0.1; done
if kill -0 "${PIDS[th-broker]}" 2>/dev/null; then
	fail "the shim kills the broker"
	stop_broker th-broker KILL
	shim_rc=none
else
	wait "${PIDS[th-broker]}"
	shim_rc=$?
	unset "PIDS[th-broker]"
fi
awk -F'"id":"' '/"status":"accepted"/ {split($2, a, "\""); print a[1]}' "$WORK/lone.res" | sort -u >"$WORK/lone.ids"
last_acked=$(grep '"status":"accepted"' "$WORK/lone.res" | tail -n 1 | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/')
# What the store holds before the restart (read-only, as an operator would).
ctl th-broker journal --from-seq 30001 >"$WORK/lone-before.out"
check "the shim killed the broker after 20 acknowledged lone publishes (exit $shim_rc)" \
	[ "$shim_rc" = 137 -a "$(wc -l <"$WORK/lone.ids")" = 20 ]
in_store_before=$(grep -c "\"id\":\"$last_acked\"" "$WORK/lone-before.out")
check "the last of them was acknowledged, yet its commit never reached data.mdb" \
	[ -n "$last_acked" -a "$in_store_before" = 0 ]
start_broker th-broker || { fail "broker restarts after the shim's kill"; finish; }
check "the restart replays it from the log (journal.replayed)" \
	[ "$(grep -c '"journal.replayed"' "$WORK/th-broker.log")" -gt "$replays_before" ]
ctl th-broker journal --from-seq 30001 >"$WORK/lone-after.out"
grep -o '"id":"[0-9a-f]*","bytes"' "$WORK/lone-after.out" | cut -d'"' -f4 | sort >"$WORK/lone-journal.ids"
check "all 20 acknowledged are in the journal, each once" \
	[ -z "$(comm -23 "$WORK/lone.ids" "$WORK/lone-journal.ids")" -a -z "$(uniq -d "$WORK/lone-journal.ids")" \
		-a "$(wc -l <"$WORK/lone-journal.ids")" = 20 ]
sub th-committee --durable crash --count 20 --timeout 5 >"$WORK/lone.out" 2>&1
check "the subscriber gets the 20, each once" \
	[ "$(distinct_ids "$WORK/lone.out")" = 20 -a "$(grep -c '"alert"' "$WORK/lone.out")" = 20 ]
check "audit-verify passes after the crash" ctl th-broker audit-verify
stop_broker th-broker TERM

# ---- 3. A full journal. The same broker with a 1 MiB journal.
cfg="$WORK/d/th-broker/config.json"
sed -i 's/"data_dir": *"data",/"data_dir": "small", "journal": {"map_size_mb": 1},/' "$cfg"
grep -q '"small"' "$cfg" || { fail "could not shrink the journal"; finish; }
start_broker th-broker || { fail "broker with a small journal starts"; finish; }
sub th-console-maesai --durable full --timeout 4 >"$WORK/full.out" 2>&1 &
SUBF=$!
gen_alerts full 3000 >"$WORK/full.jsonl"
timeout 60 "$BIN/blonet-pub" -c "$WORK/d/th-customs-maesai/config.json" --timeout 3 "$WORK/full.jsonl" \
	>"$WORK/full.res" 2>/dev/null
# ids_of FILE STATUS-REGEX: the alert ids of blonet-pub result lines.
ids_of() { awk -F'"id":"' -v s="\"status\":\"($2)\"" '$0 ~ s {split($2, a, "\""); print a[1]}' "$1" | sort -u; }
ids_of "$WORK/full.res" accepted >"$WORK/full.acked"
full_acked=$(wc -l <"$WORK/full.acked")
check "a full journal refuses with JOURNAL_FULL" grep -q '"reason":"JOURNAL_FULL"' "$WORK/full.res"
check "some publishes were accepted before it filled ($full_acked)" [ "$full_acked" -gt 0 ]
check "the broker is still running" kill -0 "${PIDS[th-broker]}"
wait $SUBF
# A refused publish is retried while the publisher runs, and space a commit
# frees can let a retry in: the journal may end up holding a few alerts
# whose acknowledgement came after the publisher stopped waiting. What
# must hold: nothing acknowledged is missing, and the subscriber gets
# exactly what the journal holds. A second session of the subscription
# collects what arrived after the first one went idle.
sub th-console-maesai --durable full --timeout 2 >>"$WORK/full.out" 2>&1
grep -o '"alert":{"id":"[0-9a-f]*"' "$WORK/full.out" | cut -d'"' -f6 | sort >"$WORK/full.delivered"
check "deliveries went on while full: the subscriber got every accepted alert" \
	[ -z "$(comm -23 "$WORK/full.acked" "$WORK/full.delivered")" ]
check "and no alert twice" [ -z "$(uniq -d "$WORK/full.delivered")" ]
check "no publish reported rejected was stored" \
	[ -z "$(comm -12 <(ids_of "$WORK/full.res" rejected) "$WORK/full.delivered")" ]
stop_broker th-broker TERM
# Room again: the operator grows the map; nothing acknowledged was lost.
sed -i 's/"map_size_mb": 1}/"map_size_mb": 64}/' "$cfg"
start_broker th-broker || { fail "broker restarts with a bigger journal"; finish; }
ctl th-broker journal | grep -o '"id":"[0-9a-f]*","bytes"' | cut -d'"' -f4 | sort >"$WORK/full.journal"
check "every accepted alert survived the full journal" \
	[ -z "$(comm -23 "$WORK/full.acked" "$WORK/full.journal")" ]
check "the subscriber got exactly what the journal holds" \
	cmp -s "$WORK/full.journal" "$WORK/full.delivered"
gen_alerts full 3000 >"$WORK/full.jsonl"
pub th-customs-maesai "$WORK/full.jsonl" >"$WORK/full2.res" 2>/dev/null
check "publishing recovers once there is room" \
	[ "$(count_lines "$WORK/full2.res" '"status":"accepted"')" = "$((3000 - $(wc -l <"$WORK/full.journal")))" ]
check "and what the journal held is acked as duplicate" \
	[ "$(count_lines "$WORK/full2.res" '"status":"duplicate"')" = "$(wc -l <"$WORK/full.journal")" ]
# A full map moves audit records to the archive whatever their age: the
# refusals' and acceptances' records are kept, and the chain holds.
check "the full journal moved audit records to the archive" \
	[ -n "$(ls "$WORK/d/th-broker/small/audit-archive" 2>/dev/null)" ]
check "audit-verify passes over archive and journal" ctl th-broker audit-verify
stop_broker th-broker TERM
finish
