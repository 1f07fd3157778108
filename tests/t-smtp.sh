#!/usr/bin/env bash
# connectors/email/smtp.c against a real Postfix delivering into a real Dovecot
# (tests/mailservers.sh), through tests/test_smtp (the C side, one phase per run):
# a batch of 50 messages over STARTTLS arrives intact, read back over IMAPS, through at most
# 4 connections (counted in Postfix's log); 5xx refusals are FAIL with their code; smtps://;
# the wrong CA is a RETRY; AUTH; server down is RETRY, back is OK; cancelling. The password
# never shows in any output.
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/mailservers.sh

[ "$(id -u)" -eq 0 ] || { echo "SKIP: Postfix's master needs root"; exit 0; }
prog=${BUILD:-build/san}/tests/test_smtp
[ -x "$prog" ] || fail "$prog is not built"
password=alice-$RANDOM$RANDOM
dovecot_start "alice:$password" bob:bob-pw
postfix_start
export SMTP_PORT SMTPS_PORT SUBMISSION_PORT MAIL_CA SMTP_TEST_PASSWORD=$password
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$T/other.key" -out "$T/other.pem" 2>/dev/null
export OTHER_CA=$T/other.pem
out=${SMTP_TEST_OUT:-$T/out.log}
phase() { echo "== $* at $SECONDS s" >>"$out"; "$prog" "$@" >>"$out" 2>&1 || fail "test_smtp $*: $(tail -n 30 "$out")"; }
# Connections that carried mail, and the mail they carried, from Postfix's "disconnect"
# lines (the harness's readiness probes carried none).
mail_connections() { grep -c "postfix/smtpd\[[0-9]*\]: disconnect from .* mail=" "$POSTFIX_LOG" || true; }
mails_carried() {
	{ grep -o "postfix/smtpd\[[0-9]*\]: disconnect from .* mail=[0-9]*" "$POSTFIX_LOG" || true; } |
		sed 's/.*mail=//' | awk '{ s += $1 } END { print s + 0 }'
}

# The batch: 50 messages, at most 4 connections.
mkdir "$T/batch"
c0=$(mail_connections) m0=$(mails_carried)
phase batch 50 "$T/batch"
imap_wait_count alice 50 60 || fail "only $(imap_count alice) of 50 delivered"
# test_smtp has exited: every connection it had is closed, and logged soon.
batch_logged() { [ $(($(mails_carried) - m0)) -ge 50 ]; }
wait_for 30 batch_logged || fail "Postfix logged $(($(mails_carried) - m0)) mails of 50"
n=$(($(mail_connections) - c0))
echo "50 messages over $n connections"
[ "$n" -ge 1 ] && [ "$n" -le 4 ] || { grep "smtpd.*disconnect from" "$POSTFIX_LOG"; fail "50 messages took $n connections (want 1 to 4)"; }

# Intact: each message Dovecot holds ends with exactly the bytes we sent (Postfix only
# prepends its trace headers).
declare -A seen=()
imap_fetch_all alice "$T/got"
for f in "$T"/got/*.eml; do
	i=$(grep -a -o 'token msg-[0-9]*' "$f" | head -n 1 | sed 's/.*msg-//')
	[ -n "$i" ] || fail "$f: no token"
	size=$(stat -c %s "$T/batch/$i.eml")
	tail -c "$size" "$f" | cmp -s - "$T/batch/$i.eml" || fail "message $i changed on the way"
	grep -q "^Delivered-To: alice@example.test" "$f" || fail "no Delivered-To"
	seen[$i]=1
done
[ ${#seen[@]} -eq 50 ] || fail "${#seen[@]} distinct messages of 50"

phase reject
phase tls
phase auth
phase cancel

# Down and back: the C side asks (files), this side stops and starts the same Postfix.
mkdir "$T/du"
"$prog" downup "$T/du" >>"$out" 2>&1 &
du=$!
PIDS+=("$du")
wait_for 60 test -e "$T/du/stop" || fail "downup never asked to stop: $(tail "$out")"
postfix_stop
wait_for 60 test -e "$T/du/start" || fail "downup never asked to start: $(tail "$out")"
postfix_start
wait "$du" || fail "test_smtp downup: $(tail -n 30 "$out")"

# what arrived besides the batch: reject's good one, smtps, before and back of downup
imap_wait_count alice 54 30 || fail "$(imap_count alice) messages for alice, not 54"
rm -rf "$T/got"
imap_fetch_all alice "$T/got"
for tag in after-reject smtps before back; do
	grep -l -q "^To: alice+$tag@example.test" "$T"/got/*.eml || fail "alice+$tag missing"
done
imap_wait_count bob 1 30 || fail "the AUTH message did not arrive"

cat "$out"
grep -q -- "$password" "$out" "$POSTFIX_LOG" && fail "the password shows in the output"
grep -q -- "xyzzy" "$out" && fail "the wrong password shows in the output"
echo ok
