#!/usr/bin/env bash
# A peer's refusal "for now" never loses an acknowledged alert. A peer whose
# journal stays full keeps being asked, however long (here: more than the
# 60 tries after which forwards were once given up); a peer whose registry
# is behind ours (it does not know the alert's origin yet) is asked again
# until it catches up, and given up only after limits.mesh_give_up_s; what
# retention purges before it could go is counted. TH and LA of the
# multi-hop topology, TH re-sending every 150 ms (limits.mesh_resend_ms) and
# giving up after 10 s (limits.mesh_give_up_s) to keep the test short.
. "$(dirname "$0")/lib.sh"

TOPO="$SRC/tests/integration/topology_multihop.json"
provision "$TOPO" || { fail provision; finish; }
# short_limits: TH's config (provisioning writes it anew) re-sends every
# 150 ms and gives up after 10 s.
short_limits() {
	sed -i 's/"data_dir": "data",/"data_dir": "data", "limits": {"mesh_resend_ms": 150, "mesh_give_up_s": 10},/' \
		"$WORK/d/th-broker/config.json"
}
short_limits
check "TH's config sets a short re-send" grep -q '"mesh_resend_ms": 150' "$WORK/d/th-broker/config.json"
start_broker th-broker || { fail "th-broker starts"; finish; }

# 0. A hostile stand-in for LA sends 50 Error frames with every Pong for
# 4 s: TH logs at most 20 of them one by one (mesh.peer_error), and sums up
# the rest when the minute ends or, here, when it stops.
"$PROBE" peer-full -c "$WORK/d/la-broker/config.json" --wait 4000 --mode errors >"$WORK/errors.out" 2>&1
sent=$(grep -o '"errors":[0-9]*' "$WORK/errors.out" | cut -d: -f2)
check "the stand-in sent TH more than 20 errors" [ "${sent:-0}" -gt 20 ]
peer_errors_logged() { grep '"event":"mesh.peer_error"' "$WORK/th-broker.log" | grep -c 'la-broker: error flood'; }
check "TH logged 20 of them one by one" [ "$(peer_errors_logged)" = 20 ]

# 0b. A stand-in for LA that holds every alert already answers each Forward
# DUPLICATE (as LA does to a forward sent again after its answer was lost
# with the link): TH counts the 3 alerts as duplicates, and audits each as
# a forward all the same, since it went over the link.
"$PROBE" peer-full -c "$WORK/d/la-broker/config.json" --wait 5000 --mode dup >"$WORK/dup.out" 2>&1 &
DUP=$!
gen_alerts held 3 '{"tlp":"TLP_AMBER","releasable_to":["LA"]}' >"$WORK/held.jsonl"
pub th-customs-mukdahan "$WORK/held.jsonl" >"$WORK/held.res" 2>&1
check "3 alerts for LA accepted at TH" [ "$(count_lines "$WORK/held.res" '"status":"accepted"')" = 3 ]
three_dups() { peer_is th-broker la-broker duplicates 3; }
check "TH counts the 3 answered DUPLICATE" wait_for 10 three_dups
held_audited() {
	[ "$(ctl th-broker audit | grep '"event":"forward","principal":"la-broker"' |
		grep -c 'already held by the peer')" = 3 ]
}
check "each is audited at TH as a forward, already held by LA" wait_for 10 held_audited
wait $DUP
check "the stand-in answered 3 forwards DUPLICATE" grep -q '"duplicates":3' "$WORK/dup.out"

# 1. LA's journal is full (a stand-in answers every forward JOURNAL_FULL,
# as LA does then) for 15 s, half again the give-up time of refusals that
# may be final: about 100 refusals. Then the real LA starts.
"$PROBE" peer-full -c "$WORK/d/la-broker/config.json" --wait 15000 >"$WORK/full.out" 2>&1 &
FULL=$!
check "TH links to the stand-in" wait_for 10 peer_is th-broker la-broker connected true
cat >"$WORK/full.jsonl" <<'JSON'
{"type":"ALERT","status":"EXERCISE","source_ref":"full-1","assessment":{"category":"TIMBER"},"handling":{"tlp":"TLP_AMBER","releasable_to":["LA"]},"headline":"waits out a full journal"}
JSON
pub th-customs-mukdahan "$WORK/full.jsonl" >"$WORK/full.res" 2>&1
check "the alert is accepted at TH" grep -q '"status":"accepted"' "$WORK/full.res"
wait $FULL
refused=$(grep -o '"refused":[0-9]*' "$WORK/full.out" | cut -d: -f2)
check "the full peer refused it more than 60 times" [ "${refused:-0}" -gt 60 ]
check "TH has not given it up" [ "$(peer_field th-broker la-broker rejected)" = 0 ]
start_broker la-broker || { fail "la-broker starts"; finish; }
sub la-console-dansavanh --durable r --timeout 15 --count 1 >"$WORK/la1.out" 2>&1
check "LA receives it once its journal has room" grep -q "waits out a full journal" "$WORK/la1.out"

# 2. A new agent at TH: the registry is provisioned again with it and TH
# reloads; LA keeps the old registry for now and refuses its alert
# (UNKNOWN_PRINCIPAL). Once LA reloads too, the alert goes through.
sed 's/"principals": \[/"principals": [\n    {"id": "th-customs-mukdahan2", "role": "agent", "country": "TH", "agency": "IMMIGRATION", "site": "TH-MUKDAHAN", "broker": "th-broker"},/' \
	"$TOPO" >"$WORK/topology2.json"
provision "$WORK/topology2.json" || fail "provision with a new agent"
short_limits
kill -HUP "${PIDS[th-broker]}"
th_reloaded() { grep -q '"registry.reloaded"' "$WORK/th-broker.log"; }
check "TH reloads the registry with the new agent" wait_for 10 th_reloaded
cat >"$WORK/new.jsonl" <<'JSON'
{"type":"ALERT","status":"EXERCISE","source_ref":"new-1","assessment":{"category":"TRAFFICKING_IN_PERSONS"},"handling":{"tlp":"TLP_AMBER","releasable_to":["LA"]},"headline":"from an agent LA does not know yet"}
JSON
pub th-customs-mukdahan2 "$WORK/new.jsonl" >"$WORK/new.res" 2>&1
check "the new agent's alert is accepted at TH" grep -q '"status":"accepted"' "$WORK/new.res"
la_refuses() { ctl th-broker status | grep -q 'deferred: UNKNOWN_PRINCIPAL'; }
check "LA, on the old registry, refuses it for now" wait_for 10 la_refuses
# Meanwhile the rest flows, and is not sent again with the refused one.
gen_alerts flow 5 '{"tlp":"TLP_AMBER","releasable_to":["LA"]}' >"$WORK/flow.jsonl"
pub th-customs-mukdahan "$WORK/flow.jsonl" >"$WORK/flow.res" 2>&1
flowed() { [ "$(peer_field th-broker la-broker forwarded)" -ge 6 ]; }
check "alerts after the refused one reach LA meanwhile" wait_for 10 flowed
sleep 2 # several re-sends of the refused one
check "none of them is sent again with it (the 3 of section 0b only)" \
	[ "$(peer_field th-broker la-broker duplicates)" = 3 ]
# The link breaks (LA stopped: TH's heartbeat gives up on the connection
# 3 s after LA's last word) and is made again. TH starts again after its
# cursor, which waits before the refused alert, but the 5 that LA took are
# not sent again.
links() { grep -c "\"mesh.link_$1\".*la-broker" "$WORK/th-broker.log"; }
th_sessions_at_la() {
	ctl la-broker audit | grep '"event":"session","principal":"th-broker"' | grep -c 'session opened'
}
downs_before=$(links down)
ups_before=$(links up)
sessions_before=$(th_sessions_at_la)
kill -STOP "${PIDS[la-broker]}"
went_down() { [ "$(links down)" -gt "$downs_before" ]; }
check "TH's link to LA goes down while LA is stopped" wait_for 15 went_down
sleep 2 & wait $! # past the heartbeat's timeout: the connection is gone
kill -CONT "${PIDS[la-broker]}"
came_up() { [ "$(links up)" -gt "$ups_before" ]; }
check "and is made again once LA runs" wait_for 15 came_up
new_session() { [ "$(th_sessions_at_la)" -gt "$sessions_before" ]; }
check "over a new connection (LA records a new session of TH's)" wait_for 10 new_session
# (An empty reading counts as grown: a TH gone silent must not pass.)
dup_grew() { local v; v=$(peer_field th-broker la-broker duplicates); [ -z "$v" ] || [ "$v" -gt 3 ]; }
check "what LA took is not sent again after it (duplicates still 3 for 3 s)" \
	eval '! wait_for 3 dup_grew'
kill -HUP "${PIDS[la-broker]}"
sub la-console-dansavanh --durable r --timeout 15 --count 6 >"$WORK/la2.out" 2>&1
check "once LA has the new registry, it receives the alert" \
	grep -q "from an agent LA does not know yet" "$WORK/la2.out"
check "and the 5 that flowed meanwhile, each once" \
	[ "$(grep -o '"source_ref":"flow-[0-9]*"' "$WORK/la2.out" | sort -u | wc -l)" = 5 -a \
	  "$(grep -c '"source_ref":"flow-' "$WORK/la2.out")" = 5 ]
check "TH gave up nothing" [ "$(peer_field th-broker la-broker rejected)" = 0 ]

# 2b. The same with another new agent, but LA never catches up: after
# mesh_give_up_s the refusal is final, said and counted.
sed 's/"principals": \[/"principals": [\n    {"id": "th-customs-mukdahan3", "role": "agent", "country": "TH", "agency": "NARCOTICS_POLICE", "site": "TH-MUKDAHAN", "broker": "th-broker"},/' \
	"$WORK/topology2.json" >"$WORK/topology3.json"
provision "$WORK/topology3.json" || fail "provision with a third agent"
short_limits
kill -HUP "${PIDS[th-broker]}"
th_reloaded_twice() { [ "$(grep -c '"registry.reloaded"' "$WORK/th-broker.log")" -ge 2 ]; }
check "TH reloads the registry with the third agent" wait_for 10 th_reloaded_twice
sed 's/new-1/new-3/; s/does not know yet/never knows/' "$WORK/new.jsonl" >"$WORK/new3.jsonl"
pub th-customs-mukdahan3 "$WORK/new3.jsonl" >"$WORK/new3.res" 2>&1
check "the third agent's alert is accepted at TH" grep -q '"status":"accepted"' "$WORK/new3.res"
given_up() { grep -q '"mesh.forward_refused".*UNKNOWN_PRINCIPAL' "$WORK/th-broker.log"; }
check "after mesh_give_up_s TH gives it up for LA, and says so" wait_for 20 given_up
rejected_once() { [ "$(peer_field th-broker la-broker rejected)" = 1 ]; }
check "and counts it" wait_for 5 rejected_once

# 3. What retention purges before the link is back is counted for the
# peer (peers[].expired), not skipped unseen: LA down for 20 alerts, TH
# restarted to keep the newest 5 only.
check "la-broker stops cleanly" stop_broker la-broker
gen_alerts purge 20 '{"tlp":"TLP_AMBER","releasable_to":["LA"]}' >"$WORK/purge.jsonl"
pub th-customs-mukdahan "$WORK/purge.jsonl" >"$WORK/purge.res" 2>&1
check "20 more accepted at TH while LA is down" \
	[ "$(count_lines "$WORK/purge.res" '"status":"accepted"')" = 20 ]
check "th-broker stops cleanly" stop_broker th-broker
sed -i 's/"data_dir": "data",/"data_dir": "data", "journal": {"max_count": 5},/' \
	"$WORK/d/th-broker/config.json"
start_broker th-broker || { fail "th-broker starts again"; finish; }
start_broker la-broker || { fail "la-broker starts again"; finish; }
sub la-console-dansavanh --durable r --timeout 15 --count 5 >"$WORK/la3.out" 2>&1
check "LA receives the 5 alerts TH still holds" \
	[ "$(grep -o '"source_ref":"purge-[0-9]*"' "$WORK/la3.out" | sort -u | wc -l)" = 5 ]
expired_counted() { [ "$(peer_field th-broker la-broker expired)" = 15 ]; }
check "TH counts the 15 it purged before they could go to LA" wait_for 5 expired_counted

check "th-broker stops cleanly" stop_broker th-broker
check "la-broker stops cleanly" stop_broker la-broker
check "the first run of TH summed up the errors it did not log" \
	grep -q '"event":"mesh.peer_limited".*la-broker: [0-9]* more errors from this peer in 60 s not logged one by one (the last: error flood' \
	"$WORK/th-broker.log"
finish
