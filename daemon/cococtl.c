/* cococtl: the admin CLI. Offline commands work on files (check, render); the others talk
 * to the running cocod over its control socket, one JSON line each way. */
#define _GNU_SOURCE
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "email/mime.h"
#include "email/reply.h"
#include "control.h"
#include "secret.h"
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
	      "  mail-parse FILE               show how a mail file is read: headers, the\n"
	      "                                reply text kept and what was trimmed\n"
	      "  keygen FILE                   write a new secret key (0600) for coco-key\n"
	      "Talking to cocod:\n"
	      "  status                        daemon state\n"
	      "  rounds [CAMPAIGN]             rounds: state, next event, answered/total\n"
	      "  open ROUND | close ROUND | remind ROUND\n"
	      "                                ROUND is CAMPAIGN/ROUND, or ROUND if unique\n"
	      "  digest CAMPAIGN [ROUND]       compile and send a digest now\n"
	      "  export CAMPAIGN [--format csv|json]\n"
	      "                                every answer, to stdout\n"
	      "  forget MEMBER                 erase that member's answers everywhere\n"
	      "  poll                          make connectors look for new messages now\n"
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
	optind = 0;
	while ((c = getopt_long(argc, argv, "p:", opts, NULL)) >= 0) {
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
	cJSON *sp = cJSON_GetObjectItem(o, "spool");
	if (sp)
		printf("spool:      %d queued, %d sent, %d failed\n",
		       cJSON_GetObjectItem(sp, "queued")->valueint,
		       cJSON_GetObjectItem(sp, "sent")->valueint,
		       cJSON_GetObjectItem(sp, "failed")->valueint);
	cJSON *e = cJSON_GetObjectItem(o, "last_reload_error");
	if (cJSON_IsString(e))
		printf("last reload refused: %s\n", e->valuestring);
	cJSON_Delete(o);
	return 0;
}

static cJSON *request(const char *cmd)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", cmd);
	return req;
}

static int cmd_rounds(int argc, char **argv)
{
	cJSON *req = request("rounds");
	if (argc > 2) {
		fputs("usage: cococtl rounds [CAMPAIGN]\n", stderr);
		cJSON_Delete(req);
		return 2;
	}
	if (argc == 2)
		cJSON_AddStringToObject(req, "campaign", argv[1]);
	cJSON *o = call(req);
	if (!o)
		return 1;
	printf("%-28s %-9s %-10s %-12s %-9s %s\n", "ROUND", "KIND", "STATE", "OCCURRENCE",
	       "ANSWERED", "NEXT");
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "rounds"))
	{
		const cJSON *occ = cJSON_GetObjectItem(it, "occurrence");
		const cJSON *ev = cJSON_GetObjectItem(it, "next_event");
		const cJSON *at = cJSON_GetObjectItem(it, "next_at");
		_cleanup_free_ char *name = xasprintf("%s/%s",
		                                      cJSON_GetObjectItem(it, "campaign")->valuestring,
		                                      cJSON_GetObjectItem(it, "round")->valuestring);
		_cleanup_free_ char *ans = xasprintf("%d/%d",
		                                     cJSON_GetObjectItem(it, "answered")->valueint,
		                                     cJSON_GetObjectItem(it, "total")->valueint);
		_cleanup_free_ char *next = cJSON_IsString(ev) ? xasprintf("%s %s", ev->valuestring,
		                                                           at->valuestring)
		                                               : xstrdup("-");
		printf("%-28s %-9s %-10s %-12s %-9s %s\n", name,
		       cJSON_GetObjectItem(it, "kind")->valuestring,
		       cJSON_GetObjectItem(it, "state")->valuestring,
		       cJSON_IsString(occ) ? occ->valuestring : "-", ans, next);
	}
	cJSON_Delete(o);
	return 0;
}

static int cmd_round_action(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: cococtl %s ROUND\n", argv[0]);
		return 2;
	}
	cJSON *req = request(argv[0]);
	cJSON_AddStringToObject(req, "round", argv[1]);
	cJSON *o = call(req);
	if (!o)
		return 1;
	const cJSON *n = cJSON_GetObjectItem(o, "reminded");
	printf("%s/%s: %s", cJSON_GetObjectItem(o, "campaign")->valuestring,
	       cJSON_GetObjectItem(o, "round")->valuestring,
	       cJSON_GetObjectItem(o, "state")->valuestring);
	if (cJSON_IsNumber(n))
		printf(", %d reminder%s queued", n->valueint, n->valueint == 1 ? "" : "s");
	putchar('\n');
	cJSON_Delete(o);
	return 0;
}

static int cmd_digest(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fputs("usage: cococtl digest CAMPAIGN [ROUND]\n", stderr);
		return 2;
	}
	cJSON *req = request("digest");
	cJSON_AddStringToObject(req, "campaign", argv[1]);
	if (argc == 3)
		cJSON_AddStringToObject(req, "round", argv[2]);
	cJSON *o = call(req);
	if (!o)
		return 1;
	const cJSON *md = cJSON_GetObjectItem(o, "markdown"), *path = cJSON_GetObjectItem(o, "path");
	if (cJSON_IsString(md))
		fputs(md->valuestring, stdout);
	if (cJSON_IsString(path))
		fprintf(stderr, "cococtl: digest written to %s and queued for its recipients\n",
		        path->valuestring);
	else {
		int n = cJSON_GetObjectItem(o, "rounds")->valueint;
		if (n == 0)
			fprintf(stderr, "cococtl: no round is open, so there is no digest to send\n");
		else
			fprintf(stderr, "cococtl: digest of %d open round%s compiled and queued\n", n,
			        n == 1 ? "" : "s");
	}
	cJSON_Delete(o);
	return 0;
}

static int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'}, {}};
	const char *format = "csv";
	int c;
	optind = 0; /* glibc: a full re-initialisation, so options may follow CAMPAIGN */
	while ((c = getopt_long(argc, argv, "f:", opts, NULL)) >= 0) {
		if (c != 'f') {
			fputs("usage: cococtl export CAMPAIGN [--format csv|json]\n", stderr);
			return 2;
		}
		format = optarg;
	}
	if (argc - optind != 1) {
		fputs("usage: cococtl export CAMPAIGN [--format csv|json]\n", stderr);
		return 2;
	}
	cJSON *req = request("export");
	cJSON_AddStringToObject(req, "campaign", argv[optind]);
	cJSON_AddStringToObject(req, "format", format);
	cJSON *o = call(req);
	if (!o)
		return 1;
	fputs(cJSON_GetObjectItem(o, "data")->valuestring, stdout);
	cJSON_Delete(o);
	return 0;
}

static int cmd_forget(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: cococtl forget MEMBER\n", stderr);
		return 2;
	}
	cJSON *req = request("forget");
	cJSON_AddStringToObject(req, "member", argv[1]);
	cJSON *o = call(req);
	if (!o)
		return 1;
	int n = cJSON_GetObjectItem(o, "erased")->valueint;
	printf("forgot %s: %d answer record%s erased\n", argv[1], n, n == 1 ? "" : "s");
	cJSON_Delete(o);
	return 0;
}

static int cmd_poll(int argc, char **argv)
{
	cJSON *o = call(request("poll"));
	if (!o)
		return 1;
	cJSON_Delete(o);
	return 0;
}

static void print_list(const char *name, char *const *v)
{
	for (; v && *v; v++)
		printf("%s: %s\n", name, *v);
}

static int cmd_mail_parse(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: cococtl mail-parse FILE\n", stderr);
		return 2;
	}
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r = read_file(argv[1], MAIL_MESSAGE_MAX + 1, &data, &len);
	if (r >= 0)
		r = len > MAIL_MESSAGE_MAX ? -EFBIG : 0;
	mail_message *m = NULL;
	if (r >= 0)
		r = mail_parse(data, len, &m);
	if (r < 0) {
		fprintf(stderr, "cococtl: %s: %s\n", argv[1],
		        r == -EBADMSG ? "not a readable mail message" : strerror(-r));
		return 1;
	}
	printf("from: %s\n", mail_from_address(m));
	print_list("to", mail_to(m));
	print_list("cc", mail_cc(m));
	if (mail_reply_to(m))
		printf("reply-to: %s\n", mail_reply_to(m));
	printf("subject: %s\n", mail_subject(m));
	if (mail_message_id(m))
		printf("message-id: %s\n", mail_message_id(m));
	if (mail_in_reply_to(m))
		printf("in-reply-to: %s\n", mail_in_reply_to(m));
	printf("automatic: %s\n", mail_is_automatic(m) ? "yes" : "no");
	_cleanup_free_ char *kept = NULL, *elided = NULL;
	if (reply_extract(mail_body(m), &kept, &elided) >= 0) {
		printf("\n--- reply (what coco reads) ---\n%s\n", kept);
		if (elided && *elided)
			printf("--- trimmed (quotes, signature) ---\n%s\n", elided);
	}
	mail_message_free(m);
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: cococtl keygen FILE\n", stderr);
		return 2;
	}
	int r = secret_generate(argv[1]);
	if (r < 0) {
		fprintf(stderr, "cococtl: cannot write %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	printf("wrote a new key to %s (mode 0600); name it %s in [Secrets] Directory= or pass it "
	       "with LoadCredential=%s:%s\n",
	       argv[1], SECRET_KEY_NAME, SECRET_KEY_NAME, argv[1]);
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
		{"rounds", cmd_rounds},
		{"open", cmd_round_action},
		{"close", cmd_round_action},
		{"remind", cmd_round_action},
		{"digest", cmd_digest},
		{"export", cmd_export},
		{"forget", cmd_forget},
		{"poll", cmd_poll},
		{"keygen", cmd_keygen},
		{"mail-parse", cmd_mail_parse},
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
