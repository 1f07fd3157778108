/* mdtext: see mdtext.h. */
#include <stdbool.h>
#include <string.h>

#include "mdtext.h"
#include "util.h"

char *md_text(const char *s)
{
	strbuf b = {0};
	bool space = false;
	for (; s && *s; s++) {
		if (strchr(" \t\r\n\f\v", *s)) {
			space = b.len > 0;
			continue;
		}
		if (space)
			strbuf_putc(&b, ' ');
		space = false;
		if (strchr("\\`*_[]<>", *s))
			strbuf_putc(&b, '\\');
		strbuf_putc(&b, *s);
	}
	return strbuf_steal(&b);
}

char *md_plain(const char *markdown)
{
	strbuf b = {0};
	for (const char *s = markdown; s && *s; s++) {
		if (s[0] == '\\' && s[1] == '\n')
			continue; /* a hard line break: the line ends there anyway */
		if (s[0] == '\\' && s[1] && strchr("\\`*_[]<>", s[1]))
			s++;
		strbuf_putc(&b, *s);
	}
	return strbuf_steal(&b);
}
