#!/usr/bin/env bash
# The systemd unit: valid syntax (systemd-analyze verify) and hardened
# (systemd-analyze security: exposure at most 2.0, "OK"; today it is 1.2).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bindir=$(cd "$(dirname "$COCOD")" && pwd)
sed "s|@BINDIR@|$bindir|g" packaging/cocod.service.in >"$T/cocod.service"
systemd-analyze verify "$T/cocod.service" || fail "systemd-analyze verify failed"
out=$(systemd-analyze security --offline=true "$T/cocod.service" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for cocod.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$score" ] || fail "no exposure level in: $out"
echo "exposure level: $score"
systemd-analyze security --offline=true --threshold=20 "$T/cocod.service" >/dev/null ||
	fail "exposure $score is above 2.0"
