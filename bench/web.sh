#!/usr/bin/env bash
# bench/web (issue 12.6): requests/s and p99 latency of the web view's digest page of a
# 1,000-answer round, with wrk, against the same HTML served as a static file by nginx (the
# ceiling), one run each, side by side; the target is >= 25% of nginx's requests/s. Then
# the campaign's page (/c/bench/), which is computed on every request (each occurrence's
# participation by side: a digest of the 1,000 answers), with the same wrk.
#
# The production build (build/cocod, build/cococtl; $COCOD, $COCOCTL override) runs on a
# temporary configuration: one campaign of 1,000 members (500 a side), a survey round of
# five questions whose 1,000 answers are generated (Python's random with a seed, printed;
# BENCH_WEB_SEED sets it) into answers.jsonl, and a state.json saying the round is done,
# all written before cocod starts. wrk asks for /c/bench/s/once with a member's cookie (from
# a `cococtl link`), as a browser does after the first visit. The page is then saved and
# served by an nginx of the bench's own (bench/lib-nginx.sh) on another free loopback port.
#
# Prints figures; fails only when something does not run (a page that is not the digest, a
# tool missing). BENCH_WEB_SECONDS (default 10), BENCH_WEB_CONNECTIONS (default 16) and
# BENCH_WEB_THREADS (default 1) are wrk's -d, -c and -t.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib-nginx.sh

COCOD=${COCOD:-$PWD/build/cocod}
COCOCTL=${COCOCTL:-$PWD/build/cococtl}
SEED=${BENCH_WEB_SEED:-12}
SECS=${BENCH_WEB_SECONDS:-10}
CONNS=${BENCH_WEB_CONNECTIONS:-16}
THREADS=${BENCH_WEB_THREADS:-1}
N=1000

die() { echo "bench/web: $*" >&2; exit 1; }
for tool in wrk nginx curl python3; do
	command -v "$tool" >/dev/null || die "$tool is missing (scripts/deps.sh installs it)"
done
[ -x "$COCOD" ] && [ -x "$COCOCTL" ] || die "no $COCOD or $COCOCTL: run make first"

T=$(mktemp -d /tmp/coco-bench-web.XXXXXX)
DOCROOT=$(mktemp -d /tmp/coco-bench-web-static.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$T" "$DOCROOT"
}
trap cleanup EXIT

# ---- the campaign and its answers ----
mkdir -p "$T/etc/campaigns.d" "$T/state/campaigns/bench/rounds/s/once"
mkdir -m 0700 "$T/secrets"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null
python3 - "$T" "$SEED" "$N" <<'EOF'
import json, random, sys, time
root, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
conf = ["[Campaign]", "Title=Bench", "TimeZone=UTC", "Client=Acme", "Provider=Northwind", ""]
members = []
for i in range(n):
    side = "client" if i % 2 == 0 else "provider"
    mid = "%s%04d" % (side[0], i // 2 + 1)
    members.append((mid, side))
    conf += ['[Member "%s"]' % mid, "Side=%s" % side, "Email=%s@%s.example" % (mid, side), ""]
conf += ['[Round "s"]', "Kind=survey", "Title=Quarterly check", "Duration=3d", "",
         '[Question "s/clarity"]', "Kind=scale", "Text=How clear are the goals?", "",
         '[Question "s/nps"]', "Kind=nps", "Text=How likely are you to recommend working together?", "",
         '[Question "s/pace"]', "Kind=choice", "Text=The pace is", "Options=Too slow|Right|Too fast", "",
         '[Question "s/tools"]', "Kind=multi", "Text=Which channels work?", "Options=Email|Slack|Calls|Meetings", "",
         '[Question "s/wish"]', "Kind=text", "Text=One thing to change?", "Required=no", ""]
open(root + "/etc/campaigns.d/bench.conf", "w").write("\n".join(conf))
# The client side is less happy than the provider thinks: a gap to show.
t0 = 1796630400
with open(root + "/state/campaigns/bench/rounds/s/once/answers.jsonl", "w") as f:
    for i, (mid, side) in enumerate(members):
        c = side == "client"
        a = {"clarity": str(rnd.choice([1, 2, 3, 3, 4] if c else [3, 4, 4, 5, 5])),
             "nps": str(rnd.choice(range(3, 10) if c else range(6, 11))),
             "pace": rnd.choice(["Too slow", "Right", "Right", "Too fast"] if c else ["Right", "Right", "Too fast"]),
             "tools": sorted(rnd.sample(["Email", "Slack", "Calls", "Meetings"], rnd.randint(1, 3)))}
        if rnd.random() < 0.05:
            a["wish"] = rnd.choice(["Fewer meetings", "Clearer priorities each sprint",
                                    "A shared roadmap", "Faster answers on tickets"])
        f.write(json.dumps({"key": "key-bench%05d" % i, "v": 1, "at": t0 + 60 * i, "member": mid,
                            "side": side, "via": "email", "answers": a}) + "\n")
state = {"v": 1, "rounds": {"s": {"state": "done", "occurrence": "once", "open": t0,
                                  "close": t0 + 3 * 86400, "reminded": {}}}}
open(root + "/state/campaigns/bench/state.json", "w").write(json.dumps(state))
EOF

# ---- cocod ----
export CREDENTIALS_DIRECTORY=$T/secrets COCO_TEMPLATE_DIR=$PWD/templates
unset NOTIFY_SOCKET WATCHDOG_USEC LISTEN_FDS LISTEN_PID LISTEN_FDNAMES
ctl() { "$COCOCTL" --config "$T/etc" --socket "$T/cocod.sock" "$@"; }
started=""
for _ in 1 2 3 4 5; do
	PORT=$(free_port) || die "no free port"
	cat >"$T/etc/coco.conf" <<EOF
[Daemon]
Connectors=local web
Listen=127.0.0.1:$PORT

[Mail]
From=coco@northwind.example

[Web]
BaseUrl=http://127.0.0.1:$PORT
EOF
	"$COCOD" --config "$T/etc" --state "$T/state" --socket "$T/cocod.sock" >"$T/cocod.log" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	for _ in $(seq 200); do
		ctl status >/dev/null 2>&1 && { started=1; break; }
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$started" ] && break
	kill "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	grep -q "Address already in use" "$T/cocod.log" || die "cocod did not start: $(cat "$T/cocod.log")"
done
[ -n "$started" ] || die "no port was free five times in a row"

LINK=$(ctl link c0001 --campaign bench)
code=$(curl -sS -o /dev/null -D "$T/headers" -w '%{http_code}' "$LINK")
[ "$code" = 200 ] || die "the link answered $code"
COOKIE=$(tr -d '\r' <"$T/headers" | sed -n 's/^Set-Cookie: \(coco=[^;]*\);.*/\1/p')
[ -n "$COOKIE" ] || die "no cookie from the link"
URL="http://127.0.0.1:$PORT/c/bench/s/once"
code=$(curl -sS -o "$DOCROOT/page.html" -w '%{http_code}' -H "Cookie: $COOKIE" "$URL")
[ "$code" = 200 ] || die "the digest page answered $code"
grep -q 'aria-label="Answers to question 1"' "$DOCROOT/page.html" ||
	die "the page has no figures: $(head -c 2000 "$DOCROOT/page.html")"
answered=$(sed -n 's/.*<p>\([0-9]*\) of [0-9]* answered.*/\1/p' "$DOCROOT/page.html" | head -1)
[ "$answered" = "$N" ] || die "the page counts $answered answers, not $N"
BYTES=$(wc -c <"$DOCROOT/page.html")

# ---- nginx, the same HTML as a static file ----
nginx_start "$DOCROOT" "$T/nginx" || die "nginx did not start"
PIDS+=("$NGINX_PID")
STATIC="http://127.0.0.1:$NGINX_PORT/page.html"
cmp -s <(curl -sS "$STATIC") "$DOCROOT/page.html" || die "nginx does not serve the same page"

# ---- wrk, one run each ----
run_wrk() { # run_wrk NAME URL [header]: "requests/s p99_ms"
	local out
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --latency ${3:+-H "$3"} "$2")
	echo "$out" >"$T/wrk-$1.txt"
	local rps p99 non2xx
	rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
	p99=$(awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
	      else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
	      printf "%.2f", v }' <<<"$out")
	non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
	[ -z "$non2xx" ] || die "$1: $non2xx answers were not 200: $out"
	[ -n "$rps" ] && [ -n "$p99" ] || die "cannot read wrk's output: $out"
	echo "$rps $p99"
}
read -r coco_rps coco_p99 < <(run_wrk cocod "$URL" "Cookie: $COOKIE")
read -r nginx_rps nginx_p99 < <(run_wrk nginx "$STATIC")
INDEX="http://127.0.0.1:$PORT/c/bench/"
code=$(curl -sS -o "$T/index.html" -w '%{http_code}' -H "Cookie: $COOKIE" "$INDEX")
[ "$code" = 200 ] && grep -q "$N of $N answered" "$T/index.html" ||
	die "the campaign page answered $code: $(head -c 2000 "$T/index.html")"
read -r index_rps index_p99 < <(run_wrk index "$INDEX" "Cookie: $COOKIE")
kill "$PID" 2>/dev/null || true
wait "$PID" 2>/dev/null || true
grep -q "ERROR\|runtime error" "$T/cocod.log" && die "cocod logged an error: $(cat "$T/cocod.log")"

pct=$(awk -v a="$coco_rps" -v b="$nginx_rps" 'BEGIN { printf "%.1f", (b > 0 ? 100 * a / b : 0) }')
met=$(awk -v p="$pct" 'BEGIN { print (p >= 25 ? "met" : "NOT met") }')
echo "bench/web: the digest page of a $N-answer round ($BYTES bytes of HTML), seed $SEED"
echo "wrk -t$THREADS -c$CONNS -d${SECS}s, one run each, loopback, $(nproc) CPUs"
printf '%-28s %12s %10s\n' "" "requests/s" "p99"
printf '%-28s %12.0f %8s ms\n' "cocod /c/bench/s/once" "$coco_rps" "$coco_p99"
printf '%-28s %12.0f %8s ms\n' "nginx, the same static file" "$nginx_rps" "$nginx_p99"
echo "cocod is $pct% of nginx (target >= 25%: $met)"
printf '%-28s %12.0f %8s ms\n' "cocod /c/bench/ (computed)" "$index_rps" "$index_p99"
