/* reply-inline: answers typed inline, under the question they answer. A member who replies to a
 * survey by writing under each quoted question leaves only the quote to say which question a
 * line answers: this file reads a quoted line as the question heading coco's survey mail
 * carries (templates/questions.md: "**N. text**", maybe followed by " _(optional)_", and wrapped by
 * some clients; Gmail's plain-text part quotes the bold as "*N. text*"), so that the
 * trimmer can keep the number and drop the quote. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "email/reply-private.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

size_t reply_quoted_question(const char *s, size_t len)
{
	size_t i = 0;
	/* the quote marks of every level, "> > " and ">>" alike */
	while (i < len && (s[i] == '>' || is_space(s[i])))
		i++;
	while (len > i && is_space(s[len - 1]))
		len--;
	/* "**N. " as coco wrote it, or "*N. " as Gmail quotes bold in its plain-text part */
	if (len - i < 2 || s[i] != '*')
		return 0;
	i += s[i + 1] == '*' ? 2 : 1;
	size_t d = i, n = 0;
	while (i < len && is_digit(s[i]) && i - d < 3)
		n = n * 10 + (size_t)(s[i++] - '0');
	if (i == d || n == 0 || i + 1 >= len || s[i] != '.' || s[i + 1] != ' ')
		return 0;
	/* The bold closes on this line or, when the mail client wrapped a long question, on a
	 * later one: the opening "**N. " with words after it is the heading either way. */
	if (len - i < 3)
		return 0;
	return n;
}

bool reply_names_its_question(const char *s, size_t len)
{
	if (reply_is_answer_like(s, len))
		return true;
	/* "1) 4" and "q2 = 9", the survey-only forms of "1: 4" (engine/answer.h) */
	size_t i = 0;
	while (i < len && is_space(s[i]))
		i++;
	if (i < len && (s[i] == 'q' || s[i] == 'Q' || s[i] == '#'))
		i++;
	size_t d = i;
	while (i < len && is_digit(s[i]))
		i++;
	if (i == d)
		return false;
	while (i < len && is_space(s[i]))
		i++;
	return i < len && (s[i] == ')' || s[i] == '=');
}
