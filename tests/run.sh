#!/usr/bin/env bash
# Runs every test: the cmocka binaries built under BUILD/tests and the shell tests
# tests/t-*.sh (end-to-end, against the BUILD/cocod and BUILD/cococtl binaries).
# Prints one line per test and a closing "N passed, M failed".
set -u
build=${1:-build/san}
cd "$(dirname "$0")/.."
export COCOD="$PWD/$build/cocod" COCOCTL="$PWD/$build/cococtl"
# The binaries are not installed: their message templates are the source tree's.
export COCO_TEMPLATE_DIR=${COCO_TEMPLATE_DIR:-$PWD/templates}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir=$(mktemp -d /tmp/coco-tests.XXXXXX)
pass=0 fail=0 failed=()

run() {
	local name=$1; shift
	local log="$logdir/$name.log" t0=$SECONDS
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1)); printf 'PASS %-28s %3ss\n' "$name" $((SECONDS - t0))
	else
		fail=$((fail + 1)); failed+=("$name"); printf 'FAIL %-28s %3ss\n' "$name" $((SECONDS - t0))
		sed 's/^/    /' "$log" | tail -n 60
	fi
	# Figures a test prints for people (spec counts) are shown even on success.
	grep -E '^SKIP|^[A-Za-z -]*: ?[0-9]+ passed, [0-9]+ failed|^[0-9]+ passed, [0-9]+ failed|corpus:' "$log" | sed 's/^/    /'
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
done
for t in tests/t-*.sh; do
	[ -f "$t" ] || continue
	run "$(basename "$t" .sh)" bash "$t"
done

echo
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]} (logs in $logdir)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
