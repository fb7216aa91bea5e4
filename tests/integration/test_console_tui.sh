#!/usr/bin/env bash
# The console's full screen, driven in tmux (send-keys, capture-pane): an
# alert appears, filtering by category hides the others, opening it shows
# its detail, acknowledging marks it acked (and the ACK reaches the
# originating agency's BLO). Skips, saying why, without tmux or without a
# full-screen build.
. "$(dirname "$0")/lib.sh"

if ! command -v tmux >/dev/null 2>&1; then
	echo "$T_NAME: SKIPPED: tmux is not installed (apt-get install tmux)"
	finish
fi
if [ ! -x "$BIN/blonet-console" ]; then
	echo "$T_NAME: SKIPPED: $BIN/blonet-console is not built"
	finish
fi
if ! "$BIN/blonet-console" --help | grep -q 'Full screen: built in'; then
	echo "$T_NAME: SKIPPED: $BIN/blonet-console was built without ncursesw (no full screen)"
	finish
fi

# A tmux server of our own, on its own socket, gone at the end.
SOCK="blonet-test-$$"
TMUX_CMD=(tmux -L "$SOCK" -f /dev/null)
trap '"${TMUX_CMD[@]}" kill-server >/dev/null 2>&1; cleanup' EXIT

provision "$SRC/tests/integration/topology_console.json" || { fail provision; finish; }
start_broker th-broker || { fail "broker starts"; finish; }

cat >"$WORK/alerts.jsonl" <<'EOF'
{"type":"ALERT","status":"EXERCISE","source_ref":"tui-1","assessment":{"category":"DRUGS","severity":"SEVERE"},"handling":{"tlp":"TLP_AMBER"},"location":{"site":"TH-MAESAI"},"headline":"Yaba in a fuel tank \u0e22\u0e32\u0e1a\u0e49\u0e32","description":"200,000 tablets behind a false panel","commodities":[{"kind":"DRUG","name":"methamphetamine tablets","quantity":200000,"unit":"TABLET","concealment":"fuel tank"}]}
{"type":"ALERT","status":"EXERCISE","source_ref":"tui-2","assessment":{"category":"WILDLIFE","severity":"MODERATE"},"handling":{"tlp":"TLP_GREEN"},"location":{"site":"TH-MAESAI"},"headline":"Pangolin scales \u7a7f\u5c71\u7532"}
EOF
check "two alerts published" pub th-customs-maesai "$WORK/alerts.jsonl" >"$WORK/pub.out" 2>&1

screen() { "${TMUX_CMD[@]}" capture-pane -p -t console 2>/dev/null; }
# on_screen PATTERN [SECONDS]: waits until the screen shows PATTERN.
on_screen() {
	local i
	for i in $(seq 1 $((${2:-10} * 10))); do
		screen | grep -q -- "$1" && return 0
		sleep 0.1
	done
	screen >"$WORK/screen-at-failure.txt"
	return 1
}
# not_listed PATTERN: the list (not the status and key lines) lacks it.
not_listed() { ! screen | head -n -2 | grep -q -- "$1"; }
keys() { "${TMUX_CMD[@]}" send-keys -t console "$@"; sleep 0.3; }

"${TMUX_CMD[@]}" new-session -d -s console -x 150 -y 40 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 '$BIN/blonet-console' -c '$WORK/d/th-console-chiangkhong/config.json' 2>'$WORK/tui.err'"

check "the console comes up with its keys listed" on_screen 'Enter open  a ack'
check "the link to the broker is up" on_screen 'broker th-broker: LINK UP'
check "the drugs alert appears" on_screen 'Yaba in a fuel tank'
check "the wildlife alert appears" on_screen 'Pangolin scales'
check "both are marked unread" [ "$(screen | grep -c '^\*')" = 2 ]
THAI=$'\xe0\xb8\xa2\xe0\xb8\xb2\xe0\xb8\x9a\xe0\xb9\x89\xe0\xb8\xb2'
CHINESE=$'\xe7\xa9\xbf\xe5\xb1\xb1\xe7\x94\xb2'
check "the Thai headline is drawn" on_screen "$THAI"
check "the Chinese headline is drawn" on_screen "$CHINESE"

# Filter by category: c opens the menu, 1 is DRUGS.
keys c
check "the category menu lists the categories with counts" on_screen 'DRUGS (1)'
keys 1
check "the filter says DRUGS" on_screen 'Filter: category DRUGS'
check "the drugs alert is still shown" on_screen 'Yaba in a fuel tank'
check "the wildlife alert is hidden" not_listed 'Pangolin scales'

# Open it.
keys Enter
check "opening it shows its detail" on_screen 'Commodities (1):'
check "with the marking and what it allows" on_screen 'TLP:AMBER  share on a need-to-know basis'
check "with its origin" on_screen 'From: th-customs-maesai, CUSTOMS'
check "with its signature verified" on_screen 'Signature: verified, signed by th-customs-maesai'
check "with the commodity and quantity" on_screen 'methamphetamine tablets, 200000 TABLET'

# Acknowledge it as acting.
keys A
check "acknowledging marks it acked once the broker has it" \
	on_screen 'This console: acknowledged ACTING \[accepted\]'
keys Escape
check "back in the list the alert shows ACKED ACTING" on_screen 'ACKED ACTING'
check "and it is no longer unread" [ "$(screen | grep -c '^\*')" = 0 ]
keys f
check "clearing the filter shows the wildlife alert again" on_screen 'Pangolin scales'

keys q
for _ in $(seq 1 30); do "${TMUX_CMD[@]}" has-session -t console 2>/dev/null || break; sleep 0.1; done
check "q quits" bash -c "! '${TMUX_CMD[*]}' has-session -t console 2>/dev/null"
check "nothing went to standard error" [ ! -s "$WORK/tui.err" ]

"$BIN/blonet-console" -c "$WORK/d/th-console-maesai/config.json" --json --timeout 2 </dev/null >"$WORK/maesai.out" 2>&1
DRUGS_ID=$(sed -n 's/^{"line":1,"id":"\([0-9a-f]*\)".*/\1/p' "$WORK/pub.out")
check "the ACK reached Mae Sai's console, for the drugs alert" \
	grep -q "\"type\":\"ACK\".*\"signer\":\"th-console-chiangkhong\".*\"in_reply_to\":{\"n\":[0-9]*,\"id\":\"$DRUGS_ID\"" "$WORK/maesai.out"
finish
