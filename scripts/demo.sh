#!/usr/bin/env bash
# make demo: the whole job on the example config in etc/, with the local connector (maildirs,
# no server). Starts cocod in a temporary state directory, opens the kickoff survey and the
# idea prompt, feeds replies from six members as mail files (quoted text and signatures
# included), closes the rounds and prints the digests.
#
# The example's dates are examples: the demo runs on a copy of etc/ whose dates are moved by
# whole weeks (weekdays and wall-clock times kept) so that the campaign starts a week or two
# after "now". The story is the same on any date. COCO_TEST_NOW=UNIXSECONDS (honoured by the
# test builds of cocod and cococtl) runs it as if it were that instant.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${COCO_BIN:-$root/build}
demo=${COCO_DEMO_DIR:-$(mktemp -d /tmp/coco-demo.XXXXXX)}
mkdir -p "$demo"
state=$demo/state sock=$demo/control.sock
outbox=$state/local/outbox inbox=$state/local/inbox
etc=$demo/etc
ctl() { "$bin/cococtl" --config "$etc" --socket "$sock" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Move every date of the example so that its first Open= is 7 to 13 days after now.
now=${COCO_TEST_NOW:-$(date +%s)}
example=$root/etc/campaigns.d/onboarding.conf
tz=$(sed -n 's/^TimeZone=//p' "$example" | head -1)
first=$(sed -n 's/^Open=//p' "$example" | sort | head -1)
week=604800
gap=$((now + 7 * 86400 - $(TZ=$tz date -d "$first" +%s)))
if [ $gap -gt 0 ]; then weeks=$(((gap + week - 1) / week)); else weeks=$((-(-gap / week))); fi
shift_date() { # "YYYY-MM-DD HH:MM" moved by $weeks weeks of wall-clock time in $tz
	local rel="$weeks weeks"
	[ "$weeks" -ge 0 ] || rel="$((-weeks)) weeks ago"
	TZ=$tz date -d "$1 $rel" '+%Y-%m-%d %H:%M'
}
rm -rf "$etc"
cp -r "$root/etc" "$etc"
while IFS= read -r line; do
	case "$line" in
	Open=* | Close=* | Start=*) printf '%s=%s\n' "${line%%=*}" "$(shift_date "${line#*=}")" ;;
	*) printf '%s\n' "$line" ;;
	esac
done <"$example" >"$etc/campaigns.d/onboarding.conf"

mkdir -p "$demo/secrets"
ctl keygen "$demo/secrets/coco-key" >/dev/null
export CREDENTIALS_DIRECTORY=$demo/secrets COCO_TEMPLATE_DIR=$root/templates

say "Checking the example configuration (a copy of etc/ in $etc)"
echo "today is $(TZ=$tz date -d "@$now" '+%Y-%m-%d %H:%M %Z'); the example's dates are moved $weeks weeks"
echo "so that the kickoff opens on $(sed -n 's/^Open=//p' "$etc/campaigns.d/onboarding.conf" | sort | head -1) ($tz)"
ctl check

say "Starting cocod (log: $demo/cocod.log)"
"$bin/cocod" --config "$etc" --state "$state" --socket "$sock" >"$demo/cocod.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
ctl status

say "Opening the kickoff survey and the idea prompt"
ctl open onboarding/kickoff
ctl open onboarding/ideas
sleep 0.3
echo "invitations in the outbox: $(ls "$outbox/new" | wc -l) mail files in $outbox/new"
# One key of cococtl mail-parse's JSON line on stdin (the first element of a list).
field() {
	python3 -c 'import json, sys
v = json.loads(sys.stdin.readline())[sys.argv[1]]
print((v[0] if v else "") if isinstance(v, list) else (v or ""))' "$1"
}
# Aino's kickoff invitation (the subject is encoded in the file: ask mail-parse).
for first in $(grep -l "^To:.*aino.virtanen@acme.example" "$outbox"/new/*); do
	case "$(ctl mail-parse "$first" | field subject)" in *Kickoff*) break ;; esac
done
echo "one of them, as Aino gets it (decoded by cococtl mail-parse):"
echo "Subject: $(ctl mail-parse "$first" | field subject)"
echo "Reply-To: $(ctl mail-parse "$first" | field reply_to)"

say "Six members reply by email (quoted text and signatures included)"
# Each reply answers the invitation it quotes, as a mail client would write it: to the
# Reply-To address, In-Reply-To the invitation's Message-ID.
# The outbox names a mail after its message, not after the moment it was written: the
# replies go in a fixed order, the kickoff's before the ideas', members as the configuration
# lists them.
for inv in "$outbox"/new/*; do
	info=$(ctl mail-parse "$inv")
	to=$(field to <<<"$info")
	case "$(field subject <<<"$info")" in *Kickoff*) r=1 ;; *Ideas*) r=2 ;; *) continue ;; esac
	k=$(awk -v a="$to" '/^\[Member "/{k++} index($0,"Email=") && index($0,a){print k; exit}' \
		"$etc/campaigns.d/onboarding.conf")
	echo "$r ${k:-0} $inv"
done | sort -n -k1,1 -k2,2 | cut -d' ' -f3- >"$demo/invitations"
n=0
while read -r inv <&3; do
	info=$(ctl mail-parse "$inv")
	to=$(field to <<<"$info")
	subject=$(field subject <<<"$info")
	case "$subject" in *Kickoff*) round=kickoff ;; *Ideas*) round=ideas ;; *) continue ;; esac
	member=$(awk -v a="$to" '/^\[Member "/{gsub(/^\[Member "|"\]$/,""); m=$0}
		index($0,"Email=") && index($0,a){print m}' "$etc/campaigns.d/onboarding.conf")
	body=scripts/demo/replies/$round-$member.txt
	[ -f "$body" ] || continue
	reply_to=$(field reply_to <<<"$info")
	msgid=$(field message_id <<<"$info")
	n=$((n + 1))
	name=$now.demo$n.demo
	{
		printf 'From: %s\r\nTo: %s\r\nSubject: Re: %s\r\n' "$to" "$reply_to" "$subject"
		printf 'Message-ID: <demo-%s-%s@acme.example>\r\nIn-Reply-To: <%s>\r\n' "$round" "$member" "$msgid"
		printf 'Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' "$(date -R -d "@$now")"
		cat "$body"
		printf '\nOn %s, Northwind co-creation <coco@northwind.example> wrote:\n' "$(date -d "@$now" '+%a, %d %b %Y at %H:%M')"
		# The invitation's words quoted below, as mail clients do (coco cuts them off).
		field reply <<<"$info" | sed -n '1,12s/^/> /p' # (sed reads it all: no SIGPIPE)
	} >"$inbox/tmp/$name"
	mv "$inbox/tmp/$name" "$inbox/new/$name"
	echo "  $member answers $round"
done 3<"$demo/invitations"
ctl poll
for _ in $(seq 100); do
	[ "$(ls "$inbox/new" | wc -l)" -eq 0 ] && break
	sleep 0.05
done
sleep 0.3
ctl rounds onboarding

say "What a member sees back: the confirmation to Jonas (one line was not understood)"
conf=$(grep -l "^To:.*jonas@northwind.example" "$outbox"/new/* | xargs grep -l "^In-Reply-To:.*demo-kickoff" | head -1 || true)
[ -n "$conf" ] && ctl mail-parse "$conf" | field reply | sed -n '1,19p'

say "Closing both rounds: the digests are compiled and sent"
ctl close onboarding/kickoff
ctl close onboarding/ideas
sleep 0.3

say "Digest of the kickoff survey ($state/campaigns/onboarding/digests/kickoff-once.md)"
cat "$state/campaigns/onboarding/digests/kickoff-once.md"
say "Digest of the idea prompt"
cat "$state/campaigns/onboarding/digests/ideas-once.md"

ctl export onboarding >"$demo/export.csv"
rows=$(($(wc -l <"$demo/export.csv") - 1))

say "Where things are"
cat <<EOF
  answers (JSONL, one line per answer):  $state/campaigns/onboarding/rounds/*/once/answers.jsonl
  all answers as CSV ($rows rows):        $demo/export.csv   (cococtl export onboarding)
  digests (Markdown and HTML):           $state/campaigns/onboarding/digests/
  sent mail (RFC 5322 files):            $outbox/new/   ($(ls "$outbox/new" | wc -l) messages)
  replies read:                          $inbox/cur/
  daemon log:                            $demo/cocod.log

cocod stops when the demo ends; the files above stay. Next: put your own campaign in
/etc/coco/campaigns.d/ (see etc/ and docs/config.md), check it with 'cococtl check', and run
cocod under systemd (packaging/cocod.service.in). The demo used the local maildirs above as
its channel; the same campaign runs over real mail with Connectors=email (SMTP out, IMAP in:
'sudo make demo-email' shows it), in Slack with slack and in the browser with web
(docs/email.md, docs/slack.md, docs/web.md). Matrix comes next.
EOF
