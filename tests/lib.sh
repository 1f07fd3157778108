# Shared by the shell tests: a temporary directory removed at exit, failure helpers, and
# a free loopback port picker. Servers a test starts are stopped by their own PID.
T=$(mktemp -d /tmp/coco-t.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_match() { grep -q -- "$2" <<<"$1" || fail "expected \"$2\" in:
$1"; }
wait_for() { # wait_for SECONDS CMD...: until CMD succeeds
	local end=$((SECONDS + $1)); shift
	until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.05; done
}
