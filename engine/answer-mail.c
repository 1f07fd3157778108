/* answer-mail: the lines of an ordinary mail that are no answer — a greeting ("Hi all,"), a
 * closing ("Thanks, Raj"), a bare name or a short signature under the text — and list bullets.
 * Each test works on one trimmed line (a slice s..e) with no parser state; the parser in
 * answer.c decides where in a message they count (first line, last lines, before statements).
 * The phrase lists are data: short, matched word by word and case-insensitively (ASCII,
 * Latin-1, Latin Extended-A, Greek and Cyrillic capitals fold), extend them here.
 * See answer-private.h. */
#define _GNU_SOURCE
#include "answer-private.h"

#include <ctype.h>
#include <string.h>

#include "util.h"

/* First words of a greeting line; a name or a group word may follow ("Hi all,", "Dear Anna"). */
static const char *const greetings[] = {
    "hi",	   "hello",	  "hey",	"dear",	     "good morning", "good afternoon",
    "good evening", "hallo",	  "liebe",	"lieber",    "guten tag",    "guten morgen",
    "moin",	   "servus",	  "hej",	"hei",	     "moi",	     "terve",
    "bonjour",	   "salut",	  "ciao",	"hola",	     "здравствуйте", "привет",
    "добрый день", "buenos días", "buenos dias", "buenas tardes", "buenas", "estimados",
    "estimadas",   "estimado",	  "estimada",	"buongiorno", "olá",	     "bom dia",
    /* formal ones: "Sehr geehrte Frau Weber,", "Sehr geehrte Damen und Herren," */
    "sehr geehrte", "sehr geehrter", "geehrte",	"dear sir or madam", "dear sirs",
    "madame",	   "monsieur",	  "mesdames et messieurs", "hyvä",   "hyvät",
};

/* Words that may follow a greeting in place of a name ("Bonjour à tous"). */
static const char *const greeting_groups[] = {
    "all",	    "team",	      "everyone", "everybody", "folks",   "guys",
    "there",	    "zusammen",	      "alle",	  "an alle",   "together", "kaikki",
    "tous",	    "à tous",	      "à toutes", "à tous et à toutes",   "tout le monde",
    "todos",	    "a todos",	      "a tutti",  "tutti",     "alla",	   "всем",
    "коллеги",	    "damen und herren", "kollegen", "kolleginnen und kollegen", "señores",
    "vastaanottaja",
};

/* A closing line: one of these, optionally followed by a name ("Thanks, Raj", "Br, Mikko"). */
static const char *const closings[] = {
    "thanks",	       "thank you",	      "thank you very much", "thanks a lot",
    "thanks again",    "thanks in advance", "many thanks",	     "thx",
    "cheers",	       "best",		      "best regards",	     "kind regards",
    "warm regards",    "regards",	      "best wishes",	     "all the best",
    "br",	       "bye",		      "danke",		     "vielen dank",
    "danke schön",     "grüße",		      "viele grüße",	     "liebe grüße",
    "beste grüße",     "lg",		      "vg",		     "mfg",
    "mit freundlichen grüßen", "kiitos",	      "terveisin",	     "tack",
    "hälsningar",      "mvh",		      "merci",		     "cordialement",
    "gracias",	       "saludos",	      "grazie",		     "спасибо",
    "с уважением",     "bonne journée",	      "bonne soirée",	     "bonne fin de journée",
    "belle journée",   "bien cordialement",   "à bientôt",	     "schönen tag",
    "schöne grüße",    "hyvää päivänjatkoa",  "ha en bra dag",	     "schönen tag noch",
    "bonne fin de semaine", "schönes wochenende",   "have a nice day",
    "un saludo",       "saludos cordiales",   "atentamente",	     "un abrazo",
    "muchas gracias",  "cordiali saluti",     "obrigado",	     "obrigada",
    /* the family of these, in the spellings people type (trial 7: "Grüße aus Berlin",
     * "Ystävällisin terveisin / Best regards", "t. Mikael") */
    "grüsse",	       "viele grüsse",	      "liebe grüsse",	     "beste grüsse",
    "gruß",	       "gruss",		      "herzliche grüße",     "herzliche grüsse",
    "freundliche grüße", "freundliche grüsse", "mit freundlichen grüssen",
    "mit besten grüßen", "mit besten grüssen", "mit freundlichem gruß",
    "schöne grüsse",   "greetings",	      "warm greetings",	     "kind greetings",
    "sincerely",       "yours sincerely",     "yours",		     "yours truly",
    "ystävällisin terveisin", "parhain terveisin", "terv",	     "t",
    "med vänliga hälsningar", "vänliga hälsningar", "salutations",  "amicalement",
    "un cordial saludo", "cordialmente",      "abrazos",
};

/* Words that lead to where a closing comes from ("Grüße aus Berlin", "Greetings from
 * Helsinki", "Saludos desde Madrid"): a place of one to three capitalised words follows. */
static const char *const closing_places[] = {"aus", "from", "desde", "de", "från", "da", "z"};

/* Closings that sign only with a name after them: "t. Mikael" (Finnish "terveisin"), not a
 * lone "t." or "T". */
static const char *const closings_need_name[] = {"t", "terv"};

/* Words that join two closings ("Thanks and best regards", "Merci et bonne journée"). */
static const char *const closing_joins[] = {"and", "und", "et", "&", "y", "e", "och", "ja", "/"};

/* Lower-case words inside a name ("Ana de Souza"). */
static const char *const name_particles[] = {
    "von", "van", "de", "der", "den", "da", "di", "du", "le", "la", "del", "dos", "ten", "ter",
};

#define WORDS_MAX 8 /* words looked at in one line; longer lines are no mail furniture */
#define NAME_WORDS_MAX 3
#define TAIL_BYTES_MAX 80

/* --- code points ---------------------------------------------------------------------------- */

/* The code point at s and its length; an invalid byte reads as U+FFFD, one byte long. */
static unsigned cp_at(const char *s, const char *e, size_t *ret_len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = (size_t)(e - s);
	if (p[0] < 0x80) {
		*ret_len = 1;
		return p[0];
	}
	size_t k = (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (k == 0 || k > n) {
		*ret_len = 1;
		return 0xFFFD;
	}
	unsigned cp = p[0] & (0x7F >> k);
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xC0) != 0x80) {
			*ret_len = 1;
			return 0xFFFD;
		}
		cp = cp << 6 | (p[i] & 0x3F);
	}
	*ret_len = k;
	return cp;
}

/* The lower-case form of the capitals of the scripts members write in, else cp itself. */
static unsigned cp_fold(unsigned cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
		return cp + 32;
	if (cp >= 0x100 && cp <= 0x17F) {
		bool odd_upper = cp >= 0x139 && cp <= 0x148;
		if (cp != 0x138 && cp != 0x149 && (cp % 2 == 1) == odd_upper)
			return cp + 1;
		return cp;
	}
	if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)
		return cp + 32;
	if (cp >= 0x410 && cp <= 0x42F)
		return cp + 32;
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 80;
	return cp;
}

static bool cp_is_upper(unsigned cp)
{
	return cp_fold(cp) != cp;
}

bool answer_starts_with_capital(const char *s, const char *e)
{
	size_t k;
	return s < e && cp_is_upper(cp_at(s, e, &k));
}

static bool cp_is_letter(unsigned cp)
{
	return (cp < 0x80 && isalpha((int)cp)) || (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7 &&
						   cp != 0xFFFD && !(cp >= 0x2000 && cp <= 0x2BFF) &&
						   !(cp >= 0x3000 && cp <= 0x303F));
}

/* --- words ---------------------------------------------------------------------------------- */

typedef struct word {
	const char *s, *e; /* without the trailing punctuation */
	const char *end;   /* with it */
	bool punct;	   /* followed by ',', '!' or '.' (or their full-width forms) */
	bool dot;	   /* ...and that was only '.' ("Mr.", "J.") */
} word;

/* Bytes of a trailing ',', '!' or '.' (ASCII or full-width) ending at e, else 0. */
static size_t punct_before(const char *s, const char *e)
{
	if (e > s && (e[-1] == ',' || e[-1] == '!' || e[-1] == '.'))
		return 1;
	if (e - s >= 3 && (memcmp(e - 3, "\xEF\xBC\x8C", 3) == 0 || /* ， */
			   memcmp(e - 3, "\xEF\xBC\x81", 3) == 0 || /* ！ */
			   memcmp(e - 3, "\xE3\x80\x82", 3) == 0))	 /* 。 */
		return 3;
	return 0;
}

/* Splits a trimmed line into at most WORDS_MAX words; -1 when there are more, unless prefix
 * (then the first WORDS_MAX). Punctuation after a word is taken off it ("Hi," → "Hi" + punct);
 * "!!" counts once. */
static int split_words_prefix(const char *s, const char *e, word *w, bool prefix)
{
	int n = 0;
	const char *p = answer_skip_ws(s, e);
	while (p < e) {
		if (n == WORDS_MAX)
			return prefix ? n : -1;
		const char *q = p;
		while (q < e && !answer_ws_len(q, e))
			q++;
		const char *we = q;
		bool punct = false, dot = true;
		size_t k;
		while ((k = punct_before(p, we))) {
			dot = dot && k == 1 && we[-1] == '.';
			we -= k;
			punct = true;
		}
		if (we == p && n > 0 && !w[n - 1].punct) {
			/* "Hi , all" or "Thanks !": the mark belongs to the word before */
			w[n - 1].punct = true;
			w[n - 1].dot = false;
			w[n - 1].end = q;
		} else if (we > p)
			w[n++] = (word){.s = p, .e = we, .end = q, .punct = punct, .dot = punct && dot};
		p = answer_skip_ws(q, e);
	}
	return n;
}

static int split_words(const char *s, const char *e, word *w)
{
	return split_words_prefix(s, e, w, false);
}

/* Case-insensitive equality of a word and z (both UTF-8). */
static bool word_eq(const word *w, const char *z)
{
	const char *a = w->s, *ze = z + strlen(z);
	while (a < w->e && z < ze) {
		size_t ka, kz;
		unsigned ca = cp_at(a, w->e, &ka), cz = cp_at(z, ze, &kz);
		if (cp_fold(ca) != cp_fold(cz))
			return false;
		a += ka;
		z += kz;
	}
	return a == w->e && z == ze;
}

static bool word_in(const word *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (word_eq(w, list[i]))
			return true;
	return false;
}

/* The number of words of the longest phrase of list that the line starts with (no punctuation
 * inside the phrase), or 0. */
static int match_phrase(const word *w, int n, const char *const *list, size_t n_list)
{
	int best = 0;
	for (size_t i = 0; i < n_list; i++) {
		const char *z = list[i];
		int k = 0;
		bool ok = true;
		while (ok && *z) {
			size_t len = strcspn(z, " ");
			_cleanup_free_ char *part = xstrndup(z, len);
			ok = k < n && (k == 0 || !w[k - 1].punct) && word_eq(&w[k], part);
			k++;
			z += len + (z[len] == ' ');
		}
		if (ok && k > best)
			best = k;
	}
	return best;
}

/* A word of a name: a capital, then letters, '.', '-', '\'' or '’' ("J.", "Anna-Lena"). */
static bool word_is_name(const word *w)
{
	size_t k;
	if (!cp_is_upper(cp_at(w->s, w->e, &k)))
		return false;
	for (const char *p = w->s + k; p < w->e; p += k) {
		unsigned cp = cp_at(p, w->e, &k);
		if (!cp_is_letter(cp) && cp != '.' && cp != '-' && cp != '\'' && cp != 0x2019)
			return false;
	}
	return true;
}

/* One capital letter ("D" of "D."). */
static bool word_is_initial(const word *w)
{
	size_t k;
	return cp_is_upper(cp_at(w->s, w->e, &k)) && w->s + k == w->e;
}

/* Words from..n-1 are a name of at most NAME_WORDS_MAX words: capitalised words, with
 * particles between them; punctuation only at the end, but for the dot of "Mr." or "J.". */
static bool words_are_name(const word *w, int from, int n)
{
	if (n - from < 1 || n - from > NAME_WORDS_MAX)
		return false;
	for (int i = from; i < n; i++) {
		if (w[i].punct && !w[i].dot && i < n - 1)
			return false;
		bool particle = i > from && i < n - 1 &&
				word_in(&w[i], name_particles, ELEMENTSOF(name_particles));
		if (!particle && !word_is_name(&w[i]))
			return false;
	}
	return true;
}

/* --- lines ---------------------------------------------------------------------------------- */

/* Words 0..n-1 are a greeting. */
static bool words_are_greeting(const word *w, int n)
{
	/* "Hi Dr. Weber, hi all,": greetings one after the other, each closed by a comma; the
	 * part after the comma must open with a greeting of its own ("Hi, Anna" is one). */
	for (int j = 0; j + 1 < n; j++)
		if (w[j].punct && !w[j].dot) {
			if (match_phrase(w + j + 1, n - j - 1, greetings, ELEMENTSOF(greetings)) > 0 &&
			    words_are_greeting(w, j + 1) && words_are_greeting(w + j + 1, n - j - 1))
				return true;
			break;
		}
	int k = n > 0 ? match_phrase(w, n, greetings, ELEMENTSOF(greetings)) : 0;
	if (k == 0 || k == n)
		return k > 0;
	/* "Hi all," "Hello team" "Hallo zusammen" "Bonjour à tous" "Dear Ms. Weber" "Hi Anna" */
	if (match_phrase(w + k, n - k, greeting_groups, ELEMENTSOF(greeting_groups)) == n - k)
		return true;
	return words_are_name(w, k, n);
}

bool answer_is_greeting(const char *s, const char *e)
{
	word w[WORDS_MAX];
	return words_are_greeting(w, split_words(s, e, w));
}

size_t answer_greeting_prefix_len(const char *s, const char *e)
{
	word w[WORDS_MAX];
	int n = split_words_prefix(s, e, w, true);
	for (int k = 1; k < n; k++)
		if (w[k - 1].punct && !w[k - 1].dot && words_are_greeting(w, k))
			return (size_t)(w[k].s - s);
	return 0;
}

bool answer_is_closing(const char *s, const char *e)
{
	word w[WORDS_MAX];
	int n = split_words(s, e, w);
	int k = n > 0 ? match_phrase(w, n, closings, ELEMENTSOF(closings)) : 0;
	if (k == 0)
		return false;
	/* "Thanks and best regards", "Danke und viele Grüße" */
	if (k + 1 < n && word_in(&w[k], closing_joins, ELEMENTSOF(closing_joins))) {
		int m = match_phrase(w + k + 1, n - k - 1, closings, ELEMENTSOF(closings));
		if (m > 0)
			k += 1 + m;
	}
	bool need_name = k == 1 && word_in(&w[0], closings_need_name,
					   ELEMENTSOF(closings_need_name));
	/* "Grüße aus Berlin", "Greetings from Helsinki, Mikael": a place, maybe a name after it */
	if (k + 1 < n && !w[k - 1].punct &&
	    word_in(&w[k], closing_places, ELEMENTSOF(closing_places))) {
		int p = k + 1;
		while (p < n - 1 && !w[p].punct)
			p++;
		if (!words_are_name(w, k + 1, p + 1))
			return false;
		return p + 1 == n || words_are_name(w, p + 1, n);
	}
	if (k == n)
		return !need_name;
	/* "Bonne journée à tous", "Thanks, Raj", "Cheers Tom" */
	return match_phrase(w + k, n - k, greeting_groups, ELEMENTSOF(greeting_groups)) == n - k ||
	       words_are_name(w, k, n);
}

/* How a thank-you starts, and the words for "for" after it. */
static const char *const thanks[] = {
    "thanks",	      "thank you",	 "many thanks",	 "thanks a lot", "thank you very much",
    "thank you so much", "thanks so much", "danke",	 "vielen dank",	 "herzlichen dank",
    "merci",	      "merci beaucoup", "kiitos",	 "gracias",	 "muchas gracias",
    "tack",	      "stort tack",	 "grazie",	 "grazie mille", "obrigado",
    "obrigada",	      "спасибо",	 "большое спасибо",
};
static const char *const thanks_for[] = {"for", "für", "pour", "por", "para", "för", "per", "за"};

bool answer_is_thanks_opener(const char *s, const char *e)
{
	word w[WORDS_MAX];
	int n = split_words(s, e, w);
	int k = n > 0 ? match_phrase(w, n, thanks, ELEMENTSOF(thanks)) : 0;
	if (k == 0 || k == n)
		return false; /* no thanks, or a thanks alone: a closing's */
	const char *t = answer_trim_end(s, e);
	bool bang = (t > s && t[-1] == '!') ||
		    (t - s >= 3 && memcmp(t - 3, "\xEF\xBC\x81", 3) == 0); /* ！ */
	return bang || (!w[k - 1].punct && word_in(&w[k], thanks_for, ELEMENTSOF(thanks_for)));
}

bool answer_is_name(const char *s, const char *e)
{
	word w[WORDS_MAX];
	int n = split_words(s, e, w);
	/* a name has no punctuation after it: "Yes." or "Great!" are sentences; but an initial
	 * alone ("D.") signs a mail */
	if (n == 1 && w[0].dot && word_is_initial(&w[0]))
		return true;
	return n > 0 && !w[n - 1].punct && words_are_name(w, 0, n);
}

/* A signature on one line: a name, then " | " or " · " and what a signature line holds
 * ("José Peña | Jefe de Compras | Bäckerei Müller"). */
bool answer_is_name_line(const char *s, const char *e)
{
	if (answer_is_name(s, e))
		return true;
	const char *bar = memchr(s, '|', (size_t)(e - s));
	const char *dot = memmem(s, (size_t)(e - s), "\xC2\xB7", 2);
	const char *cut = bar && (!dot || bar < dot) ? bar : dot;
	if (!cut || !answer_is_signature_tail(s, e, false))
		return false;
	const char *t = cut;
	while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
		t--;
	return t > s && answer_is_name(s, t);
}

/* A line under a name in a signature: a role, company, phone or address. It carries a mark no
 * sentence has (| · @ a web address or a phone number), or — when loose — it is short, starts
 * with a capital and ends without a sentence's punctuation ("Head of Online"). */
bool answer_is_signature_tail(const char *s, const char *e, bool loose)
{
	if (s >= e || e - s > TAIL_BYTES_MAX)
		return false;
	size_t n = (size_t)(e - s);
	if (memchr(s, '|', n) || memchr(s, '@', n) || memmem(s, n, "\xC2\xB7", 2) ||
	    memmem(s, n, "www.", 4) || memmem(s, n, "://", 3))
		return true;
	size_t digits = 0;
	for (const char *p = s; p < e; p++)
		digits += isdigit((unsigned char)*p) != 0;
	if (digits >= 6 && (*s == '+' || *s == '(' || isalpha((unsigned char)*s) ||
			    isdigit((unsigned char)*s)))
		return true; /* "T +44 20 7946 0958", "+358 40 123 4567" */
	if (!loose)
		return false;
	word w[WORDS_MAX];
	int nw = split_words(s, e, w);
	size_t k;
	char last = e[-1];
	return nw > 0 && nw <= 6 && cp_is_upper(cp_at(s, e, &k)) && last != '.' && last != '!' &&
	       last != '?' && last != ':' && last != ',';
}

/* A line under a closing: a name, a signature line, or a short line such as a role or a
 * company ("Directora de Marketing", "Bergström Retail S.L."): what answer_is_signature_tail()
 * takes when loose, or up to 6 words from a capital ending in an abbreviation's '.' ("S.L.",
 * "Inc.", "Oy."). */
bool answer_is_signature_line(const char *s, const char *e)
{
	if (answer_is_name_line(s, e) || answer_is_signature_tail(s, e, true))
		return true;
	if (s >= e || e - s > TAIL_BYTES_MAX || e[-1] != '.' || !answer_starts_with_capital(s, e))
		return false;
	word w[WORDS_MAX];
	int n = split_words(s, e, w);
	if (n < 1 || n > 6)
		return false;
	const word *last = &w[n - 1];
	return memchr(last->s, '.', (size_t)(last->e - last->s)) ||
	       (word_is_name(last) && last->e - last->s <= 4);
}

#define OWN_NAME_WORDS_MAX 5

bool answer_is_own_name(const char *s, const char *e, const coco_member *mb)
{
	if (!mb || !mb->id)
		return false;
	/* "- Anna", "—Anna", "Anna." */
	for (;;) {
		size_t k = s < e ? answer_ws_len(s, e) : 0;
		if (!k && s < e && (*s == '-' || *s == '~'))
			k = 1;
		if (!k && e - s >= 3 && (memcmp(s, "–", 3) == 0 || memcmp(s, "—", 3) == 0))
			k = 3;
		if (!k)
			break;
		s += k;
	}
	while (e > s && strchr(" \t.,!\r", e[-1]))
		e--;
	if (s == e)
		return false;
	const char *name = mb->name ? mb->name : mb->id;
	if (answer_slice_eq_ci(s, e, name) || answer_slice_eq_ci(s, e, mb->id))
		return true;
	/* A fuller form of the name: its first name, then more name words ("Anna López García"
	 * for Name=Anna López, "Mikael J. Virtanen"), maybe after a title ("Dr. Anna Schmidt"). */
	word w[WORDS_MAX];
	int n = split_words(s, e, w);
	if (n < 1)
		return false;
	int from = n > 1 && w[0].dot && !word_is_initial(&w[0]) ? 1 : 0;
	_cleanup_free_ char *first = xstrndup(name, strcspn(name, " "));
	if (n - from > OWN_NAME_WORDS_MAX || strlen(first) < 2 || !word_eq(&w[from], first))
		return false;
	for (int i = from + 1; i < n; i++) {
		if (w[i].punct && !w[i].dot)
			return false;
		if (!word_is_name(&w[i]) && !word_in(&w[i], name_particles, ELEMENTSOF(name_particles)))
			return false;
	}
	return true;
}

size_t answer_bullet_len(const char *s, const char *e)
{
	size_t m = 0;
	if (s < e && (*s == '-' || *s == '*' || *s == '+'))
		m = 1;
	else if (e - s >= 3 && (memcmp(s, "\xE2\x80\xA2", 3) == 0 || /* • */
				memcmp(s, "\xE2\x80\x93", 3) == 0 || /* – */
				memcmp(s, "\xE2\x97\xA6", 3) == 0))  /* ◦ */
		m = 3;
	else {
		const char *p = s;
		while (p < e && p - s < 3 && isdigit((unsigned char)*p))
			p++;
		if (p > s && p < e && (*p == '.' || *p == ')'))
			m = (size_t)(p - s) + 1;
	}
	if (m == 0 || !answer_ws_len(s + m, e))
		return 0;
	const char *t = answer_skip_ws(s + m, e);
	return t < e ? (size_t)(t - s) : 0;
}

bool answer_ends_with_colon(const char *s, const char *e)
{
	return (e > s && e[-1] == ':') || (e - s >= 3 && answer_colon_len(e - 3, e) == 3);
}

/* [s, e) without blanks around it. */
static void trim_line(const char **s, const char **e)
{
	while (*s < *e && strchr(" \t\r", **s))
		(*s)++;
	while (*e > *s && strchr(" \t\r", (*e)[-1]))
		(*e)--;
}

char *answer_plain_text(const char *text)
{
	const char *s = text ? text : "", *end = s + strlen(s);
	/* A first line that is only a greeting. */
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	const char *ls = s, *le = nl ? nl : end;
	trim_line(&ls, &le);
	if (nl && answer_is_greeting(ls, le))
		s = nl + 1;
	/* Closings and bare names at the end, below other content. */
	for (;;) {
		while (end > s && strchr(" \t\r\n", end[-1]))
			end--;
		const char *line = end;
		while (line > s && line[-1] != '\n')
			line--;
		if (line == s)
			break;
		ls = line;
		le = end;
		trim_line(&ls, &le);
		if (!answer_is_closing(ls, le) && !answer_is_name(ls, le))
			break;
		end = line;
	}
	while (s < end && strchr(" \t\r\n", *s))
		s++;
	return xstrndup(s, (size_t)(end - s));
}
