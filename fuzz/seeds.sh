# Sourced by fuzz/run.sh and tests/t-fuzz.sh: seed_dirs NAME [all] prints the seed directories
# of target NAME, one per line — its own fuzz/corpus/NAME and the tests' data it reads as it
# is. With "all" (make fuzz) also the shared corpora next to the tree, when they are there:
# they are others' test data, read in place and never copied, and not a seed set that
# t-fuzz.sh holds this tree to (a crash they show is a finding, filed under fuzz/known/).
# Run from the top of the tree.
seed_dirs() {
	echo "fuzz/corpus/$1"
	case $1 in
	mime)
		echo tests/data/mail
		[ "${2:-}" = all ] && [ -d ../shared/corpus/reply-trimmer/emails ] &&
			echo ../shared/corpus/reply-trimmer/emails
		;;
	config)
		echo tests/data/config/bad
		echo tests/data/config/bad-main
		echo tests/data/config/defaults
		echo tests/data/config/defaults/campaigns.d
		echo etc
		echo etc/campaigns.d
		;;
	esac
	return 0
}
