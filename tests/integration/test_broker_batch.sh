#!/usr/bin/env bash
# Batches: a client that offers them in its Hello may send many publishes
# in one Batch frame and gets its acks in Batch frames; one that does not
# offer gets one PublishAck frame per publish, whatever it sends. Each item
# is handled as if it came alone: an undecodable envelope is refused on its
# own, an item a client may not send is answered with an Error of its
# correlation, and the rest of the batch is stored, acked, de-duplicated and
# delivered like any publish; a Batch of more than 256 items is refused
# whole. blonet-pub batches by itself under load. limits.max_batch still
# bounds each commit. A frame the broker had no memory to read is sent
# again, the Hello with its offer.
. "$(dirname "$0")/lib.sh"

provision "$SRC/tests/integration/topology_single.json" || { fail provision; finish; }
start_broker th-broker || { fail "broker starts"; finish; }
# The broker writes its status every second.
status_ge() { local v; v=$(status_field th-broker "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }

# 1. One Batch of 50 alerts, an envelope that does not decode and an ack
# (a client may not send one), then the same 50 again.
"$PROBE" batch -c "$WORK/d/th-customs-maesai/config.json" -n 50 >"$WORK/batch.out" 2>"$WORK/batch.err"
check "a Batch of 50: each accepted, then duplicate; the bad envelope and the bad item refused alone" \
	[ $? -eq 0 ]
check "the Welcome gave the broker's batch limit" grep -q '"max_batch_bytes":[1-9]' "$WORK/batch.out"
check "the acks came in Batch frames" grep -q '"first":{[^}]*"in_batches":[1-9]' "$WORK/batch.out"
check "the refused item was told why" grep -q "a client's batch carries only publishes" "$WORK/batch.err"

# 2. A client that does not offer batches may still send one, and gets
# every ack alone.
"$PROBE" batch -c "$WORK/d/th-narcotics-maesai/config.json" -n 30 --mode nobatch \
	>"$WORK/nobatch.out" 2>"$WORK/nobatch.err"
check "without the offer: the 30 accepted, then duplicate, each ack in a frame of its own" [ $? -eq 0 ]
check "and no batch limit in its Welcome" grep -q '"max_batch_bytes":0' "$WORK/nobatch.out"

check "the broker counts the batches it received" wait_for 5 status_ge batches_received 4
check "and those it sent, to the client that offered" wait_for 5 status_ge batches_sent 1
check "the two refused items are counted as malformed frames" wait_for 5 status_ge malformed_frames 2
check "the two bad envelopes as MALFORMED publishes" wait_for 5 status_ge MALFORMED 2
check "the broker logged each refused envelope" \
	[ "$(grep -c '"publish.rejected".*MALFORMED' "$WORK/th-broker.log")" -ge 2 ]

# 3. blonet-pub through the client library: with many publishes unanswered
# it sends them in batches by itself; every line gets its own result.
before=$(status_field th-broker batches_received)
gen_alerts batch-pub 2000 >"$WORK/many.jsonl"
pub th-customs-chiangkhong "$WORK/many.jsonl" >"$WORK/many.res" 2>"$WORK/many.err"
check "blonet-pub: 2,000 lines, exit 0" [ $? -eq 0 ]
check "one result line each, all accepted" \
	[ "$(count_lines "$WORK/many.res" '"status":"accepted"')" = 2000 ]
check "it sent them in batches" wait_for 5 status_ge batches_received $((before + 1))
pub th-customs-chiangkhong "$WORK/many.jsonl" >"$WORK/many-again.res" 2>&1
check "published again: 2,000 duplicates" \
	[ "$(count_lines "$WORK/many-again.res" '"status":"duplicate"')" = 2000 ]

# 4. Everything accepted, and only that, reaches a console once.
sub th-console-maesai --durable batches --count 2080 --timeout 30 >"$WORK/sub.out" 2>"$WORK/sub.err"
check "the console receives the 2,080 alerts accepted, each once" \
	[ "$(distinct_ids "$WORK/sub.out")" = 2080 ]
check "and nothing else" [ "$(wc -l <"$WORK/sub.out")" = 2080 ]

# 5. More items than a Batch may carry: refused whole, nothing stored.
accepted=$(status_field th-broker accepted)
"$PROBE" batch -c "$WORK/d/th-customs-maesai/config.json" -n 257 --mode toomany \
	>"$WORK/toomany.out" 2>"$WORK/toomany.err"
check "a Batch of 257 is refused whole: one Error, no ack" [ $? -eq 0 ]
check "saying why" grep -q "batch of 257 items (1 to 256)" "$WORK/toomany.err"
sleep 1.2
check "and none of it is stored" [ "$(status_field th-broker accepted)" = "$accepted" ]
check "SIGTERM: exit 0" stop_broker th-broker

# 6. limits.max_batch bounds a commit, also when a Batch brings more: the
# rest of a chain of jobs waits for the next commit.
sed -i 's/"data_dir": "data",/"data_dir": "data", "limits": {"max_batch": 10},/' \
	"$WORK/d/th-broker/config.json"
check "the config sets max_batch 10" grep -q '"max_batch": 10' "$WORK/d/th-broker/config.json"
start_broker th-broker || { fail "broker restarts"; finish; }
commits=$(status_field th-broker commits)
"$PROBE" batch -c "$WORK/d/th-customs-maesai/config.json" -n 100 >"$WORK/small.out" 2>&1
check "a Batch of 100 with max_batch 10: each accepted, then duplicate" [ $? -eq 0 ]
sleep 1.2
check "in at least 20 commits (100 publishes twice, 10 a commit)" \
	[ "$(status_field th-broker commits)" -ge $((commits + 20)) ]
check "SIGTERM: exit 0" stop_broker th-broker

# 7. A broker short of memory for a moment answers a frame it could not
# read with Error INTERNAL: no fault of the client's. A stand-in with the
# broker's keys does so to the first Hello and the first publish: the
# client says Hello again, still offering batches (a Hello refused
# MALFORMED would mean a broker older than batches), and sends the publish
# again, which is then accepted.
"$PROBE" peer-full -c "$WORK/d/th-broker/config.json" --wait 8000 --mode nomem \
	>"$WORK/nomem.out" 2>"$WORK/nomem.err" &
standin=$!
sleep 0.5
gen_alerts nomem 1 | pub th-customs-maesai - >"$WORK/nomem.res" 2>"$WORK/nomem-pub.err"
check "blonet-pub through the Errors: exit 0, the alert accepted" \
	grep -q '"status":"accepted"' "$WORK/nomem.res"
wait "$standin"
check "the client said Hello again, still offering batches, and sent the publish again" \
	[ $? -eq 0 ]
# (A Hello more when the publish's Error came before the Welcome: harmless.)
check "the refused publish came once more and no more" \
	grep -q '"publishes":2,"accepted":1' "$WORK/nomem.out"
finish
