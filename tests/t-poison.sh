#!/usr/bin/env bash
# One poison mail cannot take the daemon down: a mail with multipart nesting 100,000 deep
# (it used to stall libetpan for minutes or overflow its stack, again after every restart)
# is refused before parsing and quarantined with its reason, while cocod keeps answering and
# records the ordinary reply that arrives right after it. A restart does not read it again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cfg=$T/etc state=$T/state sock=$T/control.sock
mkdir -p "$cfg/campaigns.d" "$T/secrets"
printf '[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@provider.example\n' >"$cfg/coco.conf"
cat >"$cfg/campaigns.d/p.conf" <<'EOF2'
[Campaign]
TimeZone=UTC
[Member "ana"]
Side=client
Email=ana@client.example
[Round "s"]
Kind=survey
Duration=3d
[Question "s/q"]
Kind=scale
Text=How is it going?
EOF2
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
export CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates
start() {
	"$COCOD" --config "$cfg" --state "$state" --socket "$sock" 2>>"$T/cocod.log" &
	PIDS+=($!)
	wait_for 10 test -S "$sock" || fail "cocod did not start: $(cat "$T/cocod.log")"
}
ctl() { "$COCOCTL" --config "$cfg" --socket "$sock" "$@"; }
start
ctl open p/s >/dev/null
inbox=$state/local/inbox outbox=$state/local/outbox
wait_for 10 bash -c "ls '$outbox'/new/* >/dev/null 2>&1" || fail "no invitation"
inv=$(ls "$outbox"/new/* | head -1)
reply_to=$(tr -d '\r' <"$inv" | sed -n 's/^Reply-To: *<\{0,1\}\([^>]*\)>\{0,1\}$/\1/p' | head -1)

# The poison: 100,000 nested multipart/mixed parts (about 7 MB, under the size limit).
depth=100000
awk -v d=$depth -v to="$reply_to" 'BEGIN {
	printf "From: ana@client.example\r\nTo: %s\r\nSubject: Re: deep\r\n", to
	printf "Message-ID: <deep@client.example>\r\nMIME-Version: 1.0\r\n"
	for (i = 0; i < d; i++)
		printf "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i
	printf "Content-Type: text/plain\r\n\r\n1: 1\r\n"
}' >"$inbox/tmp/deep"
mv "$inbox/tmp/deep" "$inbox/new/deep"
# Right behind it, ana's ordinary reply.
printf 'From: ana@client.example\r\nTo: %s\r\nSubject: Re: survey\r\nMessage-ID: <ok@client.example>\r\nContent-Type: text/plain\r\n\r\n1: 4\r\n' \
	"$reply_to" >"$inbox/tmp/ok"
mv "$inbox/tmp/ok" "$inbox/new/ok"
ctl poll >/dev/null

answers=$state/campaigns/p/rounds/s/once/answers.jsonl
wait_for 20 test -s "$answers" || fail "the ordinary reply was not recorded: $(tail -20 "$T/cocod.log")"
grep -q '"q":"4"' "$answers" || fail "the ordinary reply's answer is not 4: $(cat "$answers")"
grep -q '"q":"1"' "$answers" && fail "the poison mail's answer was recorded"
kill -0 "${PIDS[0]}" || fail "cocod died"
expect_match "$(ctl status)" "cocod"
wait_for 10 test -e "$inbox/failed/deep" || fail "the poison mail is not in failed/: $(ls -R "$inbox")"
expect_match "$(cat "$inbox/failed.log")" "nested deeper"

# A restart does not touch it again.
kill "${PIDS[0]}"; wait "${PIDS[0]}" || true; PIDS=()
start
ctl poll >/dev/null
expect_match "$(ctl status)" "cocod"
n=$(grep -c "deep" "$inbox/failed.log")
[ "$n" -eq 1 ] || fail "the poison mail was handled $n times"
echo "t-poison: a mail nested $depth deep was quarantined; cocod stayed up and recorded the next reply"
