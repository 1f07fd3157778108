/* auto-reply: see auto-reply.h. */
#define _GNU_SOURCE /* strcasestr */
#include "email/auto-reply.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "email/reply.h"
#include "email/reply-private.h"
#include "util.h"

bool mail_subject_is_auto_reply(const char *subject)
{
	/* Discourse's list (PROTOCOLS.md §3.4) and Finnish Outlook's (trial 7), ASCII
	 * case-insensitive. Each starts with an
	 * ASCII letter: a subject is compared only with those that start with its first letter
	 * (most are "Re: …", which two of them do). */
	static const struct reply_word prefixes[] = {
	    REPLY_WORD("Auto:"),		REPLY_WORD("Automatic reply"),
	    REPLY_WORD("Auto Response"),	REPLY_WORD("Out of Office"),
	    REPLY_WORD("Autosvar"),		REPLY_WORD("Automatisk svar"),
	    REPLY_WORD("Automatisch antwoord"), REPLY_WORD("Abwesenheitsnotiz"),
	    REPLY_WORD("Risposta Non al computer"), REPLY_WORD("Fuori sede"),
	    REPLY_WORD("Respuesta automática"), REPLY_WORD("Frånvaro"),
	    REPLY_WORD("Réponse automatique"), REPLY_WORD("Automaattinen vastaus"),
	};
	if (!subject)
		return false;
	while (*subject == ' ' || *subject == '\t')
		subject++;
	unsigned char c = (unsigned char)(*subject | 0x20);
	for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
		if ((unsigned char)(prefixes[i].s[0] | 0x20) == c &&
		    strncasecmp(subject, prefixes[i].s, prefixes[i].len) == 0)
			return true;
	return false;
}

/* Words an absence notice uses, lower case (matched ASCII case-insensitively). */
static const char *const absence[] = {
	/* en */ "out of the office", "out of office", "away from the office", "away from my desk",
	"on vacation", "on holiday", "on leave", "annual leave", "parental leave",
	"limited access to email", "limited access to e-mail", "no access to email",
	"no access to e-mail", "i am away", "i'm away", "i will be away", "currently away",
	"will be back on", "will reply when i", "will respond when i", "will get back to you",
	/* de */ "nicht im büro", "abwesend", "außer haus", "ausser haus", "im urlaub",
	"nicht erreichbar",
	/* fr */ "absent du bureau", "absente du bureau", "en congé", "en vacances",
	"je suis absent",
	/* es, it, nl */ "fuera de la oficina", "de vacaciones", "fuori ufficio", "in ferie",
	"afwezig", "met vakantie", "niet op kantoor",
	/* sv, fi */ "på semester", "inte på kontoret", "tjänstledig", "är ledig", "poissa",
	"lomalla", "lomailen",
	/* ru */ "в отпуске", "отсутствую", "вне офиса",
};

/* Starts like a statement of the answer grammar, with the looser forms people write
 * ("2) yes", "3. b", "Q2 = 9") too. */
static bool answer_like(const char *s, size_t len)
{
	while (len && (*s == ' ' || *s == '\t' || *s == '-' || *s == '*')) {
		s++;
		len--;
	}
	if (reply_is_answer_like(s, len))
		return true;
	size_t i = 0;
	if (i < len && (s[i] == 'q' || s[i] == 'Q' || s[i] == '#'))
		i++;
	size_t d = i;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == d || i - d > 3)
		return false;
	while (i < len && s[i] == ' ')
		i++;
	return i < len && (s[i] == ')' || s[i] == '.' || s[i] == '=' || s[i] == '-');
}

bool mail_text_is_out_of_office(const char *subject, const char *body)
{
	if (!body || !mail_subject_is_auto_reply(subject))
		return false;
	_cleanup_free_ char *text = NULL;
	if (reply_trim(body, &text, NULL) < 0 || strlen(text) > AUTO_REPLY_TEXT_MAX)
		return false;
	size_t lines = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (answer_like(p, len) || ++lines > AUTO_REPLY_LINES_MAX)
			return false;
		p += len + (nl ? 1 : 0);
	}
	for (size_t i = 0; i < ELEMENTSOF(absence); i++)
		if (strcasestr(text, absence[i]))
			return true;
	return false;
}
