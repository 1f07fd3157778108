/* imap-session: the worker thread's IMAP steps for imap.c: a connect a stop can interrupt,
 * TLS and LOGIN, marking acknowledged mail, listing what is new, fetching a body. Everything
 * here blocks (libetpan) and runs on the worker thread only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "email/imap-private.h"
#include "util.h"

bool imap_stopping(imap_client *c)
{
	pthread_mutex_lock(&c->lock);
	bool s = c->stop;
	pthread_mutex_unlock(&c->lock);
	return s;
}

int imap_wait_wake(imap_client *c, int timeout_ms, int extra_fd)
{
	struct pollfd p[2] = {{.fd = c->wake_fd, .events = POLLIN}, {.fd = extra_fd, .events = POLLIN}};
	uint64_t n;
	int r;

	r = poll(p, extra_fd >= 0 ? 2 : 1, timeout_ms);
	if (r > 0 && (p[0].revents & POLLIN))
		(void)read(c->wake_fd, &n, sizeof(n));
	return r > 0 && extra_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) ? 1 : 0;
}


/* Non-blocking connect, so a stop interrupts it; the socket is handed back blocking, as
 * libetpan wants it. Registers it as c->sock_fd. */
static int tcp_connect(imap_client *c, char **ret_error)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *ai, *i;
	char port[8];
	int r, fd = -1, err = 0;

	snprintf(port, sizeof(port), "%u", c->cfg.port);
	r = getaddrinfo(c->host, port, &hints, &ai);
	if (r != 0) {
		*ret_error = xasprintf("cannot resolve %s: %s", c->host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	for (i = ai; i; i = i->ai_next) {
		fd = socket(i->ai_family, i->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		            i->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		pthread_mutex_lock(&c->lock);
		bool stop = c->stop;
		if (!stop)
			c->sock_fd = fd;
		pthread_mutex_unlock(&c->lock);
		if (stop) {
			close(fd);
			freeaddrinfo(ai);
			return -ECANCELED;
		}
		if (connect(fd, i->ai_addr, i->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			struct pollfd p[2] = {{.fd = fd, .events = POLLOUT},
			                      {.fd = c->wake_fd, .events = POLLIN}};
			socklen_t len = sizeof(err);
			int left = (int)c->cfg.timeout_sec * 1000;

			err = ETIMEDOUT;
			while (left > 0 && !imap_stopping(c)) {
				struct timespec t0, t1;
				clock_gettime(CLOCK_MONOTONIC, &t0);
				r = poll(p, 2, left);
				clock_gettime(CLOCK_MONOTONIC, &t1);
				left -= (int)((t1.tv_sec - t0.tv_sec) * 1000 +
				              (t1.tv_nsec - t0.tv_nsec) / 1000000);
				if (r > 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
					if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
						err = errno;
					break;
				}
				if (r > 0 && (p[1].revents & POLLIN)) {
					uint64_t n;
					(void)read(c->wake_fd, &n, sizeof(n));
				}
			}
			if (err == 0)
				break;
		}
		pthread_mutex_lock(&c->lock);
		c->sock_fd = -1;
		pthread_mutex_unlock(&c->lock);
		close(fd);
		fd = -1;
		if (imap_stopping(c)) {
			freeaddrinfo(ai);
			return -ECANCELED;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		*ret_error = xasprintf("cannot connect to %s port %u: %s", c->host, c->cfg.port,
		                       strerror(err ? err : ECONNREFUSED));
		return -(err ? err : ECONNREFUSED);
	}
	int one = 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Still registered as c->sock_fd: the caller unregisters it before closing. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		r = -errno;
		*ret_error = xasprintf("fcntl: %s", strerror(errno));
		return r;
	}
	return fd;
}

void imap_unregister_socket(imap_client *c)
{
	pthread_mutex_lock(&c->lock);
	c->sock_fd = -1;
	pthread_mutex_unlock(&c->lock);
}

char *imap_error(mailimap *imap, const char *what, int r)
{
	const char *resp = imap && imap->imap_response ? imap->imap_response : NULL;

	if (r == MAILIMAP_ERROR_STREAM)
		return xasprintf("%s: connection lost or timed out", what);
	return xasprintf("%s failed (libetpan error %d)%s%s", what, r, resp ? ": " : "",
	                 resp ? resp : "");
}

static bool connect_ok(int r)
{
	return r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
	       r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED;
}

/* Connect, TLS, verify, LOGIN. Returns 0 with the session logged in, or < 0 with *why. The
 * socket stays registered in c->sock_fd until the session is freed. */
int imap_open_session(imap_client *c, mailimap *imap, char **why)
{
	mailstream *s;
	int fd, r;

	fd = tcp_connect(c, why);
	if (fd < 0)
		return fd;
	if (c->cfg.tls == IMAP_TLS_IMPLICIT) {
		s = mailstream_ssl_open_with_callback_timeout(fd, c->cfg.timeout_sec, imap_tls_sni,
		                                              c->host);
		if (!s) {
			imap_unregister_socket(c);
			close(fd);
			*why = xasprintf("TLS handshake with %s failed", c->host);
			return -EPROTO;
		}
		r = imap_tls_verify(s, c->host, c->ca_file, why);
		if (r < 0) {
			imap_unregister_socket(c);
			mailstream_close(s); /* closes fd */
			return r;
		}
	} else {
		s = mailstream_socket_open_timeout(fd, c->cfg.timeout_sec);
		if (!s) {
			imap_unregister_socket(c);
			close(fd);
			*why = xstrdup("out of memory");
			return -ENOMEM;
		}
	}
	r = mailimap_connect(imap, s); /* owns s from here, even on failure */
	if (!connect_ok(r)) {
		*why = imap_error(imap, "IMAP greeting", r);
		return -EPROTO;
	}
	bool preauth = r == MAILIMAP_NO_ERROR_AUTHENTICATED;
	if (c->cfg.tls == IMAP_TLS_STARTTLS) {
		if (preauth) {
			*why = xstrdup("server greeted PREAUTH before STARTTLS; refusing");
			return -EPROTO;
		}
		r = mailimap_socket_starttls_with_callback(imap, imap_tls_sni, c->host);
		if (r != MAILIMAP_NO_ERROR) {
			*why = imap_error(imap, "STARTTLS", r);
			return -EPROTO;
		}
		r = imap_tls_verify(imap->imap_stream, c->host, c->ca_file, why);
		if (r < 0)
			return r;
	}
	if (!preauth) {
		r = mailimap_login(imap, c->user, c->password);
		if (r != MAILIMAP_NO_ERROR) {
			*why = imap_error(imap, "LOGIN", r);
			return -EACCES;
		}
	}
	struct mailimap_capability_data *caps = NULL;
	r = mailimap_capability(imap, &caps); /* what the server offers once logged in */
	if (r != MAILIMAP_NO_ERROR) {
		*why = imap_error(imap, "CAPABILITY", r);
		return -EPROTO;
	}
	mailimap_capability_data_free(caps);
	return 0;
}

/* Marks on the server what the caller acknowledged (DONE, REJECTED): \Seen, or MOVE. Marks
 * of another UIDVALIDITY are dropped: those UIDs mean nothing any more. */
int imap_apply_marks(imap_client *c, mailimap *imap, uint32_t uidvalidity, char **why)
{
	mark *m;
	size_t n;
	int r = MAILIMAP_NO_ERROR;

	pthread_mutex_lock(&c->lock);
	m = TAKE_PTR(c->marks);
	n = c->n_marks;
	c->n_marks = c->cap_marks = 0;
	pthread_mutex_unlock(&c->lock);
	if (!n) {
		free(m);
		return 0;
	}

	struct mailimap_set *set = mailimap_set_new_empty();
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		if (m[i].uidvalidity == uidvalidity) {
			mailimap_set_add_single(set, m[i].uid);
			count++;
		}
	if (count && c->move_to) {
		if (mailimap_has_extension(imap, "MOVE"))
			r = mailimap_uid_move(imap, set, c->move_to);
		else {
			r = mailimap_uid_copy(imap, set, c->move_to);
			if (r == MAILIMAP_NO_ERROR) {
				struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
				mailimap_flag_list_add(fl, mailimap_flag_new_seen());
				mailimap_flag_list_add(fl, mailimap_flag_new_deleted());
				struct mailimap_store_att_flags *sf =
					mailimap_store_att_flags_new_add_flags_silent(fl);
				r = mailimap_uid_store(imap, set, sf);
				mailimap_store_att_flags_free(sf);
			}
			if (r == MAILIMAP_NO_ERROR && mailimap_has_extension(imap, "UIDPLUS"))
				r = mailimap_uid_expunge(imap, set);
		}
	} else if (count) {
		struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
		mailimap_flag_list_add(fl, mailimap_flag_new_seen());
		struct mailimap_store_att_flags *sf = mailimap_store_att_flags_new_add_flags_silent(fl);
		r = mailimap_uid_store(imap, set, sf);
		mailimap_store_att_flags_free(sf);
	}
	mailimap_set_free(set);

	if (r != MAILIMAP_NO_ERROR) {
		/* Keep them for the next connection. */
		*why = imap_error(imap, c->move_to ? "moving done mail" : "flagging done mail \\Seen", r);
		pthread_mutex_lock(&c->lock);
		size_t later = c->n_marks;
		if (n + later > c->cap_marks) {
			c->cap_marks = n + later;
			c->marks = xrealloc(c->marks, c->cap_marks * sizeof(mark));
		}
		memmove(c->marks + n, c->marks, later * sizeof(mark));
		memcpy(c->marks, m, n * sizeof(mark));
		c->n_marks = n + later;
		pthread_mutex_unlock(&c->lock);
		free(m);
		return -EIO;
	}
	free(m);
	return 0;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* `UID SEARCH UID from:to UNSEEN` (to 0: `from:*`): numbers only, however many flags the
 * folder holds. */
int imap_search_unseen(mailimap *imap, uint32_t from, uint32_t to, uint32_t **ret, size_t *ret_n,
                       char **why)
{
	struct mailimap_search_key *key = mailimap_search_key_new_multiple_empty();
	clist *res = NULL;
	uint32_t *v;
	size_t n = 0;
	int r;

	mailimap_search_key_multiple_add(key, mailimap_search_key_new_uid(
		mailimap_set_new_interval(from, to)));
	mailimap_search_key_multiple_add(key, mailimap_search_key_new(
		MAILIMAP_SEARCH_KEY_UNSEEN, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL,
		NULL));
	r = mailimap_uid_search(imap, NULL, key, &res);
	mailimap_search_key_free(key);
	if (r != MAILIMAP_NO_ERROR) {
		*why = imap_error(imap, "UID SEARCH UNSEEN", r);
		return -EIO;
	}
	v = xcalloc(clist_count(res) + 1, sizeof(*v));
	for (clistiter *it = clist_begin(res); it; it = clist_next(it)) {
		uint32_t uid = *(uint32_t *)clist_content(it);
		/* `n:*` also matches the highest UID when it is below n: filter. */
		if (uid >= from && (to == 0 || uid <= to))
			v[n++] = uid;
	}
	mailimap_search_result_free(res);
	qsort(v, n, sizeof(*v), uid_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

static struct mailimap_set *set_of(const uint32_t *uids, size_t n)
{
	struct mailimap_set *set = mailimap_set_new_empty();
	for (size_t i = 0; i < n; i++) {
		/* Runs of consecutive UIDs as one range: a chunk of 64 is usually `a:b`. */
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (j == i)
			mailimap_set_add_single(set, uids[i]);
		else
			mailimap_set_add_interval(set, uids[i], uids[j]);
		i = j;
	}
	return set;
}

/* The index of uid in the sorted uids, or -1. */
static ssize_t index_of(const uint32_t *uids, size_t n, uint32_t uid)
{
	const uint32_t *p = bsearch(&uid, uids, n, sizeof(*uids), uid_cmp);
	return p ? p - uids : -1;
}

/* One `UID FETCH` of uids (sorted) with the attributes in ft; calls each(item, index) for
 * every static attribute of a message in uids. */
static int fetch_each(mailimap *imap, const uint32_t *uids, size_t n,
                      struct mailimap_fetch_type *ft, const char *what,
                      void (*each)(struct mailimap_msg_att_static *st, size_t i, void *u),
                      void *u, char **why)
{
	struct mailimap_set *set = set_of(uids, n);
	clist *res = NULL;
	int r;

	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	r = mailimap_uid_fetch(imap, set, ft, &res);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		*why = imap_error(imap, what, r);
		return -EIO;
	}
	for (clistiter *it = clist_begin(res); it; it = clist_next(it)) {
		struct mailimap_msg_att *ma = clist_content(it);
		ssize_t idx = -1;

		for (int pass = 0; pass < 2; pass++)
			for (clistiter *j = clist_begin(ma->att_list); j; j = clist_next(j)) {
				struct mailimap_msg_att_item *item = clist_content(j);
				if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
					continue;
				struct mailimap_msg_att_static *st = item->att_data.att_static;
				if (pass == 0 && st->att_type == MAILIMAP_MSG_ATT_UID)
					idx = index_of(uids, n, st->att_data.att_uid);
				else if (pass == 1 && idx >= 0 && st->att_type != MAILIMAP_MSG_ATT_UID)
					each(st, (size_t)idx, u);
			}
	}
	mailimap_fetch_list_free(res);
	return 0;
}

static void size_each(struct mailimap_msg_att_static *st, size_t i, void *u)
{
	if (st->att_type == MAILIMAP_MSG_ATT_RFC822_SIZE)
		((uint64_t *)u)[i] = st->att_data.att_rfc822_size;
}

int imap_fetch_sizes(mailimap *imap, const uint32_t *uids, size_t n, uint64_t *sizes, char **why)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();

	for (size_t i = 0; i < n; i++)
		sizes[i] = IMAP_GONE;
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_rfc822_size());
	return fetch_each(imap, uids, n, ft, "UID FETCH (sizes)", size_each, sizes, why);
}

typedef struct bodies {
	char **bodies;
	size_t *lens;
} bodies;

static void body_each(struct mailimap_msg_att_static *st, size_t i, void *u)
{
	bodies *b = u;
	if (st->att_type != MAILIMAP_MSG_ATT_BODY_SECTION || b->bodies[i])
		return;
	struct mailimap_msg_att_body_section *body = st->att_data.att_body_section;
	size_t len = body->sec_body_part ? body->sec_length : 0;
	b->bodies[i] = xmalloc(len + 1);
	if (len)
		memcpy(b->bodies[i], body->sec_body_part, len);
	b->bodies[i][len] = '\0';
	b->lens[i] = len;
}

int imap_fetch_bodies(mailimap *imap, const uint32_t *uids, size_t n, char **ret_bodies,
                      size_t *ret_lens, char **why)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	bodies b = {ret_bodies, ret_lens};

	for (size_t i = 0; i < n; i++) {
		ret_bodies[i] = NULL;
		ret_lens[i] = 0;
	}
	mailimap_fetch_type_new_fetch_att_list_add(
		ft, mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	int r = fetch_each(imap, uids, n, ft, "UID FETCH (bodies)", body_each, &b, why);
	if (r < 0)
		for (size_t i = 0; i < n; i++) {
			free(ret_bodies[i]);
			ret_bodies[i] = NULL;
		}
	return r;
}
