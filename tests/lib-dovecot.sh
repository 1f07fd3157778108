# A throwaway Dovecot (IMAP only) for the shell tests, small enough to fold into a shared
# mail-server harness later. Source it after lib.sh ($T, PIDS, fail, wait_for):
#
#   dovecot_start NAME [noidle]  starts an instance in $T/dovecot-NAME with one user
#                                (DOVECOT_USER / DOVECOT_PASSWORD), a Maildir, a plain IMAP
#                                port (STARTTLS offered) and an IMAPS port, both on 127.0.0.1
#                                and 127.0.0.2, ports picked free at run time. Sets DC_DIR,
#                                DC_IMAP_PORT, DC_IMAPS_PORT, DC_MAILDIR. `noidle` leaves IDLE
#                                out of the capabilities (imap_capability).
#   dovecot_stop DIR             stops the instance by the PID its master wrote, and waits
#   dovecot_restart DIR          stop, then start again on the same ports
#
# Run as a command, `bash tests/lib-dovecot.sh restart DIR` restarts an instance (a C test
# driver calls that). The certificate is self-signed, made at test time by openssl for
# CN=localhost with SANs DNS:localhost and IP:127.0.0.1 (not 127.0.0.2: connecting there is
# the wrong-host-name case); $T/dovecot-cert.pem is what a client's CA file should name.
# Every started master's PID file is remembered; an EXIT trap of lib.sh's kind stops them.

DOVECOT_USER=coco
DOVECOT_PASSWORD=test-password-not-secret
DC_STARTED=()

dovecot_free_port() { # a port nothing listens on, on 127.0.0.1 nor 127.0.0.2
	local p lo
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 11000 ] || lo=32768
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % (lo - 10000)))
		if ! (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
			! (: <"/dev/tcp/127.0.0.2/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

dovecot_cert() {
	[ -f "$T/dovecot-cert.pem" ] && return 0
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
		-addext 'basicConstraints=critical,CA:FALSE' \
		-addext 'extendedKeyUsage=serverAuth' \
		-keyout "$T/dovecot-key.pem" -out "$T/dovecot-cert.pem" 2>/dev/null ||
		fail "openssl could not make a certificate"
	chmod 0644 "$T/dovecot-key.pem"
}

dovecot_listening() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

dovecot_run() { # dovecot_run DIR: start the master, wait until both ports answer
	local dir=$1 pid
	rm -f "$dir/run/master.pid"
	dovecot -c "$dir/dovecot.conf" || return 1
	wait_for 30 test -s "$dir/run/master.pid" || return 1
	pid=$(cat "$dir/run/master.pid")
	DC_STARTED+=("$dir")
	wait_for 30 dovecot_listening "$(cat "$dir/imap.port")" &&
		wait_for 30 dovecot_listening "$(cat "$dir/imaps.port")" && return 0
	kill "$pid" 2>/dev/null
	return 1
}

dovecot_start() {
	local name=$1 mode=${2:-} dir="$T/dovecot-$1" uid gid iuser luser
	command -v dovecot >/dev/null || fail "dovecot is missing (apt-get install dovecot-imapd)"
	dovecot_cert
	# Dovecot's unprivileged processes must reach the files: traverse only, no listing.
	chmod 0711 "$T"
	mkdir -p "$dir/run" "$dir/state" "$dir/home/$DOVECOT_USER/Maildir/"{new,cur,tmp}
	if [ "$(id -u)" = 0 ]; then
		uid=$(id -u nobody) gid=$(id -g nobody) iuser=dovecot luser=dovenull
	else
		uid=$(id -u) gid=$(id -g) iuser=$(id -un) luser=$(id -un)
	fi
	chown -R "$uid:$gid" "$dir/home"
	printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$DOVECOT_USER" "$DOVECOT_PASSWORD" "$uid" "$gid" \
		"$dir/home/$DOVECOT_USER" >"$dir/passwd"
	chmod 0644 "$dir/passwd"
	for attempt in 1 2 3 4 5; do
		dovecot_free_port >"$dir/imap.port"
		dovecot_free_port >"$dir/imaps.port"
		cat >"$dir/dovecot.conf" <<-EOF
		base_dir = $dir/run
		state_dir = $dir/state
		log_path = $dir/dovecot.log
		protocols = imap
		listen = 127.0.0.1, 127.0.0.2
		default_internal_user = $iuser
		default_login_user = $luser
		ssl = yes
		ssl_cert = <$T/dovecot-cert.pem
		ssl_key = <$T/dovecot-key.pem
		disable_plaintext_auth = no
		auth_mechanisms = plain login
		passdb {
		  driver = passwd-file
		  args = scheme=PLAIN $dir/passwd
		}
		userdb {
		  driver = passwd-file
		  args = $dir/passwd
		}
		mail_location = maildir:~/Maildir
		namespace inbox {
		  inbox = yes
		  separator = /
		  mailbox Processed {
		    auto = create
		  }
		}
		mailbox_idle_check_interval = 1 secs
		service imap-login {
		  inet_listener imap {
		    port = $(cat "$dir/imap.port")
		  }
		  inet_listener imaps {
		    port = $(cat "$dir/imaps.port")
		    ssl = yes
		  }
		}
		EOF
		if [ "$mode" = noidle ]; then
			echo 'imap_capability = IMAP4rev1 LITERAL+ SASL-IR ENABLE UIDPLUS MOVE NAMESPACE' \
				>>"$dir/dovecot.conf"
		fi
		if dovecot_run "$dir"; then
			DC_DIR=$dir DC_MAILDIR=$dir/home/$DOVECOT_USER/Maildir
			DC_IMAP_PORT=$(cat "$dir/imap.port") DC_IMAPS_PORT=$(cat "$dir/imaps.port")
			return 0
		fi
		echo "dovecot did not start (attempt $attempt):" >&2
		tail -n 5 "$dir/dovecot.log" >&2 2>/dev/null
	done
	fail "dovecot would not start"
}

dovecot_stop() {
	local dir=$1 pid
	[ -s "$dir/run/master.pid" ] || return 0
	pid=$(cat "$dir/run/master.pid")
	kill "$pid" 2>/dev/null || return 0
	# Not our child (it daemonized): wait for it to go.
	wait_for 30 eval "! kill -0 $pid 2>/dev/null" || fail "dovecot $pid did not stop"
	rm -f "$dir/run/master.pid"
}

dovecot_restart() {
	dovecot_stop "$1"
	dovecot_run "$1" || fail "dovecot did not start again in $1"
}

dovecot_stop_all() {
	local d
	for d in "${DC_STARTED[@]}"; do dovecot_stop "$d" || true; done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	# Command mode, for a test driver: restart DIR.
	set -eu
	T=${T:-$(dirname "$2")}
	fail() { echo "FAIL: $*" >&2; exit 1; }
	wait_for() {
		local end=$((SECONDS + $1)); shift
		until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.05; done
	}
	case $1 in
	restart) dovecot_restart "$2" ;;
	stop) dovecot_stop "$2" ;;
	*) fail "usage: lib-dovecot.sh restart|stop DIR" ;;
	esac
fi
