/* mime-html: HTML to plain text for HTML-only replies (see mail_html_to_text() in mime.h).
 * libxml2's HTML parser does the tokenising, error recovery and every named and numeric
 * entity of HTML; this file walks the tree without recursion (the parser accepts any depth)
 * and lays the text out: blocks on their own lines, <br> as a line break, whitespace
 * collapsed outside <pre>, script, style, head and title dropped. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "util.h"
#include "email/mime.h"

static bool name_in(const xmlChar *name, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp((const char *)name, set[i]) == 0)
			return true;
	return false;
}

static bool is_skipped(const xmlChar *name)
{
	static const char *const skipped[] = {"script", "style", "head", "title"};
	return name_in(name, skipped, ELEMENTSOF(skipped));
}

static bool is_block(const xmlChar *name)
{
	static const char *const blocks[] = {
	    "div", "tr", "li", "ul", "ol",	    "table",   "h1",	 "h2",	   "h3",	 "h4",
	    "h5",  "h6", "hr", "dt", "blockquote", "pre",	  "dd",	 "section", "article", "header",
	    "footer", "address", "center", "dl", "fieldset", "form", "nav", "main", "aside",
	};
	return name_in(name, blocks, ELEMENTSOF(blocks));
}

/* At least `want` line breaks at the end of b (none at its start). */
static void ensure_newlines(strbuf *b, size_t want)
{
	if (b->len == 0)
		return;
	while (b->len > 0 && b->s[b->len - 1] == ' ')
		b->s[--b->len] = '\0';
	size_t have = 0;
	while (have < b->len && b->s[b->len - 1 - have] == '\n')
		have++;
	for (; have < want; have++)
		strbuf_putc(b, '\n');
}

static void put_text(strbuf *b, const char *t, bool pre)
{
	for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
		if (p[0] == 0xc2 && p[1] == 0xa0) { /* NBSP: a space that does not collapse */
			strbuf_putc(b, ' ');
			p++;
		} else if (*p == '\r') {
			continue;
		} else if (!pre && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\f')) {
			if (b->len > 0 && b->s[b->len - 1] != ' ' && b->s[b->len - 1] != '\n')
				strbuf_putc(b, ' ');
		} else
			strbuf_putc(b, (char)*p);
	}
}

/* What an element does to the layout where it opens and where it closes. */
static void element_edge(strbuf *b, const xmlNode *n, bool opening, unsigned *pre)
{
	if (strcasecmp((const char *)n->name, "br") == 0) {
		if (opening) {
			while (b->len > 0 && b->s[b->len - 1] == ' ')
				b->s[--b->len] = '\0';
			strbuf_putc(b, '\n');
		}
	} else if (strcasecmp((const char *)n->name, "p") == 0)
		ensure_newlines(b, 2);
	else if (is_block(n->name)) {
		ensure_newlines(b, 1);
		if (strcasecmp((const char *)n->name, "pre") == 0)
			*pre = opening ? *pre + 1 : (*pre ? *pre - 1 : 0);
	}
}

char *mail_html_to_text(const char *h, size_t len)
{
	strbuf b = {};
	htmlDocPtr doc = NULL;

	if (len > 0 && len <= INT_MAX)
		doc = htmlReadMemory(h, (int)len, NULL, "UTF-8",
				     HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
					 HTML_PARSE_NONET | HTML_PARSE_COMPACT);
	xmlNode *top = doc ? xmlDocGetRootElement(doc) : NULL;
	unsigned pre = 0;

	/* Depth first, iteratively: enter a node, go down, and on the way back up close the
	 * elements entered. */
	for (xmlNode *n = top; n;) {
		bool descend = false;
		if (n->type == XML_ELEMENT_NODE) {
			if (!is_skipped(n->name)) {
				element_edge(&b, n, true, &pre);
				descend = n->children != NULL;
				if (!descend)
					element_edge(&b, n, false, &pre);
			}
		} else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
			   n->content)
			put_text(&b, (const char *)n->content, pre > 0);

		if (descend) {
			n = n->children;
			continue;
		}
		while (n && n != top && !n->next) {
			n = n->parent;
			if (n && n->type == XML_ELEMENT_NODE)
				element_edge(&b, n, false, &pre);
		}
		n = n && n != top ? n->next : NULL;
	}
	if (doc)
		xmlFreeDoc(doc);
	_cleanup_free_ char *s = strbuf_steal(&b);
	return xstrdup(strstrip(s));
}
