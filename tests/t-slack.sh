#!/usr/bin/env bash
# The Slack channel end to end: the real (sanitized) cocod with Connectors=local slack
# against tests/fake-slack.py (Slack's hosted Web API, as its docs describe it), and
# inbound requests sent with curl, signed as Slack signs them (v0 HMAC-SHA256 with the
# current time: Slack's 5-minute window is the only clock this test depends on).
#   round opened → conversations.open + chat.postMessage with blocks, Bearer token, JSON;
#   a member not in the workspace → user_not_found → failed, not retried;
#   /coco 1: 4, 2: b → 200 with the ephemeral confirmation, answer stored with via "slack";
#   a forged signature, a stale timestamp, no signature → 401 and nothing recorded;
#   an unknown Slack user → told in plain words, kept in rejected/;
#   a button press (block_actions payload) → recorded, confirmation on response_url;
#   someone else's button → refused; a reload keeps the channel in place;
#   HTTP 429 from Slack → the message stays queued with its error, retried by the spool.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for tool in curl python3 openssl; do
	command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh installs it)"
done
unset NOTIFY_SOCKET WATCHDOG_USEC LISTEN_FDS LISTEN_PID LISTEN_FDNAMES

SECRET=$(openssl rand -hex 16)
TOKEN=xoxb-1111-2222-$(openssl rand -hex 12)
mkdir -m 0700 "$T/secrets"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
(umask 077; printf '%s\n' "$SECRET" >"$T/secrets/slack-signing-secret"
 printf '%s\n' "$TOKEN" >"$T/secrets/slack-bot-token")
export CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates

# ---- the fake Web API, on a port the kernel picks ----
python3 "$(dirname "$0")/fake-slack.py" --port-file "$T/fake.port" --log "$T/fake.log" \
	--token "$TOKEN" --users U0SAM,U0KAI,U0LEE --channels C0PILOT,C0DEFAULT \
	--emails U0ANN=Ann@Acme.example,U0EVE=eve@elsewhere.example --mode-file "$T/fake-mode.json" &
PIDS+=("$!")
wait_for 30 test -s "$T/fake.port" || fail "fake-slack.py did not start"
FAKE=$(cat "$T/fake.port")
touch "$T/fake.log"

mkdir -p "$T/etc/campaigns.d"
cat >"$T/etc/campaigns.d/pilot.conf" <<'EOF'
[Campaign]
Title=Pilot
TimeZone=UTC
SlackChannel=C0PILOT

[Member "sam"]
Name=Sam
Side=client
Slack=U0SAM

[Member "kai"]
Name=Kai
Side=provider
Slack=U0KAI

[Member "gone"]
Name=Gone
Side=client
Slack=U0GONE

[Member "ann"]
Name=Ann
Side=client
Email=ann@acme.example

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

[Round "private"]
Kind=survey
Title=Provider only
Audience=provider
Duration=3d

[Question "private/q"]
Kind=scale
Text=How is it going?

[Round "candid"]
Kind=survey
Title=Candid
Anonymous=yes
Duration=3d

[Question "candid/mood"]
Kind=scale
Text=Your mood?
EOF
# a campaign without SlackChannel=: [Slack] Channel= is its room
cat >"$T/etc/campaigns.d/side.conf" <<'EOF'
[Campaign]
Title=Side
TimeZone=UTC

[Member "lee"]
Name=Lee
Side=client
Slack=U0LEE

[Round "check"]
Kind=survey
Title=Check
Duration=3d

[Question "check/ok"]
Kind=scale
Text=All well?
EOF

STATE=$T/state
SOCK=$T/cocod.sock
LOG=$T/cocod.log
ctl() { "$COCOCTL" --socket "$SOCK" "$@"; }
write_conf() {
	cat >"$T/etc/coco.conf" <<EOF
[Daemon]
Connectors=local slack web
Listen=127.0.0.1:$PORT

[Web]
BaseUrl=http://127.0.0.1:$PORT

[Mail]
From=coco@northwind.example

[Slack]
ApiUrl=http://127.0.0.1:$FAKE/api/
Channel=C0DEFAULT
EOF
}
start() { start_cocod_on_free_port write_conf "$SOCK" "$LOG" --config "$T/etc" --state "$STATE"; }

sign() { # sign TIMESTAMP BODY: what Slack puts in X-Slack-Signature
	printf 'v0:%s:%s' "$1" "$2" | openssl dgst -sha256 -hmac "$SECRET" -r | sed 's/ .*//;s/^/v0=/'
}
form() { # form KEY VALUE ...: an application/x-www-form-urlencoded body
	python3 -c 'import sys, urllib.parse as u; print(u.urlencode(list(zip(sys.argv[1::2], sys.argv[2::2]))), end="")' "$@"
}
post() { # post PATH BODY [TIMESTAMP [SIGNATURE]]: the status; the answer in $T/body
	local ts=${3:-$(date +%s)}
	local sig=${4:-$(sign "$ts" "$2")}
	curl -sS --max-time 30 -o "$T/body" -w '%{http_code}' -H "X-Slack-Request-Timestamp: $ts" \
		-H "X-Slack-Signature: $sig" -H 'Content-Type: application/x-www-form-urlencoded' \
		--data-binary "$2" "http://127.0.0.1:$PORT$1" || true
}
n=0
command_body() { # command_body USER TEXT
	n=$((n + 1))
	form token legacy-not-used team_id T0TEST team_domain pilot channel_id D0TEST \
		channel_name directmessage user_id "$1" user_name someone command /coco text "$2" \
		api_app_id A0TEST response_url "http://127.0.0.1:$FAKE/response/command-$n" \
		trigger_id "$n$RANDOM.4744562912.$(openssl rand -hex 16)"
}
action_body() { # action_body USER VALUE MESSAGE_TS
	n=$((n + 1))
	local payload
	payload=$(python3 - "$1" "$2" "$3" "$FAKE" "$n" <<'EOF'
import json, sys, time
user, value, ts, fake, n = sys.argv[1:]
print(json.dumps({
    "type": "block_actions", "user": {"id": user, "username": "someone", "team_id": "T0TEST"},
    "api_app_id": "A0TEST", "token": "legacy-not-used",
    "container": {"type": "message", "message_ts": ts, "channel_id": "D00000001", "is_ephemeral": False},
    "trigger_id": "%s%d.4744562912.%s" % (n, time.time_ns() % 100000, "ab" * 16),
    "team": {"id": "T0TEST", "domain": "pilot"}, "channel": {"id": "D00000001", "name": "directmessage"},
    "response_url": "http://127.0.0.1:%s/response/action-%s" % (fake, n),
    "actions": [{"action_id": "coco-q1-5", "block_id": "coco-q1", "type": "button", "value": value,
                 "text": {"type": "plain_text", "text": "5"}, "action_ts": "%.6f" % time.time()}],
}), end="")
EOF
)
	form payload "$payload"
}
answers() { cat "$STATE"/campaigns/pilot/rounds/"$1"/*/answers.jsonl 2>/dev/null | grep -c . || true; }
fake_calls() { # fake_calls METHOD [FIELD VALUE]: how many such requests the fake got
	python3 - "$T/fake.log" "$@" <<'EOF'
import json, sys
log, method = sys.argv[1], sys.argv[2]
field = sys.argv[3:5]
n = 0
for line in open(log):
    e = json.loads(line)
    if e.get("method") != method:
        continue
    if field and str((e.get("body") or {}).get(field[0])) != field[1]:
        continue
    n += 1
print(n)
EOF
}

start
expect_match "$(cat "$LOG")" "slack: Web API at http://127.0.0.1:$FAKE/api, slash command /coco"

# ---- outbound: the invitations ----
ctl open pilot/kickoff >/dev/null
wait_for 30 test "$(fake_calls chat.postMessage)" -ge 3 || fail "no chat.postMessage: $(cat "$T/fake.log") $(cat "$LOG")"
wait_for 30 sh -c "\"$COCOCTL\" --socket \"$SOCK\" status | grep -q '1 failed'" ||
	fail "the member Slack does not know did not fail: $(ctl status) $(cat "$LOG")"
python3 - "$T/fake.log" <<'EOF' || fail "the Web API calls are not as Slack wants them: $(cat "$T/fake.log")"
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
opens = [c for c in calls if c["method"] == "conversations.open"]
posts = [c for c in calls if c["method"] == "chat.postMessage"]
assert sorted(c["body"]["users"] for c in opens) == ["U0GONE", "U0KAI", "U0SAM"], opens
for c in opens + posts:
    assert c["auth"] == "ok", c
    assert c["content_type"] == "application/json; charset=utf-8", c
dms = [p for p in posts if p["body"]["channel"].startswith("D")]
assert len(dms) == 2, posts
for p in dms:
    b = p["body"]
    assert b["channel"].startswith("D"), b
    assert "*Kickoff*" in b["text"] and "**" not in b["text"], b["text"]
    assert b["blocks"] and b["blocks"][0]["type"] == "section", b["blocks"]
    assert "*Kickoff*" in b["blocks"][0]["text"]["text"], b["blocks"]
    assert b["blocks"][0]["text"]["type"] == "mrkdwn"
    # a chat DM says how to answer there (a command, buttons), not the mail's "reply with"
    assert "/coco answer kickoff 1: " in b["text"], b["text"]
    assert "the buttons below" in b["text"], b["text"]
    assert "Reply with" not in b["text"] and "reply" not in b["text"].lower(), b["text"]
# the campaign's room (SlackChannel=): the prompt to everyone, with buttons and the command
rooms = [p for p in posts if not p["body"]["channel"].startswith("D")]
assert [p["body"]["channel"] for p in rooms] == ["C0PILOT"], rooms
b = rooms[0]["body"]
assert "Hi everyone" in b["text"] and "*Kickoff*" in b["text"], b["text"]
assert "Reply with" not in b["text"], b["text"]
buttons = [e for blk in b["blocks"] if blk["type"] == "actions" for e in blk["elements"]]
assert len(buttons) == 5 + 2, buttons
assert "`/coco answer kickoff 1: " in b["text"] or "/coco answer kickoff 1: " in b["text"], b["text"]
EOF
grep -q "user_not_found" "$LOG" || fail "the failure does not say why: $(cat "$LOG")"
[ "$(cat "$STATE/channels/slack/dm.U0SAM")" = D00000001 ] || [ "$(cat "$STATE/channels/slack/dm.U0SAM")" = D00000002 ] ||
	fail "the DM channel is not remembered: $(ls -R "$STATE/channels" 2>&1)"
ls "$STATE"/local/outbox/new/* >/dev/null 2>&1 || fail "the mail member got no mail (local channel)"
# the ts Slack gave Kai's invitation, and the reference the core issued with it
KAI_DM=$(cat "$STATE/channels/slack/dm.U0KAI")
KAI_TS=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["method"] == "chat.postMessage" and e["body"]["channel"] == sys.argv[2]:
        print(e["body"].get("thread_ts") or "")
' "$T/fake.log" "$KAI_DM")
[ -z "$KAI_TS" ] || fail "an invitation was threaded"
KAI_REF=$(cat "$STATE"/spool/slack/cur/*.json | python3 -c '
import json, sys
for l in sys.stdin.read().replace("}{", "}\n{").splitlines():
    e = json.loads(l)
    if e.get("to", {}).get("member") == "kai":
        print(e["conversation"]); break
')
[ ${#KAI_REF} = 16 ] || fail "no conversation reference for kai: $(ls "$STATE"/spool/slack/*)"

# ---- inbound: a slash command ----
body=$(command_body U0SAM "1: 4, 2: b")
st=$(post /slack/commands "$body")
[ "$st" = 200 ] || fail "the command got $st: $(cat "$T/body") $(cat "$LOG")"
python3 - "$T/body" <<'EOF' || fail "not an ephemeral confirmation: $(cat "$T/body")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["response_type"] == "ephemeral", o
assert "Thanks, Sam" in o["text"] and "*Kickoff*" in o["text"], o
assert "How clear are the goals?" in o["text"] and "**" not in o["text"], o
EOF
[ "$(answers kickoff)" = 1 ] || fail "no answer stored: $(cat "$LOG")"
line=$(cat "$STATE"/campaigns/pilot/rounds/kickoff/*/answers.jsonl)
expect_match "$line" '"member":"sam"'
expect_match "$line" '"via":"slack"'
expect_match "$line" '"clarity"'
# the confirmation was said in the exchange: nothing queued for Sam
[ "$(fake_calls chat.postMessage)" = 3 ] || fail "a confirmation was posted as well"

# the same request again (Slack's retry, a replay inside the window): recorded once
st=$(post /slack/commands "$body")
[ "$st" = 200 ] || fail "the replay got $st"
[ "$(answers kickoff)" = 1 ] || fail "a replayed command was recorded twice"

# ---- refused: forged, stale, unsigned ----
now=$(date +%s)
forged=$(command_body U0SAM "1: 1")
st=$(post /slack/commands "$forged" "$now" "v0=$(printf 'v0:%s:%s' "$now" "$forged" |
	openssl dgst -sha256 -hmac "not-the-secret" -r | sed 's/ .*//')")
[ "$st" = 401 ] || fail "a forged signature got $st"
stale=$((now - 6 * 60))
st=$(post /slack/commands "$forged" "$stale" "$(sign "$stale" "$forged")")
[ "$st" = 401 ] || fail "a stale (6 minutes old) but well-signed request got $st"
expect_match "$(cat "$T/body")" "stale"
st=$(curl -sS -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary "$forged" "http://127.0.0.1:$PORT/slack/commands")
[ "$st" = 401 ] || fail "an unsigned request got $st"
# signed over one body, another sent
st=$(post /slack/commands "$forged" "$now" "$(sign "$now" "$body")")
[ "$st" = 401 ] || fail "a signature of another body got $st"
[ "$(answers kickoff)" = 1 ] || fail "a refused request was recorded"
grep -q "slack: refused 1 request not signed by Slack" "$LOG" || fail "no warning: $(cat "$LOG")"
grep -q -- "$SECRET" "$LOG" && fail "the signing secret is in the log"

# ---- an unknown Slack user: plain words, kept in rejected/ ----
st=$(post /slack/commands "$(command_body U0NOBODY "1: 4")")
[ "$st" = 200 ] || fail "an unknown user got $st"
expect_match "$(cat "$T/body")" "does not know your Slack account"
grep -q '"from":"U0NOBODY"' "$STATE"/campaigns/*/rejected/messages.jsonl "$STATE"/rejected/messages.jsonl 2>/dev/null ||
	fail "the stranger's command is not kept in rejected/: $(find "$STATE" -name 'messages.jsonl')"

# help, and another command name
st=$(post /slack/commands "$(command_body U0SAM "help")")
[ "$st" = 200 ] && expect_match "$(cat "$T/body")" '`/coco 1: 4, 2: b`'

# ---- a button press ----
st=$(post /slack/actions "$(action_body U0KAI "$KAI_REF|1|5" "1700000000.000100")")
[ "$st" = 200 ] || fail "the button press got $st: $(cat "$T/body") $(cat "$LOG")"
[ "$(answers kickoff)" = 2 ] || fail "the button press was not recorded: $(cat "$LOG")"
grep '"member":"kai"' "$STATE"/campaigns/pilot/rounds/kickoff/*/answers.jsonl | grep -q '"via":"slack"' ||
	fail "kai's answer: $(cat "$STATE"/campaigns/pilot/rounds/kickoff/*/answers.jsonl)"
wait_for 30 test "$(fake_calls response_url)" -ge 1 || fail "no confirmation on response_url: $(cat "$LOG")"
python3 - "$T/fake.log" <<'EOF' || fail "the response_url post: $(grep response_url "$T/fake.log")"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"response_url"' in l][-1]
b = r["body"]
assert b["response_type"] == "ephemeral" and b["replace_original"] is False, b
assert "Thanks, Kai" in b["text"] and "5" in b["text"], b
assert r["path"].startswith("/response/action-"), r
EOF
# Sam pressing Kai's button: refused, Sam is told it was not theirs
st=$(post /slack/actions "$(action_body U0SAM "$KAI_REF|1|1" "1700000000.000100")")
[ "$st" = 200 ] || fail "someone else's button got $st"
[ "$(answers kickoff)" = 2 ] || fail "someone else's button was recorded"
wait_for 30 test "$(fake_calls response_url)" -ge 2 || fail "no answer on response_url"
grep response_url "$T/fake.log" | tail -1 | grep -q "sent to someone else" || fail "$(tail -1 "$T/fake.log")"

# ---- a reload keeps the channel (and its routes) ----
kill -HUP "$PID"
wait_for 30 grep -q "configuration reloaded" "$LOG" || fail "no reload: $(cat "$LOG")"
[ "$(grep -c "channel slack started" "$LOG")" = 1 ] || fail "the reload restarted the channel: $(cat "$LOG")"
st=$(post /slack/commands "$(command_body U0SAM "2: a")")
[ "$st" = 200 ] || fail "after a reload the command got $st: $(cat "$LOG")"
[ "$(answers kickoff)" = 3 ] || fail "not recorded after a reload"
grep -q "slack: now Web API" "$LOG" && fail "a reload that changed no Slack setting logged one: $(cat "$LOG")"

# ---- 429: Slack rate-limits; the message stays queued for the spool's retry ----
echo '{"chat.postMessage": {"status": 429, "retry_after": 7}}' >"$T/fake-mode.json"
before=$(fake_calls chat.postMessage)
ctl close pilot/kickoff >/dev/null
ctl open pilot/ideas >/dev/null
wait_for 30 test "$(fake_calls chat.postMessage)" -ge $((before + 2)) || fail "nothing posted after open: $(cat "$LOG")"
wait_for 30 grep -q "rate limited by Slack (HTTP 429, Retry-After: 7 s)" "$LOG" || fail "$(cat "$LOG")"
status=$(ctl status)
queued=$(sed -n 's/.*spool: *\([0-9]*\) queued.*/\1/p' <<<"$status")
[ "${queued:-0}" -ge 2 ] || fail "rate-limited messages are not queued: $status"
grep -l '"last_error":"chat.postMessage: rate limited' "$STATE"/spool/slack/new/*.json >/dev/null ||
	fail "the queued message does not say why: $(cat "$STATE"/spool/slack/new/*.json)"
grep -h '"tries":1' "$STATE"/spool/slack/new/*.json >/dev/null || fail "no try counted"

# an idea by command while Slack rate-limits: inbound does not need the Web API
st=$(post /slack/commands "$(command_body U0SAM "idea: dark mode")")
[ "$st" = 200 ] || fail "idea: $st"
expect_match "$(cat "$T/body")" "dark mode"
[ "$(answers ideas)" = 1 ] || fail "the idea was not recorded"

# ---- the chat commands (engine/chat-command.c, daemon/core-commands.c) ----
echo '{}' >"$T/fake-mode.json"
say() { # say USER TEXT: the command's ephemeral answer, as text, in $T/said
	local st
	st=$(post /slack/commands "$(command_body "$1" "$2")")
	[ "$st" = 200 ] || fail "/coco $2 got $st: $(cat "$T/body") $(cat "$LOG")"
	python3 -c 'import json, sys; o = json.load(open(sys.argv[1])); assert o["response_type"] == "ephemeral"; print(o["text"])' \
		"$T/body" >"$T/said" || fail "/coco $2: not an ephemeral answer: $(cat "$T/body")"
}
said() { grep -qF -- "$1" "$T/said" || fail "the answer does not say \"$1\": $(cat "$T/said")"; }
say U0SAM "rounds"
said "*Ideas* (\`ideas\`)"; said "you have answered"; said "\`/coco idea your idea\`"
said "Digests to read: \`/coco digest kickoff\`"
grep -qF "Kickoff* (" "$T/said" && fail "a closed round is listed as open: $(cat "$T/said")"
say U0SAM "answer ideas idea: offline mode"
said "offline mode"
[ "$(answers ideas)" = 2 ] || fail "answer ROUND was not recorded"
say U0KAI "idea better search"
said "better search"
[ "$(answers ideas)" = 3 ] || fail "idea TEXT was not recorded"
grep '"member":"kai"' "$STATE"/campaigns/pilot/rounds/ideas/*/answers.jsonl | grep -q '"ideas":\["better search"\]' ||
	fail "kai's idea: $(cat "$STATE"/campaigns/pilot/rounds/ideas/*/answers.jsonl)"
# refusals: each says why, and nothing is recorded
say U0SAM "answer nosuch 1: 4"
said "There is no round \`nosuch\`"; said "Open for you now: \`ideas\`"
say U0SAM "answer kickoff 1: 3"
said "closed"
[ "$(answers kickoff)" = 3 ] || fail "an answer to a closed round was recorded"
say U0SAM "vote kickoff 1"
said "is a survey, not a vote"
say U0SAM "statsu ideas"
said "\`statsu\` is not a command coco knows"
say U0SAM "status ideas"
said "\`/coco status\` is for the provider"
grep -qF "Sam" "$T/said" && fail "a client was told who answered: $(cat "$T/said")"
say U0NOBODY "rounds"
said "does not know your Slack account"
say U0NOBODY "help"
said "\`/coco rounds\`"
say U0KAI "status ideas"
said "*Ideas* (\`ideas\`) is open: 2 of 4 have answered"
said "client side: 1 of 3; answered: Sam; not yet: Gone, Ann"
said "provider side: 1 of 1; answered: Kai"
# an anonymous round: the total alone, no count by side (one more answer on the one-member
# provider side would say who it was)
ctl open pilot/candid >/dev/null
say U0SAM "answer candid 1: 4"
said "Thanks, Sam"
say U0KAI "status candid"
said "*Candid* (\`candid\`) is open: 1 of 4 have answered"
said "who answered is not shown"
grep -q "side" "$T/said" && fail "an anonymous round's status by side: $(cat "$T/said")"
ctl close pilot/candid >/dev/null
say U0SAM "digest kickoff"
said "Kickoff"; said "How clear are the goals?"
say U0SAM "digest ideas"
said "has no digest yet"
[ "$(answers ideas)" = 3 ] && [ "$(answers kickoff)" = 3 ] || fail "a refused command recorded something"
# a vote round over the ideas: with the round, and without it (the one open vote round)
ctl close pilot/ideas >/dev/null
ctl open pilot/pick >/dev/null
say U0SAM "vote pick 1 2"
said "Thanks, Sam"
say U0KAI "vote 3x2"
said "Thanks, Kai"
[ "$(answers pick)" = 2 ] || fail "the votes were not recorded: $(cat "$LOG")"
grep -q '"votes":{"3":2}' "$STATE"/campaigns/pilot/rounds/pick/*/answers.jsonl || fail "kai's dots: $(cat "$STATE"/campaigns/pilot/rounds/pick/*/answers.jsonl)"
say U0SAM "idea too late"
said "No idea round is open for you"

# ---- the rooms: prompts and digests, not reminders nor rounds for one side ----
room_posts() { # room_posts CHANNEL: the bodies posted there, one JSON object a line
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("method") == "chat.postMessage" and (e.get("body") or {}).get("channel") == sys.argv[2]:
        print(json.dumps(e["body"]))
' "$T/fake.log" "$1"
}
wait_for 30 test "$(fake_calls chat.postMessage channel C0PILOT)" -ge 4 ||
	fail "the ideas' digest and the vote's prompt are not in the room: $(room_posts C0PILOT)"
room_posts C0PILOT >"$T/room"
grep -q 'dark mode' "$T/room" || fail "the ideas' digest is not in the room: $(cat "$T/room")"
# Everyone reads the room: its digest carries no one's own web link (nor an unsigned one that
# would answer 403), and does not ask to reply to a mail; Kai's own copy has Kai's link.
grep -q '/c/pilot' "$T/room" && fail "a web link in the room's digest: $(grep '/c/pilot' "$T/room")"
grep -q 'Reply to this mail' "$T/room" && fail "the room's digest asks for a mail reply"
python3 - "$T/fake.log" "$KAI_DM" <<'EOF2' || fail "Kai's digest has no link of his own"
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    b = e.get("body") or {}
    if e.get("method") == "chat.postMessage" and b.get("channel") == sys.argv[2] and "dark mode" in b.get("text", ""):
        assert "/c/pilot/ideas/" in b["text"] and "m=kai&" in b["text"], b["text"]
        sys.exit(0)
sys.exit("no digest of the ideas in Kai's DM")
EOF2
# a vote button pressed in the room: the room's reference names the round, Slack the member
ROOM_REF=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    b = json.loads(l)
    for blk in b.get("blocks", []):
        for e in blk.get("elements", []):
            if e.get("type") == "button" and e["value"].split("|")[1] == "vote":
                print(e["value"].split("|")[0]); sys.exit(0)
' "$T/room")
[ ${#ROOM_REF} = 16 ] || fail "no vote buttons in the room: $(cat "$T/room")"
[ "$ROOM_REF" != "$KAI_REF" ] || fail "the room carries a member's reference"
st=$(post /slack/actions "$(action_body U0GONE "$ROOM_REF|vote|2" "1700000000.000300")")
[ "$st" = 200 ] || fail "a room button got $st"
[ "$(answers pick)" = 3 ] || fail "a room button was not recorded: $(cat "$LOG")"
grep '"member":"gone"' "$STATE"/campaigns/pilot/rounds/pick/*/answers.jsonl | grep -q '"votes":{"2":1}' ||
	fail "gone's vote: $(cat "$STATE"/campaigns/pilot/rounds/pick/*/answers.jsonl)"
# A second button adds a dot ("you have 3 votes: press an idea's button to vote for it"), it
# does not take back the first; the confirmation lists both.
st=$(post /slack/actions "$(action_body U0GONE "$ROOM_REF|vote|1" "1700000000.000300")")
[ "$st" = 200 ] || fail "a second room button got $st"
grep '"member":"gone"' "$STATE"/campaigns/pilot/rounds/pick/*/answers.jsonl | tail -1 |
	python3 -c 'import json,sys; v=json.loads(sys.stdin.read())["votes"]; assert v == {"1": 1, "2": 1}, v' ||
	fail "the second button replaced the first: $(grep '"member":"gone"' "$STATE"/campaigns/pilot/rounds/pick/*/answers.jsonl)"
st=$(post /slack/actions "$(action_body U0NOBODY "$ROOM_REF|vote|1" "1700000000.000300")")
[ "$st" = 200 ] && [ "$(answers pick)" = 4 ] || fail "a stranger's room button was recorded"
wait_for 30 sh -c "grep response_url \"$T/fake.log\" | tail -1 | grep -q 'does not know your Slack account'" ||
	fail "the stranger was not told: $(grep response_url "$T/fake.log" | tail -1)"
# a round for one side only, and reminders: never in the room. What the 429 above held back
# (the kickoff digest among it) goes out on the spool's retry: counted before, not after.
slack_spool_empty() { ! compgen -G "$STATE/spool/slack/new/*.json" >/dev/null; }
wait_for 90 slack_spool_empty || fail "messages still queued for Slack: $(ls "$STATE/spool/slack/new")"
before=$(fake_calls chat.postMessage channel C0PILOT)
dm_before=$(fake_calls chat.postMessage channel "$KAI_DM")
ctl open pilot/private >/dev/null
ctl remind pilot/pick >/dev/null
wait_for 30 test "$(fake_calls chat.postMessage channel "$KAI_DM")" -ge $((dm_before + 1)) ||
	fail "no DM to Kai: $(cat "$LOG")"
# a campaign without SlackChannel= posts to [Slack] Channel= (and, queued after the above,
# shows that they were sent)
ctl open side/check >/dev/null
wait_for 30 test "$(fake_calls chat.postMessage channel C0DEFAULT)" -ge 1 || fail "nothing in the default room: $(cat "$LOG")"
room_posts C0DEFAULT | grep -q '\*Check\*' || fail "the default room: $(room_posts C0DEFAULT)"
[ "$(fake_calls chat.postMessage channel C0PILOT)" = "$before" ] ||
	fail "a reminder or a provider-only round was posted to the room: $(room_posts C0PILOT | tail -2)"

# ---- a Slack user who is no member's Slack=: found by the email Slack has for them ----
say U0ANN "rounds"
said "*Pick* (\`pick\`)"
[ "$(fake_calls users.info user U0ANN)" = 1 ] || fail "users.info was not asked: $(cat "$T/fake.log")"
python3 - "$T/fake.log" <<'EOF' || fail "users.info is not called as Slack wants it: $(grep users.info "$T/fake.log")"
import json, sys
c = [json.loads(l) for l in open(sys.argv[1]) if '"users.info"' in l][0]
assert c["auth"] == "ok" and c["content_type"] == "application/x-www-form-urlencoded", c
EOF
say U0ANN "vote pick 2"
said "Thanks, Ann"
[ "$(answers pick)" = 5 ] || fail "Ann's vote was not recorded: $(cat "$LOG")"
grep '"member":"ann"' "$STATE"/campaigns/pilot/rounds/pick/*/answers.jsonl | grep -q '"via":"slack"' ||
	fail "ann's vote: $(cat "$STATE"/campaigns/pilot/rounds/pick/*/answers.jsonl)"
[ "$(fake_calls users.info user U0ANN)" = 1 ] || fail "who U0ANN is was not kept"
# in the workspace, but no member has their address: told so, nothing recorded
say U0EVE "vote pick 1"
said "does not know your Slack account"
[ "$(answers pick)" = 5 ] || fail "a vote of someone who is no member was recorded"
say U0EVE "rounds"
said "does not know your Slack account"
[ "$(fake_calls users.info user U0EVE)" = 1 ] || fail "who U0EVE is not was not kept"

# ---- Slack cannot be asked who a user is (users.info rate limited): help is for anyone,
# anything else is asked again later, in words that fit any command (trial 3) ----
echo '{"users.info": {"status": 429, "retry_after": 30}}' >"$T/fake-mode.json"
say U0NEWBIE "help"
said "\`/coco rounds\`"
say U0NEWBIE "rounds"
said "cannot take this just now"
grep -qF "could not record" "$T/said" && fail "a request to list rounds was called a record: $(cat "$T/said")"
echo '{}' >"$T/fake-mode.json"

# ---- a reload that changes ApiUrl= says so (S3-22: nothing told the admin it was taken) ----
sed -i "s|^ApiUrl=.*|ApiUrl=http://127.0.0.1:$FAKE/api2|" "$T/etc/coco.conf"
kill -HUP "$PID"
wait_for 30 grep -q "slack: now Web API at http://127.0.0.1:$FAKE/api2 (was http://127.0.0.1:$FAKE/api)" "$LOG" ||
	fail "the new ApiUrl= is not logged: $(cat "$LOG")"

# ---- the end ----
grep -q -- "$TOKEN" "$LOG" "$T/fake.log" && fail "the bot token is in a log"
kill "$PID"
wait "$PID" || fail "cocod exited with $?: $(cat "$LOG")"
grep -q "ERROR: \(Address\|LeakSanitizer\)\|runtime error" "$LOG" && fail "sanitizer: $(cat "$LOG")"
echo "t-slack: invitations with blocks, user_not_found failed, command recorded and confirmed," \
	"forged/stale/unsigned refused, stranger told, buttons, reload, 429 queued," \
	"rounds/answer/idea/vote/status/digest and their refusals, room prompts, buttons and digests," \
	"members found by their email (users.info)"
