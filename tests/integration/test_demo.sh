#!/usr/bin/env bash
# The demo's default deployment (deploy/topologies/mekong-mini.json: TH, LA
# and MM brokers, three BLO pairs, three adapters and a console per BLO, a
# committee per country) run end to end by blonet-demo, and its account
# checked against what is recorded: the brokers' journals (read here with
# blonetctl, independently of the demo) and the committees' report.json.
. "$(dirname "$0")/lib.sh"

DEMO=$WORK/demo
ACCOUNT=$WORK/account.json
"$BIN/blonet-demo" --topology "$SRC/deploy/topologies/mekong-mini.json" \
	--rules-dir "$SRC/agents/formats" --dir "$DEMO" --records 6 --timeout 120 \
	--account "$ACCOUNT" >"$WORK/demo.out" 2>"$WORK/demo.err"
rc=$?
check "the demo runs end to end and exits 0" [ "$rc" = 0 ]
[ "$rc" = 0 ] || sed 's/^/  | /' "$WORK/demo.err" "$WORK/demo.out" | tail -40
for section in "1. Published by the agencies" "2. What each BLO received" \
	"3. What crossed borders" "4. Acknowledgements" "5. National committees" \
	"6. National brokers"; do
	check "the account has \"$section\"" grep -q "== $section" "$WORK/demo.out"
done
check "the account is written as JSON" jq -e . "$ACCOUNT" >/dev/null
check "everything settled" jq -e '.settled == true' "$ACCOUNT" >/dev/null

# Nothing the demo started is left running.
none_left() { ! pgrep -f -- "$DEMO/deploy/" >/dev/null; }
check "no process of the demo is left" none_left

# Each broker's journal, read here.
for b in th-broker la-broker mm-broker; do
	"$BIN/blonetctl" -c "$DEMO/deploy/$b/config.json" journal |
		jq -c 'select(.alert.type == "ALERT") | {id, site: .alert.origin.site,
			country: .alert.origin.country, tlp: .alert.handling.tlp,
			rel: (.alert.handling.releasable_to // [])}' >"$WORK/$b.alerts"
done
country_of() { case $1 in th-*) echo TH ;; la-*) echo LA ;; mm-*) echo MM ;; esac; }
ids() { jq -r "select(.country == \"$2\") | .id" "$WORK/$1.alerts" | sort -u; }

for b in th-broker la-broker mm-broker; do
	c=$(country_of "$b")
	published=$(jq "[.published.$c[].published] | add" "$ACCOUNT")
	stored=$(ids "$b" "$c" | wc -l)
	check "$c: alerts published ($published) = its broker's journal ($stored)" \
		[ "$published" = "$stored" -a "$stored" -gt 0 ]
	rejected=$(jq "[.published.$c[].rejected] | add" "$ACCOUNT")
	blos=$(jq "[.blos | keys[] | select(startswith(\"$c-\"))] | length" "$ACCOUNT")
	check "$c: one deliberately broken record per agency at each of its $blos BLOs rejected ($rejected)" \
		[ "$rejected" = $((3 * blos)) ]
	# Released to each other country = held by that country's broker.
	abroad=""
	for o in th-broker la-broker mm-broker; do
		[ "$o" = "$b" ] && continue
		oc=$(country_of "$o")
		held=$(comm -12 <(ids "$b" "$c") <(ids "$o" "$c") | wc -l)
		said=$(jq ".origins.$c.released_to.$oc" "$ACCOUNT")
		check "$c -> $oc: released $said = held by $o ($held)" [ "$said" = "$held" ]
		ids "$o" "$c" >>"$WORK/$c.abroad"
	done
	stayed=$(comm -23 <(ids "$b" "$c") <(sort -u "$WORK/$c.abroad") | wc -l)
	said=$(jq ".origins.$c.stayed" "$ACCOUNT")
	check "$c: stayed inside $said = in no other broker's journal ($stayed)" \
		[ "$said" = "$stayed" -a "$stayed" -gt 0 ]
	national=$(jq -r "select(.country == \"$c\" and .rel == [\"$c\"]) | .id" "$WORK/$b.alerts" | sort -u)
	check "$c: every alert releasable to $c only stayed in $c" \
		[ -z "$(comm -12 <(echo "$national") <(sort -u "$WORK/$c.abroad"))" ]
	check "$c: the national-only alerts are the account's ($(echo "$national" | grep -c .))" \
		[ "$(echo "$national" | grep -c .)" = "$(jq ".origins.$c.stayed_national" "$ACCOUNT")" ]
	check "$c: nothing marked national was held abroad" \
		[ "$(jq ".origins.$c.national_held_abroad" "$ACCOUNT")" = 0 ]
	check "$b: audit chain verifies" jq -e ".brokers[\"$b\"].audit_ok" "$ACCOUNT" >/dev/null
done

# Each BLO's console: its own agencies' alerts, and its counterpart's that
# its country's broker holds (both are addressed to the pair).
for site in TH-MAESAI MM-TACHILEIK TH-CHIANGKHONG LA-HOUAYXAI TH-CHIANGSAEN LA-TONPHEUNG; do
	c=${site%%-*}
	b=$(echo "$c" | tr 'A-Z' 'a-z')-broker
	own=$(jq -r "select(.site == \"$site\") | .id" "$WORK/$b.alerts" | sort -u | wc -l)
	said=$(jq ".blos[\"$site\"].from[\"$site\"] // 0" "$ACCOUNT")
	check "$site shows its own agencies' $own alerts ($said)" [ "$said" = "$own" ]
	cp=$(jq -r --arg s "$site" '.crossings[] | select(.site == $s) | .counterpart' \
		"$SRC/agents/formats/rules-$(echo "$c" | tr 'A-Z' 'a-z').json")
	theirs=$(jq -r "select(.site == \"$cp\") | .id" "$WORK/$b.alerts" | sort -u | wc -l)
	said=$(jq ".blos[\"$site\"].from[\"$cp\"] // 0" "$ACCOUNT")
	check "$site shows the $theirs alerts its broker holds from $cp ($said)" \
		[ "$said" = "$theirs" -a "$theirs" -gt 0 ]
done
check "every ACK the officers sent arrived" \
	jq -e '.acks.sent > 0 and .acks.received == .acks.sent' "$ACCOUNT" >/dev/null
check "each of the three BLO pairs asked one RFI and got its answer" \
	jq -e '.rfis.sent == 3 and .rfis.answered == 3' "$ACCOUNT" >/dev/null

# The committees' own reports agree with the account.
for m in th-committee la-committee mm-committee; do
	dir=$(jq -r ".committees[\"$m\"].report_dir" "$ACCOUNT")
	alerts=$(jq '.totals.alerts' "$dir/report.json" 2>/dev/null)
	check "$m: report.json counts $alerts alerts, as the account says" \
		[ -n "$alerts" -a "$alerts" = "$(jq ".committees[\"$m\"].alerts" "$ACCOUNT")" -a "${alerts:-0}" -gt 0 ]
	# A committee has no site: TLP:AMBER+STRICT alerts addressed to BLOs
	# (the immigration hits, which name persons) are not for it; every
	# other alert its country's broker holds is.
	b=${m%-committee}-broker
	entitled=$(jq -r 'select(.tlp != "TLP_AMBER_STRICT" and .tlp != "TLP_RED") | .id' \
		"$WORK/$b.alerts" | sort -u | wc -l)
	check "$m: it counted every alert of $b it is entitled to ($entitled)" [ "$alerts" = "$entitled" ]
	check "$m: report.html is there" [ -s "$dir/report.html" ]
	check "$m: the account names the report" grep -q "$dir/report.html" "$WORK/demo.out"
done
finish
