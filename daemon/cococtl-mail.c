/* cococtl-mail: `cococtl mail-parse FILE…`, how cocod would read each mail file, as one
 * compact JSON line per file (docs/cococtl.md). With a configuration it also says whose
 * reply it is and what the answer grammar makes of it, as far as the configuration and the
 * secret key tell; what only cocod's running state knows is null. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "answer.h"
#include "cococtl.h"
#include "config.h"
#include "email/address.h"
#include "email/message.h"
#include "email/mime.h"
#include "email/mime-reason.h"
#include "email/reply.h"
#include "secret.h"
#include "util.h"

/* What the configuration lends to every file. */
typedef struct mail_ctx {
	coco_config *cfg; /* NULL: no configuration, tag/member/answers are null */
	secret key;
	bool have_key;
} mail_ctx;

static int read_stdin(char **ret, size_t *ret_len)
{
	strbuf b = {};
	char buf[65536];
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			strbuf_done(&b);
			return r;
		}
		if (n == 0)
			break;
		strbuf_add(&b, buf, (size_t)n);
		if (b.len > MAIL_MESSAGE_MAX)
			break; /* enough to say it is too big */
	}
	*ret_len = b.len;
	*ret = strbuf_steal(&b);
	return 0;
}

static bool has_address(char *const *v, const char *addr)
{
	for (; v && *v; v++)
		if (strcasecmp(*v, addr) == 0)
			return true;
	return false;
}

/* As cocod decides (core-inbound.c): mail carrying a member's tag must come from one of
 * their addresses, Email= or AcceptFrom=. */
static bool may_speak_for(const coco_member *mb, const char *from)
{
	return mb->accept_any || has_address(mb->emails, from) || has_address(mb->accept_from, from);
}

/* The member whose Email= is from, when every campaign that knows the address names the same
 * member id; NULL otherwise. */
static const coco_member *member_by_address(const coco_config *cfg, const char *from)
{
	const coco_member *found = NULL;
	for (size_t i = 0; i < cfg->n_campaigns; i++)
		for (size_t k = 0; k < cfg->campaigns[i].n_members; k++) {
			const coco_member *mb = &cfg->campaigns[i].members[k];
			if (!has_address(mb->emails, from))
				continue;
			if (found && !STREQ(found->id, mb->id))
				return NULL;
			found = mb;
		}
	return found;
}

/* Whose tag it is: the campaign, the member, and the round (NULL for a digest's tag), the
 * way cocod's core builds its table of tags. Returns false if no one's. */
static bool tag_owner(const mail_ctx *x, const char *tag, const coco_campaign **ret_camp,
                      const coco_member **ret_member, const coco_round **ret_round)
{
	char t[SECRET_TAG_LEN + 1];
	for (size_t i = 0; i < x->cfg->n_campaigns; i++) {
		const coco_campaign *c = &x->cfg->campaigns[i];
		for (size_t m = 0; m < c->n_members; m++) {
			const char *mid = c->members[m].id;
			bool hit = false;
			const coco_round *round = NULL;
			secret_tag(&x->key, c->id, "digest", mid, t);
			hit = STREQ(t, tag);
			if (!hit) { /* a notice about no round (core-tags.c) */
				secret_tag(&x->key, c->id, "none", mid, t);
				hit = STREQ(t, tag);
			}
			for (size_t k = 0; !hit && k < c->n_rounds; k++) {
				secret_tag(&x->key, c->id, c->rounds[k].id, mid, t);
				if (STREQ(t, tag)) {
					hit = true;
					round = &c->rounds[k];
					break;
				}
				_cleanup_free_ char *dr = xasprintf("digest:%s", c->rounds[k].id);
				secret_tag(&x->key, c->id, dr, mid, t);
				hit = STREQ(t, tag);
			}
			if (hit) {
				*ret_camp = c;
				*ret_member = &c->members[m];
				*ret_round = round;
				return true;
			}
		}
	}
	return false;
}

/* As cocod parses it: the member's own name signs the reply. */
static cJSON *answers_json(const coco_round *round, const coco_member *mb, const char *reply)
{
	_cleanup_answer_parse_ answer_parse *p = NULL;
	cJSON *o = NULL;
	if (answer_parse_ballot(round, 0, NULL, mb, reply, strlen(reply), &p) < 0 ||
	    answer_parse_to_json(p, &o) < 0)
		return cJSON_CreateNull();
	cJSON *errs = cJSON_AddArrayToObject(o, "errors");
	for (char *const *e = answer_parse_errors(p); e && *e; e++)
		cJSON_AddItemToArray(errs, cJSON_CreateString(*e));
	return o;
}

/* tag, member, answers: from the configuration, or null. */
static void add_resolution(const mail_ctx *x, cJSON *o, const mail_message *m, const char *reply)
{
	if (!x->cfg || !config_get(x->cfg, "Mail", "From")) {
		cJSON_AddNullToObject(o, "tag");
		cJSON_AddNullToObject(o, "member");
		cJSON_AddNullToObject(o, "answers");
		return;
	}
	/* The recipients cocod's local connector looks in: To and Cc (it also reads
	 * Delivered-To from the raw header, which this does not). */
	char **to = xcalloc(1, sizeof(char *));
	for (char *const *a = mail_to(m); a && *a; a++)
		strv_push(&to, xstrdup(*a));
	for (char *const *a = mail_cc(m); a && *a; a++)
		strv_push(&to, xstrdup(*a));
	char tag[EMAIL_REF_LEN + 1];
	bool has_tag = email_find_ref(config_get(x->cfg, "Mail", "From"), (const char *const *)to, mail_in_reply_to(m),
	                              (const char *const *)mail_references(m), tag) > 0;
	strv_free(to);
	if (has_tag)
		cJSON_AddStringToObject(o, "tag", tag);
	else
		cJSON_AddNullToObject(o, "tag");

	const char *from = mail_from_address(m);
	const coco_campaign *camp = NULL;
	const coco_member *mb = NULL;
	const coco_round *round = NULL;
	cJSON *answers = NULL;
	if (has_tag && x->have_key && tag_owner(x, tag, &camp, &mb, &round)) {
		/* cocod rejects someone else's tag from a foreign address: no member, no answers */
		if (!may_speak_for(mb, from))
			mb = NULL;
		else if (round && (round->kind == ROUND_SURVEY || round->kind == ROUND_PROMPT))
			answers = answers_json(round, mb, reply);
	} else
		mb = member_by_address(x->cfg, from);
	if (mb)
		cJSON_AddStringToObject(o, "member", mb->id);
	else
		cJSON_AddNullToObject(o, "member");
	cJSON_AddItemToObject(o, "answers", answers ? answers : cJSON_CreateNull());
}

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* One file's line. Returns true if the file was usable. */
static bool parse_one(const mail_ctx *x, const char *file)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "file", file);
	_cleanup_free_ char *data = NULL, *error = NULL;
	size_t len = 0;
	int r = STREQ(file, "-") ? read_stdin(&data, &len)
	                         : read_file(file, MAIL_MESSAGE_MAX + 1, &data, &len);
	_cleanup_mail_message_ mail_message *m = NULL;
	if (r == -EFBIG)
		error = mail_parse_reason(NULL, 0, r);
	else if (r < 0)
		error = xasprintf("cannot read: %s", strerror(-r));
	else if ((r = mail_parse(data, len, &m)) < 0)
		error = mail_parse_reason(data, len, r);

	cJSON_AddItemToObject(o, "message_id", str_or_null(m ? mail_message_id(m) : NULL));
	cJSON_AddItemToObject(o, "from", str_or_null(m ? mail_from_address(m) : NULL));
	cJSON *to = cJSON_AddArrayToObject(o, "to");
	for (char *const *a = m ? mail_to(m) : NULL; a && *a; a++)
		cJSON_AddItemToArray(to, cJSON_CreateString(*a));
	/* not asked for by the issue, but what a person (and scripts/demo.sh) looks for next */
	cJSON_AddItemToObject(o, "subject", str_or_null(m ? mail_subject(m) : NULL));
	cJSON_AddItemToObject(o, "reply_to", str_or_null(m ? mail_reply_to(m) : NULL));
	if (m) {
		_cleanup_free_ char *kept = NULL, *elided = NULL;
		if (email_reply_extract(m, &kept, &elided) < 0) {
			kept = xstrdup("");
			elided = xstrdup("");
		}
		if (!*mail_body(m))
			error = xstrdup("no body: the mail has no text a member wrote");
		add_resolution(x, o, m, kept);
		/* keep the documented order of the keys: tag, member, then automatic … answers */
		cJSON *answers = cJSON_DetachItemFromObjectCaseSensitive(o, "answers");
		cJSON_AddBoolToObject(o, "automatic", mail_is_automatic(m));
		cJSON_AddStringToObject(o, "reply", kept);
		cJSON_AddStringToObject(o, "trimmed", elided);
		cJSON_AddItemToObject(o, "answers", answers);
	} else {
		cJSON_AddNullToObject(o, "tag");
		cJSON_AddNullToObject(o, "member");
		cJSON_AddNullToObject(o, "automatic");
		cJSON_AddNullToObject(o, "reply");
		cJSON_AddNullToObject(o, "trimmed");
		cJSON_AddNullToObject(o, "answers");
	}
	cJSON_AddItemToObject(o, "error", str_or_null(error));
	_cleanup_free_ char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	puts(line);
	return !error;
}

/* The configuration, if there is one to use: --config given must load (its errors are
 * printed, and it is a failure); the default directory is used only when it loads. */
static int load_ctx(mail_ctx *x)
{
	char **errors = NULL;
	int r = config_load(arg_config, &x->cfg, &errors);
	if (r < 0) {
		if (arg_config_given) {
			for (char **e = errors; e && *e; e++)
				fprintf(stderr, "%s\n", *e);
			fprintf(stderr, "cococtl: configuration in %s is invalid%s%s\n", arg_config,
			        errors && errors[0] ? "" : ": ", errors && errors[0] ? "" : strerror(-r));
		}
		strv_free(errors);
		x->cfg = NULL;
		return arg_config_given ? r : 0;
	}
	if (!config_get(x->cfg, "Mail", "From"))
		fprintf(stderr, "cococtl: %s has no [Mail] From=: tag, member and answers are null\n",
		        arg_config);
	else if (secret_load(x->cfg->secrets_dir, &x->key) >= 0)
		x->have_key = true;
	else
		fprintf(stderr, "cococtl: the secret key of %s cannot be read: which round a tag "
		        "points to is unknown, so answers are null and member comes from the From "
		        "address alone\n", arg_config);
	return 0;
}

int cmd_mail_parse(const ctl_args *a)
{
	size_t stdin_uses = 0;
	for (size_t i = 0; i < a->n_pos; i++)
		stdin_uses += STREQ(a->pos[i], "-");
	if (stdin_uses > 1)
		return ctl_usage_error(a->name, "- (standard input) can be given once");
	mail_ctx x = {};
	if (load_ctx(&x) < 0)
		return CTL_FAILED;
	size_t failed = 0;
	for (size_t i = 0; i < a->n_pos; i++)
		failed += !parse_one(&x, a->pos[i]);
	config_free(x.cfg);
	explicit_bzero(&x.key, sizeof x.key);
	fflush(stdout);
	return failed ? CTL_FAILED : CTL_OK;
}
