/* web: the channel, its [Web] section, the magic links and cookies, and the requests of the
 * web view; see web.h and docs/web.md. The pages' data is web-pages.c.
 *
 * Every page of /c/CAMPAIGN/ needs the member's signed token: the query of a magic link
 * (?m=MEMBER&e=EXPIRY&s=SIG), which then also sets the cookie, or the cookie alone. A token
 * names one campaign, so a link shows that campaign only. A form answer is handed to the
 * core as the member's message (sender verified: the signed token says who it is, and the
 * reply tag of the round says which round), keyed by a hash of the whole request, so the
 * same POST sent twice is recorded once; the page waits until the answer is durable. */
#define _GNU_SOURCE
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "answer.h"
#include "clock.h"
#include "digest.h"
#include "template.h"
#include "util.h"
#include "web-private.h"
#include "weblink.h"

#define COOKIE_NAME "coco"
#define CSS_NAME "coco.css"

/* One form answer, from its POST until the core answered (or the ingress gave up). */
struct web_post {
	channel *c;
	http_request *req;
	bool deferred, core_done;
	inbound_status status;
	char *reply, *reason;
	char *key, *from, *conversation, *text;
	char *root, *campaign, *round, *member, *occurrence;
};

/* The running instance: routes keep their first userdata across restarts (see slack.c). */
static channel *web_active;

static const char *const page_headers[] = {
	"Content-Security-Policy",
	"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'",
	"X-Frame-Options", "DENY",
	"Referrer-Policy", "no-referrer",
	"Cache-Control", "no-store",
};

static int respond_html(http_request *req, unsigned status, const char *html, const char *cookie)
{
	const char *h[ELEMENTSOF(page_headers) + 3];
	size_t n = 0;
	for (size_t i = 0; i < ELEMENTSOF(page_headers); i++)
		h[n++] = page_headers[i];
	if (cookie) {
		h[n++] = "Set-Cookie";
		h[n++] = cookie;
	}
	h[n] = NULL;
	return http_respond(req, status, "text/html; charset=utf-8", html, strlen(html), h);
}

/* A page from templates/web/NAME; root is the way back to the site's root ("../../"). */
static int respond_page(channel *c, http_request *req, unsigned status, const char *name,
                        cJSON *data, const char *root, const char *cookie)
{
	cJSON_AddStringToObject(data, "root", root);
	_cleanup_free_ char *html = NULL;
	int r = web_render(c, name, data, &html);
	cJSON_Delete(data);
	if (r < 0)
		return http_respond_text(req, 500, "the page could not be made; see cocod's log");
	return respond_html(req, status, html, cookie);
}

/* 403 with how to get a new link. */
static int respond_denied(channel *c, http_request *req, const char *root, const char *why)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "why", why);
	return respond_page(c, req, 403, "denied.html", d, root, NULL);
}

static int respond_not_found(channel *c, http_request *req, const char *root)
{
	cJSON *d = cJSON_CreateObject();
	return respond_page(c, req, 404, "notfound.html", d, root, NULL);
}

/* ---- who is asking ---- */

/* The path part of [Web] BaseUrl= ("" or "/coco"), for the cookie's Path. */
static char *base_path(const coco_config *cfg)
{
	const char *u = config_get(cfg, "Web", "BaseUrl");
	const char *p = u ? strstr(u, "://") : NULL;
	p = p ? strchr(p + 3, '/') : NULL;
	if (!p)
		return xstrdup("");
	size_t n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	return xstrndup(p, n);
}

static const char *cookie_value(http_request *req)
{
	static char buf[512];
	const char *h = http_request_header(req, "Cookie");
	for (const char *p = h; p && *p;) {
		p += strspn(p, " ;");
		size_t n = strcspn(p, ";");
		if (n > strlen(COOKIE_NAME) && strncmp(p, COOKIE_NAME "=", strlen(COOKIE_NAME) + 1) == 0) {
			size_t vn = n - strlen(COOKIE_NAME) - 1;
			if (vn >= sizeof buf)
				return NULL;
			memcpy(buf, p + strlen(COOKIE_NAME) + 1, vn);
			buf[vn] = 0;
			return buf;
		}
		p += n;
	}
	return NULL;
}

/* The member the request's link or cookie names, for campaign camp. On failure the request
 * is answered (403) and < 0 returned. *ret_cookie: a Set-Cookie value when a link came. */
static int authenticate(channel *c, http_request *req, const coco_campaign *camp,
                        const char *root, const coco_member **ret, char **ret_cookie)
{
	int64_t now = clock_now();
	const char *m = http_request_query(req, "m"), *e = http_request_query(req, "e"),
	           *s = http_request_query(req, "s");
	_cleanup_free_ char *member = NULL;
	int64_t expiry = 0;
	int r;
	bool from_link = m || e || s;
	if (from_link) {
		long ev = 0;
		r = m && e && s && parse_long(e, 0, LONG_MAX, &ev) >= 0
		            ? weblink_check(&c->key, m, camp->id, ev, s, now)
		            : -EINVAL;
		if (r >= 0) {
			member = xstrdup(m);
			expiry = ev;
		}
	} else {
		const char *tok = cookie_value(req);
		r = tok ? weblink_token_check(&c->key, tok, camp->id, now, &member, &expiry) : -ENOKEY;
	}
	const coco_member *mb = r >= 0 ? campaign_find_member(camp, member) : NULL;
	if (r >= 0 && !mb)
		r = -ENOENT;
	if (r < 0) {
		log_info("web: refused %s %s from %s: %s", http_request_method(req),
		         http_request_path(req), http_request_peer_string(req),
		         r == -ETIME ? "the link has expired" : r == -ENOKEY ? "no link or cookie"
		         : r == -ENOENT ? "not a member of the campaign" : "the link is not valid");
		respond_denied(c, req, root,
		               r == -ETIME    ? "This link has expired."
		               : r == -ENOKEY ? "This page needs your personal link."
		                              : "This link is not valid.");
		return r;
	}
	*ret = mb;
	*ret_cookie = NULL;
	if (from_link) {
		_cleanup_free_ char *tok = weblink_token(&c->key, mb->id, camp->id, expiry);
		_cleanup_free_ char *bp = base_path(c->h->cfg);
		const char *u = config_get(c->h->cfg, "Web", "BaseUrl");
		bool https = u && strncasecmp(u, "https:", 6) == 0;
		*ret_cookie = xasprintf(COOKIE_NAME "=%s; Path=%s/c/%s/; Max-Age=%" PRId64
		                        "; HttpOnly; SameSite=Strict%s", tok, bp, camp->id,
		                        expiry - now, https ? "; Secure" : "");
	}
	return 0;
}

/* ---- the path ---- */

/* "/c/CAMPAIGN/A/B" into up to three components; how many, or -EINVAL. An empty last one
 * ("/c/x/") is not counted. */
static int split_path(const char *path, char parts[3][65])
{
	if (strncmp(path, "/c/", 3) != 0)
		return -EINVAL;
	const char *p = path + 3;
	int n = 0;
	while (*p) {
		size_t k = strcspn(p, "/");
		if (n == 3 || k == 0 || k > 64)
			return -EINVAL;
		memcpy(parts[n], p, k);
		parts[n][k] = 0;
		if (!name_is_safe(parts[n]))
			return -EINVAL;
		n++;
		p += k;
		if (*p == '/')
			p++;
	}
	return n;
}

static const char *root_for(int n_parts)
{
	/* From /c/C/ two up; from /c/C/R/X three. */
	return n_parts >= 3 ? "../../../" : "../../";
}

/* ---- GET ---- */

static int on_css(http_request *req, void *userdata)
{
	channel *c = web_active;
	if (!c)
		return http_respond_text(req, 404, "not found");
	_cleanup_free_ char *css = NULL;
	if (template_dirs_partial(CSS_NAME, &css, c->dirs) < 0)
		return http_respond_text(req, 404, "not found");
	const char *h[] = {"Cache-Control", "max-age=3600", NULL};
	return http_respond(req, 200, "text/css; charset=utf-8", css, strlen(css), h);
}

/* The answer form of the round's open occurrence, prefilled with the member's answers, or
 * (entered) shown again with what they sent and errs at their fields, as status. */
static int serve_form(channel *c, http_request *req, const coco_campaign *camp,
                      const coco_round *r, const coco_member *mb, const char *root,
                      const char *cookie, const char *note, unsigned status,
                      const web_form *entered, const web_form_errors *errs)
{
	_cleanup_free_ char *state = NULL, *occ = NULL;
	web_round_state(c, camp, r, &state, &occ, NULL);
	cJSON *d;
	if (!occ || !STREQ(state, "open") || !web_member_asked(r, mb)) {
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "title", r->title ? r->title : r->id);
		cJSON_AddStringToObject(d, "state", state);
		return respond_page(c, req, 200, "closed.html", d, root, cookie);
	}
	d = web_form_data(c, camp, r, mb, occ, entered, errs);
	char csrf[WEBLINK_SIG_LEN + 1];
	weblink_csrf(&c->key, mb->id, camp->id, r->id, occ, csrf);
	unsigned char raw[16];
	char nonce[33];
	if (RAND_bytes(raw, sizeof raw) != 1) {
		cJSON_Delete(d);
		return http_respond_text(req, 500, "no randomness");
	}
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(nonce + 2 * i, 3, "%02x", raw[i]);
	cJSON_AddStringToObject(d, "csrf", csrf);
	cJSON_AddStringToObject(d, "nonce", nonce);
	if (note)
		cJSON_AddStringToObject(d, "note", note);
	return respond_page(c, req, status, "form.html", d, root, cookie);
}

/* An occurrence's page: the same for every member, kept while what it is made from stays
 * (web-cache.c). */
static int serve_round(channel *c, http_request *req, const coco_campaign *camp,
                       const coco_round *r, const char *occ, const char *root,
                       const char *cookie)
{
	bool settled = false;
	_cleanup_free_ char *key = xasprintf("%s/%s/%s", camp->id, r->id, occ);
	_cleanup_free_ char *stamp = web_page_stamp(c, camp, r, &settled);
	const char *kept = web_cache_get(c, key, stamp);
	if (kept)
		return respond_html(req, 200, kept, cookie);
	cJSON *d = NULL;
	if (web_round_data(c, camp, r, occ, &d) < 0)
		return respond_not_found(c, req, root);
	cJSON_AddStringToObject(d, "root", root);
	_cleanup_free_ char *html = NULL;
	int k = web_render(c, "round.html", d, &html);
	cJSON_Delete(d);
	if (k < 0)
		return http_respond_text(req, 500, "the page could not be made; see cocod's log");
	if (settled)
		web_cache_put(c, key, stamp, html);
	return respond_html(req, 200, html, cookie);
}

/* The campaign's answers as CSV (export.h, a member's file: anonymous rounds tie nothing
 * to anyone), as a download. */
static int serve_export(channel *c, http_request *req, const coco_campaign *camp,
                        const coco_member *mb, const char *root, const char *cookie)
{
	_cleanup_free_ char *csv = NULL;
	int r = web_export_csv(c, camp, &csv);
	if (r < 0) {
		log_error_errno(r, "web: cannot export %s for %s: %m", camp->id, mb->id);
		return http_respond_text(req, 500, "the answers could not be read; see cocod's log");
	}
	_cleanup_free_ char *disposition = xasprintf("attachment; filename=\"%s-answers.csv\"",
	                                             camp->id);
	const char *h[ELEMENTSOF(page_headers) + 5];
	size_t n = 0;
	for (size_t i = 0; i < ELEMENTSOF(page_headers); i++)
		h[n++] = page_headers[i];
	h[n++] = "Content-Disposition";
	h[n++] = disposition;
	if (cookie) {
		h[n++] = "Set-Cookie";
		h[n++] = cookie;
	}
	h[n] = NULL;
	log_debug("web: %s took the export of %s", mb->id, camp->id);
	return http_respond(req, 200, "text/csv; charset=utf-8", csv, strlen(csv), h);
}

static int on_get(http_request *req, void *userdata)
{
	channel *c = web_active;
	if (!c)
		return http_respond_text(req, 404, "not found");
	char parts[3][65];
	const char *path = http_request_path(req);
	int n = split_path(path, parts);
	bool dir = path[strlen(path) - 1] == '/';
	if (n < 1)
		return respond_not_found(c, req, "/");
	const char *root = root_for(n);
	const coco_campaign *camp = config_find_campaign(c->h->cfg, parts[0]);
	if (!camp)
		/* Said the same way as a bad link: which campaigns exist is nobody's business. */
		return respond_denied(c, req, root, "This link is not valid.");
	const coco_member *mb;
	_cleanup_free_ char *cookie = NULL;
	if (authenticate(c, req, camp, root, &mb, &cookie) < 0)
		return 0;

	if (n == 1) {
		if (!dir)
			return respond_not_found(c, req, root);
		return respond_page(c, req, 200, "index.html", web_index_data(c, camp, mb), root,
		                    cookie);
	}
	if (n == 2 && !dir && STREQ(parts[1], "export.csv"))
		return serve_export(c, req, camp, mb, root, cookie);
	if (n == 3 && !dir) {
		const coco_round *r = campaign_find_round(camp, parts[1]);
		if (!r || r->kind == ROUND_ANNOUNCE)
			return respond_not_found(c, req, root);
		if (STREQ(parts[2], "form"))
			return serve_form(c, req, camp, r, mb, root, cookie, NULL, 200, NULL, NULL);
		return serve_round(c, req, camp, r, parts[2], root, cookie);
	}
	return respond_not_found(c, req, root);
}

/* ---- POST: a form answer ---- */

static void post_free(web_post *p)
{
	if (!p)
		return;
	if (p->c) {
		channel *c = p->c;
		for (size_t i = 0; i < c->n_posts; i++)
			if (c->posts[i] == p) {
				c->posts[i] = c->posts[--c->n_posts];
				break;
			}
	}
	free(p->reply);
	free(p->reason);
	free(p->key);
	free(p->from);
	free(p->conversation);
	free(p->text);
	free(p->root);
	free(p->campaign);
	free(p->round);
	free(p->member);
	free(p->occurrence);
	free(p);
}

/* The core's reply as a web page may show it: without what belongs to a mail (the
 * signature's "-- " and what follows, the line with the link to this very form). */
static char *reply_for_web(const char *md)
{
	strbuf b = {0};
	for (const char *p = md; *p;) {
		size_t n = strcspn(p, "\n");
		if (n == 3 && strncmp(p, "-- ", 3) == 0)
			break;
		_cleanup_free_ char *line = xstrndup(p, n);
		if (!strstr(line, "/form?"))
			strbuf_printf(&b, "%s\n", line);
		p += n;
		if (*p)
			p++;
	}
	return strbuf_steal(&b);
}

/* The confirmation page: what was recorded, read back from the store, and what was not. */
static void post_answer(web_post *p)
{
	cJSON *d = NULL;
	unsigned status = 200;
	_cleanup_free_ char *html = NULL;
	switch (p->status) {
	case INBOUND_DONE: {
		const coco_campaign *camp = p->c ? config_find_campaign(p->c->h->cfg, p->campaign) : NULL;
		const coco_round *r = campaign_find_round(camp, p->round);
		const coco_member *mb = campaign_find_member(camp, p->member);
		if (camp && r && mb)
			d = web_done_data(p->c, camp, r, mb, p->occurrence, p->text);
		if (d) {
			cJSON_AddStringToObject(d, "title", r->title ? r->title : r->id);
			cJSON_AddStringToObject(d, "name", mb->name ? mb->name : mb->id);
			/* Not all of it went in: what the core said about it. */
			if (!cJSON_IsTrue(cJSON_GetObjectItem(d, "all_recorded")) && p->reply) {
				_cleanup_free_ char *md = reply_for_web(p->reply);
				if (digest_markdown_to_html(md, &html) >= 0)
					cJSON_AddStringToObject(d, "core_said_html", html);
			}
			if (cJSON_IsTrue(cJSON_GetObjectItem(d, "none_recorded")))
				status = 422;
			break;
		}
		/* The configuration changed under the answer: the core's words, as they are. */
		d = cJSON_CreateObject();
		if (p->reply) {
			_cleanup_free_ char *md = reply_for_web(p->reply);
			if (digest_markdown_to_html(md, &html) >= 0)
				cJSON_AddStringToObject(d, "reply_html", html);
		}
		cJSON_AddBoolToObject(d, "core_recorded", true);
		break;
	}
	case INBOUND_RETRY:
		status = 503;
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "problem", "coco could not record this just now. "
		                        "Please send the form again in a minute.");
		break;
	default:
		status = 422;
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "problem", "coco could not record this answer.");
		if (p->reason)
			cJSON_AddStringToObject(d, "reason", p->reason);
		break;
	}
	cJSON_AddStringToObject(d, "round", p->round);
	int r = -ENOENT;
	if (p->c)
		r = respond_page(p->c, p->req, status, "done.html", d, p->root, NULL);
	else {
		cJSON_Delete(d);
		r = http_respond_text(p->req, status, status == 200 ? "recorded" : "not recorded");
	}
	if (r < 0)
		log_debug_errno(r, "web: answering a form failed: %m");
	p->req = NULL;
}

static void on_core_done(const inbound_result *res, void *userdata)
{
	web_post *p = userdata;
	p->core_done = true;
	p->status = res->status;
	p->reply = res->reply ? xstrdup(res->reply) : NULL;
	p->reason = res->reason ? xstrdup(res->reason) : NULL;
	if (res->status == INBOUND_RETRY)
		log_warning_errno(res->error, "web: a form answer could not be recorded for now (%m); "
		                  "its sender was asked to send it again");
	if (!p->deferred)
		return; /* still inside the handler, which answers */
	if (p->req)
		post_answer(p);
	post_free(p);
}

static void on_request_cancel(http_request *req, void *userdata)
{
	web_post *p = userdata;
	p->req = NULL;
}

/* The address the core knows the member by: the first Email=, else Slack=, else Matrix=. */
static const char *member_from(const coco_member *mb)
{
	if (mb->n_emails > 0)
		return mb->emails[0];
	return mb->slack_id ? mb->slack_id : mb->matrix_id;
}

static char *request_key(const coco_member *mb, const coco_campaign *camp, const coco_round *r,
                         const char *occ, const char *body, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int mdlen = sizeof md;
	const char *parts[] = {mb->id, camp->id, r->id, occ};
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (size_t i = 0; i < ELEMENTSOF(parts); i++)
		EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1);
	EVP_DigestUpdate(ctx, body, len);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	char hex[65];
	for (size_t i = 0; i < sizeof md; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return xasprintf("web:%s", hex);
}

static int on_post(http_request *req, void *userdata)
{
	channel *c = web_active;
	if (!c)
		return http_respond_text(req, 404, "not found");
	char parts[3][65];
	const char *path = http_request_path(req);
	int n = split_path(path, parts);
	if (n != 3 || !STREQ(parts[2], "form"))
		return respond_not_found(c, req, n >= 1 ? root_for(n) : "/");
	const char *root = root_for(n);
	const coco_campaign *camp = config_find_campaign(c->h->cfg, parts[0]);
	if (!camp)
		return respond_denied(c, req, root, "This link is not valid.");
	const coco_member *mb;
	_cleanup_free_ char *cookie = NULL;
	if (authenticate(c, req, camp, root, &mb, &cookie) < 0)
		return 0;
	const coco_round *r = campaign_find_round(camp, parts[1]);
	if (!r || r->kind == ROUND_ANNOUNCE)
		return respond_not_found(c, req, root);

	size_t len = 0;
	const char *body = http_request_body(req, &len);
	web_form f = {0};
	if (web_form_parse(body ? body : "", len, &f) < 0)
		return http_respond_text(req, 400, "too many fields");
	const char *occ_f = web_form_get(&f, "occurrence"), *csrf = web_form_get(&f, "csrf");
	_cleanup_free_ char *occ = occ_f ? xstrdup(occ_f) : NULL;
	if (!occ || !name_is_safe(occ) ||
	    !weblink_csrf_ok(&c->key, mb->id, camp->id, r->id, occ, csrf)) {
		log_warning("web: refused a form for %s/%s from %s: its CSRF token is not valid",
		            camp->id, r->id, http_request_peer_string(req));
		web_form_done(&f);
		return respond_denied(c, req, root, "This form was not sent from your own page.");
	}
	_cleanup_free_ char *state = NULL, *cur = NULL;
	web_round_state(c, camp, r, &state, &cur, NULL);
	if (!cur || !STREQ(cur, occ)) {
		web_form_done(&f);
		return serve_form(c, req, camp, r, mb, root, cookie,
		                  "The round has moved on since this form was made: nothing was "
		                  "recorded. Here is the form as it is now.", 200, NULL, NULL);
	}
	/* Each field checked first: an error is said at its field, with the rest of what was
	 * entered kept, and nothing goes to the core. */
	char **ballot = web_ballot(c, camp, r);
	web_form_errors errs = {0};
	int k = web_form_check(r, ballot, &f, &errs);
	_cleanup_free_ char *text = web_form_answer_text(r, &f);
	if (k >= 0 && *text) {
		/* What the checks do not know, the grammar says (as it will in the core). */
		_cleanup_answer_parse_ answer_parse *ap = NULL;
		if (answer_parse_text(r, strv_length(ballot), text, &ap) >= 0 &&
		    answer_parse_n_errors(ap) > 0) {
			for (char *const *e = answer_parse_errors(ap); *e; e++)
				web_form_errors_add(&errs, "form", xstrdup(*e));
			k = -EINVAL;
		}
	}
	strv_free(ballot);
	if (k < 0) {
		log_debug("web: a form for %s/%s from %s sent back with %zu error%s", camp->id,
		          r->id, mb->id, errs.n, errs.n == 1 ? "" : "s");
		int rr = serve_form(c, req, camp, r, mb, root, cookie, NULL, 422, &f, &errs);
		web_form_errors_done(&errs);
		web_form_done(&f);
		return rr;
	}
	web_form_done(&f);
	const char *from = member_from(mb);
	if (!*text || !from)
		return serve_form(c, req, camp, r, mb, root, cookie,
		                  !from ? "coco has no address for you (Email=): ask the admin."
		                        : "Nothing was filled in, so nothing was recorded.", 200,
		                  NULL, NULL);

	web_post *p = xcalloc(1, sizeof *p);
	p->c = c;
	p->req = req;
	p->key = request_key(mb, camp, r, occ, body ? body : "", len);
	p->from = xstrdup(from);
	char tag[SECRET_TAG_LEN + 1];
	secret_tag(&c->key, camp->id, r->id, mb->id, tag);
	p->conversation = xstrdup(tag);
	p->text = TAKE_PTR(text);
	p->root = xstrdup(root);
	p->campaign = xstrdup(camp->id);
	p->round = xstrdup(r->id);
	p->member = xstrdup(mb->id);
	p->occurrence = xstrdup(occ);
	c->posts = xrealloc(c->posts, (c->n_posts + 1) * sizeof *c->posts);
	c->posts[c->n_posts++] = p;

	inbound_msg m = {
		.key = p->key,
		.channel = c->h->name,
		.from = p->from,
		.conversation = p->conversation,
		.text = p->text,
		/* The signed link (or its cookie) and the CSRF token say who sent it. */
		.sender_verified = true,
	};
	/* No member: the round may be anonymous (architecture.md). */
	log_debug("web: a form answer for %s/%s", camp->id, r->id);
	c->h->receive(c->h, &m, on_core_done, p);
	if (p->core_done) {
		post_answer(p);
		post_free(p);
		return 0;
	}
	k = http_request_defer(req, on_request_cancel, p);
	p->deferred = true;
	if (k < 0) {
		p->req = NULL;
		return log_error_errno(k, "web: cannot wait for the core's answer: %m");
	}
	return 0;
}

/* ---- the channel ---- */

static channel *web_stop(channel *c)
{
	if (!c)
		return NULL;
	if (web_active == c)
		web_active = NULL;
	web_cache_clear(c);
	for (size_t i = 0; i < c->n_posts; i++)
		c->posts[i]->c = NULL; /* the core still answers them; freed then */
	free(c->posts);
	store_free(c->st);
	strv_free(c->dirs);
	OPENSSL_cleanse(&c->key, sizeof c->key);
	free(c);
	return NULL;
}

static int web_start(const channel_host *h, channel **ret)
{
	if (web_active) {
		log_error("web: another web channel is running");
		return -EBUSY;
	}
	channel *c = xcalloc(1, sizeof *c);
	c->h = h;
	int r = secret_load(h->cfg->secrets_dir, &c->key);
	if (r >= 0)
		r = store_open(h->state_dir, &c->st);
	if (r < 0) {
		log_error_errno(r, "web: cannot start: %m");
		web_stop(c);
		return r;
	}
	/* As cocod's message templates: the config directory's first, then the defaults. */
	const char *def = getenv("COCO_TEMPLATE_DIR");
	strv_push(&c->dirs, xasprintf("%s/templates/web", h->cfg->dir));
	strv_push(&c->dirs, def ? xasprintf("%s/web", def) : xstrdup(COCO_DATADIR "/templates/web"));
	r = h->route_add(h, "GET", "/c/", on_get, NULL, HTTP_ROUTE_PREFIX);
	if (r >= 0)
		r = h->route_add(h, "POST", "/c/", on_post, NULL, HTTP_ROUTE_PREFIX | HTTP_ACCEPT_FORM);
	if (r >= 0)
		r = h->route_add(h, "GET", "/static/" CSS_NAME, on_css, NULL, 0);
	if (r < 0) {
		log_error_errno(r, "web: cannot add the HTTP routes: %m");
		web_stop(c);
		return r;
	}
	web_active = c;
	const char *base = config_get(h->cfg, "Web", "BaseUrl");
	log_info("web: the web view on GET /c/, links to %s", base ? base : "(no [Web] BaseUrl=)");
	*ret = c;
	return 0;
}

/* Everything is read at use (BaseUrl=, campaigns); the key does not change under cocod.
 * Pages kept were made with the old configuration. */
static int web_reconfigure(channel *c)
{
	web_cache_clear(c);
	return 0;
}

static int web_send(channel *c, const channel_msg *m, send_done_fn done, void *userdata)
{
	/* Never chosen (no CHANNEL_DM); a message queued for it by hand cannot go anywhere. */
	done(SEND_FAIL, "the web channel sends nothing", NULL, userdata);
	return 0;
}

static const config_key_def web_keys[] = {
	{"BaseUrl", CONFIG_VALUE_URL, true, "the address members reach the web view at, as links put it (https://coco.example.org); https makes the cookie Secure"},
};
static const config_section_def web_section = {"Web", web_keys, ELEMENTSOF(web_keys)};
static const config_section_def *const web_sections[] = {&web_section, NULL};

const channel_ops web_channel = {
	.name = "web",
	.caps = CHANNEL_SYNC_REPLY,
	.address = "email",
	.sections = web_sections,
	.start = web_start,
	.reconfigure = web_reconfigure,
	.send = web_send,
	.stop = web_stop,
};
