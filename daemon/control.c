/* control: see control.h. Requests are small; a line over CONTROL_LINE_MAX is refused and
 * the connection closed, so a broken client cannot make the daemon buffer without bound. */
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

typedef struct conn conn;

struct control {
	sd_event *loop;
	sd_event_source *listen_src;
	int fd;
	char *path;
	control_handler_fn handler;
	void *userdata;
	conn *conns;
};

struct conn {
	control *ctl;
	conn *next;
	int fd;
	sd_event_source *src;
	strbuf in, out;
};

static void conn_free(conn *k)
{
	if (!k)
		return;
	control *c = k->ctl;
	for (conn **p = &c->conns; *p; p = &(*p)->next)
		if (*p == k) {
			*p = k->next;
			break;
		}
	sd_event_source_disable_unref(k->src);
	if (k->fd >= 0)
		close(k->fd);
	strbuf_done(&k->in);
	strbuf_done(&k->out);
	free(k);
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

static int conn_flush(conn *k)
{
	while (k->out.len > 0) {
		ssize_t n = send(k->fd, k->out.s, k->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return sd_event_source_set_io_events(k->src, EPOLLIN | EPOLLOUT);
			return -errno;
		}
		memmove(k->out.s, k->out.s + n, k->out.len - (size_t)n);
		k->out.len -= (size_t)n;
	}
	return sd_event_source_set_io_events(k->src, EPOLLIN);
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	conn *k = userdata;

	if (revents & EPOLLIN) {
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			conn_free(k);
			return 0;
		}
		strbuf_add(&k->in, buf, (size_t)n);
		char *nl;
		while (k->in.len > 0 && (nl = memchr(k->in.s, '\n', k->in.len))) {
			*nl = 0;
			conn_handle_line(k, k->in.s);
			size_t used = (size_t)(nl - k->in.s) + 1;
			memmove(k->in.s, k->in.s + used, k->in.len - used + 1);
			k->in.len -= used;
		}
		if (k->in.len > CONTROL_LINE_MAX) {
			log_warning("control: request line over %d bytes, closing connection",
			            CONTROL_LINE_MAX);
			conn_free(k);
			return 0;
		}
	}
	if (revents & (EPOLLHUP | EPOLLERR) && !(revents & EPOLLIN)) {
		conn_free(k);
		return 0;
	}
	if (conn_flush(k) < 0)
		conn_free(k);
	return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	control *c = userdata;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warning_errno(errno, "control: accept failed: %m");
		return 0;
	}
	conn *k = xcalloc(1, sizeof *k);
	k->ctl = c;
	k->fd = cfd;
	int r = sd_event_add_io(c->loop, &k->src, cfd, EPOLLIN, on_conn_io, k);
	if (r < 0) {
		log_warning_errno(r, "control: cannot watch connection: %m");
		close(cfd);
		free(k);
		return 0;
	}
	k->next = c->conns;
	c->conns = k;
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
	r = sd_event_add_io(loop, &c->listen_src, fd, EPOLLIN, on_accept, c);
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
	if (c->fd >= 0) {
		close(c->fd);
		(void)unlink(c->path);
	}
	sd_event_unref(c->loop);
	free(c->path);
	free(c);
	return NULL;
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
	while (off < out.len) {
		ssize_t n = send(fd, out.s + off, out.len - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
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
			return n < 0 ? -errno : -ECONNRESET;
		}
		if (in.len + (size_t)n > 64 * 1024 * 1024) {
			strbuf_done(&in);
			return -EFBIG;
		}
		strbuf_add(&in, buf, (size_t)n);
	}
}
