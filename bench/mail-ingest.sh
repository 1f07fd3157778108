#!/usr/bin/env bash
# Replies end to end from Dovecot (issue 10.8): the production cocod (build/cocod; $COCOD
# overrides) with the email channel reads coco's mailbox in the tests' own Dovecot over
# IMAPS on loopback (tests/mailservers.sh), with IDLE. One campaign of BENCH_MEMBERS (100)
# members, its survey round open; BENCH_REPLIES (10,000) replies, each with its member's
# reply tag, are written as Maildir files beside the mailbox and moved into its new/ at once
# (as a local delivery agent delivers), while cocod waits in IDLE. The clock starts at the
# move and stops when answers.jsonl holds every reply. Prints replies/s and whether the
# target (>= 2,000/s) is met; then waits until every message is flagged \Seen.
# Postfix runs too, and accepts the mail to the members' domain into its discard transport,
# so the invitations and the confirmations go out as they would to a smarthost (over reused
# connections). Needs root (Postfix's master). Never fails on a figure.
# BENCH_LOG=FILE keeps cocod's log (run it with --verbose through COCOD= for timestamps).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/mailservers.sh

[ "$(id -u)" -eq 0 ] || { echo "mail-ingest end to end: SKIP (Postfix's master needs root)"; exit 0; }
COCOD=${COCOD:-$PWD/build/cocod} COCOCTL=${COCOCTL:-$PWD/build/cococtl}
export COCO_TEMPLATE_DIR=${COCO_TEMPLATE_DIR:-$PWD/templates}
M=${BENCH_MEMBERS:-100} N=${BENCH_REPLIES:-10000} TARGET=2000
pw=coco-$RANDOM$RANDOM
dovecot_start "coco:$pw"
POSTFIX_DISCARD=members.test postfix_start

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
	printf '[Campaign]\nTitle=Bench\nClient=C\nProvider=P\n\n'
	for i in $(seq -w 1 "$M"); do
		printf '[Member "m%s"]\nSide=client\nEmail=m%s@members.test\n\n' "$i" "$i"
	done
	printf '[Round "pulse"]\nKind=survey\nTitle=Pulse\nDuration=2d\n\n'
	printf '[Question "pulse/mood"]\nKind=scale\nText=How is it going?\n\n'
	printf '[Question "pulse/note"]\nKind=text\nText=Anything else?\nRequired=no\n'
} >"$cfg/campaigns.d/e.conf"
mail_coco_secrets "$T/secrets" "$pw"
export CREDENTIALS_DIRECTORY=$T/secrets

"$COCOD" --config "$cfg" --state "$state" --socket "$sock" 2>>"$T/cocod.log" &
[ -z "${BENCH_LOG:-}" ] || trap 'cp "$T/cocod.log" "$BENCH_LOG"; cleanup' EXIT
COCOD_PID=$!
PIDS+=($COCOD_PID)
wait_for 20 test -S "$sock" || fail "cocod did not start: $(tail "$T/cocod.log")"
wait_for 20 grep -q "IMAP idle" "$T/cocod.log" || fail "cocod never got to IDLE"
ctl() { "$COCOCTL" --config "$cfg" "$@"; }
ctl open e/pulse >/dev/null
# The invitations, sent, wait in the spool's cur/ with their reply tags.
invited() { [ "$(ls "$state/spool/email/cur" 2>/dev/null | wc -l)" -ge "$M" ]; }
wait_for 120 invited || fail "the invitations did not go: $(ctl status)"

box=$MAIL_DIR/coco stage=$MAIL_DIR/stage
mkdir -p "$stage"
cat "$state"/spool/email/cur/*.json | python3 -c '
import json, sys
n, dom, stage = int(sys.argv[1]), sys.argv[2], sys.argv[3]
d = json.JSONDecoder(); s = sys.stdin.read(); i = 0; tags = []
while i < len(s):
    if s[i].isspace(): i += 1; continue
    o, i = d.raw_decode(s, i); tags.append((o["to"]["member"], o["conversation"]))
tags.sort()
for k in range(n):
    member, tag = tags[k % len(tags)]
    with open("%s/%d.bench:2," % (stage, k), "w") as f:
        f.write("From: %s@members.test\r\nTo: coco+%s@%s\r\nSubject: Re: [Bench] Pulse\r\n"
                "Message-ID: <bench-%d@members.test>\r\nDate: Tue, 1 Dec 2026 09:00:00 +0000\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                "1: %d\r\n2: reply %d, with a few words of its own\r\n\r\n"
                "On Tue, 1 Dec 2026 at 08:00, Bench <coco@%s> wrote:\r\n> How is it going?\r\n"
                % (member, tag, dom, k, k % 5 + 1, k, dom))
' "$N" "$MAIL_DOMAIN" "$stage"
chown -R nobody:nogroup "$stage"
answers() { cat "$state"/campaigns/e/rounds/pulse/*/answers.jsonl 2>/dev/null | wc -l; }
t0=$(date +%s.%N)
find "$stage" -type f -exec mv -t "$box/new/" {} +
moved=$(date +%s.%N)
all() { [ "$(answers)" -ge "$N" ]; }
wait_for "${BENCH_TIMEOUT:-900}" all || fail "only $(answers) of $N recorded: $(tail -5 "$T/cocod.log")"
t1=$(date +%s.%N)
rate=$(awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
printf 'mail-ingest end to end: %d replies (%d members) moved into Dovecot in %.2f s, all recorded by cocod after %.2f s: %d replies/s\n' \
	"$N" "$M" "$(awk -v a="$t0" -v b="$moved" 'BEGIN { print b - a }')" \
	"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$rate"
[ "$rate" -ge "$TARGET" ] && met=met || met="NOT met"
echo "target >= $TARGET replies/s: $met"
unseen() { doveadm -c "$MS_DIR/dovecot/dovecot.conf" search -u coco mailbox INBOX UNSEEN | wc -l; }
none_unseen() { [ "$(unseen)" -eq 0 ]; }
wait_for 300 none_unseen || fail "$(unseen) messages still unseen"
t2=$(date +%s.%N)
printf 'mail-ingest end to end: every message flagged \\Seen after %.2f s; cocod peak RSS %s\n' \
	"$(awk -v a="$t0" -v b="$t2" 'BEGIN { print b - a }')" \
	"$(grep VmHWM "/proc/$COCOD_PID/status" | awk '{print $2, $3}')"
# The confirmations are sent after the answers (cocod sends in the gaps): all gone when the
# spool's new/ is empty.
unsent() { ls "$state/spool/email/new" 2>/dev/null | wc -l; }
all_sent() { [ "$(unsent)" -eq 0 ]; }
wait_for 600 all_sent || fail "$(unsent) confirmations still unsent"
printf 'mail-ingest end to end: every confirmation sent after %.2f s\n' \
	"$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
