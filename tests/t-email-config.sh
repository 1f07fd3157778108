#!/usr/bin/env bash
# An admin's mistakes in the email channel's settings: a mistyped SMTP URL scheme or IMAP
# TLS= is found by `cococtl check` at its line, and a reload carrying one is refused with
# the email channel left running (trial 6: the reload was applied and the channel stopped,
# with no mail sent or read and `status` saying both "reloaded" and "refused").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cfg=$T/etc
mkdir -p "$cfg/campaigns.d" "$T/secrets"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
# Nothing listens on the SMTP port: the channel starts without connecting (mail is sent
# only when there is some), which is all this test needs.
SMTP_PORT=$(free_port 127.0.0.1)
write_conf() { # write_conf SMTP_URL IMAP_TLS [SMTP_USER]
	cat >"$cfg/coco.conf" <<EOT
[Daemon]
StateDirectory=$T/state
Connectors=email
[Secrets]
Directory=$T/secrets
[Mail]
From=coco@provider.example
[SMTP]
Url=$1
StartTLSOptional=yes
${3:+User=$3}
[IMAP]
TLS=$2
EOT
}
cat >"$cfg/campaigns.d/c.conf" <<'EOT'
[Campaign]
Title=Config trial
TimeZone=UTC
[Member "ana"]
Side=client
Email=ana@client.example
[Round "pulse"]
Kind=survey
Duration=3d
[Question "pulse/q"]
Kind=scale
Text=How is it going?
EOT
run() { set +e; out=$("$@" 2>&1); rc=$?; set -e; }

# ---- cococtl check: both mistakes, each at its line ----
write_conf "smpt://127.0.0.1:$SMTP_PORT" ssl
run "$COCOCTL" --config "$cfg" check
[ $rc -ne 0 ] || fail "check accepted Url=smpt:// and TLS=ssl: $out"
expect_match "$out" "coco.conf:9: Url=smpt://127.0.0.1:$SMTP_PORT: expected smtp://host:587"
expect_match "$out" "coco.conf:13: TLS=ssl: expected imaps, starttls or none"
grep -q "needs Url=" <<<"$out" && fail "a wrong Url= is also said missing: $out"

write_conf "smtp://127.0.0.1:$SMTP_PORT" none
run "$COCOCTL" --config "$cfg" check
[ $rc -eq 0 ] || fail "check refused a good email config: $out"

# ---- a reload with the mistake: refused, the email channel keeps running ----
start_cocod "$T/sock" "$T/cocod.log" --config "$cfg"
out=$("$COCOCTL" --socket "$T/sock" status)
expect_match "$out" "^connectors: email"
write_conf "smpt://127.0.0.1:$SMTP_PORT" none
kill -HUP "$PID"
wait_for 30 grep -q "reload refused" "$T/cocod.log" || fail "no refusal in the log: $(cat "$T/cocod.log")"
out=$("$COCOCTL" --socket "$T/sock" status)
expect_match "$out" "^connectors: email"
expect_match "$out" "reloads:    0"
expect_match "$out" "last reload refused: .*expected smtp://host:587"
grep -q "cannot start the email channel" "$T/cocod.log" && fail "the email channel was restarted"
# Fixed: applied, nothing said refused, nothing said not running.
write_conf "smtp://127.0.0.1:$SMTP_PORT" none
kill -HUP "$PID"
wait_for 30 grep -q "configuration reloaded" "$T/cocod.log" || fail "the fixed config was not applied"
out=$("$COCOCTL" --socket "$T/sock" status)
expect_match "$out" "reloads:    1"
grep -q "refused\|not running" <<<"$out" && fail "status after a good reload: $out"

# ---- a reload the channel cannot start with (its password file is missing): applied,
# and status says the channel is not running rather than that the reload was refused ----
write_conf "smtp://127.0.0.1:$SMTP_PORT" none bob
kill -HUP "$PID"
wait_for 30 grep -q "a channel in Connectors= did not start" "$T/cocod.log" ||
	fail "no error for the channel that did not start: $(cat "$T/cocod.log")"
out=$("$COCOCTL" --socket "$T/sock" status)
expect_match "$out" "reloads:    2"
expect_match "$out" "^not running: email (in Connectors= but did not start: see cocod's log"
grep -q "refused" <<<"$out" && fail "an applied reload said refused: $out"
echo "t-email-config: all checks passed"
