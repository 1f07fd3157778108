#!/usr/bin/env bash
# make demo-email: the email channel on real mail servers, the same pair the tests use
# (tests/mailservers.sh: Dovecot and Postfix of their own, on 127.0.0.1, ports picked free,
# everything under a temporary directory). cocod runs with Connectors=email: it sends through
# Postfix (SMTP) and reads its own mailbox over IMAPS. A round opens, two members answer with
# swaks as their mail client would (quote and signature below their words), the recorded
# answers are shown, the round is closed and the digest is read back from a member's mailbox
# over IMAP. Then everything is stopped and removed.
#
# Needs root (Postfix's master runs as root) and dovecot, postfix, swaks, curl, openssl
# (`make deps` installs them). COCO_BIN=DIR picks the binaries (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ "$(id -u)" -eq 0 ] || { echo "demo-email: needs root (Postfix's master runs as root); try: sudo make demo-email" >&2; exit 1; }
for tool in dovecot postfix swaks curl openssl; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
		{ echo "demo-email: $tool is missing: run make deps" >&2; exit 1; }
done
bin=${COCO_BIN:-$root/build}
COCOD=$bin/cocod COCOCTL=$bin/cococtl
export COCO_TEMPLATE_DIR=${COCO_TEMPLATE_DIR:-$root/templates}
. tests/lib.sh
. tests/mailservers.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting Dovecot and Postfix on 127.0.0.1 (in $T)"
pw=coco-$RANDOM$RANDOM
dovecot_start "coco:$pw" ana:ana-pw bob:bob-pw
postfix_start
echo "SMTP 127.0.0.1:$SMTP_PORT, IMAPS 127.0.0.1:$IMAPS_PORT, mail for @$MAIL_DOMAIN"

cfg=$T/etc state=$T/state sock=$T/control.sock
mkdir -p "$cfg/campaigns.d" "$T/secrets"
cat >"$cfg/coco.conf" <<CONF
[Daemon]
StateDirectory=$state
ControlSocket=$sock
Connectors=email
[Mail]
From=coco@$MAIL_DOMAIN
Name=Coco rounds
CONF
mail_coco_conf >>"$cfg/coco.conf" # [SMTP] and [IMAP] for these servers
cat >"$cfg/campaigns.d/demo.conf" <<CONF
[Campaign]
Title=Mail demo
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

[Round "pulse"]
Kind=survey
Title=Pulse
Duration=2d

[Question "pulse/mood"]
Kind=scale
Text=How is the project going?

[Question "pulse/next"]
Kind=text
Text=What should we do next?
CONF
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
printf '%s\n' "$pw" >"$T/secrets/imap-password"
chmod 600 "$T/secrets/imap-password"
export CREDENTIALS_DIRECTORY=$T/secrets
ctl() { "$COCOCTL" --config "$cfg" --socket "$sock" "$@"; }

say "Starting cocod (Connectors=email)"
"$COCOD" --config "$cfg" --state "$state" --socket "$sock" 2>>"$T/cocod.log" &
PIDS+=($!)
wait_for 20 test -S "$sock" || fail "cocod did not start: $(cat "$T/cocod.log")"
wait_for 30 grep -q "IMAP idle" "$T/cocod.log" || fail "cocod never read its mailbox: $(cat "$T/cocod.log")"
ctl status

say "Opening the round: the invitations go out through Postfix"
ctl open demo/pulse
imap_wait_count ana 1 60 || fail "no invitation for ana: $(tail -20 "$T/cocod.log")"
imap_wait_count bob 1 60 || fail "no invitation for bob"
imap_fetch_all ana "$T/ana"
inv=$(ls "$T"/ana/*.eml | head -1)
tr -d '\r' <"$inv" | sed -n '/^$/q;/^\(From\|To\|Reply-To\|Subject\|Message-I[dD]\):/p'
header() { tr -d '\r' <"$1" | sed -n "s/^$2: *<\{0,1\}\([^>]*\)>\{0,1\}\$/\1/p" | head -1; }

say "Ana and Bob answer with swaks, as their mail clients would"
answer() { # answer USER BODY
	local dir=$T/inv-$1
	imap_fetch_all "$1" "$dir"
	local f rt id
	f=$(ls "$dir"/*.eml | head -1)
	rt=$(header "$f" Reply-To) id=$(header "$f" 'Message-I[dD]')
	printf '%b' "$2" >"$T/reply-$1"
	echo "$1@$MAIL_DOMAIN → $rt"
	mail_send_reply "$1@$MAIL_DOMAIN" "$rt" "$T/reply-$1" "In-Reply-To: <$id>" \
		"Subject: Re: [Mail demo] Pulse" >/dev/null
}
answer ana '1: 4\r\n2: Weekly demos, please\r\n\r\nThanks,\r\nAna\r\n\r\nOn Monday, Coco rounds wrote:\r\n> How is the project going?\r\n'
answer bob '1: 3\r\n2: Fewer meetings\r\n\r\n-- \r\nBob Smith, Provider Ltd\r\n'
ans=$state/campaigns/demo/rounds/pulse
two() { [ "$(cat "$ans"/*/answers.jsonl 2>/dev/null | grep -c '"answers"')" -ge 2 ]; }
wait_for 60 two || fail "the answers were not recorded: $(tail -20 "$T/cocod.log")"

say "Recorded answers ($ans/*/answers.jsonl)"
cat "$ans"/*/answers.jsonl

say "Closing the round: the digest goes to every member"
ctl close demo/pulse
imap_wait_count ana 3 60 || fail "no digest for ana: $(tail -20 "$T/cocod.log")"
imap_fetch_all ana "$T/ana-after"
digest=$(grep -l "^Subject:.*[Dd]igest" "$T"/ana-after/*.eml | tail -1 || true)
[ -n "$digest" ] || digest=$(ls "$T"/ana-after/*.eml | tail -1)
say "The digest, read back from ana's mailbox over IMAPS ($(basename "$digest"))"
tr -d '\r' <"$digest" | sed -n '/^Subject:/p'
# The plain-text part, decoded.
python3 - "$digest" <<'PY'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
part = m.get_body(preferencelist=("plain",))
print(part.get_content() if part else m.get_payload())
PY

say "Done: stopping cocod, Postfix and Dovecot, removing $T"
