#!/usr/bin/env bash
# The mail-server harness (tests/mailservers.sh) works: a mail sent with swaks through the
# real Postfix lands, over LMTP, in the real Dovecot, and reads back intact over IMAPS with
# the throwaway certificate verified; plus-addressed mail reaches its user; Postfix refuses
# unknown users and other domains at RCPT time; IMAP with the wrong CA fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/mailservers.sh

[ "$(id -u)" -eq 0 ] || { echo "SKIP: Postfix's master needs root"; exit 0; }
t0=$SECONDS
dovecot_start alice:alice-pw bob:bob-pw
postfix_start
echo "servers up in $((SECONDS - t0)) s: smtp $SMTP_PORT imaps $IMAPS_PORT lmtp $LMTP_PORT"

token=tok-$RANDOM$RANDOM
printf 'Hello Alice,\n\nthe token is %s.\n' "$token" >"$T/body.txt"
mail_send_reply bob@example.test alice@example.test "$T/body.txt" "Subject: harness check" \
	"In-Reply-To: <x.1@example.test>" || fail "swaks could not send"
imap_wait_count alice 1 60 || fail "nothing in alice's INBOX: $(tail -n 20 "$POSTFIX_LOG")"
uid=$(imap_uids alice | head -n 1)
msg=$(imap_fetch alice "$uid" | tr -d '\r')
expect_match "$msg" "the token is $token\."
expect_match "$msg" "^Subject: harness check$"
expect_match "$msg" "^In-Reply-To: <x.1@example.test>$"
expect_match "$msg" "^Delivered-To: alice@example.test$"

# Plus addressing: the tag stays in the address, the mail goes to bob's INBOX.
printf 'tagged\n' >"$T/b2.txt"
mail_send_reply alice@example.test "bob+T0K3N@example.test" "$T/b2.txt" "Subject: tagged" ||
	fail "plus-addressed mail refused"
imap_wait_count bob 1 60 || fail "plus-addressed mail not delivered"
expect_match "$(imap_fetch bob "$(imap_uids bob | head -n 1)" | tr -d '\r')" "^To: bob+T0K3N@example.test"

# Refusals come at RCPT time, with 5xx codes.
out=$(mail_send_reply a@example.test nobody@example.test "$T/b2.txt" 2>&1) && fail "unknown user accepted"
expect_match "$out" "550 5.1.1"
out=$(mail_send_reply a@example.test someone@elsewhere.test "$T/b2.txt" 2>&1) && fail "relayed elsewhere"
expect_match "$out" "554 5.7.1"

# The certificate is really checked: another self-signed one is no CA for it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=localhost" -keyout "$T/other.key" -out "$T/other.pem" 2>/dev/null
MAIL_CA=$T/other.pem imap_count alice 2>/dev/null && fail "IMAPS accepted with the wrong CA"
# STARTTLS on the SMTP port, verified with the CA; AUTH on the submission port.
swaks --silent 2 --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls --tls-verify \
	--tls-ca-path "$MAIL_CA" --auth PLAIN --auth-user alice \
	--auth-password alice-pw --from alice@example.test --to bob@example.test \
	--body "@$T/b2.txt" >"$T/sw.log" 2>&1 || fail "submission with AUTH: $(cat "$T/sw.log")"
out=$(swaks --silent 2 --server 127.0.0.1 --port "$SUBMISSION_PORT" --tls \
	--from alice@example.test --to bob@example.test --body "@$T/b2.txt" 2>&1) &&
	fail "submission without AUTH accepted"
imap_wait_count bob 2 60 || fail "submitted mail not delivered"

postfix_stop
ms_listening "$SMTP_PORT" && fail "postfix still listening after stop"
postfix_start
mail_send_reply bob@example.test alice@example.test "$T/body.txt" || fail "not back"
imap_wait_count alice 2 60 || fail "not delivered after a restart"
echo "ok: $((SECONDS - t0)) s"
