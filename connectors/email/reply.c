/* reply: see reply.h. Each line gets a class; a handful of rules over the sequence of classes
 * then decide what is new text. Every test below is a bounded left-to-right scan, never a
 * regular expression, so hostile input cannot make it slow. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "email/reply.h"
#include "email/reply-private.h"

#define W REPLY_WORD

enum line_class {
	LINE_EMPTY,
	LINE_TEXT,
	LINE_QUOTE,
	LINE_MARKER, /* attribution, forward/original-message marker, header block */
	LINE_HEADER, /* candidate "From:"-style line, resolved into MARKER or TEXT */
	LINE_DELIM,  /* signature delimiter: everything after it goes */
	LINE_SIG,    /* "Sent from my phone" style line, removed wherever it is */
	LINE_JOINED, /* continuation of a wrapped attribution merged into the line above */
	LINE_SIGNOFF, /* "Best regards," and the name lines below it, at the end of the text */
};

/* Name, role, company: at most this many lines under a sign-off. */
#define SIGNOFF_TAIL_MAX 5

struct line {
	const char *p;
	size_t len;
	char *own; /* rewritten text (joined attribution, normalised quote), or NULL */
	enum line_class cls;
	bool fence;
	signed char named; /* has_digit_or_at() of p[0..len): 1, 0, or -1 not known yet */
	signed char attribution; /* is_attribution() of p[0..len), likewise */
};

/* Attribution and header lines are short; longer lines are never inspected for them, which
 * also caps the work per line. */
#define ATTRIBUTION_MAX 400
#define JOIN_LINE_MAX 300
#define JOIN_WINDOW 4
#define SIGNATURE_MAX 150

/* ' ', '\t', '\n', '\v', '\f', '\r': one bit test (every classifier trims its line). */
static bool is_ws(char c)
{
	unsigned char u = (unsigned char)c;
	return u <= ' ' && ((UINT64_C(1) << u) & (UINT64_C(1) << ' ' | UINT64_C(0x3e00))) != 0;
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_ws(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_ws((*s)[*len - 1]))
		(*len)--;
}

static bool has_prefix_ci(const char *s, size_t len, const char *prefix)
{
	return reply_prefix_fold(s, len, prefix);
}

static bool has_suffix_ci(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && strncasecmp(s + len - n, suffix, n) == 0;
}

static bool contains_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return true;
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One of '<', '>', '@' (or the NUL byte, as strchr() on "<>@" finds it), without a call */
static bool is_addr_char(char c)
{
	return c == '<' || c == '>' || c == '@' || c == '\0';
}

/* Whitespace, and invisible characters some clients leave on a line of their own
 * (U+00A0, U+200B, U+FEFF, Gmail's U+1427 tracking mark). */
static bool is_blank(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const unsigned char *u = (const unsigned char *)s + i;
		if (is_ws(s[i]))
			i++;
		else if (len - i >= 2 && u[0] == 0xc2 && u[1] == 0xa0)
			i += 2;
		else if (len - i >= 3 && u[0] == 0xe2 && u[1] == 0x80 && u[2] == 0x8b)
			i += 3;
		else if (len - i >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf)
			i += 3;
		else if (len - i >= 3 && u[0] == 0xe1 && u[1] == 0x90 && u[2] == 0xa7)
			i += 3;
		else
			return false;
	}
	return true;
}

/* Verbs of attribution lines ("X wrote:") in the languages seen in real replies, lower case. */
static const struct reply_word attribution_verbs[] = {
    W("wrote"), W("writes"), W("schrieb"), W("schreef"), W("geschreven"), W("a écrit"),
    W("escribió"), W("escreveu"), W("skrev"), W("skrivit"), W("kirjoitti"), W("napisał"),
    W("написал"), W("написала"), W("пише"), W("пишет"), W("ha scritto"), W("scrisse"),
    W("kirjutas"), W("wrote ----"),
};
/* CJK verbs are not separated by spaces. find_verb() looks for them only where a byte is one
 * of their lead bytes, 0xe5 (写, 寫) and 0xe3 (の): a verb added here may need its own. */
static const struct reply_word attribution_verbs_cjk[] = {W("写道"), W("寫道"), W("のメッセージ")};

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 0x20) : c;
}

/* strncasecmp() over n bytes known to be there: ASCII letters fold, other bytes compare as
 * they are. */
static bool equal_ascii_ci(const char *s, const char *word, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower((unsigned char)s[i]) != ascii_lower((unsigned char)word[i]))
			return false;
	return true;
}

static bool verb_boundary_after(const char *s, size_t len, size_t i)
{
	return i >= len || is_ws(s[i]) || s[i] == ':' || s[i] == '(' || s[i] == ',';
}

/* The first bytes of attribution_verbs (all lower case), built once. */
static bool verb_lead[256];
static pthread_once_t verb_lead_once = PTHREAD_ONCE_INIT;

static void verb_lead_build(void)
{
	for (size_t v = 0; v < ELEMENTSOF(attribution_verbs); v++)
		verb_lead[(unsigned char)attribution_verbs[v].s[0]] = true;
}

/* Earliest attribution verb in s (word-bounded), as its offset, or -1. Most positions are
 * ruled out by one byte: a CJK verb's lead byte, or a letter after white space that starts
 * a verb. */
static long find_verb(const char *s, size_t len)
{
	pthread_once(&verb_lead_once, verb_lead_build);
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0xe5 || c == 0xe3)
			for (size_t v = 0; v < ELEMENTSOF(attribution_verbs_cjk); v++) {
				const struct reply_word *w = &attribution_verbs_cjk[v];
				if (i + w->len <= len && memcmp(s + i, w->s, w->len) == 0)
					return (long)i;
			}
		if (!is_ws(s[i - 1]))
			continue;
		c = ascii_lower(c);
		if (!verb_lead[c])
			continue;
		for (size_t v = 0; v < ELEMENTSOF(attribution_verbs); v++) {
			const struct reply_word *w = &attribution_verbs[v];
			if ((unsigned char)w->s[0] == c && i + w->len <= len &&
			    equal_ascii_ci(s + i, w->s, w->len) &&
			    verb_boundary_after(s, len, i + w->len))
				return (long)i;
		}
	}
	return -1;
}

/* "2016-03-03 17:21 GMT+01:00 Some One", "2013/7/20 sam <info@example.org>": Gmail's
 * attribution in some locales, with no verb at all. */
static bool is_date_attribution(const char *s, size_t len)
{
	size_t i = 0;
	for (; i < 4; i++)
		if (i >= len || !is_digit(s[i]))
			return false;
	for (int part = 0; part < 2; part++) {
		if (i >= len || (s[i] != '-' && s[i] != '/' && s[i] != '.'))
			return false;
		i++;
		size_t d = 0;
		while (i < len && is_digit(s[i]) && d < 3) {
			i++;
			d++;
		}
		if (d == 0 || d > 2)
			return false;
	}
	if (i >= len || (s[i] != ' ' && s[i] != ','))
		return false;
	if (s[len - 1] == '<' || s[len - 1] == ',')
		return false;
	return s[len - 1] == ':' || s[len - 1] == '>' || contains_ci(s, len, "GMT");
}

/* A digit or an '@' in s[0..len): an attribution names someone with a date or an address
 * (is_attribution()), so a text without either is none, whatever its verb. */
static bool has_digit_or_at(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (is_digit(s[i]) || s[i] == '@')
			return true;
	return false;
}

/* "On <date>, <person> wrote:" and its localised forms, already joined onto one line. */
static bool is_attribution(const char *s, size_t len)
{
	trim(&s, &len);
	if (len == 0 || len > ATTRIBUTION_MAX || is_addr_char(s[0]))
		return false;
	if (is_date_attribution(s, len))
		return true;

	/* It must end the way attributions end: a colon (ASCII or full-width), or a dashed
	 * frame like Zoho's "---- On … wrote ----". */
	size_t end = len, dashes = 0;
	while (end > 0 && (s[end - 1] == '*' || is_ws(s[end - 1])))
		end--;
	while (end > 0 && s[end - 1] == '-') {
		end--;
		dashes++;
	}
	if (dashes < 2) {
		end += dashes;
		if (end > 0 && s[end - 1] == ':')
			end--;
		else if (end >= 3 && memcmp(s + end - 3, "\xef\xbc\x9a", 3) == 0)
			end -= 3;
		else
			return false;
	}
	/* French puts a (often non-breaking) space before the colon. */
	for (;;) {
		if (end > 0 && is_ws(s[end - 1]))
			end--;
		else if (end >= 2 && (unsigned char)s[end - 2] == 0xc2 &&
			 (unsigned char)s[end - 1] == 0xa0)
			end -= 2;
		else
			break;
	}

	/* What precedes the verb must hold a digit or an '@' (below): without one anywhere, no
	 * verb needs looking for. */
	if (!has_digit_or_at(s, end))
		return false;
	long v = find_verb(s, end);
	if (v <= 0)
		return false;

	/* What precedes the verb names someone with a date or an address ("I wrote:" in a
	 * sentence has neither), and has no '>' closing an address opened on an earlier line. */
	const char *pre = s;
	size_t plen = (size_t)v;
	trim(&pre, &plen);
	if (plen == 0)
		return false;
	int depth = 0;
	bool named = false;
	for (size_t i = 0; i < plen; i++) {
		if (pre[i] == '<')
			depth++;
		else if (pre[i] == '>' && --depth < 0)
			return false;
		if (is_digit(pre[i]) || pre[i] == '@')
			named = true;
	}
	return named;
}

/* is_attribution() of a line as written, asked once: join_attributions() asks it of the lines
 * that end like one and of those above them, and classify() again of every unquoted line. */
static bool line_is_attribution(struct line *l)
{
	if (l->attribution < 0)
		l->attribution = is_attribution(l->p, l->len);
	return l->attribution;
}

/* "-----Original Message-----", "---------- Forwarded message ---------",
 * "Begin forwarded message:" and friends. */
static bool is_forward_marker(const char *s, size_t len)
{
	static const char *const framed_words[] = {
	    "original",	 "forward",   "message",	"nachricht", "mensaje",
	    "messaggio", "bericht",   "meddelande",	"mensagem",  "wiadomo",
	    "viesti",	 "сообщение", "weitergeleitet",
	};
	static const struct reply_word openers[] = {
	    W("begin forwarded message"), W("anfang der weitergeleiteten"), W("début du message"),
	    W("inizio messaggio inoltrato"), W("comienzo del mensaje reenviado"),
	    W("início da mensagem reencaminhada"), W("forwarded message"),
	};

	trim(&s, &len);
	if (len == 0 || len > ATTRIBUTION_MAX)
		return false;
	while (len > 0 && (s[0] == '*' || s[0] == '_' || is_ws(s[0]))) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == '*' || s[len - 1] == '_' || is_ws(s[len - 1])))
		len--;

	if (len >= 4 && s[0] == '-' && s[1] == '-' && s[len - 1] == '-' && s[len - 2] == '-') {
		const char *m = s;
		size_t mlen = len;
		while (mlen > 0 && (m[0] == '-' || is_ws(m[0]))) {
			m++;
			mlen--;
		}
		while (mlen > 0 && (m[mlen - 1] == '-' || is_ws(m[mlen - 1])))
			mlen--;
		for (size_t i = 0; i < ELEMENTSOF(framed_words); i++)
			if (contains_ci(m, mlen, framed_words[i]))
				return true;
		return false;
	}
	/* "***" or "___" alone is nothing once its frame is stripped (issue 8.9) */
	if (len == 0 || s[len - 1] != ':')
		return false;
	unsigned char lead = reply_fold_lead(s, len);
	for (size_t i = 0; i < ELEMENTSOF(openers); i++)
		if (reply_prefix_word(s, len, lead, &openers[i]))
			return true;
	return false;
}

/* "--", "-- ", a rule of underscores (Outlook) or of five or more dashes. Markdown's "---"
 * and "***" rules and "===" headings are left alone: people write those in answers. */
static bool is_delimiter(const char *s, size_t len)
{
	trim(&s, &len);
	if (len == 2 && s[0] == '-' && s[1] == '-')
		return true;
	if (len < 2 || (s[0] != '_' && s[0] != '-'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (s[i] != s[0])
			return false;
	return s[0] == '_' ? len >= 2 : len >= 5;
}

/* Mobile-client signatures ("Sent from my iPhone"), by their start. */
static const struct reply_word signature_prefixes[] = {
    W("sent from "), W("sent via "), W("sent with "), W("sent using "), W("sent by "),
    W("sent on my "), W("envoyé depuis "), W("envoyé de mon "), W("von meinem "),
    W("gesendet von "), W("diese nachricht wurde von meinem "), W("verzonden met "),
    W("verzonden vanaf "), W("verstuurd vanaf "), W("verstuurd met "), W("sendt fra "),
    W("skickat från "), W("lähetetty "), W("enviado desde "), W("enviado do meu "),
    W("enviado de mi "), W("inviato da "), W("inviato dal mio "), W("wysłane z "),
    W("отправлено с "), W("get outlook for "), W("get [outlook for "), W("从我的"), W("從我的"),
    W("發自我的"),
};

/* The first bytes of signature_prefixes (all lower case), built once. */
static bool sig_lead[256];
static pthread_once_t sig_lead_once = PTHREAD_ONCE_INIT;

static void sig_lead_build(void)
{
	for (size_t i = 0; i < ELEMENTSOF(signature_prefixes); i++)
		sig_lead[(unsigned char)signature_prefixes[i].s[0]] = true;
}

/* Mobile-client signatures: removed wherever they sit in the reply. */
static bool is_signature(const char *s, size_t len)
{
	trim(&s, &len);
	while (len > 0 && (s[0] == '(' || s[0] == '<' || is_ws(s[0]))) {
		s++;
		len--;
	}
	if (len == 0 || len > SIGNATURE_MAX)
		return false;
	/* Most lines start with a byte no prefix starts with: one look rules them out. */
	pthread_once(&sig_lead_once, sig_lead_build);
	unsigned char lead = reply_fold_lead(s, len);
	for (size_t i = 0; sig_lead[lead] && i < ELEMENTSOF(signature_prefixes); i++)
		if (reply_prefix_word(s, len, lead, &signature_prefixes[i]))
			return true;
	/* Short forms only: "From my iPhone 6", "Someone from mobile". Longer lines starting
	 * "From my …" are sentences. */
	if (len <= 30 && has_prefix_ci(s, len, "from my "))
		return true;
	if (len <= 40 &&
	    (has_suffix_ci(s, len, " from mobile") || has_suffix_ci(s, len, " from my phone")))
		return true;
	return false;
}

/* Header names of the blocks mail clients put above a quoted message: the sender's, which
 * opens a block, and the others. */
static const struct reply_word header_from_names[] = {
    W("from"), W("von"), W("de"), W("da"), W("från"), W("van"), W("od"), W("от"),
    W("lähettäjä"), W("fra"),
};
static const struct reply_word header_names[] = {
    W("sent"), W("to"), W("cc"), W("bcc"), W("subject"), W("date"), W("reply-to"),
    W("gesendet"), W("an"), W("betreff"), W("datum"), W("kopie"), W("enviado"), W("para"),
    W("asunto"), W("fecha"), W("data"), W("a"), W("oggetto"), W("inviato"), W("risposta"),
    W("skickat"), W("till"), W("ämne"), W("päivämäärä"), W("kopia"), W("envoyé"), W("à"),
    W("objet"), W("verzonden"), W("aan"), W("onderwerp"), W("wysłano"), W("do"), W("temat"),
    W("отправлено"), W("кому"), W("тема"), W("дата"), W("lähetetty"), W("vastaanottaja"),
    W("aihe"), W("sendt"), W("til"), W("emne"), W("assunto"), W("enviada"), W("cc"),
};

/* The first bytes of both lists, built once: "1: 4", "idea: x", "Note: y" … have a colon
 * early too, and most of them are ruled out by their first byte instead of 58 compares. */
static bool header_lead[256];
static pthread_once_t header_lead_once = PTHREAD_ONCE_INIT;

static void header_lead_build(void)
{
	for (size_t i = 0; i < ELEMENTSOF(header_from_names); i++)
		header_lead[(unsigned char)header_from_names[i].s[0]] = true;
	for (size_t i = 0; i < ELEMENTSOF(header_names); i++)
		header_lead[(unsigned char)header_names[i].s[0]] = true;
}

/* "From: x", "*Sent:* y", "Betreff: z" … as Outlook and webmails put above a quoted
 * message. Sets *ret_from when it is the sender line that opens such a block. */
static bool is_header(const char *s, size_t len, bool *ret_from)
{
	const struct reply_word *const from_names = header_from_names;
	const struct reply_word *const names = header_names;

	trim(&s, &len);
	while (len > 0 && s[0] == '*') {
		s++;
		len--;
	}
	size_t colon = 0;
	while (colon < len && colon < 30 && s[colon] != ':')
		colon++;
	if (colon >= len || s[colon] != ':' || colon == 0)
		return false;
	if (colon + 1 < len && !is_ws(s[colon + 1]) && s[colon + 1] != '*')
		return false;
	size_t nlen = colon;
	while (nlen > 0 && (is_ws(s[nlen - 1]) || s[nlen - 1] == '*'))
		nlen--;
	unsigned char lead = reply_fold_lead(s, nlen);
	pthread_once(&header_lead_once, header_lead_build);
	if (!header_lead[lead])
		return false;
	for (size_t i = 0; i < ELEMENTSOF(header_from_names); i++)
		if (reply_equal_word(s, nlen, lead, &from_names[i])) {
			*ret_from = true;
			return true;
		}
	for (size_t i = 0; i < ELEMENTSOF(header_names); i++)
		if (reply_equal_word(s, nlen, lead, &names[i])) {
			*ret_from = false;
			return true;
		}
	return false;
}

static const char *line_text(const struct line *l, size_t *ret_len)
{
	if (l->own) {
		*ret_len = strlen(l->own);
		return l->own;
	}
	*ret_len = l->len;
	return l->p;
}

static bool starts_with_quote(const struct line *l)
{
	size_t i = 0;
	while (i < l->len && (l->p[i] == ' ' || l->p[i] == '\t'))
		i++;
	return i < l->len && l->p[i] == '>';
}

/* Wrapped attributions ("On …, X <x@y>\nwrote:"): merge lines s..e into one line at s when
 * together they form an attribution and e alone does not. The shortest window wins, so a
 * sentence above the attribution is never swallowed. */
static void join_attributions(struct line *lines, size_t n)
{
	size_t floor = 0;

	for (size_t e = 0; e < n; e++) {
		struct line *le = &lines[e];
		if (le->fence || le->len > JOIN_LINE_MAX)
			continue;
		const char *s = le->p;
		size_t len = le->len;
		trim(&s, &len);
		if (len == 0)
			continue;
		bool ends = s[len - 1] == ':' || s[len - 1] == '-' ||
			    (len >= 3 && memcmp(s + len - 3, "\xef\xbc\x9a", 3) == 0);
		if (!ends || (!starts_with_quote(le) && line_is_attribution(le)))
			continue;

		for (size_t st = e; st > floor && e - st < JOIN_WINDOW; st--) {
			size_t start = st - 1;
			struct line *ls = &lines[start];
			const char *f = ls->p;
			size_t flen = ls->len;
			trim(&f, &flen);
			if (flen == 0)
				continue;
			if (ls->fence || ls->len > JOIN_LINE_MAX || is_addr_char(f[0]))
				continue;
			/* An answer is never a piece of someone's attribution: "1: 4" above
			 * "Coco\nwrote:" would lend it the digits that make it look dated. */
			if (reply_is_answer_like(ls->p, ls->len))
				break;

			/* Never reach over a quote, a complete attribution or a line that
			 * ends like one: those are not wrapped pieces. */
			bool ok = true;
			for (size_t k = start; k < e; k++) {
				const char *t = lines[k].p;
				size_t tlen = lines[k].len;
				trim(&t, &tlen);
				if (starts_with_quote(&lines[k]) || lines[k].len > JOIN_LINE_MAX ||
				    lines[k].fence || (tlen > 0 && t[tlen - 1] == ':'))
					ok = false;
			}
			if (!ok || line_is_attribution(ls))
				break;
			/* The joined text is an attribution only with a digit or an '@' in it
			 * (is_attribution()): a window without one is not joined to find out. */
			bool named = false;
			for (size_t k = start; k <= e && !named; k++) {
				if (lines[k].named < 0)
					lines[k].named = has_digit_or_at(lines[k].p, lines[k].len);
				named = lines[k].named;
			}
			if (!named)
				continue;

			_cleanup_(strbuf_done) strbuf b = {};
			for (size_t k = start; k <= e; k++) {
				const char *t = lines[k].p;
				size_t tlen = lines[k].len;
				trim(&t, &tlen);
				if (tlen == 0)
					continue;
				if (b.len > 0)
					strbuf_putc(&b, ' ');
				strbuf_add(&b, t, tlen);
			}
			if (!is_attribution(b.s, b.len))
				continue;

			ls->own = strbuf_steal(&b);
			ls->cls = LINE_MARKER;
			for (size_t k = start + 1; k <= e; k++)
				lines[k].cls = LINE_JOINED;
			floor = e + 1;
			break;
		}
	}
}

/* Quote prefixes other than '>' ("| ", "C> ", "Richard> ") become '>'. Returns the
 * de-quoted content through ret_*; false when the line is not a quote. */
static bool normalise_quote(struct line *l, const char **ret_rest, size_t *ret_rest_len)
{
	const char *s = l->p;
	size_t len = l->len, i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < len && s[i] == '>') {
		/* already a quote */
	} else if (i == 0 && len > 0 && s[0] == '|' && (len == 1 || s[1] == ' ') &&
		   !(len > 1 && s[len - 1] == '|')) {
		/* "| quoted", but not a Markdown table row "| a | b |" */
		l->own = xasprintf(">%.*s", (int)(len - 1), s + 1);
	} else {
		size_t w = 0;
		while (w < len && w < 16 &&
		       ((s[w] >= 'A' && s[w] <= 'Z') || (s[w] >= 'a' && s[w] <= 'z')))
			w++;
		if (w == 0 || w >= len || s[w] != '>' || (w + 1 < len && s[w + 1] != ' '))
			return false;
		l->own = xasprintf(">%.*s", (int)(len - w - 1), s + w + 1);
	}

	const char *t;
	size_t tlen;
	t = line_text(l, &tlen);
	size_t j = 0;
	while (j < tlen && (t[j] == '>' || t[j] == ' ' || t[j] == '\t'))
		j++;
	*ret_rest = t + j;
	*ret_rest_len = tlen - j;
	return true;
}

/* A sign-off ends the text when something was written above it and below it come at most a
 * few name lines, then nothing but blanks, quotes, markers or the end: the sign-off and the
 * name lines go. Anywhere else ("Regards to the team" is not one, but "Cheers" mid-text can
 * be) it is text. */
static void resolve_signoffs(struct line *lines, size_t n)
{
	bool text_above = false;
	for (size_t i = 0; i < n; i++) {
		if (lines[i].cls == LINE_TEXT)
			text_above = true;
		if (lines[i].cls != LINE_SIGNOFF)
			continue;
		size_t k = i + 1, names = 0;
		bool ok = text_above;
		for (; ok && k < n; k++) {
			enum line_class c = lines[k].cls;
			if (c == LINE_EMPTY || c == LINE_SIG)
				continue;
			if (c != LINE_TEXT)
				break;
			if (++names > SIGNOFF_TAIL_MAX || lines[k].fence ||
			    !reply_is_name_line(lines[k].p, lines[k].len))
				ok = false;
		}
		if (!ok) {
			lines[i].cls = LINE_TEXT;
			text_above = true;
			continue;
		}
		for (size_t j = i + 1; j < k; j++)
			if (lines[j].cls == LINE_TEXT)
				lines[j].cls = LINE_SIGNOFF;
		i = k - 1;
	}
}

static void classify(struct line *lines, size_t n, bool drop_signoffs)
{
	for (size_t i = 0; i < n; i++) {
		struct line *l = &lines[i];
		const char *rest;
		size_t rest_len;
		bool from;

		if (l->cls == LINE_JOINED || l->cls == LINE_MARKER)
			continue;
		if (l->fence)
			l->cls = LINE_TEXT;
		else if (is_blank(l->p, l->len))
			l->cls = LINE_EMPTY;
		else if (normalise_quote(l, &rest, &rest_len)) {
			if (is_blank(rest, rest_len))
				l->cls = LINE_EMPTY;
			else if (is_attribution(rest, rest_len) ||
				 is_forward_marker(rest, rest_len))
				l->cls = LINE_MARKER;
			else
				l->cls = LINE_QUOTE;
		} else if (is_delimiter(l->p, l->len))
			l->cls = LINE_DELIM;
		else if (is_signature(l->p, l->len))
			l->cls = LINE_SIG;
		else if (reply_is_signoff(l->p, l->len))
			l->cls = LINE_SIGNOFF;
		else if (line_is_attribution(l) || is_forward_marker(l->p, l->len))
			l->cls = LINE_MARKER;
		else if (is_header(l->p, l->len, &from))
			l->cls = LINE_HEADER;
		else
			l->cls = LINE_TEXT;
	}

	/* A header block opens with the sender line and has at least one more header; a
	 * folded value ("Subject: a\nb\nTo: …") may sit between two headers. */
	for (size_t i = 0; i < n; i++) {
		bool from = false;
		if (lines[i].cls != LINE_HEADER)
			continue;
		(void)is_header(lines[i].p, lines[i].len, &from);
		size_t last = i, count = 1, k = i + 1;
		while (from && k < n) {
			if (lines[k].cls == LINE_HEADER) {
				count++;
				last = k++;
			} else if (lines[k].cls == LINE_TEXT && k + 1 < n &&
				   lines[k + 1].cls == LINE_HEADER)
				k++;
			else
				break;
		}
		if (count >= 2) {
			for (size_t j = i; j <= last; j++)
				lines[j].cls = LINE_MARKER;
			i = last;
		} else
			lines[i].cls = LINE_TEXT;
	}

	/* Gmail's attribution in some locales has no verb ("пн, 3 июн. 2024 г. в 09:00, Coco
	 * <coco@example.org>:"), nor have Yandex's ("01.12.2026, 09:00, \"Coco\" <…>:") and
	 * Mail.ru's ("Вторник, 1 декабря 2026, 9:00 +03:00 от Coco <…>:"): a dated line with an
	 * address, ending in ':', above a quote (blank lines between) is one too. */
	for (size_t i = 0; i + 1 < n; i++) {
		const char *t = lines[i].p;
		size_t tlen = lines[i].len;
		trim(&t, &tlen);
		size_t nx = i + 1;
		while (nx + 1 < n && lines[nx].cls == LINE_EMPTY && nx - i < 3)
			nx++;
		if (lines[i].cls != LINE_TEXT || lines[nx].cls != LINE_QUOTE || tlen == 0 ||
		    tlen > ATTRIBUTION_MAX || t[tlen - 1] != ':' || reply_is_answer_like(t, tlen))
			continue;
		const char *lt = memchr(t, '<', tlen);
		bool dated = false;
		for (size_t k = 0; k < tlen && !dated; k++)
			dated = is_digit(t[k]);
		if (dated && lt && memchr(lt, '@', tlen - (size_t)(lt - t)) &&
		    memchr(lt, '>', tlen - (size_t)(lt - t)))
			lines[i].cls = LINE_MARKER;
	}

	if (drop_signoffs)
		resolve_signoffs(lines, n);
	else
		for (size_t i = 0; i < n; i++)
			if (lines[i].cls == LINE_SIGNOFF)
				lines[i].cls = LINE_TEXT;
}

/* The rules work on the list of surviving line numbers. */
struct seq {
	size_t *v;
	size_t m;
	const struct line *lines;
};

static enum line_class cls_at(const struct seq *q, size_t pos)
{
	return q->lines[q->v[pos]].cls;
}

static void drop_class(struct seq *q, enum line_class c)
{
	size_t w = 0;
	for (size_t r = 0; r < q->m; r++)
		if (cls_at(q, r) != c)
			q->v[w++] = q->v[r];
	q->m = w;
}

/* Previous non-empty position before pos, or -1. */
static long prev_nonempty(const struct seq *q, size_t pos)
{
	while (pos > 0) {
		pos--;
		if (cls_at(q, pos) != LINE_EMPTY)
			return (long)pos;
	}
	return -1;
}

static void apply_rules(struct seq *q, bool answer)
{
	/* 1. A signature delimiter ends the reply. */
	for (size_t p = 0; p < q->m; p++)
		if (cls_at(q, p) == LINE_DELIM) {
			q->m = p;
			break;
		}

	/* 2. Mobile signatures go wherever they are, and so does a sign-off with its name. */
	drop_class(q, LINE_SIG);
	drop_class(q, LINE_SIGNOFF);

	/* 3. Bottom-posted reply: markers, quotes and blanks, then only text to the end. */
	if (q->m > 0 && cls_at(q, 0) == LINE_MARKER) {
		size_t t = 0;
		while (t < q->m && cls_at(q, t) != LINE_TEXT)
			t++;
		bool tail_text = t < q->m;
		for (size_t p = t; p < q->m && tail_text; p++)
			if (cls_at(q, p) != LINE_TEXT && cls_at(q, p) != LINE_EMPTY)
				tail_text = false;
		if (tail_text) {
			memmove(q->v, q->v + t, (q->m - t) * sizeof(size_t));
			q->m -= t;
		}
	}

	/* 4. Text, then a marker with no quote anywhere after it: the rest is the earlier
	 * message pasted without quoting. Cut after the text. */
	long last_quote = -1;
	for (size_t p = 0; p < q->m; p++)
		if (cls_at(q, p) == LINE_QUOTE)
			last_quote = (long)p;
	for (size_t p = (size_t)(last_quote + 1); p < q->m; p++) {
		if (cls_at(q, p) != LINE_MARKER)
			continue;
		long j = prev_nonempty(q, p);
		if (j >= 0 && cls_at(q, (size_t)j) == LINE_TEXT) {
			q->m = (size_t)j + 1;
			break;
		}
	}

	/* 5. Text, then a marker followed by quotes and at most a few lines of text: those
	 * lines are most likely the quoted message's own signature. */
	for (size_t p = 0; p < q->m; p++) {
		if (cls_at(q, p) != LINE_MARKER)
			continue;
		long j = prev_nonempty(q, p);
		if (j < 0 || cls_at(q, (size_t)j) != LINE_TEXT)
			continue;
		size_t f = p + 1;
		while (f < q->m && cls_at(q, f) != LINE_TEXT)
			f++;
		bool ok = true;
		size_t texts = 0;
		for (size_t r = f; r < q->m; r++) {
			const struct line *l = &q->lines[q->v[r]];
			if (cls_at(q, r) == LINE_TEXT) {
				texts++;
				/* an answer below an inline quote is the member's */
				if (reply_is_answer_like(l->p, l->len))
					ok = false;
			} else if (cls_at(q, r) != LINE_EMPTY)
				ok = false;
		}
		if (ok && texts < 7) {
			q->m = (size_t)j + 1;
			break;
		}
	}

	/* 6. Quotes after the last text line are the message replied to. */
	for (size_t p = q->m; p > 0; p--) {
		enum line_class c = cls_at(q, p - 1);
		if (c == LINE_TEXT) {
			q->m = p;
			break;
		}
		if (c != LINE_EMPTY && c != LINE_QUOTE)
			break;
	}

	/* 8. An answer needs a line of the member's own: a reply with nothing typed above the
	 * quote (or typed into the quote) keeps none of the quoted message, which holds what
	 * coco sent them, personal links included. (reply_trim() keeps a lone quote.) */
	bool own = !answer;
	for (size_t p = 0; p < q->m && !own; p++)
		own = cls_at(q, p) == LINE_TEXT;
	if (!own)
		q->m = 0;

	/* 7. Markers left between pieces of text are dropped on their own. */
	drop_class(q, LINE_MARKER);
}

static bool line_is_empty(const struct line *l, bool bare_quotes)
{
	size_t len;
	const char *t = line_text(l, &len);
	return is_blank(t, len) || (bare_quotes && l->cls == LINE_EMPTY);
}

/* Join lines with '\n', dropping empty lines at both ends (with bare_quotes, also lines
 * holding nothing but quote marks) and trailing whitespace. */
static char *join_lines(const struct line *lines, const size_t *v, size_t m, bool bare_quotes)
{
	size_t first = 0, last = m;

	while (first < m && line_is_empty(&lines[v[first]], bare_quotes))
		first++;
	while (last > first && line_is_empty(&lines[v[last - 1]], bare_quotes))
		last--;
	/* the size first, then one allocation */
	size_t total = 0;
	for (size_t i = first; i < last; i++) {
		size_t len;
		(void)line_text(&lines[v[i]], &len);
		total += len + 1;
	}
	char *out = xmalloc(total + 1);
	size_t w = 0;
	for (size_t i = first; i < last; i++) {
		size_t len;
		const char *t = line_text(&lines[v[i]], &len);
		if (i > first)
			out[w++] = '\n';
		memcpy(out + w, t, len);
		w += len;
	}
	while (w > 0 && is_ws(out[w - 1]))
		w--;
	out[w] = '\0';
	return out;
}

static void lines_free(struct line *lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i].own);
	free(lines);
}

static int trim_reply(const char *body, bool drop_signoffs, char **ret_kept, char **ret_elided)
{
	if (!body || !ret_kept)
		return -EINVAL;

	/* CRLF → LF (a run of bytes at a time), then split. A body without CR (mail_body()'s
	 * are LF already) is read where it is. */
	size_t blen = strlen(body);
	_cleanup_free_ char *buf = NULL;
	const char *s = body;
	size_t slen = blen;
	const char *cr0 = memchr(body, '\r', blen);
	if (cr0) {
		buf = xmalloc(blen + 1);
		size_t w = 0;
		for (size_t r = 0; r < blen;) {
			const char *cr = memchr(body + r, '\r', blen - r);
			size_t k = cr ? (size_t)(cr - body) : blen;
			memcpy(buf + w, body + r, k - r);
			w += k - r;
			if (!cr)
				break;
			if (!(k + 1 < blen && body[k + 1] == '\n'))
				buf[w++] = '\r';
			r = k + 1;
		}
		buf[w] = '\0';
		s = buf;
		slen = w;
	}
	trim(&s, &slen);

	size_t n = 1;
	for (const char *p = s, *end = s + slen; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		n++;
	struct line *lines = xmalloc(n * sizeof(struct line));
	size_t li = 0, start = 0;
	for (;;) {
		const char *nl = memchr(s + start, '\n', slen - start);
		size_t i = nl ? (size_t)(nl - s) : slen;
		lines[li] = (struct line){
		    .p = s + start, .len = i - start, .cls = LINE_TEXT, .named = -1,
		    .attribution = -1};
		li++;
		if (!nl)
			break;
		start = i + 1;
	}

	/* Fenced code blocks are content, whatever they look like. */
	bool in_fence = false;
	for (size_t i = 0; i < n; i++) {
		const char *t = lines[i].p;
		size_t tlen = lines[i].len;
		trim(&t, &tlen);
		bool fence_line = tlen >= 3 && memcmp(t, "```", 3) == 0;
		lines[i].fence = in_fence || fence_line;
		if (fence_line)
			in_fence = !in_fence;
	}

	join_attributions(lines, n);
	classify(lines, n, drop_signoffs);

	/* the kept lines' numbers, then the elided ones' (v[n..2n)), in one allocation */
	_cleanup_free_ size_t *v = xmalloc(2 * n * sizeof(size_t));
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (lines[i].cls != LINE_JOINED)
			v[m++] = i;
	struct seq q = {.v = v, .m = m, .lines = lines};
	apply_rules(&q, drop_signoffs);

	/* What coco reads as the answer holds no quoted line: quotes left between pieces of
	 * text (an inline reply) go too. The text typed under a quoted question heading of the
	 * survey mail answers that question, so it takes the heading's number ("4" under
	 * "> **1. …**" is "1: 4") unless it names its question itself. */
	if (drop_signoffs) {
		size_t kw = 0, asked = 0;
		for (size_t i = 0; i < q.m; i++) {
			struct line *l = &lines[q.v[i]];
			size_t tlen;
			const char *t = line_text(l, &tlen);
			size_t lead = 0;
			while (lead < tlen && is_ws(t[lead]))
				lead++;
			if (l->cls == LINE_QUOTE || (lead < tlen && t[lead] == '>')) {
				size_t num = reply_quoted_question(t, tlen);
				asked = num ? num : asked;
				continue;
			}
			if (l->cls == LINE_TEXT && asked) {
				if (!l->fence && !reply_names_its_question(t, tlen)) {
					char *own = xasprintf("%zu: %.*s", asked, (int)tlen, t);
					free(l->own);
					l->own = own;
				}
				asked = 0;
			}
			/* one blank line where a quote between two answers was */
			if (l->cls == LINE_EMPTY && kw > 0 && lines[q.v[kw - 1]].cls == LINE_EMPTY)
				continue;
			q.v[kw++] = q.v[i];
		}
		q.m = kw;
	}

	char *kept = join_lines(lines, q.v, q.m, true);
	if (ret_elided) {
		/* Everything not kept (continuations are inside their joined line). */
		size_t *e = v + n, em = 0;
		/* q.v is in line order: what it lacks is elided */
		for (size_t i = 0, k = 0; i < n; i++) {
			if (k < q.m && q.v[k] == i) {
				k++;
				continue;
			}
			if (lines[i].cls != LINE_JOINED)
				e[em++] = i;
		}
		*ret_elided = join_lines(lines, e, em, false);
	}
	lines_free(lines, n);
	*ret_kept = kept;
	return 0;
}

int reply_trim(const char *body, char **ret_kept, char **ret_elided)
{
	return trim_reply(body, false, ret_kept, ret_elided);
}

int reply_extract(const char *body, char **ret_kept, char **ret_elided)
{
	return trim_reply(body, true, ret_kept, ret_elided);
}
