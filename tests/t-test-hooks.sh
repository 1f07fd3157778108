#!/usr/bin/env bash
# Test hooks live in the test build only: the sanitized cocod under build/san honours
# COCO_STORE_CRASH_AFTER, the production build/cocod (what `make install` installs) does
# not even contain the name. Both are built by `make check` and `make test`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
san=$COCOD
prod=$(cd "$(dirname "$COCOD")/.." && pwd)/cocod
[ -x "$prod" ] || fail "no production binary at $prod: run make all"
[ "$prod" != "$san" ] || fail "COCOD ($san) is the production binary; run the tests on build/san"

hooks=(COCO_STORE_CRASH_AFTER COCO_TEST_NOW COCO_SPOOL_BACKOFF_SEC)
for h in "${hooks[@]}"; do
	n=$(strings -a "$prod" | grep -c -- "$h" || true)
	[ "$n" -eq 0 ] || fail "$prod contains the test hook $h ($n times)"
	n=$(strings -a "$san" | grep -c -- "$h" || true)
	[ "$n" -gt 0 ] || fail "$san does not contain $h: is -DCOCO_TEST_HOOKS still in SAN_FLAGS?"
done
echo "t-test-hooks: ${#hooks[@]} hook(s) only in the test build"
