#!/usr/bin/env bash
# What one principal may make the broker keep, and how much work it may
# make: at most 32 durable subscriptions per principal (their cursors stay
# in the journal for good), counted across restarts and freed by
# Unsubscribe forget; filters of at most 64 entries per field; a
# connection's deliveries in flight over all its subscriptions; its
# publishes unanswered (beyond them, OVERLOADED at once); audit records of
# alerts sent again and of sessions, within a budget; a subscription that
# starts before the oldest record kept goes straight to it, what retention
# purged counted as expired; one loaded at a restart resumes where it
# was; a message that never ends is cut off once the broker's memory
# is over limits.memory_mb; and a principal holds at most 64 sessions.
. "$(dirname "$0")/lib.sh"

provision "$SRC/tests/integration/topology_single.json" || { fail provision; finish; }
start_broker th-broker || { fail "broker starts"; finish; }

# subs PRINCIPAL PREFIX N [MODE]: blonet-probe subs; prints its lines.
subs() { "$PROBE" subs -c "$WORK/d/$1/config.json" --durable "$2" -n "$3" ${4:+--mode "$4"}; }
# result FILE NAME: what the subscribe of durable NAME got.
result() { grep "\"durable\":\"$2\"" "$1" | sed 's/.*"result":"\([a-z_]*\)".*/\1/'; }

# 1. 40 new names: the first 32 are kept, the other 8 refused TOO_MANY,
# with an Error that says why and what to do.
subs th-console-maesai d 40 >"$WORK/d40.out"
check "32 of 40 new durable names are subscribed" \
	[ "$(count_lines "$WORK/d40.out" '"result":"subscribed"')" = 32 ]
check "the other 8 are refused TOO_MANY" [ "$(count_lines "$WORK/d40.out" '"result":"too_many"')" = 8 ]
check "the 33rd is the first refused" [ "$(result "$WORK/d40.out" d-32)/$(result "$WORK/d40.out" d-33)" = subscribed/too_many ]
check "the refusal says what to do" grep -q 'the most it may: subscribe under one of their names, or end one with Unsubscribe forget' "$WORK/d40.out"
check "the refusals are in the log" \
	grep -q '"event":"request.refused".*th-console-maesai: subscribe refused: too many durable names' "$WORK/th-broker.log"

# 2. The names it keeps still subscribe; another principal has its own 32.
subs th-console-maesai d 32 >"$WORK/again.out"
check "the 32 names kept subscribe again" [ "$(count_lines "$WORK/again.out" '"result":"subscribed"')" = 32 ]
subs th-console-chiangkhong d 3 >"$WORK/other.out"
check "another principal subscribes its own names" [ "$(count_lines "$WORK/other.out" '"result":"subscribed"')" = 3 ]

# 3. After a restart the journal's cursors still count.
check "SIGTERM exits 0" stop_broker th-broker TERM
start_broker th-broker || { fail "broker restarts"; finish; }
# Its 64 subscribes (32 refused are not subscribes): 20 logged one by one,
# the rest summed up in one line (here at the stop).
check "20 of the principal's 64 subscribes are logged one by one" \
	[ "$(count_lines "$WORK/th-broker.log" '"event":"subscribe","msg":"th-console-maesai subscribed')" = 20 ]
check "the other 44 are summed up in one line" \
	grep -q '"event":"subscribe.limited","msg":"th-console-maesai: 44 more subscribes in [0-9]* s not logged one by one' \
	"$WORK/th-broker.log"
subs th-console-maesai x 1 >"$WORK/after-restart.out"
check "after a restart a 33rd name is still refused" [ "$(result "$WORK/after-restart.out" x-1)" = too_many ]

# 4. Unsubscribe forget frees a name for another at once; so does a forget
# of a name no connection holds; a plain Unsubscribe frees none.
subs th-console-maesai d 2 forget >"$WORK/forget.out"
check "two names subscribed, then forgotten" [ "$(count_lines "$WORK/forget.out" '"result":"subscribed"')" = 2 ]
subs th-console-maesai x 3 >"$WORK/x3.out"
check "two new names take their place, the third is refused" \
	[ "$(result "$WORK/x3.out" x-1)/$(result "$WORK/x3.out" x-2)/$(result "$WORK/x3.out" x-3)" = subscribed/subscribed/too_many ]
subs th-console-maesai d 3 drop >/dev/null
subs th-console-maesai u 2 unsub >"$WORK/unsub.out"
check "forgetting d-3, held by no connection, frees one name; a plain Unsubscribe keeps it" \
	[ "$(result "$WORK/unsub.out" u-1)/$(result "$WORK/unsub.out" u-2)" = subscribed/too_many ]

# 5. Filters: 65 sites are refused, 64 are taken.
subs th-console-maesai x 1 bigfilter >"$WORK/bigfilter.out"
check "a filter of 65 sites is refused TOO_MANY" [ "$(result "$WORK/bigfilter.out" x-1)" = too_many ]
check "and the Error names the field and the limit" grep -q 'filter: field "sites": 65 entries, at most 64' "$WORK/bigfilter.out"
subs th-console-maesai x 1 filter64 >"$WORK/filter64.out"
check "a filter of 64 sites is taken" [ "$(result "$WORK/filter64.out" x-1)" = subscribed ]

# 6. One connection's unacknowledged deliveries are bounded over all its
# subscriptions: 4 times limits.max_in_flight (256 here), though each of 5
# subscriptions may have 256. 1,300 alerts wait for it.
gen_alerts hog 1300 >"$WORK/hog.jsonl"
check "1,300 alerts published" \
	sh -c '"$0" -c "$1" --timeout 60 "$2" >"$3" 2>&1' "$BIN/blonet-pub" \
	"$WORK/d/th-customs-chiangkhong/config.json" "$WORK/hog.jsonl" "$WORK/hog.res"
subs th-console-chiangkhong hog 5 hog >"$WORK/hog.out"
check "a connection with 5 subscriptions that acknowledges nothing gets 1,024 deliveries" \
	grep -q '"subscribed":5,.*"delivered":1024}' "$WORK/hog.out"

# 7. A publisher that does not wait for its acks: beyond 4,096 publishes
# unanswered on its connection, the broker refuses at once OVERLOADED
# (nothing queued, nothing verified), the client sends them again, and in
# the end every one of 10,000 is accepted.
# The broker is stopped (SIGSTOP) while they are sent, so that they are
# all waiting for it when it goes on, however fast it verifies.
"$PROBE" flood -c "$WORK/d/th-customs-maesai/config.json" -n 10000 >"$WORK/flood.out" 2>"$WORK/flood.err" &
FLOOD=$!
flood_signed() { grep -q "sending in 1 s" "$WORK/flood.err"; }
wait_for 20 flood_signed
kill -STOP "${PIDS[th-broker]}"
sleep 2
kill -CONT "${PIDS[th-broker]}"
wait $FLOOD
check "10,000 publishes sent at once are all accepted in the end" \
	grep -q '"sent":10000,"accepted":10000,' "$WORK/flood.out"
check "some were refused OVERLOADED on the way" \
	[ "$(grep -o '"overloaded":[0-9]*' "$WORK/flood.out" | cut -d: -f2)" -gt 0 ]
check "and counted" \
	wait_for 5 sh -c '[ "$("$0" -c "$1" status | tr -d "\t\n " | grep -o "\"OVERLOADED\":[0-9]*" | cut -d: -f2)" -gt 0 ]' \
	"$BIN/blonetctl" "$WORK/d/th-broker/config.json"

# 8. What the audit log keeps for good is bounded per principal too: alerts
# sent again (duplicates) and routine sessions are recorded one by one
# within a budget of 20 a minute, the rest summed up in one record.
gen_alerts again 25 >"$WORK/again.jsonl"
pubq() { "$BIN/blonet-pub" -c "$WORK/d/$1/config.json" --timeout 30 "$2" >"$3" 2>&1; }
check "25 alerts published" pubq th-narcotics-maesai "$WORK/again.jsonl" "$WORK/again1.res"
pubq th-narcotics-maesai "$WORK/again.jsonl" "$WORK/again2.res"
check "and again: 25 duplicates" [ "$(count_lines "$WORK/again2.res" '"status":"duplicate"')" = 25 ]
for i in $(seq 1 25); do
	subs th-committee s 0 >/dev/null 2>&1
done
# audit_count PRINCIPAL GREP-ARGS...: records of PRINCIPAL that match.
audit_count() { ctl th-broker audit | grep "\"principal\":\"$1\"" | grep -c "${@:2}"; }
check "20 of the 25 duplicates are recorded one by one" \
	[ "$(audit_count th-narcotics-maesai -e '"event":"duplicate"')" = 20 ]
# Session records go with the writer's next commit, within a second.
# Sessions opened and ended by their connection share the budget.
sleep 1
check "20 of the committee's 25 sessions opened (and ended) are recorded one by one" \
	[ "$(audit_count th-committee -e 'session opened' -e 'session closed: peer gone')" = 20 ]

# 9. Retention keeps the newest 10 of the 11,355 alerts stored (30 here,
# 1,300 in 6, 10,000 in 7, 25 in 8): a subscription from sequence 1 starts
# at the oldest kept, 11,346, and the 11,345 purged count as expired.
gen_alerts kept 30 >"$WORK/kept.jsonl"
check "30 alerts published" sh -c '"$0" -c "$1" --timeout 30 "$2" >"$3" 2>&1' \
	"$BIN/blonet-pub" "$WORK/d/th-customs-maesai/config.json" "$WORK/kept.jsonl" "$WORK/kept.res"
check "SIGTERM exits 0 again" stop_broker th-broker TERM
sed -i 's/"data_dir": "data",/"data_dir": "data", "journal": {"max_count": 10},/' \
	"$WORK/d/th-broker/config.json"
start_broker th-broker || { fail "broker restarts with retention"; finish; }
ctl th-broker audit >"$WORK/audit-summaries.out"
check "the other 5 duplicates are summed up at the stop" \
	grep -q '"event":"duplicate","principal":"th-narcotics-maesai","detail":"5 more alerts sent again (duplicates, id conflicts, ones not compared for want of memory) of this principal' \
	"$WORK/audit-summaries.out"
check "and so are the committee's other sessions" \
	grep -q '"principal":"th-committee","detail":"[0-9]* more sessions opened or closed of this principal' \
	"$WORK/audit-summaries.out"
# The journal kept the deletions and the new names: 32 still, x-1, x-2
# and u-1 among them, d-1 and d-3 not.
subs th-console-maesai x 2 >"$WORK/kept-x.out"
subs th-console-maesai u 1 >"$WORK/kept-u.out"
subs th-console-maesai d 1 >"$WORK/gone-d.out"
check "after the restart the names that replaced the forgotten ones are kept" \
	[ "$(result "$WORK/kept-x.out" x-1)/$(result "$WORK/kept-x.out" x-2)/$(result "$WORK/kept-u.out" u-1)/$(result "$WORK/gone-d.out" d-1)" = subscribed/subscribed/subscribed/too_many ]
sub th-console-chiangkhong --durable fresh --from-seq 1 --count 10 --timeout 5 >"$WORK/fresh.out" 2>&1
check "the subscriber gets the 10 kept" [ "$(count_lines "$WORK/fresh.out" '"seq":')" = 10 ]
check "starting with the oldest kept, sequence 11346" \
	[ "$(grep -o '"seq":[0-9]*' "$WORK/fresh.out" | head -n 1)" = '"seq":11346' ]
check "the 11,345 purged are counted as expired" \
	wait_for 5 sh -c '[ "$("$0" -c "$1" status | tr -d "\t\n " | grep -o "\"expired_before_delivery\":[0-9]*" | cut -d: -f2)" = 11345 ]' \
	"$BIN/blonetctl" "$WORK/d/th-broker/config.json"
# 10. A durable subscription loaded from the journal at a restart resumes
# where its subscriber left off: nothing again, then only what is new.
check "SIGTERM exits 0 once more" stop_broker th-broker TERM
start_broker th-broker || { fail "broker restarts once more"; finish; }
sub th-console-chiangkhong --durable fresh --timeout 2 >"$WORK/resume1.out" 2>&1
check "the subscription resumes after what was acknowledged: nothing again" \
	[ "$(count_lines "$WORK/resume1.out" '"seq":')" = 0 ]
gen_alerts after 3 >"$WORK/after.jsonl"
check "3 more alerts published" sh -c '"$0" -c "$1" --timeout 30 "$2" >"$3" 2>&1' "$BIN/blonet-pub" \
	"$WORK/d/th-customs-maesai/config.json" "$WORK/after.jsonl" "$WORK/after.res"
sub th-console-chiangkhong --durable fresh --timeout 3 --count 3 >"$WORK/resume2.out" 2>&1
check "then gets exactly the 3 new ones" \
	[ "$(grep -o '"seq":[0-9]*' "$WORK/resume2.out" | tr '\n' ' ')" = '"seq":11356 "seq":11357 "seq":11358 ' ]

# 11. A client that never ends a message: libzmq holds every part until the
# last arrives, without bound. Over limits.memory_mb of anonymous memory
# (256 here) the broker ends every connection, which frees them, and goes
# on serving: a subscriber connected before the reset reconnects by itself
# and gets what is published after it.
check "SIGTERM exits 0 before the memory limit" stop_broker th-broker TERM
jq '.limits.memory_mb = 256' "$WORK/d/th-broker/config.json" >"$WORK/memory.json" &&
	mv "$WORK/memory.json" "$WORK/d/th-broker/config.json"
start_broker th-broker || { fail "broker restarts with a memory limit"; finish; }
# It starts after the last record stored: only what comes after counts.
next=$(($(ctl th-broker status | jq .journal.last_seq) + 1))
sub th-console-chiangkhong --durable across --from-seq "$next" --count 2 --timeout 180 \
	>"$WORK/across.out" 2>&1 &
ACROSS=$!
subscribed() { ctl th-broker status | tr -d '\t\n ' | grep -q '"durable":"across","connected":true'; }
check "a subscriber is connected before the reset" wait_for 10 subscribed
# Up to 100,000,000 one-byte parts (3.6 GB): the limit is over at about
# 2,500,000, and the broker looks every second.
"$PROBE" parts -c "$WORK/d/th-console-maesai/config.json" -n 100000000 --wait 2000 \
	>"$WORK/parts.out" 2>"$WORK/parts.err"
sent=$(grep -o '"sent":[0-9]*' "$WORK/parts.out" | cut -d: -f2)
check "over the limit the broker ends every connection" \
	grep -q '"event":"broker.memory_reset","msg":"[0-9]* MB of anonymous memory beyond the record cache is over limits.memory_mb (256)' \
	"$WORK/th-broker.log"
check "the sender of the parts is cut off after it sent some" \
	sh -c '[ "${0:-0}" -gt 1000000 ] && grep -q "\"cut\":true" "$1"' "$sent" "$WORK/parts.out"
check "the broker still serves: a new connection's Ping is answered" grep -q '"pong":true' "$WORK/parts.out"
check "and audited" sh -c '"$0" -c "$1" audit | grep -q "memory reset: [0-9]* MB of anonymous memory beyond the record cache over limits.memory_mb 256; every connection ended"' \
	"$BIN/blonetctl" "$WORK/d/th-broker/config.json"
memory_said() { grep -q '"event":"broker.memory\(_held\)\?",' "$WORK/th-broker.log"; }
check "a second later the broker says what is left" wait_for 5 memory_said
case "$BIN" in
*/build/address/*)
	# AddressSanitizer hands no freed memory back to the system: the reset
	# frees the parts, but the process stays over the limit and would end
	# every connection every two seconds. The rest goes on without a limit.
	check "the reset is counted" \
		[ "$(ctl th-broker status | jq .counters.memory_resets)" -ge 1 ]
	check "SIGTERM exits 0 after the reset" stop_broker th-broker TERM
	jq '.limits.memory_mb = 0' "$WORK/d/th-broker/config.json" >"$WORK/memory.json" &&
		mv "$WORK/memory.json" "$WORK/d/th-broker/config.json"
	start_broker th-broker || { fail "broker restarts without a memory limit"; finish; } ;;
*)
	check "the reset is counted, once" [ "$(ctl th-broker status | jq .counters.memory_resets)" = 1 ]
	check "the next look says what the reset left" \
		grep -q '"event":"broker.memory","msg":"[0-9]* MB of anonymous memory beyond the record cache after the reset' \
		"$WORK/th-broker.log"
	under() { [ "$(ctl th-broker status | jq -c '[.memory.limit_mb, .memory.anon_mb - .memory.cache_mb < 256]')" = '[256,true]' ]; }
	check "status shows the limit and the memory under it" wait_for 3 under ;;
esac
resets=$(ctl th-broker status | jq .counters.memory_resets)
gen_alerts across 2 >"$WORK/across.jsonl"
check "2 alerts published after the reset" sh -c '"$0" -c "$1" --timeout 30 "$2" >"$3" 2>&1' \
	"$BIN/blonet-pub" "$WORK/d/th-customs-maesai/config.json" "$WORK/across.jsonl" "$WORK/across.res"
wait $ACROSS
check "the subscriber connected before the reset gets both" \
	[ "$(grep -c '"headline":"methamphetamine tablets, record' "$WORK/across.out")" = 2 ]

# 12. The broker's own memory is not a client's: 3,000 alerts of 60 kB,
# delivered, fill its cache of recent records with over 300 MB, past the
# limit of 256, and no connection is ended for it.
pad=$(head -c 60000 /dev/zero | tr '\0' 'p')
awk -v pad="$pad" 'BEGIN { for (i = 1; i <= 3000; i++) printf "{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"source_ref\":\"big-%d\",\"assessment\":{\"category\":\"DRUGS\"},\"handling\":{\"tlp\":\"TLP_AMBER\"},\"headline\":\"big %d %s\"}\n", i, i, pad }' >"$WORK/big.jsonl"
next=$(($(ctl th-broker status | jq .journal.last_seq) + 1))
sub th-console-chiangkhong --durable big --from-seq "$next" --count 3000 --timeout 180 >"$WORK/big.out" 2>&1 &
BIG=$!
check "3,000 alerts of 60 kB published" sh -c '"$0" -c "$1" --timeout 120 "$2" >"$3" 2>&1' \
	"$BIN/blonet-pub" "$WORK/d/th-customs-maesai/config.json" "$WORK/big.jsonl" "$WORK/big.res"
wait $BIG
check "and delivered" [ "$(grep -c '"headline":"big ' "$WORK/big.out")" = 3000 ]
big_held() { [ "$(ctl th-broker status | jq '.memory.anon_mb > 256 and .memory.cache_mb > 256')" = true ]; }
check "the broker's memory is over 256 MB, the cache's share too" wait_for 5 big_held
check "and no connection was ended for it" [ "$(ctl th-broker status | jq .counters.memory_resets)" = "$resets" ]

# 13. A principal holds at most 64 sessions at once: connections beyond
# them are refused TOO_MANY, frame after frame, counted and audited, while
# another principal is served; a client of that principal waits, saying
# why, and is served once they are gone: a subscriber from where it asked,
# a publisher's alerts accepted.
many=th-console-maesai-border-liaison-office-night-desk-for-tests-xx
agent=th-customs-chiangkhong
refused0=$(ctl th-broker status | jq .counters.sessions_refused)
"$PROBE" sessions -c "$WORK/d/$many/config.json" -n 66 --wait 20000 --hold 120000 \
	>"$WORK/sessions.out" 2>"$WORK/sessions.err" &
SESSIONS=$!
"$PROBE" sessions -c "$WORK/d/$agent/config.json" -n 65 --wait 20000 --hold 120000 \
	>"$WORK/sessions-agent.out" 2>"$WORK/sessions-agent.err" &
SESSIONS_AGENT=$!
check "of 66 connections of one principal, 64 are welcomed, 2 refused TOO_MANY, their next frame too" \
	wait_for 30 grep -q '"welcomed":64,"too_many":2,"other":0,"unanswered":0,"pings_refused":2,' "$WORK/sessions.out"
check "of another's 65, 64 welcomed and 1 refused" \
	wait_for 30 grep -q '"welcomed":64,"too_many":1,"other":0,"unanswered":0,"pings_refused":1,' "$WORK/sessions-agent.out"
check "the refusal says why and what to do" \
	grep -q 'holds 64 sessions, the most it may: this connection is not served until one of them ends (close the clients you no longer use)' \
	"$WORK/sessions.out"
refused_is() { [ "$(ctl th-broker status | jq .counters.sessions_refused)" = "$1" ]; }
check "each refused frame is counted" wait_for 3 refused_is $((refused0 + 6))
refused_audited() { ctl th-broker audit | grep "\"principal\":\"$many\"" | grep -q 'session refused: 64 sessions open already'; }
check "and audited" wait_for 5 refused_audited
sub th-console-chiangkhong --durable meanwhile --from-seq 1 --count 1 --timeout 10 >"$WORK/meanwhile.out" 2>&1
check "meanwhile another principal is served" grep -q '"headline"' "$WORK/meanwhile.out"
# A new durable name would start from the oldest alert kept: it asks for
# the newest.
last=$(ctl th-broker status | jq .journal.last_seq)
sub "$many" --durable over --from-seq "$last" --count 1 --timeout 60 >"$WORK/over.out" 2>"$WORK/over.err" &
OVER=$!
check "a blonet-sub of that principal says why it waits" \
	wait_for 15 grep -q 'broker: this principal holds 64 sessions, the most it may' "$WORK/over.err"
gen_alerts held 3 >"$WORK/held.jsonl"
"$BIN/blonet-pub" -c "$WORK/d/$agent/config.json" --timeout 60 "$WORK/held.jsonl" >"$WORK/held.res" 2>"$WORK/held.err" &
HELD=$!
check "so does a blonet-pub of the other" \
	wait_for 15 grep -q 'broker: this principal holds 64 sessions, the most it may' "$WORK/held.err"
# Its Hello goes again after 0.25, 0.5, 1, 2, 4, 4 ... s, each refused:
# the subscriber hears of it once (then once a minute), not every time.
sleep 9
check "while it waits it says so once, not at every Hello refused" \
	[ "$(grep -c 'broker: this principal holds 64 sessions' "$WORK/over.err")" = 1 ]
kill "$SESSIONS" "$SESSIONS_AGENT"
wait "$SESSIONS" "$SESSIONS_AGENT"
wait "$OVER"
over_rc=$?
check "once the 64 are gone the subscriber is served: from where it asked, exit 0" \
	sh -c '[ "$0" = 0 ] && grep -q "\"seq\":$1,.*\"headline\"" "$2"' "$over_rc" "$last" "$WORK/over.out"
wait "$HELD"
held_rc=$?
check "and the publisher's 3 alerts are accepted, exit 0" \
	sh -c '[ "$0" = 0 ] && [ "$(grep -c "\"status\":\"accepted\"" "$1")" = 3 ]' "$held_rc" "$WORK/held.res"
check "SIGTERM exits 0 at the end" stop_broker th-broker TERM
finish
