# free_port, sourced by tests/lib.sh and bench/lib-nginx.sh.

# free_port [HOST]: a port nothing listens on now on HOST (127.0.0.1), below the kernel's
# ephemeral range, where client connections take theirs. Another process may still take it
# before a server binds it: start_cocod_on_free_port then tries another.
free_port() {
	local host=${1:-127.0.0.1} p lo
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 11000 ] || lo=32768
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % (lo - 10000)))
		if ! (: <"/dev/tcp/$host/$p") 2>/dev/null; then echo "$p"; return 0; fi
	done
	return 1
}
