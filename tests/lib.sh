# Shared by the shell tests: a temporary directory removed at exit, failure helpers, a free
# loopback port picker and a cocod starter. Servers a test starts are stopped by their own PID.
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

. "$(dirname "${BASH_SOURCE[0]}")/lib-port.sh"

# cocod_run SOCKET LOG ARG...: "$COCOD" --socket SOCKET ARG... in the background, its output
# in LOG; sets PID (added to PIDS). Returns 0 once `cococtl status` answers on SOCKET, 1 if
# cocod exited first or did not answer within 60 s (it may then still run).
cocod_run() {
	local sock=$1 log=$2 end=$((SECONDS + 60))
	shift 2
	"$COCOD" --socket "$sock" "$@" >"$log" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	until "$COCOCTL" --socket "$sock" status >/dev/null 2>&1; do
		kill -0 "$PID" 2>/dev/null || return 1
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

# start_cocod SOCKET LOG ARG...: cocod_run, or the test fails with cocod's log.
start_cocod() {
	cocod_run "$@" || fail "cocod did not start: $(cat "$2")"
}

# start_cocod_on_free_port [--host HOST] WRITE_CONF SOCKET LOG ARG...: start_cocod with
# cocod listening on a free port of HOST (127.0.0.1). WRITE_CONF is a command that writes
# the coco.conf for port $PORT (and readies whatever else a fresh attempt needs). When the
# port was taken meanwhile ("Address already in use" in LOG) another is tried, five times
# at most; any other failure fails the test with cocod's log. Sets PORT and PID.
start_cocod_on_free_port() {
	local host=127.0.0.1
	if [ "$1" = --host ]; then host=$2; shift 2; fi
	local write_conf=$1 log=$3
	shift
	for _ in 1 2 3 4 5; do
		PORT=$(free_port "$host") || fail "no free port on $host"
		"$write_conf"
		cocod_run "$@" && return 0
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
		unset 'PIDS[-1]'
		grep -q "Address already in use" "$log" || fail "cocod did not start: $(cat "$log")"
	done
	fail "no port was free five times in a row"
}
