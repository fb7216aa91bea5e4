#!/usr/bin/env bash
# Multi-hop within entitled countries: TH has no link to VN, so an alert
# from TH released to LA and VN reaches VN through LA, with both hops in
# its trace. An alert released to VN only cannot cross LA (no transit
# through a third country): neither LA nor VN ever holds it. A reply from
# VN travels back to TH through LA when VN released it to LA, and not
# otherwise.
. "$(dirname "$0")/lib.sh"

provision "$SRC/tests/integration/topology_multihop.json" || { fail provision; finish; }
for b in th-broker la-broker vn-broker; do
	start_broker $b || { fail "$b starts"; finish; }
done
check "TH-LA link up" wait_for 10 peer_is th-broker la-broker connected true
check "LA-VN link up" wait_for 10 peer_is la-broker vn-broker connected true

cat >"$WORK/a.jsonl" <<'JSON'
{"type":"ALERT","status":"EXERCISE","source_ref":"hop-1","assessment":{"category":"TIMBER"},"handling":{"tlp":"TLP_AMBER","releasable_to":["LA","VN"]},"headline":"rosewood logs bound for Lao Bao"}
{"type":"ALERT","status":"EXERCISE","source_ref":"hop-2","assessment":{"category":"TIMBER"},"handling":{"tlp":"TLP_AMBER","releasable_to":["VN"]},"headline":"for Viet Nam only"}
JSON
pub th-customs-mukdahan "$WORK/a.jsonl" >"$WORK/a.res" 2>&1
check "both accepted at TH" [ "$(count_lines "$WORK/a.res" '"status":"accepted"')" = 2 ]
sub vn-console-laobao --durable hop --timeout 4 >"$WORK/vn.out" 2>&1
check "the alert released to LA and VN reaches VN through LA" grep -q "rosewood logs bound for Lao Bao" "$WORK/vn.out"
check "its trace shows both hops, TH then LA" \
	grep -q '"trace":\[{"broker":"th-broker","at_ms":[0-9]*},{"broker":"la-broker"' "$WORK/vn.out"
check "the signature still verifies after two hops" grep -q '"verified":true' "$WORK/vn.out"
check "the alert for VN only does not cross LA" \
	bash -c '! "$0" -c "$1" journal | grep -q "for Viet Nam only" && ! "$0" -c "$2" journal | grep -q "for Viet Nam only"' \
	"$BIN/blonetctl" "$WORK/d/la-broker/config.json" "$WORK/d/vn-broker/config.json"

ref=$(grep -o '"alert":{"id":"[0-9a-f]*"' "$WORK/vn.out" | head -n 1 | cut -d'"' -f6)
# A reply goes back to the originator's country, but it crosses LA only if
# LA may hold it: VN must release it to LA.
printf '{"type":"ACK","status":"EXERCISE","references":["%s"],"ack_status":"RECEIVED","handling":{"tlp":"TLP_AMBER"},"description":"Lao Bao received, not released to LA"}\n' "$ref" >"$WORK/ack1.jsonl"
printf '{"type":"ACK","status":"EXERCISE","references":["%s"],"ack_status":"ACTING","handling":{"tlp":"TLP_AMBER","releasable_to":["LA"]},"description":"Lao Bao acting, released to LA"}\n' "$ref" >"$WORK/ack2.jsonl"
check "VN's ACK not released to LA is accepted" pub vn-console-laobao "$WORK/ack1.jsonl"
check "VN's ACK released to LA is accepted" pub vn-console-laobao "$WORK/ack2.jsonl"
sub th-console-mukdahan --durable hop --timeout 4 >"$WORK/th.out" 2>&1
check "the ACK released to LA travels back to TH through LA" grep -q "Lao Bao acting, released to LA" "$WORK/th.out"
check "the ACK not released to LA does not cross LA" \
	bash -c '! grep -q "not released to LA" "$0" && ! "$1" -c "$2" journal | grep -q "not released to LA"' \
	"$WORK/th.out" "$BIN/blonetctl" "$WORK/d/la-broker/config.json"

for b in th-broker la-broker vn-broker; do
	check "$b stops cleanly" stop_broker $b TERM
done
finish
