#!/usr/bin/env bash
# The HTTP ingress of the real (sanitized) cocod, with curl: /healthz, 404, 405 with Allow,
# 413 for a body one byte over 64 KiB and the next request still served, more idle
# connections than the cap without the daemon spinning, a reload that keeps the listener
# (and one that moves it, and one that cannot and keeps the old), IPv6 loopback, and
# socket activation with systemd-socket-activate. Ports are picked free at run time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is missing (scripts/deps.sh installs it)"

cp -r etc "$T/etc"
mkdir -m 0700 "$T/secrets"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
export CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates
unset NOTIFY_SOCKET WATCHDOG_USEC LISTEN_FDS LISTEN_PID LISTEN_FDNAMES

set_listen() { # set_listen VALUE|none
	sed -i -E '/^#?Listen=/d' "$T/etc/coco.conf"
	[ "$1" = none ] || sed -i "s|^\[Daemon\]|[Daemon]\nListen=$1|" "$T/etc/coco.conf"
}

# start NAME HOST: cocod with Listen=HOST:<free port>; sets PORT, PID, LOG.
start() {
	NAME=$1 HOST=$2 LOG=$T/$1.log
	start_cocod_on_free_port --host "$HOST" listen_here "$T/$NAME.sock" "$LOG" \
		--config "$T/etc" --state "$T/state-$NAME"
}
listen_here() { # a fresh state, Listen=HOST:PORT
	rm -rf "$T/state-$NAME"
	if [[ $HOST == *:* ]]; then set_listen "[$HOST]:$PORT"; else set_listen "$HOST:$PORT"; fi
}

code() { # code URL [curl args...]: the status code
	local url=$1; shift
	curl -sS -g --max-time 60 -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@" "$url" || true
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# ---- IPv4: routes, limits ----
start v4 127.0.0.1
base=http://127.0.0.1:$PORT
expect_match "$(cat "$LOG")" "HTTP ingress listening on 127.0.0.1:$PORT"

[ "$(code "$base/healthz")" = 200 ] || fail "/healthz: $(cat "$T/headers")"
[ "$(cat "$T/body")" = ok ] || fail "/healthz said: $(cat "$T/body")"
grep -qi '^X-Content-Type-Options: nosniff' "$T/headers" || fail "no nosniff: $(cat "$T/headers")"

[ "$(code "$base/nothing-here")" = 404 ] || fail "expected 404: $(cat "$T/headers")"
grep -qi '^X-Content-Type-Options: nosniff' "$T/headers" || fail "no nosniff on the 404"

[ "$(code "$base/healthz" -X POST -d x=1)" = 405 ] || fail "expected 405: $(cat "$T/headers")"
grep -qi '^Allow: GET, HEAD' "$T/headers" || fail "405 without Allow: $(cat "$T/headers")"

head -c $((64 * 1024 + 1)) /dev/zero >"$T/big"
head -c $((64 * 1024)) /dev/zero >"$T/cap"
st=$(code "$base/healthz" -X GET -H 'Content-Type: application/octet-stream' --data-binary "@$T/big")
[ "$st" = 413 ] || fail "a body of 64 KiB + 1: expected 413, got $st: $(cat "$T/headers")"
# at the cap, a body is taken (and GET /healthz ignores it)
[ "$(code "$base/healthz" -X GET --data-binary "@$T/cap")" = 200 ] || fail "a body of 64 KiB refused"
[ "$(code "$base/healthz")" = 200 ] || fail "not served after a 413"

# More idle connections than the cap (256): the extra ones wait in the backlog, the
# daemon does not spin, and it serves again once they close.
fds=()
for _ in $(seq 300); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || break
	fds+=("$fd")
done
sleep 0.5
before=$(cpu_ticks "$PID")
sleep 1
used=$(($(cpu_ticks "$PID") - before))
hz=$(getconf CLK_TCK)
echo "held ${#fds[@]} idle connections; cocod used $used ticks (of $hz/s) in 1 s"
[ "${#fds[@]}" -gt 256 ] || fail "only ${#fds[@]} connections were made"
[ "$used" -lt $((hz / 4)) ] || fail "cocod used $used ticks in 1 s with idle connections: spinning?"
for fd in "${fds[@]}"; do exec {fd}>&-; done
[ "$(code "$base/healthz")" = 200 ] || fail "not served after the idle connections closed"

# ---- reload ----
kill -HUP "$PID"
wait_for 30 grep -q "configuration reloaded" "$LOG" || fail "no reload: $(cat "$LOG")"
[ "$(code "$base/healthz")" = 200 ] || fail "not served after a reload"
[ "$(grep -c "HTTP ingress listening" "$LOG")" = 1 ] || fail "the listener was restarted: $(cat "$LOG")"

# Listen= on an address this host does not have: refused, the old one goes on.
set_listen "192.0.2.1:$PORT"
kill -HUP "$PID"
wait_for 30 grep -q "the HTTP ingress stays on 127.0.0.1:$PORT" "$LOG" || fail "$(cat "$LOG")"
[ "$(code "$base/healthz")" = 200 ] || fail "not served after a failed move"

# Listen= moved: the new address serves, the old one is closed.
old=$PORT
new=$(free_port 127.0.0.1)
set_listen "127.0.0.1:$new"
kill -HUP "$PID"
wait_for 30 grep -q "HTTP ingress listening on 127.0.0.1:$new" "$LOG" || fail "$(cat "$LOG")"
[ "$(code "http://127.0.0.1:$new/healthz")" = 200 ] || fail "not served on the new port"
[ "$(code "http://127.0.0.1:$old/healthz" 2>/dev/null)" = 000 ] || fail "the old port still answers"

# Listen= gone (and no slack/matrix): the ingress stops.
set_listen none
kill -HUP "$PID"
wait_for 30 grep -q "HTTP ingress stopped" "$LOG" || fail "$(cat "$LOG")"
kill "$PID"
wait "$PID" || fail "cocod exited with $?: $(cat "$LOG")"
grep -q "ERROR: \(Address\|LeakSanitizer\)" "$LOG" && fail "sanitizer: $(cat "$LOG")"

# ---- IPv6 loopback ----
if grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null; then
	start v6 ::1
	[ "$(code "http://[::1]:$PORT/healthz")" = 200 ] || fail "[::1]: $(cat "$T/headers")"
	expect_match "$(cat "$LOG")" "HTTP ingress listening on \[::1\]:$PORT"
	kill "$PID"
	wait "$PID" || fail "cocod exited with $?: $(cat "$LOG")"
	v6=yes
else
	echo "SKIP: IPv6 loopback: no ::1 here"
	v6=no
fi

# ---- socket activation ----
command -v systemd-socket-activate >/dev/null || fail "systemd-socket-activate is missing"
PORT=$(free_port 127.0.0.1)
ignored=$(free_port 127.0.0.1)
set_listen "127.0.0.1:$ignored"
LOG=$T/activated.log
# it passes on only the environment it is told to
systemd-socket-activate -l "127.0.0.1:$PORT" -E CREDENTIALS_DIRECTORY -E COCO_TEMPLATE_DIR \
	-E ASAN_OPTIONS -E UBSAN_OPTIONS -- "$COCOD" --config "$T/etc" \
	--state "$T/state-activated" --socket "$T/activated.sock" >"$LOG" 2>&1 &
PID=$!
PIDS+=("$PID")
# systemd-socket-activate binds before it says so; a connection before that is refused
wait_for 30 grep -q "Listening on" "$LOG" || fail "systemd-socket-activate did not listen: $(cat "$LOG")"
# the first connection starts cocod (systemd-socket-activate execs it, same PID)
[ "$(code "http://127.0.0.1:$PORT/healthz")" = 200 ] || fail "socket-activated: $(cat "$LOG")"
expect_match "$(cat "$LOG")" "Listen=127.0.0.1:$ignored is ignored"
expect_match "$(cat "$LOG")" "HTTP ingress on 1 socket passed by the service manager"
[ "$(code "http://127.0.0.1:$ignored/healthz" 2>/dev/null)" = 000 ] || fail "Listen= was bound too"
kill -HUP "$PID"
wait_for 30 grep -q "configuration reloaded" "$LOG" || fail "no reload: $(cat "$LOG")"
[ "$(code "http://127.0.0.1:$PORT/healthz")" = 200 ] || fail "not served after a reload"
kill "$PID"
wait "$PID" || fail "cocod exited with $?: $(cat "$LOG")"

echo "t-http: healthz, 404, 405, 413, cap, reloads, IPv6 ($v6), socket activation"
