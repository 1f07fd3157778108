#!/usr/bin/env bash
# A campaign's state.json that cannot be trusted stops the start: cocod exits non-zero and
# says which file and how to recover, instead of starting the campaign afresh (which would
# open its rounds again and send every invitation twice). Truncated, an unknown version,
# and a number no int64_t holds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cp -r etc "$T/etc"
mkdir -m 0700 "$T/secrets"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
export CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates
unset NOTIFY_SOCKET WATCHDOG_USEC
state=$T/state
f=$state/campaigns/onboarding/state.json
mkdir -p "$(dirname "$f")"

cases=(
	'truncated|{"v":1,"digest_next":1796227200,"rounds":{"kickoff":{"state":"op'
	'v99|{"v":99,"rounds":{}}'
	'huge|{"v":1,"digest_next":1e300,"rounds":{}}'
)
for c in "${cases[@]}"; do
	name=${c%%|*}
	printf '%s' "${c#*|}" >"$f"
	set +e
	timeout 30 "$COCOD" --config "$T/etc" --state "$state" --socket "$T/sock" >"$T/$name.log" 2>&1
	rc=$?
	set -e
	[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "$name: cocod exited $rc, expected a refusal:
$(cat "$T/$name.log")"
	log=$(cat "$T/$name.log")
	expect_match "$log" "$f: "
	expect_match "$log" "Not starting"
	expect_match "$log" "move it aside"
	expect_match "$log" "invitations are sent"
	[ ! -e "$T/sock" ] || fail "$name: a control socket was left behind"
	# The file is left as it was, for the operator.
	[ "$(cat "$f")" = "${c#*|}" ] || fail "$name: state.json was changed"
	echo "$name: refused"
done

# A valid one starts.
printf '{"v":1,"rounds":{}}\n' >"$f"
"$COCOD" --config "$T/etc" --state "$state" --socket "$T/sock" >"$T/ok.log" 2>&1 &
PIDS+=($!)
wait_for 30 "$COCOCTL" --socket "$T/sock" status >/dev/null 2>&1 ||
	fail "cocod did not start with a valid state.json: $(cat "$T/ok.log")"
echo "t-state: all checks passed"
