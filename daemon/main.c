/* cocod: arguments, config load, the one sd-event loop, signals, sd_notify, reload.
 * Everything the daemon does happens on this loop; modules hook their sources into it. */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
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

static int load_config(const char *dir, coco_config **ret)
{
	char **errors = NULL;
	int r = config_load(dir, ret, &errors);
	if (r < 0) {
		for (char **e = errors; e && *e; e++)
			log_error("%s", *e);
		if (!errors)
			log_error_errno(r, "cannot load configuration from %s: %m", dir);
	}
	strv_free(errors);
	return r;
}

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
	int r = load_config(d->config_dir, &cfg);
	free(d->last_reload_error);
	d->last_reload_error = NULL;
	if (r < 0) {
		d->last_reload_error = xstrdup("invalid configuration, see the log");
		log_error("reload refused: the new configuration in %s is invalid; the previous one "
		          "keeps running (run `cococtl check --config %s` to see every error)",
		          d->config_dir, d->config_dir);
	} else {
		if (strcmp(cfg->state_dir, d->cfg->state_dir) != 0 && !d->state_override)
			log_warning("StateDirectory changed to %s: it takes effect on restart",
			            cfg->state_dir);
		config_free(d->cfg);
		d->cfg = cfg;
		d->reloads++;
		_cleanup_free_ char *summary = config_summary(d->cfg);
		log_info("configuration reloaded: %s", summary);
	}
	sd_notify(0, "READY=1");
	daemon_notify_status(d);
	return 0;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	cocod *d = userdata;
	log_info("%s: stopping", strsignal((int)si->ssi_signo));
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
	return sd_event_exit(d->loop, 0);
}

/* Group commit: whatever was appended during this loop turn is made durable with one
 * fdatasync per file, then acknowledged. A post source runs after every turn that did
 * anything. */
static int on_post(sd_event_source *s, void *userdata)
{
	cocod *d = userdata;
	if (store_pending(d->store) == 0)
		return 0;
	int r = store_commit(d->store);
	if (r < 0)
		log_error_errno(r, "store commit failed: %m");
	return 0;
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
	for (size_t i = 0; i < d->cfg->n_connectors; i++)
		cJSON_AddItemToArray(conns, cJSON_CreateString(d->cfg->connectors[i]));
	cJSON *camps = cJSON_AddArrayToObject(o, "campaigns");
	for (size_t i = 0; i < d->cfg->n_campaigns; i++)
		cJSON_AddItemToArray(camps, cJSON_CreateString(d->cfg->campaigns[i].id));
	cJSON_AddNumberToObject(o, "reloads", d->reloads);
	if (d->last_reload_error)
		cJSON_AddStringToObject(o, "last_reload_error", d->last_reload_error);
	*ret = o;
	return 0;
}

static int on_control(const cJSON *req, cJSON **ret_reply, char **ret_error, void *userdata)
{
	cocod *d = userdata;
	const char *cmd = cJSON_GetObjectItem(req, "cmd")->valuestring;

	if (STREQ(cmd, "status"))
		return handle_status(d, ret_reply);
	*ret_error = xasprintf("unknown command \"%s\"", cmd);
	return -EOPNOTSUPP;
}

static void daemon_done(cocod *d)
{
	if (d->store && store_pending(d->store) > 0)
		(void)store_commit(d->store);
	control_free(d->ctl);
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
	cocod d = {0};
	int c, r;

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

	r = load_config(d.config_dir, &d.cfg);
	if (r < 0) {
		log_error("not starting: fix the configuration in %s (cococtl check --config %s)",
		          d.config_dir, d.config_dir);
		daemon_done(&d);
		return 1;
	}

	r = store_open(daemon_state_dir(&d), &d.store);
	if (r < 0) {
		log_error_errno(r, "cannot open the state directory %s: %m", daemon_state_dir(&d));
		goto fail;
	}

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_default(&d.loop);
	if (r < 0) {
		log_error_errno(r, "cannot create the event loop: %m");
		goto fail;
	}
	if ((r = sd_event_add_signal(d.loop, NULL, SIGTERM, on_sigterm, &d)) < 0 ||
	    (r = sd_event_add_signal(d.loop, NULL, SIGINT, on_sigterm, &d)) < 0 ||
	    (r = sd_event_add_signal(d.loop, NULL, SIGHUP, on_sighup, &d)) < 0 ||
	    (r = sd_event_add_post(d.loop, &d.commit_src, on_post, &d)) < 0) {
		log_error_errno(r, "cannot set up the event loop: %m");
		goto fail;
	}
	/* Sends WATCHDOG=1 at half of $WATCHDOG_USEC when the service manager asks for it. */
	r = sd_event_set_watchdog(d.loop, true);
	if (r < 0)
		log_warning_errno(r, "cannot enable the watchdog: %m");
	else if (r > 0)
		log_debug("watchdog enabled");

	r = control_new(d.loop, daemon_socket(&d), on_control, &d, &d.ctl);
	if (r < 0) {
		log_error_errno(r, "cannot listen on the control socket %s: %m", daemon_socket(&d));
		goto fail;
	}

	sd_event_now(d.loop, CLOCK_MONOTONIC, &d.started_usec);
	{
		_cleanup_free_ char *summary = config_summary(d.cfg);
		log_info("cocod %s started: config %s, state %s, control %s; %s", COCO_VERSION,
		         d.config_dir, daemon_state_dir(&d), daemon_socket(&d), summary);
	}
	sd_notify(0, "READY=1");
	daemon_notify_status(&d);

	r = sd_event_loop(d.loop);
	if (r < 0)
		log_error_errno(r, "event loop failed: %m");
	daemon_done(&d);
	log_info("stopped");
	return r < 0 ? 1 : 0;
fail:
	daemon_done(&d);
	return 1;
}
