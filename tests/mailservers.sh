# Real mail servers for the email tests, sourced after tests/lib.sh (which gives $T, PIDS,
# fail and wait_for). Everything lives under $T and listens on 127.0.0.1, on ports free when
# the test runs; each server is stopped by its own PID from lib.sh's exit trap.
#
#   mail_cert                   a throwaway self-signed certificate for localhost/127.0.0.1:
#                               MAIL_CERT, MAIL_KEY; MAIL_CA (= MAIL_CERT) for clients' --cacert
#   dovecot_restart             the same Dovecot stopped and started again, same ports
#   dovecot_start USER:PASS...  Dovecot: IMAP_PORT (plain), IMAPS_PORT (implicit TLS),
#                               LMTP_PORT (delivery into Maildirs under MAIL_DIR/USER),
#                               DOVECOT_AUTH_PORT (SASL for Postfix), DOVECOT_PID, DOVECOT_LOG.
#                               Users are USER@MAIL_DOMAIN (example.test); mail to
#                               user+anything@ lands in user's INBOX.
#   postfix_start               Postfix relaying MAIL_DOMAIN into that Dovecot over LMTP:
#                               SMTP_PORT (STARTTLS offered, AUTH offered after STARTTLS, no
#                               relaying elsewhere), SMTPS_PORT (implicit TLS), SUBMISSION_PORT
#                               (STARTTLS and AUTH required), POSTFIX_PID, POSTFIX_LOG (its
#                               maillog, one "connect from" line per SMTP connection).
#                               With POSTFIX_DISCARD="d.test", mail to d.test is accepted and
#                               thrown away (the discard transport).
#                               With POSTFIX_GHOSTS="a b", a@ and b@MAIL_DOMAIN are accepted
#                               by Postfix and refused by Dovecot: mail to them bounces.
#   postfix_stop / postfix_start again: the same ports, for "server down, then back" tests.
#   mail_coco_conf              the [SMTP] and [IMAP] sections of a coco.conf for these servers,
#                               cocod being the user coco@MAIL_DOMAIN
#   mail_coco_secrets DIR PASS  cocod's credentials in DIR: a new key, and PASS as the IMAP
#                               password
#   mail_send_reply FROM TO BODYFILE [HEADER...]: a member's reply, through SMTP_PORT (swaks)
#   mail_send_message FROM TO FILE: a complete RFC 5322 message as it is
#   imap_count USER / imap_wait_count USER N / imap_fetch USER UID / imap_uids USER /
#   imap_fetch_all USER DIR:
#                               read INBOX back over IMAPS, verifying the certificate
#
# Runs as root (Postfix's master must); mail is stored as nobody:nogroup.

MAIL_DOMAIN=example.test
MAIL_DIR=$T/mail
MS_DIR=$T/ms
mkdir -p "$MS_DIR"
# Dovecot's login, auth and mail processes and Postfix's daemons run as their own users and
# must reach their files here: they may traverse $T, not list it.
chmod 711 "$T"

# A port nothing listens on now, below the kernel's ephemeral range (where client
# connections take theirs). A server may still lose it to another process before it binds:
# the start functions then try other ports.
ms_free_port() {
	local p lo
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 11000 ] || lo=32768
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % (lo - 10000)))
		case " ${MS_PORTS:-} " in *" $p "*) continue ;; esac
		if ! (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			MS_PORTS="${MS_PORTS:-} $p"
			echo "$p"
			return 0
		fi
	done
	return 1
}

ms_listening() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ms_wait_ports PID SECONDS PORT...: until every port accepts, or PID died (returns 1).
ms_wait_ports() {
	local pid=$1 end=$((SECONDS + $2)) p
	shift 2
	for p in "$@"; do
		until ms_listening "$p"; do
			kill -0 "$pid" 2>/dev/null || return 1
			[ $SECONDS -lt $end ] || return 1
			sleep 0.02
		done
	done
}

ms_stop_pid() { # ms_stop_pid PID: TERM, wait for it; the PID is forgotten by lib.sh's trap
	local pid=$1 i
	kill "$pid" 2>/dev/null || return 0
	wait "$pid" 2>/dev/null || true
	# Not our child (daemonised): wait until it is gone.
	for i in $(seq 500); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
	local keep=()
	for i in "${PIDS[@]}"; do [ "$i" = "$pid" ] || keep+=("$i"); done
	PIDS=("${keep[@]}")
}

mail_cert() {
	[ -n "${MAIL_CERT:-}" ] && return 0
	MAIL_CERT=$MS_DIR/cert.pem MAIL_KEY=$MS_DIR/key.pem
	# EC keys are made in milliseconds. Valid from now for two days: no test depends on the
	# date beyond "the test runs today".
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$MAIL_KEY" -out "$MAIL_CERT" 2>"$MS_DIR/openssl.log" ||
		fail "openssl req: $(cat "$MS_DIR/openssl.log")"
	chmod 644 "$MAIL_CERT"
	chmod 600 "$MAIL_KEY"
	MAIL_CA=$MAIL_CERT
	export MAIL_CERT MAIL_KEY MAIL_CA
}

# dovecot_start USER:PASS...: the users (plain passwords; at least one).
dovecot_start() {
	local d=$MS_DIR/dovecot u try
	mail_cert
	mkdir -p "$d/run" "$d/state" "$MAIL_DIR"
	chown nobody:nogroup "$MAIL_DIR"
	chmod 755 "$d"
	: >"$d/users"
	for u in "$@"; do
		printf '%s:{PLAIN}%s::::::\n' "${u%%:*}" "${u#*:}" >>"$d/users"
	done
	chmod 644 "$d/users"
	DOVECOT_LOG=$d/dovecot.log
	for try in 1 2 3 4 5; do
		IMAP_PORT=$(ms_free_port) IMAPS_PORT=$(ms_free_port) LMTP_PORT=$(ms_free_port)
		DOVECOT_AUTH_PORT=$(ms_free_port) || fail "no free port"
		cat >"$d/dovecot.conf" <<-EOF
			# Written by tests/mailservers.sh; every path is this test's own.
			base_dir = $d/run
			state_dir = $d/state
			instance_name = coco-test-$$
			protocols = imap lmtp
			listen = 127.0.0.1
			log_path = $DOVECOT_LOG
			ssl = yes
			ssl_cert = <$MAIL_CERT
			ssl_key = <$MAIL_KEY
			disable_plaintext_auth = no
			auth_mechanisms = plain login
			auth_username_format = %Ln
			recipient_delimiter = +
			mail_location = maildir:$MAIL_DIR/%n
			first_valid_uid = 1
			passdb {
			  driver = passwd-file
			  args = scheme=PLAIN username_format=%n $d/users
			}
			userdb {
			  driver = passwd-file
			  args = username_format=%n $d/users
			  default_fields = uid=nobody gid=nogroup home=$MAIL_DIR/%n
			}
			service imap-login {
			  inet_listener imap {
			    address = 127.0.0.1
			    port = $IMAP_PORT
			  }
			  inet_listener imaps {
			    address = 127.0.0.1
			    port = $IMAPS_PORT
			    ssl = yes
			  }
			}
			service lmtp {
			  inet_listener lmtp {
			    address = 127.0.0.1
			    port = $LMTP_PORT
			  }
			}
			service auth {
			  inet_listener {
			    address = 127.0.0.1
			    port = $DOVECOT_AUTH_PORT
			  }
			}
			protocol lmtp {
			  # user+tag@example.test is user's: the tag stays in the address, the mail in INBOX.
			  lmtp_save_to_detail_mailbox = no
			}
		EOF
		: >"$DOVECOT_LOG"
		dovecot -c "$d/dovecot.conf" -F >"$d/stdout.log" 2>&1 &
		DOVECOT_PID=$!
		PIDS+=("$DOVECOT_PID")
		if ms_wait_ports "$DOVECOT_PID" 30 "$IMAP_PORT" "$IMAPS_PORT" "$LMTP_PORT" \
			"$DOVECOT_AUTH_PORT"; then
			export IMAP_PORT IMAPS_PORT LMTP_PORT DOVECOT_AUTH_PORT
			return 0
		fi
		ms_stop_pid "$DOVECOT_PID"
		grep -q "Address already in use" "$DOVECOT_LOG" "$d/stdout.log" ||
			fail "dovecot did not start: $(cat "$d/stdout.log" "$DOVECOT_LOG")"
	done
	fail "dovecot: no free ports five times in a row"
}

# dovecot_restart: Dovecot stopped (its clients see the connection drop) and started again
# on the same ports, with the same mail, as an upgrade or a crash of the server would.
dovecot_restart() {
	local d=$MS_DIR/dovecot
	ms_stop_pid "$DOVECOT_PID"
	dovecot -c "$d/dovecot.conf" -F >>"$d/stdout.log" 2>&1 &
	DOVECOT_PID=$!
	PIDS+=("$DOVECOT_PID")
	ms_wait_ports "$DOVECOT_PID" 30 "$IMAP_PORT" "$IMAPS_PORT" "$LMTP_PORT" \
		"$DOVECOT_AUTH_PORT" || fail "dovecot did not start again: $(tail "$d/stdout.log")"
}

# postfix_start: needs dovecot_start first (LMTP and SASL). The first call picks the ports;
# later calls (after postfix_stop) reuse them.
postfix_start() {
	local p=$MS_DIR/postfix try
	[ -n "${LMTP_PORT:-}" ] || fail "postfix_start: start dovecot first"
	mkdir -p "$p/etc" "$p/queue" "$p/data"
	chown postfix: "$p/data"
	POSTFIX_LOG=$p/maillog
	for try in 1 2 3 4 5; do
		if [ -z "${SMTP_PORT:-}" ] || [ "$try" -gt 1 ]; then
			SMTP_PORT=$(ms_free_port) SMTPS_PORT=$(ms_free_port)
			SUBMISSION_PORT=$(ms_free_port) || fail "no free port"
		fi
		postfix_write_config "$p"
		touch "$POSTFIX_LOG"
		# The first start creates the queue's directories and owners (slow: seconds).
		[ -d "$p/queue/active" ] || postfix -c "$p/etc" check >"$p/check.log" 2>&1 ||
			fail "postfix check: $(cat "$p/check.log" "$POSTFIX_LOG")"
		# master -d stays in the foreground: its PID is the server's. In a session of its
		# own it leads its process group, which is how it stops its children (smtpd with
		# a client still connected included) when it gets SIGTERM.
		setsid /usr/lib/postfix/sbin/master -c "$p/etc" -d >"$p/stdout.log" 2>&1 &
		POSTFIX_PID=$!
		PIDS+=("$POSTFIX_PID")
		if ms_wait_ports "$POSTFIX_PID" 30 "$SMTP_PORT" "$SMTPS_PORT" "$SUBMISSION_PORT"; then
			export SMTP_PORT SMTPS_PORT SUBMISSION_PORT
			return 0
		fi
		ms_stop_pid "$POSTFIX_PID"
		grep -q "Address already in use" "$POSTFIX_LOG" "$p/stdout.log" ||
			fail "postfix did not start: $(cat "$p/stdout.log" "$POSTFIX_LOG")"
	done
	fail "postfix: no free ports five times in a row"
}

postfix_stop() {
	[ -n "${POSTFIX_PID:-}" ] && ms_stop_pid "$POSTFIX_PID"
	POSTFIX_PID=
	# Stopped means nobody answers any more: the listening sockets die with the last child.
	local port
	for port in "$SMTP_PORT" "$SMTPS_PORT" "$SUBMISSION_PORT"; do
		wait_for 30 eval "! ms_listening $port" || fail "postfix: port $port still answers"
	done
}

postfix_write_config() {
	local p=$1
	# POSTFIX_GHOSTS: local parts Postfix accepts but Dovecot does not know, so that mail to
	# them really bounces (LMTP 550 → a DSN to the envelope sender).
	printf '%s OK\n' $(cut -d: -f1 "$MS_DIR/dovecot/users" | sed "s/\$/@$MAIL_DOMAIN/") \
		$(for g in ${POSTFIX_GHOSTS:-}; do echo "$g@$MAIL_DOMAIN"; done) >"$p/etc/vmailbox"
	: >"$p/etc/transport"
	for d in ${POSTFIX_DISCARD:-}; do printf '%s discard:\n' "$d" >>"$p/etc/transport"; done
	cat >"$p/etc/main.cf" <<-EOF
		# Written by tests/mailservers.sh: a Postfix of this test's own.
		compatibility_level = 3.6
		queue_directory = $p/queue
		data_directory = $p/data
		maillog_file_prefixes = $p
		maillog_file = $POSTFIX_LOG
		inet_interfaces = loopback-only
		inet_protocols = ipv4
		myhostname = mail.$MAIL_DOMAIN
		mydomain = $MAIL_DOMAIN
		mydestination =
		mynetworks = 127.0.0.0/8
		alias_maps =
		alias_database =
		local_recipient_maps =
		biff = no
		smtpd_peername_lookup = no
		smtpd_banner = \$myhostname ESMTP coco-test
		recipient_delimiter = +
		virtual_mailbox_domains = $MAIL_DOMAIN
		virtual_mailbox_maps = texthash:$p/etc/vmailbox
		virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
		# Nothing leaves the machine, whoever asks: no relaying beyond $MAIL_DOMAIN, but
		# into the discard transport for the domains in POSTFIX_DISCARD (benches).
		smtpd_relay_restrictions = reject_unauth_destination
		relay_domains = ${POSTFIX_DISCARD:-}
		transport_maps = texthash:$p/etc/transport
		smtpd_tls_cert_file = $MAIL_CERT
		smtpd_tls_key_file = $MAIL_KEY
		smtpd_tls_security_level = may
		smtpd_tls_auth_only = yes
		smtpd_sasl_type = dovecot
		smtpd_sasl_path = inet:127.0.0.1:$DOVECOT_AUTH_PORT
		smtpd_sasl_auth_enable = yes
		# Tests send hundreds of messages a second from one address.
		smtpd_client_connection_rate_limit = 0
		smtpd_client_message_rate_limit = 0
		smtpd_error_sleep_time = 0
		smtpd_soft_error_limit = 1000
		smtpd_hard_error_limit = 1000
		lmtp_destination_concurrency_limit = 4
		maximal_backoff_time = 1s
		minimal_backoff_time = 1s
		queue_run_delay = 1s
	EOF
	cat >"$p/etc/master.cf" <<-EOF
		127.0.0.1:$SMTP_PORT inet n - n - - smtpd
		127.0.0.1:$SMTPS_PORT inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
		127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd -o smtpd_tls_security_level=encrypt
		  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
		cleanup unix n - n - 0 cleanup
		qmgr unix n - n 300 1 qmgr
		rewrite unix - - n - - trivial-rewrite
		bounce unix - - n - 0 bounce
		defer unix - - n - 0 bounce
		trace unix - - n - 0 bounce
		verify unix - - n - 1 verify
		flush unix n - n 1000? 0 flush
		proxymap unix - - n - - proxymap
		showq unix n - n - - showq
		error unix - - n - - error
		retry unix - - n - - error
		discard unix - - n - - discard
		smtp unix - - n - - smtp
		lmtp unix - - n - - lmtp
		anvil unix - - n - 1 anvil
		scache unix - - n - 1 scache
		tlsmgr unix - - n 1000? 1 tlsmgr
		postlog unix-dgram n - n - 1 postlogd
	EOF
}

mail_coco_conf() {
	cat <<-EOF
		[SMTP]
		Url=smtp://127.0.0.1:$SMTP_PORT
		CAFile=$MAIL_CA
		[IMAP]
		Host=127.0.0.1
		Port=$IMAPS_PORT
		TLS=imaps
		User=coco@$MAIL_DOMAIN
		CAFile=$MAIL_CA
	EOF
}

mail_coco_secrets() {
	"$COCOCTL" keygen "$1/coco-key" >/dev/null
	printf '%s\n' "$2" >"$1/imap-password"
	chmod 600 "$1/imap-password"
}

# mail_send_reply FROM TO BODYFILE [HEADER...]: one mail through SMTP_PORT, as a member's
# mail client would send it; HEADERs are "Name: value" lines (Subject, In-Reply-To, ...).
mail_send_reply() {
	local from=$1 to=$2 body=$3 h args=()
	shift 3
	for h in "$@"; do args+=(--add-header "$h"); done
	swaks --silent 2 --server 127.0.0.1 --port "$SMTP_PORT" --helo client.test \
		--from "$from" --to "$to" --body "@$body" "${args[@]}"
}

# mail_send_message FROM TO FILE: FILE is the whole message, headers and body.
mail_send_message() {
	swaks --silent 2 --server 127.0.0.1 --port "$SMTP_PORT" --helo client.test \
		--from "$1" --to "$2" --data "@$3"
}

ms_pass() { grep "^$1:" "$MS_DIR/dovecot/users" | sed 's/^[^:]*:{PLAIN}\([^:]*\):.*/\1/'; }

ms_imap() { # ms_imap USER PATH [curl args...]
	local user=$1 path=$2
	shift 2
	curl -sS --max-time 30 --cacert "$MAIL_CA" -u "$user:$(ms_pass "$user")" \
		"imaps://127.0.0.1:$IMAPS_PORT/$path" "$@"
}

imap_uids() { # the UIDs in USER's INBOX, one a line
	ms_imap "$1" INBOX -X "UID SEARCH ALL" | tr -d '\r' | sed -n 's/^\* SEARCH//p' |
		tr ' ' '\n' | grep .
}

imap_count() { # messages in USER's INBOX
	ms_imap "$1" "" -X "STATUS INBOX (MESSAGES)" | tr -d '\r' |
		sed -n 's/.*MESSAGES \([0-9]*\).*/\1/p'
}

imap_wait_count() { # imap_wait_count USER N [SECONDS]: until INBOX holds at least N
	local n end=$((SECONDS + ${3:-60}))
	while :; do
		n=$(imap_count "$1")
		[ "${n:-0}" -ge "$2" ] && return 0
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}

imap_fetch() { # imap_fetch USER UID: the raw message
	ms_imap "$1" "INBOX;UID=$2"
}

imap_fetch_all() { # imap_fetch_all USER DIR: every message of INBOX as DIR/UID.eml, over one connection
	local uid args=()
	mkdir -p "$2"
	for uid in $(imap_uids "$1"); do
		args+=("imaps://127.0.0.1:$IMAPS_PORT/INBOX;UID=$uid" -o "$2/$uid.eml")
	done
	[ ${#args[@]} -gt 0 ] || return 0
	curl -sS --max-time 60 --cacert "$MAIL_CA" -u "$1:$(ms_pass "$1")" "${args[@]}"
}
