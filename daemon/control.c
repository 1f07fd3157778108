/* control: see control.h.
 *
 * What a client can make the daemon hold is bounded, because anyone allowed to connect can
 * also misbehave (a stuck script, a loop):
 * - at most CONTROL_CONNS_MAX connections: at the cap the listening socket's source is
 *   switched off (the kernel's backlog then holds or refuses newcomers) and switched on
 *   again when a connection closes. When accept() fails for want of file descriptors
 *   (EMFILE, ENFILE) the pending connection stays in the backlog and the socket stays
 *   readable, so retrying at once would spin: the source is switched off until a short
 *   backoff timer fires or a connection closes.
 * - a request line of at most CONTROL_LINE_MAX bytes, else the connection is closed.
 * - replies not yet taken by the client: once they pass CONTROL_OUT_PAUSE, the connection's
 *   input is not read (nor its buffered requests handled) until the client drains them, so
 *   a client that sends and never reads stalls itself, not the daemon. One reply may still
 *   be large (an export): a connection whose replies pass CONTROL_OUT_MAX is dropped.
 * - who may connect: root, cocod's own uid, or members of [Daemon] ControlGroup=, checked
 *   with SO_PEERCRED/SO_PEERGROUPS at accept (control_peer_allowed()).
 * Whatever a client can make happen again and again is logged at most once per
 * CONTROL_LOG_INTERVAL_USEC, with the count of what was not logged. */
#define _GNU_SOURCE
#include "control.h"

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define CONTROL_LINE_MAX (64 * 1024)
#define CONTROL_OUT_PAUSE (1024 * 1024)
#define CONTROL_OUT_MAX (64 * 1024 * 1024) /* control_call() refuses bigger replies anyway */
#define CONTROL_BACKOFF_USEC (250 * 1000ULL)
#define CONTROL_LOG_INTERVAL_USEC (30 * 1000000ULL)
#define CONTROL_PEER_GROUPS_MAX 256

typedef struct conn conn;

typedef struct ratelimit {
	uint64_t last;
	unsigned suppressed;
	bool used;
} ratelimit;

struct control {
	sd_event *loop;
	sd_event_source *listen_src, *backoff_src;
	int fd;
	char *path;
	control_handler_fn handler;
	void *userdata;
	conn *conns;
	size_t n_conns;
	bool backing_off;
	uid_t self_uid;
	gid_t group; /* CONTROL_NO_GROUP: none */
	ratelimit rl_full, rl_accept, rl_refused, rl_drop;
};

struct conn {
	control *ctl;
	conn *next;
	int fd;
	sd_event_source *src;
	strbuf in, out;
	bool eof; /* the client sent everything it will send: close once out is drained */
};

/* True if this message may be logged now; *ret_suppressed is how many were not since. */
static bool ratelimit_pass(control *c, ratelimit *rl, unsigned *ret_suppressed)
{
	uint64_t now = 0;
	(void)sd_event_now(c->loop, CLOCK_MONOTONIC, &now);
	if (rl->used && now - rl->last < CONTROL_LOG_INTERVAL_USEC) {
		rl->suppressed++;
		return false;
	}
	rl->used = true;
	rl->last = now;
	*ret_suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

/* The listening source is on unless the connections are at the cap or accept() is backing
 * off after running out of file descriptors. */
static void listener_update(control *c)
{
	if (!c->listen_src)
		return;
	bool on = c->n_conns < CONTROL_CONNS_MAX && !c->backing_off;
	(void)sd_event_source_set_enabled(c->listen_src, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

static void conn_free(conn *k)
{
	if (!k)
		return;
	control *c = k->ctl;
	for (conn **p = &c->conns; *p; p = &(*p)->next)
		if (*p == k) {
			*p = k->next;
			c->n_conns--;
			break;
		}
	sd_event_source_disable_unref(k->src);
	if (k->fd >= 0)
		close(k->fd);
	strbuf_done(&k->in);
	strbuf_done(&k->out);
	free(k);
	/* A descriptor and a slot are free again: a backoff need not wait for its timer. */
	if (c->backing_off) {
		c->backing_off = false;
		(void)sd_event_source_set_enabled(c->backoff_src, SD_EVENT_OFF);
	}
	listener_update(c);
}

static void conn_reply(conn *k, cJSON *reply)
{
	_cleanup_free_ char *s = cJSON_PrintUnformatted(reply);
	if (!s)
		return;
	strbuf_puts(&k->out, s);
	strbuf_putc(&k->out, '\n');
}

static void conn_handle_line(conn *k, const char *line)
{
	control *c = k->ctl;
	cJSON *req = cJSON_Parse(line);
	cJSON *reply = NULL;
	_cleanup_free_ char *err = NULL;
	int r;

	if (!req || !cJSON_IsObject(req) || !cJSON_IsString(cJSON_GetObjectItem(req, "cmd"))) {
		r = -EINVAL;
		err = xstrdup("expected a JSON object with a \"cmd\" string");
	} else
		r = c->handler(req, &reply, &err, c->userdata);

	if (r < 0) {
		cJSON_Delete(reply);
		reply = cJSON_CreateObject();
		cJSON_AddBoolToObject(reply, "ok", 0);
		cJSON_AddStringToObject(reply, "error", err ? err : strerror(-r));
	} else {
		if (!reply)
			reply = cJSON_CreateObject();
		if (!cJSON_GetObjectItem(reply, "ok"))
			cJSON_AddBoolToObject(reply, "ok", 1);
	}
	conn_reply(k, reply);
	cJSON_Delete(reply);
	cJSON_Delete(req);
}

static bool conn_has_line(const conn *k)
{
	return k->in.len > 0 && memchr(k->in.s, '\n', k->in.len);
}

/* Handles the buffered complete requests while the replies waiting for the client stay
 * under CONTROL_OUT_PAUSE. Returns -EMSGSIZE for a line or replies over their caps. */
static int conn_process(conn *k)
{
	char *nl;
	while (k->out.len < CONTROL_OUT_PAUSE && k->in.len > 0 &&
	       (nl = memchr(k->in.s, '\n', k->in.len))) {
		*nl = 0;
		conn_handle_line(k, k->in.s);
		size_t used = (size_t)(nl - k->in.s) + 1;
		memmove(k->in.s, k->in.s + used, k->in.len - used + 1);
		k->in.len -= used;
	}
	if (k->out.len > CONTROL_OUT_MAX)
		return -EMSGSIZE;
	if (k->in.len > CONTROL_LINE_MAX && !conn_has_line(k))
		return -EMSGSIZE;
	return 0;
}

/* Sends what the socket takes. */
static int conn_flush(conn *k)
{
	while (k->out.len > 0) {
		ssize_t n = send(k->fd, k->out.s, k->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -errno;
		}
		memmove(k->out.s, k->out.s + n, k->out.len - (size_t)n);
		k->out.len -= (size_t)n;
	}
	return 0;
}

/* Reads only while the replies are under the pause mark; waits for writability only while
 * there is something to send. */
static int conn_update_events(conn *k)
{
	uint32_t ev = 0;
	if (!k->eof && k->out.len < CONTROL_OUT_PAUSE)
		ev |= EPOLLIN;
	if (k->out.len > 0)
		ev |= EPOLLOUT;
	return sd_event_source_set_io_events(k->src, ev);
}

static void conn_drop(conn *k, const char *why)
{
	control *c = k->ctl;
	unsigned sup;
	if (ratelimit_pass(c, &c->rl_drop, &sup))
		log_warning("control: %s, closing the connection (%u more not logged)", why, sup);
	conn_free(k);
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	conn *k = userdata;

	if ((revents & EPOLLIN) && !k->eof && k->out.len < CONTROL_OUT_PAUSE) {
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			conn_free(k);
			return 0;
		}
		if (n == 0)
			k->eof = true;
		if (n > 0)
			strbuf_add(&k->in, buf, (size_t)n);
	} else if (revents & (EPOLLHUP | EPOLLERR)) {
		conn_free(k);
		return 0;
	}

	/* Handle, send, and handle more once the client took enough of the replies. */
	for (;;) {
		int r = conn_process(k);
		if (r < 0) {
			conn_drop(k, k->out.len > CONTROL_OUT_MAX
			                 ? "a client left over 64 MiB of replies unread"
			                 : "a request line over 64 KiB");
			return 0;
		}
		if (conn_flush(k) < 0) {
			conn_free(k);
			return 0;
		}
		if (k->out.len >= CONTROL_OUT_PAUSE || !conn_has_line(k))
			break;
	}
	if (k->eof && k->out.len == 0) {
		conn_free(k);
		return 0;
	}
	if (conn_update_events(k) < 0)
		conn_free(k);
	return 0;
}

bool control_peer_allowed(const control_peer *p, uid_t self_uid, gid_t group)
{
	if (p->uid == 0 || p->uid == self_uid)
		return true;
	if (group == CONTROL_NO_GROUP)
		return false;
	if (p->gid == group)
		return true;
	for (size_t i = 0; i < p->n_groups; i++)
		if (p->groups[i] == group)
			return true;
	return false;
}

/* The credentials of the process that connected (at connect() time, by the kernel). */
static int peer_check(control *c, int fd, control_peer *ret)
{
	struct ucred uc;
	socklen_t len = sizeof uc;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	gid_t groups[CONTROL_PEER_GROUPS_MAX];
	control_peer p = {.uid = uc.uid, .gid = uc.gid, .pid = uc.pid, .groups = groups};
	/* Supplementary groups only matter when a ControlGroup= is set. */
	if (c->group != CONTROL_NO_GROUP && uc.uid != 0 && uc.uid != c->self_uid) {
		len = sizeof groups;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
			p.n_groups = len / sizeof(gid_t);
		/* ERANGE (more than we take) or an old kernel: the primary group still counts. */
	}
	*ret = p;
	return control_peer_allowed(&p, c->self_uid, c->group) ? 1 : 0;
}

static void refuse(control *c, int cfd, const control_peer *p)
{
	static const char msg[] =
	    "{\"ok\":false,\"error\":\"permission denied: not root, not cocod's user and "
	    "not in its ControlGroup=\"}\n";
	(void)send(cfd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(cfd);
	unsigned sup;
	if (!ratelimit_pass(c, &c->rl_refused, &sup))
		return;
	if (c->group == CONTROL_NO_GROUP)
		log_warning("control: refused uid %u (pid %d): only root and uid %u may connect; "
		            "set [Daemon] ControlGroup= to let a group in (%u more refusals not "
		            "logged)", (unsigned)p->uid, (int)p->pid, (unsigned)c->self_uid, sup);
	else
		log_warning("control: refused uid %u (pid %d): only root, uid %u and members of "
		            "gid %u (ControlGroup=) may connect (%u more refusals not logged)",
		            (unsigned)p->uid, (int)p->pid, (unsigned)c->self_uid,
		            (unsigned)c->group, sup);
}

static int on_backoff(sd_event_source *s, uint64_t usec, void *userdata)
{
	control *c = userdata;
	c->backing_off = false;
	listener_update(c);
	return 0;
}

static void accept_backoff(control *c, int err)
{
	unsigned sup;
	if (ratelimit_pass(c, &c->rl_accept, &sup))
		log_warning_errno(err, "control: cannot accept a connection: %m; pausing the control "
		                       "socket (%u more not logged; raise LimitNOFILE= if this "
		                       "persists)", sup);
	c->backing_off = true;
	if (sd_event_source_set_time_relative(c->backoff_src, CONTROL_BACKOFF_USEC) < 0 ||
	    sd_event_source_set_enabled(c->backoff_src, SD_EVENT_ONESHOT) < 0)
		c->backing_off = false; /* cannot arm the timer: better retry than stay deaf */
	listener_update(c);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	control *c = userdata;
	if (c->n_conns >= CONTROL_CONNS_MAX) {
		listener_update(c);
		return 0;
	}
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			accept_backoff(c, errno);
		else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warning_errno(errno, "control: accept failed: %m");
		return 0;
	}
	control_peer peer;
	int r = peer_check(c, cfd, &peer);
	if (r <= 0) {
		if (r < 0) {
			log_warning_errno(r, "control: cannot read the peer's credentials: %m");
			close(cfd);
		} else
			refuse(c, cfd, &peer);
		return 0;
	}
	conn *k = xcalloc(1, sizeof *k);
	k->ctl = c;
	k->fd = cfd;
	r = sd_event_add_io(c->loop, &k->src, cfd, EPOLLIN, on_conn_io, k);
	if (r < 0) {
		log_warning_errno(r, "control: cannot watch connection: %m");
		close(cfd);
		free(k);
		return 0;
	}
	k->next = c->conns;
	c->conns = k;
	c->n_conns++;
	if (c->n_conns >= CONTROL_CONNS_MAX) {
		unsigned sup;
		if (ratelimit_pass(c, &c->rl_full, &sup))
			log_warning("control: %d connections open, not accepting more until one "
			            "closes (%u more not logged)", CONTROL_CONNS_MAX, sup);
		listener_update(c);
	}
	return 0;
}

static int make_parent_dir(const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int control_new(sd_event *loop, const char *path, control_handler_fn handler, void *userdata,
                control **ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	int r = make_parent_dir(path);
	if (r < 0)
		return r;

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;
	if (chmod(path, 0660) < 0)
		return -errno;
	if (listen(fd, 16) < 0)
		return -errno;

	control *c = xcalloc(1, sizeof *c);
	c->loop = sd_event_ref(loop);
	c->handler = handler;
	c->userdata = userdata;
	c->path = xstrdup(path);
	c->fd = -1;
	c->self_uid = geteuid();
	c->group = CONTROL_NO_GROUP;
	r = sd_event_add_io(loop, &c->listen_src, fd, EPOLLIN, on_accept, c);
	if (r < 0) {
		control_free(c);
		return r;
	}
	/* Made now, off: when descriptors run out there may be none left for its timerfd. */
	r = sd_event_add_time_relative(loop, &c->backoff_src, CLOCK_MONOTONIC, CONTROL_BACKOFF_USEC,
	                               0, on_backoff, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->backoff_src, SD_EVENT_OFF);
	if (r < 0) {
		control_free(c);
		return r;
	}
	c->fd = TAKE_FD(fd);
	*ret = c;
	return 0;
}

control *control_free(control *c)
{
	if (!c)
		return NULL;
	while (c->conns)
		conn_free(c->conns);
	sd_event_source_disable_unref(c->listen_src);
	sd_event_source_disable_unref(c->backoff_src);
	if (c->fd >= 0) {
		close(c->fd);
		(void)unlink(c->path);
	}
	sd_event_unref(c->loop);
	free(c->path);
	free(c);
	return NULL;
}

int control_set_group(control *c, gid_t group)
{
	c->group = group;
	/* Members of the group need write access to the socket itself (mode 0660). */
	if (chown(c->path, (uid_t)-1, group == CONTROL_NO_GROUP ? getegid() : group) < 0)
		return -errno;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int control_call(const char *path, const cJSON *request, int timeout_ms, cJSON **ret)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;

	_cleanup_free_ char *line = cJSON_PrintUnformatted(request);
	if (!line)
		return -ENOMEM;
	strbuf out = {0};
	strbuf_puts(&out, line);
	strbuf_putc(&out, '\n');
	size_t off = 0;
	int send_error = 0;
	while (off < out.len) {
		ssize_t n = send(fd, out.s + off, out.len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			/* The daemon may have refused us (and closed) before we sent: its
			 * reason is still there to read. */
			if (r == -EPIPE || r == -ECONNRESET) {
				send_error = r;
				break;
			}
			strbuf_done(&out);
			return r;
		}
		off += (size_t)n;
	}
	strbuf_done(&out);

	strbuf in = {0};
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		char *nl = in.len ? memchr(in.s, '\n', in.len) : NULL;
		if (nl) {
			*nl = 0;
			cJSON *reply = cJSON_Parse(in.s);
			strbuf_done(&in);
			if (!reply)
				return -EBADMSG;
			*ret = reply;
			return 0;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			strbuf_done(&in);
			return -ETIMEDOUT;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		char buf[8192];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			strbuf_done(&in);
			return send_error ? send_error : n < 0 ? -errno : -ECONNRESET;
		}
		if (in.len + (size_t)n > 64 * 1024 * 1024) {
			strbuf_done(&in);
			return -EFBIG;
		}
		strbuf_add(&in, buf, (size_t)n);
	}
}
