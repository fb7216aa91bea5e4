#!/usr/bin/env bash
# Disk full, twice on one broker, a durable subscriber reading throughout:
#  map  the LMDB map fills (journal.map_size_mb 1; full mode 2): publishes
#       are refused with JOURNAL_FULL and a clear text, the broker counts
#       them and keeps running; the operator frees space by restarting it
#       with a bigger map.
#  fs   (root only) the journal's filesystem fills: a small tmpfs, the map
#       far bigger than the filesystem, a ballast file beside the journal;
#       the operator frees space by deleting the ballast, the broker not
#       restarted.
# Each: nothing acknowledged lost (stored and delivered), no duplicate, and
# a fresh publish accepted within 5 s after space is freed (recovery_ms).
# Figures per phase: acked, refused (publishes the publisher finally saw
# refused), counted (the broker's JOURNAL_FULL count: refusals of every
# retry), lost (must be 0), duplicates (must be 0), recovery_ms (<= 5000).
. "$(dirname "$0")/lib.sh"

MAP_MB=$(short_or 2 1)
FS_SIZE=$(short_or 4m 2m)
N=$(short_or 6000 3000)
RECOVERY_LIMIT_MS=5000

# recover PRINCIPAL TAG: publishes fresh alerts until one is accepted, for
# at most 20 s; prints the milliseconds from the call until it was.
recover() {
	local t0 i=0 now
	t0=$(date +%s%3N)
	while :; do
		i=$((i + 1))
		gen_alerts "recover-$2-$i" 1 >"$WORK/recover.jsonl"
		"$BIN/blonet-pub" -c "$WORK/d/$1/config.json" --timeout 1 "$WORK/recover.jsonl" \
			>>"$WORK/recover-$2.res" 2>/dev/null && break
		now=$(date +%s%3N)
		[ $((now - t0)) -gt 20000 ] && { echo 99999; return 1; }
	done
	echo $(($(date +%s%3N) - t0))
}

# settle SUBNAME STORED: waits (20 s at most) until the subscriber holds
# every stored alert, then stops it.
settle() {
	local end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		[ "$(awk '$2 != "-" {print $2}' "$WORK/$1.out" | sort -u | wc -l)" -ge "$2" ] && break
		sleep 0.5
	done
	bg_stop "$1"
}

# phase_figures TAG RESULTS... : checks and prints the figures of a phase;
# the broker is running.
phase_figures() {
	local tag=$1 acked refused counted stored stored_twice lost dup
	shift
	cat "$@" | awk -F'"id":"' '/"status":"(accepted|duplicate)"/ {split($2, a, "\""); print a[1]}' |
		sort -u >"$WORK/$tag.acked"
	journal_ids th-broker >"$WORK/$tag.journal"
	acked=$(wc -l <"$WORK/$tag.acked")
	stored=$(uniq "$WORK/$tag.journal" | wc -l)
	stored_twice=$(uniq -d "$WORK/$tag.journal" | wc -l)
	settle "sub$tag" "$stored"
	awk '$2 != "-" {print $2}' "$WORK/sub$tag.out" | sort -u >"$WORK/$tag.delivered"
	read -r _ _ _ twice order <<<"$(sub_figures "$WORK/sub$tag.out")"
	lost=$({ comm -23 "$WORK/$tag.acked" <(uniq "$WORK/$tag.journal")
		comm -23 "$WORK/$tag.acked" "$WORK/$tag.delivered"; } | sort -u | wc -l)
	dup=$((stored_twice + twice))
	zero "$tag lost" "$lost"
	zero "$tag duplicates" "$dup"
	zero "$tag order" "$order"
	echo "${tag}_acked=$acked ${tag}_refused=$REFUSED ${tag}_counted=$COUNTED ${tag}_lost=$lost ${tag}_duplicates=$dup ${tag}_recovery_ms=$RECOVERY"
}

# fill TAG PRINCIPAL: publishes $N alerts into a journal that fills; sets
# REFUSED and COUNTED and checks the refusal and the broker.
fill() {
	gen_alerts "$1" "$N" >"$WORK/$1.jsonl"
	bg fillpub timeout 90 "$BIN/blonet-pub" -c "$WORK/d/$2/config.json" --timeout 3 "$WORK/$1.jsonl" \
		>"$WORK/$1.res" 2>/dev/null
	# Should the broker die, the publisher waits for it: it is left running
	# (in PIDS[fillpub]) to finish once the broker is back.
	while kill -0 "${PIDS[fillpub]}" 2>/dev/null && kill -0 "${PIDS[th-broker]}" 2>/dev/null; do
		sleep 0.2
	done
	kill -0 "${PIDS[th-broker]}" 2>/dev/null && bg_wait fillpub
	REFUSED=$(count_lines "$WORK/$1.res" '"reason":"JOURNAL_FULL"')
	expect "$1: the journal filled: publishes refused with JOURNAL_FULL" [ "$REFUSED" -gt 0 ]
	expect "$1: the refusal says why" grep -q '"text":"journal full' "$WORK/$1.res"
	expect "$1: some publishes were accepted before it filled" \
		grep -q '"status":"accepted"' "$WORK/$1.res"
	expect "$1: the broker keeps running on a full journal" kill -0 "${PIDS[th-broker]}" 2>/dev/null
}

# counted TAG: the broker's count of JOURNAL_FULL refusals into COUNTED.
# (status.json lives in the data_dir: on a full filesystem it cannot be
# rewritten, so the fs phase reads it once there is room again.)
counted() {
	sleep 1.2 # status.json is written every second
	COUNTED=$(status_field th-broker JOURNAL_FULL)
	expect "$1: the broker counts the refusals (${COUNTED:-none})" [ "${COUNTED:-0}" -ge "$REFUSED" ]
}

provision "$SRC/tests/integration/topology_single.json" || fault_abort "provision"
figures=""

# ---- map: the LMDB map fills.
set_journal th-broker "\"map_size_mb\": $MAP_MB"
start_broker th-broker || fault_abort "broker with a small map starts"
bg submap "$FAULT_BIN/fault_sub" -c "$WORK/d/th-committee/config.json" --durable map \
	>"$WORK/submap.out" 2>"$WORK/submap.err"
fill map th-customs-maesai
counted map
# The operator frees space: a bigger map, a restart.
stop_broker th-broker TERM
expect "map: the broker stops cleanly on a full journal" [ $? = 0 ]
set_journal th-broker "\"map_size_mb\": 64"
t0=$(date +%s%3N)
start_broker th-broker || fault_abort "broker restarts with a bigger map"
recover th-customs-maesai map >/dev/null
RECOVERY=$(($(date +%s%3N) - t0))
expect "map: a publish is accepted within 5 s of the room (${RECOVERY} ms)" [ "$RECOVERY" -le "$RECOVERY_LIMIT_MS" ]
"$BIN/blonet-pub" -c "$WORK/d/th-customs-maesai/config.json" --timeout 60 "$WORK/map.jsonl" \
	>"$WORK/map2.res" 2>/dev/null
expect "map: the refused publishes go through once there is room" [ $? = 0 ]
figures="$figures $(phase_figures map "$WORK/map.res" "$WORK/map2.res" "$WORK/recover-map.res")"
stop_broker th-broker TERM

# ---- fs: the filesystem under the journal fills.
if mount_tmpfs "$WORK/fs" "$FS_SIZE"; then
	COUNTED=none
	mkdir "$WORK/fs/data"
	dd if=/dev/zero of="$WORK/fs/ballast" bs=64k count=8 status=none
	python3 - "$WORK/d/th-broker/config.json" "$WORK/fs/data" <<'EOF'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["data_dir"] = sys.argv[2]
cfg["journal"] = {"map_size_mb": 64}
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
EOF
	start_broker th-broker || fault_abort "broker on a small filesystem starts"
	bg subfs "$FAULT_BIN/fault_sub" -c "$WORK/d/th-committee/config.json" --durable fs \
		>"$WORK/subfs.out" 2>"$WORK/subfs.err"
	fill fs th-customs-maesai
	if kill -0 "${PIDS[th-broker]}" 2>/dev/null; then
		t0=$(date +%s%3N)
		rm -f "$WORK/fs/ballast"
		recover th-customs-maesai fs >/dev/null
		RECOVERY=$(($(date +%s%3N) - t0))
		expect "fs: a publish is accepted within 5 s of the room (${RECOVERY} ms)" \
			[ "$RECOVERY" -le "$RECOVERY_LIMIT_MS" ]
		counted fs
		figures="$figures $(phase_figures fs "$WORK/fs.res" "$WORK/recover-fs.res")"
		stop_broker th-broker TERM
	else
		expect "fs: the broker died on a full filesystem: $(grep -o '"msg":"[^"]*' "$WORK/th-broker.log" | tail -n 2 | tr '\n' ' ')" false
		{ wait "${PIDS[th-broker]}"; } 2>/dev/null
		unset "PIDS[th-broker]"
		# What was acknowledged must be there all the same; the publisher
		# finishes against the restarted broker.
		rm -f "$WORK/fs/ballast"
		mount -o remount,size=64m "$WORK/fs" # room for all, or it dies again
		start_broker th-broker || fault_abort "broker restarts after freeing the filesystem"
		bg_wait fillpub
		RECOVERY=restart
		figures="$figures $(phase_figures fs "$WORK/fs.res")"
		stop_broker th-broker TERM
	fi
else
	figures="$figures fs=skipped(not root or no tmpfs)"
fi
fault_done "${figures# }"
