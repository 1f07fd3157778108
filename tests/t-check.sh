#!/usr/bin/env bash
# cococtl check simulates the whole schedule and reports, at FILE:LINE, what would go wrong
# at run time; cococtl plan prints that simulated timeline. Every run pins "now" with --now.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# The key as systemd would pass it (LoadCredential=); the checks of a missing one are below.
mkdir -p "$T/cred"
"$COCOCTL" keygen "$T/cred/coco-key" >/dev/null
export CREDENTIALS_DIRECTORY=$T/cred
NOW='2026-11-20 12:00'
run() { set +e; out=$("$@" 2>&1); rc=$?; set -e; }
# line N of FILE holding PATTERN (first match)
line_of() { grep -n -- "$2" "$1" | head -1 | cut -d: -f1; }

# ---- every mistake at once, each flagged once at its line ----
cfg=$T/etc
mkdir -p "$cfg/campaigns.d" "$T/secrets"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
chmod 644 "$T/secrets/coco-key"
cat >"$cfg/coco.conf" <<EOF
[Daemon]
StateDirectory=$T/state
[Secrets]
Directory=$T/secrets
EOF
c=$cfg/campaigns.d/m.conf
cat >"$c" <<'EOF'
[Campaign]
TimeZone=Europe/Helsinki
QuietHours=21:00-08:00
MinGroupSize=2

[Member "ana"]
Side=client
Email=ana@client.example

[Member "dee"]
Side=provider
Email=
Slack=U0DEE1234

# Sent by hand: legal, nothing to say. (A prompt without Open= would be legal too, but
# then nobody can tell which digests find a round open.)
[Round "byhand"]
Kind=announce

# Its whole window is before now: it would never run.
[Round "past"]
Kind=prompt
Open=2026-11-02 09:00
Close=2026-11-05 17:00

# A reminder three days before the close of a two-day round.
[Round "early"]
Kind=prompt
Open=2026-12-01 09:00
Duration=48h
Remind=-1d,-3d

# Daily, open for two days: each occurrence overlaps the next.
[Round "daily"]
Kind=prompt
Open=2026-12-01 09:00
Repeat=FREQ=DAILY;COUNT=5
Duration=2d

[Round "ideas"]
Kind=prompt
Open=2026-12-01 09:00
Close=2026-12-10 17:00

# Anonymous, with groups of two shown apart (MinGroupSize=2).
[Round "candid"]
Kind=prompt
Anonymous=yes
Open=2026-12-01 09:00
Duration=1d

# Opens while "ideas" still collects.
[Round "vote"]
Kind=vote
Source=ideas
Open=2026-12-08 09:00
Close=2026-12-12 17:00

# Sundays at noon until the last close: only Dec 6 finds a round open.
[Digest]
Repeat=FREQ=WEEKLY;BYDAY=SU;BYHOUR=12;BYMINUTE=0
EOF
run "$COCOCTL" check --config "$cfg" --now "$NOW"
[ $rc -eq 1 ] || fail "check of the mistakes exited $rc, expected 1: $out"
expect_finding() { # FILE PATTERN-OF-LINE SEVERITY MESSAGE-PART
	local n
	n=$(line_of "$1" "$2")
	grep -q -- "^$1:$n: $3: .*$4" <<<"$out" || fail "expected $1:$n: $3: ...$4 in:
$out"
}
expect_finding "$c" "^Open=2026-11-02" error "never run"
expect_finding "$c" "^Remind=-1d,-3d" error "Remind=-3d falls on 2026-11-30 09:00, before the round opens"
expect_finding "$c" "^Duration=2d" error "occurrences overlap"
expect_finding "$c" "^Open=2026-12-08" error "Source= round \"ideas\" is still open (until 2026-12-10 17:00)"
expect_finding "$c" "^Repeat=FREQ=WEEKLY;BYDAY=SU" warning "2 of its 3 digests until the last close (2026-12-12 17:00)"
expect_finding "$c" "^Email=$" warning "member dee: Email= is empty"
expect_finding "$c" '^\[Round "candid"\]' warning 'round "candid" is anonymous and MinGroupSize=2'
expect_finding "$cfg/coco.conf" "^Directory=" error "readable by others (mode 0644)"
# One mistake, one finding: eight in all, nothing about the round opened by hand.
n=$(grep -c ": \(error\|warning\): " <<<"$out" || true)
[ "$n" -eq 8 ] || fail "expected 8 findings, got $n:
$out"
if grep -q byhand <<<"$out"; then fail "a round without Open= was flagged: $out"; fi
expect_match "$out" "would fail at run time: 5 errors (3 warnings)"

# A round the daemon has already run is not held to its past Open=.
mkdir -p "$T/state/campaigns/m"
echo '{"v":1,"rounds":{"past":{"state":"digested","occurrence":"once"}}}' >"$T/state/campaigns/m/state.json"
run "$COCOCTL" check --config "$cfg" --now "$NOW"
if grep -q "never run" <<<"$out"; then fail "a round that ran was flagged: $out"; fi
[ "$(grep -c ": \(error\|warning\): " <<<"$out")" -eq 7 ] || fail "expected 7 findings: $out"

# A state that cannot be read (here a directory; for an admin without the daemon's rights,
# EACCES): whether the round ran is unknown, so a warning and no error.
rm "$T/state/campaigns/m/state.json"
mkdir "$T/state/campaigns/m/state.json"
run "$COCOCTL" check --config "$cfg" --now "$NOW"
expect_finding "$c" "^Open=2026-11-02" warning "cannot be read to tell whether it ran"
if grep -q "never run" <<<"$out"; then fail "an unknown state gave an error: $out"; fi

# A [Secrets] directory that does not exist.
sed -i "s|^Directory=.*|Directory=$T/nowhere|" "$cfg/coco.conf"
run "$COCOCTL" check --config "$cfg" --now "$NOW"
expect_match "$out" "^$cfg/coco.conf:4: error: \[Secrets\] Directory=$T/nowhere does not exist"

# A bad date is one error, from the loader; nothing is simulated after it (no knock-on
# about the vote whose source has no valid Open=, or about the digest).
sed -i 's|^Open=2026-12-01 09:00$|Open=2026-12-41 09:00|' "$c"
run "$COCOCTL" check --config "$cfg" --now "$NOW"
[ $rc -eq 1 ] || fail "check with a bad date exited $rc"
[ "$(grep -c "^$c:[0-9]*: " <<<"$out")" -eq 4 ] || fail "expected one error per bad Open= (4): $out"
if grep -q ": \(error\|warning\): " <<<"$out"; then fail "schedule findings after a load error: $out"; fi

# The only Open= has a bad date and [Digest] repeats: one error, not also "no round has
# Open=" for the digest.
mkdir -p "$T/one/campaigns.d"
printf '[Daemon]\nStateDirectory=%s/state\n' "$T" >"$T/one/coco.conf"
printf '[Member "a"]\nSide=client\nEmail=a@x.example\n[Round "r"]\nKind=prompt\nOpen=2026-02-30 09:00\nDuration=1d\n[Digest]\nRepeat=FREQ=WEEKLY\n' >"$T/one/campaigns.d/one.conf"
run "$COCOCTL" check --config "$T/one" --now "$NOW"
[ $rc -eq 1 ] || fail "check with a bad date exited $rc"
[ "$(grep -c "one.conf:[0-9]*: " <<<"$out")" -eq 1 ] || fail "one bad date, not one error: $out"
expect_match "$out" "one.conf:6: Open=2026-02-30 09:00"

# A Monday-to-Thursday pulse with a Friday digest (issue #7's admin): no round is open on
# Friday, and still each digest covers the pulse that closed on Thursday. Neither a
# warning nor an error; the plan shows what each Friday digest covers.
mkdir -p "$T/pulse/campaigns.d"
printf '[Daemon]\nStateDirectory=%s/state\n' "$T" >"$T/pulse/coco.conf"
printf '[Campaign]\nTimeZone=UTC\n[Member "a"]\nSide=client\nEmail=a@x.example\n[Round "pulse"]\nKind=survey\nOpen=2026-12-07 09:00\nRepeat=FREQ=WEEKLY;COUNT=3\nDuration=3d8h\n[Question "pulse/mood"]\nKind=scale\nText=Mood?\nMin=1\nMax=5\n[Digest]\nRepeat=FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0\n' >"$T/pulse/campaigns.d/pulse.conf"
run "$COCOCTL" check --config "$T/pulse" --now "$NOW"
[ $rc -eq 0 ] || fail "the Friday digest of a Monday-Thursday pulse: check exited $rc: $out"
if grep -q "warning\|error" <<<"$out"; then fail "the Friday digest of a Monday-Thursday pulse: $out"; fi
plan=$("$COCOCTL" plan pulse --config "$T/pulse" --now "$NOW")
[ "$(grep -cE '^Fri 2026-12-(11|18|25) 16:00 UTC +digest +periodic, shows pulse ' <<<"$plan")" -eq 3 ] ||
	fail "expected three Friday digests showing the pulse: $plan"

# Every round opened by hand, a weekly digest: Start= is required (config.md says so), and
# with it the admin is warned that the digests depend on rounds opened by hand.
mkdir -p "$T/hand/campaigns.d"
printf '[Daemon]\nStateDirectory=%s/state\n' "$T" >"$T/hand/coco.conf"
printf '[Campaign]\nTimeZone=UTC\n[Member "a"]\nSide=client\nEmail=a@x.example\n[Round "r"]\nKind=prompt\nDuration=2d\n[Digest]\nRepeat=FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0\n' >"$T/hand/campaigns.d/hand.conf"
run "$COCOCTL" check --config "$T/hand" --now "$NOW"
[ $rc -eq 1 ] || fail "every round by hand, no Start=: check exited $rc: $out"
expect_match "$out" "hand.conf:$(line_of "$T/hand/campaigns.d/hand.conf" '^\[Digest\]'): \[Digest\] repeats but no round has Open=: expected Start="
printf 'Start=2026-12-04 16:00\n' >>"$T/hand/campaigns.d/hand.conf"
run "$COCOCTL" check --config "$T/hand" --now "$NOW"
[ $rc -eq 0 ] || fail "every round by hand, with Start=: check exited $rc: $out"
expect_finding "$T/hand/campaigns.d/hand.conf" "^Repeat=FREQ=WEEKLY" warning "every round opens by hand"

# ---- the example passes, and its plan is what an admin expects ----
run "$COCOCTL" --config etc check --now "$NOW"
[ $rc -eq 0 ] || fail "the example does not pass check: $out"
if grep -q "warning" <<<"$out"; then fail "the example has warnings: $out"; fi
# Ten days later the kickoff's Open= is past and it has not run: an error.
run "$COCOCTL" --config etc check --now '2026-12-05 12:00'
[ $rc -eq 1 ] || fail "check ten days on exited $rc"
expect_finding etc/campaigns.d/onboarding.conf "^Open=2026-12-01 09:00" error 'round "kickoff"'

plan=$("$COCOCTL" plan onboarding --config etc --now "$NOW")
expect_plan() { grep -qE -- "$1" <<<"$plan" || fail "expected /$1/ in the plan:
$plan"; }
expect_plan '^Tue 2026-12-01 09:00 Europe/Helsinki +open +kickoff +aino, mikko, sofia, jonas, lena$'
expect_plan '^Tue 2026-12-01 02:00 America/New_York +open +kickoff +grace$'
# Reminders one day and four hours before Friday 17:00. Grace's second would reach her at
# 06:00 in New York, inside the quiet hours: it moves to 21:00 the evening before.
expect_plan '^Thu 2026-12-03 17:00 Europe/Helsinki +remind +kickoff \(reminder 1\) +aino, mikko, sofia, jonas, lena$'
expect_plan '^Thu 2026-12-03 10:00 America/New_York +remind +kickoff \(reminder 1\) +grace$'
expect_plan '^Thu 2026-12-03 21:00 America/New_York +remind +kickoff \(reminder 2\) +grace$'
expect_plan '^Fri 2026-12-04 13:00 Europe/Helsinki +remind +kickoff \(reminder 2\) +aino, mikko, sofia, jonas, lena$'
expect_plan '^Fri 2026-12-04 17:00 Europe/Helsinki +close +kickoff *$'
expect_plan '^Fri 2026-12-04 17:00 Europe/Helsinki +digest +kickoff \(on close\) +aino, mikko, sofia, jonas, lena$'
expect_plan '^Fri 2026-12-11 16:00 Europe/Helsinki +digest +periodic, shows kickoff, ideas, pulse +aino, mikko, sofia, jonas, lena$'
expect_plan '^Mon 2026-12-14 09:00 Europe/Helsinki +open +pulse 2026-12-14 '
# The vote has MaxReminders=1: the later of its two, two hours before the close.
expect_plan '^Wed 2026-12-16 15:00 Europe/Helsinki +remind +vote \(reminder 1\) '
[ "$(grep -c 'remind  *vote' <<<"$plan")" -eq 2 ] || fail "vote reminders: $(grep vote <<<"$plan")"
# Six weeks from Nov 20 end on Jan 1; nothing opens before Dec 1.
if grep -qE '^[A-Z][a-z]{2} (2026-11|2027-01-0[2-9])' <<<"$plan"; then fail "plan outside its six weeks: $plan"; fi

# [Digest] has no Start=: the first Open= (Tue 2026-12-01 09:00) stands in for it, and cocod
# sends no digest then (RFC 5545 would count it); neither does the plan show one.
plan=$("$COCOCTL" --config etc plan onboarding --weeks 2 --now '2026-12-01 08:00')
if grep -qE '^Tue 2026-12-01 09:00 .* digest +periodic' <<<"$plan"; then fail "a periodic digest at the first Open=: $plan"; fi
expect_plan '^Fri 2026-12-11 16:00 Europe/Helsinki +digest +periodic, shows kickoff, ideas, pulse '

# plan says it works from the configuration; what cocod's state.json says has run is left
# out (kickoff digested, pulse 2026-12-14 over, the vote open now).
expect_plan '^# from the configuration only: rounds opened or closed by hand are not reflected; see cococtl rounds$'
cp -r etc "$T/ran"
sed -i "s|^StateDirectory=.*|StateDirectory=$T/ran-state|" "$T/ran/coco.conf"
mkdir -p "$T/ran-state/campaigns/onboarding"
echo '{"v":1,"rounds":{"kickoff":{"state":"digested","occurrence":"once"},"pulse":{"state":"scheduled","prev":"2026-12-14"},"vote":{"state":"open","occurrence":"once"}}}' \
	>"$T/ran-state/campaigns/onboarding/state.json"
plan=$("$COCOCTL" --config "$T/ran" plan onboarding --now "$NOW")
if grep -v '^#' <<<"$plan" | grep -qE '(open|remind|close|digest) +kickoff|pulse 2026-12-(07|14)|open +vote'; then fail "the plan shows what ran: $plan"; fi
expect_plan '^# round kickoff is digested, occurrence once \(cocod.s state.json\)'
expect_plan '^# round pulse ran until occurrence 2026-12-14 '
expect_plan '^Mon 2026-12-21 09:00 Europe/Helsinki +open +pulse 2026-12-21 '
expect_plan 'close +vote'
# Without a state (a fresh install) everything is shown.
rm -r "$T/ran-state"
plan=$("$COCOCTL" --config "$T/ran" plan onboarding --now "$NOW")
expect_plan 'open +kickoff'

# One member, in their own time zone only.
plan=$("$COCOCTL" --config etc plan onboarding --member grace --weeks 2 --now "$NOW")
expect_plan '^Thu 2026-12-03 21:00 America/New_York +remind +kickoff \(reminder 2\) +grace$'
if grep -qE 'aino|Europe/Helsinki +(open|remind)' <<<"$plan"; then fail "--member grace shows others: $plan"; fi
plan=$("$COCOCTL" --config etc plan onboarding --weeks 1 --now "$NOW")
expect_plan '^# nothing is scheduled'

# A repeating round whose Open= its Repeat= does not give (a Wednesday, BYDAY=MO): RFC 5545
# still makes it the first occurrence, an extra one; a warning at the Open= line.
cp -r etc "$T/wed"
w=$T/wed/campaigns.d/onboarding.conf
n=$(line_of "$w" '^Repeat=FREQ=WEEKLY;BYDAY=MO')
[ -n "$n" ] || fail "the example has no weekly BYDAY=MO round"
sed -i "$((n - 1))s/^Open=.*/Open=2026-12-09 09:00/" "$w"
grep -q '^Open=2026-12-09 09:00$' "$w" || fail "expected Open= just above Repeat= in $w"
run "$COCOCTL" --config "$T/wed" check --now "$NOW"
[ $rc -eq 0 ] || fail "a mismatched Open= is an error, expected a warning: $out"
expect_finding "$w" "^Open=2026-12-09 09:00" warning "Open=2026-12-09 09:00 is not a time its Repeat= gives.*the rule's first is 2026-12-14 09:00"
[ "$(grep -c ": warning: " <<<"$out")" -eq 1 ] || fail "expected one warning: $out"

# A survey that closes Friday 09:00 and a Friday 16:00 digest: the scheduled rounds alone
# leave every digest empty. A prompt opened by hand may fill them, so a warning that names it
# (trial S3-12: check used to say nothing here), not an error.
mkdir -p "$T/fri/campaigns.d"
cp etc/coco.conf "$T/fri/"
fr=$T/fri/campaigns.d/f.conf
cat >"$fr" <<'EOF2'
[Campaign]
TimeZone=Europe/Berlin
[Member "ana"]
Side=client
Email=ana@client.example
[Round "retro"]
Kind=survey
Open=2026-12-07 09:00
Repeat=FREQ=MONTHLY;BYDAY=1MO
Duration=4d
[Question "retro/q"]
Kind=scale
Text=How was it?
[Round "ideas"]
Kind=prompt
Duration=2d
[Digest]
Repeat=FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0
EOF2
run "$COCOCTL" --config "$T/fri" check --now "$NOW"
[ $rc -eq 0 ] || fail "digests a hand-opened round may fill are an error: $out"
expect_finding "$fr" "^Repeat=FREQ=WEEKLY;BYDAY=FR" warning "would find none of the scheduled rounds open.*a round opened by hand (ideas)"

# No key anywhere: check says cocod will not start, as a warning (the key may come with
# systemd's LoadCredential= at run time).
run env -u CREDENTIALS_DIRECTORY "$COCOCTL" --config etc check --now "$NOW"
expect_match "$out" "warning: no secret key here: cocod reads coco-key"
# No templates where cocod will look: an error naming them and the directories.
run env COCO_TEMPLATE_DIR=$T/none "$COCOCTL" --config etc check --now "$NOW"
[ $rc -eq 1 ] || fail "check without templates exited $rc"
expect_match "$out" "message templates missing: prompt.md"
expect_match "$out" "$T/none"
echo "t-check: all checks passed"
