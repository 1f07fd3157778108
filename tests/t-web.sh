#!/usr/bin/env bash
# The web view end to end: the real (sanitized) cocod with Connectors=local web on a free
# loopback port, and curl as the member's browser (a cookie jar).
#   cococtl link → the page answers 200 with CSP, X-Frame-Options, nosniff and an HttpOnly,
#   SameSite=Strict cookie; the cookie alone opens the pages afterwards;
#   an altered signature, another member's id, an expired link (--days 0), a link used
#   for another campaign, no link at all → 403 with how to get a new link;
#   the form of an open round: POST → the confirmation, answers.jsonl has it via "web";
#   the same POST again → recorded once; a forged CSRF token → 403, nothing recorded;
#   the form again → prefilled; the round closed → its figures with SVG bars;
#   export.csv: the member's CSV (read back with Python's csv), an anonymous round without
#   pseudonyms, times or small sides; no link, an altered or expired one, another
#   campaign's link or cookie → 403.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is missing (scripts/deps.sh installs it)"
unset NOTIFY_SOCKET WATCHDOG_USEC LISTEN_FDS LISTEN_PID LISTEN_FDNAMES

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

[Member "ann"]
Name=Ann
Side=client
Email=ann@acme.example

[Member "bob"]
Name=Bob
Side=provider
Email=bob@northwind.example

[Round "kickoff"]
Kind=survey
Title=Kickoff
Duration=3d

[Question "kickoff/clarity"]
Kind=scale
Text=How clear are the goals?
Min=1
Max=5
MinLabel=not clear
MaxLabel=crystal clear

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

[Round "pulse"]
Kind=survey
Title=Pulse
Anonymous=yes
Duration=3d

[Question "pulse/mood"]
Kind=scale
Text=Mood?

[Question "pulse/ease"]
Kind=scale
Text=Ease?

[Question "pulse/note"]
Kind=text
Text=Anything else?
Required=no
EOF2
cat >"$T/etc/campaigns.d/other.conf" <<'EOF2'
[Campaign]
Title=Other
TimeZone=UTC

[Member "ann"]
Name=Ann
Side=client
Email=ann@acme.example

[Round "r"]
Kind=prompt
Title=R
Duration=3d
EOF2

# A weekly round that ran three times (its answers seeded below), two members a side.
cat >"$T/etc/campaigns.d/trend.conf" <<'EOF2'
[Campaign]
Title=Trend
TimeZone=UTC
Client=Acme
Provider=Northwind
MinGroupSize=2

[Member "ann"]
Name=Ann
Side=client
Email=ann@acme.example

[Member "cid"]
Name=Cid
Side=client
Email=cid@acme.example

[Member "bob"]
Name=Bob
Side=provider
Email=bob@northwind.example

[Member "dee"]
Name=Dee
Side=provider
Email=dee@northwind.example

[Round "weekly"]
Kind=survey
Title=Weekly
Open=2099-01-05 09:00
Repeat=FREQ=WEEKLY;BYDAY=MO
Duration=3d

[Question "weekly/mood"]
Kind=scale
Text=Mood?
Min=1
Max=5

[Round "ideas"]
Kind=prompt
Title=Ideas
Duration=3d

[Round "pick"]
Kind=vote
Title=Pick
Source=ideas
Votes=3
Duration=3d
EOF2

STATE=$T/state
# Three weeks of the weekly round. Client means 2.0, 3.5, 4.5; provider 4.0, 4.0, and in
# the third week one answer only (fewer than MinGroupSize=2: no mean, the line stops).
TW=(2026-01-05 2026-01-12 2026-01-19)
TC=("1 3" "3 4" "4 5") TP=("4 4" "3 5" "2")
for i in 0 1 2; do
	d="$STATE/campaigns/trend/rounds/weekly/${TW[$i]}"
	mkdir -p "$d"
	read -r c1 c2 <<<"${TC[$i]}"
	read -r p1 p2 <<<"${TP[$i]}"
	{
		echo "{\"key\":\"w$i-a\",\"v\":1,\"at\":1767600000,\"member\":\"ann\",\"side\":\"client\",\"via\":\"email\",\"answers\":{\"mood\":\"$c1\"}}"
		echo "{\"key\":\"w$i-c\",\"v\":1,\"at\":1767600060,\"member\":\"cid\",\"side\":\"client\",\"via\":\"email\",\"answers\":{\"mood\":\"$c2\"}}"
		echo "{\"key\":\"w$i-b\",\"v\":1,\"at\":1767600120,\"member\":\"bob\",\"side\":\"provider\",\"via\":\"email\",\"answers\":{\"mood\":\"$p1\"}}"
		[ -z "${p2:-}" ] || echo "{\"key\":\"w$i-d\",\"v\":1,\"at\":1767600180,\"member\":\"dee\",\"side\":\"provider\",\"via\":\"email\",\"answers\":{\"mood\":\"$p2\"}}"
	} >"$d/answers.jsonl"
	p2=
done
# An anonymous round that ran before (records as the store keeps them, pseudonyms for
# members): mood has 3 client answerers and 1 provider, ease 3 and 3 (p6's later 5
# supersedes its 4); p1's note names its writer.
mkdir -p "$STATE/campaigns/pilot/rounds/pulse/once"
cat >"$STATE/campaigns/pilot/rounds/pulse/once/answers.jsonl" <<'EOF2'
{"key":"anon-seed1","v":1,"at":1796630400,"pseudo":"00000000000000p1","side":"client","via":"email","answers":{"mood":"4","ease":"2","note":"Carol here, from finance"}}
{"key":"anon-seed2","v":1,"at":1796630460,"pseudo":"00000000000000p2","side":"client","via":"email","answers":{"mood":"5","ease":"3"}}
{"key":"anon-seed3","v":1,"at":1796630520,"pseudo":"00000000000000p3","side":"client","via":"email","answers":{"mood":"3","ease":"3"}}
{"key":"anon-seed4","v":1,"at":1796630580,"pseudo":"00000000000000p4","side":"provider","via":"email","answers":{"mood":"1","ease":"5"}}
{"key":"anon-seed5","v":1,"at":1796630640,"pseudo":"00000000000000p5","side":"provider","via":"email","answers":{"ease":"4"}}
{"key":"anon-seed6","v":1,"at":1796630700,"pseudo":"00000000000000p6","side":"provider","via":"email","answers":{"ease":"4"}}
{"key":"anon-seed7","v":1,"at":1796630760,"pseudo":"00000000000000p6","side":"provider","via":"email","answers":{"ease":"5"}}
EOF2
SOCK=$T/cocod.sock
LOG=$T/cocod.log
ctl() { "$COCOCTL" --config "$T/etc" --socket "$SOCK" "$@"; }
write_conf() {
	cat >"$T/etc/coco.conf" <<EOF2
[Daemon]
Connectors=${CONNECTORS:-local web}
Listen=127.0.0.1:$PORT

[Mail]
From=coco@northwind.example

[Web]
BaseUrl=http://127.0.0.1:$PORT
EOF2
}
start() { start_cocod_on_free_port write_conf "$SOCK" "$LOG" --config "$T/etc" --state "$STATE"; }
JAR=$T/jar
get() { # get URL [curl options]: the status; body in $T/body, headers in $T/headers
	local url=$1; shift
	curl -sS --max-time 30 -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" "$url" || true
}
answers() { cat "$STATE"/campaigns/pilot/rounds/kickoff/*/answers.jsonl 2>/dev/null | grep -c . || true; }

start
expect_match "$(cat "$LOG")" "web: the web view on GET /c/"

# ---- the link ----
LINK=$(ctl link ann --campaign pilot)
expect_match "$LINK" "^http://127.0.0.1:$PORT/c/pilot/?m=ann&e=[0-9]*&s=[0-9a-f]\{32\}$"
code=$(get "$LINK" -c "$JAR")
[ "$code" = 200 ] || fail "the link answered $code: $(cat "$T/body") $(cat "$LOG")"
expect_match "$(cat "$T/body")" "<h1>Pilot</h1>"
expect_match "$(cat "$T/body")" "Hello Ann"
H=$(tr -d '\r' <"$T/headers")
expect_match "$H" "^Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'$"
expect_match "$H" "^X-Frame-Options: DENY$"
expect_match "$H" "^X-Content-Type-Options: nosniff$"
expect_match "$H" "^Set-Cookie: coco=ann~[0-9]*~[0-9a-f]*; Path=/c/pilot/; Max-Age=[0-9]*; HttpOnly; SameSite=Strict$"
grep -qi '^Set-Cookie:.*Secure' <<<"$H" && fail "the cookie is Secure on an http:// BaseUrl"
grep -qi '<script' "$T/body" && fail "a page carries a script"
# The cookie alone opens the page; nothing opens it without either.
[ "$(get "http://127.0.0.1:$PORT/c/pilot/" -b "$JAR")" = 200 ] || fail "the cookie alone did not open the page"
[ "$(get "http://127.0.0.1:$PORT/c/pilot/")" = 403 ] || fail "no link, no cookie: not 403"
expect_match "$(cat "$T/body")" "cococtl link"
code=$(get "http://127.0.0.1:$PORT/static/coco.css")
[ "$code" = 200 ] && grep -q '^content-type: text/css' <(tr -d '\r' <"$T/headers" | tr A-Z a-z) ||
	fail "no stylesheet: $code"

# ---- links that must not work ----
SIG=${LINK##*s=}
last=${SIG: -1}; [ "$last" = 0 ] && other=1 || other=0
[ "$(get "${LINK%?}$other")" = 403 ] || fail "an altered signature was accepted"
expect_match "$(cat "$T/body")" "not valid"
expect_match "$(cat "$T/body")" "cococtl link"
[ "$(get "${LINK/m=ann/m=bob}")" = 403 ] || fail "another member's id under ann's signature was accepted"
E=${LINK#*e=}; E=${E%%&*}
[ "$(get "${LINK/e=$E/e=$((E + 86400))}")" = 403 ] || fail "a longer expiry under the old signature was accepted"
[ "$(get "${LINK/\/c\/pilot\//\/c\/other\/}")" = 403 ] || fail "ann's pilot link opened another campaign"
OLD=$(ctl link ann --campaign pilot --days 0)
code=$(get "$OLD")
[ "$code" = 403 ] || fail "an expired link answered $code"
expect_match "$(cat "$T/body")" "expired"
expect_match "$(cat "$T/body")" "cococtl link"
# A link to a campaign the member is not in is not made.
if ctl link bob --campaign other >/dev/null 2>&1; then fail "cococtl link made a link for a non-member"; fi

# ---- the form ----
ctl open pilot/kickoff >/dev/null
# Ann's invitation carries her own link to the form, which opens it without a cookie.
inv_has_link() { grep -l "^To:.*ann@acme.example" "$STATE"/local/outbox/new/* 2>/dev/null | head -1 | grep -q .; }
wait_for 10 inv_has_link || fail "no invitation for ann in the outbox"
INV=$(grep -l "^To:.*ann@acme.example" "$STATE"/local/outbox/new/* | head -1)
# The text part may be quoted-printable or base64: read it as a mail client would.
INV_TEXT=$("$COCOCTL" mail-parse "$INV" | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["reply"] or "")' 2>/dev/null || true)
[ -n "$INV_TEXT" ] || INV_TEXT=$(python3 -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); print("".join(p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type()=="text/plain"))' "$INV")
FORMLINK=$(grep -o 'https\{0,1\}://[^ <>]*/c/pilot/kickoff/form?m=ann&e=[0-9]*&s=[0-9a-f]*' <<<"$INV_TEXT" | head -1)
[ -n "$FORMLINK" ] || fail "the invitation has no form link: $INV_TEXT"
# Beside the link, what it grants and for how long, and what forwarding the mail does (D6).
expect_match "$(tr '\n' ' ' <<<"$INV_TEXT")" "yours alone: it opens your answers to this round without a password, until two weeks after the round closes, so whoever you forward this mail to can answer as you"
LOCAL_LINK="http://127.0.0.1:$PORT/c/${FORMLINK#*/c/}"
[ "$(get "$LOCAL_LINK")" = 200 ] || fail "the invitation's form link answered $(cat "$T/body")"
expect_match "$(cat "$T/body")" "<form"
FORM="http://127.0.0.1:$PORT/c/pilot/kickoff/form"
[ "$(get "$FORM" -b "$JAR")" = 200 ] || fail "no form: $(cat "$T/body")"
B=$(cat "$T/body")
expect_match "$B" '<legend>1. How clear are the goals?'
expect_match "$B" 'type="radio" id="q1-4" name="q1" value="4"'
# The scale's ends as the mail words them: "1 = …, 5 = …", not "highest = …".
expect_match "$B" '<p class="muted">1 = not clear, 5 = crystal clear</p>'
expect_match "$B" 'type="checkbox" id="q3-b" name="q3" value="b"'
expect_match "$B" '<textarea id="q4-text" name="q4"'
CSRF=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' <<<"$B")
NONCE=$(sed -n 's/.*name="nonce" value="\([0-9a-f]*\)".*/\1/p' <<<"$B")
OCC=$(sed -n 's/.*name="occurrence" value="\([^"]*\)".*/\1/p' <<<"$B")
[ -n "$CSRF" ] && [ -n "$NONCE" ] && [ "$OCC" = once ] || fail "the form lacks its hidden fields: $B"
BODY="csrf=$CSRF&nonce=$NONCE&occurrence=$OCC&q1=4&q2=b&q3=a&q3=c&q4=More+demos%0Aplease"

# A text answer longer than the grammar takes: the form again, headed as an error, the error
# at the field, what was entered kept, nothing recorded (trial S2-5).
LONG=$(printf 'x%.0s' $(seq 2100))
code=$(get "$FORM" -b "$JAR" --data-binary "csrf=$CSRF&nonce=$NONCE&occurrence=$OCC&q1=4&q2=b&q3=a&q4=$LONG")
[ "$code" = 422 ] || fail "a too long text answered $code: $(cat "$T/body")"
B=$(cat "$T/body")
expect_match "$B" "<h1>Not recorded: please check your answers</h1>"
expect_match "$B" '<title>Not recorded: Kickoff'
expect_match "$B" '<fieldset id="q4-field" class="invalid" aria-describedby="q4-error">'
expect_match "$B" '<p class="field-error" id="q4-error">This is too long for coco: 2100 bytes, at most 2000'
expect_match "$B" '<a href="#q4-field">'
expect_match "$B" 'id="q1-4" name="q1" value="4" checked'
expect_match "$B" 'id="q2-b" name="q2" value="b" checked'
expect_match "$B" 'id="q3-a" name="q3" value="a" checked'
expect_match "$B" "aria-invalid=\"true\">$LONG</textarea>"
grep -qi "reply\|<h1>Recorded" "$T/body" && fail "the form's error speaks of mail or says recorded: $B"
[ "$(answers)" = 0 ] || fail "a form with an error was recorded"

# A forged token: refused, nothing recorded.
FORGED=$(printf '%s' "$CSRF" | tr '0-9a-f' '1-9a-f0')
code=$(get "$FORM" -b "$JAR" --data-binary "${BODY/csrf=$CSRF/csrf=$FORGED}")
[ "$code" = 403 ] || fail "a forged CSRF token answered $code"
# Without the cookie: refused too.
[ "$(get "$FORM" --data-binary "$BODY")" = 403 ] || fail "a form without the cookie was taken"
[ "$(answers)" = 0 ] || fail "a refused form was recorded"

code=$(get "$FORM" -b "$JAR" --data-binary "$BODY")
[ "$code" = 200 ] || fail "the form answered $code: $(cat "$T/body") $(cat "$LOG")"
expect_match "$(cat "$T/body")" "<h1>Recorded</h1>"
expect_match "$(cat "$T/body")" "How clear"
[ "$(answers)" = 1 ] || fail "expected one answer, got $(answers)"
REC=$(cat "$STATE"/campaigns/pilot/rounds/kickoff/once/answers.jsonl)
expect_match "$REC" '"member":"ann"'
expect_match "$REC" '"via":"web"'
expect_match "$REC" '"clarity":"4"'
expect_match "$REC" '"role":"User"'
expect_match "$REC" '"tools":\["Slack","Phone"\]'
expect_match "$REC" '"wish":"More demos please"'
# The same POST again (a reload, a double click): recorded once.
code=$(get "$FORM" -b "$JAR" --data-binary "$BODY")
[ "$code" = 200 ] || fail "the replayed form answered $code"
[ "$(answers)" = 1 ] || fail "a replayed POST was recorded twice"
# No confirmation mail for it: the page said it.
sleep 0.3
if grep -rl "ann@acme.example" "$STATE"/spool/local/*/ 2>/dev/null | xargs -r grep -l '"kind":"confirmation"' | grep -q .; then
	fail "a confirmation was queued for a web answer"
fi

# The form again: prefilled with the current answers.
[ "$(get "$FORM" -b "$JAR")" = 200 ] || fail "no form the second time"
B=$(cat "$T/body")
expect_match "$B" 'id="q1-4" name="q1" value="4" checked'
expect_match "$B" 'id="q2-b" name="q2" value="b" checked'
expect_match "$B" 'id="q3-a" name="q3" value="a" checked'
expect_match "$B" 'id="q3-c" name="q3" value="c" checked'
grep -q 'id="q3-b" name="q3" value="b" checked' <<<"$B" && fail "an option not chosen is checked"
expect_match "$B" '>More demos please</textarea>'

# The web confirmation is the browser's, not a mail's: no signature, no link to the form
# it was sent from (trial: the cosmetic line under S2-6).
[ "$(get "$FORM" -b "$JAR")" = 200 ] || fail "no form"
N2=$(sed -n 's/.*name="nonce" value="\([0-9a-f]*\)".*/\1/p' "$T/body")
code=$(get "$FORM" -b "$JAR" --data-binary "csrf=$CSRF&nonce=$N2&occurrence=$OCC&q1=2")
[ "$code" = 200 ] || fail "a second answer answered $code"
B=$(cat "$T/body")
expect_match "$B" "<h1>Recorded</h1>"
expect_match "$B" "<li>1. How clear are the goals? → <strong>2</strong></li>"
grep -q -- "<p>-- \|coco · Pilot\|in your browser\|/form?m=" "$T/body" && fail "the web confirmation carries the mail's footer or form link: $B"
# The first POST sent again, after the second: a duplicate the core records nothing for, and
# the page says exactly what of it stands (the question it changed is not recorded now).
code=$(get "$FORM" -b "$JAR" --data-binary "$BODY")
[ "$code" = 200 ] || fail "the replayed first answer answered $code"
B=$(cat "$T/body")
expect_match "$B" "<h1>Partly recorded</h1>"
python3 - "$T/body" <<'EOF2' || fail "the partly recorded page: $B"
import re, sys
page = open(sys.argv[1], encoding='utf-8').read()
rec = re.search(r'<ul class="recorded">(.*?)</ul>', page, re.S).group(1)
notrec = re.search(r'<ul class="not-recorded">(.*?)</ul>', page, re.S).group(1)
assert '1. How clear are the goals? → 4' in notrec and 'How clear' not in rec, (rec, notrec)
assert '2. Your role? → <strong>User</strong>' in rec, rec
assert '3. Which tools? → <strong>Slack, Phone</strong>' in rec, rec
assert 'More demos please' in rec, rec
EOF2
[ "$(answers)" = 2 ] || fail "expected two records, got $(answers)"
# And back to 4, as the rest of the test expects.
[ "$(get "$FORM" -b "$JAR")" = 200 ] || fail "no form"
N3=$(sed -n 's/.*name="nonce" value="\([0-9a-f]*\)".*/\1/p' "$T/body")
[ "$(get "$FORM" -b "$JAR" --data-binary "csrf=$CSRF&nonce=$N3&occurrence=$OCC&q1=4")" = 200 ] || fail "no third answer"

# ---- figures ----
[ "$(get "http://127.0.0.1:$PORT/c/pilot/kickoff/once" -b "$JAR")" = 200 ] || fail "no round page"
expect_match "$(cat "$T/body")" "still open"
grep -q 'aria-label="Answers to question' "$T/body" && fail "an open round shows its figures"
ctl close pilot/kickoff >/dev/null
[ "$(get "http://127.0.0.1:$PORT/c/pilot/" -b "$JAR")" = 200 ] || fail "no index"
expect_match "$(cat "$T/body")" 'href="kickoff/once"'
expect_match "$(cat "$T/body")" "1 of 2 answered"
[ "$(get "http://127.0.0.1:$PORT/c/pilot/kickoff/once" -b "$JAR")" = 200 ] || fail "no round page"
B=$(cat "$T/body")
expect_match "$B" '<svg class="chart"'
expect_match "$B" 'aria-label="Answers to question 1"'
expect_match "$B" 'mean 4.0'
expect_match "$B" '<rect class="bar" x="120" y="[0-9]*" width="200"'
[ "$(get "http://127.0.0.1:$PORT/c/pilot/kickoff/nosuch" -b "$JAR")" = 404 ] || fail "an unknown occurrence is not 404"

# ---- the trend of a weekly round, as a line chart per side ----
TLINK=$(ctl link ann --campaign trend)
[ "$(get "http://127.0.0.1:$PORT/c/trend/weekly/2026-01-19?${TLINK#*\?}")" = 200 ] ||
	fail "no page of the weekly round: $(cat "$T/body")"
cp "$T/body" "$T/trend.html"
python3 - "$T/trend.html" <<'EOF2' || fail "the trend chart: $(sed -n '/Trend by side/,/<\/table>/p' "$T/trend.html")"
import re, sys
page = open(sys.argv[1], encoding='utf-8').read()
m = re.search(r'<svg class="chart trend"[^>]*aria-labelledby="trend-1-t trend-1-d"[^>]*>(.*?)</svg>', page, re.S)
assert m, 'no trend chart with its title and description'
svg = m.group(1)
# The figures in text too: the description and the table.
desc = re.search(r'<desc id="trend-1-d">(.*?)</desc>', svg).group(1)
assert desc == 'Acme: 2026-01-05 2.0, 2026-01-12 3.5, 2026-01-19 4.5; Northwind: 2026-01-05 4.0, 2026-01-12 4.0, 2026-01-19 withheld', desc
assert '<title id="trend-1-t">' in svg
rows = re.findall(r'<tr><th scope="row">([^<]*)</th><td>([^<]*)</td><td>([^<]*)</td></tr>', page)
assert rows == [('2026-01-05', '2.0', '4.0'), ('2026-01-12', '3.5', '4.0'), ('2026-01-19', '4.5', '–')], rows
# Labelled axes: the scale's ends and the first and last occurrence.
ticks = re.findall(r'<text class="tick" x="34" y="[0-9.]+" text-anchor="end">(\d+)</text>', svg)
assert ticks == ['1', '2', '3', '4', '5'], ticks
assert '>2026-01-05</text>' in svg and '>2026-01-19</text>' in svg and '>occurrence</text>' in svg
assert 'mean (1–5)' in svg
# The lines: x from 40 to 340 over the three weeks, y from 130 (1) up to 20 (5).
def expect(means):
    out = []
    for i, v in enumerate(means):
        if v is not None:
            out.append((40 + i * 300 / 2, 130 - (v - 1) / 4 * 110))
    return out
def pts(cls):
    found = re.findall(r'<polyline class="line side-%s" points="([^"]*)"' % cls, svg)
    assert len(found) == 1, (cls, found)
    return [tuple(float(c) for c in p.split(',')) for p in found[0].split()]
for cls, means in (('client', [2.0, 3.5, 4.5]), ('provider', [4.0, 4.0, None])):
    got, want = pts(cls), expect(means)
    assert len(got) == len(want), (cls, got, want)
    for g, w in zip(got, want):
        assert abs(g[0] - w[0]) < 0.06 and abs(g[1] - w[1]) < 0.06, (cls, got, want)
    dots = re.findall(r'<circle class="side-%s" cx="([0-9.]+)" cy="([0-9.]+)"' % cls, svg)
    assert len(dots) == len(want), (cls, dots)
# The client's line rises (y falls) week by week; the provider's is flat, then stops.
c = pts('client')
assert c[0][1] > c[1][1] > c[2][1], c
assert '<script' not in page
EOF2

# ---- a vote: the budget, a withdrawn idea, too many dots ----
form_of() { # form_of MEMBER ROUND: GET the form with the member's link; jar $T/jar-MEMBER
	local q; q=$(ctl link "$1" --campaign trend); q=${q#*\?}
	[ "$(get "http://127.0.0.1:$PORT/c/trend/$2/form?$q" -c "$T/jar-$1")" = 200 ] ||
		fail "no $2 form for $1: $(cat "$T/body")"
	FCSRF=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/body")
	FNONCE=$(sed -n 's/.*name="nonce" value="\([0-9a-f]*\)".*/\1/p' "$T/body")
	FOCC=$(sed -n 's/.*name="occurrence" value="\([^"]*\)".*/\1/p' "$T/body")
}
post_form() { # post_form MEMBER ROUND FIELDS: the status
	get "http://127.0.0.1:$PORT/c/trend/$2/form" -b "$T/jar-$1" \
		--data-binary "csrf=$FCSRF&nonce=$FNONCE&occurrence=$FOCC&$3"
}
ctl open trend/ideas >/dev/null
form_of ann ideas
[ "$(post_form ann ideas 'ideas=Dark+mode%0D%0AOffline+maps')" = 200 ] || fail "ann's ideas: $(cat "$T/body")"
expect_match "$(cat "$T/body")" "<li>Idea → <strong>Dark mode</strong></li>"
form_of dee ideas
[ "$(post_form dee ideas 'ideas=Weekly+demo')" = 200 ] || fail "dee's idea: $(cat "$T/body")"
ctl close trend/ideas >/dev/null
ctl forget dee >/dev/null # her idea, the third, is withdrawn: its slot stays
ctl open trend/pick >/dev/null
form_of ann pick
B=$(cat "$T/body")
expect_match "$B" "<legend>Your votes: you have 3 dots to give</legend>"
expect_match "$B" 'name="vote-1" min="0" max="3"'
expect_match "$B" 'name="vote-2" min="0" max="3"'
expect_match "$B" '<p class="withdrawn">3. <span class="muted">Withdrawn by its author: no dots can go to it.</span></p>'
grep -q 'name="vote-3"' <<<"$B" && fail "a withdrawn idea has a vote input: $B"
PICKS=$STATE/campaigns/trend/rounds/pick
picks() { cat "$PICKS"/*/answers.jsonl 2>/dev/null | grep -c . || true; }
# Six dots of three: the form again, the budget stated, the dots kept, nothing recorded.
code=$(post_form ann pick 'vote-1=3&vote-2=3')
[ "$code" = 422 ] || fail "six dots of three answered $code: $(cat "$T/body")"
B=$(cat "$T/body")
expect_match "$B" "<h1>Not recorded: please check your answers</h1>"
expect_match "$B" '<fieldset id="votes" class="invalid" aria-describedby="votes-error">'
expect_match "$B" '<p class="field-error" id="votes-error">You gave 6 dots, but you have 3: please take 3 away.</p>'
expect_match "$B" 'name="vote-1" min="0" max="3" value="3"'
expect_match "$B" 'name="vote-2" min="0" max="3" value="3"'
grep -qi "vote 1x3\|1x3\|reply\|<h1>Recorded" <<<"$B" && fail "the vote's error speaks the mail grammar: $B"
[ "$(picks)" = 0 ] || fail "too many dots were recorded"
# A dot for the withdrawn idea (a form made by hand): refused at its idea, nothing recorded.
code=$(post_form ann pick 'vote-1=1&vote-3=1')
[ "$code" = 422 ] || fail "a dot for a withdrawn idea answered $code"
expect_match "$(cat "$T/body")" 'withdrawn by its author: it takes no dots'
[ "$(picks)" = 0 ] || fail "a dot for a withdrawn idea was recorded"
# Three dots: recorded, and said in the page's words.
code=$(post_form ann pick 'vote-1=2&vote-2=1')
[ "$code" = 200 ] || fail "a right vote answered $code: $(cat "$T/body")"
B=$(cat "$T/body")
expect_match "$B" "<h1>Recorded</h1>"
expect_match "$B" "<li>Idea 1, Dark mode → <strong>2 dots</strong></li>"
expect_match "$B" "<li>Idea 2, Offline maps → <strong>1 dot</strong></li>"
[ "$(picks)" = 1 ] || fail "expected one vote record, got $(picks)"
expect_match "$(cat "$PICKS"/*/answers.jsonl)" '"votes":{"1":2,"2":1}'

# ---- the campaign's page: each round's state in words, participation per side ----
[ "$(get "http://127.0.0.1:$PORT/c/trend/" -b "$T/jar-ann")" = 200 ] || fail "no campaign page"
B=$(cat "$T/body")
expect_match "$B" '<h3>Weekly <span class="state state-other">opens Mon 5 Jan 2099, 09:00 UTC</span></h3>'
expect_match "$B" '<h3>Ideas <span class="state state-other">closed</span></h3>'
expect_match "$B" '<h3>Pick <span class="state state-open">open until [A-Z][a-z][a-z] [0-9]* [A-Z][a-z][a-z] [0-9]*, [0-9:]* UTC</span></h3>'
expect_match "$B" '<a class="button" href="pick/form">'
# The figures per side in the charts' names too (a role="img" hides its texts). dee, who was
# forgotten, counts no more in the occurrences she had answered, as in the digests (the
# ideas: 0 of 1; the first weeks: 1 of 1); in the third week she had not answered (1 of 2).
expect_match "$B" 'aria-label="Participation by side: Acme 1 of 2, Northwind 0 of 1"'
[ "$(grep -c 'aria-label="Participation by side: Acme 2 of 2, Northwind 1 of 1"' <<<"$B")" = 2 ] ||
	fail "the first two weeks do not leave dee out: $B"
expect_match "$B" 'aria-label="Participation by side: Acme 2 of 2, Northwind 1 of 2"'

# ---- the digest mail carries each member's own link ----
digest_mail() { # the outbox file of member $1's kickoff digest
	grep -l "^To:.*$1" "$STATE"/local/outbox/new/* 2>/dev/null | xargs -r grep -l '^Subject: .*Digest: Kickoff' | head -1
}
for who in ann:ann@acme.example bob:bob@northwind.example; do
	m=${who%%:*} addr=${who#*:}
	wait_for 10 bash -c "$(declare -f digest_mail); STATE='$STATE'; [ -n \"\$(digest_mail '$addr')\" ]" ||
		fail "no digest mail for $m in the outbox"
	MAIL=$(digest_mail "$addr")
	# Both parts, decoded as a mail client would; the HTML's href with its &amp; undone.
	python3 - "$MAIL" >"$T/links" <<'EOF2' || fail "cannot read the digest mail of $m"
import email, html, re, sys
msg = email.message_from_binary_file(open(sys.argv[1], 'rb'))
for part in msg.walk():
    t = part.get_content_type()
    if t not in ('text/plain', 'text/html'):
        continue
    body = part.get_payload(decode=True).decode(part.get_content_charset() or 'utf-8')
    if t == 'text/plain':
        for u in re.findall(r'<(https?://[^>\s]*/c/[^>\s]*)>', body):
            print('text', u)
        if 'whoever you forward this mail to can see them and answer as you' not in ' '.join(body.split()):
            print('warning missing in the text part')
    else:
        for u in re.findall(r'href="([^"]*/c/[^"]*)"', body):
            print('html', html.unescape(u))
        if 'whoever you forward this mail to can see them and answer as you' not in ' '.join(body.split()):
            print('warning missing in the HTML part')
EOF2
	grep -q "^text .*/c/pilot/kickoff/once?m=$m&e=[0-9]*&s=[0-9a-f]\{32\}$" "$T/links" ||
		fail "$m's digest text has no link of theirs: $(cat "$T/links")"
	grep -q "^html .*/c/pilot/kickoff/once?m=$m&e=[0-9]*&s=[0-9a-f]\{32\}$" "$T/links" ||
		fail "$m's digest HTML has no link of theirs: $(cat "$T/links")"
	grep -q "^warning missing" "$T/links" && fail "$m's digest does not say what its link grants: $(cat "$T/links")"
	grep -v "?m=$m&" "$T/links" | grep -q . && fail "$m's digest carries a link not theirs: $(cat "$T/links")"
	# It opens the digest's page, without a cookie, and sets the member's cookie.
	U=$(sed -n 's/^text //p' "$T/links" | head -1)
	code=$(get "http://127.0.0.1:$PORT/c/${U#*/c/}")
	[ "$code" = 200 ] || fail "$m's digest link answered $code: $(cat "$T/body")"
	expect_match "$(cat "$T/body")" 'aria-label="Answers to question 1"'
	expect_match "$(tr -d '\r' <"$T/headers")" "^Set-Cookie: coco=$m~"
	U=$(sed -n 's/^html //p' "$T/links" | head -1)
	[ "$(get "http://127.0.0.1:$PORT/c/${U#*/c/}")" = 200 ] || fail "$m's HTML link answered $(cat "$T/body")"
done
# A periodic digest links to the campaign's page, with each one's own link too.
ctl digest pilot >/dev/null 2>&1
periodic_mail() { grep -l "^To:.*ann@acme.example" "$STATE"/local/outbox/new/* 2>/dev/null | xargs -r grep -l '^Subject: .*Digest: this week' | head -1; }
wait_for 10 bash -c "$(declare -f periodic_mail); STATE='$STATE'; [ -n \"\$(periodic_mail)\" ]" ||
	fail "no periodic digest for ann"
P=$(python3 -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); print("".join(p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type()=="text/plain"))' "$(periodic_mail)")
U=$(grep -o '<http://[^>]*/c/pilot/?m=ann&e=[0-9]*&s=[0-9a-f]*>' <<<"$P" | tr -d '<>' | head -1)
[ -n "$U" ] || fail "the periodic digest has no link of ann's: $P"
[ "$(get "$U")" = 200 ] || fail "ann's periodic digest link answered $(cat "$T/body")"
expect_match "$(cat "$T/body")" "Hello Ann"
# The copy in the store has the page's address, no one's link.
STORED=$(cat "$STATE"/campaigns/pilot/digests/kickoff-once.md "$STATE"/campaigns/pilot/digests/kickoff-once.html)
expect_match "$STORED" "<http://127.0.0.1:$PORT/c/pilot/kickoff/once>"
grep -q 'm=ann\|m=bob' <<<"$STORED" && fail "the stored digest holds a member's link"
# A closed round's form says so.
[ "$(get "$FORM" -b "$JAR")" = 200 ] && expect_match "$(cat "$T/body")" "not open"

# ---- the export ----
EXPORT="http://127.0.0.1:$PORT/c/pilot/export.csv"
code=$(get "$EXPORT" -b "$JAR")
[ "$code" = 200 ] || fail "export.csv answered $code: $(cat "$T/body")"
H=$(tr -d '\r' <"$T/headers")
expect_match "$H" "^Content-Type: text/csv; charset=utf-8$"
expect_match "$H" '^Content-Disposition: attachment; filename="pilot-answers.csv"$'
expect_match "$H" "^Cache-Control: no-store$"
cp "$T/body" "$T/export.csv"
# As cococtl export writes it, but for a member: the anonymous round names no one.
python3 - "$T/export.csv" <<'EOF2' || fail "the member's export: $(cat "$T/export.csv")"
import csv, sys
raw = open(sys.argv[1], 'rb').read()
assert raw.startswith(b'campaign,round,occurrence,time,member,side,question_no,question,question_text,value,status\r\n'), raw[:120]
rows = list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8'), strict=True))
kick = [r for r in rows if r['round'] == 'kickoff']
pulse = [r for r in rows if r['round'] == 'pulse']
# ann's own answers in the named round: her id, the time, her side.
clar = [r for r in kick if r['question'] == 'clarity']
assert len(clar) == 1 and clar[0]['member'] == 'ann' and clar[0]['value'] == '4', clar
assert clar[0]['side'] == 'client' and clar[0]['time'].endswith('+00:00'), clar
assert [r['value'] for r in kick if r['question'] == 'wish'] == ['More demos please'], kick
# The anonymous round: no pseudonym, no time, nothing to tie a row to a person.
assert len(pulse) == 11, pulse
assert all(r['member'] == 'anonymous' and r['time'] == '' for r in pulse), pulse
assert 'anon-' not in open(sys.argv[1], encoding='utf-8').read()
assert all(r['status'] == 'current' for r in pulse), pulse
# mood: 1 provider answerer, fewer than MinGroupSize=3: no side on any mood row; sorted by value.
mood = [r for r in pulse if r['question'] == 'mood']
assert [r['value'] for r in mood] == ['1', '3', '4', '5'], mood
assert all(r['side'] == '' for r in mood), mood
# ease: 3 and 3: the sides are shown; p6's superseded 4 is gone.
ease = [(r['value'], r['side']) for r in pulse if r['question'] == 'ease']
assert sorted(ease) == [('2', 'client'), ('3', 'client'), ('3', 'client'), ('4', 'provider'), ('5', 'provider'), ('5', 'provider')], ease
note = [r for r in pulse if r['question'] == 'note']
assert len(note) == 1 and note[0]['value'] == 'Carol here, from finance' and note[0]['side'] == '', note
# Rows in question order, so the file's order says nothing about who answered when.
order = [r['question_no'] for r in pulse]
assert order == sorted(order), order
EOF2
# The admin's export still has the pseudonyms (the admin's file, through the socket).
ADMIN=$(ctl export pilot --format csv)
expect_match "$ADMIN" ",anon-00000000000000p1,client,3,note,"
# No link or cookie, an altered link, an expired link, another campaign: 403, no data.
[ "$(get "$EXPORT")" = 403 ] || fail "export.csv without a link was served"
L=$(ctl link ann --campaign pilot)
Q=${L#*\?}
[ "$(get "$EXPORT?$Q")" = 200 ] || fail "ann's link did not open export.csv: $(cat "$T/body")"
expect_match "$(head -1 "$T/body")" "^campaign,round,"
[ "${Q: -1}" = 0 ] && alt=1 || alt=0
[ "$(get "$EXPORT?${Q%?}$alt")" = 403 ] || fail "an altered link opened export.csv"
grep -q "anonymous\|clarity" "$T/body" && fail "a refused export carries data"
OLD=$(ctl link ann --campaign pilot --days 0)
[ "$(get "$EXPORT?${OLD#*\?}")" = 403 ] || fail "an expired link opened export.csv"
expect_match "$(cat "$T/body")" "expired"
OTHERLINK=$(ctl link ann --campaign other)
[ "$(get "http://127.0.0.1:$PORT/c/pilot/export.csv?${OTHERLINK#*\?}")" = 403 ] ||
	fail "ann's link to campaign other opened pilot's export.csv"
COOKIE=$(awk '$6 == "coco" { print $7 }' "$JAR")
[ -n "$COOKIE" ] || fail "no cookie in the jar"
[ "$(get "http://127.0.0.1:$PORT/c/other/export.csv" -H "Cookie: coco=$COOKIE")" = 403 ] ||
	fail "ann's pilot cookie opened other's export.csv"
[ "$(get "http://127.0.0.1:$PORT/c/other/export.csv?$Q")" = 403 ] ||
	fail "ann's pilot link opened other's export.csv"

# ---- forget: the digest computed again keeps each one's own link ----
# The round page is kept once what it is made from has settled (files older than two
# seconds): seen twice, the same page; after the forget (answers.jsonl rewritten) it is made
# again, without ann's answer.
ROUND_PAGE="http://127.0.0.1:$PORT/c/pilot/kickoff/once"
sleep 2.2
[ "$(get "$ROUND_PAGE" -b "$JAR")" = 200 ] && cp "$T/body" "$T/page1" || fail "no round page"
[ "$(get "$ROUND_PAGE" -b "$JAR")" = 200 ] && cmp -s "$T/body" "$T/page1" || fail "the round page changed by itself"
expect_match "$(cat "$T/page1")" "1 of 2 answered"
ctl forget ann >/dev/null
[ "$(get "$ROUND_PAGE" -b "$JAR")" = 200 ] || fail "no round page after forget"
# ann is forgotten: no longer in the audience either, as in the digest.
expect_match "$(cat "$T/body")" "0 of 1 answered"
grep -q "More demos" "$T/body" && fail "the round page still shows a forgotten answer"
SPOOLED=$(grep -l '"subject":"\[Pilot\] Digest: Kickoff"' "$STATE"/spool/local/*/*.json | xargs -r grep -l '"member":"bob"' | head -1)
[ -n "$SPOOLED" ] || fail "bob's digest is not in the spool"
python3 - "$SPOOLED" <<'EOF2' || fail "bob's rewritten digest: $(cat "$SPOOLED")"
import json, re, sys
m = json.load(open(sys.argv[1]))
assert 'More demos' not in m['markdown'] + m['html'], m['markdown']
assert re.search(r'<http://[^>]*/c/pilot/kickoff/once\?m=bob&e=\d+&s=[0-9a-f]{32}>', m['markdown']), m['markdown']
assert re.search(r'href="http://[^"]*/c/pilot/kickoff/once\?m=bob&amp;e=\d+&amp;s=[0-9a-f]{32}"', m['html']), m['html']
assert 'm=ann' not in m['markdown'] + m['html']
EOF2

ctl status >/dev/null
kill "$PID"; wait "$PID" 2>/dev/null || true
grep -q "ERROR\|runtime error\|AddressSanitizer" "$LOG" && fail "cocod logged an error: $(cat "$LOG")"

# ---- BaseUrl= kept, the web view turned off: no mail points at it ----
# An admin who drops `web` from Connectors= and leaves [Web] as it was: the invitations of
# a round opened then carry no link that nothing would answer.
cp "$LOG" "$T/cocod-web.log"
CONNECTORS=local start
ctl open pilot/pulse >/dev/null
bob_pulse() { grep -l "^Subject: \[Pilot\] Pulse" "$STATE"/local/outbox/new/* 2>/dev/null | xargs -r grep -l "^To:.*bob@northwind.example" | head -1 | grep .; }
wait_for 10 bob_pulse >/dev/null || fail "no pulse invitation for bob: $(tail "$LOG")"
PULSE_TEXT=$(python3 -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); print("".join(p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type().startswith("text/")))' "$(bob_pulse)")
expect_match "$PULSE_TEXT" "Mood?"
case $PULSE_TEXT in *"/form?"* | *"in your browser"*) fail "a form link without the web view: $PULSE_TEXT" ;; esac
kill "$PID"; wait "$PID" 2>/dev/null || true
grep -q "ERROR\|runtime error\|AddressSanitizer" "$LOG" && fail "cocod logged an error: $(cat "$LOG")"
echo "t-web: ok"
