#!/usr/bin/env bash
# cococtl export --format csv, from the user's side: a spreadsheet gets one row per current
# answer, ISO 8601 times in the campaign's zone, question numbers and texts, sides; cells
# that a spreadsheet would run as formulas are neutralised; quoting is RFC 4180.
# Answers are stored records with fixed times (the store format is documented) plus one
# answer that arrives by mail through the running daemon.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cfg=$T/etc state=$T/state sock=$T/control.sock
mkdir -p "$cfg/campaigns.d" "$T/secrets"
cat >"$cfg/coco.conf" <<EOF
[Daemon]
StateDirectory=$state
ControlSocket=$sock
Connectors=local
[Mail]
From=coco@provider.example
EOF
cat >"$cfg/campaigns.d/ex.conf" <<'EOF'
[Campaign]
Title=Export test
TimeZone=Europe/Helsinki

[Member "ana"]
Side=client
Email=ana@client.example

[Member "bob"]
Side=provider
Email=bob@provider.example

[Round "s"]
Kind=survey
Open=2030-01-07 09:00
Close=2030-01-10 17:00

[Question "s/mood"]
Kind=scale
Text=How is it going?

[Question "s/note"]
Kind=text
Text=Anything to add, "honestly"?

[Question "s/link"]
Kind=text
Text=A link we should see

[Round "m"]
Kind=survey
Anonymous=yes
Open=2030-01-07 09:00
Close=2030-01-10 17:00

[Question "m/mood"]
Kind=scale
Text=How do you feel about it?
EOF
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
ans=$state/campaigns/ex/rounds/s/once
mkdir -p "$ans"
# ana answers mood 2 and a note with a comma, quotes and a line break; an hour later mood 4
# (superseding the 2); bob's note starts with "-" and holds "@", and he skips mood.
cat >"$ans/answers.jsonl" <<'EOF'
{"key":"seed:1","v":1,"at":1796630400,"member":"ana","side":"client","via":"email","answers":{"mood":"2","note":"Hello, \"world\"\nsecond line"}}
{"key":"seed:2","v":1,"at":1796634000,"member":"ana","side":"client","via":"email","answers":{"mood":"4"}}
{"key":"seed:3","v":1,"at":1796637600,"member":"bob","side":"provider","via":"email","answers":{"note":"-1 for the colour, @everyone"},"skips":["mood"]}
EOF

# The anonymous round "m": a pseudonym answers at 10:00:07, another one at 12:00:08 (the
# second one's pseudonym sorts first).
mkdir -p "$state/campaigns/ex/rounds/m/once"
cat >"$state/campaigns/ex/rounds/m/once/answers.jsonl" <<'EOF'
{"key":"seed:4","v":1,"at":1796630407,"pseudo":"zzzz1111","side":"client","via":"email","answers":{"mood":"2"}}
{"key":"seed:5","v":1,"at":1796637608,"pseudo":"aaaa2222","side":"provider","via":"email","answers":{"mood":"5"}}
EOF
export CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates
start_cocod "$sock" "$T/cocod.log" --config "$cfg" --state "$state"
ctl() { "$COCOCTL" --config "$cfg" "$@"; }

# ana answers her invitation with a formula, replying to its Reply-To address.
ctl open ex/s >/dev/null
inbox=$state/local/inbox outbox=$state/local/outbox
mkdir -p "$inbox/tmp" "$inbox/new"
wait_for 10 bash -c "grep -lq '^To:.*ana@client.example' '$outbox'/new/* 2>/dev/null" ||
	fail "no invitation reached ana"
inv=$(grep -l '^To:.*ana@client.example' "$outbox"/new/* | head -1)
reply_to=$(tr -d '\r' <"$inv" | sed -n 's/^Reply-To: *<\{0,1\}\([^>]*\)>\{0,1\}$/\1/p' | head -1)
[ -n "$reply_to" ] || fail "the invitation has no Reply-To"
printf 'From: ana@client.example\r\nTo: %s\r\nSubject: Re: survey\r\nMessage-ID: <t-export-1@client.example>\r\nDate: Mon, 07 Dec 2026 12:00:00 +0200\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n3: =HYPERLINK("http://evil.example/?x=1","click")\r\n' "$reply_to" >"$inbox/tmp/m1"
mv "$inbox/tmp/m1" "$inbox/new/m1"
ctl poll
wait_for 10 bash -c "[ \$(wc -l <'$ans/answers.jsonl') -ge 4 ]" ||
	fail "the mailed answer was not recorded: $(cat "$T/cocod.log")"

csv=$(ctl export ex --format csv)
printf '%s' "$csv" >"$T/export.csv"
# RFC 4180: CRLF line ends; the header names the columns.
[ "$(head -1 "$T/export.csv")" = $'campaign,round,occurrence,time,member,side,question_no,question,question_text,value,status\r' ] ||
	fail "unexpected header: $(head -1 "$T/export.csv" | od -c | head -3)"
expect_match "$csv" $'^ex,s,once,2026-12-07T11:00:00+02:00,ana,client,1,mood,How is it going?,4,current\r$'
# The note: quoted, inner quotes doubled, the line break kept inside the quotes; the
# question text with quotes is quoted too.
expect_match "$csv" $'^ex,s,once,2026-12-07T10:00:00+02:00,ana,client,2,note,"Anything to add, ""honestly""?","Hello, ""world""$'
expect_match "$csv" $'^second line",current\r$'
# Formula injection: a leading - (and =) gets a single quote; the comma makes it quoted.
expect_match "$csv" $',bob,provider,2,note,"Anything to add, ""honestly""?","\'-1 for the colour, @everyone",current\r$'
expect_match "$csv" $',bob,provider,1,mood,How is it going?,(skipped),current\r$'
expect_match "$csv" $',ana,client,3,link,A link we should see,"\'=HYPERLINK(""http://evil.example/?x=1"",""click"")",current\r$'
if grep -q '^[^"]*,=' "$T/export.csv" || grep -q ',"=' "$T/export.csv"; then
	fail "a cell starts with = in: $csv"
fi
# Superseded answers are absent without --history ...
if grep -q ',mood,How is it going?,2,' <<<"$csv"; then fail "superseded answer exported: $csv"; fi
[ "$(grep -v '^ex,m,' <<<"$csv" | grep -c ',current')" -eq 5 ] || fail "expected 5 current rows in: $csv"
# An anonymous round's rows (trial 6: the second each answer came, next to the mail server's
# log, said whose it was): the day only, in the pseudonyms' order, not the order they came.
expect_match "$csv" $'^ex,m,once,2026-12-07,anon-aaaa2222,provider,1,mood,How do you feel about it?,5,current\r$'
expect_match "$csv" $'^ex,m,once,2026-12-07,anon-zzzz1111,client,1,mood,How do you feel about it?,2,current\r$'
[ "$(grep '^ex,m,' <<<"$csv" | cut -d, -f5 | tr '\n' ' ')" = "anon-aaaa2222 anon-zzzz1111 " ] ||
	fail "the anonymous round's rows follow their arrival: $csv"
if grep -q '^ex,m,once,[^,]*T' <<<"$csv"; then fail "an anonymous answer's time: $csv"; fi
ctl export ex --format json >"$T/export.json"
python3 - "$T/export.json" <<'EOF' || fail "the JSON export of the anonymous round: $(cat "$T/export.json")"
import json, sys
recs = [r for r in json.load(open(sys.argv[1])) if r["round"] == "m"]
assert [r["pseudo"] for r in recs] == ["aaaa2222", "zzzz1111"], recs
assert all("at" not in r and r["date"] == "2026-12-07" for r in recs), recs
EOF
# ... and marked with it; --history may come before the campaign, global options after.
hist=$("$COCOCTL" export --history ex --format csv --config "$cfg")
expect_match "$hist" $'^ex,s,once,2026-12-07T10:00:00+02:00,ana,client,1,mood,How is it going?,2,superseded\r$'
expect_match "$hist" $',mood,How is it going?,4,current\r$'
# A spreadsheet reads it back as it was meant: the columns line up.
python3 - "$T/export.csv" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline=''), strict=True))
assert all(len(r) == 11 for r in rows), rows
note = [r for r in rows if r[4] == 'ana' and r[7] == 'note'][0]
assert note[9] == 'Hello, "world"\nsecond line', note
link = [r for r in rows if r[7] == 'link'][0]
assert link[9] == '\'=HYPERLINK("http://evil.example/?x=1","click")', link
EOF
set +e
"$COCOCTL" --config "$cfg" export ex --format xml >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "export --format xml exited $rc, expected 2"

kill "$PID"
wait "$PID" || fail "cocod did not stop cleanly"
PIDS=()
echo "t-export: all checks passed"
