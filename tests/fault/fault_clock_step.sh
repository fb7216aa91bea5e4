#!/usr/bin/env bash
# The wall clock steps while everything runs: NTP putting right a host that
# booted an hour ahead steps it back an hour, one that was behind forward.
# The broker and its clients share the host's clock (libfaketime, whose
# offset this scenario changes through a file while they run; the
# monotonic clock stays true, as it does on a real host). Timers, deadlines
# and liveness run on the monotonic clock, so a step back must not stop the
# broker's once-a-second work (status, redelivery, session checks, the
# memory guard, cursor saves) for the length of the step, a step forward
# must not fire it all at once, and a client's --timeout stays what it
# says.
# Figures: sub_exit_s (a blonet-sub --timeout 3, idle, whose clock steps
# back an hour 1 s into its wait: seconds until it exits, at most 8),
# accepted_back and accepted_forward (the broker's status.json, rewritten
# after each step, counts the 5 alerts published after it: 5, then 10),
# uptime_back_s and uptime_forward_s (status uptime_s after each step: the
# seconds it has really run, under 60), delivered (distinct alerts a
# durable subscriber gets after both steps: 10).
. "$(dirname "$0")/lib.sh"

FAKETIME_LIB=$(faketime_lib) ||
	fault_skip "libfaketime not installed (Debian package faketime; deploy/deps.sh installs it)"

CLOCK="$WORK/clock" # the host's offset from true time, read at most once a second
echo "+0" >"$CLOCK"

# The environment of a process on the host: env "${HOST[@]}" COMMAND runs
# COMMAND with the host's clock (exec'd by env: its PID is the command's).
HOST=(FAKETIME_TIMESTAMP_FILE="$CLOCK" FAKETIME_CACHE_DURATION=1 DONT_FAKE_MONOTONIC=1
	FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$FAKETIME_LIB"
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")

# on_host COMMAND...: COMMAND (a program or a function of lib.sh) with the
# host's clock.
on_host() {
	local -x "${HOST[@]}"
	"$@"
}

# sub_field FIELD: that number of the durable subscription "step" in the
# broker's status.
sub_field() {
	ctl th-broker status | tr -d '\t\n ' | grep -o '"durable":"step",[^}]*' | head -n 1 |
		grep -o "\"$1\":[0-9]*" | cut -d: -f2
}

# step OFFSET: sets the host's clock OFFSET from true time and waits until
# every process has read it (libfaketime caches it for a second).
step() {
	echo "$1" >"$CLOCK"
	sleep 2.2
}

# accepted_is N: the broker's status.json counts N accepted alerts.
accepted_is() { [ "$(status_field th-broker accepted)" = "$1" ]; }

provision "$SRC/tests/integration/topology_single.json" || fault_abort "provision"
on_host start_broker th-broker || fault_abort "the broker starts"
host_skew=$(($(on_host date +%s) - $(date +%s)))
expect "the host's clock starts true (${host_skew} s off)" [ "${host_skew#-}" -le 2 ]

# 1. An idle subscriber with --timeout 3; 1 s into its wait the host's
# clock steps back an hour.
t0=$SECONDS
bg idle env "${HOST[@]}" "$BIN/blonet-sub" -c "$WORK/d/th-console-maesai/config.json" --durable step \
	--timeout 3 >"$WORK/idle.out" 2>"$WORK/idle.err"
sleep 1
step -3600
host_skew=$(($(on_host date +%s) - $(date +%s)))
expect "the host's clock is an hour behind (${host_skew} s)" [ "$host_skew" -le -3590 -a "$host_skew" -ge -3610 ]
for _ in $(seq 1 40); do kill -0 "${PIDS[idle]}" 2>/dev/null || break; sleep 0.25; done
sub_exit_s=$((SECONDS - t0))
if kill -0 "${PIDS[idle]}" 2>/dev/null; then
	kill "${PIDS[idle]}"
	sub_exit_s=999999 # it would have waited out the hour
fi
bg_wait idle
idle_rc=$?
expect "the idle subscriber exits 0 (exit ${idle_rc}; see idle.err)" [ "$idle_rc" = 0 ]
expect "on its --timeout of 3 s, within 8 s (after ${sub_exit_s} s)" \
	[ "$sub_exit_s" -ge 2 -a "$sub_exit_s" -le 8 ]

# after_step NAME TOTAL: 5 alerts published on the host after the step
# NAME are accepted, and status.json, still rewritten every second, counts
# TOTAL accepted in all; sets accepted and uptime_s from it.
after_step() {
	gen_alerts "$1" 5 >"$WORK/$1.jsonl"
	on_host pub th-customs-maesai "$WORK/$1.jsonl" >"$WORK/$1.res" 2>&1
	expect "5 alerts accepted after the step $1" \
		[ "$(count_lines "$WORK/$1.res" '"status":"accepted"')" = 5 ]
	wait_for 5 accepted_is "$2"
	accepted=$(status_field th-broker accepted)
	uptime_s=$(status_field th-broker uptime_s)
	expect "status.json counts $2 after the step $1 (${accepted:-none})" [ "${accepted:-0}" = "$2" ]
	expect "its uptime_s is the time the broker has run (${uptime_s:-none} s)" \
		[ "${uptime_s:-999999}" -lt 60 ]
}

# 2. After the step back.
after_step back 5
accepted_back=$accepted uptime_back_s=$uptime_s

# 3. Two hours forward, to an hour ahead of true time.
step +3600
after_step forward 10
accepted_forward=$accepted uptime_forward_s=$uptime_s

# 4. The durable subscription gets all 10, each once.
on_host sub th-console-maesai --durable step --count 10 --timeout 10 >"$WORK/step.out" 2>"$WORK/step.err"
delivered=$(distinct_ids "$WORK/step.out")
sleep 1.2 # status.json is rewritten every second
sub_delivered=$(sub_field delivered)
sub_redelivered=$(sub_field redelivered)
expect "the durable subscriber gets the 10 (${delivered:-0})" [ "${delivered:-0}" = 10 ]
expect "the broker delivered them each once (${sub_delivered:-none} delivered, ${sub_redelivered:-none} again)" \
	[ "${sub_delivered:-x}" = 10 -a "${sub_redelivered:-x}" = 0 ]
expect "the broker stops cleanly" stop_broker th-broker

fault_done "sub_exit_s=$sub_exit_s accepted_back=${accepted_back:-none} uptime_back_s=${uptime_back_s:-none} accepted_forward=${accepted_forward:-none} uptime_forward_s=${uptime_forward_s:-none} delivered=${delivered:-0}"
