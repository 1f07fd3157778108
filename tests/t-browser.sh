#!/usr/bin/env bash
# The web view in a real browser (issue #12 item 5): Debian's chromium, headless, driven by
# playwright-core from npm (tests/browser/, `npm ci` from the committed lock file, no browser
# download) against a real cocod with Connectors=local web on a free loopback port:
#   the magic link opens the campaign, the stylesheet applies under the CSP; the form is
#   filled by its labels and sent, the confirmation shown, the form reloaded prefilled; no
#   sideways scrolling at 360 px; after close the figures show as SVG bars; no console
#   errors; an inline script injected into a page does not run (the CSP holds);
#   an altered and an expired link get 403 with how to get a new one, and no cookie; a form
#   with a forged CSRF token, a POST from another site's page (no SameSite=Strict cookie)
#   and the same POST replayed record nothing (one record in the store); with two members a
#   side (MinGroupSize=2; the other three answer through the form with curl), each side's
#   figures and the gap are in the page and in its SVG (bars per side, shares per option).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for tool in curl node npm; do
	command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh installs it)"
done
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (scripts/deps.sh installs it)"
unset NOTIFY_SOCKET WATCHDOG_USEC LISTEN_FDS LISTEN_PID LISTEN_FDNAMES
HERE=$(cd "$(dirname "$0")" && pwd)

# npm ci into a copy, so the source tree gets no node_modules from a test run.
cp "$HERE/browser/package.json" "$HERE/browser/package-lock.json" "$HERE/browser/web.mjs" "$T/"
# The system's CA store, also for npm and node: a site behind a TLS-inspecting proxy has its
# CA there, and npm's own bundled list does not know it.
npm_ca=()
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
	npm_ca=(--cafile /etc/ssl/certs/ca-certificates.crt)
	export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
# The npm registry is the one thing here not on this machine. Reached but refusing is a
# failure; not reachable at all (no route, or TLS to it not verifiable: a sandbox whose egress
# CA this root lacks) is said as SKIP with curl's reason, since no code of ours ran.
if ! (cd "$T" && npm ci --no-audit --no-fund --loglevel=error "${npm_ca[@]}") >"$T/npm.log" 2>&1; then
	if ! why=$(curl -sS --max-time 20 -o /dev/null https://registry.npmjs.org/ 2>&1); then
		echo "SKIP t-browser: the npm registry cannot be reached from here: $why"
		exit 0
	fi
	fail "npm ci failed: $(tail -n 20 "$T/npm.log")"
fi

mkdir -m 0700 "$T/secrets"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
export CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates

mkdir -p "$T/etc/campaigns.d"
cat >"$T/etc/campaigns.d/pilot.conf" <<'EOF2'
[Campaign]
Title=Pilot
TimeZone=UTC
Client=Acme
Provider=Northwind
MinGroupSize=2

[Member "ann"]
Name=Ann
Side=client
Email=ann@acme.example

[Member "carl"]
Name=Carl
Side=client
Email=carl@acme.example

[Member "bob"]
Name=Bob
Side=provider
Email=bob@northwind.example

[Member "dana"]
Name=Dana
Side=provider
Email=dana@northwind.example

[Round "kickoff"]
Kind=survey
Title=Kickoff
Duration=3d

[Question "kickoff/clarity"]
Kind=scale
Text=How clear are the goals?
Min=1
Max=5

[Question "kickoff/role"]
Kind=choice
Text=Your role?
Options=Decision maker|User

[Question "kickoff/tools"]
Kind=multi
Text=Which tools?
Options=Slack|Email|Phone

[Question "kickoff/wish"]
Kind=text
Text=One wish?
Required=no
EOF2

STATE=$T/state SOCK=$T/cocod.sock LOG=$T/cocod.log
ctl() { "$COCOCTL" --config "$T/etc" --socket "$SOCK" "$@"; }
write_conf() {
	printf '[Daemon]\nConnectors=local web\nListen=127.0.0.1:%s\n\n[Mail]\nFrom=coco@northwind.example\n\n[Web]\nBaseUrl=http://127.0.0.1:%s\n' \
		"$PORT" "$PORT" >"$T/etc/coco.conf"
}
start_cocod_on_free_port write_conf "$SOCK" "$LOG" --config "$T/etc" --state "$STATE"

LINK=$(ctl link ann --campaign pilot)
ctl open pilot/kickoff >/dev/null
(cd "$T" && node web.mjs refused "$LINK" "$(ctl link ann --campaign pilot --days 0)") ||
	fail "the refused phase failed; cocod: $(tail -20 "$LOG")"
(cd "$T" && node web.mjs answer "$LINK") || fail "the answer phase failed; cocod: $(tail -20 "$LOG")"
REC=$(cat "$STATE"/campaigns/pilot/rounds/kickoff/once/answers.jsonl)
[ "$(grep -c . <<<"$REC")" = 1 ] || fail "expected one record (forged, cross-site and replayed POSTs record nothing): $REC"
# The others answer through the form too (curl as their browser): clarity and role.
answer_as() { # answer_as MEMBER CLARITY ROLE_LETTER
	local q jar=$T/jar-$1
	q=$(ctl link "$1" --campaign pilot); q=${q#*\?}
	curl -sS --max-time 30 -c "$jar" -o "$T/form-$1" "http://127.0.0.1:$PORT/c/pilot/kickoff/form?$q"
	local csrf nonce
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form-$1")
	nonce=$(sed -n 's/.*name="nonce" value="\([0-9a-f]*\)".*/\1/p' "$T/form-$1")
	[ -n "$csrf" ] && [ -n "$nonce" ] || fail "no form for $1: $(cat "$T/form-$1")"
	[ "$(curl -sS --max-time 30 -b "$jar" -o /dev/null -w '%{http_code}' \
		--data-binary "csrf=$csrf&nonce=$nonce&occurrence=once&q1=$2&q2=$3&q3=b" \
		"http://127.0.0.1:$PORT/c/pilot/kickoff/form")" = 200 ] || fail "$1's answer was refused"
}
answer_as carl 5 b
answer_as bob 2 a
answer_as dana 3 a
expect_match "$REC" '"via":"web"'
expect_match "$REC" '"tools":\["Slack","Phone"\]'
ctl close pilot/kickoff >/dev/null
(cd "$T" && node web.mjs figures "$LINK") || fail "the figures phase failed; cocod: $(tail -20 "$LOG")"
kill "$PID"; wait "$PID" 2>/dev/null || true
grep -q "ERROR\|runtime error\|AddressSanitizer" "$LOG" && fail "cocod logged an error: $(cat "$LOG")"
echo "t-browser: ok"
