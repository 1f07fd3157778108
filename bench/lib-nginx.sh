# bench/lib-nginx.sh, sourced by benches: an nginx of the bench's own, serving a directory of
# static files on a free loopback port, as the ceiling a page of cocod's is measured against.
# nginx here is a bench tool, never the machine's web server: its configuration, pid file,
# logs and temporary files all live in a directory the bench gives (and removes); nothing
# under /etc/nginx or /var is read or written, and the system's nginx service is not touched.
#
#   nginx_start DOCROOT RUNDIR   starts it; sets NGINX_PORT and NGINX_PID (stop it by that
#                                PID: kill "$NGINX_PID"). NGINX_WORKERS (default 1: cocod
#                                is one thread) sets worker_processes. NGINX_SERVER, if
#                                set, is added inside the server block (a `location` that
#                                answers a fixed 200 to a POST, for bench/slack-ingress).

. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib-port.sh"

nginx_start() {
	local docroot=$1 run=$2 user="" try
	command -v nginx >/dev/null || { echo "nginx is missing (scripts/deps.sh installs it)" >&2; return 1; }
	mkdir -p "$run/tmp"
	# As root, nginx's workers drop to an unprivileged user, who must be able to read the files.
	if [ "$(id -u)" -eq 0 ]; then
		user="user nobody nogroup;"
		chmod 0755 "$docroot"
		chmod -R a+rX "$docroot"
	fi
	for try in 1 2 3 4 5; do
		NGINX_PORT=$(free_port) || return 1
		cat >"$run/nginx.conf" <<CONF
$user
worker_processes ${NGINX_WORKERS:-1};
daemon off;
pid $run/nginx.pid;
error_log $run/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	types { text/html html; text/css css; }
	default_type application/octet-stream;
	client_body_temp_path $run/tmp/body;
	proxy_temp_path $run/tmp/proxy;
	fastcgi_temp_path $run/tmp/fastcgi;
	uwsgi_temp_path $run/tmp/uwsgi;
	scgi_temp_path $run/tmp/scgi;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $docroot;
		${NGINX_SERVER:-}
	}
}
CONF
		nginx -e "$run/error.log" -p "$run" -c "$run/nginx.conf" &
		NGINX_PID=$!
		local i
		for i in $(seq 100); do
			if (: <"/dev/tcp/127.0.0.1/$NGINX_PORT") 2>/dev/null; then return 0; fi
			kill -0 "$NGINX_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
		grep -q "Address already in use" "$run/error.log" 2>/dev/null || {
			echo "nginx did not start: $(cat "$run/error.log" 2>/dev/null)" >&2
			return 1
		}
	done
	echo "nginx: no port was free five times in a row" >&2
	return 1
}
