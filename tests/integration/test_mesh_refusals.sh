#!/usr/bin/env bash
# A peer's refusal "for now" never loses an acknowledged alert. A peer whose
# journal stays full keeps being asked, however long (here: more than the
# 60 tries after which forwards were once given up); a peer whose registry
# is behind ours (it does not know the alert's origin yet) is asked again
# until it catches up; what retention purges before it could go is counted.
# TH and LA of the multi-hop topology, TH re-sending every 300 ms
# (limits.mesh_resend_ms) to keep the test short.
. "$(dirname "$0")/lib.sh"

TOPO="$SRC/tests/integration/topology_multihop.json"
provision "$TOPO" || { fail provision; finish; }
sed -i 's/"data_dir": "data",/"data_dir": "data", "limits": {"mesh_resend_ms": 300},/' \
	"$WORK/d/th-broker/config.json"
check "TH's config sets a short re-send" grep -q '"mesh_resend_ms": 300' "$WORK/d/th-broker/config.json"
start_broker th-broker || { fail "th-broker starts"; finish; }

# 1. LA's journal is full (a stand-in answers every forward JOURNAL_FULL,
# as LA does then) for 30 s: about 100 refusals. Then the real LA starts.
"$PROBE" peer-full -c "$WORK/d/la-broker/config.json" --wait 30000 >"$WORK/full.out" 2>&1 &
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
sed -i 's/"data_dir": "data",/"data_dir": "data", "limits": {"mesh_resend_ms": 300},/' \
	"$WORK/d/th-broker/config.json"
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
sleep 2
kill -HUP "${PIDS[la-broker]}"
sub la-console-dansavanh --durable r --timeout 15 --count 1 >"$WORK/la2.out" 2>&1
check "once LA has the new registry, it receives the alert" \
	grep -q "from an agent LA does not know yet" "$WORK/la2.out"
check "TH gave up nothing" [ "$(peer_field th-broker la-broker rejected)" = 0 ]

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
finish
