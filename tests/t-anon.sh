#!/usr/bin/env bash
# An anonymous round from the members' and the admin's side, on the local maildir channel:
#   - members answer by mail; cocod's log (run with --verbose, debug lines included) holds
#     none of the pseudonyms, and from the invitations on to the last confirmation no line
#     names a member (id, name or address): nothing pairs an answer with its writer;
#   - each member still gets a confirmation of their own answer;
#   - a digest asked for while the round is open (cococtl digest CAMPAIGN ROUND, and the
#     periodic digest) says the round is still open and until when, and shows only how many
#     answered in all: no figures, no quotes, no counts by side (successive digests would
#     tell which side each new answer came from);
#   - the web view of the open round shows the same progress, no counts by side;
#   - the digest of the close has the figures and the quotes, without names.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
unset NOTIFY_SOCKET WATCHDOG_USEC LISTEN_FDS LISTEN_PID LISTEN_FDNAMES
command -v curl >/dev/null || fail "curl is missing (scripts/deps.sh installs it)"

cfg=$T/etc state=$T/state sock=$T/control.sock
mkdir -p "$cfg/campaigns.d"
mkdir -m 0700 "$T/secrets"
write_conf() {
	cat >"$cfg/coco.conf" <<EOF
[Daemon]
StateDirectory=$state
ControlSocket=$sock
Connectors=local web
Listen=127.0.0.1:$PORT
[Mail]
From=coco@bluepeak.example
[Web]
BaseUrl=http://127.0.0.1:$PORT
[Secrets]
Directory=$T/secrets
EOF
}
cat >"$cfg/campaigns.d/retro.conf" <<'EOF'
[Campaign]
Title=Harbor retro
TimeZone=Europe/Berlin
Client=Harbor Foods
Provider=Bluepeak
MinGroupSize=2

[Member "clara"]
Name=Clara Schmidt
Side=client
Email=clara@harbor.example

[Member "karl"]
Name=Karl Weber
Side=client
Email=karl.weber@harbor.example

[Member "paula"]
Name=Paula Ortiz
Side=provider
Email=paula@bluepeak.example

[Member "peter"]
Name=Peter Nguyen
Side=provider
Email=peter@bluepeak.example

[Round "mood"]
Kind=survey
Title=Mood check
Anonymous=yes
Close=2030-01-10 17:00

[Question "mood/mood"]
Kind=scale
Text=How was the month?
Min=1
Max=5

[Question "mood/better"]
Kind=text
Text=What would make it better?
Required=no
EOF
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
log=$T/cocod.log
now=$(TZ=Europe/Berlin date -d '2030-01-07 09:00' +%s)
ctl() { COCO_TEST_NOW=$now "$COCOCTL" --config "$cfg" "$@"; }
COCO_TEMPLATE_DIR=$PWD/templates COCO_TEST_NOW=$now \
	start_cocod_on_free_port write_conf "$sock" "$log" --config "$cfg" --state "$state" --verbose

inbox=$state/local/inbox outbox=$state/local/outbox
mkdir -p "$inbox/tmp" "$inbox/new"
ctl open retro/mood >/dev/null
count_sent() { grep -c "spool: local/$1-.* sent" "$log" || true; }
wait_for 20 bash -c "[ \$(grep -c 'spool: local/prompt-.* sent' '$log' || true) -ge 4 ]" ||
	fail "the four invitations were not sent: $(cat "$log")"
# From here on the log is what is "near the answers".
mark=$(wc -l <"$log")

reply_to() { # the Reply-To of the invitation to $1
	local inv
	inv=$(grep -l "^To:.*$1" "$outbox"/new/* | head -1)
	tr -d '\r' <"$inv" | sed -n 's/^Reply-To: *<\{0,1\}\([^>]*\)>\{0,1\}$/\1/p' | head -1
}
mail_from() { # mail_from ADDRESS FILE BODY: a reply to the invitation, as an MDA delivers it
	# (its Message-ID on the writer's domain, as their mail client makes it: a log line that
	# shows it says whose the answer is)
	local to
	to=$(reply_to "$1")
	[ -n "$to" ] || fail "no invitation with a Reply-To reached $1"
	printf 'From: %s\r\nTo: %s\r\nSubject: Re: [Harbor retro] Mood check\r\nMessage-ID: <%s@%s>\r\nDate: Mon, 07 Jan 2030 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n' \
		"$1" "$to" "$2" "${1#*@}" "$3" >"$inbox/tmp/$2"
	mv "$inbox/tmp/$2" "$inbox/new/$2"
}
mail_from clara@harbor.example m1 $'1: 2\r\n2: the standups run far too long'
mail_from karl.weber@harbor.example m2 $'1: 4'
mail_from paula@bluepeak.example m3 $'1: 5\r\n2: more demos of the half-built things'
ctl poll
wait_for 30 bash -c "[ \$(grep -c 'spool: local/conf-.* sent' '$log' || true) -ge 3 ]" ||
	fail "three confirmations were not sent: $(cat "$log")"
# The same mail again (a replayed delivery): recorded once, confirmed once, logged without
# a name either.
cp "$inbox/cur/m1"* "$inbox/tmp/m1again"
mv "$inbox/tmp/m1again" "$inbox/new/m1again"
ctl poll
wait_for 20 grep -q 'already recorded' "$log" || fail "the replayed mail was not seen: $(cat "$log")"

ans=$state/campaigns/retro/rounds/mood/once/answers.jsonl
[ "$(wc -l <"$ans")" -eq 3 ] || fail "expected 3 answer records: $(cat "$ans")"
if grep -q '"member"' "$ans"; then fail "an anonymous answer names its member: $(cat "$ans")"; fi
mapfile -t pseudos < <(sed -n 's/.*"pseudo":"\([^"]*\)".*/\1/p' "$ans" | sort -u)
[ ${#pseudos[@]} -eq 3 ] || fail "expected 3 pseudonyms in $(cat "$ans")"

# Each member has the confirmation of their own words (a copy the site keeps: docs say so).
for who in clara@harbor.example paula@bluepeak.example; do
	grep -l "^To:.*$who" "$outbox"/new/* | xargs grep -l '^In-Reply-To:' >/dev/null ||
		fail "no confirmation reached $who"
done

# The log: no pseudonym anywhere; near the answers no member at all.
for p in "${pseudos[@]}"; do
	if grep -q "$p" "$log"; then fail "the log holds the pseudonym $p: $(grep "$p" "$log")"; fi
done
near=$(tail -n +"$((mark + 1))" "$log")
[ "$(grep -c 'answer recorded' <<<"$near")" -eq 3 ] || fail "expected 3 answers recorded in: $near"
for w in clara karl paula peter Clara Karl Paula Peter Schmidt Weber Ortiz Nguyen \
	harbor.example bluepeak.example/; do
	if grep -qi -- "$w" <<<"$near"; then
		fail "the log near anonymous answers names \"$w\": $(grep -i -- "$w" <<<"$near")"
	fi
done
# bluepeak.example is also coco's own domain: an address of a member there is what counts.
if grep -qE '(paula|peter)@' <<<"$near"; then fail "the log names a member's address: $near"; fi

# A digest while the round is open: progress only.
ctl digest retro mood >"$T/digest.out" 2>"$T/digest.err"
# cococtl says where it wrote the digest, in one line; the digest is in that file.
[ ! -s "$T/digest.out" ] || fail "cococtl digest printed the digest: $(cat "$T/digest.out")"
dpath=$(sed -n 's/.* was written to \(.*\) and queued for its recipients.*/\1/p' "$T/digest.err")
[ -f "$dpath" ] || fail "cococtl digest named no digest file: $(cat "$T/digest.err")"
out=$(cat "$dpath")
expect_match "$out" "still open until Thu 10 Jan 2030, 17:00 CET"
expect_match "$out" "3 of 4 members"
for w in standups demos "Harbor Foods [0-9]" "Bluepeak [0-9]" median mean Schmidt; do
	if grep -q -- "$w" <<<"$out"; then fail "the digest of the open round shows \"$w\": $out"; fi
done
expect_match "$(cat "$T/digest.err")" "still open"
periodic=$(ctl digest retro 2>/dev/null; cat "$state"/campaigns/retro/digests/periodic-*.md)
expect_match "$periodic" "still open until Thu 10 Jan 2030, 17:00 CET"
for w in standups demos "Harbor Foods [0-9]" "Bluepeak [0-9]" median mean; do
	if grep -q -- "$w" <<<"$periodic"; then fail "the periodic digest shows \"$w\": $periodic"; fi
done

# The web view while the round is open: the same progress as the digest, no side counts.
jar=$T/jar
get() { curl -sS --max-time 30 -o "$T/body" -w '%{http_code}' "$@" || true; }
[ "$(get "$(ctl link clara --campaign retro)" -c "$jar")" = 200 ] || fail "clara's link: $(cat "$T/body")"
for page in "" mood/once; do
	[ "$(get "http://127.0.0.1:$PORT/c/retro/$page" -b "$jar")" = 200 ] || fail "no page /c/retro/$page"
	expect_match "$(cat "$T/body")" "3 of 4 answered"
	shown=$(grep -E 'Harbor Foods|Bluepeak|[0-9]/[0-9]</text>|standups|demos' "$T/body" || true)
	[ -z "$shown" ] || fail "the web page /c/retro/$page of the open round shows: $shown"
done

# The close: figures, quotes without names; no counts by side, as Bluepeak has a single
# contributor (trial 5: one writer on a side would be told apart).
ctl close retro/mood >/dev/null
closed=$state/campaigns/retro/digests/mood-once.md
wait_for 10 test -f "$closed" || fail "no digest at the close"
expect_match "$(cat "$closed")" "the standups run far too long"
expect_match "$(cat "$closed")" "3 of 4 members (by side withheld: a side with a single contributor"
if grep -q 'Bluepeak 1 of 2' "$closed"; then fail "the close digest counts Bluepeak's one contributor: $(cat "$closed")"; fi
expect_match "$(cat "$closed")" "mean 3.7"
[ "$(get "http://127.0.0.1:$PORT/c/retro/mood/once" -b "$jar")" = 200 ] || fail "no round page"
expect_match "$(cat "$T/body")" "3 of 4 answered"
expect_match "$(cat "$T/body")" "standups"
if grep -qE 'Clara|Karl|Paula|Peter' "$closed"; then fail "the close digest names someone: $(cat "$closed")"; fi
if grep -q 'still open' "$closed"; then fail "the close digest says the round is open: $(cat "$closed")"; fi

kill "$PID"
wait "$PID" || fail "cocod did not stop cleanly: $(tail -20 "$log")"
PIDS=()
echo "t-anon: all checks passed"
