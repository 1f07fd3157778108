#!/usr/bin/env bash
# The fuzz targets (docs/fuzzing.md) as a test: every seed and every regression reproducer
# replayed through its target, then a short deterministic smoke run of each target.
#   - fuzz/corpus/<t>/ and the tests' data (fuzz/seeds.sh): must all pass;
#   - fuzz/regressions/<t>/*: reproducers of fixed crashes, must all pass;
#   - fuzz/known/<t>/*: reproducers of crashes not fixed yet (in code someone else owns);
#     replayed and reported, not failed on; one that passes should move to regressions/;
#   - a smoke run per target: -seed=$COCO_FUZZ_SEED (1) and a fixed number of inputs,
#     smoke_runs below (or $COCO_FUZZ_RUNS for all): no time cap, so the same inputs run on a
#     fast machine and on a loaded one, and what fails in CI fails here too. The command is
#     printed, so a failure reproduces with it.
# Builds the targets first if needed (make fuzz-build: clang, see scripts/deps.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
. fuzz/seeds.sh
seed=${COCO_FUZZ_SEED:-1}
# Inputs per smoke run: 2,000, fewer for the targets that do a store's worth of file work per
# input (a few hundred inputs take them 10-30 s under ASan on a loaded 2-core machine).
smoke_runs() {
	[ -n "${COCO_FUZZ_RUNS:-}" ] && { echo "$COCO_FUZZ_RUNS"; return; }
	case $1 in
	store | spool) echo 500 ;;
	control | config) echo 400 ;;
	*) echo 2000 ;;
	esac
}
# The targets' scratch directories (tmpfs when there is one), removed with $T's.
shm=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo /tmp )/coco-t-fuzz.XXXXXX")
export COCO_FUZZ_TMP=$shm
trap 'rm -rf "$shm"; cleanup' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

command -v "${FUZZ_CC:-clang}" >/dev/null || fail "no clang: run scripts/deps.sh"
make --no-print-directory -s fuzz-build >"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "make fuzz-build"; }

targets=$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_\(.*\)\.c|\1|')
n_seeds=0 n_reg=0 n_known=0 known_open=0
for t in $targets; do
	bin=build/fuzz/fuzz_$t
	mapfile -t seeds < <(seed_dirs "$t")
	work="$T/work-$t"
	mkdir -p "$work"
	log="$T/$t.log"
	# A corpus dir given first is where libFuzzer writes new inputs: a scratch one, never ours.
	"$bin" -runs=0 -artifact_prefix="$T/" "$work" "${seeds[@]}" >"$log" 2>&1 ||
		{ tail -n 40 "$log"; fail "$t: a seed crashes (replay: $bin -runs=0 ${seeds[*]})"; }
	n=$(sed -n 's/^#\([0-9]*\)[[:space:]]*INITED.*/\1/p' "$log" | tail -1)
	n_seeds=$((n_seeds + ${n:-0}))

	if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
		"$bin" fuzz/regressions/"$t"/* >"$log" 2>&1 ||
			{ tail -n 40 "$log"; fail "$t: a regression reproducer crashes again"; }
		n_reg=$((n_reg + $(ls fuzz/regressions/"$t" | wc -l)))
	fi

	for k in fuzz/known/"$t"/*; do
		[ -f "$k" ] || continue
		n_known=$((n_known + 1))
		if "$bin" "$k" >"$log" 2>&1; then
			echo "known crash now passes, move it to fuzz/regressions/$t/: $k"
		else
			known_open=$((known_open + 1))
			echo "known crash, still open: $k ($(grep -m1 '^SUMMARY' "$log" || echo 'no summary'))"
		fi
	done

	runs=$(smoke_runs "$t")
	echo "smoke $t: $bin -seed=$seed -runs=$runs"
	"$bin" -seed="$seed" -runs="$runs" -timeout=60 \
		-artifact_prefix="$T/" "$work" "${seeds[@]}" \
		>"$log" 2>&1 || { tail -n 60 "$log"; fail "$t: smoke run found a crash (-seed=$seed)"; }
done
echo "fuzz corpus: $n_seeds seeds, $n_reg regressions replayed; $known_open of $n_known known crashes still open"
