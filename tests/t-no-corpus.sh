#!/usr/bin/env bash
# A clone without ../shared/corpus: the tests that need it skip, naming what is missing, and
# pass; under CI=true its absence is a failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$(dirname "$COCOD")/tests
for t in test_template test_reply; do
	out=$(COCO_CORPUS_DIR=$T/none CI= "$bin/$t" 2>&1) || fail "$t failed without the corpus:
$out"
	expect_match "$out" "SKIP: $T/none/.* is missing"
	if COCO_CORPUS_DIR=$T/none CI=true "$bin/$t" >/dev/null 2>&1; then
		fail "$t passed under CI=true without the corpus"
	fi
done
echo "t-no-corpus: the corpus tests skip without ../shared/corpus and fail under CI=true"
