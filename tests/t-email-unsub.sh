#!/usr/bin/env bash
# List-Unsubscribe end to end, on real servers (tests/mailservers.sh): every invitation
# carries List-Unsubscribe with the one-click URL ([Web] BaseUrl=) and the mailto address.
# A GET of the URL shows a page with a button and changes nothing; a POST with a forged
# token is 403; Ana's POST as a mail provider sends it (RFC 8058) is 200; Bob unsubscribes
# by mailing the mailto address (through Postfix into coco's Dovecot mailbox, read over
# IMAPS). Both show in `cococtl status`, survive a SIGKILL, and the next round's invitation
# goes to Cid only; `cococtl resubscribe` gives Ana her reminders back.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/mailservers.sh

[ "$(id -u)" -eq 0 ] || { echo "SKIP: Postfix's master needs root"; exit 0; }
pw=coco-$RANDOM$RANDOM
dovecot_start "coco:$pw" ana:ana-pw bob:bob-pw cid:cid-pw
postfix_start
PORT=$(ms_free_port) || fail "no free port"

cfg=$T/etc state=$T/state sock=$T/control.sock
mkdir -p "$cfg/campaigns.d" "$T/secrets"
cat >"$cfg/coco.conf" <<EOF
[Daemon]
StateDirectory=$state
ControlSocket=$sock
Connectors=email
Listen=127.0.0.1:$PORT
[Mail]
From=coco@$MAIL_DOMAIN
Name=Coco rounds
[Web]
BaseUrl=http://127.0.0.1:$PORT/
$(mail_coco_conf)
EOF
cat >"$cfg/campaigns.d/e.conf" <<EOF
[Campaign]
Title=Unsub test
Client=Client Oy
Provider=Provider Ltd

[Member "ana"]
Side=client
Email=ana@$MAIL_DOMAIN

[Member "bob"]
Side=provider
Email=bob@$MAIL_DOMAIN

[Member "cid"]
Side=provider
Email=cid@$MAIL_DOMAIN

[Round "pulse"]
Kind=survey
Title=Pulse
Duration=2d

[Question "pulse/mood"]
Kind=scale
Text=How is the project going?

[Round "next"]
Kind=survey
Title=Next
Duration=2d

[Question "next/mood"]
Kind=scale
Text=And now?
EOF
mail_coco_secrets "$T/secrets" "$pw"

export CREDENTIALS_DIRECTORY=$T/secrets COCO_IMAP_BACKOFF_MSEC=200
start_email_cocod() {
	"$COCOD" --config "$cfg" --state "$state" --socket "$sock" 2>>"$T/cocod.log" &
	COCOD_PID=$!
	PIDS+=($COCOD_PID)
	wait_for 20 test -S "$sock" || fail "cocod did not start: $(cat "$T/cocod.log")"
	wait_for 20 ms_listening "$PORT" || fail "the ingress is not listening: $(cat "$T/cocod.log")"
}
start_email_cocod
ctl() { "$COCOCTL" --config "$cfg" "$@"; }
wait_idle() { grep -q "IMAP idle" "$T/cocod.log"; }
wait_for 20 wait_idle || fail "cocod never got to IDLE: $(cat "$T/cocod.log")"

ctl open e/pulse >/dev/null
for m in ana bob cid; do
	imap_wait_count $m 1 30 || fail "no invitation for $m: $(tail -20 "$T/cocod.log")"
done
header() { # header FILE NAME: the field's value, unfolded
	tr -d '\r' <"$1" | sed -n "/^$2:/,/^[^ \t]/p" | sed '$d' | tr -d '\n' |
		sed "s/^$2: *//; s/[ \t]\+/ /g"
}
imap_fetch_all ana "$T/ana"
lu=$(header "$T"/ana/1.eml List-Unsubscribe)
url=$(sed -n 's/^<\(http[^>]*\)>.*/\1/p' <<<"$lu")
mailto_ana=$(sed -n 's/.*<mailto:\([^>]*\)>.*/\1/p' <<<"$lu")
case $url in "http://127.0.0.1:$PORT/u/"????????????????) ;; *) fail "List-Unsubscribe URL: \"$lu\"" ;; esac
case $mailto_ana in coco+unsub-????????????????@$MAIL_DOMAIN) ;; *) fail "List-Unsubscribe mailto: \"$lu\"" ;; esac
# RFC 8058 one-click is for https only: an http BaseUrl gets no List-Unsubscribe-Post.
if grep -qi "^List-Unsubscribe-Post:" "$T"/ana/1.eml; then fail "List-Unsubscribe-Post on an http URL"; fi
token=${url##*/}
# Bob's token is his own.
imap_fetch_all bob "$T/bob"
mailto_bob=$(header "$T"/bob/1.eml List-Unsubscribe | sed -n 's/.*<mailto:\([^>]*\)>.*/\1/p')
[ -n "$mailto_bob" ] && [ "$mailto_bob" != "$mailto_ana" ] || fail "bob's mailto: \"$mailto_bob\""

unsubscribed() { ctl status | grep -q "e/$1 $1@$MAIL_DOMAIN: since"; }

# A GET (a mail scanner following the link) shows a page with a POST button, changes nothing.
page=$(curl -sS -D "$T/get.h" "$url") || fail "GET $url failed"
grep -q "^HTTP/1.1 200" "$T/get.h" || fail "GET: $(head -1 "$T/get.h")"
expect_match "$page" '<form method="post">'
expect_match "$page" 'name="List-Unsubscribe" value="One-Click"'
# What it stops is the campaign's mail (coco runs campaigns; a survey is one kind of round).
expect_match "$page" 'no more mail of this campaign'
grep -qi "^Referrer-Policy: no-referrer" "$T/get.h" || fail "the page may leak its URL in a Referer"
if unsubscribed ana; then fail "a GET unsubscribed ana"; fi
[ ! -e "$state/unsubscribed.jsonl" ] || fail "a GET wrote $(cat "$state/unsubscribed.jsonl")"

# A forged token (the last character changed): 403, nothing recorded.
last=${token: -1}; [ "$last" = a ] && other=b || other=a
forged=${url%?}$other
code=$(curl -sS -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click "$forged")
[ "$code" = 403 ] || fail "a forged token got $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' -d List-Unsubscribe=One-Click \
	"http://127.0.0.1:$PORT/u/aaaaaaaaaaaaaaaa")
[ "$code" = 403 ] || fail "a made-up token got $code"
# A POST without RFC 8058's body is refused.
code=$(curl -sS -o /dev/null -w '%{http_code}' -d x=y "$url")
[ "$code" = 400 ] || fail "a POST without List-Unsubscribe=One-Click got $code"
[ ! -e "$state/unsubscribed.jsonl" ] || fail "a refused POST wrote $(cat "$state/unsubscribed.jsonl")"

# Ana's mail provider POSTs as RFC 8058 says (no cookie, no CSRF token): 200 once recorded.
code=$(curl -sS -o "$T/post.html" -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
	-d List-Unsubscribe=One-Click "$url")
[ "$code" = 200 ] || fail "the one-click POST got $code: $(cat "$T/post.html"; tail -5 "$T/cocod.log")"
expect_match "$(cat "$T/post.html")" 'no more mail of this campaign'
grep -q '"member":"ana"' "$state/unsubscribed.jsonl" || fail "not in the store"
unsubscribed ana || fail "status does not show ana: $(ctl status)"
# The multipart/form-data form of the same body (RFC 8058's example) works too.
code=$(curl -sS -o /dev/null -w '%{http_code}' -F List-Unsubscribe=One-Click "$url")
[ "$code" = 200 ] || fail "the multipart one-click POST got $code"

# Bob's mail client sends a mail to the mailto address: through Postfix to coco's mailbox.
printf 'unsubscribe\r\n' >"$T/unsub"
mail_send_reply "bob@$MAIL_DOMAIN" "$mailto_bob" "$T/unsub" "Subject: Unsubscribe" >/dev/null
wait_for 30 unsubscribed bob || fail "bob's mail did not unsubscribe him: $(ctl status; tail -20 "$T/cocod.log")"
if unsubscribed cid; then fail "cid is shown unsubscribed"; fi
if ls "$state"/campaigns/e/rounds/pulse/*/answers.jsonl >/dev/null 2>&1; then
	fail "the unsubscribe mail was taken for an answer: $(cat "$state"/campaigns/e/rounds/pulse/*/answers.jsonl)"
fi

# Killed and started again: the store still says so.
kill -KILL "$COCOD_PID"
wait "$COCOD_PID" 2>/dev/null || true
rm -f "$sock"
start_email_cocod
unsubscribed ana && unsubscribed bob || fail "lost across a restart: $(ctl status)"

# The next round: only Cid is invited; the core says why Ana and Bob are not.
ctl open e/next >/dev/null
imap_wait_count cid 2 30 || fail "no second invitation for cid"
not_sent() { grep -q "member $1 unsubscribed from this campaign's messages: \"\[Unsub test\] Next" "$T/cocod.log"; }
wait_for 20 not_sent ana || fail "no word of ana's invitation: $(tail -20 "$T/cocod.log")"
wait_for 20 not_sent bob || fail "no word of bob's invitation"
[ "$(imap_count ana)" -eq 1 ] || fail "ana got $(imap_count ana) mails (only the first invitation expected)"
[ "$(imap_count bob)" -eq 1 ] || fail "bob got $(imap_count bob) mails"

# The admin undoes Ana's: her reminder goes out again; Bob's stays.
out=$(ctl resubscribe ana e)
expect_match "$out" "resubscribed ana to e at ana@$MAIL_DOMAIN"
if unsubscribed ana; then fail "status still shows ana"; fi
unsubscribed bob || fail "bob's went too"
ctl resubscribe ana e 2>"$T/again.err" && fail "resubscribing twice succeeded"
grep -q "has not unsubscribed" "$T/again.err" || fail "resubscribe twice: $(cat "$T/again.err")"
grep -q '"action":"resubscribe"' "$state/audit.jsonl" || fail "not in the audit log"
# No --force: the 12-hour guard holds back Cid, invited minutes ago, not Ana, whose
# invitation never went out while she was unsubscribed.
out=$(ctl remind e/next)
expect_match "$out" ", 1 reminder queued"
expect_match "$out" "  cid: invited "
expect_match "$out" "  bob: unsubscribed from this campaign's messages"
case $out in *"  ana:"*) fail "ana held back, though never invited: $out" ;; esac
imap_wait_count ana 2 30 || fail "ana's reminder did not come after resubscribe: $(tail -20 "$T/cocod.log")"
[ "$(imap_count bob)" -eq 1 ] || fail "bob got mail after unsubscribing"
echo "t-email-unsub: headers, GET page, forged 403, one-click POST, mailto, restart, next round skipped, resubscribe: ok"
