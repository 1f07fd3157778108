#!/usr/bin/env bash
# cococtl's command line (options before or after the command, help, exit codes) and its
# offline commands: check (like nginx -t) and render (byte for byte). The schedule checks
# and plan are in t-check.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# exit code of a command, its output in $out (stdout and stderr)
run() { set +e; out=$("$@" 2>&1); rc=$?; set -e; }

# The shipped example is valid (at a fixed instant: check looks at the schedule).
out=$("$COCOCTL" --config etc check --now '2026-11-20 12:00')
expect_match "$out" "configuration in etc is OK: 1 campaign"

# A copy with an unknown key, a duplicate round id and a bad time zone: three errors.
cp -r etc "$T/etc"
f=$T/etc/campaigns.d/onboarding.conf
sed -i 's/^TimeZone=Europe\/Helsinki/TimeZone=Europe\/Atlantis/' "$f"
sed -i 's/^Title=Weekly pulse/Title=Weekly pulse\nColour=blue/' "$f"
printf '\n[Round "ideas"]\nKind=prompt\nOpen=2026-12-20 09:00\nDuration=1d\n' >>"$f"
set +e
err=$("$COCOCTL" --config "$T/etc" check 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] || fail "check of a broken config exited $rc, expected 1"
n=$(grep -c "^$f:[0-9]*: " <<<"$err" || true)
[ "$n" -eq 3 ] || fail "expected 3 file:line: errors, got $n:
$err"
expect_match "$err" "Atlantis"
expect_match "$err" "Colour"
expect_match "$err" "ideas"

# --config after the command is the same as before it (cocod's hint says
# `cococtl check --config DIR`): the same three errors, not a check of /etc/coco.
run "$COCOCTL" check --config "$T/etc"
[ $rc -eq 1 ] || fail "check --config DIR exited $rc, expected 1: $out"
[ "$(grep -c "^$f:[0-9]*: " <<<"$out" || true)" -eq 3 ] || fail "check --config DIR did not check DIR: $out"
run "$COCOCTL" check --now '2026-11-20 12:00' --config=etc
[ $rc -eq 0 ] || fail "check --config=etc exited $rc: $out"

# Usage errors exit 2 and say how it is used; help exits 0.
for args in "check --bogus" "--bogus check" "frob" "rounds a b" "export" "plan" \
	"plan onboarding --weeks 0" "check --now tomorrow" "export x --format xml" "help frob" ""; do
	run "$COCOCTL" --config etc $args
	[ $rc -eq 2 ] || fail "cococtl $args exited $rc, expected 2: $out"
done
run "$COCOCTL" check --bogus
expect_match "$out" "unknown option --bogus"
expect_match "$out" "usage: cococtl .*check"
for c in check plan render mail-parse keygen status rounds open close remind digest export forget poll help; do
	run "$COCOCTL" "$c" --help
	[ $rc -eq 0 ] || fail "cococtl $c --help exited $rc"
	expect_match "$out" "^usage: cococtl .* $c"
	run "$COCOCTL" help "$c"
	[ $rc -eq 0 ] || fail "cococtl help $c exited $rc"
	expect_match "$out" "^usage: cococtl .* $c"
done
run "$COCOCTL" help export
expect_match "$out" "--history"
run "$COCOCTL" help
[ $rc -eq 0 ] || fail "cococtl help exited $rc"
expect_match "$out" "Exit codes: 0 done, 1 failed, 2 usage"
# Failures exit 1: no daemon to talk to, a campaign that does not exist.
run "$COCOCTL" --socket "$T/nosock" status
[ $rc -eq 1 ] || fail "status without cocod exited $rc, expected 1"
run "$COCOCTL" --config etc plan nosuch --now '2026-11-20 12:00'
[ $rc -eq 1 ] || fail "plan of an unknown campaign exited $rc, expected 1"

# A typo in a campaign file does not hide the daemon: the socket still comes from
# ControlSocket= of coco.conf (cocod runs on it and refuses the reload of the bad file).
cp -r etc "$T/sock-etc"
sed -i "s|^StateDirectory=.*|StateDirectory=$T/sock-state|; s|^ControlSocket=.*|ControlSocket=$T/ctl.sock|" "$T/sock-etc/coco.conf"
mkdir -m 0700 "$T/sock-secrets"
"$COCOCTL" keygen "$T/sock-secrets/coco-key" >/dev/null
# Not started yet: the message says where the socket path came from.
run "$COCOCTL" --config "$T/sock-etc" status
[ $rc -eq 1 ] || fail "status without cocod exited $rc: $out"
expect_match "$out" "cannot talk to cocod at $T/ctl.sock (ControlSocket= in $T/sock-etc/coco.conf)"
if grep -q "has errors" <<<"$out"; then fail "a valid config said to have errors: $out"; fi
CREDENTIALS_DIRECTORY=$T/sock-secrets COCO_TEST_NOW=$(date -d '2026-11-20 12:00' +%s) \
	"$COCOD" --config "$T/sock-etc" >"$T/sock-cocod.log" 2>&1 &
PIDS+=($!)
wait_for 30 "$COCOCTL" --config "$T/sock-etc" status >/dev/null 2>&1 ||
	fail "cocod did not start: $(cat "$T/sock-cocod.log")"
sed -i 's/^Votes=3/Votes=three/' "$T/sock-etc/campaigns.d/onboarding.conf"
run "$COCOCTL" --config "$T/sock-etc" status
[ $rc -eq 0 ] || fail "status with a typo in a campaign file exited $rc: $out"
expect_match "$out" "^cocod "
# An error in coco.conf itself does not hide the daemon either: its ControlSocket= line is
# read alone (trial 6: a typo'd key sent cococtl to the default socket).
cp "$T/sock-etc/coco.conf" "$T/sock-etc/coco.conf.good"
sed -i 's/^Connectors=/Conectors=/' "$T/sock-etc/coco.conf"
grep -q '^Conectors=' "$T/sock-etc/coco.conf" || fail "the test's coco.conf has no Connectors= to misspell"
run "$COCOCTL" --config "$T/sock-etc" check
[ $rc -eq 1 ] || fail "check of a coco.conf with a typo exited $rc: $out"
run "$COCOCTL" --config "$T/sock-etc" status
[ $rc -eq 0 ] || fail "status with a typo in coco.conf exited $rc: $out"
expect_match "$out" "^cocod "
cp "$T/sock-etc/coco.conf.good" "$T/sock-etc/coco.conf"
# coco.conf itself unreadable: the default socket, and the message says why (unless a
# real cocod listens there).
if [ ! -e /run/coco/control.sock ]; then
	mv "$T/sock-etc/coco.conf" "$T/sock-etc/coco.conf.off"
	run "$COCOCTL" --config "$T/sock-etc" status
	[ $rc -eq 1 ] || fail "status without coco.conf exited $rc: $out"
	expect_match "$out" "at /run/coco/control.sock (the default: $T/sock-etc/coco.conf cannot be read"
	expect_match "$out" "the configuration in $T/sock-etc has errors (see cococtl --config $T/sock-etc check)"
	mv "$T/sock-etc/coco.conf.off" "$T/sock-etc/coco.conf"
fi
# --socket is named as the source when it is the one given.
run "$COCOCTL" --socket "$T/nosock" status
expect_match "$out" "at $T/nosock (--socket)"

# render prints exactly the rendering: nothing added, nothing lost.
mkdir -p "$T/tpl"
printf 'Hello {{name}}{{> tail}}' >"$T/tpl/greet"
printf ', {{&html}}!' >"$T/tpl/tail"
printf '{"name":"A & B","html":"<b>"}' >"$T/data.json"
"$COCOCTL" render "$T/tpl/greet" "$T/data.json" >"$T/out"
printf 'Hello A &amp; B, <b>!' | cmp - "$T/out" || fail "render output differs"
mkdir -p "$T/parts"
printf '/{{name}}' >"$T/parts/tail"
"$COCOCTL" render --partials "$T/parts" "$T/tpl/greet" "$T/data.json" >"$T/out2"
printf 'Hello A &amp; B/A &amp; B' | cmp - "$T/out2" || fail "render --partials did not use DIR"

# A syntax error names the template, line and column.
printf 'line one\n  {{#open}}\n' >"$T/tpl/bad"
set +e
err=$("$COCOCTL" render "$T/tpl/bad" "$T/data.json" 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] || fail "render of a broken template exited $rc"
expect_match "$err" "bad:2:3:"

# The default templates render with sample data.
"$COCOCTL" render templates/survey.md tests/data/templates/survey.json >"$T/survey"
expect_match "$(cat "$T/survey")" "1: "
echo "t-cococtl: all checks passed"
