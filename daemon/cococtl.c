/* cococtl: the admin CLI. Offline commands work on files (check, render); the others talk
 * to the running cocod over its control socket, one JSON line each way. */
#define _GNU_SOURCE
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "template.h"
#include "util.h"
#include "version.h"

#define DEFAULT_SOCKET "/run/coco/control.sock"

static const char *arg_config = COCO_SYSCONFDIR;
static const char *arg_socket = NULL;

static void usage(FILE *f)
{
	fputs("usage: cococtl [--config DIR] [--socket PATH] COMMAND [ARGS]\n"
	      "\n"
	      "Offline:\n"
	      "  check                         validate the configuration (like nginx -t)\n"
	      "  render [--partials DIR] TEMPLATE DATA.json\n"
	      "                                print TEMPLATE rendered with DATA, byte for byte\n"
	      "Talking to cocod:\n"
	      "  status                        daemon state\n"
	      "\n"
	      "--config DIR   configuration directory (default " COCO_SYSCONFDIR ")\n"
	      "--socket PATH  control socket (default: ControlSocket= of the configuration)\n",
	      f);
}

static int cmd_check(int argc, char **argv)
{
	coco_config *cfg = NULL;
	char **errors = NULL;
	int r = config_load(arg_config, &cfg, &errors);
	if (r < 0) {
		size_t n = 0;
		for (char **e = errors; e && *e; e++, n++)
			fprintf(stderr, "%s\n", *e);
		if (n == 0)
			fprintf(stderr, "%s: %s\n", arg_config, strerror(-r));
		fprintf(stderr, "cococtl: configuration in %s is invalid (%zu error%s)\n",
		        arg_config, n, n == 1 ? "" : "s");
		strv_free(errors);
		return 1;
	}
	_cleanup_free_ char *summary = config_summary(cfg);
	printf("cococtl: configuration in %s is OK: %s\n", arg_config, summary);
	config_free(cfg);
	return 0;
}

static int cmd_render(int argc, char **argv)
{
	static const struct option opts[] = {{"partials", required_argument, NULL, 'p'}, {}};
	const char *partials = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:", opts, NULL)) >= 0) {
		if (c != 'p') {
			usage(stderr);
			return 2;
		}
		partials = optarg;
	}
	if (argc - optind != 2) {
		fputs("usage: cococtl render [--partials DIR] TEMPLATE DATA.json\n", stderr);
		return 2;
	}
	const char *tpath = argv[optind], *dpath = argv[optind + 1];
	_cleanup_free_ char *text = NULL, *json = NULL, *tcopy = xstrdup(tpath);
	int r = read_file(tpath, 16 * 1024 * 1024, &text, NULL);
	if (r < 0) {
		fprintf(stderr, "cococtl: cannot read template %s: %s\n", tpath, strerror(-r));
		return 1;
	}
	r = read_file(dpath, 64 * 1024 * 1024, &json, NULL);
	if (r < 0) {
		fprintf(stderr, "cococtl: cannot read data %s: %s\n", dpath, strerror(-r));
		return 1;
	}
	const char *end = NULL;
	cJSON *data = cJSON_ParseWithOpts(json, &end, 1);
	if (!data) {
		size_t off = end ? (size_t)(end - json) : 0;
		fprintf(stderr, "cococtl: %s: invalid JSON near byte %zu\n", dpath, off);
		return 1;
	}
	/* Partials come from --partials, else from the template's own directory. */
	const char *dirs[] = {partials ? partials : dirname(tcopy), NULL};
	_cleanup_free_ char *out = NULL, *err = NULL;
	_cleanup_free_ char *tcopy2 = xstrdup(tpath);
	r = template_render(basename(tcopy2), text, data, template_dirs_partial, dirs, &out, &err);
	cJSON_Delete(data);
	if (r < 0) {
		fprintf(stderr, "cococtl: %s\n", err ? err : strerror(-r));
		return 1;
	}
	fwrite(out, 1, strlen(out), stdout);
	return 0;
}

static const char *socket_path(char **buf)
{
	if (arg_socket)
		return arg_socket;
	coco_config *cfg = NULL;
	if (config_load(arg_config, &cfg, NULL) >= 0) {
		*buf = xstrdup(cfg->control_socket);
		config_free(cfg);
		return *buf;
	}
	return DEFAULT_SOCKET;
}

/* Sends one request; returns the reply, or prints why there is none. */
static cJSON *call(cJSON *req)
{
	_cleanup_free_ char *buf = NULL;
	const char *path = socket_path(&buf);
	cJSON *reply = NULL;
	int r = control_call(path, req, 30000, &reply);
	cJSON_Delete(req);
	if (r < 0) {
		fprintf(stderr, "cococtl: cannot talk to cocod at %s: %s%s\n", path, strerror(-r),
		        r == -ENOENT || r == -ECONNREFUSED ? " (is cocod running?)" : "");
		return NULL;
	}
	cJSON *ok = cJSON_GetObjectItem(reply, "ok");
	if (!cJSON_IsTrue(ok)) {
		cJSON *e = cJSON_GetObjectItem(reply, "error");
		fprintf(stderr, "cococtl: %s\n", cJSON_IsString(e) ? e->valuestring : "request failed");
		cJSON_Delete(reply);
		return NULL;
	}
	return reply;
}

static int cmd_status(int argc, char **argv)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "status");
	cJSON *o = call(req);
	if (!o)
		return 1;
	printf("cocod %s, pid %d, up %ds\n", cJSON_GetObjectItem(o, "version")->valuestring,
	       cJSON_GetObjectItem(o, "pid")->valueint,
	       cJSON_GetObjectItem(o, "uptime_sec")->valueint);
	printf("config:     %s\n", cJSON_GetObjectItem(o, "config")->valuestring);
	printf("state:      %s\n", cJSON_GetObjectItem(o, "state")->valuestring);
	printf("loaded:     %s\n", cJSON_GetObjectItem(o, "summary")->valuestring);
	printf("connectors:");
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "connectors")) printf(" %s", it->valuestring);
	printf("\ncampaigns: ");
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "campaigns")) printf(" %s", it->valuestring);
	printf("\nreloads:    %d\n", cJSON_GetObjectItem(o, "reloads")->valueint);
	cJSON *e = cJSON_GetObjectItem(o, "last_reload_error");
	if (cJSON_IsString(e))
		printf("last reload refused: %s\n", e->valuestring);
	cJSON_Delete(o);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{},
	};
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{"check", cmd_check},
		{"render", cmd_render},
		{"status", cmd_status},
	};
	int c;

	log_set_max_level(LOG_WARNING);
	while ((c = getopt_long(argc, argv, "+c:S:hV", opts, NULL)) >= 0) {
		switch (c) {
		case 'c': arg_config = optarg; break;
		case 'S': arg_socket = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': puts("cococtl " COCO_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < ELEMENTSOF(cmds); i++)
		if (STREQ(argv[optind], cmds[i].name))
			return cmds[i].fn(argc - optind, argv + optind);
	fprintf(stderr, "cococtl: unknown command \"%s\" (see cococtl --help)\n", argv[optind]);
	return 2;
}
