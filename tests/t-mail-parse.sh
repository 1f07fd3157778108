#!/usr/bin/env bash
# cococtl mail-parse from the user's side: a directory of mail files, good ones and each kind
# of broken one, gives one JSON line per file in order, each with its error or none; the exit
# code is 1 only when some file failed. With a configuration and its secret key, a reply tag
# is resolved to its member and round, and the answers parsed; the tag is computed here with
# Python's hmac from the key file, independently of coco's code.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

run() { set +e; out=$("$@" 2>"$T/stderr"); rc=$?; set -e; }

# A configuration with a key of its own.
cp -r etc "$T/etc"
mkdir -p "$T/state"
sed -i "s|^#Directory=/etc/coco/secrets|Directory=$T/secrets|; s|^StateDirectory=.*|StateDirectory=$T/state|" \
	"$T/etc/coco.conf"
grep -q "^Directory=$T/secrets" "$T/etc/coco.conf" || fail "could not point [Secrets] at $T/secrets"
"$COCOCTL" keygen "$T/secrets/coco-key" >/dev/null

tag() { # tag CAMPAIGN ROUND MEMBER: the reply tag as cocod makes it (secret.h)
	python3 - "$T/secrets/coco-key" "$@" <<'PY'
import base64, hashlib, hmac, sys
key = open(sys.argv[1], 'rb').read().rstrip(b'\r\n')[:64]
msg = b'tag\0' + '/'.join(sys.argv[2:5]).encode()
print(base64.b32encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()[:16].lower())
PY
}
kick=$(tag onboarding kickoff aino)
ideas=$(tag onboarding ideas sofia)
[ ${#kick} -eq 16 ] || fail "tag: $kick"

M=$T/mails
mkdir -p "$M"
cat >"$M/01-tagged.eml" <<MAIL
From: Aino Virtanen <aino.virtanen@acme.example>
To: Northwind <coco+$kick@northwind.example>
Subject: Re: Kickoff
Message-ID: <a1@acme.example>

1: 4
2: b

Ystävällisin terveisin
Aino

ti 1.12.2026 klo 9.00 Northwind (coco@northwind.example) kirjoitti:

> 1. How clear are the goals?
MAIL
# From an mbox: the separator line first; a display name with a comment; the tag in the
# Message-ID it answers; an idea round.
cat >"$M/02-mbox.eml" <<MAIL
From sofia@northwind.example Tue Dec  8 10:00:00 2026
From: "Sofia" (work) <sofia@northwind.example>
To: Northwind <coco@northwind.example>
Subject: Re: Ideas
Message-ID: <a2@northwind.example>
In-Reply-To: <s9.$ideas@northwind.example>

idea: a map of every truck

Sent from my iPhone
MAIL
# No tag: the member comes from the address (a comment after it), there are no answers.
cat >"$M/03-untagged.eml" <<'MAIL'
From: mikko.lehtonen@acme.example (Mikko L.)
To: coco@northwind.example
Subject: hello

1: 5
MAIL
# Aino's tag from someone else: cocod rejects it, so no member and no answers.
cat >"$M/04-foreign.eml" <<MAIL
From: Mallory <mallory@evil.example>
To: coco+$kick@northwind.example
Subject: Re: Kickoff

1: 1
MAIL
# Header only, no empty line before the end: read, but there is no body.
printf 'From: lena@northwind.example\nTo: coco@northwind.example\nSubject: empty\nMessage-ID: <h1@northwind.example>\n' >"$M/05-header-only.eml"
printf 'To: coco@northwind.example\nSubject: who?\n\n1: 4\n' >"$M/06-no-from.eml"
printf 'From: Lena\nTo: coco@northwind.example\n\n1: 4\n' >"$M/07-from-no-address.eml"
printf 'Dear coco,\nthis is a letter, not a mail.\n' >"$M/08-not-a-mail.txt"
printf 'From: lena@northwind.example\nSubject: cut' >"$M/09-cut-short.eml"
: >"$M/10-empty.eml"
python3 - "$M/11-too-big.eml" <<'PY'
import sys
with open(sys.argv[1], 'w') as f:
    f.write('From: lena@northwind.example\n\n')
    f.write(('x' * 99 + '\n') * 110000)
PY
python3 - "$M/12-nested.eml" <<'PY'
import sys
parts = ['From: lena@northwind.example\nMIME-Version: 1.0\n']
for i in range(40):
    parts.append('Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i))
parts.append('Content-Type: text/plain\n\n1: 4\n')
open(sys.argv[1], 'w').write(''.join(parts))
PY

check() { # check PYTHON-ASSERTIONS: over the lines in $out, as `lines` (list of dicts)
	python3 -c "
import json, sys
raw = sys.stdin.read().splitlines()
lines = [json.loads(l) for l in raw]
keys = ['file','message_id','from','to','subject','reply_to','tag','member','automatic','reply','trimmed','answers','error']
for l in lines:
    assert list(l) == keys, ('keys', list(l))
$1
" <<<"$out" || fail "check failed on:
$out
stderr: $(cat "$T/stderr")"
}

files=("$M"/*)
run "$COCOCTL" --config "$T/etc" mail-parse "${files[@]}"
[ $rc -eq 1 ] || fail "mail-parse with broken files exited $rc, expected 1"
check "
assert len(lines) == ${#files[@]}, len(lines)
by = {l['file'].rsplit('/', 1)[1]: l for l in lines}
t = by['01-tagged.eml']
assert t['error'] is None and t['tag'] == '$kick' and t['member'] == 'aino', t
assert t['from'] == 'aino.virtanen@acme.example' and t['message_id'] == 'a1@acme.example', t
assert t['to'] == ['coco+$kick@northwind.example'] and t['subject'] == 'Re: Kickoff', t
assert t['reply_to'] is None, t
assert t['reply'] == '1: 4\n2: b', t['reply']
assert 'kirjoitti' in t['trimmed'] and 'Aino' in t['trimmed'], t['trimmed']
a = t['answers']
assert a['answers'] == {'clarity': '4', 'role': 'Day-to-day user'}, a
assert a['errors'] == [], a
assert t['automatic'] is False
m = by['02-mbox.eml']
assert m['error'] is None and m['from'] == 'sofia@northwind.example', m
assert m['tag'] == '$ideas' and m['member'] == 'sofia', m
assert m['reply'] == 'idea: a map of every truck', m
assert m['answers']['ideas'] == ['a map of every truck'], m
u = by['03-untagged.eml']
assert u['error'] is None and u['from'] == 'mikko.lehtonen@acme.example', u
assert u['tag'] is None and u['member'] == 'mikko' and u['answers'] is None, u
f = by['04-foreign.eml']
assert f['tag'] == '$kick' and f['member'] is None and f['answers'] is None and f['error'] is None, f
h = by['05-header-only.eml']
assert h['from'] == 'lena@northwind.example' and h['message_id'] == 'h1@northwind.example', h
assert h['reply'] == '' and h['error'].startswith('no body'), h
assert by['06-no-from.eml']['error'] == 'no From:', by['06-no-from.eml']
assert by['07-from-no-address.eml']['error'] == 'From has no address'
assert by['08-not-a-mail.txt']['error'].startswith('not a mail'), by['08-not-a-mail.txt']
assert 'cut short' in by['09-cut-short.eml']['error'], by['09-cut-short.eml']
assert 'empty' in by['10-empty.eml']['error'], by['10-empty.eml']
assert by['11-too-big.eml']['error'].startswith('too big'), by['11-too-big.eml']
assert by['12-nested.eml']['error'].startswith('too deeply nested'), by['12-nested.eml']
for name in ['06-no-from.eml', '08-not-a-mail.txt', '11-too-big.eml']:
    l = by[name]
    assert l['from'] is None and l['reply'] is None and l['to'] == [], l
"
# Lines come in the order of the arguments.
order=$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["file"] for l in sys.stdin))' <<<"$out")
[ "$order" = "${files[*]}" ] || fail "lines out of order: $order"

# Only good files: exit 0. Standard input as "-", among files.
run "$COCOCTL" mail-parse --config "$T/etc" "$M/01-tagged.eml" - "$M/03-untagged.eml" <"$M/02-mbox.eml"
[ $rc -eq 0 ] || fail "mail-parse of good files exited $rc: $out $(cat "$T/stderr")"
check "
assert [l['file'] for l in lines] == ['$M/01-tagged.eml', '-', '$M/03-untagged.eml'], lines
assert lines[1]['member'] == 'sofia' and lines[1]['error'] is None, lines[1]
"
# One bad file among good ones: 1. A file that is not there gets its line too.
run "$COCOCTL" --config "$T/etc" mail-parse "$M/01-tagged.eml" "$M/none.eml"
[ $rc -eq 1 ] || fail "a missing file: exit $rc"
check "
assert len(lines) == 2 and lines[0]['error'] is None, lines
assert lines[1]['error'].startswith('cannot read'), lines[1]
"

# Without the key: the tag is found, the round it points to is not: member from the address,
# answers null, and stderr says why.
mv "$T/secrets/coco-key" "$T/key.away"
run "$COCOCTL" --config "$T/etc" mail-parse "$M/01-tagged.eml" "$M/04-foreign.eml"
[ $rc -eq 0 ] || fail "without the key: exit $rc"
check "
assert lines[0]['tag'] == '$kick' and lines[0]['member'] == 'aino' and lines[0]['answers'] is None, lines[0]
assert lines[1]['tag'] == '$kick' and lines[1]['member'] is None and lines[1]['answers'] is None, lines[1]
"
grep -q "secret key" "$T/stderr" || fail "no word on the missing key: $(cat "$T/stderr")"
mv "$T/key.away" "$T/secrets/coco-key"

# A configuration given that does not load: nothing parsed, exit 1.
run "$COCOCTL" --config "$T/nowhere" mail-parse "$M/01-tagged.eml"
[ $rc -eq 1 ] && [ -z "$out" ] || fail "a bad --config: exit $rc, output $out"

# Usage errors: no file, stdin twice.
run "$COCOCTL" mail-parse
[ $rc -eq 2 ] || fail "no file: exit $rc"
run "$COCOCTL" mail-parse - - </dev/null
[ $rc -eq 2 ] || fail "- twice: exit $rc"

# The help says what a line holds.
"$COCOCTL" mail-parse --help | grep -q '"answers","error"' || fail "mail-parse --help lacks the line format"
echo "t-mail-parse: OK"
