#!/usr/bin/env bash
# Authentication abuse at a broker while an entitled subscriber and a
# legitimate publisher go on working.
#   1. CONNS connections (1,000; short 100) in turn with an unknown CURVE
#      key, NULL, PLAIN and a wrong server key, each queueing a Hello, a
#      Subscribe and a signed Publish: no handshake may succeed, no abuser
#      may receive a single message, nothing of theirs may be stored.
#   2. HELLOS well-formed CURVE HELLOs (10,000 in 60 s; short 1,000 in 10 s),
#      each on its own connection from a fresh key, held open after the
#      broker's WELCOME and never completed: the broker must answer each,
#      close each on its own (its handshake interval), and keep its memory
#      and descriptors bounded (VmRSS/RssAnon sampled).
# Throughout, an agent publishes a chunk every second: every alert must be
# acknowledged and reach the durable console exactly once.
# Refusals are counted by the broker where it can see them (ZAP's
# denied_unknown_key); NULL, PLAIN and a wrong server key never reach ZAP
# (libzmq drops them at the greeting or the HELLO), so those are counted
# from the abusers' side (libzmq's handshake-failure events).
. "${BLO_SRCDIR:?run through make faults or make check}/tests/fault/lib.sh"

CONNS=$(short_or 1000 100)
HELLOS=$(short_or 10000 1000)
HELLO_S=$(short_or 60 10)
HOLD_MS=8000 # well past the broker's 5 s handshake interval: it must close them
CHUNK=20
AF="$FAULT_BIN/auth_flood"
[ -x "$AF" ] || fault_skip "helper $AF is not built (make builds tests/fault/*.c)"

provision "$SRC/tests/integration/topology_single.json" || fault_abort "provisioning"
start_broker th-broker || fault_abort "the broker starts"
BROKER_PID=${PIDS[th-broker]}
AGENT="$WORK/d/th-customs-maesai/config.json"

snap() { ctl th-broker status | tr -d '\t\n ' >"$WORK/$1.status"; }
num() { grep -o "\"$2\":[0-9]*" "$WORK/$1.status" | head -n 1 | cut -d: -f2; }
delta() { echo $(($(num "$2" "$3") - $(num "$1" "$3"))); }
jget() { grep -o "\"$2\":[0-9.]*" "$1" | head -n 1 | cut -d: -f2; }
# jmode FILE MODE KEY: a figure of one mode in the refuse helper's line.
jmode() { grep -o "\"$2\":{[^}]*}" "$1" | grep -o "\"$3\":[0-9]*" | cut -d: -f2; }
rss_kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$BROKER_PID/status" 2>/dev/null; }
fds() { ls "/proc/$BROKER_PID/fd" 2>/dev/null | wc -l; }
settle() { sleep 1.3; }

bg sub "$BIN/blonet-sub" -c "$WORK/d/th-console-maesai/config.json" --durable fault \
	>"$WORK/sub.out" 2>"$WORK/sub.err"
sleep 0.5

# The legitimate publisher: a chunk of CHUNK alerts every second until
# $WORK/legit.stop exists; one line per chunk: "k rc milliseconds".
legit_loop() {
	local k=0 t
	trap 'exit 0' TERM
	while [ ! -e "$WORK/legit.stop" ]; do
		k=$((k + 1))
		gen_alerts "legit-$k" "$CHUNK" >"$WORK/legit.$k.jsonl"
		t=$(date +%s%N)
		"$BIN/blonet-pub" -c "$AGENT" --timeout 30 "$WORK/legit.$k.jsonl" >"$WORK/legit.$k.res" 2>&1
		echo "$k $? $((($(date +%s%N) - t) / 1000000))" >>"$WORK/legit.log"
		sleep 1
	done
}

settle
snap base
RSS0=$(rss_kb VmRSS)
ANON0=$(rss_kb RssAnon)
FDS0=$(fds)
bg legit legit_loop
sampler() { while :; do echo "$(rss_kb VmRSS) $(rss_kb RssAnon) $(fds)"; sleep 0.5; done; }
bg sampler sampler >"$WORK/samples"

# ---------------------------------------------------------------- 1. refused keys
T1=$SECONDS
"$AF" refuse -c "$AGENT" -n "$CONNS" --batch 100 --wait 10000 >"$WORK/refuse.json" 2>"$WORK/refuse.err"
REFUSE_RC=$?
REFUSE_S=$((SECONDS - T1))
settle
snap refused
expect "no abuser completed a handshake or received anything: $(cat "$WORK/refuse.json" "$WORK/refuse.err")" \
	[ "$REFUSE_RC" = 0 ]
ABUSE_RECEIVED=$(jget "$WORK/refuse.json" messages_received)
ABUSE_ADMITTED=$(jget "$WORK/refuse.json" handshakes_succeeded)
UNKNOWN=$(jmode "$WORK/refuse.json" unknown_key connections)
ZAP_UNKNOWN=$(delta base refused denied_unknown_key)
expect "ZAP refused each unknown key once: $ZAP_UNKNOWN of $UNKNOWN" [ "$ZAP_UNKNOWN" = "$UNKNOWN" ]
# The other modes as their clients saw them: refused before ZAP.
REFUSED_CLIENT=0
for m in unknown_key null plain wrong_server_key; do
	r=$(($(jmode "$WORK/refuse.json" $m failed_auth) + $(jmode "$WORK/refuse.json" $m failed_protocol) +
		$(jmode "$WORK/refuse.json" $m failed_other)))
	c=$(jmode "$WORK/refuse.json" $m connections)
	expect "$m: $r of $c connections saw their handshake fail" [ "$r" = "$c" ]
	REFUSED_CLIENT=$((REFUSED_CLIENT + r))
done

# ---------------------------------------------------------------- 2. HELLO flood
snap prehello
T2=$SECONDS
"$AF" hello -c "$AGENT" -n "$HELLOS" --seconds "$HELLO_S" --hold-ms "$HOLD_MS" --concurrency 3000 \
	>"$WORK/hello.json" 2>"$WORK/hello.err"
HELLO_RC=$?
HELLO_RUN_S=$((SECONDS - T2))
settle
snap hello
expect "every HELLO got its WELCOME: $(cat "$WORK/hello.json" "$WORK/hello.err")" [ "$HELLO_RC" = 0 ]
WELCOMES=$(jget "$WORK/hello.json" welcomes)
EXPIRED=$(jget "$WORK/hello.json" closed_by_server_while_held)
MAX_OPEN=$(jget "$WORK/hello.json" max_open)
expect "the broker closed every handshake left half-done ($EXPIRED of $HELLOS)" [ "$EXPIRED" = "$HELLOS" ]
HELLO_ZAP=$(($(delta prehello hello denied_unknown_key) + $(delta prehello hello malformed)))
zero "ZAP requests from HELLOs that never sent INITIATE" "$HELLO_ZAP"

touch "$WORK/legit.stop"
bg_wait legit
kill -TERM "${PIDS[sampler]}" 2>/dev/null
bg_wait sampler

# ---------------------------------------------------------------- the legitimate traffic
cat "$WORK"/legit.*.res >"$WORK/legit.res" 2>/dev/null
CHUNKS=$(grep -c . "$WORK/legit.log")
BAD_CHUNKS=$(awk '$2 != 0' "$WORK/legit.log" | wc -l)
ACKED=$(count_lines "$WORK/legit.res" '"status":"accepted"')
PUBLISHED=$((CHUNKS * CHUNK))
SLOWEST=$(sort -k3 -n "$WORK/legit.log" | tail -n 1 | cut -d' ' -f3)
expect "every legitimate alert acknowledged ($ACKED of $PUBLISHED in $CHUNKS chunks)" \
	[ "$ACKED" = "$PUBLISHED" -a "$BAD_CHUNKS" = 0 -a "$CHUNKS" -gt 0 ]
settle
snap end
STORED=$(delta base end accepted)
expect "the broker stored exactly the legitimate alerts ($STORED, published $PUBLISHED)" [ "$STORED" = "$PUBLISHED" ]
sub_has_all() { [ "$(distinct_ids "$WORK/sub.out")" -ge "$ACKED" ]; }
wait_for 30 sub_has_all
GOT=$(distinct_ids "$WORK/sub.out")
DUPS=$(($(grep -c '"alert"' "$WORK/sub.out") - GOT))
expect "the console got every acknowledged alert ($GOT of $ACKED)" [ "$GOT" = "$ACKED" ]
zero "alerts delivered twice" "$DUPS"
FOREIGN=$(grep -c 'auth_flood' "$WORK/sub.out")
zero "abusers' alerts delivered" "$FOREIGN"

# ---------------------------------------------------------------- memory and descriptors
RSS_PEAK=$(awk '{print $1}' "$WORK/samples" | sort -n | tail -n 1)
ANON_PEAK=$(awk '{print $2}' "$WORK/samples" | sort -n | tail -n 1)
FDS_PEAK=$(awk '{print $3}' "$WORK/samples" | sort -n | tail -n 1)
RSS1=$(rss_kb VmRSS)
ANON1=$(rss_kb RssAnon)
FDS1=$(fds)
PEAK_GROWTH=$(((ANON_PEAK - ANON0) / 1024))
AFTER_GROWTH=$(((ANON1 - ANON0) / 1024))
if ! grep -qa '__asan_init' "$BIN/blonet-broker"; then
	expect "anonymous memory stayed bounded: peak +$PEAK_GROWTH MiB (limit 128)" [ "$PEAK_GROWTH" -lt 128 ]
	expect "anonymous memory after the floods: +$AFTER_GROWTH MiB (limit 64)" [ "$AFTER_GROWTH" -lt 64 ]
fi
expect "descriptors back to $FDS0 (+4): $FDS1" [ "$FDS1" -le $((FDS0 + 4)) ]

CRASHES=0
if kill -0 "$BROKER_PID" 2>/dev/null; then
	stop_broker th-broker TERM || CRASHES=1
else
	CRASHES=1
fi
SAN=$(grep -cE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$WORK/th-broker.log")
zero "broker crashed or exited non-zero" "$CRASHES"
zero "sanitizer reports" "$SAN"

fault_done "abusers=$CONNS admitted=${ABUSE_ADMITTED:-x} abuser_msgs=${ABUSE_RECEIVED:-x} \
refused_by_zap=$ZAP_UNKNOWN refused_seen_by_clients=$REFUSED_CLIENT refuse_s=$REFUSE_S \
hellos=$HELLOS/${HELLO_S}s hello_rate=$(jget "$WORK/hello.json" rate_per_s)/s welcomes=$WELCOMES expired_by_broker=$EXPIRED max_open=$MAX_OPEN hello_zap=$HELLO_ZAP \
legit_acked=$ACKED/$PUBLISHED delivered=$GOT dups=$DUPS slowest_chunk_ms=$SLOWEST \
rss_kb=$RSS0/$RSS_PEAK/$RSS1 anon_kb=$ANON0/$ANON_PEAK/$ANON1 fds=$FDS0/$FDS_PEAK/$FDS1 \
crashes=$CRASHES sanitizer=$SAN"
