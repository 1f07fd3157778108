/* ingress: see ingress.h. */
#define _GNU_SOURCE
#include "ingress.h"

#include <string.h>
#include <unistd.h>

#include "util.h"

struct ingress {
	sd_event *loop;
	ingress_routes_fn routes;
	void *userdata;
	int fds[HTTP_LISTEN_FDS_MAX]; /* passed by the service manager, until a server owns them */
	size_t n_fds;
	bool activated; /* sockets were passed: they are the ingress for the process's life */
	http_server *server;
	char *listen; /* the address server is bound to; NULL when socket-activated or stopped */
};

static bool ingress_wanted(const ingress *g, const coco_config *cfg, bool channels_http)
{
	return g->activated || cfg->listen_explicit || channels_http;
}

static int ingress_start(ingress *g, const coco_config *cfg, http_server **ret)
{
	http_config hc = {.listen = cfg->listen, .listen_fds = g->fds, .n_listen_fds = g->n_fds};
	http_server *s = NULL;
	int r = http_server_new(g->loop, &hc, &s);
	g->n_fds = 0; /* the server owned them, whatever happened */
	if (r < 0)
		return log_error_errno(r, "cannot start the HTTP ingress on %s: %m",
		                       g->activated ? "the sockets passed by the service manager"
		                                    : cfg->listen);
	if (g->routes && (r = g->routes(s, g->userdata)) < 0) {
		http_server_free(s);
		return log_error_errno(r, "cannot set up the HTTP routes: %m");
	}
	if (g->activated)
		log_info("HTTP ingress on %zu socket%s passed by the service manager",
		         http_server_n_listeners(s), http_server_n_listeners(s) == 1 ? "" : "s");
	else
		log_info("HTTP ingress listening on %s", cfg->listen);
	*ret = s;
	return 0;
}

int ingress_new(sd_event *loop, const coco_config *cfg, bool channels_http,
                ingress_routes_fn routes, void *userdata, ingress **ret)
{
	ingress *g = xcalloc(1, sizeof *g);
	g->loop = sd_event_ref(loop);
	g->routes = routes;
	g->userdata = userdata;
	int n = http_listen_fds(g->fds);
	if (n > 0) {
		g->n_fds = (size_t)n;
		g->activated = true;
		if (cfg->listen_explicit)
			log_notice("Listen=%s is ignored: the service manager passed the HTTP "
			           "socket%s", cfg->listen, n == 1 ? "" : "s");
	}
	if (ingress_wanted(g, cfg, channels_http)) {
		int r = ingress_start(g, cfg, &g->server);
		if (r < 0) {
			ingress_free(g);
			return r;
		}
		if (!g->activated)
			g->listen = xstrdup(cfg->listen);
	} else {
		log_debug("no HTTP ingress: Listen= is not set and no channel needs one");
	}
	*ret = g;
	return 0;
}

int ingress_reload(ingress *g, const coco_config *cfg, bool channels_http)
{
	if (g->activated) {
		if (cfg->listen_explicit)
			log_notice("Listen=%s is ignored: the service manager passed the HTTP "
			           "socket%s", cfg->listen, g->n_fds == 1 ? "" : "s");
		return 0;
	}
	if (!ingress_wanted(g, cfg, channels_http)) {
		if (g->server)
			log_info("HTTP ingress stopped: Listen= is not set and no channel needs one");
		g->server = http_server_free(g->server);
		free(g->listen);
		g->listen = NULL;
		return 0;
	}
	if (g->server && STREQ(g->listen, cfg->listen))
		return 0; /* same address: the listener and its connections stay */
	http_server *s = NULL;
	int r = ingress_start(g, cfg, &s);
	if (r < 0) {
		if (g->server)
			log_error("the HTTP ingress stays on %s", g->listen);
		return r;
	}
	http_server_free(g->server);
	g->server = s;
	free(g->listen);
	g->listen = xstrdup(cfg->listen);
	return 0;
}

http_server *ingress_server(ingress *g)
{
	return g ? g->server : NULL;
}

ingress *ingress_free(ingress *g)
{
	if (!g)
		return NULL;
	http_server_free(g->server);
	for (size_t i = 0; i < g->n_fds; i++)
		close(g->fds[i]);
	sd_event_unref(g->loop);
	free(g->listen);
	free(g);
	return NULL;
}
