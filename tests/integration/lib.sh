# Shared by the integration tests: real binaries on 127.0.0.1, a temporary
# folder per test, and cleanup that stops exactly the processes the test
# started (by PID). Results are printed in cmocka's words so tests/run.sh
# counts them with the unit tests.
set -u
BIN=${BLO_BIN:?run through make check}
PROBE=${BLO_PROBE:?run through make check}
SRC=${BLO_SRCDIR:?run through make check}
T_NAME=$(basename "$0" .sh)
T_PASSED=0
T_FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/blonet-it-XXXXXX")
declare -A PIDS=()

cleanup() {
	local name
	for name in "${!PIDS[@]}"; do
		kill -KILL "${PIDS[$name]}" 2>/dev/null
		wait "${PIDS[$name]}" 2>/dev/null
	done
	if [ "$T_FAILED" -eq 0 ] && [ -z "${BLO_KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		echo "$T_NAME: files kept in $WORK"
	fi
}
trap cleanup EXIT

ok() { echo "[       OK ] $T_NAME: $1"; T_PASSED=$((T_PASSED + 1)); }
fail() { echo "[  FAILED  ] $T_NAME: $1"; T_FAILED=$((T_FAILED + 1)); }
# check NAME COMMAND...: passes when COMMAND succeeds.
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
finish() {
	echo "[==========] $T_NAME: $((T_PASSED + T_FAILED)) test(s) run."
	echo "[  PASSED  ] $T_PASSED test(s)."
	if [ "$T_FAILED" -gt 0 ]; then
		echo "[  FAILED  ] $T_FAILED test(s), listed above."
		exit 1
	fi
	exit 0
}

# provision TOPOLOGY: a deployment in $WORK/d.
provision() {
	"$BIN/blonet-provision" "$1" --out "$WORK/d" "${@:2}" >"$WORK/provision.log" 2>&1 ||
		{ cat "$WORK/provision.log"; return 1; }
}

# start_broker ID: starts ID's broker and waits until it serves.
start_broker() {
	local id=$1 log="$WORK/$1.log" before
	# The log is appended across restarts: wait for a new start line.
	before=$(grep -c '"broker.started"' "$log" 2>/dev/null)
	"$BIN/blonet-broker" -c "$WORK/d/$id/config.json" 2>>"$log" &
	PIDS[$id]=$!
	for _ in $(seq 1 100); do
		[ "$(grep -c '"broker.started"' "$log" 2>/dev/null)" -gt "${before:-0}" ] && return 0
		kill -0 "${PIDS[$id]}" 2>/dev/null || { cat "$log"; return 1; }
		sleep 0.1
	done
	cat "$log"
	return 1
}

# stop_broker ID [SIGNAL]: stops it and returns its exit status.
stop_broker() {
	local id=$1 sig=${2:-TERM} pid=${PIDS[$1]} rc
	kill "-$sig" "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	unset "PIDS[$id]"
	return $rc
}

# ctl ID ARGS...: blonetctl against broker ID.
ctl() { "$BIN/blonetctl" -c "$WORK/d/$1/config.json" "${@:2}"; }

# status_field ID JQ-LIKE-KEY: a number from the broker's status.
status_field() {
	ctl "$1" status | tr -d '\t\n ' | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2
}

# pub PRINCIPAL FILE: publishes FILE's JSON lines as PRINCIPAL.
pub() { "$BIN/blonet-pub" -c "$WORK/d/$1/config.json" --timeout 30 "$2"; }

# sub PRINCIPAL ARGS...: a subscriber run (prints JSON lines).
sub() { "$BIN/blonet-sub" -c "$WORK/d/$1/config.json" "${@:2}"; }

# count_lines FILE PATTERN
count_lines() { grep -c -- "$2" "$1" 2>/dev/null || true; }

# gen_alerts PREFIX N [HANDLING-JSON]: N alert lines with source refs
# PREFIX-1..N (so their ids are fixed), TLP:AMBER unless told otherwise.
gen_alerts() {
	local prefix=$1 n=$2 handling=${3:-'{"tlp":"TLP_AMBER"}'}
	awk -v p="$prefix" -v n="$n" -v h="$handling" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"source_ref\":\"%s-%d\",\"assessment\":{\"category\":\"DRUGS\",\"severity\":\"SEVERE\"},\"handling\":%s,\"headline\":\"methamphetamine tablets, record %d, padding padding padding padding padding padding padding padding padding padding padding padding padding padding padding padding padding padding padding padding padding padding padding\"}\n", p, i, h, i
	}'
}

# distinct_ids FILE: the number of distinct alert ids in blonet-sub output.
distinct_ids() { grep -o '"alert":{"id":"[0-9a-f]*"' "$1" | sort -u | wc -l; }

# peer_field BROKER PEER FIELD: a field of BROKER's status for its link to PEER.
peer_field() {
	ctl "$1" status | tr -d '\t\n ' | grep -o "\"id\":\"$2\",[^}]*" | head -n 1 |
		grep -o "\"$3\":[a-z0-9]*" | cut -d: -f2
}

# peer_is BROKER PEER FIELD VALUE: that field of the link equals VALUE.
peer_is() { [ "$(peer_field "$1" "$2" "$3")" = "$4" ]; }
# peer_ge BROKER PEER FIELD N: that field of the link is at least N.
peer_ge() { local v; v=$(peer_field "$1" "$2" "$3"); [ -n "$v" ] && [ "$v" -ge "$4" ]; }

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds (COMMAND is run
# anew each time: pass a function, not a test of a value computed once).
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

# find_tool NAME: its path, also in the sbin folders a user's PATH may lack.
find_tool() {
	local d
	command -v "$1" 2>/dev/null && return 0
	for d in /usr/sbin /sbin /usr/bin /bin; do
		[ -x "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	return 1
}

# now_ms: the clock in milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# sleep_until MS: sleeps until the clock reads MS (now_ms units).
sleep_until() {
	local d=$(($1 - $(now_ms)))
	# sleep in the background and wait: a signal's trap runs at once
	[ "$d" -gt 0 ] && { sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))" & wait $!; }
	return 0
}

# Network namespaces, for the tests run as root ($IP: the ip tool, from
# find_tool). Those made are listed in NETNS_MADE for netns_delete_made.
NETNS_MADE=()
# netns_add NAME: makes the namespace; ip's complaint is in $WORK/netns.err.
netns_add() { "$IP" netns add "$1" 2>>"$WORK/netns.err" && NETNS_MADE+=("$1"); }
# netns_delete_made: deletes every namespace netns_add made (and with them
# their veths, bridges and nft tables).
netns_delete_made() {
	local ns
	for ns in "${NETNS_MADE[@]}"; do
		"$IP" netns delete "$ns" 2>/dev/null
	done
}
# nft_ns NS ARGS...: nft ($NFT) run in the namespace NS.
nft_ns() { local ns=$1; shift; "$IP" netns exec "$ns" "$NFT" "$@"; }
# netns_star SWITCH NET NAME=NS...: a bridge in the namespace SWITCH (made
# already) and, for each NS (made here), an eth0 on it with the address
# NET.1, NET.2, ... in turn. Both ends of each veth are made in SWITCH:
# nothing is ever created in the namespace the test was started from.
netns_star() {
	local sw=$1 net=$2 i=0 c ns
	shift 2
	"$IP" -n "$sw" link set lo up &&
		"$IP" -n "$sw" link add br0 type bridge &&
		"$IP" -n "$sw" link set br0 up || return 1
	for c in "$@"; do
		i=$((i + 1))
		ns=${c#*=}
		c=${c%%=*}
		netns_add "$ns" || return 1
		"$IP" -n "$sw" link add "sw-$c" type veth peer name eth0 netns "$ns" &&
			"$IP" -n "$sw" link set "sw-$c" master br0 &&
			"$IP" -n "$sw" link set "sw-$c" up &&
			"$IP" -n "$ns" link set lo up &&
			"$IP" -n "$ns" addr add "$net.$i/24" dev eth0 &&
			"$IP" -n "$ns" link set eth0 up || return 1
	done
}
