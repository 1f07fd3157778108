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
	libmicrohttpd-dev libinih-dev libcmark-dev libical-dev libssl-dev
	libcmocka-dev libxml2-dev
	clang libclang-rt-14-dev
	tzdata systemd
	# /bin/kill: the unit's ExecReload= and t-unit's systemd-analyze verify need it, and a
	# minimal Debian has no kill binary without procps.
	procps
	# t-export reads the CSV export back with Python's csv module, as a spreadsheet would.
	python3
	# tests/t-http.sh talks to cocod's HTTP ingress with curl (systemd-socket-activate,
	# for its socket activation case, is in systemd above).
	curl
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
