#!/usr/bin/env bash
# The BLO console in --json mode against a real broker: entitled alerts
# appear once and in order; a console restarted (cleanly, and after kill -9)
# shows nothing twice and misses nothing; an ACK sent from one console
# reaches the console of the originating agency's BLO with the right
# reference; an RFI is answered with a RESPONSE; the local store is read
# with the broker gone.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$BIN/blonet-console" ]; then
	echo "$T_NAME: SKIPPED: $BIN/blonet-console is not built"
	finish
fi

provision "$SRC/tests/integration/topology_console.json" || { fail provision; finish; }
start_broker th-broker || { fail "broker starts"; finish; }

CK=th-console-chiangkhong
MS=th-console-maesai

# wait_lines FILE PATTERN N [SECONDS]: until FILE has N lines matching.
wait_lines() {
	local i
	for i in $(seq 1 $((${4:-20} * 10))); do
		[ "$(count_lines "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# start_console NAME PRINCIPAL OUT: a --json console reading commands from
# the fifo $WORK/NAME.in (held open on fd 7 or 8 by the caller).
start_console() {
	"$BIN/blonet-console" -c "$WORK/d/$2/config.json" --json >>"$3" 2>>"$WORK/$1.err" <"$WORK/$1.in" &
	PIDS[$1]=$!
	wait_lines "$3" '"event":"link".*"up":true' "$(($(count_lines "$3" '"event":"link".*"up":true') + 1))" 30
}

stop_console() { # stop_console NAME [SIGNAL]
	kill "-${2:-TERM}" "${PIDS[$1]}" 2>/dev/null
	wait "${PIDS[$1]}" 2>/dev/null
	unset "PIDS[$1]"
}

# received_ids FILE [TYPE]: ids of received events, in the order printed.
received_ids() {
	sed -n "s/^{\"event\":\"received\",\"n\":[0-9]*,\"id\":\"\([0-9a-f]*\)\",\"type\":\"${2:-ALERT}\".*/\1/p" "$1"
}

# alerts FILE PREFIX N: N alerts, categories in turn, headlines in Thai.
alerts() {
	awk -v p="$2" -v n="$3" 'BEGIN {
		split("DRUGS WILDLIFE TRAFFICKING_IN_PERSONS TIMBER", cat, " ")
		for (i = 1; i <= n; i++)
			printf "{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"source_ref\":\"%s-%d\",\"assessment\":{\"category\":\"%s\",\"severity\":\"SEVERE\"},\"handling\":{\"tlp\":\"TLP_AMBER\"},\"location\":{\"site\":\"TH-MAESAI\"},\"headline\":\"\\u0e22\\u0e32\\u0e1a\\u0e49\\u0e32 %s %d\"}\n", p, i, cat[(i - 1) % 4 + 1], p, i
	}' >"$1"
}

mkfifo "$WORK/ck.in" "$WORK/ms.in"
exec 7<>"$WORK/ck.in" 8<>"$WORK/ms.in"
check "Chiang Khong console connects" start_console ck $CK "$WORK/ck.out"
check "Mae Sai console connects" start_console ms $MS "$WORK/ms.out"

# 1. Alerts from two agencies; one TLP:RED for Mae Sai's console only.
alerts "$WORK/a.jsonl" cus 12
pub th-customs-maesai "$WORK/a.jsonl" >"$WORK/a.res" 2>&1
printf '%s\n' '{"type":"ALERT","status":"EXERCISE","source_ref":"red-1","assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_RED","addressed_to":["th-console-maesai"]},"headline":"RED for Mae Sai"}' >"$WORK/red.jsonl"
pub th-customs-maesai "$WORK/red.jsonl" >"$WORK/red.res" 2>&1
alerts "$WORK/b.jsonl" imm 6
pub th-immigration-chiangkhong "$WORK/b.jsonl" >"$WORK/b.res" 2>&1
check "19 alerts accepted by the broker" \
	[ "$(cat "$WORK/a.res" "$WORK/red.res" "$WORK/b.res" | grep -c '"status":"accepted"')" = 19 ]
# ids_of RESULTS...: ids of blonet-pub results in the broker's order (its
# journal sequence: verification in parallel may reorder a publisher's
# lines, and delivery follows the journal).
ids_of() {
	cat "$@" | sed -n 's/.*"id":"\([0-9a-f]*\)","status":"[a-z]*","seq":\([0-9]*\).*/\2 \1/p' |
		sort -n | cut -d' ' -f2
}
# in_seq_order FILE: the broker sequences of received events only grow.
in_seq_order() {
	grep '"event":"received"' "$1" | sed -n 's/.*"broker_seq":\([0-9]*\).*/\1/p' |
		awk 'NR > 1 && $1 <= last { bad = 1 } { last = $1 } END { exit bad }'
}
ids_of "$WORK/a.res" "$WORK/b.res" >"$WORK/expect_ck"
ids_of "$WORK/a.res" "$WORK/red.res" "$WORK/b.res" >"$WORK/expect_ms"

wait_lines "$WORK/ck.out" '"event":"received"' 18
wait_lines "$WORK/ms.out" '"event":"received"' 19
received_ids "$WORK/ck.out" >"$WORK/got_ck"
received_ids "$WORK/ms.out" >"$WORK/got_ms"
check "Chiang Khong shows its 18 entitled alerts, once each, in order" diff "$WORK/expect_ck" "$WORK/got_ck"
check "deliveries are shown in the broker's order" in_seq_order "$WORK/ck.out"
check "Mae Sai shows all 19, RED included, once each, in order" diff "$WORK/expect_ms" "$WORK/got_ms"
check "the RED alert never reached Chiang Khong" [ "$(count_lines "$WORK/ck.out" 'RED for Mae Sai')" = 0 ]
check "every alert shown is signature-verified" \
	[ "$(grep '"event":"received"' "$WORK/ck.out" | grep -c '"verified":true')" = 18 ]
check "Thai text arrives intact" grep -q $'\xe0\xb8\xa2\xe0\xb8\xb2\xe0\xb8\x9a\xe0\xb9\x89\xe0\xb8\xb2 cus 1"' "$WORK/ck.out"

# 2. A clean restart: alerts published while the console is down appear
# once after it comes back; nothing shown before appears again.
stop_console ck TERM
alerts "$WORK/c.jsonl" down 5
pub th-customs-maesai "$WORK/c.jsonl" >"$WORK/c.res" 2>&1
ids_of "$WORK/c.res" >>"$WORK/expect_ck"
: >"$WORK/ck2.out"
check "Chiang Khong console restarts" start_console ck $CK "$WORK/ck2.out"
wait_lines "$WORK/ck2.out" '"event":"received"' 5
sleep 1
received_ids "$WORK/ck2.out" >"$WORK/got_ck2"
check "after the restart exactly the 5 missed alerts are shown" diff <(ids_of "$WORK/c.res") "$WORK/got_ck2"
cat "$WORK/got_ck" "$WORK/got_ck2" >"$WORK/got_all"
check "across both runs: every entitled alert once, in order" diff "$WORK/expect_ck" "$WORK/got_all"

# 3. kill -9 in the middle of a stream: nothing is missing afterwards.
alerts "$WORK/k.jsonl" kill 60
pub th-customs-maesai "$WORK/k.jsonl" >"$WORK/k.res" 2>&1 &
PUB=$!
sleep 0.3
stop_console ck KILL
wait $PUB
ids_of "$WORK/k.res" >>"$WORK/expect_ck"
: >"$WORK/ck3.out"
check "Chiang Khong console restarts after kill -9" start_console ck $CK "$WORK/ck3.out"
for _ in $(seq 1 100); do
	cat "$WORK/ck2.out" "$WORK/ck3.out" | received_ids /dev/stdin | sort -u | comm -13 - <(ids_of "$WORK/k.res" | sort) |
		grep -q . || break
	sleep 0.1
done
received_ids "$WORK/ck2.out" >"$WORK/g2"
received_ids "$WORK/ck3.out" >"$WORK/g3"
check "after kill -9 no alert is missing" \
	[ -z "$(cat "$WORK/g2" "$WORK/g3" | sort -u | comm -13 - <(ids_of "$WORK/k.res" | sort))" ]
check "and the local store holds each alert once" \
	[ "$("$BIN/blonet-console" -c "$WORK/d/$CK/config.json" --list --json | grep -o '"type":"ALERT"' | wc -l)" = "$(sort -u "$WORK/expect_ck" | wc -l)" ]

# 4. Chiang Khong acknowledges a Mae Sai customs alert: Mae Sai's console
# gets the ACK with the right reference and the time it took.
REF=$(sed -n 3p "$WORK/expect_ck")
echo "{\"cmd\":\"ack\",\"id\":\"$REF\",\"status\":\"ACTING\",\"text\":\"team on its way\"}" >&7
check "the ACK is queued" wait_lines "$WORK/ck3.out" '"event":"result","cmd":"ack","ok":true' 1
check "the broker accepts the ACK" wait_lines "$WORK/ck3.out" '"event":"published".*"type":"ACK","status":"accepted"' 1
check "Mae Sai's console receives the ACK" wait_lines "$WORK/ms.out" '"event":"received".*"type":"ACK"' 1
ACKLINE=$(grep '"event":"received".*"type":"ACK"' "$WORK/ms.out" | head -n 1)
check "the ACK references the alert acknowledged" \
	grep -q "\"in_reply_to\":{\"n\":[0-9]*,\"id\":\"$REF\"" <<<"$ACKLINE"
check "the ACK carries references[0] and ACTING" \
	grep -q "\"references\":\[\"$REF\"\].*\"ack_status\":\"ACTING\"" <<<"$ACKLINE"
check "the ACK comes from Chiang Khong's console, verified" \
	grep -q '"verified":true,"signer":"th-console-chiangkhong"' <<<"$ACKLINE"
check "and says how long it took" grep -q '"took_ms":[0-9]' <<<"$ACKLINE"
check "Mae Sai's store shows the alert acknowledged" bash -c \
	"'$BIN/blonet-console' -c '$WORK/d/$MS/config.json' --list --json | grep -q '\"id\":\"$REF\",\"type\":\"ALERT\"[^}]*\"state\":{\"acks\":1,\"last_ack\":\"ACTING\"'"
check "Chiang Khong's store shows its own ACK accepted" bash -c \
	"'$BIN/blonet-console' -c '$WORK/d/$CK/config.json' --list --json | grep -q '\"id\":\"$REF\",\"type\":\"ALERT\"[^}]*\"state\":{\"my_ack\":\"ACTING\",\"my_ack_pub\":\"accepted\"'"
echo "{\"cmd\":\"ack\",\"id\":\"$(sed -n 1p "$WORK/expect_ck")\",\"status\":\"PONDERING\"}" >&7
check "an ACK status other than RECEIVED or ACTING is refused" \
	wait_lines "$WORK/ck3.out" '"cmd":"ack","ok":false,"error":"status is RECEIVED or ACTING"' 1

# 5. Mae Sai sends an RFI to Chiang Khong, which answers it.
echo '{"cmd":"rfi","to":"TH-CHIANGKHONG","tlp":"amber+strict","category":"DRUGS","headline":"Who owns plate 2กข-1234?","description":"Seen at the bridge"}' >&8
check "the RFI is accepted" wait_lines "$WORK/ms.out" '"event":"published".*"type":"RFI","status":"accepted"' 1
check "Chiang Khong receives the RFI" wait_lines "$WORK/ck3.out" '"event":"received".*"type":"RFI"' 1
RFI=$(received_ids "$WORK/ck3.out" RFI | head -n 1)
check "it is addressed to Chiang Khong's site under AMBER+STRICT" \
	grep -q '"handling":{"tlp":"TLP_AMBER_STRICT","addressed_to":\["TH-CHIANGKHONG"\]}' <(grep "\"id\":\"$RFI\"" "$WORK/ck3.out")
echo "respond $RFI The plate belongs to a rental company in Chiang Rai" >&7
check "Mae Sai receives the RESPONSE to its RFI" \
	wait_lines "$WORK/ms.out" "\"type\":\"RESPONSE\".*\"in_reply_to\":{\"n\":[0-9]*,\"id\":\"$RFI\",\"type\":\"RFI\"" 1
echo "{\"cmd\":\"bulletin\",\"to\":\"TH-CHIANGKHONG\",\"category\":\"DRUGS\",\"headline\":\"Fuel tanks\",\"modus_operandi\":\"tablets in a false fuel tank\"}" >&8
check "a bulletin is accepted" wait_lines "$WORK/ms.out" '"event":"published".*"type":"BULLETIN","status":"accepted"' 1

# 6. The broker gone: the store still reads, in line mode too.
stop_console ck TERM
stop_console ms TERM
exec 7>&- 8>&-
stop_broker th-broker TERM
"$BIN/blonet-console" -c "$WORK/d/$CK/config.json" --list --width 140 >"$WORK/offline.txt" 2>&1
check "with the broker down, the console lists what it stored" \
	grep -q "$(printf 'down 5')" "$WORK/offline.txt"
check "the offline list marks the ACK sent" grep -q 'ACKED ACTING' "$WORK/offline.txt"
"$BIN/blonet-console" -c "$WORK/d/$CK/config.json" --line --offline --timeout 0 </dev/null >"$WORK/line.txt" 2>&1
check "line mode shows every stored alert once, one line each" \
	[ "$(grep -c '^#[0-9]* NEW ALERT SEVERE ' "$WORK/line.txt")" = "$(sort -u "$WORK/expect_ck" | wc -l)" ]
check "line mode shows the RFI received and the ACK and RESPONSE sent" \
	[ "$(grep -c '^#[0-9]* NEW RFI\|^#[0-9]* SENT ACK ACTING to th-customs-maesai\|^#[0-9]* SENT RESPONSE to th-console-maesai' "$WORK/line.txt")" = 3 ]
finish
