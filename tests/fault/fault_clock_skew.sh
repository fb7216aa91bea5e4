#!/usr/bin/env bash
# Clock skew across a link: the TH broker's host runs an hour ahead, the LA
# broker's an hour behind (libfaketime; every process of a host, agents and
# subscribers too, shares its clock). Both brokers keep alerts for one hour
# (journal.max_age_hours 1). Each side publishes N alerts (full mode 10,000,
# paced over 70 s so that retention runs on both; short 1,000) released to
# both countries, each expiring 90 minutes after it was sent by its
# publisher's clock: so an LA alert reaches TH "already expired" by TH's
# clock, and one from TH reaches LA with 3.5 hours to go. The LA broker is
# killed with SIGKILL once mid-stream and restarted; then both sides publish
# their alerts again.
# Figures: skew_th_s and skew_la_s (as the brokers' status shows them),
# acked (both sides), stored_th and stored_la (each must hold all 2N),
# delivered_th and delivered_la (distinct alerts at each committee), lost
# (acked but missing from a journal or a committee: must be 0), expired
# (alerts purged by retention or skipped as expired: must be 0),
# duplicates (stored twice, delivered under two sequences, or a second
# publish not reported a duplicate: must be 0), order (a sequence a
# committee got for the first time below an earlier one: must be 0),
# cross_order (alerts of the other side delivered out of their origin
# broker's order: reported, not judged: the design promises per-subscriber
# sequence order only).
. "$(dirname "$0")/lib.sh"

FAKETIME_LIB=$(faketime_lib) ||
	fault_skip "libfaketime not installed (Debian package faketime; deploy/deps.sh installs it)"

N=$(short_or 10000 1000)
SPAN_S=$(short_or 70 0)
CHUNK=500
PAUSE=$(awk -v n="$N" -v s="$SPAN_S" -v c="$CHUNK" 'BEGIN { printf "%.2f", s / (n / c) }')
SKEW_TH=+3600
SKEW_LA=-3600

# skewed OFFSET COMMAND...: COMMAND on a host whose clock is OFFSET seconds
# off. The monotonic clock stays true, as it does when NTP is wrong.
skewed() {
	local off=$1
	shift
	FAKETIME=$off DONT_FAKE_MONOTONIC=1 LD_PRELOAD=$FAKETIME_LIB \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}

# start_skewed ID OFFSET: start_broker with the host's clock OFFSET off.
start_skewed() {
	local -x FAKETIME=$2 DONT_FAKE_MONOTONIC=1 LD_PRELOAD=$FAKETIME_LIB
	local -x ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
	start_broker "$1"
}

# gen_expiring PREFIX N NOW_MS: N alerts released to TH and LA, expiring 90
# minutes after NOW_MS.
gen_expiring() {
	awk -v p="$1" -v n="$2" -v expiry="$(($3 + 90 * 60 * 1000))" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"source_ref\":\"%s-%d\",\"expires_ms\":%s,\"assessment\":{\"category\":\"DRUGS\",\"severity\":\"SEVERE\"},\"handling\":{\"tlp\":\"TLP_GREEN\",\"releasable_to\":[\"TH\",\"LA\"]},\"headline\":\"skew %s record %d\"}\n", p, i, expiry, p, i
	}'
}

# publish SIDE OFFSET PRINCIPAL FILE RESULTS: paced as set above.
publish() {
	local dir="$WORK/chunks-$1-$(basename "$4")"
	mkdir -p "$dir"
	split -l "$CHUNK" -a 4 "$4" "$dir/c"
	for c in "$dir"/c*; do cat "$c"; sleep "$PAUSE"; done |
		skewed "$2" "$BIN/blonet-pub" -c "$WORK/d/$3/config.json" --timeout 60 - >"$5" 2>"$5.err"
}

provision "$SRC/tests/fault/topology_skew.json" || fault_abort "provision"
start_skewed th-broker "$SKEW_TH" || fault_abort "TH broker (an hour ahead) starts"
start_skewed la-broker "$SKEW_LA" || fault_abort "LA broker (an hour behind) starts"
wait_for 15 peer_is th-broker la-broker connected true || fault_abort "the TH-LA link comes up"
sleep 1.2 # status.json is written every second
now_s=$(date +%s)
skew_th=$(($(status_field th-broker time_ms) / 1000 - now_s))
skew_la=$(($(status_field la-broker time_ms) / 1000 - now_s))
expect "the TH broker runs an hour ahead (${skew_th} s)" [ "$skew_th" -ge 3590 -a "$skew_th" -le 3610 ]
expect "the LA broker runs an hour behind (${skew_la} s)" [ "$skew_la" -ge -3610 -a "$skew_la" -le -3590 ]

bg subth skewed "$SKEW_TH" "$FAULT_BIN/fault_sub" -c "$WORK/d/th-committee/config.json" \
	--durable skew --count $((2 * N)) --idle 60 >"$WORK/subth.out" 2>"$WORK/subth.err"
bg subla skewed "$SKEW_LA" "$FAULT_BIN/fault_sub" -c "$WORK/d/la-committee/config.json" \
	--durable skew --count $((2 * N)) --idle 60 >"$WORK/subla.out" 2>"$WORK/subla.err"
gen_expiring th "$N" "$(skewed "$SKEW_TH" date +%s%3N)" >"$WORK/th.jsonl"
gen_expiring la "$N" "$(skewed "$SKEW_LA" date +%s%3N)" >"$WORK/la.jsonl"
bg pubth publish th "$SKEW_TH" th-customs-maesai "$WORK/th.jsonl" "$WORK/th.res"
bg publa publish la "$SKEW_LA" la-customs-houayxai "$WORK/la.jsonl" "$WORK/la.res"

# The LA broker dies once mid-stream: what TH had forwarded but LA had not
# acknowledged comes again and must be recognised as already stored.
sleep "$(short_or 30 2)"
kill_broker la-broker
sleep 1
start_skewed la-broker "$SKEW_LA" || fault_abort "the LA broker restarts after kill -9"
bg_wait pubth
expect "TH: every publish acknowledged" [ $? = 0 ]
bg_wait publa
expect "LA: every publish acknowledged" [ $? = 0 ]
bg_wait subth
bg_wait subla

# Both sides publish everything again: duplicates, on either broker.
skewed "$SKEW_TH" "$BIN/blonet-pub" -c "$WORK/d/th-customs-maesai/config.json" --timeout 60 \
	"$WORK/th.jsonl" >"$WORK/th2.res" 2>/dev/null
skewed "$SKEW_LA" "$BIN/blonet-pub" -c "$WORK/d/la-customs-houayxai/config.json" --timeout 60 \
	"$WORK/la.jsonl" >"$WORK/la2.res" 2>/dev/null
republished_new=$(cat "$WORK/th2.res" "$WORK/la2.res" | grep -vc '"status":"duplicate"')

# Full mode: make sure retention has run on both since they last started.
if [ "$FAULT_SHORT" != 1 ]; then
	for b in th-broker la-broker; do
		until [ "$(status_field $b uptime_s)" -ge 65 ] 2>/dev/null; do sleep 1; done
	done
fi
sleep 1.2

cat "$WORK/th.res" "$WORK/la.res" | awk -F'"id":"' '/"status":"(accepted|duplicate)"/ {split($2, a, "\""); print a[1]}' |
	sort -u >"$WORK/acked.ids"
acked=$(wc -l <"$WORK/acked.ids")
lost_ids=""
dup=$republished_new
order=0
for side in th la; do
	ctl $side-broker journal >"$WORK/$side.journal"
	grep -o '"id":"[0-9a-f]*","bytes"' "$WORK/$side.journal" | cut -d'"' -f4 | sort >"$WORK/$side.jids"
	awk '$2 != "-" { print $2 }' "$WORK/sub$side.out" | sort -u >"$WORK/$side.delivered"
	read -r _ _ delivered twice o <<<"$(sub_figures "$WORK/sub$side.out")"
	eval "stored_$side=\$(uniq \"\$WORK/$side.jids\" | wc -l) delivered_$side=\$delivered"
	dup=$((dup + twice + $(uniq -d "$WORK/$side.jids" | wc -l)))
	order=$((order + o))
	lost_ids="$lost_ids $(comm -23 "$WORK/acked.ids" <(uniq "$WORK/$side.jids"))"
	lost_ids="$lost_ids $(comm -23 "$WORK/acked.ids" "$WORK/$side.delivered")"
done
lost=$(printf '%s\n' $lost_ids | sort -u | grep -c .)
expired=0
for b in th-broker la-broker; do
	e=$(status_field $b expired_before_delivery)
	p=$(grep -c '"journal.purged"' "$WORK/$b.log")
	expired=$((expired + ${e:-0} + p))
done

# Cross order: the other side's alerts, in the order a committee got them
# first, against the order their origin broker stored them.
cross_order=0
for pair in "th la" "la th"; do
	set -- $pair
	c=$(awk -v mine="skew $2 record" 'NR == FNR { if (index($0, mine) && match($0, /"seq":[0-9]+/)) { s = substr($0, RSTART + 6, RLENGTH - 6);
			if (match($0, /"id":"[0-9a-f]+"/)) origin[substr($0, RSTART + 6, RLENGTH - 7)] = s + 0 }
			next }
		$2 in origin && !($2 in seen) { seen[$2] = 1; if (origin[$2] < max) bad++; if (origin[$2] > max) max = origin[$2] }
		END { print bad + 0 }' "$WORK/$2.journal" "$WORK/sub$1.out")
	cross_order=$((cross_order + c))
done

expect "all $((2 * N)) alerts acknowledged ($acked)" [ "$acked" = $((2 * N)) ]
expect "TH holds all $((2 * N)) ($stored_th)" [ "$stored_th" = $((2 * N)) ]
expect "LA holds all $((2 * N)) ($stored_la)" [ "$stored_la" = $((2 * N)) ]
expect "the TH committee got all $((2 * N)) ($delivered_th)" [ "$delivered_th" = $((2 * N)) ]
expect "the LA committee got all $((2 * N)) ($delivered_la)" [ "$delivered_la" = $((2 * N)) ]
zero lost "$lost"
zero expired "$expired"
zero duplicates "$dup"
zero order "$order"
stop_broker th-broker TERM
stop_broker la-broker TERM
fault_done "skew_th_s=$skew_th skew_la_s=$skew_la acked=$acked stored_th=$stored_th stored_la=$stored_la delivered_th=$delivered_th delivered_la=$delivered_la lost=$lost expired=$expired duplicates=$dup order=$order cross_order=$cross_order"
