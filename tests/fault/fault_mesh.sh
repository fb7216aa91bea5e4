#!/usr/bin/env bash
# The mesh under link cuts and packet loss. Three brokers (TH, LA, MM), each
# in its own network namespace with one veth into a bridge in a fourth
# "switch" namespace (addresses 10.203.0.1-3/24), linked in a triangle.
# For FLOW_S seconds (300; short 25) an agent on each broker publishes a
# chunk of alerts every PUB_EVERY seconds, each releasable to all three
# countries, and a durable console on each broker takes everything. All the
# while nftables drops 5% of the packets arriving on every broker's veth
# (numgen random mod 100 < 5), and cuts one link at a time, picked at
# random, for CUT_S = 10 s (both directions), with a random pause between
# cuts (short: two cuts). At the end everything heals.
# Figures: lost (acknowledged at its origin but missing at a console: 0),
# duplicates (an alert printed twice by a console, or stored twice in a
# journal: 0), the mesh backlog (sum of the peers' backlog fields of
# `blonetctl status` over the three brokers) as the last cut heals and at
# the first look after it, the highest seen, and the time from the last
# heal until it is 0 with nothing in flight and every link up (drain_ms),
# and until every console has every alert (all_delivered_ms).
#
# Needs root, ip netns, veth, a bridge and nft (with numgen and sets):
# otherwise it exits 77 saying which. Only addresses of the namespaces it
# makes are used; the namespaces (and with them the veths, the bridge and
# the nft tables) are deleted at the end. BLO_NFT names another nft.
. "${BLO_SRCDIR:?run through make faults or make check}/tests/fault/lib.sh"

FLOW_S=$(short_or 300 25)
PUB_EVERY=$(short_or 3 2)
CHUNK=$(short_or 60 30)
CUT_S=10
LOSS_PCT=5
NET=10.203.0
NS_SW=blo-fsw-$$
declare -A NS=([th]=blo-fth-$$ [la]=blo-fla-$$ [mm]=blo-fmm-$$)
declare -A ADDR=([th]=$NET.1 [la]=$NET.2 [mm]=$NET.3)
AGENTS="th:th-customs-maesai la:la-customs-houayxai mm:mm-customs-tachileik"
CONSOLES="th:th-console-maesai la:la-console-houayxai mm:mm-console-tachileik"

mesh_cleanup() {
	fault_cleanup
	netns_delete_made
}
trap mesh_cleanup EXIT
trap 'exit 1' INT TERM # so that the namespaces go too

# ---------------------------------------------------------------- can we?
[ "$(id -u)" = 0 ] || fault_skip "needs root for network namespaces (uid $(id -u))"
IP=$(find_tool ip) || fault_skip "ip (iproute2) is not installed"
NFT=$(find_tool "${BLO_NFT:-nft}") || fault_skip "nft is not installed (Debian package nftables)"
netns_add "$NS_SW" || fault_skip "network namespaces are not allowed here: $(head -c 200 "$WORK/netns.err")"

# th, la, mm get $NET.1, .2, .3: the addresses of ADDR.
netns_star "$NS_SW" "$NET" th="${NS[th]}" la="${NS[la]}" mm="${NS[mm]}" 2>"$WORK/net.err" ||
	fault_skip "cannot build the virtual network: $(head -c 200 "$WORK/net.err")"

# Per broker namespace: a set of cut-off sources, and a loss chain filled
# and flushed as the scenario goes. Tried here, so a kernel without sets or
# numgen skips rather than fails halfway.
setup_nft() {
	local c
	for c in th la mm; do
		nft_ns "${NS[$c]}" -f - <<-'NFT' || return 1
			table inet blonet_fault {
				set cut { type ipv4_addr; }
				chain loss { }
				chain input {
					type filter hook input priority 0; policy accept;
					ip saddr @cut counter drop
					iifname "eth0" jump loss
				}
			}
		NFT
		nft_ns "${NS[$c]}" add rule inet blonet_fault loss numgen random mod 100 '<' 0 counter drop &&
			nft_ns "${NS[$c]}" flush chain inet blonet_fault loss || return 1
	done
}
setup_nft 2>"$WORK/nft.err" || fault_skip "nftables (sets, numgen) unusable in a namespace: $(head -c 200 "$WORK/nft.err")"

loss_on() { local c; for c in th la mm; do nft_ns "${NS[$c]}" add rule inet blonet_fault loss numgen random mod 100 '<' "$LOSS_PCT" counter drop || return 1; done; }
loss_off() { local c; for c in th la mm; do nft_ns "${NS[$c]}" flush chain inet blonet_fault loss; done; }
# cut_link A B / heal_link A B: each side drops what arrives from the other.
cut_link() { nft_ns "${NS[$1]}" add element inet blonet_fault cut "{ ${ADDR[$2]} }" &&
	nft_ns "${NS[$2]}" add element inet blonet_fault cut "{ ${ADDR[$1]} }"; }
heal_link() { nft_ns "${NS[$1]}" delete element inet blonet_fault cut "{ ${ADDR[$2]} }"
	nft_ns "${NS[$2]}" delete element inet blonet_fault cut "{ ${ADDR[$1]} }"; }
drops() { # drops: packets dropped by every rule in every namespace
	local c
	for c in th la mm; do nft_ns "${NS[$c]}" list table inet blonet_fault; done |
		grep -o 'packets [0-9]*' | awk '{s += $2} END {print s + 0}'
}

# ---------------------------------------------------------------- the mesh
cat >"$WORK/topology.json" <<JSON
{
  "name": "fault-mesh",
  "brokers": [
    {"id": "th-broker", "country": "TH", "listen": ["tcp://$NET.1:7400"]},
    {"id": "la-broker", "country": "LA", "listen": ["tcp://$NET.2:7400"]},
    {"id": "mm-broker", "country": "MM", "listen": ["tcp://$NET.3:7400"]}
  ],
  "links": [["th-broker", "la-broker"], ["th-broker", "mm-broker"], ["la-broker", "mm-broker"]],
  "principals": [
    {"id": "th-customs-maesai", "role": "agent", "country": "TH", "agency": "CUSTOMS", "site": "TH-MAESAI", "broker": "th-broker"},
    {"id": "la-customs-houayxai", "role": "agent", "country": "LA", "agency": "CUSTOMS", "site": "LA-HOUAYXAI", "broker": "la-broker"},
    {"id": "mm-customs-tachileik", "role": "agent", "country": "MM", "agency": "CUSTOMS", "site": "MM-TACHILEIK", "broker": "mm-broker"},
    {"id": "th-console-maesai", "role": "console", "country": "TH", "agency": "COORDINATION", "site": "TH-MAESAI", "broker": "th-broker"},
    {"id": "la-console-houayxai", "role": "console", "country": "LA", "agency": "COORDINATION", "site": "LA-HOUAYXAI", "broker": "la-broker"},
    {"id": "mm-console-tachileik", "role": "console", "country": "MM", "agency": "COORDINATION", "site": "MM-TACHILEIK", "broker": "mm-broker"}
  ],
  "operations": []
}
JSON
provision "$WORK/topology.json" || fault_abort "provisioning"

start_ns_broker() { # start_ns_broker COUNTRY: as lib.sh's start_broker, in its namespace
	local id=$1-broker log="$WORK/$1-broker.log"
	"$IP" netns exec "${NS[$1]}" "$BIN/blonet-broker" -c "$WORK/d/$id/config.json" 2>>"$log" &
	PIDS[$id]=$!
	for _ in $(seq 1 100); do
		grep -q '"broker.started"' "$log" 2>/dev/null && return 0
		kill -0 "${PIDS[$id]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
for c in th la mm; do
	start_ns_broker $c || fault_abort "$c-broker starts in its namespace: $(tail -n 3 "$WORK/$c-broker.log")"
done
all_links_up() {
	peer_is th-broker la-broker connected true && peer_is th-broker mm-broker connected true &&
		peer_is la-broker mm-broker connected true && peer_is la-broker th-broker connected true &&
		peer_is mm-broker th-broker connected true && peer_is mm-broker la-broker connected true
}
wait_for 20 all_links_up || fault_abort "the three links come up"

for cc in $CONSOLES; do
	c=${cc%%:*} p=${cc#*:}
	"$IP" netns exec "${NS[$c]}" "$BIN/blonet-sub" -c "$WORK/d/$p/config.json" --durable fault \
		>"$WORK/$p.out" 2>"$WORK/$p.err" &
	PIDS[$p]=$!
done

# backlog_sum: the peers' backlog and in_flight summed over the three
# brokers, and how many of the six link ends are up: "backlog inflight up".
backlog_sum() {
	local b s bl=0 fl=0 up=0 v
	for b in th-broker la-broker mm-broker; do
		s=$(ctl $b status | tr -d '\t\n ' | grep -o '"peers":\[[^]]*\]')
		for v in $(grep -o '"backlog":[0-9]*' <<<"$s" | cut -d: -f2); do bl=$((bl + v)); done
		for v in $(grep -o '"in_flight":[0-9]*' <<<"$s" | cut -d: -f2); do fl=$((fl + v)); done
		up=$((up + $(grep -o '"connected":true' <<<"$s" | wc -l)))
	done
	echo "$bl $fl $up"
}
monitor() {
	while [ ! -e "$WORK/monitor.stop" ]; do
		echo "$(now_ms) $(backlog_sum)"
		sleep 1
	done
}
bg monitor monitor >"$WORK/monitor.log" 2>&1

# publisher COUNTRY AGENT: a chunk every PUB_EVERY s until the flow ends.
publisher() {
	local c=$1 agent=$2 k=0 child=""
	trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; exit 143' TERM
	while [ "$(now_ms)" -lt "$FLOW_END" ]; do
		sleep_until $((T0 + k * PUB_EVERY * 1000))
		[ "$(now_ms)" -lt "$FLOW_END" ] || break
		gen_alerts "mesh-$c-$k" "$CHUNK" '{"tlp":"TLP_AMBER","releasable_to":["TH","LA","MM"]}' \
			>"$WORK/pub.$c.$k.jsonl"
		"$IP" netns exec "${NS[$c]}" "$BIN/blonet-pub" -c "$WORK/d/$agent/config.json" --timeout 60 \
			"$WORK/pub.$c.$k.jsonl" >"$WORK/pub.$c.$k.res" 2>"$WORK/pub.$c.$k.err" &
		child=$!
		wait "$child"
		echo "$c $k rc=$?" >>"$WORK/publishers.log"
		child=""
		k=$((k + 1))
	done
}

# ---------------------------------------------------------------- the flow
T0=$(now_ms)
FLOW_END=$((T0 + FLOW_S * 1000))
export T0 FLOW_END
for ac in $AGENTS; do
	bg "pub-${ac%%:*}" publisher "${ac%%:*}" "${ac#*:}"
done
loss_on || expect "the loss rules load" false
LINKS=("th la" "th mm" "la mm")
CUTS=0
# cut_for LINK FROM_MS: cuts LINK from FROM_MS for CUT_S, then heals it.
cut_for() {
	sleep_until "$2"
	cut_link $1 || expect "the cut of $1 loads" false
	echo "$(($(now_ms) - T0)) cut $1" >>"$WORK/cuts.log"
	CUTS=$((CUTS + 1))
	sleep_until $(($2 + CUT_S * 1000))
	LAST_BEFORE_HEAL=$(backlog_sum)
	echo "$(($(now_ms) - T0)) before heal: $LAST_BEFORE_HEAL" >>"$WORK/cuts.log"
	heal_link $1
	HEAL_MS=$(now_ms)
}
# Cuts one after another, each of a link picked at random, with pauses of
# 2-10 s (short: 2 s); the last one ends as the flow ends, so that the
# backlog at the last heal is that of a whole cut.
LAST_CUT=$((FLOW_END - CUT_S * 1000))
next=$((T0 + 2000))
while [ $((next + CUT_S * 1000 + 2000)) -le "$LAST_CUT" ]; do
	cut_for "${LINKS[$((RANDOM % 3))]}" "$next"
	if [ "$FAULT_SHORT" = 1 ]; then
		next=$(($(now_ms) + 2000))
	else
		next=$(($(now_ms) + 2000 + RANDOM % 8000))
	fi
done
cut_for "${LINKS[$((RANDOM % 3))]}" "$LAST_CUT"
loss_off
read -r BACKLOG_HEAL INFLIGHT_HEAL _ <<<"$LAST_BEFORE_HEAL"
read -r BACKLOG_AFTER _ <<<"$(backlog_sum)"
DROPS=$(drops)
for c in th la mm; do
	bg_wait "pub-$c"
done

# ---------------------------------------------------------------- after the last heal
drained() { local bl fl up; read -r bl fl up <<<"$(backlog_sum)"; [ "$bl" = 0 ] && [ "$fl" = 0 ] && [ "$up" = 6 ]; }
if wait_for 120 drained; then
	DRAIN_MS=$(($(now_ms) - HEAL_MS))
else
	DRAIN_MS=-1
	expect "the mesh backlog drains to 0 with every link up within 120 s: $(backlog_sum)" false
fi

cat "$WORK"/pub.*.res >"$WORK/pub.res"
acked_ids "$WORK/pub.res" >"$WORK/acked.ids"
ACKED=$(grep -c . "$WORK/acked.ids")
PUBLISHED=$(cat "$WORK"/pub.*.jsonl | grep -c .)
BAD_CHUNKS=$(grep -vc 'rc=0$' "$WORK/publishers.log")
expect "every publish acknowledged at its origin ($ACKED of $PUBLISHED)" [ "$ACKED" = "$PUBLISHED" ]
zero "publisher runs that did not end with all accepted" "$BAD_CHUNKS"

consoles_complete() {
	local cc p
	for cc in $CONSOLES; do
		p=${cc#*:}
		[ "$(distinct_ids "$WORK/$p.out")" -ge "$ACKED" ] || return 1
	done
}
if wait_for 60 consoles_complete; then
	DELIVER_MS=$(($(now_ms) - HEAL_MS))
else
	DELIVER_MS=-1
fi
LOST=0
DUPS=0
for cc in $CONSOLES; do
	p=${cc#*:}
	kill -TERM "${PIDS[$p]}" 2>/dev/null
	wait "${PIDS[$p]}" 2>/dev/null
	unset "PIDS[$p]"
	grep -o '"alert":{"id":"[0-9a-f]*"' "$WORK/$p.out" | cut -d'"' -f6 | sort -u >"$WORK/$p.ids"
	lost=$(comm -23 "$WORK/acked.ids" "$WORK/$p.ids" | wc -l)
	dups=$(($(grep -c '"alert"' "$WORK/$p.out") - $(grep -c . "$WORK/$p.ids")))
	expect "$p is missing $lost acknowledged alerts" [ "$lost" = 0 ]
	LOST=$((LOST + lost))
	DUPS=$((DUPS + dups))
done
zero "alerts a console printed twice" "$DUPS"
STORED_TWICE=0
for b in th-broker la-broker mm-broker; do
	n=$(journal_ids $b | uniq -d | wc -l)
	STORED_TWICE=$((STORED_TWICE + n))
	expect "$b's audit chain verifies" ctl $b audit-verify >/dev/null 2>&1
done
zero "alerts stored twice in a journal" "$STORED_TWICE"
touch "$WORK/monitor.stop"
bg_wait monitor
MAX_BACKLOG=$(awk '{print $2}' "$WORK/monitor.log" | sort -n | tail -n 1)

CRASHES=0
for b in th-broker la-broker mm-broker; do
	if kill -0 "${PIDS[$b]}" 2>/dev/null; then
		stop_broker $b TERM || CRASHES=$((CRASHES + 1))
	else
		CRASHES=$((CRASHES + 1))
	fi
done
SAN=$(cat "$WORK"/*-broker.log | grep -cE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:')
zero "brokers crashed or exited non-zero" "$CRASHES"
zero "sanitizer reports" "$SAN"

fault_done "flow_s=$FLOW_S cuts=$CUTS cut_s=$CUT_S loss_pct=$LOSS_PCT dropped_packets=$DROPS \
published=$PUBLISHED acked=$ACKED lost=$LOST dups=$DUPS stored_twice=$STORED_TWICE \
backlog_at_heal=$BACKLOG_HEAL in_flight_at_heal=$INFLIGHT_HEAL backlog_after_heal=$BACKLOG_AFTER max_backlog=$MAX_BACKLOG \
drain_ms=$DRAIN_MS all_delivered_ms=$DELIVER_MS crashes=$CRASHES sanitizer=$SAN"
