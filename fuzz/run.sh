#!/usr/bin/env bash
# `make fuzz FUZZ_SECONDS=N`: runs every target in build/fuzz/ for N seconds (default 60)
# and prints, per target, the inputs run and the findings.
#
# New interesting inputs go to build/fuzz/corpus/<target>/ (kept between runs, so a second
# run starts where the first stopped); crashes, leaks and timeouts to
# build/fuzz/findings/<target>/, each listed with the sanitizer's SUMMARY line (found by
# running the target on it once more). A crash stops libFuzzer: the target then goes on for
# the rest of its time in fork mode with -ignore_crashes=1, so one known crash (even one a
# seed hits) does not hide the others.
# FUZZ_TARGETS="answer mime" runs only those.
set -u
cd "$(dirname "$0")/.."
. fuzz/seeds.sh
seconds=${1:-60}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The targets' scratch directories: one tmpfs directory removed at the end, so the ones a
# crashing (or, in fork mode, killed) input leaves behind do not pile up in /dev/shm.
COCO_FUZZ_TMP=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp )/coco-fuzz-run.XXXXXX")
export COCO_FUZZ_TMP
trap 'rm -rf "$COCO_FUZZ_TMP"' EXIT
targets=${FUZZ_TARGETS:-$(ls build/fuzz/ | sed -n 's/^fuzz_//p')}
total_findings=0

summary_of() { # the first sanitizer SUMMARY line of running $1 on $2
	timeout 60 "$1" "$2" 2>&1 | grep '^SUMMARY' | grep -v 'libFuzzer: deadly signal' | head -1 |
		sed 's/^SUMMARY: //; s/ in *$//' || true
}

for t in $targets; do
	bin=build/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz: $bin missing: run make fuzz-build"; exit 1; }
	work=build/fuzz/corpus/$t findings=build/fuzz/findings/$t log=build/fuzz/$t.log
	mkdir -p "$work" "$findings"
	mapfile -t seeds < <(seed_dirs "$t" all)
	common=(-print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$findings/")
	t0=$SECONDS
	"$bin" -max_total_time="$seconds" "${common[@]}" "$work" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
	execs=${execs:-0}
	left=$((seconds - (SECONDS - t0)))
	if [ "$rc" -ne 0 ] && [ "$left" -gt 2 ]; then
		grep -q 'Test unit written to' "$log" || { echo "fuzz: $t failed to run (see $log)"; continue; }
		echo "== crashed after $((SECONDS - t0))s; going on in fork mode" >>"$log"
		"$bin" -max_total_time="$left" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
			-ignore_ooms=1 "${common[@]}" "$work" "${seeds[@]}" >>"$log" 2>&1
		n=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$log" | tail -1)
		execs=$((execs + ${n:-0}))
	fi
	mapfile -t found < <(find "$findings" -type f | sort)
	total_findings=$((total_findings + ${#found[@]}))
	printf 'fuzz %-9s %10s inputs in %4ss, %s findings in %s\n' "$t" "$execs" \
		$((SECONDS - t0)) "${#found[@]}" "$findings"
	for f in "${found[@]}"; do
		s=$(summary_of "$bin" "$f")
		echo "${s:-no sanitizer summary (timeout or leak? see the log)}"
	done | sort | uniq -c | sed 's/^/    /'
done
echo "fuzz: $total_findings findings in all (logs: build/fuzz/<target>.log)"
