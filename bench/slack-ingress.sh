#!/usr/bin/env bash
# bench/slack-ingress (make bench; issue 11, item 6): how many slash commands a second
# cocod's HTTP ingress takes while recording every answer durably, against nginx answering a
# fixed 200 on the same machine as the ceiling.
#
# The production build/cocod runs Connectors=slack on a temporary configuration: one
# campaign of MEMBERS members with Slack ids and a survey round open since an hour ago (its
# state.json written before the start, as bench/ingest does, so no invitation goes out and
# the Web API is never called). wrk (64 connections,
# 2 threads) sends `/coco 1: N` commands signed beforehand as Slack signs them (every
# trigger_id once, so every request is a new answer; bench/slack-ingress.lua) for SECONDS
# seconds. Then the same wrk, the same requests, against an nginx of the bench's own
# (bench/lib-nginx.sh, one worker: cocod is one thread) that answers every POST with a fixed
# 200. It prints requests/s and p50/p99 latency side by side, whether the targets are met
# (>= 50% of nginx's requests/s, p99 <= 20 ms), and counts that every answer acknowledged
# with coco's "Thanks" is in answers.jsonl once cocod has stopped.
#
# Loopback only; everything it starts it stops by PID, and its directory is removed.
#   SLACK_BENCH_SECONDS (default 10), SLACK_BENCH_MEMBERS (default 256),
#   COCOD / COCOCTL (default build/cocod, build/cococtl).
# Besides requests/s and latency it prints the CPU (user + system, from /proc) that cocod and
# nginx's worker used per request during their runs.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib-nginx.sh

SECONDS_RUN=${SLACK_BENCH_SECONDS:-10}
MEMBERS=${SLACK_BENCH_MEMBERS:-256}
CONNS=64
THREADS=2
COCOD=${COCOD:-$PWD/build/cocod}
COCOCTL=${COCOCTL:-$PWD/build/cococtl}
for tool in wrk nginx python3 openssl; do
	command -v "$tool" >/dev/null || { echo "slack-ingress: $tool is missing (make deps)" >&2; exit 1; }
done
[ -x "$COCOD" ] || { echo "slack-ingress: no $COCOD (make all)" >&2; exit 1; }

T=$(mktemp -d /tmp/coco-slack-bench.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

SECRET=$(openssl rand -hex 16)
TOKEN=xoxb-1111-2222-$(openssl rand -hex 12)
mkdir -m 0700 "$T/secrets"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
(umask 077; printf '%s\n' "$SECRET" >"$T/secrets/slack-signing-secret"
 printf '%s\n' "$TOKEN" >"$T/secrets/slack-bot-token")
STATE=$T/state SOCK=$T/cocod.sock LOG=$T/cocod.log
mkdir -p "$T/etc/campaigns.d" "$STATE/campaigns/bench"
python3 - "$T/etc/campaigns.d/bench.conf" "$STATE/campaigns/bench/state.json" "$MEMBERS" <<'EOF'
import json, sys, time
path, state, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
opened = int(time.time()) - 3600
opened -= opened % 60
with open(path, "w") as f:
    f.write("[Campaign]\nTitle=Bench\nTimeZone=UTC\nQuietHours=none\n\n")
    for i in range(n):
        f.write('[Member "m%05d"]\nName=Member %d\nSide=%s\nSlack=U0M%05d\n\n'
                % (i, i, "client" if i % 2 else "provider", i))
    f.write('[Round "pulse"]\nKind=survey\nTitle=Pulse\nOpen=%s\nDuration=7d\n\n'
            % time.strftime("%Y-%m-%d %H:%M", time.gmtime(opened)))
    f.write('[Question "pulse/mood"]\nKind=scale\nText=How is it going?\nMin=1\nMax=5\n')
# open already, its invitations out: cocod sends none at start
with open(state, "w") as f:
    json.dump({"v": 1, "rounds": {"pulse": {"state": "open", "occurrence": "once", "open": opened,
               "close": opened + 7 * 86400, "reminded": {}}}}, f)
EOF
FAKE=$(free_port) # nothing listens there: the Web API is never called
for _ in 1 2 3 4 5; do
	PORT=$(free_port)
	cat >"$T/etc/coco.conf" <<EOF
[Daemon]
Connectors=slack
Listen=127.0.0.1:$PORT

[Slack]
ApiUrl=http://127.0.0.1:$FAKE/api
EOF
	CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates \
		"$COCOD" --config "$T/etc" --state "$STATE" --socket "$SOCK" >"$LOG" 2>&1 &
	COCO_PID=$!
	up=""
	for _ in $(seq 100); do
		if "$COCOCTL" --socket "$SOCK" status >/dev/null 2>&1; then up=1; break; fi
		kill -0 "$COCO_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$up" ] && break
	wait "$COCO_PID" 2>/dev/null || true
	grep -q "Address already in use" "$LOG" || { echo "cocod did not start: $(cat "$LOG")" >&2; exit 1; }
done
[ -n "$up" ] || { echo "slack-ingress: no free port" >&2; exit 1; }
PIDS+=("$COCO_PID")

# The requests, signed now (Slack's window is 5 minutes): more than either run can send.
POOL=${SLACK_BENCH_POOL:-$((SECONDS_RUN * 40000))}
python3 - "$T" "$SECRET" "$MEMBERS" "$POOL" "$THREADS" <<'EOF'
import hashlib, hmac, sys, time, urllib.parse
out, secret, members, pool, threads = sys.argv[1], sys.argv[2].encode(), *map(int, sys.argv[3:])
ts = str(int(time.time()))
files = [open("%s/pool.%d.tsv" % (out, t), "w") for t in range(threads)]
for i in range(pool):
    body = urllib.parse.urlencode({
        "token": "unused", "team_id": "T0BENCH", "channel_id": "D0BENCH",
        "user_id": "U0M%05d" % (i % members), "user_name": "m", "command": "/coco",
        "text": "1: %d" % (1 + i % 5), "api_app_id": "A0BENCH",
        "response_url": "https://hooks.slack.com/commands/T0BENCH/1/x",
        "trigger_id": "%d.4744562912.%032x" % (i, i)})
    sig = "v0=" + hmac.new(secret, ("v0:%s:%s" % (ts, body)).encode(), hashlib.sha256).hexdigest()
    files[i % threads].write("%s\t%s\t%s\n" % (ts, sig, body))
for f in files:
    f.close()
EOF

run_wrk() { # run_wrk URL OUT
	wrk -t"$THREADS" -c"$CONNS" -d"${SECONDS_RUN}s" --timeout 10s --latency \
		-s bench/slack-ingress.lua "$1" -- "$T" >"$2" 2>&1 || { cat "$2" >&2; return 1; }
}
val() { sed -n "s/^RESULT $2 //p" "$1"; }
# cpu_us PID: user + system CPU the process has used so far, in microseconds (/proc/PID/stat
# fields 14 and 15, in clock ticks).
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1e6 / hz }' "/proc/$1/stat"; }

echo "slack-ingress: $CONNS connections, $THREADS wrk threads, ${SECONDS_RUN}s each, $MEMBERS members"
if [ -n "${SLACK_BENCH_PROFILE:-}" ]; then # perf's call graph of cocod during the run
	perf record -q -F 499 ${SLACK_BENCH_PERF_OPTS:--g} -p "$COCO_PID" -o "$SLACK_BENCH_PROFILE" -- sleep "$SECONDS_RUN" \
		>/dev/null 2>&1 &
	PERF_PID=$!
fi
c_cpu0=$(cpu_us "$COCO_PID")
run_wrk "http://127.0.0.1:$PORT" "$T/coco.out"
c_cpu=$(( $(cpu_us "$COCO_PID") - c_cpu0 ))
[ -z "${PERF_PID:-}" ] || wait "$PERF_PID" || true

# cocod stops; only then is what it acknowledged counted on disk.
kill -TERM "$COCO_PID"
wait "$COCO_PID" || { echo "cocod exited badly: $(tail -5 "$LOG")" >&2; exit 1; }
on_disk=$(cat "$STATE"/campaigns/bench/rounds/pulse/*/answers.jsonl | grep -c . || true)

mkdir -p "$T/www" "$T/nginx"
NGINX_SERVER="location / { default_type application/json; return 200 '{\"response_type\":\"ephemeral\",\"text\":\"Thanks\"}'; }" \
	nginx_start "$T/www" "$T/nginx"
PIDS+=("$NGINX_PID")
# nginx's CPU is its worker's (a child of the master, which does nothing while it runs).
n_worker=$(pgrep -P "$NGINX_PID" | head -1)
n_cpu0=$(cpu_us "$n_worker")
run_wrk "http://127.0.0.1:$NGINX_PORT" "$T/nginx.out"
n_cpu=$(( $(cpu_us "$n_worker") - n_cpu0 ))
kill "$NGINX_PID" 2>/dev/null || true

c_rps=$(val "$T/coco.out" rps) n_rps=$(val "$T/nginx.out" rps)
c50=$(val "$T/coco.out" p50_us) c99=$(val "$T/coco.out" p99_us)
n50=$(val "$T/nginx.out" p50_us) n99=$(val "$T/nginx.out" p99_us)
acked=$(val "$T/coco.out" acked) sent=$(val "$T/coco.out" requests)
n_sent=$(val "$T/nginx.out" requests)
printf '%-8s %12s %10s %10s %14s\n' "" "requests/s" "p50 ms" "p99 ms" "CPU us/request"
awk -v r="$c_rps" -v a="$c50" -v b="$c99" -v c="$c_cpu" -v n="$sent" 'BEGIN { printf "%-8s %12.0f %10.2f %10.2f %14.1f\n", "cocod", r, a / 1000, b / 1000, (n > 0 ? c / n : 0) }'
awk -v r="$n_rps" -v a="$n50" -v b="$n99" -v c="$n_cpu" -v n="$n_sent" 'BEGIN { printf "%-8s %12.0f %10.2f %10.2f %14.1f\n", "nginx", r, a / 1000, b / 1000, (n > 0 ? c / n : 0) }'
awk -v c="$c_rps" -v n="$n_rps" -v p="$c99" 'BEGIN {
	ratio = n > 0 ? c / n : 0
	printf "cocod / nginx: %.1f%% of the requests/s (target >= 50%%: %s); p99 %.2f ms (target <= 20 ms: %s)\n",
		100 * ratio, (ratio >= 0.5 ? "met" : "NOT met"), p / 1000, (p <= 20000 ? "met" : "NOT met") }'
echo "cocod: $sent requests, $acked answers acknowledged, $on_disk in answers.jsonl, $(val "$T/coco.out" errors) socket errors"
[ "$(val "$T/coco.out" wrapped)" = 0 ] || echo "slack-ingress: the request pool ran out (requests were sent twice): raise SLACK_BENCH_POOL"
if [ "$on_disk" -ge "$acked" ] && [ "$acked" -gt 0 ]; then
	echo "every acknowledged answer is on disk: yes"
else
	echo "every acknowledged answer is on disk: NO ($acked acknowledged, $on_disk recorded)"
	exit 1
fi
