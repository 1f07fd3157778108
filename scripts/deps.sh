#!/usr/bin/env bash
# Install, only when missing, every Debian package that building and testing coco needs.
# Idempotent: a second run installs nothing and prints nothing but a one-line summary.
set -euo pipefail

# libcurl4-gnutls-dev, not -openssl-: libetpan-dev depends on the GnuTLS flavour and the two conflict.
# clang + libclang-rt-14-dev: the fuzz targets (make fuzz, tests/t-fuzz.sh). libFuzzer and
# clang's ASan/UBSan runtimes (libclang_rt.fuzzer*.a, libclang_rt.asan*.a) are in
# libclang-rt-14-dev, which clang-14 only recommends, and recommends are not installed here.
pkgs=(
	build-essential pkg-config make gcc
	libsystemd-dev libcurl4-gnutls-dev libetpan-dev libcjson-dev
	libmicrohttpd-dev libinih-dev libcmark-dev libical-dev libssl-dev nettle-dev
	libcmocka-dev libxml2-dev
	clang libclang-rt-14-dev
	# Slack's Socket Mode is a WebSocket, which Debian 12's libcurl cannot speak.
	libwebsockets-dev
	tzdata systemd
	# /bin/kill: the unit's ExecReload= and t-unit's systemd-analyze verify need it, and a
	# minimal Debian has no kill binary without procps.
	procps
	# t-export reads the CSV export back with Python's csv module, as a spreadsheet would.
	python3
	# tests/t-http.sh talks to cocod's HTTP ingress with curl (systemd-socket-activate,
	# for its socket activation case, is in systemd above).
	curl
	# tests/mailservers.sh, the real mail servers of the email tests (t-mailservers, t-smtp):
	# Dovecot's IMAP server and its LMTP server (the final delivery into a Maildir) ...
	dovecot-imapd dovecot-lmtpd
	# ... Postfix, the SMTP server coco submits to (relays into Dovecot over LMTP) ...
	postfix
	# ... swaks, a scriptable SMTP client, sends test mail (and members' replies) ...
	swaks
	# ... with TLS (STARTTLS, implicit TLS), which it only recommends ...
	libnet-ssleay-perl
	# ... openssl makes the throwaway self-signed certificate each test uses for TLS, and
	# ca-certificates gives the TLS libraries their default trust store.
	openssl ca-certificates
	# tests/t-browser.sh: the web view in a real browser, Debian's chromium driven headless
	# by playwright-core from npm (tests/browser/), told to use /usr/bin/chromium so npm
	# downloads no browser of its own.
	chromium nodejs npm
	# bench/web (make bench): wrk loads a digest page of the web view, and the same page as a
	# static file from an nginx the bench starts itself (bench/lib-nginx.sh) as the ceiling.
	# bench/slack-ingress: wrk posts signed slash commands to cocod, and to the same nginx
	# answering a fixed 200.
	# nginx is a bench tool, never the machine's web server: not started, and disabled below.
	wrk nginx
)

# Packages that only bring a command: the command found on PATH counts as the package. A
# machine with NodeSource's nodejs has node and npm from that one package, and Debian's npm
# cannot be installed beside it (apt: "held broken packages").
declare -A by_command=([nodejs]=node [npm]=npm)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
	[ -n "${by_command[$p]:-}" ] && command -v "${by_command[$p]}" >/dev/null && continue
	missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# Postfix and Dovecot are test tools here, never the machine's mail system: Postfix is told to
# write no configuration of its own, and no service may start during the install (on a
# machine with an init system, postinst scripts would start a system-wide Postfix on port 25
# and Dovecot on 143/993). invoke-rc.d asks /usr/sbin/policy-rc.d first; exit 101 means
# "action forbidden". One is put there only for the install and only if there is none (a
# Docker image ships its own, which says the same).
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# coco scripts/deps.sh: no service starts while it installs\nexit 101\n' |
		$sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	own_policy=1
	trap '$sudo rm -f "$policy"' EXIT
fi
# debconf's database is locked while another install runs: try again for up to 10 minutes.
for _ in $(seq 600); do
	echo "postfix postfix/main_mailer_type select No configuration" |
		$sudo debconf-set-selections 2>/dev/null && break
	sleep 1
done
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
# Another apt run (a parallel build, unattended-upgrades) holds the lock for a while: wait.
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Installed just now as test tools: they stay off at the next boot too (tests start their own).
for svc in postfix dovecot nginx; do
	case " ${missing[*]} " in *" $svc "* | *" $svc-"*) ;; *) continue ;; esac
	# systemctl disables a unit without a running systemd too (it removes the enablement
	# links the package's postinst made), so a container that boots later stays clean.
	command -v systemctl >/dev/null && $sudo systemctl disable -q "$svc" 2>/dev/null || true
done
if [ -n "$own_policy" ]; then
	$sudo rm -f "$policy"
	trap - EXIT
fi
echo "deps: done"
