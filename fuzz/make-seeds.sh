#!/usr/bin/env bash
# Regenerates the seeds in fuzz/corpus/ that are derived from the tests' data (the ones a
# target cannot read as they are, because its input has a selector byte or several parts).
# Hand-written seeds live beside them and are kept. Run from anywhere; commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
c=fuzz/corpus

# template: TEMPLATE NUL DATA-JSON NUL PARTIAL (the footer partial every template uses).
for t in templates/*.md; do
	n=$(basename "$t" .md)
	d=tests/data/templates/$n.json
	[ -f "$d" ] || continue
	{ cat "$t"; printf '\0'; cat "$d"; printf '\0'; cat templates/footer.md; } >"$c/template/tests-$n"
done

# store: a round selector byte (0 survey, 1 gap, 2 anon, 3 prompt, 4 vote) + answers.jsonl.
sel() { case $1 in survey*) echo 0 ;; gap) echo 1 ;; anon) echo 2 ;; prompt) echo 3 ;; vote) echo 4 ;; esac; }
for f in tests/data/digest/*.jsonl; do
	n=$(basename "$f" .jsonl)
	{ printf "\\x0$(sel "$n")"; cat "$f"; } >"$c/store/tests-$n"
done
echo "seeds regenerated under $c"
