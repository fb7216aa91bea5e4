#!/usr/bin/env bash
# The mesh over a real (virtual) network: one network namespace per broker
# (TH, LA, MM), each with one veth into a Linux bridge in a fourth "switch"
# namespace, addresses 10.201.0.1-3/24 (topology_netns.json). While a Thai
# agent publishes alerts releasable to LA in chunks, nftables in TH's and
# LA's namespaces cuts the TH-LA link for 20 s, then drops 5% of the packets
# arriving on TH's and LA's interfaces for a minute. Afterwards TH's backlog
# for LA drains to 0, every alert TH acknowledged is in LA's journal, and a
# durable LA console got each exactly once.
#
# Needs root, network namespaces, veth, a bridge and nft; without them it
# prints "[  SKIPPED ]" with the reason and passes with 0 tests run. Traffic
# goes only to the addresses of the namespaces it creates; nothing is
# changed in the namespace it is started from. NETNS_CUT_S, NETNS_LOSS_S and
# NETNS_CHUNKS (of NETNS_CHUNK_SIZE alerts) shorten or lengthen the run
# (defaults 20 s, 60 s, 20 chunks of 500);
# BLO_NFT names another nft (BLO_NFT=none shows the skip).
#
# It spends its time waiting out the cut and the loss, so make check runs it
# beside the other tests (tests/run.sh):
# check: beside
. "$(dirname "$0")/lib.sh"

CUT_S=${NETNS_CUT_S:-20}
LOSS_S=${NETNS_LOSS_S:-60}
CHUNKS=${NETNS_CHUNKS:-20}
CHUNK=${NETNS_CHUNK_SIZE:-500}
CUT_AT_S=5
LOSS_PCT=5
NET=10.201.0

NS_SW=blo-sw-$$
NS_TH=blo-th-$$
NS_LA=blo-la-$$
NS_MM=blo-mm-$$
PUB_LOOP=""

# Everything this test made, in reverse: its processes (by PID), then the
# namespaces (which takes their veths, the bridge and the nft tables along).
netns_cleanup() {
	if [ -n "$PUB_LOOP" ]; then
		kill -TERM "$PUB_LOOP" 2>/dev/null
		wait "$PUB_LOOP" 2>/dev/null
	fi
	cleanup
	netns_delete_made
}
trap netns_cleanup EXIT
trap 'fail "interrupted"; exit 1' INT TERM

skip() {
	echo "[  SKIPPED ] $T_NAME: $1"
	finish
}

# wait_ms MS COMMAND...: like wait_for, to the tenth of a second.
wait_ms() {
	local end=$(($(now_ms) + $1))
	shift
	while [ "$(now_ms)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}
# Processes are started in a namespace as `"$IP" netns exec NS PROGRAM ... &`,
# never through a function: ip execs PROGRAM, so $! is PROGRAM's own PID,
# while `function ... &` would give the PID of a subshell and leave PROGRAM
# running after a kill.

# ---------------------------------------------------------------- can we?
[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces (uid $(id -u))"
IP=$(find_tool ip) || skip "ip (iproute2) is not installed"
NFT=$(find_tool "${BLO_NFT:-nft}") || skip "nft is not installed (Debian package nftables)"

netns_add "$NS_SW" || skip "this machine does not allow network namespaces: ip netns add: $(head -c 300 "$WORK/netns.err")"

netns_star "$NS_SW" "$NET" th="$NS_TH" la="$NS_LA" mm="$NS_MM" 2>"$WORK/net.err" ||
	skip "cannot build the virtual network (veth, bridge): $(head -c 300 "$WORK/net.err")"

# A table in TH's and LA's namespaces; the cut and the loss are rules added
# to and flushed from its input chain. numgen is tried once here, so a kernel
# without it skips rather than fails halfway.
setup_nft() {
	local ns
	for ns in "$NS_TH" "$NS_LA"; do
		nft_ns "$ns" -f - <<-'NFT' || return 1
			table inet blonet_test {
				chain input { type filter hook input priority 0; policy accept; }
			}
		NFT
		nft_ns "$ns" add rule inet blonet_test input iifname eth0 numgen random mod 100 '<' 0 counter drop &&
			nft_ns "$ns" flush chain inet blonet_test input || return 1
	done
}
setup_nft 2>"$WORK/nft.err" ||
	skip "nftables does not work in a network namespace here: $(head -c 300 "$WORK/nft.err")"

# ---------------------------------------------------------------- the mesh
ns_of() { case $1 in th-*) echo "$NS_TH" ;; la-*) echo "$NS_LA" ;; mm-*) echo "$NS_MM" ;; esac; }

# start_ns_broker ID: lib.sh's start_broker, inside ID's namespace. `ip
# netns exec` execs the broker, so $! is the broker's own PID.
start_ns_broker() {
	local id=$1 log="$WORK/$1.log"
	"$IP" netns exec "$(ns_of "$id")" "$BIN/blonet-broker" -c "$WORK/d/$id/config.json" 2>>"$log" &
	PIDS[$id]=$!
	for _ in $(seq 1 100); do
		grep -q '"broker.started"' "$log" 2>/dev/null && return 0
		kill -0 "${PIDS[$id]}" 2>/dev/null || { cat "$log"; return 1; }
		sleep 0.1
	done
	cat "$log"
	return 1
}

provision "$SRC/tests/integration/topology_netns.json" || { fail provision; finish; }
for b in th-broker la-broker mm-broker; do
	start_ns_broker $b || { fail "$b starts in its namespace"; finish; }
done
check "TH's link to LA comes up across the bridge" wait_for 15 peer_is th-broker la-broker connected true
check "TH's link to MM comes up across the bridge" wait_for 15 peer_is th-broker mm-broker connected true
check "LA's link to MM comes up across the bridge" wait_for 15 peer_is la-broker mm-broker connected true

# The durable Lao console, in LA's namespace; it prints and flushes each
# alert before acknowledging it, and is stopped by PID once it has them all.
"$IP" netns exec "$NS_LA" "$BIN/blonet-sub" -c "$WORK/d/la-console-houayxai/config.json" \
	--durable netns --timeout 300 >"$WORK/console.out" 2>"$WORK/console.err" &
PIDS[console]=$!

# Once a second: TH's view of its LA link (for the report and for failures).
monitor() {
	while [ ! -e "$WORK/monitor.stop" ]; do
		echo "$(now_ms) connected=$(peer_field th-broker la-broker connected)" \
			"backlog=$(peer_field th-broker la-broker backlog)" \
			"in_flight=$(peer_field th-broker la-broker in_flight)" \
			"forwarded=$(peer_field th-broker la-broker forwarded)"
		sleep 1
	done
}
monitor >"$WORK/monitor.log" 2>&1 &
PIDS[monitor]=$!

# ---------------------------------------------------------------- the flow
TOTAL=$((CHUNKS * CHUNK))
FLOW_S=$((CUT_AT_S + CUT_S + LOSS_S))
SPACING_MS=$((FLOW_S * 1000 / CHUNKS))
gen_alerts netns "$TOTAL" '{"tlp":"TLP_AMBER","releasable_to":["LA"]}' >"$WORK/all.jsonl"
split -d -a 3 -l "$CHUNK" "$WORK/all.jsonl" "$WORK/chunk."

# The publisher: a Thai agent in TH's namespace, one blonet-pub run per
# chunk, one chunk every SPACING_MS. On TERM it stops its blonet-pub too.
publisher() {
	local k=0 f child=""
	trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; exit 143' TERM
	for f in "$WORK"/chunk.*; do
		sleep_until $((T0 + k * SPACING_MS))
		"$IP" netns exec "$NS_TH" "$BIN/blonet-pub" -c "$WORK/d/th-customs-maesai/config.json" \
			--timeout 60 "$f" >"$f.res" 2>"$f.err" &
		child=$!
		wait "$child"
		echo "chunk $k rc=$? at_ms=$(($(now_ms) - T0))" >>"$WORK/publisher.log"
		child=""
		k=$((k + 1))
	done
}

drop_counts() { # drop_counts NS: packets the input chain's rules dropped
	nft_ns "$1" list chain inet blonet_test input | grep -o 'packets [0-9]*' |
		awk '{s += $2} END {print s + 0}'
}
flush_rules() { nft_ns "$1" flush chain inet blonet_test input; }

T0=$(now_ms)
publisher &
PUB_LOOP=$!

# The cut: TH drops what arrives from LA and LA what arrives from TH, as a
# broken link would. (Dropping in TH's output chain instead would show TH's
# TCP a local drop, which it retries on a short timer unlike a real loss.)
sleep_until $((T0 + CUT_AT_S * 1000))
nft_ns "$NS_TH" add rule inet blonet_test input ip saddr "$NET.2" counter drop &&
	nft_ns "$NS_LA" add rule inet blonet_test input ip saddr "$NET.1" counter drop ||
	fail "the cut's nft rules load"
CUT_MS=$(now_ms)
# Judged by the time the broker wrote the status that first says so, so
# that the cost of polling on a busy machine is not counted against it.
DOWN_AT=""
down_seen() {
	local s
	s=$(ctl th-broker status | tr -d '\t\n ')
	[ "$(printf '%s' "$s" | grep -o '"id":"la-broker",[^}]*' | grep -o '"connected":[a-z]*' |
		cut -d: -f2)" = false ] || return 1
	DOWN_AT=$(printf '%s' "$s" | grep -o '"time_ms":[0-9]*' | head -n 1 | cut -d: -f2)
}
wait_ms 8000 down_seen
DOWN_MS=$((${DOWN_AT:-99999999999999} - CUT_MS))
check "TH reports the LA link down within 5 s of the cut" [ "$DOWN_MS" -le 5000 ]
check "TH's link to MM stays up during the cut" peer_is th-broker mm-broker connected true
check "LA's link to TH is down during the cut too" wait_ms 3000 peer_is la-broker th-broker connected false
sleep_until $((CUT_MS + CUT_S * 1000 - 1500))
BACKLOG_CUT=$(peer_field th-broker la-broker backlog)
check "TH holds a backlog for LA near the end of the cut" [ "${BACKLOG_CUT:-0}" -gt 0 ]
sleep_until $((CUT_MS + CUT_S * 1000))
CUT_DROPS=$(($(drop_counts "$NS_TH") + $(drop_counts "$NS_LA")))
flush_rules "$NS_TH" && flush_rules "$NS_LA" || fail "the cut's nft rules are removed"
HEAL_MS=$(now_ms)

# A minute of 5% loss on whatever reaches TH or LA over the wire (not on
# their loopback, where the agent and the console talk to their brokers).
for ns in "$NS_TH" "$NS_LA"; do
	nft_ns "$ns" add rule inet blonet_test input iifname eth0 \
		numgen random mod 100 '<' "$LOSS_PCT" counter drop || fail "the loss rule loads in $ns"
done
UP_MS=-1
CATCHUP_MS=-1
if wait_ms $((LOSS_S * 1000 / 2)) peer_is th-broker la-broker connected true; then
	UP_MS=$(($(now_ms) - HEAL_MS))
	ok "TH's LA link comes back after the cut heals, under ${LOSS_PCT}% loss"
else
	fail "TH's LA link comes back after the cut heals, under ${LOSS_PCT}% loss"
fi
if wait_ms $((LOSS_S * 1000 / 2)) peer_is th-broker la-broker backlog 0; then
	CATCHUP_MS=$(($(now_ms) - HEAL_MS))
	ok "the backlog of the cut drains while the loss goes on"
else
	fail "the backlog of the cut drains while the loss goes on"
fi
sleep_until $((HEAL_MS + LOSS_S * 1000))
LOSS_DROPS_TH=$(drop_counts "$NS_TH")
LOSS_DROPS_LA=$(drop_counts "$NS_LA")
BACKLOG_LOSS_END=$(peer_field th-broker la-broker backlog)
flush_rules "$NS_TH" && flush_rules "$NS_LA" || fail "the loss rules are removed"
check "TH's LA link is up at the end of the loss" peer_is th-broker la-broker connected true

wait "$PUB_LOOP"
PUB_RC=$?
PUB_LOOP=""
PUB_DONE_MS=$(now_ms)
check "the publisher ran every chunk to its end" [ "$PUB_RC" = 0 ]

# ---------------------------------------------------------------- after
cat "$WORK"/chunk.*.res >"$WORK/pub.res"
grep -E '"status":"(accepted|duplicate)"' "$WORK/pub.res" | grep -o '"id":"[0-9a-f]*"' |
	cut -d'"' -f4 | sort -u >"$WORK/acked.ids"
ACKED=$(wc -l <"$WORK/acked.ids")
check "TH acknowledged all $TOTAL publishes" [ "$ACKED" = "$TOTAL" ]
check "every chunk's blonet-pub exited 0" \
	bash -c '! grep -v "rc=0 " "$0" && [ "$(wc -l <"$0")" = "$1" ]' "$WORK/publisher.log" "$CHUNKS"

DRAIN_FROM=$(now_ms)
check "TH's backlog for LA drains to 0 after the last chunk" wait_for 40 peer_is th-broker la-broker backlog 0
DRAIN_MS=$(($(now_ms) - DRAIN_FROM))
check "TH has nothing in flight to LA" wait_for 5 peer_is th-broker la-broker in_flight 0

ctl la-broker journal >"$WORK/la-journal.out"
grep -o '"stored_ms":[0-9]*,"id":"[0-9a-f]*"' "$WORK/la-journal.out" | cut -d'"' -f6 |
	sort >"$WORK/la-journal.ids"
check "every alert acked at TH is in LA's journal" \
	bash -c '[ -z "$(comm -23 "$0" "$1")" ]' "$WORK/acked.ids" "$WORK/la-journal.ids"
check "LA's journal holds each of them once" \
	[ "$(grep -c . "$WORK/la-journal.ids")" = "$(sort -u "$WORK/la-journal.ids" | grep -c .)" ]
check "nothing acked at TH was rejected by LA" peer_is th-broker la-broker rejected 0

console_has_all() { [ "$(distinct_ids "$WORK/console.out")" -ge "$ACKED" ]; }
check "the Lao console gets every acked alert" wait_for 30 console_has_all
kill -TERM "${PIDS[console]}" 2>/dev/null
wait "${PIDS[console]}" 2>/dev/null
unset "PIDS[console]"
grep -o '"alert":{"id":"[0-9a-f]*"' "$WORK/console.out" | cut -d'"' -f6 | sort -u >"$WORK/console.ids"
check "the console's alerts are exactly the acked ones" cmp -s "$WORK/acked.ids" "$WORK/console.ids"
check "the console printed each exactly once" \
	[ "$(grep -c '"alert"' "$WORK/console.out")" = "$(distinct_ids "$WORK/console.out")" ]
check "MM's journal never held an alert released to LA only (no detour in the cut)" \
	bash -c '! "$0" -c "$1" journal | grep -q "netns-"' "$BIN/blonetctl" "$WORK/d/mm-broker/config.json"
quiet_ctl() { ctl "$@" >/dev/null 2>&1; }
check "TH's audit chain verifies" quiet_ctl th-broker audit-verify
check "LA's audit chain verifies" quiet_ctl la-broker audit-verify

touch "$WORK/monitor.stop"
wait "${PIDS[monitor]}" 2>/dev/null
unset "PIDS[monitor]"
MAX_BACKLOG=$(grep -o 'backlog=[0-9]*' "$WORK/monitor.log" | cut -d= -f2 | sort -n | tail -n 1)
echo "$T_NAME: cut of ${CUT_S} s: TH saw the link down after ${DOWN_MS} ms; backlog ${BACKLOG_CUT} near its end; ${CUT_DROPS} packets dropped"
echo "$T_NAME: after the heal: link up in ${UP_MS} ms, backlog 0 in ${CATCHUP_MS} ms (highest seen ${MAX_BACKLOG})"
echo "$T_NAME: ${LOSS_PCT}% loss for ${LOSS_S} s: ${LOSS_DROPS_TH} packets dropped into TH, ${LOSS_DROPS_LA} into LA; backlog ${BACKLOG_LOSS_END} when it ended"
echo "$T_NAME: last chunk acked $((PUB_DONE_MS - T0)) ms into the flow; backlog 0 ${DRAIN_MS} ms later; $(grep -c '"redelivered":true' "$WORK/console.out") console lines marked redelivered"

for b in th-broker la-broker mm-broker; do
	check "$b stops cleanly" stop_broker $b TERM
done
finish
