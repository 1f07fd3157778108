/* email/message: the email channel's mapping between the core's messages and mail; see
 * message.h. */
#define _GNU_SOURCE
#include "email/message.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "clock.h"
#include "email/auth-results.h"
#include "email/bounce.h"
#include "email/mime-raw.h"
#include "email/reply.h"
#include "mdtext.h"
#include "util.h"

static const config_key_def mail_keys[] = {
	{"From", CONFIG_VALUE_ADDRESS, true, "the sender address of outgoing mail; replies come back to From's local part + a per-member tag"},
	{"Name", CONFIG_VALUE_STRING, false, "the sender display name"},
};
const config_section_def email_section_mail = {"Mail", mail_keys, ELEMENTSOF(mail_keys)};

/* The length of the reply prefix s starts with ("Re: ", "RE:", "AW: ", "Re[2]: ", "Re : "),
 * 0 if none. The words mail clients put before a replied subject, ASCII case-insensitive:
 * Re (most), AW (German Outlook), SV (Danish, Norwegian, Swedish), VS (Finnish), Antw
 * (Dutch), Odp (Polish), Ynt (Turkish), Rif and R (Italian), Res (Portuguese), Réf
 * (French); never "Fwd:", which is part of what is answered. */
static size_t reply_prefix_len(const char *s)
{
	static const char *const words[] = {"re", "aw", "sv", "vs", "antw", "odp", "ynt",
	                                    "rif", "res", "r", "r\xc3\xa9" "f", "r\xc3\x89" "f"};
	for (size_t i = 0; i < ELEMENTSOF(words); i++) {
		size_t n = strlen(words[i]);
		if (strncasecmp(s, words[i], n) != 0)
			continue;
		const char *p = s + n;
		if (*p == '[' || *p == '(') { /* "Re[2]:", "Re(2):" */
			char close = *p == '[' ? ']' : ')';
			const char *q = p + 1;
			while (*q >= '0' && *q <= '9')
				q++;
			if (q == p + 1 || *q != close)
				continue;
			p = q + 1;
		}
		if (*p == ' ' && p[1] == ':') /* the French "Re :" */
			p++;
		if (*p != ':')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		return (size_t)(p - s);
	}
	return 0;
}

char *email_reply_subject(const char *subject)
{
	const char *p = subject ? subject : "";
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n, stripped = 0;
	while ((n = reply_prefix_len(p)) > 0) {
		p += n;
		stripped++;
	}
	return stripped ? xasprintf("Re: %s", p) : xstrdup(subject ? subject : "");
}

int email_compose(const coco_config *cfg, const channel_msg *m, char **ret, size_t *ret_len,
                  char **ret_message_id, char **ret_err)
{
	return email_compose_with(cfg, m, NULL, ret, ret_len, ret_message_id, ret_err);
}

int email_compose_with(const coco_config *cfg, const channel_msg *m, const char *one_click_base,
                       char **ret, size_t *ret_len, char **ret_message_id, char **ret_err)
{
	const char *from = config_get(cfg, "Mail", "From");
	if (!from) {
		*ret_err = xstrdup("no sender address: set From= in the [Mail] section");
		return -EINVAL;
	}
	if (!m->address) {
		*ret_err = xasprintf("member %s has no email address; add Email= to its [Member] "
		                     "section", m->member ? m->member : "(a room)");
		return -EINVAL;
	}
	_cleanup_free_ char *reply_to = m->conversation ? email_reply_to(from, m->conversation) : NULL;
	_cleanup_free_ char *message_id = m->conversation
	                                          ? email_message_id(from, m->id, m->conversation)
	                                          : xasprintf("%s%s", m->id, strrchr(from, '@') ?: "");
	/* List-Unsubscribe (RFC 2369, RFC 8058): the core's token in a mailto address and, when
	 * an ingress serves it, in a URL. */
	_cleanup_free_ char *unsub_mailto = NULL, *unsub_url = NULL;
	if (m->unsubscribe && email_is_ref(m->unsubscribe)) {
		unsub_mailto = email_unsub_address(from, m->unsubscribe);
		if (one_click_base && *one_click_base) {
			size_t n = strlen(one_click_base);
			while (n > 0 && one_click_base[n - 1] == '/')
				n--;
			unsub_url = xasprintf("%.*s/u/%s", (int)n, one_click_base, m->unsubscribe);
		}
	}
	/* Threading: the message answered. */
	char *references[2] = {m->in_reply_to, NULL};
	/* The text/plain part reads as the member wrote: no Markdown escapes in their words
	 * (trial 6: "\[see the mockup\](…)"), over SMTP and into the local outbox alike. The
	 * core's HTML part, rendered from the Markdown, keeps them inert. */
	_cleanup_free_ char *plain = md_plain(m->markdown ? m->markdown : "");
	/* An answer to a mail: one "Re: ", however many its subject had (trial 7: "Re: Re: my
	 * answer" to a member whose client stacked them, "Re: AW: …" to a German Outlook). */
	_cleanup_free_ char *subject = m->in_reply_to ? email_reply_subject(m->subject) : NULL;
	struct mail_outbound o = {
		.from = from,
		.from_name = config_get(cfg, "Mail", "Name"),
		.to = m->address,
		.to_name = m->name,
		.reply_to = reply_to,
		.subject = subject ? subject : m->subject ? m->subject : "",
		.message_id = message_id,
		.in_reply_to = m->in_reply_to,
		.references = m->in_reply_to ? references : NULL,
		.text = plain,
		.html = m->html,
		.date = (time_t)clock_now(),
		.list_unsubscribe = unsub_url,
		.list_unsubscribe_mailto = unsub_mailto,
	};
	char *text = NULL;
	int r = mail_build(&o, &text, NULL);
	if (r < 0) {
		*ret_err = xasprintf("could not compose the message (%s): a header field is "
		                     "missing or holds a line break or an unsafe address",
		                     strerror(-r));
		return r;
	}
	*ret_len = strlen(text);
	*ret = text;
	if (ret_message_id)
		*ret_message_id = TAKE_PTR(message_id);
	return 0;
}

static char *sha256_hex(const char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
		return NULL;
	char *s = xmalloc(2 * (size_t)mdlen + 1);
	for (unsigned i = 0; i < mdlen; i++) {
		s[2 * i] = hex[md[i] >> 4];
		s[2 * i + 1] = hex[md[i] & 15];
	}
	s[2 * mdlen] = '\0';
	return s;
}

/* a then b in a new string (xasprintf() without its format parsing, once per mail) */
static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = xmalloc(la + lb + 1);
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

static void push_unique(char ***v, const char *addr)
{
	for (char **p = *v; p && *p; p++)
		if (strcasecmp(*p, addr) == 0)
			return;
	strv_push(v, xstrdup(addr));
}

/* Delivered-To: fields (added by the MDA, the address the mail really reached, which may
 * carry the reply token when To: does not). The MIME parser does not expose them, so a
 * plain scan of the header section: unfolded, one bare or <>-enclosed address per field. */
static void add_delivered_to(char ***v, const char *data, size_t len)
{
	static const char field[] = "delivered-to:";
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((eol ? eol : end) - p);
		if (n == 0 || (n == 1 && p[0] == '\r'))
			break; /* the blank line ends the header section */
		if (n > sizeof(field) - 1 && strncasecmp(p, field, sizeof(field) - 1) == 0) {
			_cleanup_free_ char *val =
				xstrndup(p + sizeof(field) - 1, n - (sizeof(field) - 1));
			char *a = strstrip(val);
			size_t al = strlen(a);
			if (al >= 2 && a[0] == '<' && a[al - 1] == '>') {
				a[al - 1] = 0;
				a++;
			}
			if (strchr(a, '@') && !strpbrk(a, " \t<>\"\r"))
				push_unique(v, a);
		}
		if (!eol)
			break;
		p = eol + 1;
	}
}

/* A Return-Path field that is there but says nothing: no one to answer (mail_is_automatic()
 * already counts "<>"). */
static char *lower_dup(const char *s)
{
	char *d = xstrdup(s);
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p | 0x20);
	return d;
}

static bool empty_return_path(const mail_message *m)
{
	if (mail_header_count(m, "Return-Path") == 0) /* most mail: no copies made */
		return false;
	char **rp = mail_header_values(m, "Return-Path");
	bool empty = rp && rp[0] && rp[0][strspn(rp[0], " \t<>")] == 0;
	strv_free(rp);
	return empty;
}

email_inbound *email_inbound_free(email_inbound *e)
{
	if (!e)
		return NULL;
	free(e->key);
	free(e->from);
	free(e->subject);
	free(e->text);
	free(e->message_id);
	free(e->thread);
	free(e->trimmed);
	free((char *)e->bounce.address);
	free((char *)e->bounce.status);
	free((char *)e->bounce.diagnostic);
	free(e);
	return NULL;
}

int email_reply_extract(const mail_message *m, char **ret_kept, char **ret_trimmed)
{
	_cleanup_free_ char *kept = NULL, *trimmed = NULL;
	int r = reply_extract(mail_body(m), &kept, &trimmed);
	if (r < 0)
		return r;
	/* An HTML-only reply's quote was left out before the trimmer saw the text. */
	const char *cut = mail_body_cut(m);
	if (*cut) {
		char *both = *trimmed ? xasprintf("%s\n\n%s", trimmed, cut) : xstrdup(cut);
		free(trimmed);
		trimmed = both;
	}
	*ret_kept = TAKE_PTR(kept);
	if (ret_trimmed)
		*ret_trimmed = TAKE_PTR(trimmed);
	return 0;
}

int email_inbound_read(const coco_config *cfg, const char *data, size_t len,
                       const mail_message *m, email_inbound **ret)
{
	/* Same bytes, same key: a file dropped twice is recorded once. */
	_cleanup_free_ char *hex = mail_message_id(m) ? NULL : sha256_hex(data, len);
	if (!mail_message_id(m) && !hex)
		return -ENOMEM;
	email_inbound *e = xcalloc(1, sizeof *e);
	e->key = hex ? concat("mail:sha256:", hex) : concat("mail:", mail_message_id(m));
	e->from = xstrdup(mail_from_address(m));
	e->subject = xstrdup(mail_subject(m));
	if (mail_message_id(m))
		e->message_id = xstrdup(mail_message_id(m));
	if (mail_in_reply_to(m))
		e->thread = xstrdup(mail_in_reply_to(m));
	if (email_reply_extract(m, &e->text, &e->trimmed) < 0)
		e->text = xstrdup("");
	if (e->trimmed && !*e->trimmed) {
		free(e->trimmed);
		e->trimmed = NULL;
	}
	e->automatic = mail_is_automatic(m) || empty_return_path(m);
	const char *from = config_get(cfg, "Mail", "From");
	const char *our_at = from ? strrchr(from, '@') : NULL;
	const char *their_at = strrchr(e->from, '@');
	e->from_own_domain = our_at && their_at && strcasecmp(our_at, their_at) == 0;
	/* Whether a stranger may be answered: a From anyone can forge makes coco mail whoever
	 * it names (backscatter), so only when the admin wants it, and, when the site's server
	 * says who passed (AuthServId=), only to senders it vouches for. */
	const char *authserv = config_get(cfg, "Mail", "AuthServId");
	e->sender_verified = authserv && mail_sender_authenticated(m, authserv, NULL);
	e->no_stranger_reply = !config_get_bool(cfg, "Mail", "ReplyToStrangers", authserv != NULL) ||
	                       (authserv && !e->sender_verified);

	/* A bounce names the message that failed: that message's id is where coco's
	 * reference is, not this mail's own In-Reply-To. */
	mail_bounce_info *b = NULL;
	if (mail_bounce(m, &b) > 0) {
		const mail_bounce_recipient *r = &b->recipients[0];
		e->is_bounce = e->automatic = true;
		e->bounce.address = r->address ? lower_dup(r->address) : xstrdup("");
		e->bounce.status = r->status ? xstrdup(r->status) : NULL;
		e->bounce.diagnostic = r->diagnostic ? xstrdup(r->diagnostic) : NULL;
		if (b->original_message_id) {
			free(e->thread);
			e->thread = xstrdup(b->original_message_id);
			e->has_ref = from && email_find_ref(from, NULL, b->original_message_id, NULL,
			                                    e->ref) > 0;
		}
		mail_bounce_info_free(b);
		*ret = e;
		return 0;
	}
	mail_bounce_info_free(b);

	/* Where the reference may be: the recipients (with Delivered-To:), the ids answered. */
	char **to = NULL;
	for (char *const *a = mail_to(m); a && *a; a++)
		push_unique(&to, *a);
	for (char *const *a = mail_cc(m); a && *a; a++)
		push_unique(&to, *a);
	add_delivered_to(&to, data, len);
	/* A mail to an unsubscribe address is that request, whatever it says. */
	e->has_unsub = from && email_find_unsub(from, (const char *const *)to, e->unsub) > 0;
	e->has_ref = !e->has_unsub && from && email_find_ref(from, (const char *const *)to, mail_in_reply_to(m),
	                                    (const char *const *)mail_references(m), e->ref) > 0;
	strv_free(to);
	*ret = e;
	return 0;
}

void email_inbound_msg(const email_inbound *e, const char *chan, inbound_msg *ret)
{
	*ret = (inbound_msg){
		.key = e->key,
		.channel = chan,
		.from = e->from,
		.conversation = e->has_ref ? e->ref : NULL,
		.thread = e->thread,
		.remote_id = e->message_id,
		.subject = e->subject,
		.text = e->text,
		.automatic = e->automatic,
		.trimmed = e->trimmed,
		.bounce = e->is_bounce ? &e->bounce : NULL,
		.from_own_domain = e->from_own_domain,
		.unsubscribe = e->has_unsub ? e->unsub : NULL,
		.sender_verified = e->sender_verified,
		.no_stranger_reply = e->no_stranger_reply,
	};
}
