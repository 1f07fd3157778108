/* chat-command: see chat-command.h. */
#define _GNU_SOURCE
#include "chat-command.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static const char *const kind_names[_CHAT_COMMAND_MAX] = {
	[CHAT_HELP] = "help",     [CHAT_ROUNDS] = "rounds", [CHAT_ANSWER] = "answer",
	[CHAT_IDEA] = "idea",     [CHAT_VOTE] = "vote",     [CHAT_STATUS] = "status",
	[CHAT_DIGEST] = "digest",
};

const char *chat_command_to_string(chat_command_kind k)
{
	return k >= 0 && k < _CHAT_COMMAND_MAX ? kind_names[k] : NULL;
}

void chat_command_done(chat_command *c)
{
	if (!c)
		return;
	free(c->round);
	free(c->text);
	c->round = c->text = NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static const char *skip_space(const char *s)
{
	while (*s && is_space(*s))
		s++;
	return s;
}

/* The word at s (up to white space), its length in *ret_len. */
static const char *word(const char *s, size_t *ret_len)
{
	size_t n = 0;
	while (s[n] && !is_space(s[n]))
		n++;
	*ret_len = n;
	return s;
}

static bool word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

/* "q3" (a question number as the answer grammar writes it) */
static bool is_qn(const char *w, size_t n)
{
	if (n < 2 || (w[0] != 'q' && w[0] != 'Q'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isdigit((unsigned char)w[i]))
			return false;
	return true;
}

/* "7x2": dots for an idea, as a vote writes them */
static bool is_dots(const char *w, size_t n)
{
	size_t a = 0;
	while (a < n && isdigit((unsigned char)w[a]))
		a++;
	if (a == 0 || a + 1 >= n || (w[a] != 'x' && w[a] != 'X'))
		return false;
	for (size_t i = a + 1; i < n; i++)
		if (!isdigit((unsigned char)w[i]))
			return false;
	return true;
}

static bool round_ref_n(const char *w, size_t n)
{
	if (n == 0 || n > 128 || word_is(w, n, "skip") || word_is(w, n, "idea") ||
	    word_is(w, n, "vote") || is_qn(w, n) || is_dots(w, n))
		return false;
	bool letter = false;
	size_t slashes = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];
		if (isalpha(c))
			letter = true;
		else if (c == '/') {
			if (++slashes > 1 || i == 0 || i + 1 == n)
				return false;
		} else if (!isdigit(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return letter;
}

int chat_command_is_round_ref(const char *s)
{
	return s && round_ref_n(s, strlen(s));
}

/* Does the text start the way an answer does ("1: 4", "q2: b", "#3 5", "skip 2", "mood: 4",
 * "１：４")? */
static bool looks_like_answer(const char *w, size_t n)
{
	if (isdigit((unsigned char)w[0]) || w[0] == '#' || word_is(w, n, "skip") || is_qn(w, n))
		return true;
	for (size_t i = 0; i < n; i++)
		if (w[i] == ':' || (i + 3 <= n && memcmp(w + i, "\xef\xbc\x9a", 3) == 0))
			return true;
	return false;
}

/* A word of the member's, fit to show between backticks. */
static char *shown(const char *w, size_t n)
{
	if (n > 40) {
		n = 40;
		while (n > 0 && ((unsigned char)w[n] & 0xc0) == 0x80)
			n--;
	}
	char *s = xstrndup(w, n);
	for (char *p = s; *p; p++)
		if (*p == '`' || (unsigned char)*p < 0x20)
			*p = '\'';
	return s;
}

/* The rest of the text with its outer white space trimmed, or NULL if nothing is left. */
static char *rest_of(const char *s)
{
	s = skip_space(s);
	size_t n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		n--;
	return n ? xstrndup(s, n) : NULL;
}

static int fail(char **ret_error, char *msg)
{
	*ret_error = msg;
	return -EINVAL;
}

/* An optional ROUND at s, then the rest. */
static void split_round(const char *s, char **ret_round, char **ret_rest)
{
	size_t n;
	const char *w = word(skip_space(s), &n);
	if (round_ref_n(w, n)) {
		*ret_round = xstrndup(w, n);
		*ret_rest = rest_of(w + n);
	} else {
		*ret_round = NULL;
		*ret_rest = rest_of(s);
	}
}

int chat_command_parse(const char *text, const char *prefix, chat_command *ret,
                       char **ret_error)
{
	chat_command c = {.kind = CHAT_HELP};
	const char *p = prefix ? prefix : "";
	if (!text)
		text = "";
	if (strlen(text) > CHAT_COMMAND_TEXT_MAX)
		return fail(ret_error, xasprintf("That is too long for coco: at most %d KiB.",
		                                 CHAT_COMMAND_TEXT_MAX / 1024));
	const char *s = skip_space(text);
	if (!*s) {
		*ret = c;
		return 0;
	}
	size_t n;
	const char *w = word(s, &n);
	const char *after = w + n;
	/* "idea:" and "idea: dark mode" are the idea command as much as "idea dark mode". */
	size_t kw = n;
	if (n >= 5 && strncasecmp(w, "idea:", 5) == 0) {
		kw = 4;
		after = w + 5;
	}

	if (word_is(w, kw, "help")) {
		c.kind = CHAT_HELP;
	} else if (word_is(w, kw, "rounds")) {
		c.kind = CHAT_ROUNDS;
		_cleanup_free_ char *rest = rest_of(after);
		if (rest)
			return fail(ret_error, xasprintf("`%s rounds` takes nothing after it.", p));
	} else if (word_is(w, kw, "answer")) {
		c.kind = CHAT_ANSWER;
		split_round(after, &c.round, &c.text);
		if (!c.text) {
			char *msg = c.round
				? xasprintf("`%s answer %s` needs your answers after the round, like "
				            "`%s answer %s 1: 4, 2: b`.", p, c.round, p, c.round)
				: xasprintf("`%s answer` needs your answers, like `%s answer 1: 4, 2: b` "
				            "(or `%s answer ROUND 1: 4, 2: b` when several rounds are open "
				            "for you).", p, p, p);
			chat_command_done(&c);
			return fail(ret_error, msg);
		}
	} else if (word_is(w, kw, "idea")) {
		c.kind = CHAT_IDEA;
		c.text = rest_of(after);
		if (!c.text)
			return fail(ret_error, xasprintf("`%s idea` needs the idea after it, like "
			                                 "`%s idea a dark mode for the app`.", p, p));
	} else if (word_is(w, kw, "vote")) {
		c.kind = CHAT_VOTE;
		split_round(after, &c.round, &c.text);
		if (!c.text) {
			chat_command_done(&c);
			return fail(ret_error, xasprintf("`%s vote` needs the numbers of the ideas you "
			                                 "give your dots to, like `%s vote 3 7 7`.", p,
			                                 p));
		}
	} else if (word_is(w, kw, "status") || word_is(w, kw, "digest")) {
		bool status = word_is(w, kw, "status");
		c.kind = status ? CHAT_STATUS : CHAT_DIGEST;
		_cleanup_free_ char *rest = NULL;
		split_round(after, &c.round, &rest);
		if (rest || (!status && !c.round)) {
			chat_command_done(&c);
			return fail(ret_error,
			            status ? xasprintf("`%s status` takes one round, like `%s status "
			                               "kickoff`; `%s rounds` lists yours.", p, p, p)
			                   : xasprintf("`%s digest` takes one round, like `%s digest "
			                               "kickoff`; `%s rounds` lists yours.", p, p, p));
		}
	} else if (looks_like_answer(w, n)) {
		c.kind = CHAT_ANSWER;
		c.text = rest_of(s);
	} else {
		_cleanup_free_ char *bad = shown(w, n);
		return fail(ret_error, xasprintf("`%s` is not a command coco knows. `%s help` lists "
		                                 "them.", bad, p));
	}
	*ret = c;
	return 0;
}

char *chat_command_help(const char *prefix)
{
	const char *p = prefix ? prefix : "";
	return xasprintf(
		"**What you can ask coco**\n\n"
		"- `%s rounds`: your open rounds, and how to answer each\n"
		"- `%s answer ROUND 1: 4, 2: b`: answer a round's questions (leave out ROUND when "
		"one round is open for you: `%s 1: 4, 2: b` does the same)\n"
		"- `%s idea TEXT`: send an idea to the open idea round\n"
		"- `%s vote ROUND 3 7 7`: give your dots to ideas 3 and 7 (7 gets two)\n"
		"- `%s status ROUND`: who has answered so far (for the provider's team)\n"
		"- `%s digest ROUND`: the latest digest of a round\n"
		"- `%s help`: this list\n",
		p, p, p, p, p, p, p, p);
}
