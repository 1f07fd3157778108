#!/usr/bin/env bash
# The IMAP client (connectors/email/imap.c) against two real Dovecots started here: one with
# IDLE, one without (polling). The C driver build/san/tests/test_imap does the work; see its
# header for what it checks. Afterwards: Dovecot never logged anyone in on a connection coco
# refused (the password is sent only after the certificate was verified).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-dovecot.sh"
trap 'dovecot_stop_all; cleanup' EXIT

driver=$(dirname "$COCOD")/tests/test_imap
[ -x "$driver" ] || fail "$driver is not built (make san)"

dovecot_start idle
idle_dir=$DC_DIR
export COCO_IMAP_PORT=$DC_IMAP_PORT COCO_IMAPS_PORT=$DC_IMAPS_PORT COCO_IMAP_DIR=$DC_DIR \
	COCO_IMAP_MAILDIR=$DC_MAILDIR
dovecot_start noidle noidle
export COCO_IMAP_NOIDLE_PORT=$DC_IMAP_PORT COCO_IMAP_NOIDLE_MAILDIR=$DC_MAILDIR
export COCO_IMAP_CA=$T/dovecot-cert.pem COCO_IMAP_USER=$DOVECOT_USER \
	COCO_IMAP_PASSWORD=$DOVECOT_PASSWORD COCO_LIB_DOVECOT=$PWD/tests/lib-dovecot.sh

"$driver"

# Logins came only from connections that had verified the server: every refused attempt
# ended before auth (Dovecot logs those "disconnected before auth", never "Login:" for them).
# The TLS tests to 127.0.0.2 and with a foreign CA file would show as logins from there.
if grep -q 'Login: .*lip=127.0.0.2' "$idle_dir/dovecot.log"; then
	fail "a login on a connection coco should have refused"
fi
grep -q 'Login: user=<coco>' "$idle_dir/dovecot.log" || fail "no login at all in the Dovecot log"
echo "t-imap: ok"
