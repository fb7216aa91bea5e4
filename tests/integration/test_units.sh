#!/usr/bin/env bash
# The systemd units of deploy/systemd/: each is hardened as docs/OPERATIONS.md
# says (static checks), passes `systemd-analyze verify` (with its binary
# pointed at $BLO_BIN), the broker's exposure by `systemd-analyze security`
# is "OK" or better, and each ExecStart line, run by hand on the documented
# host layout (/etc/blonet/ID with data -> /var/lib/blonet/ID, laid out in
# a temporary folder), starts its program and stops cleanly. No unit is
# started through systemd: there may be no systemd here.
. "$(dirname "$0")/lib.sh"

UNITS_SRC="$SRC/deploy/systemd"
units=("$UNITS_SRC"/*.service)
if [ ! -e "${units[0]}" ]; then
	fail "deploy/systemd has service units"
	finish
fi

# unit_value FILE KEY: every value of KEY= in FILE, one per line.
unit_value() { sed -n "s/^$2=//p" "$1"; }
# is FILE KEY=VALUE...: the last KEY= of FILE (the one systemd keeps) is VALUE,
# for every pair given.
is() {
	local f=$1 kv
	shift
	for kv in "$@"; do
		unit_value "$f" "${kv%%=*}" | tail -n 1 | grep -qx -- "${kv#*=}" || return 1
		grep -q "^${kv%%=*}=" "$f" || return 1
	done
}
has_line() { grep -qx -- "$2" "$1"; }

# 1. Static checks: what every unit must say, whatever the machine has.
for u in "${units[@]}"; do
	n=$(basename "$u")
	check "$n: NoNewPrivileges=yes" is "$u" NoNewPrivileges=yes
	check "$n: runs as the blonet user (User=blonet, Group=blonet)" is "$u" User=blonet Group=blonet
	check "$n: ProtectSystem=strict, ProtectHome, PrivateTmp, PrivateDevices" \
		is "$u" ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes
	check "$n: ProtectKernelTunables, -Modules, -Logs" \
		is "$u" ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes
	check "$n: StateDirectory=blonet/%i, mode 0700" \
		is "$u" StateDirectory=blonet/%i StateDirectoryMode=0700
	check "$n: no capabilities (CapabilityBoundingSet= empty)" is "$u" CapabilityBoundingSet=
	check "$n: RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
		is "$u" "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"
	check "$n: SystemCallFilter=@system-service, MemoryDenyWriteExecute, LockPersonality" \
		eval 'has_line "$u" "SystemCallFilter=@system-service" &&
		      is "$u" MemoryDenyWriteExecute=yes LockPersonality=yes'
	check "$n: Restart=on-failure" is "$u" Restart=on-failure
	prog=$(unit_value "$u" ExecStart | awk '{print $1}')
	check "$n: ExecStart runs a program of this build from /usr/local/bin ($prog)" \
		eval '[ "${prog%/*}" = /usr/local/bin ] && [ -x "$BIN/${prog##*/}" ]'
	check "$n: config at /etc/blonet/%i/config.json" \
		eval 'unit_value "$u" ExecStart | grep -q -- "-c /etc/blonet/%i/config.json"'
done
B="$UNITS_SRC/blonet-broker@.service"
check "broker unit: SIGTERM stops it, SIGHUP reloads it" \
	is "$B" KillSignal=SIGTERM 'ExecReload=/bin/kill -HUP \$MAINPID'
check "committee unit: reports on a schedule (--report-every)" \
	eval 'unit_value "$UNITS_SRC/blonet-committee@.service" ExecStart | grep -q -- "--report-every"'
check "adapter unit: spool mode, agency and rules from adapter.env" \
	eval 'unit_value "$UNITS_SRC/blonet-adapter@.service" ExecStart | grep -q -- "--spool /var/spool/blonet/%i" &&
	      has_line "$UNITS_SRC/blonet-adapter@.service" "EnvironmentFile=/etc/blonet/%i/adapter.env"'

# 2. systemd-analyze verify and security, on copies whose binaries are this
# build's (verify wants ExecStart to exist). BLO_SYSTEMD_ANALYZE names
# another systemd-analyze (BLO_SYSTEMD_ANALYZE=none shows the skip).
SA=${BLO_SYSTEMD_ANALYZE:-$(command -v systemd-analyze 2>/dev/null)}
[ "$SA" = none ] && SA=""
mkdir -p "$WORK/units"
for u in "${units[@]}"; do
	sed "s#/usr/local/bin/#$BIN/#g" "$u" >"$WORK/units/$(basename "$u")"
done
if [ -z "$SA" ]; then
	echo "[  SKIPPED ] $T_NAME: systemd-analyze is not installed (apt-get install systemd): verify and security not run; static checks only"
else
	for u in "$WORK"/units/*.service; do
		n=$(basename "$u")
		out=$("$SA" verify "$u" 2>&1)
		rc=$?
		# Unknown or misspelt keys are only warnings: any output fails too.
		if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
			ok "$n: systemd-analyze verify is clean"
		else
			printf '%s\n' "$out"
			fail "$n: systemd-analyze verify is clean (rc=$rc)"
		fi
	done
	inst="$WORK/units/blonet-broker@th-broker.service"
	cp "$WORK/units/blonet-broker@.service" "$inst"
	sec=$("$SA" security --offline=true "$inst" 2>&1)
	line=$(printf '%s\n' "$sec" | grep 'Overall exposure level')
	if [ -z "$line" ]; then
		echo "[  SKIPPED ] $T_NAME: systemd-analyze security --offline is not available: $(printf '%s' "$sec" | head -n 1)"
	else
		score=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
		echo "$T_NAME: broker exposure (systemd-analyze security): $score"
		check "broker unit: exposure level OK or better ($score)" \
			eval 'case "${score#* }" in OK|SAFE) true ;; *) false ;; esac'
	fi
fi

# 3. The documented host layout, with each unit's ExecStart line as systemd
# would run it (%i, /usr/local/bin and the environment files substituted).
provision "$SRC/tests/integration/topology_adapter.json" || { fail provision; finish; }
ROOT="$WORK/root"
ETC="$ROOT/etc/blonet"
STATE="$ROOT/var/lib/blonet"
SPOOL="$ROOT/var/spool/blonet"
mkdir -p "$ETC" "$STATE" "$SPOOL"
cp "$WORK/d/registry.json" "$ETC/registry.json"
lay_out() { # lay_out ID: /etc/blonet/ID, its state directory and the data link
	mkdir -m 0750 "$ETC/$1" &&
		cp -p "$WORK/d/$1/config.json" "$WORK/d/$1/identity.secret.json" "$ETC/$1/" &&
		mkdir -m 0700 "$STATE/$1" && ln -s "$STATE/$1" "$ETC/$1/data"
}
# exec_line UNIT ID: the unit's ExecStart for instance ID, paths under $ROOT.
exec_line() {
	unit_value "$UNITS_SRC/$1" ExecStart |
		sed -e "s#%i#$2#g" -e "s#/usr/local/bin/#$BIN/#g" -e "s# /etc/blonet/# $ETC/#g" \
			-e "s# /var/spool/blonet/# $SPOOL/#g"
}
# run_unit UNIT ID LOG [ENVFILE]: runs the ExecStart line in the background.
run_unit() {
	local cmd
	cmd=$(exec_line "$1" "$2")
	(
		[ -n "${4:-}" ] && { set -a; . "$4"; set +a; }
		eval "exec $cmd" >>"$3.out" 2>>"$3"
	) &
	PIDS[$2]=$!
}

# The broker: serves with its journal through the data link, status works,
# SIGTERM exits 0.
BROKER=th-broker
lay_out "$BROKER" || fail "broker layout"
run_unit blonet-broker@.service "$BROKER" "$WORK/broker.log"
wait_for 10 grep -q '"broker.started"' "$WORK/broker.log"
check "broker unit's ExecStart serves on the documented layout" grep -q '"broker.started"' "$WORK/broker.log"
check "its journal is in the state directory (data.mdb under /var/lib/blonet/ID)" \
	wait_for 5 test -f "$STATE/$BROKER/data.mdb" -a -f "$STATE/$BROKER/status.json"
check "blonetctl status reads it through /etc/blonet/ID/config.json" \
	eval '"$BIN/blonetctl" -c "$ETC/$BROKER/config.json" status | grep -q "\"running\":[[:space:]]*true"'

# The adapter: agency and rules from adapter.env, a file through the spool.
AGENT=th-customs-maesai
lay_out "$AGENT" || fail "adapter layout"
mkdir -m 2770 "$SPOOL/$AGENT"
cp "$SRC/agents/formats/rules-th.json" "$ETC/rules-th.json"
printf 'AGENCY=customs\nRULES=%s/rules-th.json\nADAPTER_OPTS="--once --poll-ms 100"\n' "$ETC" >"$ETC/$AGENT/adapter.env"
head -n 5 "$SRC/agents/formats/samples/customs-th.jsonl" >"$SPOOL/$AGENT/seizures-1.jsonl.part"
mv "$SPOOL/$AGENT/seizures-1.jsonl.part" "$SPOOL/$AGENT/seizures-1.jsonl"
run_unit blonet-adapter@.service "$AGENT" "$WORK/adapter.log" "$ETC/$AGENT/adapter.env"
wait "${PIDS[$AGENT]}"
rc=$?
unset "PIDS[$AGENT]"
check "adapter unit's ExecStart publishes the spool (exit $rc)" \
	eval '[ "$rc" -eq 0 ] && [ -f "$SPOOL/$AGENT/done/seizures-1.jsonl" ]'
check "its progress store is in the state directory" test -f "$STATE/$AGENT/adapter/data.mdb"

# The committee: --report-every from committee.env; reports at stop.
COMM=th-committee
if [ -f "$WORK/d/$COMM/config.json" ]; then
	lay_out "$COMM" || fail "committee layout"
	printf 'REPORT_EVERY=1\nCOMMITTEE_OPTS="--week-offset 420"\n' >"$ETC/$COMM/committee.env"
	run_unit blonet-committee@.service "$COMM" "$WORK/committee.log" "$ETC/$COMM/committee.env"
	check "committee unit's ExecStart writes reports to the state directory" \
		wait_for 10 test -f "$STATE/$COMM/reports/report.json"
	kill -TERM "${PIDS[$COMM]}"
	wait "${PIDS[$COMM]}"
	rc=$?
	unset "PIDS[$COMM]"
	check "committee exits 0 on SIGTERM" [ "$rc" -eq 0 ]
fi

kill -TERM "${PIDS[$BROKER]}"
wait "${PIDS[$BROKER]}"
rc=$?
unset "PIDS[$BROKER]"
check "broker exits 0 on SIGTERM (systemctl stop)" [ "$rc" -eq 0 ]

finish
