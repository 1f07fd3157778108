#!/usr/bin/env bash
# Slack's Socket Mode (issue #11 item 7): connectors/slack/slack-socket.c through
# build/san/tests/test_slack_socket against tests/fake-slack.py's WebSocket server (Slack is
# hosted; the fake follows PROTOCOLS.md 1.8), on a loopback port the kernel picks.
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
echo "t-slack-socket: ok"
