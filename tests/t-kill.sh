#!/usr/bin/env bash
# Issue 8.2 end to end: a backlog of replies is processed by the real (sanitized) cocod while
# it is SIGKILLed at random moments and started again, until everything is processed. Then
# every member's answer is stored exactly once and confirmed: one confirmation per reply in
# the outbox, none missing. A crash between the local connector writing a confirmation and
# the spool recording it sent (its move into cur/, or its batch file's journal line) may send
# that one again (documented at-least-once), so
# duplicates are counted apart and may be at most the number of kills; nothing may end up
# quarantined in the inbox's failed/.
#
# The kill moments come from a seeded generator: the seed is printed, COCO_SEED=N replays
# it. COCO_KILL_MEMBERS (60) and COCO_KILLS (12) change the size.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -z "${COCO_KEEP:-}" ] || trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; echo "kept $T"' EXIT

n=${COCO_KILL_MEMBERS:-60}
kills_max=${COCO_KILLS:-12}
seed=${COCO_SEED:-$(( $(date +%s%N) % 32768 ))}
echo "t-kill: seed $seed (COCO_SEED=$seed replays it), $n members, up to $kills_max kills"
RANDOM=$seed

cfg=$T/etc state=$T/state sock=$T/control.sock
inbox=$state/local/inbox outbox=$state/local/outbox
mkdir -p "$cfg/campaigns.d" "$T/secrets"
cat >"$cfg/coco.conf" <<EOF
[Daemon]
StateDirectory=$state
ControlSocket=$sock
Connectors=local
[Mail]
From=coco@provider.example
EOF
awk -v n="$n" 'BEGIN {
	printf "[Campaign]\nTitle=Kill test\nTimeZone=UTC\nQuietHours=none\n\n"
	for (i = 1; i <= n; i++)
		printf "[Member \"m%02d\"]\nSide=%s\nEmail=m%02d@client.example\n\n", i,
			i % 2 ? "provider" : "client", i
	printf "[Round \"s\"]\nKind=survey\nTitle=Survey\nDuration=7d\n\n"
	printf "[Question \"s/q\"]\nKind=scale\nText=Rate it\n"
}' >"$cfg/campaigns.d/k.conf"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
export CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates
unset NOTIFY_SOCKET WATCHDOG_USEC
ctl() { "$COCOCTL" --config "$cfg" --socket "$sock" "$@"; }

run=0
start() { # each run logs to its own file
	run=$((run + 1))
	"$COCOD" --config "$cfg" >"$T/cocod.$run.log" 2>&1 &
	pid=$!
}
ready() { [ -S "$sock" ] && ctl status >/dev/null 2>&1; }
count_files() { find "$1" -maxdepth 1 -type f | wc -l; }
processed() { # every reply marked seen (or quarantined) and every queued message sent
	[ $(($(find "$inbox/cur" -maxdepth 1 -name '*:2,S' | wc -l) + $(count_files "$inbox/failed"))) -eq "$n" ] &&
		[ "$(count_files "$state/spool/local/new")" -eq 0 ]
}

# The round opens; the invitations go out.
start
wait_for 30 ready || fail "cocod did not start: $(cat "$T/cocod.$run.log")"
ctl open k/s >/dev/null
invited() { [ "$(count_files "$outbox/new")" -eq "$n" ]; }
wait_for 30 invited || fail "not $n invitations"
kill "$pid"
wait "$pid" || fail "cocod did not stop cleanly: $(cat "$T/cocod.$run.log")"
rm -f "$sock"

# Every member replies to their invitation: From their own address, To its Reply-To,
# In-Reply-To its Message-ID (what a mail client writes). The backlog is there before cocod
# starts again.
# One awk for all of them (forks are slow under load).
awk -v tmp="$inbox/tmp" -v now="$(date +%s)" '
	FNR == 1 { from = rt = id = ""; hdr = 1 }
	hdr && /^\r?$/ {
		hdr = 0; i++; m = from; sub(/@.*/, "", m)
		f = tmp "/" now ".K" i ".kill"
		printf "From: %s\r\nTo: <%s>\r\nSubject: Re: [Kill test] Survey\r\n", from, rt > f
		printf "Message-ID: <kill-%s@client.example>\r\nIn-Reply-To: <%s>\r\n", m, id > f
		printf "Content-Type: text/plain; charset=utf-8\r\n\r\n1: %d\r\n\r\n> quoted\r\n", i % 5 + 1 > f
		close(f); nextfile
	}
	{ sub(/\r$/, "") }
	/^To:/ { from = $0; sub(/.*</, "", from); sub(/>.*/, "", from) }
	/^Reply-To:/ { rt = $0; sub(/.*</, "", rt); sub(/>.*/, "", rt) }
	/^Message-ID:/ { id = $0; sub(/.*</, "", id); sub(/>.*/, "", id) }
' "$outbox"/new/*
mv "$inbox"/tmp/*.kill "$inbox/new/"
i=$(count_files "$inbox/new")
[ "$i" -eq "$n" ] || fail "$i replies for $n members"

# Kill at random moments: 0 to ${span} ms after cocod was started (it starts, reads the
# backlog, records, confirms). Seen done and quarantined replies are printed after each.
span=${COCO_KILL_SPAN_MS:-2000}
t0=$SECONDS
kills=0
while [ $kills -lt "$kills_max" ] && ! processed; do
	start
	ms=$(((RANDOM * 32768 + RANDOM) % span))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$sock"
	kills=$((kills + 1))
	seen=$(find "$inbox/cur" -maxdepth 1 -name '*:2,S' | wc -l)
	echo "kill $kills after ${ms} ms: $seen of $n replies done, $(count_files "$inbox/failed") quarantined"
done
# The last run is left alone until everything is processed.
start
wait_for 30 ready || fail "cocod did not start (last run): $(cat "$T/cocod.$run.log")"
wait_for 60 processed || fail "not everything processed after the kills"
kill "$pid"
wait "$pid" || fail "cocod did not stop cleanly: $(tail -20 "$T/cocod.$run.log")"
echo "t-kill: $kills kills, $run runs, $((SECONDS - t0)) s; replies being read at a kill" \
	"(read once more): $(cat "$T"/cocod.*.log | grep -c 'it is read once more' || true)," \
	"replayed after a kill and found recorded: $(cat "$T"/cocod.*.log | grep -c 'was already recorded' || true)"

if grep -l -E 'AddressSanitizer|runtime error|LeakSanitizer' "$T"/cocod.*.log; then
	fail "a sanitizer reported an error"
fi
# Killed at any moment, cocod leaves whole log lines, each with its priority (trial 5: a
# buffered log was cut in the middle of a line).
for f in "$T"/cocod.*.log; do
	[ ! -s "$f" ] || [ -z "$(tail -c 1 "$f")" ] || fail "$f ends inside a line: $(tail -c 200 "$f")"
	bad=$(grep -v -n '^<[0-7]>' "$f" | head -3 || true)
	[ -z "$bad" ] || fail "$f has lines without a priority: $bad"
done
[ "$(count_files "$inbox/failed")" -eq 0 ] ||
	fail "mail quarantined: $(ls "$inbox/failed"); $(cat "$inbox/failed.log")"
[ "$(count_files "$inbox/new")" -eq 0 ] || fail "mail left in new/: $(ls "$inbox/new")"

answers=$state/campaigns/k/rounds/s/once/answers.jsonl
# Per member: answers stored, confirmations in the outbox (In-Reply-To their reply).
read -r stored_bad missing dups < <(
	{ grep -o '"member":"m[0-9]*"' "$answers" | sed 's/.*"\(m[0-9]*\)"/A \1/'
	  grep -h '^In-Reply-To: <kill-' "$outbox"/new/* | sed 's/.*<kill-\(m[0-9]*\)@.*/C \1/'
	} | awk -v n="$n" '
		{ c[$1 " " $2]++ }
		END {
			for (i = 1; i <= n; i++) {
				m = sprintf("m%02d", i)
				if (c["A " m] != 1) { bad++; print "answer of " m " stored " c["A " m] + 0 " times" > "/dev/stderr" }
				if (!c["C " m]) { miss++; print "no confirmation for " m > "/dev/stderr" }
				else if (c["C " m] > 1) { dup += c["C " m] - 1; print "confirmation for " m " sent " c["C " m] " times" > "/dev/stderr" }
			}
			print bad + 0, miss + 0, dup + 0
		}')
# A duplicate must be one message sent twice (the spool's window): as many distinct
# confirmation Message-IDs as members.
distinct=$(grep -h '^Message-ID: <conf-' "$outbox"/new/* | sort -u | wc -l)
echo "t-kill: answers stored wrongly $stored_bad, confirmations missing $missing, duplicated $dups (kills $kills)"
[ "$stored_bad" -eq 0 ] || fail "answers not stored exactly once"
[ "$missing" -eq 0 ] || fail "$missing confirmations missing"
[ "$dups" -le "$kills" ] || fail "$dups duplicate confirmations for $kills kills"
[ "$distinct" -eq "$n" ] || fail "$distinct distinct confirmation Message-IDs for $n members"
# The spool's own record (batch files, docs/store-format.md): every confirmation is in
# cur/, in a batch file or a file of its own, none left queued; and the batch files were
# used (one a commit, not one a confirmation).
read -r spool_conf batch_files < <(python3 - "$state/spool/local" <<'PY'
import json, os, sys
d = sys.argv[1]
ids, batches = set(), 0
for box in ("new", "cur"):
    for name in os.listdir(os.path.join(d, box)):
        p = os.path.join(d, box, name)
        if name.endswith(".batch"):
            if box == "new":
                sys.exit("a batch file left queued: " + name)
            batches += 1
            lines = open(p).read().splitlines()
            for l in lines[1:]:
                ids.add(json.loads(l)["id"])
        elif name.endswith(".json") and box == "cur":
            ids.add(json.loads(open(p).read())["id"])
print(len([i for i in ids if i.startswith("conf-")]), batches)
PY
)
echo "t-kill: spool: $spool_conf confirmations recorded sent, $batch_files batch files"
[ "$spool_conf" -eq "$n" ] || fail "$spool_conf confirmations recorded sent in the spool for $n members"
[ "$batch_files" -ge 1 ] || fail "no batch file in the spool"
echo "t-kill: all checks passed"
