#!/usr/bin/env bash
# cococtl's offline commands: check (like nginx -t) and render (byte for byte).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The shipped example is valid.
out=$("$COCOCTL" --config etc check)
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
