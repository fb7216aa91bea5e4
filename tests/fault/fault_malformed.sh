#!/usr/bin/env bash
# Malformed input at the broker's listening socket. A Thai broker linked to
# a Lao broker: its one listening socket serves clients and the mesh alike
# (lib/blo_mesh.c: peers connect to it as DEALERs; FORWARD frames arrive on
# the same ROUTER as client frames), so everything goes there:
#   before authentication: raw TCP garbage, ZMTP CURVE greetings followed by
#     garbage, CURVE HELLOs with bytes flipped, greetings never completed
#     (held until the broker closes them), handshakes with unknown keys;
#   after authentication: N frames (1,000,000; short 20,000) of random
#     bytes, truncated and mutated valid frames, wrong frame counts and
#     frames a client may not send: 80% from an agent (mutating a signed
#     Publish), 20% from the Lao broker's identity (mutating a signed
#     Forward), each classified by the helper as the broker would;
#   oversize frames beyond ZMQ_MAXMSGSIZE: the peer is disconnected, and a
#     frame of exactly the limit is not;
#   a replay: a real publisher's session recorded through a TCP relay and
#     replayed byte for byte on a new connection.
# Figures: crashes and sanitizer reports (0), what the broker counted
# against what was injected (equal), accepted from the abuse (0), VmRSS
# before/peak/after (judged on RssAnon: the journal's mapped pages count in
# VmRSS; not judged under AddressSanitizer, whose quarantine holds freed
# memory), descriptors after, audit bytes per refused frame (retention
# never purges audit records, so the broker records each principal's first
# refusals of a minute one by one and sums up the rest: this must stay a
# few bytes per frame) and how long one abuser at the measured rate would
# take to fill the journal map with them (map_full_after_s), and a
# legitimate publisher whose alerts reach a Thai and (over the mesh) a Lao
# subscriber exactly once afterwards.
. "${BLO_SRCDIR:?run through make faults or make check}/tests/fault/lib.sh"

N=$(short_or 1000000 20000)
PREAUTH=$(short_or 20000 2000)
OVERSIZE=$(short_or 10 4)
LEGIT=$(short_or 200 50)
FF="$FAULT_BIN/frame_flood"
[ -x "$FF" ] || fault_skip "helper $FF is not built (make builds tests/fault/*.c)"

cat >"$WORK/topology.json" <<'JSON'
{
  "name": "fault-malformed",
  "brokers": [
    {"id": "th-broker", "country": "TH", "listen": ["tcp://127.0.0.1:0"]},
    {"id": "la-broker", "country": "LA", "listen": ["tcp://127.0.0.1:0"]}
  ],
  "links": [["th-broker", "la-broker"]],
  "principals": [
    {"id": "th-customs-maesai", "role": "agent", "country": "TH", "agency": "CUSTOMS", "site": "TH-MAESAI", "broker": "th-broker"},
    {"id": "th-console-maesai", "role": "console", "country": "TH", "agency": "COORDINATION", "site": "TH-MAESAI", "broker": "th-broker"},
    {"id": "la-customs-houayxai", "role": "agent", "country": "LA", "agency": "CUSTOMS", "site": "LA-HOUAYXAI", "broker": "la-broker"},
    {"id": "la-console-houayxai", "role": "console", "country": "LA", "agency": "COORDINATION", "site": "LA-HOUAYXAI", "broker": "la-broker"}
  ],
  "operations": []
}
JSON
provision "$WORK/topology.json" || fault_abort "provisioning"
for b in th-broker la-broker; do
	start_broker $b || fault_abort "$b starts"
done
wait_for 15 peer_is th-broker la-broker connected true || fault_abort "the TH-LA link comes up"
TH_PID=${PIDS[th-broker]}
TH_CFG="$WORK/d/th-broker/config.json"
AGENT="$WORK/d/th-customs-maesai/config.json"
TH_EP=$(grep -o 'tcp://[0-9.]*:[0-9]*' "$AGENT")

# Subscribers for the legitimate traffic at the end (durable: they get
# what was published while they ran, each exactly once).
bg th-sub "$BIN/blonet-sub" -c "$WORK/d/th-console-maesai/config.json" --durable fault \
	>"$WORK/th-sub.out" 2>"$WORK/th-sub.err"
bg la-sub "$BIN/blonet-sub" -c "$WORK/d/la-console-houayxai/config.json" --durable fault \
	>"$WORK/la-sub.out" 2>"$WORK/la-sub.err"

# snap NAME: the broker's status, flattened, in $WORK/NAME.status.
snap() { ctl th-broker status | tr -d '\t\n ' >"$WORK/$1.status"; }
# num NAME KEY: the first number under KEY in snapshot NAME.
num() { grep -o "\"$2\":[0-9]*" "$WORK/$1.status" | head -n 1 | cut -d: -f2; }
# delta A B KEY: KEY in snapshot B minus KEY in snapshot A.
delta() { echo $(($(num "$2" "$3") - $(num "$1" "$3"))); }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$TH_PID/status" 2>/dev/null; }
# Anonymous memory only: the journal's mapped pages count in VmRSS too, and
# the audit records of a million refusals are file pages, not a leak.
anon_kb() { awk '/^RssAnon/ {print $2}' "/proc/$TH_PID/status" 2>/dev/null; }
fds() { ls "/proc/$TH_PID/fd" 2>/dev/null | wc -l; }
# jget FILE KEY: a number from a helper's JSON line.
jget() { grep -o "\"$2\":[0-9.]*" "$1" | head -n 1 | cut -d: -f2; }
settle() { sleep 1.3; } # status.json is rewritten every second

settle
snap base
RSS0=$(rss_kb)
ANON0=$(anon_kb)
FDS0=$(fds)
USED0=$(num base used_bytes)

# Peak VmRSS while the abuse goes on.
rss_sampler() { while :; do rss_kb; sleep 0.25; done; }
bg sampler rss_sampler >"$WORK/rss.samples"

# ---------------------------------------------------------------- before authentication
"$FF" preauth -c "$AGENT" -n "$PREAUTH" >"$WORK/preauth.json" 2>"$WORK/preauth.err"
PRE_RC=$?
settle
snap pre
expect "pre-auth flood as planned: $(cat "$WORK/preauth.json" "$WORK/preauth.err")" [ "$PRE_RC" = 0 ]
PRE_UNKNOWN=$(jget "$WORK/preauth.json" unknown_key_handshake)
expect "ZAP refused each unknown key once: $(delta base pre denied_unknown_key) of ${PRE_UNKNOWN}" \
	[ "$(delta base pre denied_unknown_key)" = "$PRE_UNKNOWN" ]
zero "handshakes admitted before authentication" "$(delta base pre allowed)"

# ---------------------------------------------------------------- after authentication
N_PEER=$((N / 5))
N_CLIENT=$((N - N_PEER))
T_FLOOD=$SECONDS
"$FF" auth -c "$AGENT" -n "$N_CLIENT" >"$WORK/auth-client.json" 2>"$WORK/auth-client.err"
RC_C=$?
"$FF" auth -c "$AGENT" --identity "$WORK/d/la-broker/identity.secret.json" \
	--signer "$WORK/d/la-customs-houayxai/config.json" -n "$N_PEER" \
	>"$WORK/auth-peer.json" 2>"$WORK/auth-peer.err"
RC_P=$?
FLOOD_S=$((SECONDS - T_FLOOD))
expect "the agent's flood ends with the broker answering: $(cat "$WORK/auth-client.json" "$WORK/auth-client.err")" [ "$RC_C" = 0 ]
expect "the peer broker's flood ends with the broker answering: $(cat "$WORK/auth-peer.json" "$WORK/auth-peer.err")" [ "$RC_P" = 0 ]
E_MAL=$(($(jget "$WORK/auth-client.json" malformed) + $(jget "$WORK/auth-peer.json" malformed)))
E_FORB=$(($(jget "$WORK/auth-client.json" forbidden) + $(jget "$WORK/auth-peer.json" forbidden)))
E_REJ=$(($(jget "$WORK/auth-client.json" rejected) + $(jget "$WORK/auth-peer.json" rejected)))
E_REF=$(($(jget "$WORK/auth-client.json" refused_peer) + $(jget "$WORK/auth-peer.json" refused_peer)))
INJECTED=$((E_MAL + E_FORB + E_REJ + E_REF))
counted_all() {
	snap auth
	[ "$(delta pre auth malformed_frames)" -ge "$E_MAL" ] &&
		[ "$(delta pre auth rejected)" -ge "$E_REJ" ] &&
		[ "$(delta pre auth refused_from_peers)" -ge "$E_REF" ]
}
wait_for 60 counted_all
settle
snap auth
C_MAL=$(delta pre auth malformed_frames)
C_FORB=$(delta pre auth forbidden)
C_REJ=$(delta pre auth rejected)
C_REF=$(delta pre auth refused_from_peers)
COUNTED=$((C_MAL + C_FORB + C_REJ + C_REF))
expect "malformed_frames counted $C_MAL, injected $E_MAL" [ "$C_MAL" = "$E_MAL" ]
expect "forbidden counted $C_FORB, injected $E_FORB" [ "$C_FORB" = "$E_FORB" ]
expect "rejected publishes counted $C_REJ, injected $E_REJ" [ "$C_REJ" = "$E_REJ" ]
expect "refused forwards counted $C_REF, injected $E_REF" [ "$C_REF" = "$E_REF" ]
ACCEPTED_ABUSE=$(($(delta base auth accepted) + $(delta base auth duplicate) + $(delta base auth received_from_peers)))
zero "alerts accepted, duplicates or forwards received from the abuse" "$ACCEPTED_ABUSE"
RATE=$(awk -v n="$N" -v a="$(jget "$WORK/auth-client.json" seconds_to_pong)" \
	-v b="$(jget "$WORK/auth-peer.json" seconds_to_pong)" 'BEGIN {printf "%d", n / (a + b)}')
SEND_RATE=$(jget "$WORK/auth-client.json" rate_sent)
USED1=$(num auth used_bytes)
AUDIT_B=$(awk -v a="$USED0" -v b="$USED1" -v n="$INJECTED" 'BEGIN {printf "%d", (b - a) / n}')
# Retention never purges audit records: a flood's refusals beyond each
# principal's budget are summed up, not recorded one by one, so one abuser
# cannot fill the map with them (about 158 bytes a record otherwise).
AUDIT_BYTES=$(awk -v a="$USED0" -v b="$USED1" 'BEGIN {printf "%d", b - a}')
expect "the flood grew the journal by $AUDIT_BYTES bytes, under 8 per refused frame" \
	[ "$AUDIT_BYTES" -lt $((8 * INJECTED)) ]
# How long one abuser at this rate would take to fill the map (-1: never
# measurably).
MAP=$(num auth map_size)
FILL_S=$(awk -v m="$MAP" -v r="$RATE" -v b="$AUDIT_B" 'BEGIN {printf "%d", ((b > 0 && r > 0) ? m / (r * b) : -1)}')

# ---------------------------------------------------------------- oversize
LIMIT=$(grep -o '"max_message_bytes":[0-9]*' "$TH_CFG" | cut -d: -f2)
"$FF" oversize -c "$AGENT" -n "$OVERSIZE" --limit "${LIMIT:-131072}" >"$WORK/oversize.json" 2>&1
OVER_RC=$?
OVER_DISC=$(jget "$WORK/oversize.json" disconnected)
expect "every oversize frame disconnected its peer, a frame of the limit did not: $(cat "$WORK/oversize.json")" \
	[ "$OVER_RC" = 0 ]

# ---------------------------------------------------------------- replay
snap prereplay
cat >"$WORK/replay.jsonl" <<'JSON'
{"type":"ALERT","status":"EXERCISE","source_ref":"replayed-1","assessment":{"category":"DRUGS","severity":"SEVERE"},"handling":{"tlp":"TLP_AMBER","releasable_to":["LA"]},"headline":"published once through a recording relay"}
JSON
bg relay "$FF" relay --to "$TH_EP" --port-file "$WORK/relay.port" --record "$WORK/session.rec" \
	>"$WORK/relay.json"
wait_for 5 test -s "$WORK/relay.port"
sed "s#$TH_EP#tcp://127.0.0.1:$(cat "$WORK/relay.port")#" "$AGENT" >"$WORK/d/th-customs-maesai/relay.json"
"$BIN/blonet-pub" -c "$WORK/d/th-customs-maesai/relay.json" --timeout 20 "$WORK/replay.jsonl" \
	>"$WORK/replay-pub.res" 2>&1
expect "the recorded session published its alert" grep -q '"status":"accepted"' "$WORK/replay-pub.res"
wait_for 5 bash -c '! kill -0 "$0" 2>/dev/null' "${PIDS[relay]}" || kill -TERM "${PIDS[relay]}"
bg_wait relay
settle
snap recorded
REPLAYS=$(short_or 20 5)
for _ in $(seq 1 "$REPLAYS"); do
	"$FF" replay --to "$TH_EP" --record "$WORK/session.rec" >>"$WORK/replay.json" 2>&1
done
settle
snap replayed
REPLAY_ADMITTED=$(delta recorded replayed allowed)
REPLAY_STORED=$(($(delta recorded replayed accepted) + $(delta recorded replayed duplicate)))
zero "replayed sessions admitted by ZAP" "$REPLAY_ADMITTED"
zero "replayed publishes stored or acknowledged" "$REPLAY_STORED"

kill -TERM "${PIDS[sampler]}" 2>/dev/null
bg_wait sampler
RSS_PEAK=$(sort -n "$WORK/rss.samples" | tail -n 1)

# ---------------------------------------------------------------- legitimate traffic afterwards
gen_alerts after-abuse "$LEGIT" '{"tlp":"TLP_AMBER","releasable_to":["LA"]}' >"$WORK/legit.jsonl"
pub th-customs-maesai "$WORK/legit.jsonl" >"$WORK/legit.res" 2>&1
LEGIT_OK=$(count_lines "$WORK/legit.res" '"status":"accepted"')
expect "the legitimate publisher's $LEGIT alerts accepted ($LEGIT_OK)" [ "$LEGIT_OK" = "$LEGIT" ]
WANT=$((LEGIT + 1)) # and the alert of the recorded session
th_has_all() { [ "$(distinct_ids "$WORK/th-sub.out")" -ge "$WANT" ]; }
la_has_all() { [ "$(distinct_ids "$WORK/la-sub.out")" -ge "$WANT" ]; }
wait_for 30 th_has_all
wait_for 30 la_has_all
TH_GOT=$(distinct_ids "$WORK/th-sub.out")
LA_GOT=$(distinct_ids "$WORK/la-sub.out")
expect "the Thai subscriber got $WANT alerts (got $TH_GOT)" [ "$TH_GOT" = "$WANT" ]
expect "the Lao subscriber got $WANT alerts over the mesh (got $LA_GOT)" [ "$LA_GOT" = "$WANT" ]
DUPS=$(($(grep -c '"alert"' "$WORK/th-sub.out") - TH_GOT + $(grep -c '"alert"' "$WORK/la-sub.out") - LA_GOT))
zero "alerts delivered twice" "$DUPS"
expect "the mesh link is up after the abuse" peer_is th-broker la-broker connected true

settle
RSS1=$(rss_kb)
ANON1=$(anon_kb)
FDS1=$(fds)
GROWTH=$(((ANON1 - ANON0) / 1024))
# Under AddressSanitizer freed memory sits in quarantine: report, do not judge.
if ! grep -qa '__asan_init' "$BIN/blonet-broker"; then
	expect "anonymous memory (RssAnon) grew $GROWTH MiB (limit 64)" [ "$GROWTH" -lt 64 ]
fi
expect "descriptors back to $FDS0 (+4) after the abuse: $FDS1" [ "$FDS1" -le $((FDS0 + 4)) ]
expect "the audit chain verifies" ctl th-broker audit-verify >/dev/null 2>&1

# ---------------------------------------------------------------- crashes, sanitizers
CRASHES=0
for b in th-broker la-broker; do
	if kill -0 "${PIDS[$b]}" 2>/dev/null; then
		stop_broker $b TERM || CRASHES=$((CRASHES + 1))
	else
		CRASHES=$((CRASHES + 1))
		wait "${PIDS[$b]}" 2>/dev/null
		unset "PIDS[$b]"
	fi
done
SAN=$(cat "$WORK"/th-broker.log "$WORK"/la-broker.log |
	grep -cE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:')
zero "brokers crashed or exited non-zero" "$CRASHES"
zero "sanitizer reports" "$SAN"

fault_done "frames=$N rate=${RATE}/s send_rate=${SEND_RATE}/s flood_s=$FLOOD_S injected=$INJECTED counted=$COUNTED \
malformed=$C_MAL rejected=$C_REJ forbidden=$C_FORB refused_peer=$C_REF accepted_from_abuse=$ACCEPTED_ABUSE \
preauth_conns=$PREAUTH unknown_key_refused=$(delta base pre denied_unknown_key) \
oversize_disconnected=${OVER_DISC:-0}/$OVERSIZE replay_admitted=$REPLAY_ADMITTED replay_stored=$REPLAY_STORED \
crashes=$CRASHES sanitizer=$SAN rss_kb=$RSS0/$RSS_PEAK/$RSS1 anon_growth_mb=$GROWTH fds=$FDS0/$FDS1 \
audit_bytes_per_frame=$AUDIT_B map_full_after_s=$FILL_S legit=$TH_GOT+$LA_GOT/$((2 * WANT)) dups=$DUPS"
