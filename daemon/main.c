/* cocod: arguments, config load, the one sd-event loop, signals, sd_notify, reload.
 * Everything the daemon does happens on this loop; modules hook their sources into it. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "channels.h"
#include "channelset.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "core.h"
#include "curlloop.h"
#include "ingress.h"
#include "secret.h"
#include "spool.h"
#include "store.h"
#include "util.h"
#include "version.h"

typedef struct cocod {
	sd_event *loop;
	char *config_dir;
	char *state_override;
	char *socket_override;
	coco_config *cfg;
	store *store;
	control *ctl;
	sd_event_source *commit_src;
	sd_event_source *timer_src;
	sd_event_source *send_src; /* runs the spool when nothing else is pending */
	uint64_t send_wanted;      /* CLOCK_MONOTONIC µs since send_src waits, or 0 */
	secret key;
	spool *spool;
	core *core;
	char **template_dirs;
	curlloop *curl;       /* the libcurl multi every channel shares */
	channelset *channels; /* the channels that run */
	ingress *http; /* the HTTP ingress, see "HTTP ingress" below */
	uint64_t started_usec;
	unsigned reloads;
	char *last_reload_error;
} cocod;

static const char *daemon_state_dir(const cocod *d)
{
	return d->state_override ? d->state_override : d->cfg->state_dir;
}

static const char *daemon_socket(const cocod *d)
{
	return d->socket_override ? d->socket_override : d->cfg->control_socket;
}

static void daemon_notify_status(cocod *d)
{
	_cleanup_free_ char *summary = config_summary(d->cfg);
	sd_notifyf(0, "STATUS=Running: %s", summary);
}

/* On failure every error is logged and *ret_first_error (if given) is the first one. */
static int load_config(const char *dir, coco_config **ret, char **ret_first_error)
{
	char **errors = NULL;
	int r = config_load(dir, ret, &errors);
	if (r < 0 && ret_first_error)
		*ret_first_error = errors && errors[0] ? xstrdup(errors[0])
		                                       : xasprintf("cannot load %s: %s", dir, strerror(-r));
	if (r < 0) {
		for (char **e = errors; e && *e; e++)
			log_error("%s", *e);
		if (!errors)
			log_error_errno(r, "cannot load configuration from %s: %m", dir);
	}
	strv_free(errors);
	return r;
}

/* The channels of Connectors= run (started, reconfigured or stopped), and the ingress
 * serves their routes. */
static int channels_apply(cocod *d)
{
	int r = channelset_apply(d->channels, d->cfg, daemon_state_dir(d));
	http_server *srv = ingress_server(d->http);
	if (srv && channelset_add_routes(d->channels, srv) < 0)
		log_error("cannot add the channels' HTTP routes to the running ingress");
	return r;
}

/* One timer for everything time-driven: the next round transition, reminder, digest or
 * spool retry. Sends due now are started by send_src instead. */
static void rearm(cocod *d)
{
	int64_t next = core_next_event(d->core), retry = spool_next_due(d->spool);
	if (retry <= clock_now()) {
		if (!d->send_wanted) {
			sd_event_now(d->loop, CLOCK_MONOTONIC, &d->send_wanted);
			d->send_wanted |= 1;
		}
		sd_event_source_set_enabled(d->send_src, SD_EVENT_ONESHOT);
		retry = INT64_MAX;
	}
	if (retry < next)
		next = retry;
	if (next == INT64_MAX) {
		sd_event_source_set_enabled(d->timer_src, SD_EVENT_OFF);
		return;
	}
	int64_t real = next <= 0 ? 0 : clock_to_real(next);
	uint64_t usec = real <= 0 ? 1 : (uint64_t)real * 1000000ULL;
	sd_event_source_set_time(d->timer_src, usec);
	sd_event_source_set_enabled(d->timer_src, SD_EVENT_ONESHOT);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	cocod *d = userdata;
	core_tick(d->core);
	return 0; /* the post source commits, runs the spool and rearms */
}

/* [Daemon] ControlGroup=: who besides root and our own uid may use the control socket.
 * A group that cannot be found any more (removed since `cococtl check`) lets nobody in. */
static void apply_control_group(cocod *d)
{
	gid_t gid = CONTROL_NO_GROUP;
	const char *name = d->cfg->control_group;
	if (name) {
		int r = parse_group(name, &gid);
		if (r < 0) {
			log_error_errno(r, "ControlGroup=%s: cannot resolve the group, only root and "
			                   "cocod's own user may use the control socket: %m", name);
			gid = CONTROL_NO_GROUP;
		}
	}
	int r = control_set_group(d->ctl, gid);
	if (r < 0 && gid != CONTROL_NO_GROUP)
		log_warning_errno(r, "ControlGroup=%s: cannot give %s to the group (cocod must be "
		                     "in it, e.g. SupplementaryGroups=%s): %m", name,
		                  daemon_socket(d), name);
}

/* ---- HTTP ingress (daemon/ingress.h, engine/http.h) ----
 * The routes every server the ingress makes gets: /healthz and the channels' own. */
static int http_routes(http_server *s, void *userdata)
{
	cocod *d = userdata;
	int r = http_route_add(s, "GET", "/healthz", http_handler_healthz, NULL, 0);
	if (r >= 0)
		r = channelset_add_routes(d->channels, s);
	return r;
}
/* ---- end of HTTP ingress ---- */

/* SIGHUP: build a whole new config; swap it in only if valid. */
static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	cocod *d = userdata;
	coco_config *cfg = NULL;

	uint64_t mono;
	sd_event_now(d->loop, CLOCK_MONOTONIC, &mono);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading configuration",
	           (unsigned long long)mono);
	log_info("SIGHUP: reloading configuration from %s", d->config_dir);
	free(d->last_reload_error);
	d->last_reload_error = NULL;
	int r = load_config(d->config_dir, &cfg, &d->last_reload_error);
	if (r < 0) {
		log_error("reload refused: the new configuration in %s is invalid; the previous one "
		          "keeps running (run `cococtl check --config %s` to see every error)",
		          d->config_dir, d->config_dir);
	} else {
		if (strcmp(cfg->state_dir, d->cfg->state_dir) != 0 && !d->state_override)
			log_warning("StateDirectory changed to %s: it takes effect on restart",
			            cfg->state_dir);
		(void)core_commit(d->core);
		r = core_set_config(d->core, cfg);
		/* The channels read the new config at once (channelset_apply below), in place. */
		coco_config *old = d->cfg;
		d->cfg = cfg;
		if (r < 0) {
			/* A state.json that went bad under us (the core logged which): running on
			 * guesses could send invitations twice, so stop; a restart refuses too. */
			log_error_errno(r, "reload failed: cannot load the round states, stopping: %m");
			sd_notify(0, "STOPPING=1\nSTATUS=Stopped: unreadable round state");
			config_free(old);
			return sd_event_exit(d->loop, 1);
		}
		d->reloads++;
		apply_control_group(d);
		if (channels_apply(d) < 0)
			log_error("the new configuration is in use, but a channel in Connectors= did "
			          "not start (above): nothing is sent or read on it until it is fixed "
			          "and cocod reloaded; `cococtl status` lists it as not running");
		config_free(old);
		/* HTTP ingress: logs, keeps the old on failure */
		(void)ingress_reload(d->http, d->cfg, channelset_wants_http(d->channels));
		_cleanup_free_ char *summary = config_summary(d->cfg);
		log_info("configuration reloaded: %s", summary);
	}
	sd_notify(0, "READY=1");
	daemon_notify_status(d);
	rearm(d);
	return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	cocod *d = userdata;
	log_info("%s: stopping", strsignal((int)si->ssi_signo));
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
	return sd_event_exit(d->loop, 0);
}

/* Sends start at idle priority, when no other event is pending: answers coming in are
 * recorded (and acknowledged) first, what they queue is sent in the gaps. The spool's limit
 * (SEND_LIMIT) hands a backlog over a little at a time. */
enum { SEND_LIMIT = 64, SEND_WAIT_MAX_USEC = 1000000 };

static int on_send(sd_event_source *s, void *userdata)
{
	cocod *d = userdata;
	d->send_wanted = 0;
	(void)spool_run(d->spool);
	return 0; /* the post source commits and rearms */
}

/* Group commit: whatever was appended during this loop turn is written and made durable
 * with one fdatasync per file on the store's sync thread; the confirmations it queued then
 * go into one spool batch, then it is acknowledged (core_commit_start). What arrives during
 * the sync is the next batch. A post source runs after every turn that did anything. */
static int on_post(sd_event_source *s, void *userdata)
{
	cocod *d = userdata;
	log_flush(); /* the turn's lines before its records reach the disk */
	core_commit_start(d->core); /* logs its errors */
	/* A loop never idle for a second still sends, a limit's worth at a time. */
	uint64_t now;
	if (d->send_wanted && sd_event_now(d->loop, CLOCK_MONOTONIC, &now) >= 0 &&
	    now - d->send_wanted > SEND_WAIT_MAX_USEC) {
		d->send_wanted = 0;
		(void)spool_run(d->spool);
	}
	(void)spool_sync(d->spool); /* the sends that ended this turn; logs its errors */
	rearm(d);
	log_flush(); /* the turn's log lines, one write */
	return 0;
}

static bool running_named(char *const *names, const char *name)
{
	for (char *const *n = names; *n; n++)
		if (STREQ(*n, name))
			return true;
	return false;
}

static int handle_status(cocod *d, cJSON **ret)
{
	cJSON *o = cJSON_CreateObject();
	uint64_t now;
	sd_event_now(d->loop, CLOCK_MONOTONIC, &now);
	cJSON_AddStringToObject(o, "version", COCO_VERSION);
	cJSON_AddNumberToObject(o, "pid", getpid());
	cJSON_AddNumberToObject(o, "uptime_sec", (double)((now - d->started_usec) / 1000000));
	cJSON_AddStringToObject(o, "config", d->config_dir);
	cJSON_AddStringToObject(o, "state", daemon_state_dir(d));
	_cleanup_free_ char *summary = config_summary(d->cfg);
	cJSON_AddStringToObject(o, "summary", summary);
	cJSON *conns = cJSON_AddArrayToObject(o, "connectors");
	char **names = channelset_names(d->channels);
	for (char **n = names; *n; n++)
		cJSON_AddItemToArray(conns, cJSON_CreateString(*n));
	/* In Connectors= but not running: it failed to start on a reload (the log says why). */
	cJSON *down = cJSON_AddArrayToObject(o, "connectors_down");
	for (size_t i = 0; i < d->cfg->n_connectors; i++)
		if (!running_named(names, d->cfg->connectors[i]))
			cJSON_AddItemToArray(down, cJSON_CreateString(d->cfg->connectors[i]));
	strv_free(names);
	cJSON *camps = cJSON_AddArrayToObject(o, "campaigns");
	for (size_t i = 0; i < d->cfg->n_campaigns; i++)
		cJSON_AddItemToArray(camps, cJSON_CreateString(d->cfg->campaigns[i].id));
	cJSON_AddNumberToObject(o, "reloads", d->reloads);
	spool_counters sc;
	spool_stats(d->spool, &sc);
	cJSON *sp = cJSON_AddObjectToObject(o, "spool");
	cJSON_AddNumberToObject(sp, "queued", (double)sc.queued);
	cJSON_AddNumberToObject(sp, "sent", (double)sc.sent);
	cJSON_AddNumberToObject(sp, "failed", (double)sc.failed);
	int64_t next = core_next_event(d->core);
	if (next != INT64_MAX)
		cJSON_AddNumberToObject(o, "next_event", (double)next);
	if (d->last_reload_error)
		cJSON_AddStringToObject(o, "last_reload_error", d->last_reload_error);
	cJSON_AddItemToObject(o, "failing_addresses", core_failing_addresses(d->core));
	cJSON_AddItemToObject(o, "failed_deliveries", core_failed_deliveries(d->core));
	cJSON_AddItemToObject(o, "unsubscribed", core_unsubscribed(d->core));
	cJSON_AddItemToObject(o, "rejected", core_rejected_summary(d->core));
	*ret = o;
	return 0;
}

static int on_control(const cJSON *req, cJSON **ret_reply, char **ret_error, void *userdata)
{
	cocod *d = userdata;
	const char *cmd = cJSON_GetObjectItem(req, "cmd")->valuestring;

	if (STREQ(cmd, "status"))
		return handle_status(d, ret_reply);
	if (STREQ(cmd, "poll")) {
		int n = channelset_poll(d->channels);
		*ret_reply = cJSON_CreateObject();
		cJSON_AddNumberToObject(*ret_reply, "polled", n);
		return 0;
	}
	int r = core_control(d->core, req, ret_reply, ret_error);
	if (r == -EOPNOTSUPP)
		*ret_error = xasprintf("unknown command \"%s\"", cmd);
	return r;
}

static void daemon_done(cocod *d)
{
	if (d->core && (store_pending(d->store) > 0 || store_commit_busy(d->store)))
		(void)core_commit(d->core);
	else if (d->store && store_pending(d->store) > 0)
		(void)store_commit(d->store);
	control_free(d->ctl);
	ingress_free(d->http);
	channelset_free(d->channels);
	curlloop_free(d->curl);
	core_free(d->core);
	spool_free(d->spool);
	strv_free(d->template_dirs);
	sd_event_source_disable_unref(d->timer_src);
	sd_event_source_disable_unref(d->send_src);
	sd_event_source_disable_unref(d->commit_src);
	store_free(d->store);
	config_free(d->cfg);
	sd_event_unref(d->loop);
	free(d->config_dir);
	free(d->state_override);
	free(d->socket_override);
	free(d->last_reload_error);
}

static void usage(FILE *f)
{
	fputs("usage: cocod [--config DIR] [--state DIR] [--socket PATH] [--verbose]\n"
	      "  --config DIR   configuration directory (default " COCO_SYSCONFDIR ")\n"
	      "  --state DIR    state directory, overrides StateDirectory=\n"
	      "  --socket PATH  control socket, overrides ControlSocket=\n"
	      "  --verbose      log debug messages too\n"
	      "Signals: TERM/INT stop, HUP reloads the configuration.\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"state", required_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{},
	};
	malloc_tune();
	cocod d = {0};
	int c, r;
	/* Wall-clock time, as file times are: store temporaries older than this are a crash's. */
	struct timespec started;
	clock_gettime(CLOCK_REALTIME, &started);

	d.config_dir = xstrdup(COCO_SYSCONFDIR);
	while ((c = getopt_long(argc, argv, "c:s:S:vhV", opts, NULL)) >= 0) {
		switch (c) {
		case 'c':
			free(d.config_dir);
			d.config_dir = xstrdup(optarg);
			break;
		case 's':
			d.state_override = xstrdup(optarg);
			break;
		case 'S':
			d.socket_override = xstrdup(optarg);
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			daemon_done(&d);
			return 0;
		case 'V':
			puts("cocod " COCO_VERSION);
			daemon_done(&d);
			return 0;
		default:
			usage(stderr);
			daemon_done(&d);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		daemon_done(&d);
		return 2;
	}

	r = clock_init_from_env();
	if (r < 0) {
		log_error("not starting: the test clock (see clock.h) must be unix seconds");
		daemon_done(&d);
		return 2;
	}
	if (r > 0)
		log_warning("test clock: now is %lld (unix seconds), not the real time",
		            (long long)clock_now());

	channels_register_config();
	r = load_config(d.config_dir, &d.cfg, NULL);
	if (r < 0) {
		log_error("not starting: fix the configuration in %s (cococtl check --config %s)",
		          d.config_dir, d.config_dir);
		daemon_done(&d);
		return 1;
	}

	/* The key first: a start refused for want of it leaves nothing behind. */
	r = secret_load(d.cfg->secrets_dir, &d.key);
	if (r < 0) {
		log_error("not starting: no usable secret key");
		goto fail;
	}
	r = store_open(daemon_state_dir(&d), &d.store);
	if (r < 0) {
		log_error_errno(r, "cannot open the state directory %s: %m", daemon_state_dir(&d));
		goto fail;
	}
	unsigned swept = 0;
	r = store_sweep_tmp(d.store, &started, &swept);
	if (r < 0)
		log_warning_errno(r, "cannot remove every stale temporary file in %s: %m",
		                  daemon_state_dir(&d));
	if (swept > 0)
		log_notice("removed %u temporary file%s left in %s by an interrupted write", swept,
		           swept == 1 ? "" : "s", daemon_state_dir(&d));

	r = spool_new(d.store, &d.spool);
	if (r < 0) {
		log_error_errno(r, "cannot open the spool: %m");
		goto fail;
	}
	/* Overrides in the config directory first, then the defaults. */
	strv_push(&d.template_dirs, xasprintf("%s/templates", d.config_dir));
	strv_push(&d.template_dirs, xstrdup(getenv("COCO_TEMPLATE_DIR") ? getenv("COCO_TEMPLATE_DIR")
	                                                                 : COCO_DATADIR "/templates"));
	{
		_cleanup_free_ char *err = NULL;
		r = core_check_templates((const char *const *)d.template_dirs, &err);
		if (r < 0) {
			log_error("not starting: %s", err);
			goto fail;
		}
	}
	r = core_new(d.cfg, d.store, d.spool, &d.key, (const char *const *)d.template_dirs, &d.core);
	if (r < 0) {
		log_error_errno(r, "cannot start the campaigns: %m");
		goto fail;
	}
	spool_set_sent_hook(d.spool, core_note_sent, d.core);
	spool_set_limit(d.spool, SEND_LIMIT);
	spool_sync_later(d.spool);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	/* Not sd_event_default(): a default loop checks its thread with a gettid() system call
	 * at every turn; the loop is handed to whatever needs it. */
	r = sd_event_new(&d.loop);
	if (r < 0) {
		log_error_errno(r, "cannot create the event loop: %m");
		goto fail;
	}
	/* The group commit's fdatasyncs on a thread: the loop takes the next batch meanwhile. */
	r = store_attach_event(d.store, d.loop);
	if (r < 0) {
		log_error_errno(r, "cannot start the store's sync thread: %m");
		goto fail;
	}
	if ((r = sd_event_add_signal(d.loop, NULL, SIGTERM, on_sigterm, &d)) < 0 ||
	    (r = sd_event_add_signal(d.loop, NULL, SIGINT, on_sigterm, &d)) < 0 ||
	    (r = sd_event_add_signal(d.loop, NULL, SIGHUP, on_sighup, &d)) < 0 ||
	    (r = sd_event_add_post(d.loop, &d.commit_src, on_post, &d)) < 0 ||
	    (r = sd_event_add_defer(d.loop, &d.send_src, on_send, &d)) < 0 ||
	    (r = sd_event_source_set_priority(d.send_src, SD_EVENT_PRIORITY_IDLE)) < 0 ||
	    (r = sd_event_source_set_enabled(d.send_src, SD_EVENT_OFF)) < 0) {
		log_error_errno(r, "cannot set up the event loop: %m");
		goto fail;
	}
	/* Sends WATCHDOG=1 at half of $WATCHDOG_USEC when the service manager asks for it. */
	r = sd_event_set_watchdog(d.loop, true);
	if (r < 0)
		log_warning_errno(r, "cannot enable the watchdog: %m");
	else if (r > 0)
		log_debug("watchdog enabled");

	r = sd_event_add_time(d.loop, &d.timer_src, CLOCK_REALTIME, 1, 0, on_timer, &d);
	if (r < 0) {
		log_error_errno(r, "cannot set up the timer: %m");
		goto fail;
	}
	r = curlloop_new(d.loop, &d.curl);
	if (r < 0) {
		log_error_errno(r, "cannot set up libcurl on the event loop: %m");
		goto fail;
	}
	r = channelset_new(d.loop, d.store, d.spool, d.core, d.curl, &d.channels);
	if (r >= 0)
		core_set_forget_hook(d.core, channelset_forget, d.channels);
	if (r < 0 || channels_apply(&d) < 0)
		goto fail;

	r = control_new(d.loop, daemon_socket(&d), on_control, &d, &d.ctl);
	if (r < 0) {
		log_error_errno(r, "cannot listen on the control socket %s: %m", daemon_socket(&d));
		goto fail;
	}
	apply_control_group(&d);
	/* HTTP ingress */
	if (ingress_new(d.loop, d.cfg, channelset_wants_http(d.channels), http_routes, &d,
	                &d.http) < 0)
		goto fail;

	sd_event_now(d.loop, CLOCK_MONOTONIC, &d.started_usec);
	{
		_cleanup_free_ char *summary = config_summary(d.cfg);
		log_info("cocod %s started: config %s, state %s, control %s; %s", COCO_VERSION,
		         d.config_dir, daemon_state_dir(&d), daemon_socket(&d), summary);
	}
	sd_notify(0, "READY=1");
	daemon_notify_status(&d);

	log_hold();
	r = sd_event_loop(d.loop);
	log_flush();
	if (r < 0)
		log_error_errno(r, "event loop failed: %m");
	daemon_done(&d);
	log_info("stopped");
	log_flush();
	return r == 0 ? 0 : 1; /* r > 0: the exit code given to sd_event_exit() */
fail:
	daemon_done(&d);
	return 1;
}
