#!/usr/bin/env bash
# Two BLO consoles facing each other across the Mekong, each on its own
# country's broker: Chiang Khong (TH, th-broker) and Houay Xai (LA,
# la-broker), the brokers linked in a mesh with a third (MM). Chiang Khong
# sends an RFI (TLP:AMBER+STRICT) to its counterpart; it crosses the mesh
# and Houay Xai shows it once, signature verified, forwarded by th-broker (its
# hop trace) and delivered by la-broker. Houay Xai acknowledges and answers it; the ACK and the RESPONSE
# cross back and Chiang Khong shows them against its RFI with the time the
# counterpart took. Need-to-know: neither a Thai console at another site
# (Mae Sai) nor the Myanmar console (on the third broker) receives any of
# it, and the MM broker never holds it. Restarted consoles show nothing
# twice and miss nothing sent while they were down. Every command goes to
# blonet-console --json on its standard input, as a script would send it.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$BIN/blonet-console" ]; then
	echo "$T_NAME: SKIPPED: $BIN/blonet-console is not built"
	finish
fi

provision "$SRC/tests/integration/topology_crossborder.json" || { fail provision; finish; }
for b in th-broker la-broker mm-broker; do
	start_broker $b || { fail "$b starts"; finish; }
done
check "the TH-LA link is up" wait_for 15 peer_is th-broker la-broker connected true
check "the TH-MM link is up" wait_for 15 peer_is th-broker mm-broker connected true
check "the LA-MM link is up" wait_for 15 peer_is la-broker mm-broker connected true

CK=th-console-chiangkhong
HX=la-console-houayxai
MS=th-console-maesai
TL=mm-console-tachileik

# wait_lines FILE PATTERN N [SECONDS]: until FILE has N lines matching.
wait_lines() {
	local i
	for i in $(seq 1 $((${4:-20} * 10))); do
		[ "$(count_lines "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# start_console NAME PRINCIPAL OUT [ARGS...]: a --json console reading
# commands from the fifo $WORK/NAME.in (held open by the caller); waits
# until its link to its broker is up.
start_console() {
	local name=$1 principal=$2 out=$3
	shift 3
	"$BIN/blonet-console" -c "$WORK/d/$principal/config.json" --json "$@" \
		>>"$out" 2>>"$WORK/$name.err" <"$WORK/$name.in" &
	PIDS[$name]=$!
	wait_lines "$out" '"event":"link".*"up":true' "$(($(count_lines "$out" '"event":"link".*"up":true') + 1))" 30
}

stop_console() { # stop_console NAME [SIGNAL]
	kill "-${2:-TERM}" "${PIDS[$1]}" 2>/dev/null
	wait "${PIDS[$1]}" 2>/dev/null
	unset "PIDS[$1]"
}

# event_line FILE EVENT ID [TYPE]: the first EVENT line for message ID.
event_line() {
	grep "^{\"event\":\"$2\",\"n\":[0-9]*,\"id\":\"$3\",\"type\":\"${4:-[A-Z]*}\"" "$1" | head -n 1
}
# received_of FILE ID: how many received events FILE has for ID.
received_of() { grep -c "^{\"event\":\"received\",\"n\":[0-9]*,\"id\":\"$2\"" "$1"; }
# received_count FILE: received events in FILE.
received_count() { count_lines "$1" '^{"event":"received"'; }
# id_of_sent FILE TYPE [NTH]: the id of the NTH message of TYPE sent.
id_of_sent() {
	sed -n "s/^{\"event\":\"sent\",\"n\":[0-9]*,\"id\":\"\([0-9a-f]*\)\",\"type\":\"$2\".*/\1/p" "$1" |
		sed -n "${3:-1}p"
}

mkfifo "$WORK/ck.in" "$WORK/hx.in" "$WORK/ms.in" "$WORK/tl.in"
exec 5<>"$WORK/ck.in" 6<>"$WORK/hx.in" 7<>"$WORK/ms.in" 8<>"$WORK/tl.in"
check "Chiang Khong console (TH) connects" start_console ck $CK "$WORK/ck.out" --counterpart LA-HOUAYXAI
check "Houay Xai console (LA) connects" start_console hx $HX "$WORK/hx.out"
check "Mae Sai console (TH, another site) connects" start_console ms $MS "$WORK/ms.out"
check "Tachileik console (MM, third country) connects" start_console tl $TL "$WORK/tl.out"

# 1. The RFI crosses from TH to LA.
echo 'rfi to=LA-HOUAYXAI tlp=amber+strict category=drugs severity=severe Who owns the pickup 70-1234 loading at the pier? // Seen loading sacks at Chiang Khong pier at 05:40, crossing to Houay Xai' >&5
check "Chiang Khong's RFI is queued" wait_lines "$WORK/ck.out" '"event":"result","cmd":"rfi","ok":true' 1
check "th-broker accepts the RFI" wait_lines "$WORK/ck.out" '"event":"published".*"type":"RFI","status":"accepted"' 1
RFI=$(id_of_sent "$WORK/ck.out" RFI)
check "the RFI has an id" [ -n "$RFI" ]
check "Houay Xai receives the RFI" wait_lines "$WORK/hx.out" "\"event\":\"received\",\"n\":[0-9]*,\"id\":\"$RFI\"" 1 30
HXRFI=$(event_line "$WORK/hx.out" received "$RFI" RFI)
check "the RFI is signature-verified, signed by Chiang Khong's console" \
	grep -q "\"verified\":true,\"signer\":\"$CK\"" <<<"$HXRFI"
# The trace lists the brokers that forwarded it; the delivering broker is
# the event's "broker".
check "its hop trace shows th-broker forwarding it" \
	grep -q '"trace":\[{"broker":"th-broker","at_ms":[0-9]*}\]' <<<"$HXRFI"
check "and la-broker delivering it" grep -q '"broker":"la-broker","broker_seq":[0-9]' <<<"$HXRFI"
check "it is marked AMBER+STRICT, released to LA, addressed to Houay Xai" \
	grep -q '"handling":{"tlp":"TLP_AMBER_STRICT","releasable_to":\["LA"\],"addressed_to":\["LA-HOUAYXAI"\]}' <<<"$HXRFI"
check "it carries the headline and the description" \
	grep -q '"headline":"Who owns the pickup 70-1234 loading at the pier?","description":"Seen loading sacks' <<<"$HXRFI"
check "it is unread at Houay Xai" grep -q '"unread":true,"ours":false' <<<"$HXRFI"

# 2. Houay Xai acknowledges, then answers.
sleep 1 # so that the time the counterpart took is not 0 s
echo "ack $RFI received checking the registration" >&6
check "Houay Xai's ACK is accepted by la-broker" \
	wait_lines "$WORK/hx.out" '"event":"published".*"type":"ACK","status":"accepted"' 1
echo "respond $RFI The pickup is registered to a transport company in Ton Pheung; driver known to us" >&6
check "Houay Xai's RESPONSE is accepted by la-broker" \
	wait_lines "$WORK/hx.out" '"event":"published".*"type":"RESPONSE","status":"accepted"' 1
ACK=$(id_of_sent "$WORK/hx.out" ACK)
RESP=$(id_of_sent "$WORK/hx.out" RESPONSE)
check "the ACK reaches Chiang Khong" wait_lines "$WORK/ck.out" "\"event\":\"received\",\"n\":[0-9]*,\"id\":\"$ACK\"" 1 30
CKACK=$(event_line "$WORK/ck.out" received "$ACK" ACK)
check "the ACK references the RFI" grep -q "\"in_reply_to\":{\"n\":[0-9]*,\"id\":\"$RFI\",\"type\":\"RFI\"" <<<"$CKACK"
check "the ACK carries references[0] = the RFI and RECEIVED" \
	grep -q "\"references\":\[\"$RFI\"\].*\"ack_status\":\"RECEIVED\"" <<<"$CKACK"
check "the ACK is verified, signed by Houay Xai's console" grep -q "\"verified\":true,\"signer\":\"$HX\"" <<<"$CKACK"
check "the ACK came back through la-broker, delivered by th-broker" \
	grep -q '"broker":"th-broker","broker_seq":[0-9].*"trace":\[{"broker":"la-broker","at_ms":[0-9]*}\]' <<<"$CKACK"
check "the RESPONSE reaches Chiang Khong" wait_lines "$WORK/ck.out" "\"event\":\"received\",\"n\":[0-9]*,\"id\":\"$RESP\"" 1 30
CKRESP=$(event_line "$WORK/ck.out" received "$RESP" RESPONSE)
check "the RESPONSE is shown against the RFI" \
	grep -q "\"in_reply_to\":{\"n\":[0-9]*,\"id\":\"$RFI\",\"type\":\"RFI\",\"headline\":\"Who owns the pickup" <<<"$CKRESP"
check "with the time the counterpart took (at least 1 s)" \
	grep -q '"took_ms":[1-9][0-9][0-9][0-9]' <<<"$CKRESP"
check "the RESPONSE is verified and carries the answer" \
	bash -c 'grep -q "\"verified\":true,\"signer\":\"$1\"" <<<"$0" && grep -q "registered to a transport company in Ton Pheung" <<<"$0"' "$CKRESP" "$HX"
echo "show $RFI" >&5
check "Chiang Khong's RFI shows 1 ACK and 1 RESPONSE and the reply time" \
	wait_lines "$WORK/ck.out" "^{\"n\":[0-9]*,\"id\":\"$RFI\",.*\"state\":{\"acks\":1,\"last_ack\":\"RECEIVED\",\"responses\":1,\"first_reply_ms\":[1-9][0-9][0-9][0-9].*\"event\":\"show\"}$" 1
echo "list" >&5
check "Chiang Khong's list shows its RFI answered" \
	wait_lines "$WORK/ck.out" "^{\"event\":\"list\".*{\"n\":[0-9]*,\"id\":\"$RFI\",\"type\":\"RFI\",[^{]*\"state\":{\"acks\":1,\"last_ack\":\"RECEIVED\",\"responses\":1" 1
echo "show $RFI" >&6
check "Houay Xai's RFI shows its ACK and RESPONSE sent, and is read" \
	wait_lines "$WORK/hx.out" "^{\"n\":[0-9]*,\"id\":\"$RFI\",.*\"unread\":false.*\"state\":{\"my_ack\":\"RECEIVED\",\"my_ack_pub\":\"accepted\",.*\"my_responses\":1.*\"event\":\"show\"}$" 1

# 3. Need-to-know: nobody else got any of it.
sleep 2
for f in ms tl; do
	for id in "$RFI" "$ACK" "$RESP"; do
		check "$f never received $id" [ "$(received_of "$WORK/$f.out" "$id")" = 0 ]
	done
done
check "Mae Sai (TH, another site) received nothing at all" [ "$(received_count "$WORK/ms.out")" = 0 ]
check "Tachileik (MM) received nothing at all" [ "$(received_count "$WORK/tl.out")" = 0 ]
check "the MM broker's journal never held the RFI, ACK or RESPONSE" \
	bash -c '! "$0" -c "$1" journal | grep -q -e "pickup 70-1234" -e "Ton Pheung" -e "checking the registration"' \
	"$BIN/blonetctl" "$WORK/d/mm-broker/config.json"
check "Houay Xai showed the RFI exactly once" [ "$(received_of "$WORK/hx.out" "$RFI")" = 1 ]
check "Chiang Khong showed the ACK and the RESPONSE exactly once" \
	[ "$(received_of "$WORK/ck.out" "$ACK")" = 1 -a "$(received_of "$WORK/ck.out" "$RESP")" = 1 ]

# 4. Restarts: both consoles stop; a second RFI is sent while Houay Xai is
# down; after the restarts only the new RFI appears, once.
stop_console hx TERM
stop_console ck TERM
: >"$WORK/ck2.out"
check "Chiang Khong restarts" start_console ck $CK "$WORK/ck2.out" --counterpart LA-HOUAYXAI
echo 'rfi category=wildlife Pangolin scales declared as fish maw? // Container MSKU 123456-7 at Chiang Khong port' >&5
check "the second RFI (to the default counterpart) is accepted" \
	wait_lines "$WORK/ck2.out" '"event":"published".*"type":"RFI","status":"accepted"' 1
RFI2=$(id_of_sent "$WORK/ck2.out" RFI)
check "th-broker holds it for la-broker until delivered" [ -n "$RFI2" ]
: >"$WORK/hx2.out"
check "Houay Xai restarts" start_console hx $HX "$WORK/hx2.out"
check "Houay Xai shows the RFI sent while it was down" \
	wait_lines "$WORK/hx2.out" "\"event\":\"received\",\"n\":[0-9]*,\"id\":\"$RFI2\"" 1 30
sleep 2
check "after the restart Houay Xai shows only that RFI (nothing twice)" \
	[ "$(received_count "$WORK/hx2.out")" = 1 ]
check "after the restart Chiang Khong shows nothing received again" [ "$(received_count "$WORK/ck2.out")" = 0 ]
check "and Chiang Khong shows nothing it sent before again" \
	[ "$(count_lines "$WORK/ck2.out" "\"id\":\"$RFI\"")" = 0 ]
check "the default counterpart's RFI is released to LA, TLP:AMBER" \
	grep -q '"handling":{"tlp":"TLP_AMBER","releasable_to":\["LA"\],"addressed_to":\["LA-HOUAYXAI"\]}' \
	<<<"$(event_line "$WORK/hx2.out" received "$RFI2" RFI)"
echo "ack $RFI2 acting" >&6
check "an ACK to the second RFI reaches Chiang Khong after the restarts" \
	wait_lines "$WORK/ck2.out" "\"type\":\"ACK\".*\"in_reply_to\":{\"n\":[0-9]*,\"id\":\"$RFI2\"" 1 30
sleep 1
check "Tachileik (MM) still received nothing" [ "$(received_count "$WORK/tl.out")" = 0 ]
# A TLP:AMBER message of a Thai BLO is visible to the other Thai consoles
# (past the country gate, section 4 of the design): only AMBER+STRICT and
# RED narrow it to the addressee, which is why the first RFI was
# AMBER+STRICT. Its ACK and RESPONSE inherit that marking.
check "Mae Sai never got the AMBER+STRICT RFI or its replies" \
	[ "$(grep -c -e "$RFI" -e "$ACK" -e "$RESP" "$WORK/ms.out")" = 0 ]

# 5. The stores, read offline, hold each message once.
stop_console hx TERM
stop_console ck TERM
stop_console ms TERM
stop_console tl TERM
exec 5>&- 6>&- 7>&- 8>&-
"$BIN/blonet-console" -c "$WORK/d/$HX/config.json" --list --json --offline >"$WORK/hx.list" 2>&1
check "Houay Xai's store holds the two RFIs once each" \
	[ "$(grep -o "{\"n\":[0-9]*,\"id\":\"$RFI\",\"type\":\"RFI\",\"received_ms\"" "$WORK/hx.list" | wc -l)" = 1 -a \
	  "$(grep -o "{\"n\":[0-9]*,\"id\":\"$RFI2\",\"type\":\"RFI\",\"received_ms\"" "$WORK/hx.list" | wc -l)" = 1 ]
"$BIN/blonet-console" -c "$WORK/d/$CK/config.json" --list --offline --width 140 >"$WORK/ck.list" 2>&1
check "Chiang Khong's list marks the first RFI answered" grep -q 'ANSWERED' "$WORK/ck.list"

for b in th-broker la-broker mm-broker; do
	check "$b stops cleanly" stop_broker $b TERM
done
finish
