#!/usr/bin/env bash
# `make fuzz FUZZ_SECONDS=N`: runs every target in build/fuzz/ for N seconds (default 60)
# and prints, per target, the inputs run and the findings.
#
# New interesting inputs go to build/fuzz/corpus/<target>/ (kept between runs, so a second
# run starts where the first stopped); crashes, leaks and timeouts to
# build/fuzz/findings/<target>/. A crash stops libFuzzer; the run is then restarted for the
# rest of the target's time (at most 20 times), so one known crash does not hide the others.
# FUZZ_TARGETS="answer mime" runs only those; FUZZ_JOBS is passed on as -jobs (default 1).
set -u
cd "$(dirname "$0")/.."
. fuzz/seeds.sh
seconds=${1:-60}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
targets=${FUZZ_TARGETS:-$(ls build/fuzz/ | sed -n 's/^fuzz_//p')}
total_findings=0

for t in $targets; do
	bin=build/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz: $bin missing: run make fuzz-build"; exit 1; }
	work=build/fuzz/corpus/$t findings=build/fuzz/findings/$t log=build/fuzz/$t.log
	mkdir -p "$work" "$findings"
	mapfile -t seeds < <(seed_dirs "$t" all)
	: >"$log"
	execs=0 restarts=0 t0=$SECONDS
	while :; do
		left=$((seconds - (SECONDS - t0)))
		[ "$left" -gt 0 ] && [ "$restarts" -le 20 ] || break
		"$bin" -max_total_time="$left" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="$findings/" "$work" "${seeds[@]}" >>"$log" 2>&1
		rc=$?
		n=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
		execs=$((execs + ${n:-0}))
		# 0: time is up. Anything else: a finding (or a target that cannot start).
		[ "$rc" -eq 0 ] && break
		restarts=$((restarts + 1))
		grep -q 'Test unit written to' "$log" || { echo "fuzz: $t failed to run (see $log)"; break; }
	done
	found=$(find "$findings" -type f | wc -l)
	total_findings=$((total_findings + found))
	printf 'fuzz %-9s %10s inputs in %4ss, %s findings in %s\n' "$t" "$execs" \
		$((SECONDS - t0)) "$found" "$findings"
	# One line per distinct place it went wrong.
	grep -h '^SUMMARY:' "$log" | sort | uniq -c | sed 's/^/    /'
done
echo "fuzz: $total_findings findings in all (logs: build/fuzz/<target>.log)"
