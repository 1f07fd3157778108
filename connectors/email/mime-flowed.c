/* mime-flowed: see mime-flowed.h. One pass, writing behind the read position. */
#include <string.h>

#include "email/mime-flowed.h"

/* Quote marks at the start of s[0..len): how many '>' before anything else. */
static size_t quote_depth(const char *s, size_t len)
{
	size_t d = 0;
	while (d < len && s[d] == '>')
		d++;
	return d;
}

/* Nothing but spaces and tabs. */
static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* "-- " (after its quote marks): the signature separator, a hard break (RFC 3676 §4.3). */
static bool is_sig_separator(const char *s, size_t len)
{
	return len == 3 && s[0] == '-' && s[1] == '-' && s[2] == ' ';
}

size_t mail_flowed_unwrap(char *s, size_t len, bool delsp)
{
	size_t r = 0, w = 0;
	bool joining = false; /* the line written last ended softly: this one continues it */
	size_t joined_depth = 0;
	while (r < len) {
		const char *nl = memchr(s + r, '\n', len - r);
		size_t end = nl ? (size_t)(nl - s) : len;
		const char *line = s + r;
		size_t n = end - r;
		size_t depth = quote_depth(line, n);
		/* where the text starts: after the quote marks and a stuffed space */
		size_t text = depth + (depth < n && line[depth] == ' ' ? 1 : 0);
		bool blank = is_blank(line + text, n - text);
		if (joining && (depth != joined_depth || blank)) {
			/* an improper soft break (RFC 3676 §4.5), or before an empty line: a
			 * paragraph break is kept where the writer left one */
			s[w++] = '\n';
			joining = false;
		}
		size_t from = joining ? text : depth == 0 ? text : 0;
		bool soft = nl && !blank && line[n - 1] == ' ' &&
			    !is_sig_separator(line + text, n - text);
		size_t to = soft && delsp ? n - 1 : n;
		memmove(s + w, line + from, to - from);
		w += to - from;
		if (soft) {
			joining = true;
			joined_depth = depth;
		} else {
			if (nl)
				s[w++] = '\n';
			joining = false;
		}
		r = nl ? end + 1 : len;
	}
	return w;
}
