#!/usr/bin/env bash
# The broker on one node: publish -> durable ack -> delivery per policy,
# authentication refusals, forged origins, revocation by SIGHUP, malformed
# frames, the audit chain, and a clean SIGTERM.
. "$(dirname "$0")/lib.sh"

provision "$SRC/tests/integration/topology_single.json" || { fail provision; finish; }
start_broker th-broker || { fail "broker starts"; finish; }

# Subscribers first, durable, so they get everything from the start.
sub th-console-maesai --durable main --timeout 3 >"$WORK/maesai.out" 2>"$WORK/maesai.err" &
S1=$!
sub th-committee --durable main --timeout 3 >"$WORK/committee.out" 2>&1 &
S2=$!
sub th-console-chiangkhong --durable main --timeout 3 >"$WORK/chiangkhong.out" 2>&1 &
S3=$!
sleep 0.5

# 1. Publish, acked, delivered to entitled console and committee, verified.
gen_alerts basic 20 >"$WORK/basic.jsonl"
pub th-customs-maesai "$WORK/basic.jsonl" >"$WORK/basic.res" 2>&1
check "20 alerts acknowledged as accepted" [ "$(count_lines "$WORK/basic.res" '"status":"accepted"')" = 20 ]

# 2. Re-publishing the same records: acknowledged as duplicates.
pub th-customs-maesai "$WORK/basic.jsonl" >"$WORK/again.res" 2>&1
check "re-published alerts are acknowledged as duplicates" \
	[ "$(count_lines "$WORK/again.res" '"status":"duplicate"')" = 20 ]

# 3. RED to one console; an operation alert; a non-member may not see it.
printf '%s\n' '{"type":"ALERT","status":"EXERCISE","source_ref":"red-1","assessment":{"category":"TRAFFICKING_IN_PERSONS"},"handling":{"tlp":"TLP_RED","addressed_to":["th-console-maesai"]},"headline":"RED for Mae Sai only"}' >"$WORK/red.jsonl"
pub th-customs-maesai "$WORK/red.jsonl" >/dev/null 2>&1
printf '%s\n' '{"type":"ALERT","status":"EXERCISE","source_ref":"op-1","assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_AMBER","operation":"OP-MEKONG-SAFE"},"headline":"operation members only"}' >"$WORK/op.jsonl"
pub th-narcotics-maesai "$WORK/op.jsonl" >/dev/null 2>&1

wait $S1 $S2 $S3
check "console receives all 20, each once, signature verified" \
	[ "$(distinct_ids "$WORK/maesai.out")" = 22 -a "$(count_lines "$WORK/maesai.out" '"verified":true')" = 22 ]
check "committee receives the 20 but neither RED nor the operation alert" \
	[ "$(distinct_ids "$WORK/committee.out")" = 20 ]
check "other console receives the 20 only" \
	[ "$(distinct_ids "$WORK/chiangkhong.out")" = 20 ]
check "RED alert reached only its addressee" \
	[ "$(count_lines "$WORK/maesai.out" 'RED for Mae Sai only')" = 1 -a \
	  "$(count_lines "$WORK/committee.out" 'RED for Mae Sai')" = 0 -a \
	  "$(count_lines "$WORK/chiangkhong.out" 'RED for Mae Sai')" = 0 ]
check "operation alert reached only members" \
	[ "$(count_lines "$WORK/maesai.out" 'operation members only')" = 1 -a \
	  "$(count_lines "$WORK/chiangkhong.out" 'operation members only')" = 0 ]
check "no delivery was printed twice" \
	[ "$(grep -c '"alert"' "$WORK/maesai.out")" = 22 ]

# 4. A durable subscriber that comes back gets nothing twice.
sub th-console-maesai --durable main --timeout 1 >"$WORK/maesai2.out" 2>&1
check "durable subscriber resumes after its acks" [ ! -s "$WORK/maesai2.out" ]

# 5. Someone else's origin: rejected with the reason, and audited.
"$PROBE" forge -c "$WORK/d/th-customs-chiangkhong/config.json" --origin th-customs-maesai \
	>"$WORK/forge.out" 2>&1
check "publishing as another principal is rejected NOT_ORIGIN" grep -q '"reason":"NOT_ORIGIN"' "$WORK/forge.out"
# A flood of them: each refused and counted. The log, like the audit log,
# takes a principal's refusals one by one only within its budget (20 a
# minute); the warning audit.limited sums up the rest when the window ends.
"$PROBE" forge -c "$WORK/d/th-customs-chiangkhong/config.json" --origin th-customs-maesai \
	-n 30 >"$WORK/forge-flood.out" 2>&1
check "30 more forged publishes are each rejected NOT_ORIGIN" \
	[ "$(count_lines "$WORK/forge-flood.out" '"reason":"NOT_ORIGIN"')" = 30 ]
check "all 31 forged publishes are counted" \
	wait_for 5 sh -c '[ "$("$0" -c "$1" status | tr -d "\t\n " | grep -o "\"NOT_ORIGIN\":[0-9]*" | cut -d: -f2)" = 31 ]' \
	"$BIN/blonetctl" "$WORK/d/th-broker/config.json"
check "20 of the 31 refusals are logged one by one, the budget" \
	[ "$(grep '"event":"publish.rejected"' "$WORK/th-broker.log" | grep -c 'th-customs-chiangkhong: NOT_ORIGIN')" = 20 ]

# The journal's synced commits are timed in the status: at least the
# writer's commits, each taking some time.
commit_times_hold() {
	ctl th-broker status | jq -e '.commit_ms as $h | .counters.commits >= 1 and
		$h.count >= .counters.commits and $h.max > 0 and $h.sum >= $h.max' >/dev/null
}
check "status.json times every synced commit of the journal" wait_for 5 commit_times_hold
# And every publish answered after verification, from its read to its
# answer: all of them here (accepted, duplicate and the 31 forged ones,
# refused NOT_ORIGIN in verification; none is refused before it).
publish_times_hold() {
	ctl th-broker status | jq -e '.publish_ms as $h | .counters as $c | $c.accepted >= 1 and
		$c.rejected >= 31 and $h.count == $c.accepted + $c.duplicate + $c.rejected and
		$h.max > 0 and $h.sum >= $h.max' >/dev/null
}
check "status.json times every publish from its read to its answer" wait_for 5 publish_times_hold

# 6. Refused clients: unknown key, no CURVE, PLAIN, wrong server key.
for mode in unknown nocurve plain wrongkey; do
	check "client with $mode is refused" sh -c '"$0" refused -c "$1" --mode "$2" >"$3"' \
		"$PROBE" "$WORK/d/th-console-maesai/config.json" "$mode" "$WORK/refused-$mode.out"
done
check "ZAP counted the unknown key" [ "$(status_field th-broker denied_unknown_key)" -ge 1 ]
check "the refused handshake of the unknown key is logged" \
	wait_for 5 grep -q '"event":"session.refused".*handshake refused: unknown key' "$WORK/th-broker.log"
# The refused handshake is in the audit log with the key it offered (the
# broker writes them down within a second).
stranger=$(grep -o '"key":"[0-9a-f]*"' "$WORK/refused-unknown.out" | cut -d'"' -f4)
check "the unknown key's refused handshake is audited with its key" \
	wait_for 5 sh -c '"$0" -c "$1" audit | grep "\"event\":\"session\"" | grep -q "handshake refused: unknown key; key $2; from 127.0.0.1"' \
	"$BIN/blonetctl" "$WORK/d/th-broker/config.json" "${stranger:-none}"

# 7. Malformed frames from an authenticated client and raw garbage from
# unauthenticated connections: counted, and the broker serves on.
check "10,000 malformed frames: broker answers a ping after them" \
	"$PROBE" frames -c "$WORK/d/th-console-chiangkhong/config.json" -n 10000
check "garbage on 1,000 raw connections" \
	"$PROBE" garbage -c "$WORK/d/th-console-chiangkhong/config.json" -n 1000
sleep 1.2
check "malformed frames are counted" [ "$(status_field th-broker malformed_frames)" -ge 7500 ]
# Audit records are kept for good: one principal's flood may not fill the
# journal with them. The first refusals of a window are recorded one by one,
# the rest counted and summed up in one record when the window ends.
check "the flood's refusals beyond the budget are counted, not recorded one by one" \
	[ "$(status_field th-broker audit_limited)" -ge 7000 ]
ctl th-broker audit >"$WORK/audit-flood.out"
check "at most the budget of the flooder's refusals is in the audit log" \
	[ "$(grep '"principal":"th-console-chiangkhong"' "$WORK/audit-flood.out" | grep -c '"event":"reject"')" -le 25 ]
check "the malformed frames are logged, at most the budget of them one by one" \
	sh -c 'n=$(grep "\"event\":\"request.refused\"" "$0" | grep -c "th-console-chiangkhong: "); [ "$n" -ge 1 ] && [ "$n" -le 20 ]' \
	"$WORK/th-broker.log"
gen_alerts after-abuse 5 >"$WORK/after.jsonl"
check "publishing still works after the abuse" pub th-customs-maesai "$WORK/after.jsonl"

# 8. Revocation: the registry is re-provisioned with two keys revoked and the
# broker reloads it on SIGHUP; a live session of one is dropped and its
# reconnection refused; the other is refused from then on.
gen_alerts before-revoke 1 >"$WORK/r1.jsonl"
check "principal publishes before revocation" pub th-customs-chiangkhong "$WORK/r1.jsonl"
sub th-console-chiangkhong --durable live >"$WORK/live.out" 2>"$WORK/live.err" &
LIVE=$!
sleep 1
check "a live subscriber is connected before revocation" kill -0 $LIVE
provision "$SRC/tests/integration/topology_single.json" --revoke th-customs-chiangkhong \
	--revoke th-console-chiangkhong
kill -HUP "${PIDS[th-broker]}"
for _ in $(seq 1 50); do kill -0 $LIVE 2>/dev/null || break; sleep 0.1; done
if kill -0 $LIVE 2>/dev/null; then
	fail "the revoked subscriber's live session is dropped within 5 s"
	kill $LIVE
else
	ok "the revoked subscriber's live session is dropped within 5 s"
fi
wait $LIVE
check "the dropped subscriber was told it is revoked" grep -q 'revoked' "$WORK/live.err"
# Its own client now refuses to start (its registry says revoked), so the
# probe connects with its keys as they were.
check "and its reconnection is refused by the broker" \
	"$PROBE" refused -c "$WORK/d/th-console-chiangkhong/config.json" --mode self
check "the revoked key's refused handshake is audited under its principal" \
	wait_for 5 sh -c '"$0" -c "$1" audit | grep "\"principal\":\"th-console-chiangkhong\"" | grep -q "handshake refused: revoked"' \
	"$BIN/blonetctl" "$WORK/d/th-broker/config.json"
check "a live key is still admitted (the probe can tell)" \
	bash -c '! "$0" refused -c "$1" --mode self >/dev/null' "$PROBE" "$WORK/d/th-console-maesai/config.json"
sleep 1.2
check "registry version 2 in force after SIGHUP" [ "$(status_field th-broker registry_version)" = 2 ]
gen_alerts after-revoke 1 >"$WORK/r2.jsonl"
timeout 20 "$BIN/blonet-pub" -c "$WORK/d/th-customs-chiangkhong/config.json" --timeout 3 "$WORK/r2.jsonl" \
	>"$WORK/revoked.res" 2>&1
check "revoked principal cannot publish" [ "$(count_lines "$WORK/revoked.res" '"status":"accepted"')" = 0 ]
check "others still publish after the reload" pub th-customs-maesai "$WORK/after.jsonl"

# 9. Audit: every accept, reject and delivery is there; the chain holds,
# and breaks when one byte of it changes.
ctl th-broker audit >"$WORK/audit.out"
check "audit holds the accepts" [ "$(count_lines "$WORK/audit.out" '"event":"accept"')" -ge 27 ]
check "audit holds the rejection of the forged origin" grep -q 'is not the authenticated principal' "$WORK/audit.out"
check "audit holds every delivery" [ "$(grep '"event":"deliver"' "$WORK/audit.out" | grep -o ': [0-9]* alerts' | awk '{s += $2} END {print s}')" -ge 62 ]
check "audit-verify passes on a clean log" ctl th-broker audit-verify

# 10. SIGTERM: drains and exits 0.
check "SIGTERM exits 0" stop_broker th-broker TERM
check "audit-verify still passes after shutdown" ctl th-broker audit-verify
ctl th-broker audit >"$WORK/audit-final.out"
check "the rest of the flood is summed up in one record at shutdown" \
	grep -q 'more refusals of this principal in 60 s not recorded one by one' "$WORK/audit-final.out"
check "the forged publishes beyond the budget are summed up in the log" \
	grep -q '"event":"audit.limited".*th-customs-chiangkhong: 11 more refusals of this principal' \
	"$WORK/th-broker.log"
flip_audit_byte() {
	# Change one byte in the text of the forged-origin audit record. LMDB
	# copies pages on write, so stale copies of the page may hold the same
	# text: change it in each copy, one byte per copy.
	local f="$WORK/d/th-broker/data/data.mdb" off n=0
	for off in $(grep -boa 'is not the authenticated principal' "$f" | cut -d: -f1); do
		printf 'X' | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
		n=$((n + 1))
	done
	[ "$n" -gt 0 ]
}
check "one byte of the audit record changed" flip_audit_byte
if ctl th-broker audit-verify >"$WORK/verify.out" 2>&1; then
	fail "audit-verify fails after one byte changed"
else
	ok "audit-verify fails after one byte changed"
fi
finish
