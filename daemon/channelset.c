/* channelset: see channelset.h. */
#define _GNU_SOURCE
#include "channelset.h"

#include <string.h>

#include "channels.h"
#include "util.h"

/* A route stays registered on the server for the set's life; the server calls route_call(),
 * which calls the channel instance that owns the route now (a restarted channel takes its
 * routes over), or answers 404 while none does. */
typedef struct route {
	char *method, *path;
	http_handler_fn fn; /* NULL: the channel stopped */
	void *userdata;
	unsigned flags;
	const channel_ops *owner;
} route;

typedef struct running {
	channel_host host; /* first: a channel's host pointer is its running entry */
	channelset *set;
	const channel_ops *ops;
	channel *ch;
} running;

struct channelset {
	sd_event *loop;
	store *st;
	spool *sp;
	core *core;
	curlloop *curl;
	const channel_ops *const *list; /* the channels that may run: channel_list(), or a test's */
	char *state_dir;
	running **run;
	size_t n_run;
	route **routes; /* each its own allocation: servers keep pointers to them */
	size_t n_routes;
};

static int route_call(http_request *req, void *userdata)
{
	const route *rt = userdata;
	if (!rt->fn)
		return http_respond_text(req, 404, "not found");
	return rt->fn(req, rt->userdata);
}

static void host_receive(const channel_host *h, const inbound_msg *m, inbound_done_fn done,
                         void *userdata)
{
	const running *r = (const running *)h;
	core_receive(r->set->core, m, done, userdata);
}

static bool cursor_key_ok(const char *key)
{
	if (!key || !*key || strlen(key) > 64 || key[0] == '.')
		return false;
	return key[strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")] == 0;
}

static int host_cursor_get(const channel_host *h, const char *key, char **ret)
{
	const running *r = (const running *)h;
	if (!cursor_key_ok(key))
		return -EINVAL;
	_cleanup_free_ char *path = xasprintf("channels/%s/%s", r->ops->name, key);
	size_t len;
	return store_read(r->set->st, path, 4096, ret, &len);
}

static int host_cursor_set(const channel_host *h, const char *key, const char *value)
{
	const running *r = (const running *)h;
	if (!cursor_key_ok(key) || !value)
		return -EINVAL;
	_cleanup_free_ char *path = xasprintf("channels/%s/%s", r->ops->name, key);
	return store_replace(r->set->st, path, value, strlen(value));
}

static int host_route_add(const channel_host *h, const char *method, const char *path,
                          http_handler_fn fn, void *userdata, unsigned flags)
{
	const running *r = (const running *)h;
	channelset *s = r->set;
	for (size_t i = 0; i < s->n_routes; i++) {
		route *rt = s->routes[i];
		if (STREQ(rt->method, method) && STREQ(rt->path, path)) {
			if (rt->owner != r->ops && rt->fn)
				return -EEXIST;
			/* The same channel restarted, or the route's owner stopped: this instance
			 * takes it over (the flags a server has stay as first registered). */
			rt->fn = fn;
			rt->userdata = userdata;
			rt->owner = r->ops;
			return 0;
		}
	}
	route *rt = xcalloc(1, sizeof *rt);
	*rt = (route){xstrdup(method), xstrdup(path), fn, userdata, flags, r->ops};
	s->routes = xrealloc(s->routes, (s->n_routes + 1) * sizeof *s->routes);
	s->routes[s->n_routes++] = rt;
	return 0;
}

int channelset_new(sd_event *loop, store *st, spool *sp, core *co, curlloop *curl,
                   channelset **ret)
{
	channelset *s = xcalloc(1, sizeof *s);
	s->loop = sd_event_ref(loop);
	s->st = st;
	s->sp = sp;
	s->core = co;
	s->curl = curl;
	s->list = channel_list();
	*ret = s;
	return 0;
}

static void running_stop(channelset *s, running *r)
{
	spool_detach(s->sp, r->ops->name);
	r->ops->stop(r->ch);
	/* A route of a stopped channel answers 404 until an instance takes it over. */
	for (size_t i = 0; i < s->n_routes; i++)
		if (s->routes[i]->owner == r->ops)
			s->routes[i]->fn = NULL;
	free(r);
}

static int running_start(channelset *s, const channel_ops *ops, const coco_config *cfg,
                         running **ret)
{
	running *r = xcalloc(1, sizeof *r);
	r->set = s;
	r->ops = ops;
	r->host = (channel_host){
		.loop = s->loop,
		.cfg = cfg,
		.name = ops->name,
		.state_dir = s->state_dir,
		.curl = s->curl,
		.receive = host_receive,
		.cursor_get = host_cursor_get,
		.cursor_set = host_cursor_set,
		.route_add = host_route_add,
	};
	int k = ops->start(&r->host, &r->ch);
	if (k < 0) {
		free(r);
		return log_error_errno(k, "cannot start the %s channel: %m", ops->name);
	}
	k = spool_attach(s->sp, ops, r->ch);
	if (k < 0)
		log_warning_errno(k, "%s: cannot read its spool queue: %m", ops->name);
	log_info("channel %s started", ops->name);
	*ret = r;
	return 0;
}

void channelset_use_list(channelset *s, const channel_ops *const *list)
{
	s->list = list ? list : channel_list();
}

static const channel_ops *find_ops(const channelset *s, const char *name)
{
	for (size_t i = 0; name && s->list[i]; i++)
		if (STREQ(s->list[i]->name, name))
			return s->list[i];
	return NULL;
}

static running *find_running(channelset *s, const char *name)
{
	for (size_t i = 0; i < s->n_run; i++)
		if (STREQ(s->run[i]->ops->name, name))
			return s->run[i];
	return NULL;
}

int channelset_apply(channelset *s, const coco_config *cfg, const char *state_dir)
{
	int err = 0;
	free(s->state_dir);
	s->state_dir = xstrdup(state_dir);
	running **next = xcalloc(cfg->n_connectors + 1, sizeof *next);
	size_t n_next = 0;

	for (size_t i = 0; i < cfg->n_connectors; i++) {
		const channel_ops *ops = find_ops(s, cfg->connectors[i]);
		if (!ops) {
			log_warning("channel \"%s\" is not built into this cocod: messages for it stay "
			            "queued in the spool", cfg->connectors[i]);
			continue;
		}
		running *r = find_running(s, ops->name);
		if (r) {
			/* It stays: taken out of the old list, reconfigured in place if it can. */
			for (size_t k = 0; k < s->n_run; k++)
				if (s->run[k] == r)
					s->run[k] = s->run[--s->n_run];
			r->host.cfg = cfg;
			r->host.state_dir = s->state_dir;
			int k = ops->reconfigure ? ops->reconfigure(r->ch) : -EOPNOTSUPP;
			if (k >= 0) {
				log_debug("channel %s reconfigured in place", ops->name);
				next[n_next++] = r;
				continue;
			}
			if (k != -EOPNOTSUPP)
				log_warning_errno(k, "channel %s cannot take the new configuration in "
				                  "place, restarting it: %m", ops->name);
			else
				log_info("channel %s restarts for the new configuration", ops->name);
			running_stop(s, r);
		}
		int k = running_start(s, ops, cfg, &r);
		if (k < 0) {
			if (err == 0)
				err = k;
			continue;
		}
		next[n_next++] = r;
	}
	/* Whatever is left was removed from Connectors=. */
	for (size_t i = 0; i < s->n_run; i++) {
		log_info("channel %s stopped: no longer in Connectors=", s->run[i]->ops->name);
		running_stop(s, s->run[i]);
	}
	free(s->run);
	s->run = next;
	s->n_run = n_next;

	const channel_ops **ops = xcalloc(n_next + 1, sizeof *ops);
	for (size_t i = 0; i < n_next; i++)
		ops[i] = next[i]->ops;
	core_set_channels(s->core, ops, n_next);
	free(ops);
	return err;
}

bool channelset_wants_http(const channelset *s)
{
	for (size_t i = 0; i < s->n_routes; i++)
		if (s->routes[i]->fn)
			return true;
	return false;
}

int channelset_add_routes(channelset *s, http_server *server)
{
	for (size_t i = 0; i < s->n_routes; i++) {
		route *rt = s->routes[i];
		int r = http_route_add(server, rt->method, rt->path, route_call, rt, rt->flags);
		if (r < 0 && r != -EEXIST) /* -EEXIST: the server has it, through route_call too */
			return r;
	}
	return 0;
}

int channelset_poll(channelset *s)
{
	int n = 0;
	for (size_t i = 0; i < s->n_run; i++)
		if (s->run[i]->ops->poll) {
			int r = s->run[i]->ops->poll(s->run[i]->ch);
			if (r > 0)
				n += r;
		}
	return n;
}

int channelset_forget(const char *const *addresses, const char *const *phrases,
                      size_t *ret_erased, void *userdata)
{
	channelset *s = userdata;
	int err = 0;
	for (size_t i = 0; i < s->n_run; i++) {
		const channel_ops *ops = s->run[i]->ops;
		size_t n = 0;
		if (!ops->forget)
			continue;
		int r = ops->forget(s->run[i]->ch, addresses, phrases, &n);
		*ret_erased += n;
		if (r < 0) {
			log_error_errno(r, "forget: the %s channel could not erase every copy: %m",
			                ops->name);
			if (err == 0)
				err = r;
		}
	}
	return err;
}

char **channelset_names(const channelset *s)
{
	char **v = xcalloc(s->n_run + 1, sizeof *v);
	for (size_t i = 0; i < s->n_run; i++)
		v[i] = xstrdup(s->run[i]->ops->name);
	return v;
}

channelset *channelset_free(channelset *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_run; i++)
		running_stop(s, s->run[i]);
	free(s->run);
	for (size_t i = 0; i < s->n_routes; i++) {
		free(s->routes[i]->method);
		free(s->routes[i]->path);
		free(s->routes[i]);
	}
	free(s->routes);
	free(s->state_dir);
	sd_event_unref(s->loop);
	free(s);
	return NULL;
}
