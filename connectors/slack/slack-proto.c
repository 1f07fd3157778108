/* slack-proto: see slack-proto.h. */
#define _GNU_SOURCE
#include "slack-proto.h"

#include <ctype.h>
#include <nettle/hmac.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <string.h>

#include "json-print.h"
#include "util.h"

/* Block Kit limits (docs.slack.dev, PROTOCOLS.md 1.3 and 1.5). */
#define SECTION_TEXT_MAX 3000
#define BUTTON_TEXT_MAX 75
#define BUTTON_VALUE_MAX 2000
#define ACTIONS_MAX 25
#define BLOCKS_MAX 50
#define CONTEXT_TEXT_MAX 300

/* ---- signing ---- */

void slack_signer_init(slack_signer *s, const void *secret, size_t secret_len)
{
	hmac_sha256_set_key(&s->keyed, secret_len, secret);
	s->ready = true;
}

void slack_signer_wipe(slack_signer *s)
{
	OPENSSL_cleanse(s, sizeof *s);
}

void slack_signer_sign(const slack_signer *s, const char *timestamp, const char *body,
                       size_t body_len, char ret[68])
{
	/* Nettle, not OpenSSL's EVP_MAC: EVP_MAC_fetch() looks the algorithm up in the provider
	 * tables on every call, which was most of the cost of a request's check (bench/slack-
	 * ingress, docs/performance.md). Nettle does the reply tags already (engine/secret.c).
	 * The keyed states are copied, so a request hashes only its own bytes. */
	static const char hex[] = "0123456789abcdef";
	uint8_t mac[SHA256_DIGEST_SIZE];
	struct hmac_sha256_ctx ctx = s->keyed;
	hmac_sha256_update(&ctx, 3, (const uint8_t *)"v0:");
	hmac_sha256_update(&ctx, strlen(timestamp), (const uint8_t *)timestamp);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)":");
	hmac_sha256_update(&ctx, body_len, (const uint8_t *)body);
	hmac_sha256_digest(&ctx, sizeof mac, mac);
	memcpy(ret, "v0=", 3);
	for (size_t i = 0; i < sizeof mac; i++) {
		ret[3 + 2 * i] = hex[mac[i] >> 4];
		ret[4 + 2 * i] = hex[mac[i] & 15];
	}
	ret[67] = 0;
	OPENSSL_cleanse(&ctx, sizeof ctx);
	OPENSSL_cleanse(mac, sizeof mac);
}

void slack_sign(const void *secret, size_t secret_len, const char *timestamp, const char *body,
                size_t body_len, char ret[68])
{
	slack_signer s;
	slack_signer_init(&s, secret, secret_len);
	slack_signer_sign(&s, timestamp, body, body_len, ret);
	slack_signer_wipe(&s);
}

int slack_signer_verify(const slack_signer *s, const char *timestamp, const char *signature,
                        const char *body, size_t body_len, int64_t now)
{
	long ts;
	if (!s->ready)
		return -EPERM;
	if (!timestamp || !signature || !*timestamp || strlen(timestamp) > 12 ||
	    timestamp[strspn(timestamp, "0123456789")] != 0 ||
	    parse_long(timestamp, 0, 999999999999L, &ts) < 0)
		return -EINVAL;
	if (strlen(signature) != 67 || strncmp(signature, "v0=", 3) != 0)
		return -EINVAL;
	if ((int64_t)ts < now - SLACK_SIGNATURE_WINDOW_SEC ||
	    (int64_t)ts > now + SLACK_SIGNATURE_WINDOW_SEC)
		return -ETIME;
	char want[68];
	slack_signer_sign(s, timestamp, body, body_len, want);
	/* Hex from Slack is lower-case; an upper-case copy is not what Slack sends. */
	int differ = CRYPTO_memcmp(want, signature, 67);
	OPENSSL_cleanse(want, sizeof want);
	return differ ? -EPERM : 0;
}

int slack_verify(const void *secret, size_t secret_len, const char *timestamp,
                 const char *signature, const char *body, size_t body_len, int64_t now)
{
	slack_signer s;
	slack_signer_init(&s, secret, secret_len);
	int r = slack_signer_verify(&s, timestamp, signature, body, body_len, now);
	slack_signer_wipe(&s);
	return r;
}

/* ---- the answer to a slash command ---- */


char *slack_ephemeral_json(const char *text, size_t *ret_len)
{
	strbuf b = {0};
	strbuf_reserve(&b, 48 + (text ? strlen(text) : 0)); /* escapes aside, the whole */
	strbuf_puts(&b, "{\"response_type\":\"ephemeral\",\"text\":");
	json_print_string(&b, text ? text : "");
	strbuf_putc(&b, '}');
	if (ret_len)
		*ret_len = b.len;
	return strbuf_steal(&b);
}

/* ---- forms ---- */

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) into a new string (decoding never grows it: one allocation of n + 1).
 * -EBADMSG for a broken %XX or a NUL byte. */
static int form_decode(const char *s, size_t n, char **ret)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (i + 2 >= n) {
				free(out);
				return -EBADMSG;
			}
			int hi = unhex(s[i + 1]), lo = unhex(s[i + 2]);
			if (hi < 0 || lo < 0) {
				free(out);
				return -EBADMSG;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == 0) {
			free(out);
			return -EBADMSG;
		}
		*o++ = c;
	}
	*o = 0;
	*ret = out;
	return 0;
}

/* Which of keys[0..n) the pair's key (pair[0..klen)) is, or n. */
static size_t form_key_index(const char *pair, size_t klen, const char *const *keys, size_t n)
{
	if (!memchr(pair, '%', klen) && !memchr(pair, '+', klen)) {
		/* Nothing to decode (the usual key): compared as it is, no copy. A NUL byte in it
		 * matches no key, as decoding would refuse it. */
		for (size_t k = 0; k < n; k++)
			if (strlen(keys[k]) == klen && memcmp(pair, keys[k], klen) == 0)
				return k;
		return n;
	}
	_cleanup_free_ char *key = NULL;
	if (form_decode(pair, klen, &key) < 0)
		return n;
	for (size_t k = 0; k < n; k++)
		if (STREQ(key, keys[k]))
			return k;
	return n;
}

int slack_form_fields(const char *body, size_t len, const char *const *keys, size_t n,
                      int *ret_errors, char **ret_values)
{
	size_t left = n, i = 0;
	for (size_t k = 0; k < n; k++) {
		ret_values[k] = NULL;
		ret_errors[k] = -ENOENT;
	}
	while (i < len && left > 0) {
		const char *pair = body + i;
		const char *amp = memchr(pair, '&', len - i);
		size_t plen = amp ? (size_t)(amp - pair) : len - i;
		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq ? (size_t)(eq - pair) : plen;
		size_t k = form_key_index(pair, klen, keys, n);
		if (k < n && ret_errors[k] == -ENOENT) { /* the first value of a key counts */
			char *v = NULL;
			int r = eq ? form_decode(eq + 1, plen - klen - 1, &v) : 0;
			if (r >= 0 && !v)
				v = xstrdup("");
			ret_errors[k] = r < 0 ? r : 0;
			ret_values[k] = v;
			left--;
		}
		i += plen + 1;
	}
	return (int)(n - left);
}

int slack_form_get(const char *body, size_t len, const char *key, char **ret)
{
	int error;
	char *v;
	(void)slack_form_fields(body, len, &key, 1, &error, &v);
	if (error < 0)
		return error;
	*ret = v;
	return 0;
}

/* ---- buttons ---- */

char *slack_button_value(const char *ref, const char *question, const char *value)
{
	if (!question || !value || strchr(question, '|') || (ref && strchr(ref, '|')))
		return NULL;
	char *v = xasprintf("%s|%s|%s", ref ? ref : "", question, value);
	if (strlen(v) > BUTTON_VALUE_MAX) {
		free(v);
		return NULL;
	}
	return v;
}

int slack_button_parse(const char *v, char **ret_ref, char **ret_question, char **ret_value)
{
	const char *a = v ? strchr(v, '|') : NULL;
	const char *b = a ? strchr(a + 1, '|') : NULL;
	if (!b || b == a + 1 || !b[1] || strlen(v) > BUTTON_VALUE_MAX)
		return -EINVAL;
	*ret_ref = a > v ? xstrndup(v, (size_t)(a - v)) : NULL;
	*ret_question = xstrndup(a + 1, (size_t)(b - a - 1));
	*ret_value = xstrdup(b + 1);
	return 0;
}

/* ---- mrkdwn ---- */

/* Text with &, < and > escaped; the runs between them copied whole (a confirmation is
 * converted for every slash command: bench/slack-ingress). */
static void put_escaped(strbuf *b, const char *s, size_t n)
{
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		const char *e = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;"
		                                                                         : NULL;
		if (!e)
			continue;
		strbuf_add(b, s + from, i - from);
		strbuf_puts(b, e);
		from = i + 1;
	}
	strbuf_add(b, s + from, n - from);
}

/* A character put_inline() may have to do something about; the others are copied. */
static bool inline_special(char c)
{
	return c == '`' || c == '\\' || c == '*' || c == '_' || c == '[' || c == '<' || c == '&' ||
	       c == '>';
}

/* One line's inline Markdown. */
static void put_inline(strbuf *b, const char *s, size_t n)
{
	bool em = false;
	for (size_t i = 0; i < n; i++) {
		size_t plain = 0;
		while (i + plain < n && !inline_special(s[i + plain]))
			plain++;
		if (plain > 0) {
			strbuf_add(b, s + i, plain);
			i += plain - 1;
			continue;
		}
		char c = s[i];
		if (c == '`') {
			const char *end = memchr(s + i + 1, '`', n - i - 1);
			if (end) {
				size_t len = (size_t)(end - (s + i)) + 1;
				put_escaped(b, s + i, len);
				i += len - 1;
				continue;
			}
		}
		if (c == '\\' && i + 1 == n)
			continue; /* Markdown's hard line break: the line ends here anyway */
		if (c == '\\' && i + 1 < n && ispunct((unsigned char)s[i + 1])) {
			put_escaped(b, s + i + 1, 1);
			i++;
			continue;
		}
		if ((c == '*' || c == '_') && i + 1 < n && s[i + 1] == c) {
			strbuf_putc(b, '*');
			i++;
			continue;
		}
		if (c == '*') {
			if (em) {
				strbuf_putc(b, '_');
				em = false;
				continue;
			}
			if (i + 1 < n && !isspace((unsigned char)s[i + 1]) &&
			    memchr(s + i + 1, '*', n - i - 1)) {
				strbuf_putc(b, '_');
				em = true;
				continue;
			}
		}
		if (c == '[') {
			const char *close = memchr(s + i, ']', n - i);
			if (close && (size_t)(close - s) + 1 < n && close[1] == '(') {
				const char *paren = memchr(close, ')', n - (size_t)(close - s));
				if (paren && paren > close + 2) {
					strbuf_putc(b, '<');
					put_escaped(b, close + 2, (size_t)(paren - close - 2));
					strbuf_putc(b, '|');
					put_escaped(b, s + i + 1, (size_t)(close - s - (ptrdiff_t)i - 1));
					strbuf_putc(b, '>');
					i = (size_t)(paren - s);
					continue;
				}
			}
		}
		if (c == '<' && (strncmp(s + i, "<http://", 8) == 0 || strncmp(s + i, "<https://", 9) == 0 ||
		                 strncmp(s + i, "<mailto:", 8) == 0)) {
			const char *gt = memchr(s + i, '>', n - i);
			if (gt && !memchr(s + i, ' ', (size_t)(gt - s) - i)) {
				strbuf_putc(b, '<');
				put_escaped(b, s + i + 1, (size_t)(gt - s) - i - 1);
				strbuf_putc(b, '>');
				i = (size_t)(gt - s);
				continue;
			}
		}
		put_escaped(b, &c, 1);
	}
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

char *slack_mrkdwn(const char *md)
{
	strbuf b = {0};
	bool fence = false, code = false, prev_blank = true;
	const char *p = md ? md : "";
	strbuf_reserve(&b, strlen(p) + 16); /* about as long as the Markdown */

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		const char *next = eol ? eol + 1 : p + n;
		if (n > 0 && p[n - 1] == '\r')
			n--;

		if (fence) {
			if (n >= 3 && strncmp(p, "```", 3) == 0) {
				strbuf_puts(&b, "```\n");
				fence = false;
			} else {
				put_escaped(&b, p, n);
				strbuf_putc(&b, '\n');
			}
			p = next;
			continue;
		}
		bool indented = (n >= 4 && strncmp(p, "    ", 4) == 0) || (n >= 1 && p[0] == '\t');
		if (code && (blank(p, n) || !indented)) {
			strbuf_puts(&b, "```\n");
			code = false;
		}
		if (n >= 3 && strncmp(p, "```", 3) == 0) {
			strbuf_puts(&b, "```\n");
			fence = true;
		} else if (indented && !blank(p, n) && (code || prev_blank)) {
			if (!code)
				strbuf_puts(&b, "```\n");
			code = true;
			size_t skip = p[0] == '\t' ? 1 : 4;
			put_escaped(&b, p + skip, n - skip);
			strbuf_putc(&b, '\n');
		} else {
			size_t lead = strspn(p, " ");
			if (lead > n)
				lead = n;
			size_t h = strspn(p, "#");
			if (h >= 1 && h <= 6 && h < n && p[h] == ' ') {
				const char *t = p + h + 1;
				size_t tn = n - h - 1;
				while (tn > 0 && (t[tn - 1] == '#' || t[tn - 1] == ' '))
					tn--;
				strbuf_putc(&b, '*');
				put_inline(&b, t, tn);
				strbuf_putc(&b, '*');
			} else if (lead + 1 < n && strchr("-*+", p[lead]) && p[lead + 1] == ' ') {
				strbuf_add(&b, p, lead);
				strbuf_puts(&b, "• ");
				put_inline(&b, p + lead + 2, n - lead - 2);
			} else
				put_inline(&b, p, n);
			strbuf_putc(&b, '\n');
		}
		prev_blank = blank(p, n);
		p = next;
	}
	if (code || fence)
		strbuf_puts(&b, "```\n");
	/* No trailing newlines: Slack shows them as empty lines. */
	while (b.len > 0 && b.s[b.len - 1] == '\n')
		b.s[--b.len] = 0;
	return strbuf_steal(&b);
}

/* ---- blocks ---- */

/* At most max bytes of s, cut at a UTF-8 character boundary, with "…" if cut. */
static char *truncate_utf8(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return xstrdup(s);
	size_t cut = max >= 3 ? max - 3 : 0;
	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	return xasprintf("%.*s…", (int)cut, s);
}

static cJSON *text_obj(const char *type, const char *text)
{
	cJSON *t = cJSON_CreateObject();
	cJSON_AddStringToObject(t, "type", type);
	cJSON_AddStringToObject(t, "text", text);
	if (STREQ(type, "plain_text"))
		cJSON_AddBoolToObject(t, "emoji", true);
	return t;
}

static void add_section(cJSON *blocks, const char *mrkdwn, size_t n)
{
	_cleanup_free_ char *s = xstrndup(mrkdwn, n);
	cJSON *sec = cJSON_CreateObject();
	cJSON_AddStringToObject(sec, "type", "section");
	cJSON_AddItemToObject(sec, "text", text_obj("mrkdwn", s));
	cJSON_AddItemToArray(blocks, sec);
}

/* The text in sections of at most SECTION_TEXT_MAX bytes, cut at paragraphs where it can,
 * else at a line, else at a character; no more than max_blocks of them. */
static void add_sections(cJSON *blocks, const char *text, size_t max_blocks)
{
	const char *p = text;
	size_t used = 0;
	while (*p && used < max_blocks) {
		size_t left = strlen(p);
		size_t n = left;
		if (n > SECTION_TEXT_MAX) {
			n = SECTION_TEXT_MAX;
			const char *cut = NULL;
			for (const char *q = p; q + 2 <= p + SECTION_TEXT_MAX; q++)
				if (q[0] == '\n' && q[1] == '\n')
					cut = q;
			if (!cut)
				for (const char *q = p; q < p + SECTION_TEXT_MAX; q++)
					if (*q == '\n')
						cut = q;
			if (cut && cut > p)
				n = (size_t)(cut - p);
			else
				while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
					n--;
		}
		if (n > 0 && !blank(p, n)) {
			add_section(blocks, p, n);
			used++;
		}
		p += n;
		while (*p == '\n')
			p++;
	}
}

static long json_long(const cJSON *o, const char *key, long def)
{
	int64_t v;
	if (json_get_int64(o, key, &v) < 0 || v < -1000000 || v > 1000000)
		return def;
	return (long)v;
}

static const char *json_string(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A button's label is one line: Slack shows a line break in it as it is. */
static cJSON *button(const char *label, const char *action_id, const char *value)
{
	_cleanup_free_ char *one = strcollapse_ws(xstrdup(label));
	_cleanup_free_ char *l = truncate_utf8(one, BUTTON_TEXT_MAX);
	cJSON *b = cJSON_CreateObject();
	cJSON_AddStringToObject(b, "type", "button");
	cJSON_AddItemToObject(b, "text", text_obj("plain_text", l));
	cJSON_AddStringToObject(b, "action_id", action_id);
	cJSON_AddStringToObject(b, "value", value);
	return b;
}

/* A context line (what is asked) and an actions block of buttons; NULL pieces are not
 * added. Returns the number of blocks added. */
static size_t add_buttons(cJSON *blocks, const char *caption, const char *block_id, cJSON *elements)
{
	size_t n = 0;
	if (cJSON_GetArraySize(elements) == 0) {
		cJSON_Delete(elements);
		return 0;
	}
	if (caption) {
		_cleanup_free_ char *md = slack_mrkdwn(caption);
		_cleanup_free_ char *t = truncate_utf8(md, CONTEXT_TEXT_MAX);
		cJSON *ctx = cJSON_CreateObject();
		cJSON_AddStringToObject(ctx, "type", "context");
		cJSON *el = cJSON_AddArrayToObject(ctx, "elements");
		cJSON_AddItemToArray(el, text_obj("mrkdwn", t));
		cJSON_AddItemToArray(blocks, ctx);
		n++;
	}
	cJSON *act = cJSON_CreateObject();
	cJSON_AddStringToObject(act, "type", "actions");
	cJSON_AddStringToObject(act, "block_id", block_id);
	cJSON_AddItemToObject(act, "elements", elements);
	cJSON_AddItemToArray(blocks, act);
	return n + 1;
}

/* One question's buttons, if it has a few fixed answers. */
static cJSON *question_buttons(const cJSON *q, const char *ref, long number)
{
	const char *kind = json_string(q, "kind");
	cJSON *el = cJSON_CreateArray();
	char qn[24];
	snprintf(qn, sizeof qn, "%ld", number);
	if (!kind)
		return el;
	if (STREQ(kind, "scale") || STREQ(kind, "nps")) {
		long min = STREQ(kind, "nps") ? 0 : json_long(q, "min", 1);
		long max = STREQ(kind, "nps") ? 10 : json_long(q, "max", 5);
		if (max < min || max - min + 1 > ACTIONS_MAX)
			return el;
		for (long v = min; v <= max; v++) {
			char val[24], aid[64];
			snprintf(val, sizeof val, "%ld", v);
			snprintf(aid, sizeof aid, "coco-q%ld-%ld", number, v);
			_cleanup_free_ char *bv = slack_button_value(ref, qn, val);
			if (bv)
				cJSON_AddItemToArray(el, button(val, aid, bv));
		}
	} else if (STREQ(kind, "choice")) {
		const cJSON *opts = cJSON_GetObjectItemCaseSensitive(q, "options");
		int n = cJSON_GetArraySize(opts);
		if (n > ACTIONS_MAX)
			return el;
		for (int i = 0; i < n; i++) {
			const cJSON *o = cJSON_GetArrayItem(opts, i);
			const char *text = cJSON_IsString(o) ? o->valuestring : json_string(o, "text");
			char letter[2] = {(char)('a' + i), 0};
			if (!text)
				continue;
			_cleanup_free_ char *label = xasprintf("%s) %s", letter, text);
			char aid[64];
			snprintf(aid, sizeof aid, "coco-q%ld-%s", number, letter);
			_cleanup_free_ char *bv = slack_button_value(ref, qn, letter);
			if (bv)
				cJSON_AddItemToArray(el, button(label, aid, bv));
		}
	}
	/* multi (a press would replace the earlier one) and text: answered by command. */
	return el;
}

static char *question_caption(const cJSON *q, long number)
{
	const char *text = json_string(q, "text");
	const char *lo = json_string(q, "min_label"), *hi = json_string(q, "max_label");
	const char *kind = json_string(q, "kind");
	if (kind && STREQ(kind, "scale") && lo && hi)
		return xasprintf("**%ld.** %s (%ld = %s, %ld = %s)", number, text ? text : "",
		                 json_long(q, "min", 1), lo, json_long(q, "max", 5), hi);
	return xasprintf("**%ld.** %s", number, text ? text : "");
}

cJSON *slack_blocks(const channel_msg *m)
{
	cJSON *blocks = cJSON_CreateArray();
	cJSON *actions = cJSON_CreateArray(); /* built first: the text gets the blocks left */
	const cJSON *prompt = m->prompt;
	const char *ref = m->conversation;

	const cJSON *qs = prompt ? cJSON_GetObjectItemCaseSensitive(prompt, "questions") : NULL;
	int nq = cJSON_GetArraySize(qs);
	for (int i = 0; i < nq && cJSON_GetArraySize(actions) + 2 <= BLOCKS_MAX - 1; i++) {
		const cJSON *q = cJSON_GetArrayItem(qs, i);
		if (!cJSON_IsObject(q))
			continue;
		long number = json_long(q, "number", i + 1);
		cJSON *el = question_buttons(q, ref, number);
		_cleanup_free_ char *cap = question_caption(q, number);
		char bid[48];
		snprintf(bid, sizeof bid, "coco-q%ld", number);
		add_buttons(actions, cap, bid, el);
	}
	const cJSON *ideas = prompt ? cJSON_GetObjectItemCaseSensitive(prompt, "ideas") : NULL;
	int ni = cJSON_GetArraySize(ideas);
	for (int start = 0; start < ni && cJSON_GetArraySize(actions) + 1 <= BLOCKS_MAX - 1;
	     start += ACTIONS_MAX) {
		cJSON *el = cJSON_CreateArray();
		for (int i = start; i < ni && i < start + ACTIONS_MAX; i++) {
			const cJSON *o = cJSON_GetArrayItem(ideas, i);
			const char *text = cJSON_IsString(o) ? o->valuestring : json_string(o, "text");
			long number = cJSON_IsObject(o) ? json_long(o, "number", i + 1) : i + 1;
			if (!text)
				continue;
			char val[24], aid[64], bid[48];
			snprintf(val, sizeof val, "%ld", number);
			snprintf(aid, sizeof aid, "coco-vote-%ld", number);
			snprintf(bid, sizeof bid, "coco-vote-%d", start / ACTIONS_MAX);
			_cleanup_free_ char *label = xasprintf("%ld. %s", number, text);
			_cleanup_free_ char *bv = slack_button_value(ref, "vote", val);
			if (bv)
				cJSON_AddItemToArray(el, button(label, aid, bv));
			if (i + 1 == ni || i + 1 == start + ACTIONS_MAX) {
				add_buttons(actions, start == 0 ? "Vote for an idea:" : NULL, bid, el);
				el = NULL;
			}
		}
		cJSON_Delete(el);
	}

	_cleanup_free_ char *text = slack_mrkdwn(m->markdown);
	size_t room = BLOCKS_MAX - (size_t)cJSON_GetArraySize(actions);
	add_sections(blocks, text, room);
	cJSON *b;
	while ((b = actions->child)) {
		cJSON_DetachItemViaPointer(actions, b);
		cJSON_AddItemToArray(blocks, b);
	}
	cJSON_Delete(actions);
	return blocks;
}

bool slack_is_ts(const char *s)
{
	if (!s || !isdigit((unsigned char)s[0]))
		return false;
	size_t a = strspn(s, "0123456789");
	if (s[a] != '.' || a > 20)
		return false;
	size_t b = strspn(s + a + 1, "0123456789");
	return b > 0 && b <= 20 && s[a + 1 + b] == 0;
}

bool slack_error_is_temporary(const char *error)
{
	static const char *const temporary[] = {
		"ratelimited", "rate_limited", "fatal_error", "internal_error",
		"service_unavailable", "request_timeout",
	};
	for (size_t i = 0; error && i < ELEMENTSOF(temporary); i++)
		if (STREQ(error, temporary[i]))
			return true;
	return false;
}

const char *slack_rejection_text(const char *reason)
{
	if (reason && strncmp(reason, "unknown sender", 14) == 0)
		return "coco does not know your Slack account, so nothing was recorded. If you "
		       "are taking part, ask the organisers to add your Slack id to the campaign.";
	if (reason && strstr(reason, "reply tag of member"))
		return "This button belongs to a message sent to someone else, so nothing was "
		       "recorded.";
	return "coco could not record this, so nothing was recorded. The organisers can see "
	       "why.";
}
