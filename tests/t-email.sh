#!/usr/bin/env bash
# The email channel end to end, on real servers (tests/mailservers.sh): cocod sends through
# Postfix, which delivers into Dovecot; members' replies go in through Postfix (swaks) to
# coco's own Dovecot mailbox, which cocod reads over IMAPS with IDLE. A round opens → the
# invitations arrive in the members' mailboxes → a reply with quoted text and a signature is
# recorded and confirmed by mail; a forged From with someone else's tag and an auto-reply are
# not recorded; Dovecot restarted during IDLE: the next reply is still read; cocod killed and
# restarted: nothing recorded or sent twice. A member whose address does not exist: Postfix
# bounces the invitation to coco's mailbox, and `cococtl status` shows the address failing;
# one Postfix refuses at once (RCPT 550) is listed in status as a failed delivery.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/mailservers.sh

[ "$(id -u)" -eq 0 ] || { echo "SKIP: Postfix's master needs root"; exit 0; }
pw=coco-$RANDOM$RANDOM
dovecot_start "coco:$pw" ana:ana-pw bob:bob-pw
POSTFIX_GHOSTS=gus
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
Name=Coco rounds
$(mail_coco_conf)
EOF
cat >"$cfg/campaigns.d/e.conf" <<EOF
[Campaign]
Title=Mail test
Client=Client Oy
Provider=Provider Ltd

[Member "ana"]
Side=client
Name=Ana Virtanen
Email=ana@$MAIL_DOMAIN

[Member "bob"]
Side=provider
Name=Bob Smith
Email=bob@$MAIL_DOMAIN

[Member "gus"]
Side=provider
Name=Gus Gone
Email=gus@$MAIL_DOMAIN

[Member "hal"]
Side=client
Name=Hal Typo
Email=hal@$MAIL_DOMAIN

[Round "pulse"]
Kind=survey
Title=Pulse
Duration=2d

[Question "pulse/mood"]
Kind=scale
Text=How is the project going?

[Question "pulse/why"]
Kind=text
Text=What would you change?
EOF
mail_coco_secrets "$T/secrets" "$pw"

export CREDENTIALS_DIRECTORY=$T/secrets COCO_IMAP_BACKOFF_MSEC=200
start_email_cocod() {
	"$COCOD" --config "$cfg" --state "$state" --socket "$sock" 2>>"$T/cocod.log" &
	COCOD_PID=$!
	PIDS+=($COCOD_PID)
	wait_for 20 test -S "$sock" || fail "cocod did not start: $(cat "$T/cocod.log")"
}
start_email_cocod
ctl() { "$COCOCTL" --config "$cfg" "$@"; }
ans=$state/campaigns/e/rounds/pulse
answers() { cat "$ans"/*/answers.jsonl 2>/dev/null | grep -c '"answers"' || true; }
wait_idle() { grep -q "IMAP idle" "$T/cocod.log"; }
wait_for 20 wait_idle || fail "cocod never got to IDLE: $(cat "$T/cocod.log")"

# The round opens: both invitations arrive in the members' own mailboxes.
ctl open e/pulse >/dev/null
imap_wait_count ana 1 30 || fail "no invitation for ana: $(tail -20 "$T/cocod.log")"
imap_wait_count bob 1 30 || fail "no invitation for bob"
imap_fetch_all ana "$T/ana"
inv=$(ls "$T"/ana/*.eml | head -1)
grep -q "^Subject: \[Mail test\] Pulse" "$inv" || fail "invitation subject: $(grep '^Subject' "$inv")"
grep -q "^Auto-Submitted: auto-generated" "$inv" || fail "no Auto-Submitted"
reply_to=$(tr -d '\r' <"$inv" | sed -n 's/^Reply-To: *<\{0,1\}\([^>]*\)>\{0,1\}$/\1/p' | head -1)
msgid=$(tr -d '\r' <"$inv" | sed -n 's/^Message-I[dD]: *<\([^>]*\)>$/\1/p' | head -1)
case $reply_to in coco+*@$MAIL_DOMAIN) ;; *) fail "Reply-To is \"$reply_to\"" ;; esac
[ -n "$msgid" ] || fail "no Message-ID"

# Ana answers as a mail client would: her words on top, the quote and a signature below.
printf '1: 4\r\n2: [see the mockup](https://evil.example/login) *soon*\r\n\r\nThanks,\r\nAna\r\n\r\nOn Tue, Dec 1, 2026 at 9:00, Coco rounds <coco@%s> wrote:\r\n> How is the project going?\r\n' \
	"$MAIL_DOMAIN" >"$T/reply1"
mail_send_reply "ana@$MAIL_DOMAIN" "$reply_to" "$T/reply1" "In-Reply-To: <$msgid>" \
	"Subject: Re: [Mail test] Pulse" >/dev/null
wait_for 30 bash -c "[ \$(cat '$ans'/*/answers.jsonl 2>/dev/null | grep -c '\"answers\"') -ge 1 ]" ||
	fail "ana's answer was not recorded: $(tail -30 "$T/cocod.log")"
grep -q '"via":"email"' "$ans"/*/answers.jsonl || fail "not recorded as via email"
grep -q '"mood":"4"' "$ans"/*/answers.jsonl || fail "not 4: $(cat "$ans"/*/answers.jsonl)"
# The confirmation reaches her mailbox, threaded under her reply.
imap_wait_count ana 2 30 || fail "no confirmation for ana"
imap_fetch_all ana "$T/ana2"
conf=$(grep -l "^In-Reply-To:" "$T"/ana2/*.eml | head -1)
[ -n "$conf" ] || fail "the confirmation is not threaded"
grep -qi "4" "$conf" || fail "the confirmation does not say what was recorded"
# Her words read in the text part as she wrote them, and in the HTML part they are no link
# (trial 6: "\[see the mockup\](…)" in the text part).
part() { python3 -c 'import email,sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for p in m.walk():
    if p.get_content_type() == sys.argv[2]:
        sys.stdout.write(p.get_payload(decode=True).decode())' "$@"; }
part "$conf" text/plain | grep -qF '[see the mockup](https://evil.example/login) *soon*' ||
	fail "the text part does not show her words as written: $(part "$conf" text/plain)"
if part "$conf" text/plain | grep -qF '\['; then fail "Markdown escapes in the text part"; fi
part "$conf" text/html | grep -qF 'see the mockup' || fail "her words are not in the HTML part"
if part "$conf" text/html | grep -qi 'href="https://evil'; then fail "a live link in the HTML part"; fi

# Bob forges a reply with Ana's tag from his own address: refused and kept, not recorded.
printf '1: 1\r\n' >"$T/forged"
mail_send_reply "bob@$MAIL_DOMAIN" "$reply_to" "$T/forged" >/dev/null
wait_for 30 bash -c "grep -q 'bob@$MAIL_DOMAIN' '$state/rejected/messages.jsonl' 2>/dev/null" ||
	fail "the forged reply was not rejected: $(tail -20 "$T/cocod.log")"
[ "$(answers)" -eq 1 ] || fail "the forged reply was recorded"

# An auto-reply to the invitation is not an answer.
printf 'I am away until Monday.\r\n' >"$T/away"
mail_send_reply "ana@$MAIL_DOMAIN" "$reply_to" "$T/away" "Auto-Submitted: auto-replied" \
	"Subject: Automatic reply: [Mail test] Pulse" >/dev/null
wait_for 30 grep -q "is automatic" "$T/cocod.log" || fail "the auto-reply was not seen as one"
[ "$(answers)" -eq 1 ] || fail "the auto-reply was recorded"

# Dovecot restarts under cocod's IDLE: cocod reconnects, and Bob's answer is read.
dovecot_restart
imap_fetch_all bob "$T/bob"
bob_rt=$(cat "$T"/bob/*.eml | tr -d '\r' | sed -n 's/^Reply-To: *<\{0,1\}\([^>]*\)>\{0,1\}$/\1/p' | head -1)
printf '1: 2\r\n' >"$T/reply2"
mail_send_reply "bob@$MAIL_DOMAIN" "$bob_rt" "$T/reply2" >/dev/null
wait_for 60 bash -c "[ \$(cat '$ans'/*/answers.jsonl | grep -c '\"answers\"') -ge 2 ]" ||
	fail "bob's answer after the Dovecot restart was not recorded: $(tail -30 "$T/cocod.log")"

# Gus's invitation bounced (Dovecot has no gus): Postfix's DSN came back to coco's mailbox,
# and the admin sees his address failing; nobody else's is.
gus_failing() { ctl status | grep -q "e/gus gus@$MAIL_DOMAIN: bounced"; }
wait_for 60 gus_failing || fail "gus's address is not shown failing: $(ctl status; tail -20 "$T/cocod.log")"
ctl status | grep -q "5.1.1" || fail "no status code: $(ctl status)"
if ctl status | grep -q -e "ana@" -e "bob@"; then fail "a working address is shown failing"; fi
[ "$(answers)" -eq 2 ] || fail "the bounce was taken for an answer"
# Hal's address does not exist either, and Postfix refused it at once (RCPT 550, no bounce
# mail): status says to whom, on which channel, why and when (trial 6: only "1 failed").
hal_failed() { ctl status | grep -q "^  e/hal via email, [0-9-]* [0-9:]*Z, prompt of pulse: .*550"; }
wait_for 30 hal_failed || fail "hal's refused invitation is not listed: $(ctl status)"
ctl status | grep -q "^failed deliveries" || fail "no failed deliveries heading: $(ctl status)"

# cocod killed and started again: the mailbox is read from the saved cursor, nothing is
# recorded twice, no confirmation goes out twice.
kill -KILL "$COCOD_PID"
wait "$COCOD_PID" 2>/dev/null || true
rm -f "$sock"
start_email_cocod
wait_for 20 wait_idle || fail "cocod did not get back to IDLE"
sleep 1
[ "$(answers)" -eq 2 ] || fail "answers recorded again after a restart: $(cat "$ans"/*/answers.jsonl)"
n_ana=$(imap_count ana) n_bob=$(imap_count bob)
[ "$n_ana" -eq 2 ] || fail "ana has $n_ana mails (2 expected: invitation, confirmation)"
bob_has_two() { [ "$(imap_count bob)" -ge 2 ]; }
wait_for 30 bob_has_two || true
[ "$(imap_count bob)" -eq 2 ] || fail "bob has $(imap_count bob) mails (2 expected)"
ctl status | grep -q "e/gus gus@$MAIL_DOMAIN: bounced 1 time," ||
	fail "the bounce was not kept, or counted twice, across the restart: $(ctl status)"
if grep -q "$pw" "$T/cocod.log"; then fail "the IMAP password is in the log"; fi
# forget with the email channel only: no "0 mail files" (it keeps none, trial 6: read as "there
# were none"), and a line saying what stays in the mailboxes on the server.
out=$(ctl forget bob)
grep -q "mail file" <<<"$out" && fail "forget counts mail files the email channel does not keep: $out"
grep -q "^not erased: the mail they sent stays in coco's mailbox on the IMAP server" <<<"$out" ||
	fail "forget does not say what stays on the IMAP server: $out"
echo "t-email: invitation, answer, confirmation, forgery, auto-reply, Dovecot restart, kill, bounce: ok"
