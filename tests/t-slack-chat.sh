#!/usr/bin/env bash
# What members read on Slack is a chat's text, not a mail's: the real (sanitized) cocod with
# Connectors=slack local against tests/fake-slack.py, and slash commands signed as Slack signs
# them.
#   invitations, reminders and digests in a DM, and the digest in the campaign's room, carry
#   no mail signature ("-- " and "_coco · Campaign · …_"), no "reply to this mail", no
#   "forward this mail"; the same messages by mail still do;
#   a slash command with a mistake is answered with the chat's form of an answer
#   ("/coco answer kickoff 1: …"), not the mail's lines ("    1: 4") or "reply again".
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
export CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=${COCO_TEMPLATE_DIR:-$PWD/templates}

python3 "$(dirname "$0")/fake-slack.py" --port-file "$T/fake.port" --log "$T/fake.log" \
	--token "$TOKEN" --users U0SAM,U0KAI --channels C0PILOT &
PIDS+=("$!")
wait_for 30 test -s "$T/fake.port" || fail "fake-slack.py did not start"
FAKE=$(cat "$T/fake.port")
touch "$T/fake.log"

free_port() { # a loopback port nothing listens on now, below the ephemeral range
	local p lo
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 11000 ] || lo=32768
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % (lo - 10000)))
		if ! (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
	done
	return 1
}

mkdir -p "$T/etc/campaigns.d"
cat >"$T/etc/campaigns.d/pilot.conf" <<'EOF'
[Campaign]
Title=Pilot
TimeZone=UTC
Client=Acme
Provider=Northwind
SlackChannel=C0PILOT

[Member "sam"]
Name=Sam
Side=client
Slack=U0SAM

[Member "kai"]
Name=Kai
Side=provider
Slack=U0KAI

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
EOF

STATE=$T/state
SOCK=$T/cocod.sock
LOG=$T/cocod.log
ctl() { "$COCOCTL" --socket "$SOCK" "$@"; }
start() {
	for _ in 1 2 3 4 5; do
		PORT=$(free_port) || fail "no free port"
		cat >"$T/etc/coco.conf" <<EOF
[Daemon]
Connectors=slack local
Listen=127.0.0.1:$PORT

[Mail]
From=coco@northwind.example

[Slack]
ApiUrl=http://127.0.0.1:$FAKE/api/
EOF
		"$COCOD" --config "$T/etc" --state "$STATE" --socket "$SOCK" >"$LOG" 2>&1 &
		PID=$!
		PIDS+=("$PID")
		if wait_for 60 ctl status >/dev/null 2>&1; then return 0; fi
		wait "$PID" 2>/dev/null || true
		grep -q "Address already in use" "$LOG" || fail "cocod did not start: $(cat "$LOG")"
	done
	fail "no port was free five times in a row"
}
sign() { # sign TIMESTAMP BODY: what Slack puts in X-Slack-Signature
	printf 'v0:%s:%s' "$1" "$2" | openssl dgst -sha256 -hmac "$SECRET" -r | sed 's/ .*//;s/^/v0=/'
}
form() { # form KEY VALUE ...: an application/x-www-form-urlencoded body
	python3 -c 'import sys, urllib.parse as u; print(u.urlencode(list(zip(sys.argv[1::2], sys.argv[2::2]))), end="")' "$@"
}
post() { # post PATH BODY: the status; the answer in $T/body
	local ts sig
	ts=$(date +%s)
	sig=$(sign "$ts" "$2")
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
posts() { # posts: how many chat.postMessage calls the fake got
	python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("method") == "chat.postMessage"))
' "$T/fake.log"
}
# check_chat WHAT FIRST: the chat.postMessage texts from the FIRST-th on carry no mail-only
# text; prints how many there were
check_chat() {
	python3 - "$T/fake.log" "$1" "$2" <<'EOF' || fail "$1 on Slack carry mail-only text: $(cat "$T/fake.log")"
import json, sys
log, what, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
posts = [json.loads(l) for l in open(log)]
posts = [p for p in posts if p.get("method") == "chat.postMessage"][first:]
assert posts, "no %s posted" % what
for p in posts:
    text = p["body"]["text"]
    for bad in ("\n-- \n", "-- \n", "_coco · Pilot", "coco · Pilot", "this mail", "Reply to",
                "reply to"):
        assert bad not in text, (what, bad, text)
print(len(posts))
EOF
}
mail_bodies() { # the text parts of the mail in the outbox, decoded
	python3 - "$STATE"/local/outbox/new/* <<'EOF'
import email, email.policy, sys
for path in sys.argv[1:]:
    m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    print(m.get_body(preferencelist=("plain",)).get_content())
EOF
}

start

# ---- invitations: Sam and Kai in a DM, the room, Ann by mail ----
ctl open pilot/kickoff >/dev/null
wait_for 30 test "$(posts)" -ge 3 || fail "no invitations on Slack: $(cat "$T/fake.log") $(cat "$LOG")"
wait_for 30 sh -c "ls '$STATE'/local/outbox/new/* >/dev/null 2>&1" || fail "no mail to Ann: $(cat "$LOG")"
check_chat invitations 0 >/dev/null
mail=$(mail_bodies)
expect_match "$mail" "_coco · Pilot · Acme with Northwind_"

# ---- reminders ----
before=$(posts)
ctl remind pilot/kickoff --force >/dev/null
wait_for 30 test "$(posts)" -ge $((before + 2)) || fail "no reminders on Slack: $(cat "$LOG")"
check_chat reminders "$before" >/dev/null
python3 - "$T/fake.log" "$before" <<'EOF' || fail "the reminders do not say how to answer on Slack"
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
posts = [p for p in posts if p.get("method") == "chat.postMessage"][int(sys.argv[2]):]
assert any("/coco answer kickoff 1: " in p["body"]["text"] for p in posts), posts
EOF

# ---- a slash command with a mistake: the confirmation shows the chat's form ----
st=$(post /slack/commands "$(command_body U0SAM "1: 9, 2: b")")
[ "$st" = 200 ] || fail "the command got $st: $(cat "$T/body") $(cat "$LOG")"
python3 - "$T/body" <<'EOF' || fail "the confirmation of a command with a mistake: $(cat "$T/body")"
import json, sys
text = json.load(open(sys.argv[1]))["text"]
assert "Thanks, Sam" in text, text
assert "We did not record these lines" in text and "1: 9" in text, text
# how to fix it, as a command
assert "answer again" in text, text
assert "/coco answer kickoff 1: " in text, text
# not the mail's way
assert "reply again" not in text.lower(), text
assert "\n    1: " not in text, text
assert "-- \n" not in text and "coco · Pilot" not in text, text
assert "the latest reply counts" not in text, text
EOF

# ---- the digest (progress) to Sam and Kai, and in the room; Ann's by mail ----
before=$(posts)
rm -f "$STATE"/local/outbox/new/*
ctl digest pilot kickoff >/dev/null
wait_for 30 test "$(posts)" -ge $((before + 3)) || fail "no digests on Slack: $(cat "$LOG")"
check_chat digests "$before" >/dev/null
python3 - "$T/fake.log" "$before" <<'EOF' || fail "the digest did not reach the DMs and the room"
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
posts = [p for p in posts if p.get("method") == "chat.postMessage"][int(sys.argv[2]):]
assert "C0PILOT" in [p["body"]["channel"] for p in posts], posts
assert all("Kickoff" in p["body"]["text"] for p in posts), posts
EOF
wait_for 30 sh -c "ls '$STATE'/local/outbox/new/* >/dev/null 2>&1" || fail "no digest mail to Ann: $(cat "$LOG")"
mail=$(mail_bodies)
expect_match "$mail" "Reply to this mail to add a comment"
expect_match "$mail" "_coco · Pilot · Acme with Northwind_"

echo "PASS: t-slack-chat"
