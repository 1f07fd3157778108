#!/usr/bin/env bash
# End to end: `make demo` on the sanitized binaries, its figures checked against values
# worked out by hand from scripts/demo/replies/, then admin commands on the state it left.
# The demo runs on three dates (COCO_TEST_NOW, honoured by the test builds only): a year
# before the example's dates, inside them, and ten years after. The story and its figures
# must not depend on the date.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$(dirname "$COCOD")

check_demo() { # check_demo LABEL UNIXSECONDS
demo=$T/demo-$1
echo "== demo on $1 ($(date -u -d "@$2" '+%Y-%m-%d %H:%M UTC'))"
COCO_TEST_NOW=$2 COCO_BIN=$bin COCO_DEMO_DIR=$demo bash scripts/demo.sh >"$T/out" 2>&1 ||
	{ cat "$T/out"; fail "demo failed on $1"; }
out=$(cat "$T/out")
state=$demo/state
kick=$state/campaigns/onboarding/digests/kickoff-once.md
ideas=$state/campaigns/onboarding/digests/ideas-once.md

expect_match "$out" "invitations in the outbox: 12 "
# The sample invitation's subject is shown decoded, whole, as a mail client shows it.
expect_match "$out" "Subject: \[Acme × Northwind onboarding\] Kickoff: where are we starting from?"
if grep -q "=?utf-8?" <<<"$out"; then fail "the demo prints an encoded header"; fi
# Clarity: Acme 4,3,2 (median 3, mean 3.0), Northwind 5,4,5 (median 5, mean 4.7); all six
# 2,3,4,4,5,5 → median 4, mean 23/6 = 3.8; gap 3.0 - 14/3 = -1.7, past 1.0.
# NPS: Acme 9,7,6 (mean 7.3; 1 promoter, 1 detractor → 0), Northwind 10,8,9 (mean 9.0, 2
# promoters → +67); all six → median 8.5, mean 49/6 = 8.2, NPS (3 - 1)/6 → +33; gap -1.7,
# under NPS's 2.0. Role: Technical contact Grace, Jonas, Sofia, Lena; Acme 1 of 3 (33%),
# Northwind 3 of 3 → -67 points. Channels: Jonas and Lena gave none: withheld.
k=$(cat "$kick")
expect_match "$k" "Acme Logistics 3 of 3, Northwind Studio 3 of 3"
expect_match "$k" "median \*\*4\*\* · mean 3.8"
expect_match "$k" "median \*\*8.5\*\* · mean 8.2 · NPS \*\*+33\*\*"
expect_match "$k" "Technical contact ████ 4"
expect_match "$k" "Acme Logistics    ████████░░░░░░░░ 3.0  (3 answers, median 3)"
expect_match "$k" "Northwind Studio  ███████████████░ 4.7  (3 answers, median 5)"
expect_match "$k" "Gap (Acme Logistics − Northwind Studio): \*\*-1.7\*\*, Northwind Studio higher. ⚑"
expect_match "$k" "(3 answers, median 7, NPS 0)"
expect_match "$k" "(3 answers, median 9, NPS +67)"
expect_match "$k" "Gap (Acme Logistics − Northwind Studio): \*\*-1.7\*\*, Northwind Studio higher.\$"
expect_match "$k" "on “Technical contact”): \*\*-67 points\*\*"
expect_match "$k" "_Split by side withheld: Northwind Studio: 1 answer, fewer than 3._"
expect_match "$(sed -n '/Not heard from yet/,$p' "$ideas")" "Jonas Eklund"
[ -s "${kick%.md}.html" ] || fail "no HTML digest"
expect_match "$(cat "${kick%.md}.html")" "<h1 style="
# The HTML part is digest.html's: bars are table cells, nothing a mail client drops.
expect_match "$(cat "${kick%.md}.html")" 'bgcolor="#2b6cb0"'
if grep -qiE "<svg|<img|<script" "${kick%.md}.html"; then fail "the HTML digest has SVG, images or scripts"; fi
# Jonas's line 6 was not understood, and he was told.
expect_match "$out" "there is no question 6"
# Free text paragraphs became ideas; the same idea from two people is listed once.
expect_match "$(cat "$ideas")" "Keyboard shortcuts for every dispatcher action"
[ "$(grep -c "A live map of every truck" "$ideas")" -eq 1 ] || fail "duplicate idea listed twice"
# Quotes and signatures were trimmed before anything was recorded: they are only in the
# answers' "trimmed" field (what was cut, for the admin), never in an answer or an idea.
untrimmed=$(cat "$state"/campaigns/*/rounds/*/*/answers.jsonl |
	sed 's/"trimmed":"\([^"\\]\|\\.\)*"//g')
if grep -rq -e "Dispatch lead" -e "Sent from my iPhone" -e "wrote:" "$state/campaigns" \
	--exclude=answers.jsonl || grep -q -e "Dispatch lead" -e "Sent from my iPhone" -e "wrote:" \
	<<<"$untrimmed"; then
	fail "quoted text or a signature reached the store"
fi
# (grep on the files, not `cat | grep -q`: under pipefail, cat killed by SIGPIPE when grep
# stops at its first match would fail the check on a fast machine.)
grep -q '"trimmed":"' "$state"/campaigns/*/rounds/*/*/answers.jsonl ||
	fail "what was trimmed off the replies is not kept beside the answers"
rows=$(($(wc -l <"$demo/export.csv") - 1))
[ "$rows" -eq 36 ] || fail "export has $rows rows, expected 36"
# The campaign was moved to start 7 to 13 days after the demo's "now".
kick_open=$(sed -n '/^\[Round "kickoff"\]/,/^\[/s/^Open=//p' "$demo/etc/campaigns.d/onboarding.conf")
ahead=$(($(TZ=Europe/Helsinki date -d "$kick_open" +%s) - $2))
[ $ahead -ge $((7 * 86400)) ] && [ $ahead -lt $((14 * 86400)) ] ||
	fail "the kickoff opens $ahead s after now, not 7 to 13 days"
}

check_demo before "$(date -d '2025-11-15 10:00 UTC' +%s)"
check_demo during "$(date -d '2026-12-03 12:00 UTC' +%s)"
check_demo after "$(date -d '2036-12-01 08:30 UTC' +%s)"

# The state survives a restart; admin commands work on it.
sock=$T/control.sock
export CREDENTIALS_DIRECTORY=$demo/secrets COCO_TEMPLATE_DIR=$PWD/templates
COCO_TEST_NOW=$(date -d '2036-12-01 09:00 UTC' +%s) \
	"$COCOD" --config "$demo/etc" --state "$state" --socket "$sock" 2>"$T/cocod.log" &
PIDS+=($!)
wait_for 10 test -S "$sock" || fail "cocod did not start: $(cat "$T/cocod.log")"
ctl() { "$COCOCTL" --socket "$sock" "$@"; }
expect_match "$(ctl rounds onboarding)" "onboarding/kickoff *survey *digested"
pulse_open=$(sed -n '/^\[Round "pulse"\]/,/^\[/s/^Open=//p' "$demo/etc/campaigns.d/onboarding.conf")
expect_match "$(ctl rounds onboarding)" "onboarding/pulse *survey *scheduled *${pulse_open% *}"
set +e
err=$(ctl open onboarding/nosuch 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || fail "open of an unknown round exited $rc"
expect_match "$err" 'no round "onboarding/nosuch"'
err=$(ctl remind onboarding/kickoff 2>&1 || true)
expect_match "$err" "only open rounds have reminders"
# A periodic digest now covers the two rounds closed since the start, and says so; right
# after, it has nothing new to say, sends nothing and says that.
expect_match "$(ctl digest onboarding 2>&1 >/dev/null)" "digest of 2 rounds queued for its recipients"
expect_match "$(ctl digest onboarding 2>&1)" "nothing new since the last digest: nothing sent"
# With a round open, it sends its progress: one round.
ctl open onboarding/pulse >/dev/null
expect_match "$(ctl digest onboarding 2>&1 >/dev/null)" "digest of 1 round queued for its recipients"
err=$(ctl forget nobody 2>&1 || true)
expect_match "$err" 'no member "nobody"'
# Aino answered the kickoff and the idea prompt: two records erased everywhere.
out=$(ctl forget aino)
expect_match "$out" "forgot aino: erased 2 answer records, "
expect_match "$out" " mail files of the local channel;"
# The local channel reaches every copy it made: nothing said left elsewhere; and the admin
# is told that the configuration still names her (trial 6: she kept being invited).
grep -q "^not erased:" <<<"$out" && fail "the local channel left copies: $out"
expect_match "$out" 'still in the configuration: remove \[Member "aino"\]'
if grep -rq '"member":"aino"' "$state/campaigns"; then fail "aino's answers are still stored"; fi
# Every copy: digests, spool, outbox and inbox mail, rejected messages.
for word in "Aino" "Virtanen" "aino.virtanen@acme.example"; do
	if left=$(grep -rlF -e "$word" "$state"); then fail "\"$word\" is still in: $left"; fi
done
if grep -q '"aino"' "$state/audit.jsonl"; then fail "the audit log names aino"; fi
expect_match "$(cat "$state/audit.jsonl")" '"action":"forget"'
json=$(ctl export onboarding --format json)
expect_match "$json" '"member":	"mikko"'
if grep -q '"aino"' <<<"$json"; then fail "export still shows aino"; fi
kill "${PIDS[0]}"
wait "${PIDS[0]}" || fail "cocod did not stop cleanly"
PIDS=()
echo "t-demo: all checks passed"
