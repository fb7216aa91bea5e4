#!/usr/bin/env bash
# The registry a broker serves by, across reloads and restarts: an older
# registry is refused at start as on reload (the broker keeps the highest
# version it accepted in its journal); a rotated key ends the sessions
# opened with the old one; a registry that changes the broker's own keys or
# revokes it stops it. And blonetctl: read-only, and right about a broker
# that runs as another user.
. "$(dirname "$0")/lib.sh"

TOPO=$SRC/tests/integration/topology_single.json
BROKER_CONFIG=$WORK/d/th-broker/config.json

provision "$TOPO" || { fail provision; finish; }
cp "$WORK/d/registry.json" "$WORK/registry.v1.json"
start_broker th-broker || { fail "broker starts"; finish; }

quiet() { "$@" >/dev/null 2>&1; }
quiet_pub() { pub "$@" >/dev/null 2>&1; }
# exits_within ID SECONDS: waits for broker ID to exit on its own and
# returns its exit status; 124 if it was still serving after SECONDS (then
# it is killed).
exits_within() {
	local id=$1 pid=${PIDS[$1]} end=$((SECONDS + $2)) rc
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid"
		rc=124
	else
		wait "$pid"
		rc=$?
	fi
	unset "PIDS[$id]"
	return $rc
}
registry_version_is() { [ "$(status_field th-broker registry_version)" = "$1" ]; }
# try_start: runs the broker in the foreground (it should refuse to start);
# its exit status, its log in $WORK/try.log.
try_start() { timeout 10 "$BIN/blonet-broker" -c "$BROKER_CONFIG" 2>"$WORK/try.log"; }

# 1. Key rotation ends the sessions opened with the old key. The old keys
# stay in a copy of the console's folder (its registry is the shared one).
cp -a "$WORK/d/th-console-maesai" "$WORK/d/old-maesai"
sub old-maesai --durable rot --timeout 12 >"$WORK/old.out" 2>"$WORK/old.err" &
OLD=$!
sleep 1
gen_alerts pre-rotate 3 >"$WORK/pre.jsonl"
pub th-customs-maesai "$WORK/pre.jsonl" >/dev/null 2>&1
old_has_3() { [ "$(distinct_ids "$WORK/old.out")" = 3 ]; }
check "the subscriber with the old key receives before rotation" wait_for 10 old_has_3
provision "$TOPO" --rotate th-console-maesai || fail "provision --rotate"
kill -HUP "${PIDS[th-broker]}"
check "registry version 2 in force after SIGHUP" wait_for 5 registry_version_is 2
gen_alerts post-rotate 3 >"$WORK/post.jsonl"
check "alerts published after the rotation are accepted" quiet_pub th-customs-maesai "$WORK/post.jsonl"
sleep 3
check "the old-key subscriber receives nothing after the rotation" old_has_3
old_gone() { ! kill -0 $OLD 2>/dev/null; }
check "the old-key subscriber's session is ended within 5 s" wait_for 5 old_gone
kill $OLD 2>/dev/null
wait $OLD 2>/dev/null
# The broker sends the reason ("key changed") just before it closes its
# listening socket (500 ms linger); on a loaded machine the close can win,
# and the client learns it from the refusal of its reconnection instead.
check "it was told its key is no longer accepted" \
	grep -q -e "key changed" -e "refused this principal's key" "$WORK/old.err"
check "its reconnection with the old key is refused" \
	quiet "$PROBE" refused -c "$WORK/d/old-maesai/config.json" --mode self
check "the new key is admitted" \
	bash -c '! "$0" refused -c "$1" --mode self >/dev/null' "$PROBE" "$WORK/d/th-console-maesai/config.json"
sub th-console-maesai --durable rot --timeout 3 >"$WORK/new.out" 2>"$WORK/new.err"
check "the new key resumes the subscription with what the old one missed" \
	[ "$(distinct_ids "$WORK/new.out")" = 3 -a "$(grep -c 'record' "$WORK/new.out")" = 3 ]
audit_has() { ctl th-broker audit | grep -qF -- "$1"; }
check "the audit log records the session ended for the key change" \
	audit_has "session closed: principal's key changed"

# 2. An older registry: refused on reload, and (the bug) at a restart too.
cp "$WORK/d/registry.json" "$WORK/registry.v2.json"
cp "$WORK/registry.v1.json" "$WORK/d/registry.json"
kill -HUP "${PIDS[th-broker]}"
sleep 1.2
check "SIGHUP with version 1 keeps version 2" registry_version_is 2
check "SIGTERM exits 0" stop_broker th-broker TERM
try_start
rc=$?
check "a restart with registry version 1 after version 2 is refused (exit 1)" [ "$rc" = 1 ]
check "the refusal names both versions" \
	grep -q 'has version 1, older than version 2 this broker has already accepted' "$WORK/try.log"
running_is() { ctl th-broker status | grep -q "\"running\":[[:space:]]*$1"; }
check "blonetctl says the broker is not running" running_is false
cp "$WORK/registry.v2.json" "$WORK/d/registry.json"
check "a restart with the same version 2 starts" start_broker th-broker
check "version 2 in force" wait_for 5 registry_version_is 2
check "blonetctl says the broker is running" running_is true
check "SIGTERM exits 0" stop_broker th-broker TERM
provision "$TOPO" --revoke th-committee || fail "provision --revoke th-committee"
check "a restart with the newer version 3 starts" start_broker th-broker
check "version 3 in force" wait_for 5 registry_version_is 3

# 3. The broker's own keys change: it stops (exit 1, so that the service
# manager restarts it) and serves again when restarted with its new identity.
provision "$TOPO" --revoke th-committee --rotate th-broker || fail "provision --rotate th-broker"
kill -HUP "${PIDS[th-broker]}"
exits_within th-broker 10
check "a broker whose keys changed in the registry stops with exit 1" [ $? = 1 ]
check "and says so" grep -q '"broker.keys_changed"' "$WORK/th-broker.log"
check "restarted with its new identity it serves" start_broker th-broker
check "version 4 in force" wait_for 5 registry_version_is 4
gen_alerts after-broker-rotate 2 >"$WORK/abr.jsonl"
check "clients publish to it with its new key" quiet_pub th-customs-maesai "$WORK/abr.jsonl"

# 4. blonetctl as another user than the broker's: kill(pid, 0) says EPERM,
# which means running. It reads a copy of the status file (the broker's
# data folder is the broker's user's alone) and has no journal to read.
mkdir -p "$WORK/other/data"
chmod 711 "$WORK"
chmod 755 "$WORK/other" "$WORK/other/data"
sed "s#\"data_dir\": *\"data\"#\"data_dir\": \"$WORK/other/data\"#" "$BROKER_CONFIG" >"$WORK/other/config.json"
chmod 644 "$WORK/other/config.json"
if command -v runuser >/dev/null && [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	sleep 1.2
	cp "$WORK/d/th-broker/data/status.json" "$WORK/other/data/status.json"
	chmod 644 "$WORK/other/data/status.json"
	runuser -u nobody -- "$BIN/blonetctl" -c "$WORK/other/config.json" status \
		>"$WORK/other.out" 2>"$WORK/other.err"
	check "blonetctl run as another user sees the broker running" \
		grep -q '"running":[[:space:]]*true' "$WORK/other.out"
	check "and says where its journal figures come from" \
		grep -q "journal figures are the broker's last status" "$WORK/other.err"
	rm -f "$WORK/other/data/status.json"
else
	echo "$T_NAME: not root (or no runuser/nobody): the other-user case is skipped"
fi

# 5. blonetctl never creates a journal: before the broker's first start it
# says where it looked, and leaves the folder as it was.
if "$BIN/blonetctl" -c "$WORK/other/config.json" journal >"$WORK/nojournal.out" 2>&1; then
	fail "blonetctl journal without a journal fails"
else
	ok "blonetctl journal without a journal fails"
fi
check "with a clear message" grep -q "no journal at $WORK/other/data: is the data_dir right?" "$WORK/nojournal.out"
check "and creates nothing there" [ -z "$(ls -A "$WORK/other/data")" ]
for c in audit audit-verify; do
	check "blonetctl $c without a journal fails too" \
		bash -c '! "$0" -c "$1" "$2" >/dev/null 2>&1' "$BIN/blonetctl" "$WORK/other/config.json" "$c"
done
check "and still creates nothing" [ -z "$(ls -A "$WORK/other/data")" ]

# 6. A registry that revokes the broker itself: it stops for good (exit 2,
# which the service unit does not restart), and cannot be started with it,
# nor with the older registry in which it was live.
cp "$WORK/d/registry.json" "$WORK/registry.v4.json"
provision "$TOPO" --revoke th-committee --revoke th-broker || fail "provision --revoke th-broker"
kill -HUP "${PIDS[th-broker]}"
exits_within th-broker 10
check "a revoked broker stops with exit 2" [ $? = 2 ]
check "and says it is revoked" grep -q '"broker.revoked"' "$WORK/th-broker.log"
try_start
check "it cannot start with the registry that revokes it" [ $? = 1 ]
cp "$WORK/registry.v4.json" "$WORK/d/registry.json"
try_start
check "nor with the older one in which it was live" [ $? = 1 ]
check "which is refused as older" grep -q 'has version 4, older than version 5' "$WORK/try.log"
check "audit-verify passes on the stopped broker" quiet ctl th-broker audit-verify
check "the audit log records the revocation" audit_has "this broker is revoked in it"

# 7. The mesh: a peer broker's key changes. The others reload and link to it
# again with its new key once it is back with its new identity (before,
# their links kept the old key and stayed down until they were restarted).
mv "$WORK/d" "$WORK/single"
provision "$SRC/deploy/topologies/mekong-mini.json" || { fail "provision the mesh"; finish; }
for b in th-broker la-broker mm-broker; do
	start_broker $b || { fail "$b starts"; finish; }
done
check "TH sees its LA link up" wait_for 10 peer_is th-broker la-broker connected true
provision "$SRC/deploy/topologies/mekong-mini.json" --rotate la-broker || fail "provision --rotate la-broker"
kill -HUP "${PIDS[la-broker]}"
exits_within la-broker 10
check "LA, whose keys changed, stops with exit 1" [ $? = 1 ]
kill -HUP "${PIDS[th-broker]}" "${PIDS[mm-broker]}"
relinked() { grep -q '"mesh.relinked".*la-broker' "$WORK/$1.log"; }
check "TH makes its link to LA again with the new key" wait_for 5 relinked th-broker
check "so does MM" wait_for 5 relinked mm-broker
check "LA restarted with its new identity serves" start_broker la-broker
check "TH's link to LA is up again" wait_for 15 peer_is th-broker la-broker connected true
check "MM's link to LA is up again" wait_for 15 peer_is mm-broker la-broker connected true
printf '%s\n' '{"type":"ALERT","status":"EXERCISE","source_ref":"after-la-rotate","assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_AMBER","releasable_to":["LA"]},"headline":"after the LA key rotation"}' >"$WORK/la.jsonl"
check "an alert for LA is accepted at TH" quiet_pub th-customs-maesai "$WORK/la.jsonl"
la_holds() { "$BIN/blonetctl" -c "$WORK/d/la-broker/config.json" journal 2>/dev/null | grep -q "after the LA key rotation"; }
check "and reaches LA's journal over the new link" wait_for 15 la_holds
finish
