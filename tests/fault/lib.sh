# Shared by the fault scenarios (tests/fault/fault_*.sh), on top of the
# integration tests' lib.sh (provisioning, brokers, cleanup by PID).
#
# A scenario checks with expect, and ends with exactly one of:
#   fault_done "k=v k=v ..."   prints "FAULT NAME: k=v ...", then the reason
#                              of each failed expect; exits 0 (pass) or 1
#   fault_skip "why"           prints "FAULT NAME: skipped: why", exits 77
# Files are kept (and their folder named) when a scenario fails.
#
# Environment: BLO_BIN, BLO_SRCDIR, BLO_PROBE as for integration tests;
# BLO_FAULT_BIN, the folder of the compiled tests/fault/*.c helpers;
# BLO_FAULT_SHORT=1 for the short mode that make check runs.
. "${BLO_SRCDIR:?run through make faults or make check}/tests/integration/lib.sh"
FAULT_BIN=${BLO_FAULT_BIN:?run through make faults or make check}
FAULT_SHORT=${BLO_FAULT_SHORT:-0}
F_NAME=${T_NAME#fault_}
F_WHY=""
F_START=$SECONDS

# faketime_lib: prints the path of libfaketime.so.1 (Debian package
# faketime); fails if it is not installed.
faketime_lib() {
	local f
	for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1 \
		/usr/lib/faketime/libfaketime.so.1; do
		[ -e "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# short_or FULL SHORT: the value for the current mode.
short_or() { if [ "$FAULT_SHORT" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# expect WHY COMMAND...: records WHY as a failure unless COMMAND succeeds.
expect() {
	local why=$1
	shift
	"$@" && return 0
	F_WHY="$F_WHY
  $T_NAME: FAILED: $why"
	T_FAILED=$((T_FAILED + 1))
	return 1
}

# zero NAME VALUE: expects a figure that must be 0.
zero() { expect "$1 must be 0, is ${2:-missing}" [ "${2:-x}" = 0 ]; }

fault_done() {
	local reports
	# A sanitizer build writes its reports to the programs' stderr, which
	# the scenarios keep in $WORK/*.log and *.err.
	reports=$(grep -l -e 'ERROR: AddressSanitizer' -e 'ERROR: LeakSanitizer' -e 'runtime error:' \
		"$WORK"/*.log "$WORK"/*.err 2>/dev/null | tr '\n' ' ')
	[ -z "$reports" ] || expect "sanitizer reports in: $reports" false
	echo "FAULT $F_NAME: $1 seconds=$((SECONDS - F_START))"
	if [ "$T_FAILED" -gt 0 ]; then
		printf '%s\n' "${F_WHY#?}"
		exit 1
	fi
	exit 0
}

fault_skip() {
	echo "FAULT $F_NAME: skipped: $1"
	exit 77
}

# fault_abort WHY: a step the scenario cannot go on without failed.
fault_abort() {
	expect "$1" false
	fault_done "aborted"
}

# bg NAME COMMAND...: starts COMMAND in the background as NAME; cleanup
# kills it by PID if the scenario has not waited for it.
bg() {
	local name=$1
	shift
	"$@" &
	PIDS[$name]=$!
}

# bg_wait NAME: waits for NAME and returns its exit status.
bg_wait() {
	local pid=${PIDS[$1]} rc
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	unset "PIDS[$1]"
	return $rc
}

# bg_stop NAME [SIGNAL]: signals NAME (TERM) and waits for it.
bg_stop() {
	kill "-${2:-TERM}" "${PIDS[$1]}" 2>/dev/null
	bg_wait "$1"
}

# set_journal BROKER JSON-MEMBERS: sets the broker's "journal" object, e.g.
# set_journal th-broker '"map_size_mb": 2, "max_count": 1000'.
set_journal() {
	local cfg="$WORK/d/$1/config.json"
	python3 - "$cfg" "{$2}" <<'EOF' || sed -i "s/\"data_dir\": *\"data\",/\"data_dir\": \"data\", \"journal\": {$2},/" "$cfg"
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["journal"] = json.loads(sys.argv[2])
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
EOF
}

# gen_stream PREFIX N: like gen_alerts, numbered from 1, with a small
# payload, for long streams.
gen_stream() {
	awk -v p="$1" -v n="$2" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"source_ref\":\"%s-%d\",\"assessment\":{\"category\":\"DRUGS\",\"severity\":\"SEVERE\"},\"handling\":{\"tlp\":\"TLP_AMBER\"},\"headline\":\"fault stream %s record %d\"}\n", p, i, p, i
	}'
}

# acked_ids RESULTS: the ids blonet-pub reported accepted or duplicate.
acked_ids() {
	awk -F'"id":"' '/"status":"(accepted|duplicate)"/ {split($2, a, "\""); print a[1]}' "$1" | sort -u
}

# journal_ids BROKER: the ids stored in BROKER's journal, one per record
# (sorted, repeats kept). Opens the journal as blonetctl does.
journal_ids() {
	ctl "$1" journal | grep -o '"id":"[0-9a-f]*","bytes"' | cut -d'"' -f4 | sort
}

# sub_figures FILE: figures of a fault_sub output: "deliveries distinct_seqs
# distinct_ids ids_under_two_seqs order_violations" where an order
# violation is a sequence delivered for the first time below one delivered
# for the first time before it.
sub_figures() {
	awk '
		$2 == "-" { next }
		{ n++ }
		!($1 in seqs) {
			seqs[$1] = 1; ns++
			if ($1 + 0 < max) bad++
			if ($1 + 0 > max) max = $1 + 0
			if (!($2 in ids)) { ids[$2] = $1; ni++ }
			else if (ids[$2] != $1) twice++
		}
		END { printf "%d %d %d %d %d\n", n, ns, ni, twice, bad }' "$1"
}

# Stops what the scenario started, undoes its mounts, then lib.sh's cleanup.
F_MOUNTS=()
fault_cleanup() {
	local name m
	for name in "${!PIDS[@]}"; do
		kill -KILL "${PIDS[$name]}" 2>/dev/null
		{ wait "${PIDS[$name]}"; } 2>/dev/null
		unset "PIDS[$name]"
	done
	for m in "${F_MOUNTS[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	cleanup
}
trap fault_cleanup EXIT

# mount_tmpfs DIR SIZE: a tmpfs of SIZE (e.g. 2m) on DIR, undone at exit.
# Fails unless root (and allowed to mount).
mount_tmpfs() {
	[ "$(id -u)" = 0 ] || return 1
	mkdir -p "$1" && mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" 2>/dev/null || return 1
	F_MOUNTS+=("$1")
}

# kill_broker ID: SIGKILL, quietly (no "Killed" notice from the shell).
kill_broker() {
	kill -KILL "${PIDS[$1]}" 2>/dev/null
	{ wait "${PIDS[$1]}"; } 2>/dev/null
	unset "PIDS[$1]"
}
