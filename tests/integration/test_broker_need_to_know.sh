#!/usr/bin/env bash
# Need-to-know at the broker's door: a routing id another principal takes
# over brings it nothing of the first one's; a reference to an alert tells
# nobody that it exists or whose it is unless they may see it; an alert's
# origin is its publisher's site and agency, as the registry has them; an
# id names one alert, and another origin's alert under it is refused.
. "$(dirname "$0")/lib.sh"

provision "$SRC/tests/integration/topology_single.json" || { fail provision; finish; }
start_broker th-broker || { fail "broker starts"; finish; }

# pub_field FILE FIELD: FIELD of the first result line of blonet-pub.
pub_field() { grep -o "\"$2\":\"[^\"]*\"" "$1" | head -n 1 | cut -d'"' -f4; }

# 1. A routing id is the peer's to choose. th-console-maesai subscribes
# with one and leaves; th-console-chiangkhong connects with the same id
# before the broker has noticed; a RED alert for Mae Sai follows.
"$PROBE" rid -c "$WORK/d/th-console-maesai/config.json" --rid blo-probe-rid --durable kept \
	--wait 100 >"$WORK/rid-a.out" 2>&1
check "the first principal subscribes under its chosen routing id" \
	grep -q '"subscribed":true' "$WORK/rid-a.out"
"$PROBE" rid -c "$WORK/d/th-console-chiangkhong/config.json" --rid blo-probe-rid \
	--wait 3000 >"$WORK/rid-b.out" 2>"$WORK/rid-b.err" &
TAKER=$!
taker_welcomed() { grep -q welcomed "$WORK/rid-b.err"; }
check "the second principal is served under the same routing id" wait_for 5 taker_welcomed
printf '%s\n' '{"type":"ALERT","status":"EXERCISE","source_ref":"rid-red-1","assessment":{"category":"TRAFFICKING_IN_PERSONS"},"handling":{"tlp":"TLP_RED","addressed_to":["th-console-maesai"]},"headline":"RED for Mae Sai, routing id case"}' >"$WORK/rid-red.jsonl"
pub th-customs-maesai "$WORK/rid-red.jsonl" >"$WORK/rid-red.res" 2>&1
check "a RED alert for the first principal is accepted" grep -q '"status":"accepted"' "$WORK/rid-red.res"
wait $TAKER
check "the principal that took the routing id was served as itself" \
	grep -q '"principal":"th-console-chiangkhong","welcomed":true' "$WORK/rid-b.out"
check "it received none of the first principal's deliveries" grep -q '"delivered":0' "$WORK/rid-b.out"
check "the broker ended the first principal's session, and logged why" \
	grep -q '"session.rid_taken"' "$WORK/th-broker.log"
sub th-console-maesai --durable kept --timeout 2 >"$WORK/kept.out" 2>&1
check "the addressee gets the alert on its durable subscription when it returns" \
	[ "$(count_lines "$WORK/kept.out" 'RED for Mae Sai, routing id case')" = 1 ]

# 2. References. A RED alert for th-console-maesai; th-console-chiangkhong
# may not see it, so answering it is refused exactly as answering an alert
# that was never stored; nor may another agent update or cancel it.
printf '%s\n' '{"type":"ALERT","status":"EXERCISE","source_ref":"ref-red-1","assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_RED","addressed_to":["th-console-maesai"]},"headline":"RED, referenced"}' >"$WORK/ref-red.jsonl"
pub th-customs-maesai "$WORK/ref-red.jsonl" >"$WORK/ref-red.res" 2>&1
RED_ID=$(pub_field "$WORK/ref-red.res" id)
NONE_ID=$(printf '%s' "$RED_ID" | tr '0-9a-f' 'f0-9a-e')
check "the referenced alert is stored" [ -n "$RED_ID" -a "$RED_ID" != "$NONE_ID" ]
ack() { printf '{"type":"ACK","status":"EXERCISE","references":["%s"],"ack_status":"RECEIVED","handling":{"tlp":"TLP_AMBER"}}\n' "$1"; }
cancel() { printf '{"type":"CANCEL","status":"EXERCISE","references":["%s"],"handling":{"tlp":"TLP_AMBER"}}\n' "$1"; }
# refer KIND AS: AS publishes a KIND (ack, cancel) of the RED alert and one
# of an id never stored, into $WORK/KIND-red.res and $WORK/KIND-none.res.
refer() {
	"$1" "$RED_ID" >"$WORK/$1-red.jsonl"
	"$1" "$NONE_ID" >"$WORK/$1-none.jsonl"
	pub "$2" "$WORK/$1-red.jsonl" >"$WORK/$1-red.res" 2>&1
	pub "$2" "$WORK/$1-none.jsonl" >"$WORK/$1-none.res" 2>&1
}
# same_words KIND: both refusals read alike once the ids are masked.
same_words() {
	local red none
	red=$(pub_field "$WORK/$1-red.res" text | sed "s/$RED_ID/ID/")
	none=$(pub_field "$WORK/$1-none.res" text | sed "s/$NONE_ID/ID/")
	[ -n "$red" ] && [ "$red" = "$none" ]
}
refer ack th-console-chiangkhong
check "answering an alert one may not see is refused UNKNOWN_REFERENCE" \
	grep -q '"status":"rejected".*"reason":"UNKNOWN_REFERENCE"' "$WORK/ack-red.res"
check "in the same words as answering an alert that does not exist" same_words ack
pub th-console-maesai "$WORK/ack-red.jsonl" >"$WORK/ack-ok.res" 2>&1
check "the addressee may answer it" grep -q '"status":"accepted"' "$WORK/ack-ok.res"
refer cancel th-customs-chiangkhong
check "cancelling another's alert is refused UNKNOWN_REFERENCE" \
	grep -q '"status":"rejected".*"reason":"UNKNOWN_REFERENCE"' "$WORK/cancel-red.res"
check "in the same words as cancelling one that does not exist" same_words cancel
check "naming no owner" [ "$(count_lines "$WORK/cancel-red.res" th-customs-maesai)" = 0 ]
pub th-customs-maesai "$WORK/cancel-red.jsonl" >"$WORK/cancel-own.res" 2>&1
check "its originator may cancel it" grep -q '"status":"accepted"' "$WORK/cancel-own.res"

# 3. The origin is the publisher, with its registry site and agency.
printf '%s\n' '{"type":"ALERT","status":"EXERCISE","source_ref":"site-1","origin":{"site":"TH-CHIANGKHONG"},"assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_AMBER"},"headline":"another site"}' >"$WORK/site.jsonl"
printf '%s\n' '{"type":"ALERT","status":"EXERCISE","source_ref":"agency-1","origin":{"agency":"IMMIGRATION"},"assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_AMBER"},"headline":"another agency"}' >"$WORK/agency.jsonl"
pub th-customs-maesai "$WORK/site.jsonl" >"$WORK/site.res" 2>&1
pub th-customs-maesai "$WORK/agency.jsonl" >"$WORK/agency.res" 2>&1
check "an origin site that is not the publisher's is refused NOT_ORIGIN" \
	grep -q '"status":"rejected".*"reason":"NOT_ORIGIN"' "$WORK/site.res"
check "an origin agency that is not the publisher's is refused NOT_ORIGIN" \
	grep -q '"status":"rejected".*"reason":"NOT_ORIGIN"' "$WORK/agency.res"
# The status is written every second.
not_origin_counted() { [ "$(status_field th-broker NOT_ORIGIN)" = 2 ]; }
check "the refusals are counted by reason" wait_for 5 not_origin_counted

# 4. One id, one alert. Ids derive from country, agency and source_ref, so
# two customs posts with the same register number meet on one id: the
# second is refused ID_CONFLICT, never acknowledged as a duplicate of an
# alert it is not. Nor may anyone take an id first and so make the real
# alert a "duplicate".
sz() { printf '{"type":"ALERT","status":"EXERCISE","source_ref":"%s","assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_AMBER"},"headline":"seizure %s at %s"}\n' "$1" "$1" "$2"; }
sz SZ-0001 maesai >"$WORK/sz-maesai.jsonl"
sz SZ-0001 chiangkhong >"$WORK/sz-chiangkhong.jsonl"
pub th-customs-maesai "$WORK/sz-maesai.jsonl" >"$WORK/sz-maesai.res" 2>&1
pub th-customs-chiangkhong "$WORK/sz-chiangkhong.jsonl" >"$WORK/sz-chiangkhong.res" 2>&1
pub th-customs-maesai "$WORK/sz-maesai.jsonl" >"$WORK/sz-again.res" 2>&1
check "the first post's record is accepted" grep -q '"status":"accepted"' "$WORK/sz-maesai.res"
check "the second post's record under the same id is refused ID_CONFLICT" \
	grep -q '"status":"rejected".*"reason":"ID_CONFLICT"' "$WORK/sz-chiangkhong.res"
check "the first post's again is a duplicate" grep -q '"status":"duplicate"' "$WORK/sz-again.res"
SZ1=$(pub_field "$WORK/sz-maesai.res" id)
check "the refusal is in the audit log" \
	sh -c '"$0" -c "$1" audit | grep "\"event\":\"reject\"" | grep "th-customs-chiangkhong" | grep -q "$2"' \
	"$BIN/blonetctl" "$WORK/d/th-broker/config.json" "$SZ1"
# The id SZ-0002 will have, learnt from a publish refused for its site.
printf '%s\n' '{"type":"ALERT","status":"EXERCISE","source_ref":"SZ-0002","origin":{"site":"TH-CHIANGKHONG"},"assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_AMBER"},"headline":"probe"}' >"$WORK/sz2-probe.jsonl"
pub th-customs-maesai "$WORK/sz2-probe.jsonl" >"$WORK/sz2-probe.res" 2>&1
SZ2=$(pub_field "$WORK/sz2-probe.res" id)
printf '{"id":"%s","type":"ALERT","status":"EXERCISE","assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_AMBER"},"headline":"squatting"}\n' \
	"$SZ2" >"$WORK/squat.jsonl"
pub th-narcotics-maesai "$WORK/squat.jsonl" >"$WORK/squat.res" 2>&1
sz SZ-0002 maesai >"$WORK/sz2.jsonl"
pub th-customs-maesai "$WORK/sz2.jsonl" >"$WORK/sz2.res" 2>&1
check "an id taken first by another principal is refused ID_CONFLICT, not acknowledged" \
	grep -q '"status":"rejected".*"reason":"ID_CONFLICT"' "$WORK/sz2.res"
sub th-committee --durable sz --from-seq 1 --timeout 2 >"$WORK/sz-committee.out" 2>&1
check "the committee holds the first post's seizure once, and not the second's" \
	[ "$(count_lines "$WORK/sz-committee.out" 'seizure SZ-0001 at maesai')" = 1 -a \
	  "$(count_lines "$WORK/sz-committee.out" 'seizure SZ-0001 at chiangkhong')" = 0 ]

# 5. A durable cursor is named "sub/PRINCIPAL/DURABLE": a name that would
# not fit is refused, not cut short (two cut alike would share a cursor).
LONG=th-console-maesai-border-liaison-office-night-desk-for-tests-xx
D59=$(printf 'd%.0s' $(seq 1 59))
D60=$(printf 'd%.0s' $(seq 1 60))
check "a 63-character principal subscribes as a 59-character durable name" \
	sh -c '"$0" rid -c "$1" --rid long-59 --durable "$2" --wait 100 >/dev/null 2>&1' \
	"$PROBE" "$WORK/d/$LONG/config.json" "$D59"
check "but not as a 60-character one, whose cursor name would not fit" \
	sh -c '"$0" rid -c "$1" --rid long-60 --durable "$2" --wait 100 2>&1 >/dev/null |
		grep -q "subscribe refused: durable name: with the principal id, at most 122"' \
	"$PROBE" "$WORK/d/$LONG/config.json" "$D60"

check "the broker stops cleanly" stop_broker th-broker
finish
