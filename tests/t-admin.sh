#!/usr/bin/env bash
# What an admin reads back from cococtl on a running cocod (the new-admin trial's S3-13,
# S3-15, S3-10): `remind` twice does not mail everyone twice and says whom it skipped and
# why; `close` on a repeating round opened early says which occurrence it closed (not the
# next one's "scheduled"); `status` counts the mail nothing could be recorded from and says
# where it is kept.
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
cat >"$cfg/campaigns.d/t.conf" <<'EOF'
[Campaign]
Title=Admin test
TimeZone=Europe/Berlin

[Member "ana"]
Side=client
Email=ana@client.example

[Member "bob"]
Side=provider
Email=bob@provider.example

[Round "pulse"]
Kind=survey
Open=2030-01-07 09:00
Repeat=FREQ=WEEKLY;BYDAY=MO
Duration=2d

[Question "pulse/mood"]
Kind=scale
Text=How is it going?
EOF
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates \
	start_cocod "$sock" "$T/cocod.log" --config "$cfg" --state "$state"
ctl() { "$COCOCTL" --config "$cfg" "$@"; }
outbox=$state/local/outbox inbox=$state/local/inbox
reminders() { grep -l '^Subject: Reminder' "$outbox"/new/* 2>/dev/null | wc -l; }

# Opened early, by hand: the occurrence is the one scheduled for 7 January.
out=$(ctl open t/pulse)
expect_match "$out" "^t/pulse: open (occurrence 2030-01-07)$"
wait_for 10 bash -c "[ \$(ls '$outbox/new' | wc -l) -ge 2 ]" || fail "no invitations: $(cat "$T/cocod.log")"

# Right after the invitation a reminder is only noise: nobody is reminded, the admin is told.
out=$(ctl remind t/pulse)
expect_match "$out" "^t/pulse: open (occurrence 2030-01-07), 0 reminders queued$"
expect_match "$out" "^skipped 2 members:$"
expect_match "$out" "^(--force reminds those invited or reminded in the last 12 hours too)$"
expect_match "$out" "^  ana: invited 0 minutes ago$"
out=$(ctl remind t/pulse --force)
expect_match "$out" "2 reminders queued"
wait_for 10 bash -c "[ \$(grep -l '^Subject: Reminder' '$outbox'/new/* 2>/dev/null | wc -l) -eq 2 ]" ||
	fail "the forced reminders did not go out"
# The same command again: nothing more.
out=$(ctl remind t/pulse)
expect_match "$out" "0 reminders queued"
expect_match "$out" "^  bob: reminded 0 minutes ago$"
sleep 0.5
[ "$(reminders)" -eq 2 ] || fail "remind twice mailed twice: $(reminders) reminders"

# A stranger writes: nothing recorded, and status says so and where to look.
mkdir -p "$inbox/tmp" "$inbox/new"
printf 'From: eve@elsewhere.example\r\nTo: coco@provider.example\r\nSubject: hi\r\nMessage-ID: <t-admin-1@elsewhere.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCan I join?\r\n' >"$inbox/tmp/m1"
mv "$inbox/tmp/m1" "$inbox/new/m1"
ctl poll
wait_for 10 test -s "$state/rejected/messages.jsonl" || fail "the stranger's mail was not kept"
out=$(ctl status)
expect_match "$out" "^rejected:   1 message kept in $state/rejected/messages.jsonl, the last .* (each with the reason)$"
grep -q '"reason":"unknown sender' "$state/rejected/messages.jsonl" || fail "no reason kept"

# Closed: what was closed, and what comes next.
out=$(ctl close t/pulse)
expect_match "$out" "^t/pulse: occurrence 2030-01-07 closed (digest sent); next occurrence 2030-01-14 scheduled$"
echo "t-admin: all checks passed"
