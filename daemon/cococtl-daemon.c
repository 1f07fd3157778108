/* cococtl-daemon: the commands that talk to the running cocod over its control socket, one
 * JSON line each way (see cococtl.h and daemon/control.h). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ini.h>

#include "cococtl.h"
#include "config.h"
#include "control.h"
#include "util.h"

/* [Daemon] ControlSocket= (an absolute path) of an INI file, whatever else it holds. */
static int on_socket_key(void *user, const char *section, const char *name, const char *value)
{
	char **ret = user;
	if (STREQ(section, "Daemon") && STREQ(name, "ControlSocket") && value[0] == '/') {
		free(*ret);
		*ret = xstrdup(value);
	}
	return 1;
}

/* The socket to call and where its path came from, for the message when the call fails.
 * Only coco.conf is read: a campaign file with an error must not hide the daemon, which
 * keeps running on the socket of coco.conf (it refuses a reload of the bad config). An error
 * in coco.conf itself must not either (trial 6): its ControlSocket= line is read alone. */
static const char *socket_path(char **buf, char **ret_from)
{
	if (arg_socket) {
		*ret_from = xstrdup("--socket");
		return arg_socket;
	}
	coco_config *cfg = NULL;
	if (config_load_main(arg_config, &cfg, NULL) < 0) {
		_cleanup_free_ char *path = xasprintf("%s/coco.conf", arg_config);
		char *sock = NULL;
		if (ini_parse(path, on_socket_key, &sock) >= 0 && sock) {
			*ret_from = xasprintf("ControlSocket= in %s, which has errors elsewhere: see "
			                      "cococtl check", path);
			return *buf = sock;
		}
		free(sock);
		*ret_from = xasprintf("the default: %s cannot be read, or has errors and no "
		                      "ControlSocket=, see cococtl check", path);
		return CONFIG_DEFAULT_CONTROL_SOCKET;
	}
	*ret_from = STREQ(cfg->control_socket, CONFIG_DEFAULT_CONTROL_SOCKET)
	                    ? xasprintf("the default: %s/coco.conf sets no other ControlSocket=",
	                                arg_config)
	                    : xasprintf("ControlSocket= in %s/coco.conf", arg_config);
	*buf = xstrdup(cfg->control_socket);
	config_free(cfg);
	return *buf;
}

/* Sends one request; returns the reply, or prints why there is none. */
static cJSON *call(cJSON *req)
{
	_cleanup_free_ char *buf = NULL, *from = NULL;
	const char *path = socket_path(&buf, &from);
	cJSON *reply = NULL;
	int r = control_call(path, req, 30000, &reply);
	cJSON_Delete(req);
	if (r < 0) {
		fprintf(stderr, "cococtl: cannot talk to cocod at %s (%s): %s%s\n", path, from,
		        strerror(-r), r == -ENOENT || r == -ECONNREFUSED ? " (is cocod running?)" : "");
		/* cocod does not start with an invalid configuration: say so if this one is. */
		coco_config *cfg = NULL;
		if (!arg_socket && config_load(arg_config, &cfg, NULL) < 0)
			fprintf(stderr, "cococtl: the configuration in %s has errors (see cococtl "
			        "--config %s check): cocod will not start with it, and a running cocod keeps "
			        "its last good one\n", arg_config, arg_config);
		config_free(cfg);
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

/* A record's "at" (seconds since the epoch) to the minute in UTC, "?" if it has none. */
static void utc_minute(const cJSON *at, char when[static 32])
{
	time_t t = cJSON_IsNumber(at) ? (time_t)at->valuedouble : 0;
	struct tm tm;
	strcpy(when, "?");
	if (t && gmtime_r(&t, &tm))
		strftime(when, 32, "%Y-%m-%d %H:%MZ", &tm);
}

int cmd_status(const ctl_args *a)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "status");
	cJSON *o = call(req);
	if (!o)
		return CTL_FAILED;
	printf("cocod %s, pid %d, up %ds\n", cJSON_GetObjectItem(o, "version")->valuestring,
	       cJSON_GetObjectItem(o, "pid")->valueint,
	       cJSON_GetObjectItem(o, "uptime_sec")->valueint);
	printf("config:     %s\n", cJSON_GetObjectItem(o, "config")->valuestring);
	printf("state:      %s\n", cJSON_GetObjectItem(o, "state")->valuestring);
	printf("loaded:     %s\n", cJSON_GetObjectItem(o, "summary")->valuestring);
	printf("connectors:");
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "connectors")) printf(" %s", it->valuestring);
	cJSON *down = cJSON_GetObjectItem(o, "connectors_down");
	if (cJSON_GetArraySize(down) > 0) {
		printf("\nnot running:");
		cJSON_ArrayForEach(it, down) printf(" %s", it->valuestring);
		printf(" (in Connectors= but did not start: see cocod's log, fix, reload)");
	}
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
	/* Addresses whose mail bounced, per member: fix Email= (or the mailbox). */
	const cJSON *fa = cJSON_GetObjectItem(o, "failing_addresses");
	if (cJSON_GetArraySize(fa) > 0) {
		printf("failing addresses:\n");
		cJSON_ArrayForEach(it, fa)
		{
			const cJSON *st = cJSON_GetObjectItem(it, "status");
			const cJSON *dg = cJSON_GetObjectItem(it, "diagnostic");
			char when[32];
			utc_minute(cJSON_GetObjectItem(it, "at"), when);
			printf("  %s/%s %s: bounced %d time%s, last %s (%s%s%s)\n",
			       cJSON_GetObjectItem(it, "campaign")->valuestring,
			       cJSON_GetObjectItem(it, "member")->valuestring,
			       cJSON_GetObjectItem(it, "address")->valuestring,
			       cJSON_GetObjectItem(it, "bounces")->valueint,
			       cJSON_GetObjectItem(it, "bounces")->valueint == 1 ? "" : "s", when,
			       cJSON_IsString(st) ? st->valuestring : "no status",
			       cJSON_IsString(dg) ? ": " : "", cJSON_IsString(dg) ? dg->valuestring : "");
		}
	}
	/* Messages refused for good (an SMTP 550 at RCPT, an unknown Slack user): to whom, on
	 * which channel, why and when. */
	const cJSON *fd = cJSON_GetObjectItem(o, "failed_deliveries");
	const cJSON *fl = cJSON_GetObjectItem(fd, "list");
	int n_failed = cJSON_GetObjectItem(fd, "count") ? cJSON_GetObjectItem(fd, "count")->valueint : 0;
	if (n_failed > 0) {
		int shown = cJSON_GetArraySize(fl);
		printf("failed deliveries (not tried again; fix the address, then remind --force):\n");
		if (n_failed > shown)
			printf("  (%d more before these)\n", n_failed - shown);
		cJSON_ArrayForEach(it, fl)
		{
			const cJSON *mb = cJSON_GetObjectItem(it, "member");
			const cJSON *kind = cJSON_GetObjectItem(it, "kind");
			const cJSON *round = cJSON_GetObjectItem(it, "round");
			char when[32];
			utc_minute(cJSON_GetObjectItem(it, "at"), when);
			printf("  %s%s%s via %s, %s", cJSON_GetObjectItem(it, "campaign")->valuestring,
			       cJSON_IsString(mb) ? "/" : " room ",
			       cJSON_IsString(mb) ? mb->valuestring
			                          : cJSON_GetObjectItem(it, "room")->valuestring,
			       cJSON_GetObjectItem(it, "channel")->valuestring, when);
			if (cJSON_IsString(kind))
				printf(", %s%s%s", kind->valuestring, cJSON_IsString(round) ? " of " : "",
				       cJSON_IsString(round) ? round->valuestring : "");
			printf(": %s\n", cJSON_GetObjectItem(it, "error")->valuestring);
		}
	}
	/* Who unsubscribed from a campaign's messages (List-Unsubscribe). */
	const cJSON *un = cJSON_GetObjectItem(o, "unsubscribed");
	if (cJSON_GetArraySize(un) > 0) {
		printf("unsubscribed (undo: cococtl resubscribe MEMBER CAMPAIGN):\n");
		cJSON_ArrayForEach(it, un)
		{
			const cJSON *at = cJSON_GetObjectItem(it, "at");
			const cJSON *via = cJSON_GetObjectItem(it, "via");
			char when[32] = "?";
			time_t t = cJSON_IsNumber(at) ? (time_t)at->valuedouble : 0;
			struct tm tm;
			if (t && gmtime_r(&t, &tm))
				strftime(when, sizeof when, "%Y-%m-%d %H:%MZ", &tm);
			printf("  %s/%s %s: since %s (via %s)\n",
			       cJSON_GetObjectItem(it, "campaign")->valuestring,
			       cJSON_GetObjectItem(it, "member")->valuestring,
			       cJSON_GetObjectItem(it, "address")->valuestring, when,
			       cJSON_IsString(via) ? via->valuestring : "?");
		}
	}
	/* Mail nothing could be recorded from (strangers, mail without a reply tag, …). */
	const cJSON *rj = cJSON_GetObjectItem(o, "rejected");
	if (rj) {
		int n_rej = cJSON_GetObjectItem(rj, "count")->valueint;
		printf("rejected:   %d message%s kept in %s", n_rej, n_rej == 1 ? "" : "s",
		       cJSON_GetStringValue(cJSON_GetObjectItem(rj, "path")));
		/* The reasons name senders' addresses: they are in the file, not here. */
		const cJSON *at = cJSON_GetObjectItem(rj, "last_at");
		if (cJSON_IsNumber(at)) {
			char when[32] = "?";
			time_t t = (time_t)at->valuedouble;
			struct tm tm;
			if (gmtime_r(&t, &tm))
				strftime(when, sizeof when, "%Y-%m-%d %H:%MZ", &tm);
			printf(", the last %s (each with the reason)", when);
		}
		putchar('\n');
	}
	cJSON_Delete(o);
	return CTL_OK;
}

static cJSON *request(const char *cmd)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", cmd);
	return req;
}

int cmd_rounds(const ctl_args *a)
{
	cJSON *req = request("rounds");
	if (a->n_pos == 1)
		cJSON_AddStringToObject(req, "campaign", a->pos[0]);
	cJSON *o = call(req);
	if (!o)
		return CTL_FAILED;
	printf("%-28s %-9s %-10s %-12s %-16s %s\n", "ROUND", "KIND", "STATE", "OCCURRENCE",
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
		/* "5/8 (1 partial)": 5 answered, one of them left a required question open;
		 * "5/8 +1 former": and one who is no member any more answered too */
		const cJSON *partial = cJSON_GetObjectItem(it, "partial");
		const cJSON *former = cJSON_GetObjectItem(it, "former");
		int np = cJSON_IsNumber(partial) ? partial->valueint : 0;
		int nf = cJSON_IsNumber(former) ? former->valueint : 0;
		_cleanup_free_ char *part = np > 0 ? xasprintf(" (%d partial)", np) : xstrdup("");
		_cleanup_free_ char *gone = nf > 0 ? xasprintf(" +%d former", nf) : xstrdup("");
		_cleanup_free_ char *ans = xasprintf("%d/%d%s%s",
		                                     cJSON_GetObjectItem(it, "answered")->valueint,
		                                     cJSON_GetObjectItem(it, "total")->valueint, part,
		                                     gone);
		_cleanup_free_ char *next = cJSON_IsString(ev) ? xasprintf("%s %s", ev->valuestring,
		                                                           at->valuestring)
		                                               : xstrdup("-");
		printf("%-28s %-9s %-10s %-12s %-16s %s\n", name,
		       cJSON_GetObjectItem(it, "kind")->valuestring,
		       cJSON_GetObjectItem(it, "state")->valuestring,
		       cJSON_IsString(occ) ? occ->valuestring : "-", ans, next);
	}
	cJSON_Delete(o);
	return CTL_OK;
}

int cmd_round_action(const ctl_args *a)
{
	cJSON *req = request(a->name);
	cJSON_AddStringToObject(req, "round", a->pos[0]);
	if (a->opt[OPT_FORCE])
		cJSON_AddTrueToObject(req, "force");
	cJSON *o = call(req);
	if (!o)
		return CTL_FAILED;
	const cJSON *n = cJSON_GetObjectItem(o, "reminded");
	const char *closed = cJSON_GetStringValue(cJSON_GetObjectItem(o, "closed"));
	const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(o, "state"));
	const char *occ = cJSON_GetStringValue(cJSON_GetObjectItem(o, "occurrence"));
	printf("%s/%s: ", cJSON_GetObjectItem(o, "campaign")->valuestring,
	       cJSON_GetObjectItem(o, "round")->valuestring);
	/* A closed repeating round has moved on to its next occurrence: say what was closed
	 * first, then what comes. */
	if (closed && occ && !STREQ(closed, occ))
		printf("occurrence %s closed (digest sent); next occurrence %s %s", closed, occ,
		       state);
	else if (closed && STREQ(state, "digested"))
		printf("occurrence %s closed (digest sent)", closed);
	else if (closed)
		printf("occurrence %s closed (%s)", closed, state);
	else
		printf("%s%s%s%s", state, occ ? " (occurrence " : "", occ ? occ : "", occ ? ")" : "");
	if (cJSON_IsNumber(n))
		printf(", %d reminder%s queued", n->valueint, n->valueint == 1 ? "" : "s");
	putchar('\n');
	const cJSON *skipped = cJSON_GetObjectItem(o, "skipped"), *it;
	int n_skipped = cJSON_GetArraySize(skipped);
	if (n_skipped > 0) {
		printf("skipped %d member%s:\n", n_skipped, n_skipped == 1 ? "" : "s");
		bool recent = false;
		cJSON_ArrayForEach(it, skipped) {
			const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(it, "why"));
			printf("  %s: %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(it, "member")),
			       why ? why : "?");
			recent = recent || (why && strstr(why, " ago"));
		}
		if (recent)
			printf("(--force reminds those invited or reminded in the last 12 hours too)\n");
	}
	cJSON_Delete(o);
	return CTL_OK;
}

int cmd_digest(const ctl_args *a)
{
	cJSON *req = request("digest");
	cJSON_AddStringToObject(req, "campaign", a->pos[0]);
	if (a->n_pos == 2)
		cJSON_AddStringToObject(req, "round", a->pos[1]);
	cJSON *o = call(req);
	if (!o)
		return CTL_FAILED;
	/* One line of what was done and where the digest is; the digest itself is the file's
	 * (and the recipients'), not the terminal's. */
	const cJSON *path = cJSON_GetObjectItem(o, "path");
	if (cJSON_IsString(path) && cJSON_IsTrue(cJSON_GetObjectItem(o, "open")))
		fprintf(stderr, "cococtl: %s is still open: its progress (who answered so far, no "
		        "results) was written to %s and queued for its recipients; the results go "
		        "out with the digest of its close\n", a->pos[1], path->valuestring);
	else if (cJSON_IsString(path))
		fprintf(stderr, "cococtl: digest written to %s and queued for its recipients\n",
		        path->valuestring);
	else {
		int n = cJSON_GetObjectItem(o, "rounds")->valueint;
		/* "rounds": how many rounds the periodic digest covered (closed since the last
		 * one, or open now); 0 when there was nothing to say and nothing was sent. */
		if (n == 0)
			fprintf(stderr, "cococtl: nothing new since the last digest: nothing sent\n");
		else
			fprintf(stderr, "cococtl: digest of %d round%s queued for its recipients\n",
			        n, n == 1 ? "" : "s");
	}
	cJSON_Delete(o);
	return CTL_OK;
}

int cmd_export(const ctl_args *a)
{
	const char *format = a->opt[OPT_FORMAT] ? a->opt[OPT_FORMAT] : "csv";
	if (!STREQ(format, "csv") && !STREQ(format, "json"))
		return ctl_usage_error(a->name, "--format %s: expected csv or json", format);
	cJSON *req = request("export");
	cJSON_AddStringToObject(req, "campaign", a->pos[0]);
	cJSON_AddStringToObject(req, "format", format);
	if (a->opt[OPT_HISTORY])
		cJSON_AddTrueToObject(req, "history");
	cJSON *o = call(req);
	if (!o)
		return CTL_FAILED;
	fputs(cJSON_GetObjectItem(o, "data")->valuestring, stdout);
	cJSON_Delete(o);
	return CTL_OK;
}

int cmd_forget(const ctl_args *a)
{
	cJSON *req = request("forget");
	cJSON_AddStringToObject(req, "member", a->pos[0]);
	cJSON *o = call(req);
	if (!o)
		return CTL_FAILED;
	/* One line: what was erased, then what was rewritten without them. */
	static const struct {
		const char *key, *one, *many, *lead;
	} kinds[] = {
		{"answers", "answer record", "answer records", " erased"},
		{"comments", "comment", "comments", ","},
		{"rejected", "rejected message", "rejected messages", ","},
		{"spool_erased", "spooled message to them", "spooled messages to them", ","},
		{"mail", "mail file", "mail files", ","}, /* named by its channels, below */
		{"digests", "digest", "digests", "; re-rendered"},
		{"spool_scrubbed", "spooled message to others", "spooled messages to others",
		 "; scrubbed"},
		{"quotes", "quote in others' replies and comments",
		 "quotes in others' replies and comments", ","},
	};
	/* Mail files are counted only for a channel that keeps them (the local one's maildirs):
	 * without one, no "0 mail files", which reads as if there were none anywhere. */
	const cJSON *mail_of = cJSON_GetObjectItem(o, "mail_channels");
	printf("forgot %s:", a->pos[0]);
	for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
		int64_t n = 0;
		bool mail = STREQ(kinds[i].key, "mail");
		if (mail && cJSON_GetArraySize(mail_of) == 0)
			continue;
		(void)json_get_int64(o, kinds[i].key, &n);
		printf("%s %" PRId64 " %s", kinds[i].lead, n, n == 1 ? kinds[i].one : kinds[i].many);
		if (mail) {
			const cJSON *ch;
			printf(" of the");
			cJSON_ArrayForEach(ch, mail_of)
				printf("%s %s", ch == mail_of->child ? "" : " and", ch->valuestring);
			printf(" channel%s", cJSON_GetArraySize(mail_of) == 1 ? "" : "s");
		}
	}
	putchar('\n');
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "kept_elsewhere"))
		if (cJSON_IsString(it))
			printf("not erased: %s\n", it->valuestring);
	printf("still in the configuration: remove [Member \"%s\"] from its campaign files and "
	       "reload, or coco goes on asking them in the rounds to come\n", a->pos[0]);
	cJSON_Delete(o);
	return CTL_OK;
}

int cmd_resubscribe(const ctl_args *a)
{
	cJSON *req = request("resubscribe");
	cJSON_AddStringToObject(req, "member", a->pos[0]);
	cJSON_AddStringToObject(req, "campaign", a->pos[1]);
	cJSON *o = call(req);
	if (!o)
		return CTL_FAILED;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "addresses"))
		printf("resubscribed %s to %s at %s\n", a->pos[0], a->pos[1], it->valuestring);
	cJSON_Delete(o);
	return CTL_OK;
}

int cmd_poll(const ctl_args *a)
{
	cJSON *o = call(request("poll"));
	if (!o)
		return CTL_FAILED;
	cJSON_Delete(o);
	return CTL_OK;
}
