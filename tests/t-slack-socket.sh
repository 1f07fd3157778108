#!/usr/bin/env bash
# Slack's Socket Mode (issue #11 item 7), against tests/fake-slack.py's WebSocket server
# (Slack is hosted; the fake follows PROTOCOLS.md 1.8), on a loopback port the kernel picks:
#   the transport alone (build/san/tests/test_slack_socket: hello, envelopes and acks,
#   redelivery, disconnect, a dropped connection, a refused token), then cocod with
#   [Slack] AppTokenFile= and no signing secret: no HTTP route; the invitation as a DM;
#   /coco answer as a slash_commands envelope, recorded before its ack, the reply in the ack;
#   a button as an interactive envelope, recorded, its confirmation on response_url; the
#   same envelope again recorded once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 is missing (scripts/deps.sh installs it)"
prog=$(dirname "$COCOD")/tests/test_slack_socket
[ -x "$prog" ] || fail "$prog is missing (make san builds it)"

APP=xapp-1-A0COCOAPP-test BOT=xoxb-test-bot
python3 "$(dirname "$0")/fake-slack.py" --port-file "$T/fake.port" --log "$T/fake.log" \
	--token "$BOT" --app-token "$APP" --users U0ANN &
PIDS+=("$!")
wait_for 30 test -s "$T/fake.port" || fail "fake-slack.py did not start"
export FAKE_SLACK="http://127.0.0.1:$(cat "$T/fake.port")" FAKE_LOG="$T/fake.log"
export APP_TOKEN=$APP BOT_TOKEN=$BOT

"$prog" flow >"$T/flow.out" 2>&1 || fail "flow: $(tail -n 30 "$T/flow.out"); fake: $(tail -n 20 "$T/fake.log")"
# The app token went as a Bearer header only: never in a URL, never in the log.
grep -q "$APP" "$T/flow.out" && fail "the app token was logged: $(cat "$T/flow.out")"
grep -q "Socket Mode connected" "$T/flow.out" || fail "no 'connected' log line: $(cat "$T/flow.out")"

: >"$T/fake.log"
"$prog" badtoken >"$T/bad.out" 2>&1 || fail "badtoken: $(tail -n 30 "$T/bad.out")"
grep -q "apps.connections.open failed: not_allowed_token_type" "$T/bad.out" ||
	fail "Slack's error is not in the log: $(cat "$T/bad.out")"

# ---- cocod in Socket Mode ----
mkdir -p "$T/etc/campaigns.d" "$T/secrets"
chmod 700 "$T/secrets"
printf '%s\n' "$APP" >"$T/secrets/slack-app-token"
printf '%s\n' "$BOT" >"$T/secrets/slack-bot-token"
chmod 600 "$T/secrets/"*
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
cat >"$T/etc/coco.conf" <<EOF2
[Daemon]
Connectors=slack local

[Secrets]
Directory=$T/secrets

[Mail]
From=coco@northwind.example

[Slack]
ApiUrl=$FAKE_SLACK/api
AppTokenFile=$T/secrets/slack-app-token
EOF2
cat >"$T/etc/campaigns.d/pilot.conf" <<'EOF2'
[Campaign]
Title=Pilot
TimeZone=UTC

[Member "ann"]
Name=Ann
Side=client
Slack=U0ANN

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
EOF2
: >"$T/fake.log"
STATE=$T/state SOCK=$T/cocod.sock LOG=$T/cocod.log
ctl() { "$COCOCTL" --config "$T/etc" --socket "$SOCK" "$@"; }
COCO_TEMPLATE_DIR=${COCO_TEMPLATE_DIR:-$PWD/templates} \
	start_cocod "$SOCK" "$LOG" --config "$T/etc" --state "$STATE"
wait_for 30 grep -q "Socket Mode connected" "$LOG" || fail "no Socket Mode connection: $(cat "$LOG")"
expect_match "$(cat "$LOG")" "slash command /coco and buttons over Socket Mode"
grep -q "/slack/commands" "$LOG" && fail "HTTP routes in Socket Mode: $(cat "$LOG")"

ctl open pilot/kickoff >/dev/null
wait_for 30 grep -q '"chat.postMessage"' "$T/fake.log" || fail "no invitation posted: $(cat "$LOG")"
REF=$(python3 - "$T/fake.log" <<'EOF2'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("method") != "chat.postMessage":
        continue
    for b in e["body"].get("blocks", []):
        for el in b.get("elements", []):
            if el.get("type") == "button":
                print(el["value"].split("|")[0]); sys.exit(0)
EOF2
)
[ ${#REF} = 16 ] || fail "no button in the invitation: $(cat "$T/fake.log")"

envelope() { # envelope JSON: delivers it and prints the fake's answer (with the ack)
	curl -sS --max-time 20 -H 'Content-Type: application/json' --data-binary "$1" \
		"$FAKE_SLACK/_test/socket/envelope"
}
answers() { cat "$STATE"/campaigns/pilot/rounds/kickoff/*/answers.jsonl 2>/dev/null | grep -c . || true; }

cmd='{"type":"slash_commands","envelope_id":"e-cmd-1","payload":{"token":"x","team_id":"T0X","channel_id":"D0X","user_id":"U0ANN","command":"/coco","text":"answer kickoff 1: 4","response_url":"'$FAKE_SLACK'/response/c1","trigger_id":"111.222.abc"}}'
out=$(envelope "$cmd")
expect_match "$out" '"ack": {"envelope_id": "e-cmd-1", "payload": {"response_type": "ephemeral", "text": "'
expect_match "$out" 'Thanks, Ann'
[ "$(answers)" = 1 ] || fail "the command was not recorded before its ack: $out $(cat "$LOG")"
grep -q '"via":"slack"' "$STATE"/campaigns/pilot/rounds/kickoff/*/answers.jsonl || fail "not via slack"

# Slack delivers it again (a lost ack): acked again, with the reply Ann must see, recorded once.
out=$(envelope "$cmd")
expect_match "$out" '"ack": {"envelope_id": "e-cmd-1", "payload": {"response_type": "ephemeral", "text": "'
expect_match "$out" 'Thanks, Ann'
[ "$(answers)" = 1 ] || fail "a redelivered envelope was recorded twice"

act=$(python3 - "$REF" "$FAKE_SLACK" <<'EOF2'
import json, sys
ref, fake = sys.argv[1:]
print(json.dumps({"type": "interactive", "envelope_id": "e-act-1", "payload": {
    "type": "block_actions", "user": {"id": "U0ANN", "team_id": "T0X"},
    "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": "D00000001"},
    "trigger_id": "333.444.def", "response_url": fake + "/response/a1",
    "actions": [{"action_id": "coco-q2-b", "block_id": "coco-q2", "type": "button",
                 "value": ref + "|2|b", "action_ts": "1700000001.000200"}]}}))
EOF2
)
out=$(envelope "$act")
expect_match "$out" '"ack": {"envelope_id": "e-act-1"}'
wait_for 30 grep -q '"role":"User"' "$STATE"/campaigns/pilot/rounds/kickoff/*/answers.jsonl ||
	fail "the button was not recorded: $(cat "$STATE"/campaigns/pilot/rounds/kickoff/*/answers.jsonl) $(cat "$LOG")"
wait_for 30 grep -q '"path": "/response/a1"' "$T/fake.log" || fail "no confirmation on response_url"

# An envelope of a kind coco does not use: acked, nothing recorded.
out=$(envelope '{"type":"events_api","envelope_id":"e-ev-1","payload":{"event":{"type":"app_mention"}}}')
expect_match "$out" '"ack": {"envelope_id": "e-ev-1"}'
grep -q "$APP" "$LOG" && fail "the app token is in the log"
kill "$PID"; wait "$PID" 2>/dev/null || true
grep -q "ERROR\|runtime error\|AddressSanitizer" "$LOG" && fail "cocod logged an error: $(cat "$LOG")"
echo "t-slack-socket: ok"
