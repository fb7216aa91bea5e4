#!/usr/bin/env bash
# The national committee against a real broker: a known sample set (alerts
# from three agencies over six weeks, updates, cancels, ACKs with known
# delays, bulletins) gives exactly the aggregates computed here,
# independently, from the sample set itself; report.html holds them; and a
# committee killed with SIGKILL in the middle of a stream comes back with
# every figure still exact.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$BIN/blonet-committee" ]; then
	echo "$T_NAME: SKIPPED: $BIN/blonet-committee is not built"
	finish
fi

provision "$SRC/tests/integration/topology_console.json" || { fail provision; finish; }
start_broker th-broker || { fail "broker starts"; finish; }

CONF="$WORK/d/th-committee/config.json"
REPORTS="$WORK/reports"
# Monday 2026-11-02 00:00 UTC, noon; six weeks from there.
BASE=$((1793577600000 + 43200000))
WEEK=604800000
PUBS=(th-customs-maesai th-narcotics-maesai th-immigration-chiangkhong)

start_committee() {
	"$BIN/blonet-committee" -c "$CONF" --report-dir "$REPORTS" 2>>"$WORK/committee.log" &
	PIDS[committee]=$!
	for _ in $(seq 1 50); do
		[ "$(count_lines "$WORK/committee.log" '"committee.started"')" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# gen PREFIX N: alert files $WORK/PREFIX.{0,1,2}.jsonl (one per agency) and
# the sample's facts, one line per alert, in $WORK/PREFIX.tsv:
# key pub line agency site category from to wk hascomm kind name unit qty_milli sent_ms
gen() {
	awk -v p="$1" -v n="$2" -v base="$BASE" -v week="$WEEK" -v dir="$WORK" 'BEGIN {
		OFS = "\t"
		split("CUSTOMS NARCOTICS_POLICE IMMIGRATION", agency, " ")
		split("TH-MAESAI TH-MAESAI TH-CHIANGKHONG", site, " ")
		split("DRUGS WILDLIFE TRAFFICKING_IN_PERSONS PRECURSORS TIMBER", cat, " ")
		split("DRUG WILDLIFE_PRODUCT - PRECURSOR TIMBER_PRODUCT", kind, " ")
		split("TABLET KILOGRAM - KILOGRAM CUBIC_METRE", unit, " ")
		name[1] = "Methamphetamine  Tablets"; key[1] = "methamphetamine tablets"
		name[2] = "pangolin scales \\u0e40\\u0e01\\u0e25\\u0e47\\u0e14"; key[2] = "pangolin scales \xe0\xb9\x80\xe0\xb8\x81\xe0\xb8\xa5\xe0\xb9\x87\xe0\xb8\x94"
		name[4] = "ephedrine"; key[4] = "ephedrine"
		name[5] = "Siamese Rosewood"; key[5] = "siamese rosewood"
		split("MM LA TH KH", from, " "); split("TH TH LA TH", to, " ")
		for (i = 1; i <= n; i++) {
			a = i % 3; c = i % 5 + 1; r = i % 4 + 1; wk = i % 6
			observed = base + wk * week + (i % 7) * 3600000
			sent = observed + 600000
			comm = (c != 3 && i % 4 != 1)
			q = (i % 10) * 1000 + 250
			line[a]++
			f = dir "/" p "." a ".jsonl"
			printf "{\"type\":\"ALERT\",\"status\":\"EXERCISE\",\"source_ref\":\"%s-%d\",\"observed_ms\":%.0f,\"sent_ms\":%.0f,\"assessment\":{\"category\":\"%s\",\"severity\":\"SEVERE\"},\"handling\":{\"tlp\":\"TLP_AMBER\"},\"location\":{\"site\":\"%s\",\"route\":{\"from_country\":\"%s\",\"to_country\":\"%s\"}},\"headline\":\"sample %s-%d\"", p, i, observed, sent, cat[c], site[a + 1], from[r], to[r], p, i >f
			if (comm)
				printf ",\"commodities\":[{\"kind\":\"%s\",\"name\":\"%s\",\"quantity\":%d.%03d,\"unit\":\"%s\"}]", kind[c], name[c], int(q / 1000), q % 1000, unit[c] >f
			printf "}\n" >f
			print p "-" i, a, line[a], agency[a + 1], site[a + 1], cat[c], from[r], to[r], wk, comm, \
				(comm ? kind[c] : "-"), (comm ? key[c] : "-"), (comm ? unit[c] : "-"), (comm ? q : 0), sprintf("%.0f", sent) >(dir "/" p ".tsv")
		}
	}'
}

# publish PREFIX: each agency publishes its file; ids.tsv maps key -> id.
publish() {
	local a ok=0
	for a in 0 1 2; do
		pub "${PUBS[$a]}" "$WORK/$1.$a.jsonl" >"$WORK/$1.$a.res" 2>>"$WORK/pub.log" || ok=1
		sed -n "s/^{\"line\":\([0-9]*\),\"id\":\"\([0-9a-f]*\)\".*/$a\t\1\t\2/p" "$WORK/$1.$a.res"
	done >"$WORK/$1.ids"
	awk -F'\t' 'NR == FNR { id[$1 "\t" $2] = $3; next } { print $1 "\t" id[$2 "\t" $3] }' \
		"$WORK/$1.ids" "$WORK/$1.tsv" >>"$WORK/ids.tsv"
	return $ok
}

id_of() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$WORK/ids.tsv"; }
sent_of() { awk -F'\t' -v k="$1" '$1 == k { print $15 }' "$WORK/facts.tsv"; }

# report_value TABLE KEY...: the CSV row of the committee's offline report.
offline_report() { "$BIN/blonet-committee" -c "$CONF" --report --report-dir "$1" 2>/dev/null; }
total_in() { tr -d '\r' <"$1/totals.csv" | awk -F, -v k="$2" '$1 == k { print $2 }'; }

check "the committee starts" start_committee 1

# 1. The first half of the sample, then updates, cancels, replies, bulletins.
gen s1 240
check "240 alerts accepted" publish s1
cp "$WORK/s1.tsv" "$WORK/facts.tsv"

# Two customs alerts are corrected: counterfeit handbags, not what was said.
: >"$WORK/upd.jsonl"
for k in s1-3 s1-6; do
	printf '{"type":"UPDATE","status":"EXERCISE","references":["%s"],"observed_ms":%s,"sent_ms":%s,"assessment":{"category":"COUNTERFEIT","severity":"SEVERE"},"handling":{"tlp":"TLP_AMBER"},"location":{"site":"TH-MAESAI","route":{"from_country":"%s","to_country":"%s"}},"headline":"corrected","commodities":[{"kind":"COUNTERFEIT_GOODS","name":"fake handbags","quantity":40,"unit":"PIECE"}]}\n' \
		"$(id_of $k)" "$(awk -F'\t' -v k=$k '$1 == k { printf "%.0f\n", $15 - 600000 }' "$WORK/facts.tsv")" \
		"$(($(sent_of $k) + 1000))" \
		"$(awk -F'\t' -v k=$k '$1 == k { print $7 }' "$WORK/facts.tsv")" \
		"$(awk -F'\t' -v k=$k '$1 == k { print $8 }' "$WORK/facts.tsv")" >>"$WORK/upd.jsonl"
	awk -F'\t' -v k=$k 'BEGIN { OFS = "\t" } $1 == k { $6 = "COUNTERFEIT"; $10 = 1; $11 = "COUNTERFEIT_GOODS"; $12 = "fake handbags"; $13 = "PIECE"; $14 = 40000 } { print }' \
		"$WORK/facts.tsv" >"$WORK/facts.tmp" && mv "$WORK/facts.tmp" "$WORK/facts.tsv"
done
check "the originator's updates are accepted" pub th-customs-maesai "$WORK/upd.jsonl" >"$WORK/upd.res" 2>&1
# Three narcotics alerts are withdrawn.
: >"$WORK/cancel.jsonl"
for k in s1-1 s1-4 s1-7; do
	printf '{"type":"CANCEL","status":"EXERCISE","references":["%s"],"handling":{"tlp":"TLP_AMBER"}}\n' "$(id_of $k)" >>"$WORK/cancel.jsonl"
	awk -F'\t' -v k=$k '$1 != k' "$WORK/facts.tsv" >"$WORK/facts.tmp" && mv "$WORK/facts.tmp" "$WORK/facts.tsv"
done
check "the originator's cancels are accepted" pub th-narcotics-maesai "$WORK/cancel.jsonl" >"$WORK/cancel.res" 2>&1

# Chiang Khong acknowledges 20 Mae Sai alerts after 37 s, 74 s, ...; Mae
# Sai acknowledges 10 Chiang Khong alerts after 53 s, 106 s, ...; five of
# the first are acknowledged a second time (ACTING, an hour later), which is
# no new sample, whichever the broker stores first.
: >"$WORK/ack_ck.jsonl"
: >"$WORK/ack_ms.jsonl"
: >"$WORK/lat_ck"
: >"$WORK/lat_ms"
j=0
for k in $(awk -F'\t' '$5 == "TH-MAESAI" { print $1 }' "$WORK/facts.tsv" | head -n 20); do
	j=$((j + 1))
	printf '{"type":"ACK","status":"EXERCISE","references":["%s"],"sent_ms":%s,"ack_status":"RECEIVED","handling":{"tlp":"TLP_AMBER"}}\n' \
		"$(id_of "$k")" "$(($(sent_of "$k") + j * 37000))" >>"$WORK/ack_ck.jsonl"
	echo $((j * 37000)) >>"$WORK/lat_ck"
	[ $j -le 5 ] && printf '{"type":"ACK","status":"EXERCISE","references":["%s"],"sent_ms":%s,"ack_status":"ACTING","handling":{"tlp":"TLP_AMBER"}}\n' \
		"$(id_of "$k")" "$(($(sent_of "$k") + 3600000))" >>"$WORK/ack_ck.jsonl"
done
j=0
for k in $(awk -F'\t' '$5 == "TH-CHIANGKHONG" { print $1 }' "$WORK/facts.tsv" | head -n 10); do
	j=$((j + 1))
	printf '{"type":"ACK","status":"EXERCISE","references":["%s"],"sent_ms":%s,"ack_status":"RECEIVED","handling":{"tlp":"TLP_AMBER"}}\n' \
		"$(id_of "$k")" "$(($(sent_of "$k") + j * 53000))" >>"$WORK/ack_ms.jsonl"
	echo $((j * 53000)) >>"$WORK/lat_ms"
done
check "25 ACKs from Chiang Khong accepted" pub th-console-chiangkhong "$WORK/ack_ck.jsonl" >"$WORK/ack_ck.res" 2>&1
check "10 ACKs from Mae Sai accepted" pub th-console-maesai "$WORK/ack_ms.jsonl" >"$WORK/ack_ms.res" 2>&1
cat >"$WORK/bulletins.jsonl" <<'EOF'
{"type":"BULLETIN","status":"EXERCISE","assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_AMBER"},"headline":"Fuel tanks","modus_operandi":"Tablets in a false fuel tank"}
{"type":"BULLETIN","status":"EXERCISE","assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_AMBER"},"headline":"Again","modus_operandi":"tablets in a  FALSE fuel tank"}
{"type":"BULLETIN","status":"EXERCISE","assessment":{"category":"WILDLIFE"},"handling":{"tlp":"TLP_AMBER"},"headline":"Durian","modus_operandi":"scales under a load of durian"}
{"type":"RFI","status":"EXERCISE","assessment":{"category":"DRUGS"},"handling":{"tlp":"TLP_AMBER"},"headline":"Who owns the pickup?"}
EOF
check "bulletins and an RFI accepted" pub th-console-maesai "$WORK/bulletins.jsonl" >"$WORK/bulletins.res" 2>&1
FIRST_HALF=$((240 + 2 + 3 + 25 + 10 + 4))

# 2. The second half, twelve chunks of 30 alerts from the three agencies,
# with the committee killed (SIGKILL) once it has taken in part of them and
# while the rest is still being published; then restarted.
CHUNKS="s2a s2b s2c s2d s2e s2f s2g s2h s2i s2j s2k s2l"
for c in $CHUNKS; do gen $c 30; done
(
	for c in $CHUNKS; do publish $c || exit 1; sleep 0.2; done
) &
PUBLISHING=$!
killed_at=""
for _ in $(seq 1 300); do
	offline_report "$WORK/probe" && n=$(total_in "$WORK/probe" messages) &&
		[ -n "$n" ] && [ "$n" -gt $((FIRST_HALF + 20)) ] && { killed_at=$n; break; }
	sleep 0.05
done
still_publishing=no
kill -0 $PUBLISHING 2>/dev/null && still_publishing=yes
kill -KILL "${PIDS[committee]}"
wait "${PIDS[committee]}" 2>/dev/null
unset "PIDS[committee]"
echo "$T_NAME: committee killed after $killed_at of $((FIRST_HALF + 360)) messages (publishing: $still_publishing)"
mid_stream() { [ -n "$killed_at" ] && [ "$killed_at" -lt $((FIRST_HALF + 360)) ] && [ $still_publishing = yes ]; }
check "the committee was killed in the middle of the stream" mid_stream
check "the committee restarts" start_committee 2
wait $PUBLISHING
check "the second half (360 alerts) was accepted" \
	[ "$(cat "$WORK"/s2?.?.res | grep -c '"status":"accepted"')" = 360 ]
for c in $CHUNKS; do cat "$WORK/$c.tsv" >>"$WORK/facts.tsv"; done
TOTAL=$((FIRST_HALF + 360))
for _ in $(seq 1 300); do
	offline_report "$WORK/probe" && [ "$(total_in "$WORK/probe" messages)" = "$TOTAL" ] && break
	sleep 0.1
done
check "every message was taken in exactly once" [ "$(total_in "$WORK/probe" messages)" = "$TOTAL" ]

# 3. The report, asked for with SIGUSR1, against figures computed here.
before=$(count_lines "$WORK/committee.log" '"committee.report"')
kill -USR1 "${PIDS[committee]}"
for _ in $(seq 1 100); do
	[ "$(count_lines "$WORK/committee.log" '"committee.report"')" -gt "$before" ] && break
	sleep 0.1
done
check "SIGUSR1 writes the report" [ -s "$REPORTS/report.html" ]

F="$WORK/facts.tsv"
csv() { tail -n +2 "$REPORTS/$1.csv" | tr -d '\r' | sort; }
expect() { sort >"$WORK/expect.$1"; csv "$1" >"$WORK/got.$1"; diff "$WORK/expect.$1" "$WORK/got.$1"; }
milli() { awk -F, -v OFS=, '{ m = $NF; $NF = ""; f = sprintf("%03d", m % 1000); sub(/0+$/, "", f); printf "%s%d%s\n", $0, int(m / 1000), f == "" ? "" : "." f }'; }
WEEKS=()
for w in 0 1 2 3 4 5; do WEEKS[$w]=$(date -u -d "@$(((BASE + w * WEEK) / 1000))" +%G-W%V); done
ALERTS=$(wc -l <"$F")
SEIZURES=$(awk -F'\t' '$10 == 1' "$F" | wc -l)

check "alerts counted: $ALERTS (cancelled ones out)" [ "$(total_in "$REPORTS" alerts)" = "$ALERTS" ]
check "seizures counted: $SEIZURES" [ "$(total_in "$REPORTS" seizures)" = "$SEIZURES" ]
check "2 updated, 3 cancelled" [ "$(total_in "$REPORTS" updated)" = 2 -a "$(total_in "$REPORTS" cancelled)" = 3 ]
check "alerts and seizures by category" expect categories \
	< <(awk -F'\t' '{ n[$6]++; s[$6] += $10 } END { for (c in n) print c "," n[c] "," s[c] }' "$F")
check "alerts and seizures by crossing" expect crossings \
	< <(awk -F'\t' '{ n[$5]++; s[$5] += $10 } END { for (c in n) print c "," n[c] "," s[c] }' "$F")
check "alerts by route" expect routes \
	< <(awk -F'\t' '{ n[$7 "," $8]++ } END { for (r in n) print r "," n[r] }' "$F")
check "alerts by origin agency" expect agencies \
	< <(awk -F'\t' '{ n["TH," $4]++ } END { for (a in n) print a "," n[a] }' "$F")
check "alerts by ISO week" expect weeks \
	< <(awk -F'\t' -v w="${WEEKS[*]}" 'BEGIN { split(w, wk, " ") } { n[wk[$9 + 1]]++ } END { for (k in n) print k "," n[k] }' "$F")
check "alerts by week and category" expect week_categories \
	< <(awk -F'\t' -v w="${WEEKS[*]}" 'BEGIN { split(w, wk, " ") } { n[wk[$9 + 1] "," $6]++ } END { for (k in n) print k "," n[k] }' "$F")
check "commodity lines and exact quantities" expect commodities \
	< <(awk -F'\t' '$10 == 1 { n[$11 "," $12 "," $13]++; q[$11 "," $12 "," $13] += $14 } END { for (k in n) print k "," n[k] "," q[k] }' "$F" | milli)
check "quantities by category and unit" expect category_units \
	< <(awk -F'\t' '$10 == 1 { n[$6 "," $13]++; q[$6 "," $13] += $14 } END { for (k in n) print k "," n[k] "," q[k] }' "$F" | milli)

# Nearest rank: the ceil(p/100 * n)-th smallest.
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { m = int((50 * NR + 99) / 100); p = int((90 * NR + 99) / 100); print NR "," v[m] "," v[p] "," v[1] "," v[NR] }'; }
check "ACK times Mae Sai -> Chiang Khong: count, median, p90, min, max" expect reply_times \
	< <(echo "ACK,TH-MAESAI,TH-CHIANGKHONG,$(stats "$WORK/lat_ck")"; echo "ACK,TH-CHIANGKHONG,TH-MAESAI,$(stats "$WORK/lat_ms")")
check "messages by type" expect types \
	< <(printf 'ALERT,600\nUPDATE,2\nCANCEL,3\nACK,35\nBULLETIN,3\nRFI,1\n')
# The two fuel-tank bulletins differ only in case and spacing: one entry.
check "two modus operandi, one seen twice" \
	[ "$(csv modus_operandi | wc -l)" = 2 -a "$(csv modus_operandi | grep -ic '^[0-9]*,[0-9]*,2,DRUGS,TH,TH-MAESAI,th-console-maesai,[^,]*,tablets in a  *false fuel tank$')" = 1 ]

# report.html holds the same figures, and needs no network.
H="$REPORTS/report.html"
html_ok=0
while IFS=, read -r c n s; do
	grep -q "data-key=\"$c\"><td>$c</td><td class=\"n\">$n</td><td class=\"n\">$s</td>" "$H" || html_ok=1
done <"$WORK/expect.categories"
check "report.html has every category's alerts and seizures" [ $html_ok = 0 ]
html_ok=0
while IFS=, read -r c n s; do
	grep -q "data-key=\"$c\"><td>$c</td><td class=\"n\">$n</td><td class=\"n\">$s</td>" "$H" || html_ok=1
done <"$WORK/expect.crossings"
check "report.html has the seizures by crossing" [ $html_ok = 0 ]
check "report.html has the alert total" grep -q "data-total=\"alerts\">$ALERTS<" "$H"
check "report.html has the ACK times" \
	grep -q "data-key=\"ACK|TH-MAESAI|TH-CHIANGKHONG\" data-median-ms=\"$(stats "$WORK/lat_ck" | cut -d, -f2)\" data-p90-ms=\"$(stats "$WORK/lat_ck" | cut -d, -f3)\"" "$H"
check "report.html has its four charts inline" [ "$(grep -c '<svg ' "$H")" = 4 ]
check "report.html loads nothing from elsewhere" bash -c "! grep -Eq '<script|<link|src=|url\\(|@import' '$H'"
check "report.json has the totals" grep -q "\"alerts\":	$ALERTS," "$REPORTS/report.json"

# 4. Restart again: the figures stay as they are (nothing recomputed, nothing
# counted twice), and re-publishing changes nothing.
stop_broker th-broker TERM >/dev/null
kill -TERM "${PIDS[committee]}"
wait "${PIDS[committee]}" 2>/dev/null
unset "PIDS[committee]"
offline_report "$WORK/after"
check "after a clean stop the report is the same" diff <(csv categories) <(tail -n +2 "$WORK/after/categories.csv" | tr -d '\r' | sort)
check "the offline report needs no broker" [ "$(total_in "$WORK/after" alerts)" = "$ALERTS" ]
finish
