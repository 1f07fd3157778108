#!/usr/bin/env bash
# The email channel's faults end to end, on real servers (tests/mailservers.sh):
#  1. Postfix is down when a round opens: every invitation fails to send, the spool retries
#     with backoff (first retry after COCO_SPOOL_BACKOFF_SEC, a test hook), Postfix comes
#     back on the same port, and every member gets the invitation once — Postfix accepted
#     exactly one per member.
#  2. A backlog of replies waits in coco's Dovecot mailbox (written into its Maildir while
#     cocod is stopped, as a local delivery agent would); cocod is SIGKILLed twice in the
#     middle of reading it and started again. At each kill, every message Dovecot has
#     flagged \Seen has its answer in the store; in the end every reply is recorded exactly
#     once, every message is \Seen, and every member has all their confirmations.
# Nothing waits on the clock: every step waits for a condition, with a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/mailservers.sh

[ "$(id -u)" -eq 0 ] || { echo "SKIP: Postfix's master needs root"; exit 0; }
# members, replies each: a backlog long enough that the kills below land in its middle (cocod
# records a few hundred replies a second under the sanitizers)
M=${COCO_FAULT_MEMBERS:-16} R=${COCO_FAULT_REPLIES:-40}
N=$((M * R))
pw=coco-$RANDOM$RANDOM
users=("coco:$pw")
for i in $(seq -w 1 "$M"); do users+=("m$i:pw$i"); done
dovecot_start "${users[@]}"
postfix_start

cfg=$T/etc state=$T/state sock=$T/control.sock
mkdir -p "$cfg/campaigns.d" "$T/secrets"
cat >"$cfg/coco.conf" <<EOF
[Daemon]
StateDirectory=$state
ControlSocket=$sock
Connectors=email
[Mail]
From=coco@$MAIL_DOMAIN
$(mail_coco_conf)
EOF
{
	printf '[Campaign]\nTitle=Faults\nClient=C\nProvider=P\n\n'
	for i in $(seq -w 1 "$M"); do
		printf '[Member "m%s"]\nSide=%s\nEmail=m%s@%s\n\n' "$i" \
			"$([ $((10#$i % 2)) -eq 0 ] && echo client || echo provider)" "$i" "$MAIL_DOMAIN"
	done
	printf '[Round "pulse"]\nKind=survey\nTitle=Pulse\nDuration=2d\n\n'
	printf '[Question "pulse/mood"]\nKind=scale\nText=How is it going?\n\n'
	printf '[Question "pulse/note"]\nKind=text\nText=Anything else?\nRequired=no\n'
} >"$cfg/campaigns.d/e.conf"
mail_coco_secrets "$T/secrets" "$pw"

export CREDENTIALS_DIRECTORY=$T/secrets COCO_IMAP_BACKOFF_MSEC=200 COCO_SPOOL_BACKOFF_SEC=1
start_email_cocod() {
	"$COCOD" --config "$cfg" --state "$state" --socket "$sock" 2>>"$T/cocod.log" &
	COCOD_PID=$!
	PIDS+=($COCOD_PID)
	wait_for 20 test -S "$sock" || fail "cocod did not start: $(tail -20 "$T/cocod.log")"
}
kill_cocod() {
	kill -KILL "$COCOD_PID"
	wait "$COCOD_PID" 2>/dev/null || true
	rm -f "$sock"
}
ctl() { "$COCOCTL" --config "$cfg" "$@"; }
count() { grep -c -- "$1" "$2" 2>/dev/null || true; }
start_email_cocod
wait_for 20 grep -q "IMAP idle" "$T/cocod.log" || fail "cocod never got to IDLE: $(tail "$T/cocod.log")"

# ---- 1. SMTP down during the sends, back later ----
postfix_stop
ctl open e/pulse >/dev/null
all_failed_once() { [ "$(count 'try 1 failed' "$T/cocod.log")" -ge "$M" ]; }
wait_for 60 all_failed_once || fail "the invitations were not all tried: $(tail -5 "$T/cocod.log")"
grep -q "prompt to m01) try 1 failed, next in 1s" "$T/cocod.log" ||
	fail "no backoff in the log: $(grep -m3 'failed' "$T/cocod.log")"
postfix_start
spool_empty() { ctl status | grep -q "spool: *0 queued, $M sent, 0 failed"; }
wait_for 120 spool_empty || fail "the spool did not drain: $(ctl status; tail -5 "$T/cocod.log")"
for i in $(seq -w 1 "$M"); do
	imap_wait_count "m$i" 1 60 || fail "no invitation for m$i"
done
# Postfix accepted one message per member, and no more (cleanup logs each one it takes in).
accepted=$(count "message-id=<prompt-" "$POSTFIX_LOG")
[ "$accepted" -eq "$M" ] || fail "Postfix accepted $accepted invitations for $M members"
for i in $(seq -w 1 "$M"); do
	[ "$(imap_count "m$i")" -eq 1 ] || fail "m$i has $(imap_count "m$i") mails after the outage"
done
retried=$(count "try 2 failed" "$T/cocod.log")
echo "t-email-faults: SMTP outage: $M invitations delivered once each ($retried needed a third try)"

# ---- 2. cocod killed in the middle of a backlog of replies ----
# The reply tags, from what the spool sent.
tags=$(cat "$state"/spool/email/cur/*.json |
	python3 -c 'import sys, json
d = json.JSONDecoder(); s = sys.stdin.read(); i = 0
while i < len(s):
	if s[i].isspace(): i += 1; continue
	o, i = d.raw_decode(s, i); print(o["to"]["member"], o["conversation"])')
[ "$(wc -l <<<"$tags")" -eq "$M" ] || fail "tags: $tags"
ms_stop_pid "$COCOD_PID"
rm -f "$sock"
box=$MAIL_DIR/coco
[ -d "$box/new" ] || fail "no Maildir at $box"
n=0
while read -r member tag; do
	for k in $(seq 1 "$R"); do
		n=$((n + 1))
		f="$box/tmp/$n.faults.$$"
		printf 'From: %s@%s\r\nTo: coco+%s@%s\r\nSubject: Re: note-%d\r\nMessage-ID: <note-%d.%s@client.test>\r\nDate: Tue, 1 Dec 2026 09:00:00 +0000\r\n\r\n1: %d\r\n2: note-%d\r\n' \
			"$member" "$MAIL_DOMAIN" "$tag" "$MAIL_DOMAIN" "$n" "$n" "$$" $((k % 5 + 1)) "$n" >"$f"
		mv "$f" "$box/new/$n.faults.$$:2,"
	done
done <<<"$tags"
chown -R nobody:nogroup "$box"
[ "$(imap_count coco)" -eq "$N" ] || fail "coco's INBOX has $(imap_count coco) messages, $N written"

answers_file() { ls "$state"/campaigns/e/rounds/pulse/*/answers.jsonl 2>/dev/null | head -1; }
recorded() { local f; f=$(answers_file); [ -n "$f" ] && grep -c '"answers"' "$f" || echo 0; }
at_least() { [ "$(recorded)" -ge "$1" ]; }
# Every message flagged \Seen has its answer in the store (its note is recorded).
seen_have_answers() {
	local f notes subj bad=0
	f=$(answers_file)
	notes=$(grep -o 'note-[0-9]*' "$f" | sort -u)
	doveadm -c "$MS_DIR/dovecot/dovecot.conf" fetch -u coco 'flags hdr.subject' mailbox INBOX SEEN \
		>"$T/seen.txt" || fail "doveadm fetch: $(cat "$T/seen.txt")"
	for subj in $(grep -o 'note-[0-9]*' "$T/seen.txt"); do
		grep -qx -- "$subj" <<<"$notes" || { echo "flagged \\Seen without its answer: $subj"; bad=1; }
	done
	SEEN=$(grep -c 'note-' "$T/seen.txt" || true)
	return $bad
}
kills=()
# Kill 1 as soon as the IMAP session is up (while the backlog is fetched: nothing or part of
# it recorded); kill 2 once answers are on record (a burst is recorded in one commit, so this
# lands between the commit and the \Seen flags, or while those are stored).
imap_up() { [ "$(count 'email: IMAP connected' "$T/cocod.log")" -gt "$1" ]; }
for at in imap 1; do
	before=$(count 'email: IMAP connected' "$T/cocod.log")
	start_email_cocod
	if [ "$at" = imap ]; then
		wait_for 120 imap_up "$before" || fail "no IMAP session: $(tail -5 "$T/cocod.log")"
	else
		wait_for 120 at_least "$at" || fail "cocod recorded $(recorded) of $N: $(tail -5 "$T/cocod.log")"
	fi
	kill_cocod
	seen_have_answers || fail "after the kill at $(recorded) answers"
	kills+=("$(recorded) recorded, $SEEN seen")
done
start_email_cocod
wait_for 180 at_least "$N" || fail "only $(recorded) of $N recorded after the kills: $(tail -5 "$T/cocod.log")"
all_seen() { [ "$(doveadm -c "$MS_DIR/dovecot/dovecot.conf" search -u coco mailbox INBOX UNSEEN | wc -l)" -eq 0 ]; }
wait_for 60 all_seen || fail "unseen after everything was recorded: $(doveadm -c "$MS_DIR/dovecot/dovecot.conf" search -u coco mailbox INBOX UNSEEN | wc -l)"
f=$(answers_file)
[ "$(recorded)" -eq "$N" ] || fail "$(recorded) answer records for $N replies"
[ "$(grep -o 'note-[0-9]*' "$f" | sort -u | wc -l)" -eq "$N" ] || fail "not every reply recorded once"
# Every member gets their invitation and a confirmation per reply; the spool may send a
# confirmation twice only in its documented window (a kill between the 250 and the rename):
# at most one per kill.
want=$((M * (1 + R)))
mails() { local t=0 i; for i in $(seq -w 1 "$M"); do t=$((t + $(imap_count "m$i"))); done; echo $t; }
all_mail() { [ "$(mails)" -ge "$want" ]; }
wait_for 180 all_mail || fail "members got $(mails) mails, $want expected: $(ctl status)"
got=$(mails)
[ "$got" -le $((want + ${#kills[@]})) ] || fail "members got $got mails, $want expected (at most ${#kills[@]} more)"
for i in $(seq -w 1 "$M"); do
	[ "$(imap_count "m$i")" -ge $((1 + R)) ] || fail "m$i has $(imap_count "m$i") mails"
done
echo "t-email-faults: $N replies, killed at: ${kills[*]}; all recorded once and \\Seen, $got of $want mails to members"
