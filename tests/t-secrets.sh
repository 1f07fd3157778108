#!/usr/bin/env bash
# The secret key as installed: one credential name in the code (SECRET_KEY_NAME), the
# unit's LoadCredential= and the README; `cococtl keygen` into a directory that does not
# exist yet; `make install` creates /etc/coco/secrets 0700 under DESTDIR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/.." && pwd)

# One name everywhere.
name=$(sed -n 's/^#define SECRET_KEY_NAME "\(.*\)"$/\1/p' "$src/engine/secret.h")
[ -n "$name" ] || fail "no SECRET_KEY_NAME in engine/secret.h"
unit=$(sed -n 's/^LoadCredential=\([^:]*\):\(.*\)$/\1 \2/p' "$src/packaging/cocod.service.in" | head -1)
[ -n "$unit" ] || fail "the unit passes no LoadCredential= (uncommented)"
[ "${unit%% *}" = "$name" ] || fail "the unit's credential is \"${unit%% *}\", the code reads \"$name\""
[ "${unit#* }" = "/etc/coco/secrets/$name" ] || fail "the unit loads ${unit#* }, not /etc/coco/secrets/$name"
readme=$(grep -o 'LoadCredential=[^`:]*:[^`]*' "$src/README.md" | sort -u)
[ -n "$readme" ] || fail "the README shows no LoadCredential="
while read -r l; do
	[ "$l" = "LoadCredential=$name:/etc/coco/secrets/$name" ] || fail "README: $l does not match the code and the unit"
done <<<"$readme"
expect_match "$(cat "$src/README.md")" "cococtl keygen /etc/coco/secrets/$name"

# keygen into a directory that does not exist yet: created 0700, the key 0600, a hint that
# names what cocod reads.
out=$("$COCOCTL" keygen "$T/new/secrets/$name")
[ "$(stat -c %a "$T/new")" = 700 ] || fail "keygen created $T/new with mode $(stat -c %a "$T/new")"
[ "$(stat -c %a "$T/new/secrets")" = 700 ] || fail "keygen's directory is not 0700"
[ "$(stat -c %a "$T/new/secrets/$name")" = 600 ] || fail "the key is not 0600"
expect_match "$out" "\[Secrets\] Directory=$T/new/secrets"
expect_match "$out" "LoadCredential=$name:$T/new/secrets/$name"
# What the hint says works: `cococtl check` finds the key where Directory= points.
mkdir -p "$T/etc/campaigns.d"
printf '[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@example.org\n[Secrets]\nDirectory=%s\n' \
	"$T/new/secrets" >"$T/etc/coco.conf"
"$COCOCTL" --config "$T/etc" check >"$T/check.out" 2>&1 ||
	fail "cococtl check does not accept the key keygen wrote: $(cat "$T/check.out")"
# Another name works for LoadCredential= only, and the hint says so.
out=$("$COCOCTL" keygen "$T/other/key.txt")
expect_match "$out" "LoadCredential=$name:$T/other/key.txt"
expect_match "$out" "must be named $name"
# A key is never overwritten.
if "$COCOCTL" keygen "$T/new/secrets/$name" 2>/dev/null; then fail "keygen overwrote a key"; fi

# make install creates etc/coco/secrets 0700 under DESTDIR. On a copy of the sources: a
# different PREFIX rebuilds everything, which must not touch the build being tested.
mkdir "$T/src"
(cd "$src" && tar -c --exclude=./build --exclude=./.git .) | tar -x -C "$T/src"
make -C "$T/src" -s -j"$(nproc)" install DESTDIR="$T/root" PREFIX=/usr >"$T/install.log" 2>&1 ||
	fail "make install failed: $(tail -20 "$T/install.log")"
[ -d "$T/root/etc/coco/secrets" ] || fail "make install did not create etc/coco/secrets"
[ "$(stat -c %a "$T/root/etc/coco/secrets")" = 700 ] ||
	fail "etc/coco/secrets has mode $(stat -c %a "$T/root/etc/coco/secrets")"
installed=$(grep '^LoadCredential=' "$T/root/usr/lib/systemd/system/cocod.service")
[ "$installed" = "LoadCredential=$name:/etc/coco/secrets/$name" ] || fail "installed unit: $installed"
[ -x "$T/root/usr/bin/cococtl" ] || fail "make install did not install cococtl"
echo "t-secrets: one credential name ($name) in code, unit and README; keygen and install make 0700 directories"
