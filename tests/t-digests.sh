#!/usr/bin/env bash
# What members read in digests while rounds are open and once they close, on the local
# maildir channel (a survey with named answers, an idea prompt, a vote on its ideas):
#   - a digest of an open round (cococtl digest CAMPAIGN ROUND, or the periodic digest) is
#     its progress: who answered so far per side and "still open until <time in the
#     campaign's zone>"; no figures, no quotes, no ideas, no running vote tally, nobody
#     named as missing;
#   - the periodic digest covers the rounds open at its time (progress) and those closed
#     since the previous digest (results);
#   - an idea two members wrote is listed once with both of them;
#   - the digests of the closes have the results.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
unset NOTIFY_SOCKET WATCHDOG_USEC LISTEN_FDS LISTEN_PID LISTEN_FDNAMES

cfg=$T/etc state=$T/state sock=$T/control.sock
mkdir -p "$cfg/campaigns.d"
mkdir -m 0700 "$T/secrets"
cat >"$cfg/coco.conf" <<EOF
[Daemon]
StateDirectory=$state
ControlSocket=$sock
Connectors=local
[Mail]
From=coco@northwind.example
EOF
cat >"$cfg/campaigns.d/fleet.conf" <<'EOF'
[Campaign]
Title=Fleet portal
TimeZone=Europe/Helsinki
Client=Acme Logistics
Provider=Northwind
MinGroupSize=2

[Member "aino"]
Name=Aino Virtanen
Side=client
Email=aino@acme.example

[Member "grace"]
Name=Grace Lee
Side=client
Email=grace@acme.example

[Member "jonas"]
Name=Jonas Eklund
Side=provider
Email=jonas@northwind.example

[Member "lena"]
Name=Lena Korhonen
Side=provider
Email=lena@northwind.example

[Round "pulse"]
Kind=survey
Title=Weekly pulse
Close=2030-01-11 17:00

[Question "pulse/mood"]
Kind=scale
Text=How did the week go?
Min=1
Max=5

[Question "pulse/note"]
Kind=text
Text=Anything to add?
Required=no

[Round "ideas"]
Kind=prompt
Title=Ideas first
Close=2030-01-09 17:00

[Round "vote"]
Kind=vote
Title=Vote on ideas
Source=ideas
Votes=3
Close=2030-01-11 17:00
EOF
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
log=$T/cocod.log
CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates \
	COCO_TEST_NOW=$(TZ=Europe/Helsinki date -d '2030-01-07 09:00' +%s) \
	start_cocod "$sock" "$log" --config "$cfg" --state "$state"
ctl() { "$COCOCTL" --config "$cfg" "$@"; }
inbox=$state/local/inbox outbox=$state/local/outbox digests=$state/campaigns/fleet/digests
mkdir -p "$inbox/tmp" "$inbox/new"
sent() { [ "$(grep -c "spool: local/$1-.* sent" "$log" || true)" -ge "$2" ]; }

reply() { # reply ADDRESS "ROUND TITLE" FILE BODY: a reply to the invitation of that round
	local inv to
	inv=$(grep -l "^To:.*$1" "$outbox"/new/* | xargs grep -l "^Subject:.*$2" | head -1)
	[ -n "$inv" ] || fail "no invitation to \"$2\" reached $1"
	to=$(tr -d '\r' <"$inv" | sed -n 's/^Reply-To: *<\{0,1\}\([^>]*\)>\{0,1\}$/\1/p' | head -1)
	printf 'From: %s\r\nTo: %s\r\nSubject: Re: %s\r\nMessage-ID: <%s@example.org>\r\nDate: Mon, 07 Jan 2030 10:00:00 +0200\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n' \
		"$1" "$to" "$2" "$3" "$4" >"$inbox/tmp/$3"
	mv "$inbox/tmp/$3" "$inbox/new/$3"
}
no() { # no WHAT TEXT PATTERN...: none of the patterns is in TEXT
	local what=$1 text=$2 p
	shift 2
	for p in "$@"; do
		if grep -q -- "$p" <<<"$text"; then fail "$what shows \"$p\": $text"; fi
	done
}

ctl open fleet/pulse >/dev/null
ctl open fleet/ideas >/dev/null
wait_for 20 sent prompt 8 || fail "the invitations were not sent: $(cat "$log")"
reply aino@acme.example "Weekly pulse" p1 $'1: 2\r\n2: the portal login is slow'
reply jonas@northwind.example "Weekly pulse" p2 $'1: 5\r\n2: weekly demos help'
reply aino@acme.example "Ideas first" i1 $'idea: A live map of every truck with its ETA\r\nidea: Printable route sheets'
reply grace@acme.example "Ideas first" i2 $'idea:   a live map of every truck with its ETA  '
ctl poll
wait_for 30 sent conf 4 || fail "four confirmations were not sent: $(cat "$log")"

# An open survey's digest, asked for by the admin: its progress.
ctl digest fleet pulse >"$T/out" 2>"$T/err"
# cococtl says where it wrote the digest, in one line; the digest is in that file.
[ ! -s "$T/out" ] || fail "cococtl digest printed the digest: $(cat "$T/out")"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "cococtl digest said more than one line: $(cat "$T/err")"
dpath=$(sed -n 's/.* was written to \(.*\) and queued for its recipients.*/\1/p' "$T/err")
[ -f "$dpath" ] || fail "cococtl digest named no digest file: $(cat "$T/err")"
out=$(cat "$dpath")
expect_match "$out" "^# Progress: Weekly pulse"
expect_match "$out" "Who answered so far:\*\* Acme Logistics 1 of 2, Northwind 1 of 2\."
expect_match "$out" "still open until Fri 11 Jan 2030, 17:00 EET: the figures and the answers come with the digest of its close"
no "the digest of the open survey" "$out" "portal login" "weekly demos" Aino Jonas Grace Lena \
	median mean "Not heard"
expect_match "$(cat "$T/err")" "pulse is still open: its progress"

# The periodic digest with two rounds open: two progress sections.
ctl digest fleet 2>/dev/null
first=$(ls "$digests"/periodic-*.md)
per=$(cat "$first")
[ "$(grep -c '^# Progress: ' <<<"$per")" -eq 2 ] || fail "expected two progress sections: $per"
expect_match "$per" "still open until Wed 9 Jan 2030, 17:00 EET: the ideas come with"
no "the periodic digest" "$per" "live map" "route sheets" "portal login" Aino Grace Jonas median \
	"Results:"

# The ideas close: the shared idea once, with both who wrote it.
out=$(ctl close fleet/ideas)
expect_match "$out" "^fleet/ideas: occurrence once closed (digest sent)$"
wait_for 10 test -f "$digests/ideas-once.md" || fail "no digest of the ideas"
ideas=$(cat "$digests/ideas-once.md")
expect_match "$ideas" "^# Results: Ideas first"
expect_match "$ideas" "“A live map of every truck with its ETA” (_Aino Virtanen and Grace Lee_)"
expect_match "$ideas" "“Printable route sheets” (_Aino Virtanen_)"
[ "$(grep -ci 'live map' <<<"$ideas")" -eq 1 ] || fail "the shared idea is not listed once: $ideas"
expect_match "$(cat "$digests/ideas-once.html")" "A live map of every truck with its ETA” (<i>Aino Virtanen and Grace Lee</i>)"

# The vote: two members vote; a digest meanwhile shows no tally.
ctl open fleet/vote >/dev/null
wait_for 20 sent prompt 12 || fail "the vote invitations were not sent: $(cat "$log")"
reply aino@acme.example "Vote on ideas" v1 'vote 1 1 2'
reply jonas@northwind.example "Vote on ideas" v2 'vote 1'
ctl poll
wait_for 30 sent conf 6 || fail "the votes were not confirmed: $(cat "$log")"
# Later the same day (the daemon's clock runs on): another periodic digest. It covers the
# ideas closed since the previous one (their results) and the rounds open now (progress).
ctl digest fleet 2>/dev/null
second=$(ls "$digests"/periodic-*.md)
[ "$second" = "$first" ] || fail "expected one periodic digest of the day: $second"
per=$(cat "$second")
expect_match "$per" "^# Results: Ideas first"
expect_match "$per" "(_Aino Virtanen and Grace Lee_)"
expect_match "$per" "^# Progress: Vote on ideas"
expect_match "$per" "Who answered so far:\*\* Acme Logistics 1 of 2, Northwind 1 of 2\."
expect_match "$per" "the votes and the ranking come with the digest of its close"
expect_match "$per" "^# Progress: Weekly pulse"
no "the periodic digest" "$per" "most votes" " vote)" " votes)" "portal login" mean

# The closes: the results.
ctl close fleet/vote >/dev/null
wait_for 10 test -f "$digests/vote-once.md" || fail "no digest of the vote"
expect_match "$(cat "$digests/vote-once.md")" "^1\. A live map of every truck with its ETA (3 votes)"
ctl close fleet/pulse >/dev/null
wait_for 10 test -f "$digests/pulse-once.md" || fail "no digest of the pulse"
pulse=$(cat "$digests/pulse-once.md")
expect_match "$pulse" "“the portal login is slow” (_Aino Virtanen_)"
expect_match "$pulse" "mean 3.5"
expect_match "$pulse" "^- Grace Lee$"
no "the close digest" "$pulse" "still open" "Progress:"

kill "$PID"
wait "$PID" || fail "cocod did not stop cleanly: $(tail -20 "$log")"
PIDS=()
echo "t-digests: all checks passed"
