#!/usr/bin/env bash
# Temporaries of interrupted atomic replaces (NAME.tmp) that a crash left in the store are
# removed when cocod starts; one modified after the start (being written now) is not, and
# neither is anything that is not the store's own (other names, the local connector's
# maildirs). File times are set relative to now, so the test does not depend on the date.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cp -r etc "$T/etc"
mkdir -m 0700 "$T/secrets"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
export CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates
unset NOTIFY_SOCKET WATCHDOG_USEC
s=$T/state
mkdir -p "$s/campaigns/onboarding" "$s/spool/local/new" "$s/spool/local/failed" \
	"$s/local/inbox/tmp" "$s/campaigns/onboarding/rounds/kickoff/once"
stale=(
	"$s/campaigns/onboarding/state.json.tmp"
	"$s/campaigns/onboarding/rounds/kickoff/once/answers.jsonl.tmp"
	"$s/spool/local/new/prompt-abc.json.tmp"
	"$s/spool/local/failed/x.json.tmp"
	"$s/audit.jsonl.tmp"
)
kept=(
	"$s/local/inbox/tmp/1700000000.1.host.tmp"  # the local connector's maildir
	"$s/campaigns/onboarding/notes.txt"         # not a temporary
	"$s/campaigns/onboarding/.hidden.tmp"       # not a name the store makes
)
for f in "${stale[@]}" "${kept[@]}"; do
	printf 'partial' >"$f"
	touch -d '-1 hour' "$f"
done
fresh=$s/spool/local/new/fresh.json.tmp # "written after the start"
printf 'partial' >"$fresh"
touch -d '+1 hour' "$fresh"
ln -s "$T/elsewhere" "$s/spool/local/new/link.json.tmp"
printf 'outside' >"$T/elsewhere"
touch -h -d '-1 hour' "$s/spool/local/new/link.json.tmp"

"$COCOD" --config "$T/etc" --state "$s" --socket "$T/sock" >"$T/cocod.log" 2>&1 &
PIDS+=($!)
wait_for 30 "$COCOCTL" --socket "$T/sock" status >/dev/null 2>&1 ||
	fail "cocod did not start: $(cat "$T/cocod.log")"

for f in "${stale[@]}"; do [ ! -e "$f" ] || fail "stale $f was not removed"; done
for f in "${kept[@]}" "$fresh"; do [ -e "$f" ] || fail "$f was removed"; done
[ -L "$s/spool/local/new/link.json.tmp" ] && [ -e "$T/elsewhere" ] ||
	fail "a symlink (or what it points to) was removed"
expect_match "$(cat "$T/cocod.log")" "removed ${#stale[@]} temporary files"
echo "t-sweep: ${#stale[@]} stale temporaries removed, the others kept"
