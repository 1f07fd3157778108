/* mime-html: HTML to plain text for HTML-only replies (see mail_html_to_text() in mime.h).
 * libxml2's HTML parser does the tokenising, error recovery and every named and numeric
 * entity of HTML; this file walks the tree without recursion (the parser accepts any depth)
 * and lays the text out as a mail client shows it: blocks on their own lines, <br> as a line
 * break, a list item on a line of its own behind its number (<ol>) or a "- " bullet, whitespace
 * collapsed outside <pre>, script, style, head and title dropped. For a reply it also knows
 * where mail clients put the message replied to, and leaves those elements out of the tree
 * walk, so the quote never reaches the text trimmer (reply.c). */
#define _GNU_SOURCE /* strcasestr */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "lazylib.h"
#include "util.h"
#include "email/mime-charset.h"
#include "email/mime.h"

/* libxml2 (and with it ICU) is opened by the first HTML part to convert (lazylib.h): a mail
 * in plain text, the usual reply, never loads it. xmlFree is a variable of libxml2's (the
 * free() it was set up with): its address is looked up like a function's. */
#ifndef COCO_LIBXML2_SO
#define COCO_LIBXML2_SO "libxml2.so.2"
#endif
#define XML_FUNCS(X)                                                                      \
	X(htmlReadMemory) X(xmlDocGetRootElement) X(xmlFreeDoc) X(xmlGetProp) X(xmlFree)         \
	X(xmlInitParser) X(xmlCreateMemoryParserCtxt) X(htmlDefaultSAXHandlerInit)               \
	X(__htmlDefaultSAXHandler) X(htmlCtxtUseOptions) X(htmlParseDocument)                    \
	X(xmlFreeParserCtxt) X(xmlSAX2StartElement)
LAZYLIB_DECLARE(xml, XML_FUNCS)
LAZYLIB_DEFINE(xml, XML_FUNCS, COCO_LIBXML2_SO)
#define htmlReadMemory (xml_lib()->htmlReadMemory)
#define xmlInitParser (xml_lib()->xmlInitParser)
#define xmlCreateMemoryParserCtxt (xml_lib()->xmlCreateMemoryParserCtxt)
#define htmlDefaultSAXHandlerInit (xml_lib()->htmlDefaultSAXHandlerInit)
#define htmlCtxtUseOptions (xml_lib()->htmlCtxtUseOptions)
#define htmlParseDocument (xml_lib()->htmlParseDocument)
#define xmlFreeParserCtxt (xml_lib()->xmlFreeParserCtxt)
#define xmlSAX2StartElement (xml_lib()->xmlSAX2StartElement)
#define xmlDocGetRootElement (xml_lib()->xmlDocGetRootElement)
#define xmlFreeDoc (xml_lib()->xmlFreeDoc)
#define xmlGetProp (xml_lib()->xmlGetProp)
#define xmlFree (*xml_lib()->xmlFree)

static void xml_freep(xmlChar **p)
{
	xmlFree(*p);
}

/* What an element is to the layout, found once per element from its name (ignoring case)
 * instead of one strcasecmp() per name of every list at every edge. */
enum element_kind {
	ELEMENT_OTHER,
	ELEMENT_SKIPPED, /* script, style, head, title: nothing of it is shown */
	ELEMENT_BR,
	ELEMENT_P,
	ELEMENT_LI,
	ELEMENT_BLOCK, /* on lines of its own */
	ELEMENT_BLOCKQUOTE,
	ELEMENT_PRE,
	ELEMENT_OL,
	ELEMENT_LIST, /* ul, dir, menu: a list of bullets */
};

static enum element_kind element_kind(const xmlChar *name)
{
	static const struct {
		const char *name;
		unsigned char len;
		unsigned char kind;
	} kinds[] = {
#define K(n, k) {n, sizeof(n) - 1, k}
	    K("script", ELEMENT_SKIPPED),
	    K("style", ELEMENT_SKIPPED),
	    K("head", ELEMENT_SKIPPED),
	    K("title", ELEMENT_SKIPPED),
	    K("br", ELEMENT_BR),
	    K("p", ELEMENT_P),
	    K("li", ELEMENT_LI),
	    K("div", ELEMENT_BLOCK),
	    K("tr", ELEMENT_BLOCK),
	    K("ul", ELEMENT_LIST),
	    K("ol", ELEMENT_OL),
	    K("table", ELEMENT_BLOCK),
	    K("h1", ELEMENT_BLOCK),
	    K("h2", ELEMENT_BLOCK),
	    K("h3", ELEMENT_BLOCK),
	    K("h4", ELEMENT_BLOCK),
	    K("h5", ELEMENT_BLOCK),
	    K("h6", ELEMENT_BLOCK),
	    K("hr", ELEMENT_BLOCK),
	    K("dt", ELEMENT_BLOCK),
	    K("blockquote", ELEMENT_BLOCKQUOTE),
	    K("pre", ELEMENT_PRE),
	    K("dd", ELEMENT_BLOCK),
	    K("section", ELEMENT_BLOCK),
	    K("article", ELEMENT_BLOCK),
	    K("header", ELEMENT_BLOCK),
	    K("footer", ELEMENT_BLOCK),
	    K("address", ELEMENT_BLOCK),
	    K("center", ELEMENT_BLOCK),
	    K("dl", ELEMENT_BLOCK),
	    K("fieldset", ELEMENT_BLOCK),
	    K("form", ELEMENT_BLOCK),
	    K("nav", ELEMENT_BLOCK),
	    K("main", ELEMENT_BLOCK),
	    K("aside", ELEMENT_BLOCK),
	    K("dir", ELEMENT_LIST),
	    K("menu", ELEMENT_LIST),
#undef K
	};
	size_t len = strlen((const char *)name);
	unsigned char first =
	    name[0] >= 'A' && name[0] <= 'Z' ? (unsigned char)(name[0] | 0x20) : name[0];
	for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
		if (kinds[i].len == len && (unsigned char)kinds[i].name[0] == first &&
		    strcasecmp((const char *)name, kinds[i].name) == 0)
			return (enum element_kind)kinds[i].kind;
	return ELEMENT_OTHER;
}

/* Whether one of the class tokens in v (class="a b c") is word, ignoring case; with suffix_ok
 * also a token that ends in it (Yahoo writes "yahoo_quoted", and in a reply to a reply
 * "ydp1a2b3cyahoo_quoted"). */
static bool class_has(const xmlChar *v, const char *word, bool suffix_ok)
{
	size_t wl = strlen(word);
	for (const char *p = (const char *)v; *p;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f')
			p++;
		size_t tl = strcspn(p, " \t\n\r\f");
		if (tl == wl && strncasecmp(p, word, wl) == 0)
			return true;
		if (suffix_ok && tl > wl && strncasecmp(p + tl - wl, word, wl) == 0)
			return true;
		p += tl;
	}
	return false;
}

enum quote_kind {
	QUOTE_NONE,
	QUOTE_ELEMENT, /* this element (and what it holds) is the quote */
	QUOTE_REST,    /* this element and everything after it in the document */
};

/* Where the clients put the message replied to:
 *   Gmail        <div class="gmail_quote"> (attribution and <blockquote class="gmail_quote">)
 *   Apple, Thunderbird, most others   <blockquote type="cite">, or any <blockquote>
 *   Thunderbird  <div class="moz-cite-prefix"> (the attribution) before its blockquote
 *   Yahoo        <div class="yahoo_quoted">
 *   Proton       <div class="protonmail_quote">
 *   Outlook web  <div id="appendonsend"></div><hr><div id="divRplyFwdMsg"> (the header
 *                block), then the old message as siblings: everything from there on goes;
 *                new Outlook's <div id="mail-editor-reference-message-container"> likewise.
 * Ids get prefixes when a message is quoted again ("x_divRplyFwdMsg"): substring match. */
static enum quote_kind quote_kind(const xmlNode *n, enum element_kind kind)
{
	if (kind == ELEMENT_BLOCKQUOTE)
		return QUOTE_ELEMENT;
	/* No attribute, no id or class: an HTML document declares no attribute defaults (its
	 * parser reads no internal subset), so xmlGetProp() would find nothing. */
	if (!n->properties)
		return QUOTE_NONE;
	/* Each attribute read once (xmlGetProp() copies the value). */
	_cleanup_(xml_freep) xmlChar *id = xmlGetProp(n, (const xmlChar *)"id");
	if (id && (strcasestr((const char *)id, "divRplyFwdMsg") ||
	           strcasestr((const char *)id, "appendonsend") ||
	           strcasestr((const char *)id, "mail-editor-reference-message-container")))
		return QUOTE_REST;
	_cleanup_(xml_freep) xmlChar *cls = xmlGetProp(n, (const xmlChar *)"class");
	if (cls && (class_has(cls, "gmail_quote", false) ||
	            class_has(cls, "gmail_quote_container", false) ||
	            class_has(cls, "moz-cite-prefix", false) ||
	            class_has(cls, "yahoo_quoted", true) ||
	            class_has(cls, "protonmail_quote", false)))
		return QUOTE_ELEMENT;
	return QUOTE_NONE;
}

#define LIST_DEPTH_MAX 32

/* The layout under way: <pre> depth, the lists open, and the line that holds only a list
 * item's marker so far (a block opening inside the item starts no new line: "<li><p>x" is
 * "- x", as a mail client shows it). */
typedef struct layout {
	unsigned pre;
	size_t lists;                /* lists open, counted also past LIST_DEPTH_MAX */
	long next[LIST_DEPTH_MAX];   /* per list open: its next item's number, 0 for bullets */
	const strbuf *marked;        /* the buffer whose last line is a bare marker, or NULL */
	size_t marker_start, marker_end;
} layout;

static bool only_marker(const strbuf *b, const layout *lay)
{
	return lay->marked == b && b->len == lay->marker_end;
}

/* At least `want` line breaks at the end of b (none at its start). */
static void ensure_newlines(strbuf *b, size_t want, const layout *lay)
{
	if (b->len == 0 || only_marker(b, lay))
		return;
	while (b->len > 0 && b->s[b->len - 1] == ' ')
		b->s[--b->len] = '\0';
	size_t have = 0;
	while (have < b->len && b->s[b->len - 1 - have] == '\n')
		have++;
	for (; have < want; have++)
		strbuf_putc(b, '\n');
}

/* A byte put_text() does something with; the others go out as they are, a run at a time. */
static bool is_text_special(unsigned char c, bool pre)
{
	return c == 0xc2 || c == '\r' ||
	       (!pre && (c == ' ' || c == '\t' || c == '\n' || c == '\f'));
}

static void put_text(strbuf *b, const char *t, bool pre)
{
	for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
		const unsigned char *run = p;
		while (*run && !is_text_special(*run, pre))
			run++;
		if (run > p) {
			strbuf_add(b, p, (size_t)(run - p));
			p = run;
			if (!*p)
				break;
		}
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

/* An <ol>'s first number: its start="N", else 1. */
static long list_start(const xmlNode *n)
{
	_cleanup_(xml_freep) xmlChar *v = xmlGetProp(n, (const xmlChar *)"start");
	if (!v)
		return 1;
	char *end;
	long k = strtol((const char *)v, &end, 10);
	return end != (char *)v && k >= 0 && k < 1000000 ? k : 1;
}

/* A list item's marker on a line of its own: "3. " in a numbered list, else "- ". These are
 * bullets to the answer grammar, so each item of a list of ideas is an idea of its own. */
static void open_item(strbuf *b, layout *lay)
{
	ensure_newlines(b, 1, lay);
	lay->marker_start = b->len;
	long *next = lay->lists > 0 && lay->lists <= LIST_DEPTH_MAX ? &lay->next[lay->lists - 1]
	                                                            : NULL;
	if (next && *next > 0)
		strbuf_printf(b, "%ld. ", (*next)++);
	else
		strbuf_puts(b, "- ");
	lay->marked = b;
	lay->marker_end = b->len;
}

/* What an element does to the layout where it opens and where it closes. */
static void element_edge(strbuf *b, const xmlNode *n, enum element_kind kind, bool opening,
			 layout *lay)
{
	switch (kind) {
	case ELEMENT_BR:
		if (opening) {
			while (b->len > 0 && b->s[b->len - 1] == ' ')
				b->s[--b->len] = '\0';
			strbuf_putc(b, '\n');
		}
		break;
	case ELEMENT_P:
		ensure_newlines(b, 2, lay);
		break;
	case ELEMENT_LI:
		if (opening)
			open_item(b, lay);
		else {
			if (only_marker(b, lay)) /* an empty item: no bare bullet */
				b->len = lay->marker_start, b->s[b->len] = '\0';
			ensure_newlines(b, 1, lay);
		}
		break;
	case ELEMENT_BLOCK:
	case ELEMENT_BLOCKQUOTE:
		ensure_newlines(b, 1, lay);
		break;
	case ELEMENT_OL:
	case ELEMENT_LIST:
		ensure_newlines(b, 1, lay);
		if (opening && lay->lists++ < LIST_DEPTH_MAX)
			lay->next[lay->lists - 1] = kind == ELEMENT_OL ? list_start(n) : 0;
		else if (!opening && lay->lists > 0)
			lay->lists--;
		break;
	case ELEMENT_PRE:
		ensure_newlines(b, 1, lay);
		lay->pre = opening ? lay->pre + 1 : (lay->pre ? lay->pre - 1 : 0);
		break;
	case ELEMENT_OTHER:
	case ELEMENT_SKIPPED:
		break;
	}
}

/* An element into the tree with only the attributes read here (id and class in
 * quote_kind(), start in list_start()): the rest (style="…" on every element of an
 * Outlook or Gmail mail, a third of the tree's nodes) would be built and freed unread.
 * The parser has taken out a repeated attribute already and lowercased the names; the
 * tree's shape, which its recovery rules look at, is the same. */
static void start_element(void *ctx, const xmlChar *name, const xmlChar **atts)
{
	const xmlChar *kept[7];
	size_t k = 0;
	for (size_t i = 0; atts && atts[i] && k < 6; i += 2) {
		const char *a = (const char *)atts[i];
		if (strcmp(a, "id") == 0 || strcmp(a, "class") == 0 || strcmp(a, "start") == 0) {
			kept[k++] = atts[i];
			kept[k++] = atts[i + 1];
		}
	}
	kept[k] = NULL;
	xmlSAX2StartElement(ctx, name, k ? kept : NULL);
}

/* h parsed (NULL when empty or too large): the walks below only read the tree, so one parse
 * serves a reply's text and, when nothing is outside its quotes, the whole text.
 *
 * The text is UTF-8 whatever the document's <meta charset> says (the part's charset was
 * converted already). Named as the encoding, "UTF-8" makes libxml2 2.9 run the input through
 * its UTF-8 "converter", a copy made 250 bytes at a time as the parser asks for more (a tenth
 * of its work on a mail's HTML). Valid UTF-8 (what mime.c always gives) is parsed as it is
 * instead: libxml2's default is UTF-8, HTML_PARSE_IGNORE_ENC makes it ignore <meta>, and a
 * byte order mark is skipped either way. Invalid UTF-8 keeps the converter, as without it
 * libxml2 would read the whole document as Latin-1 at the first bad byte. */
static htmlDocPtr html_parse(const char *h, size_t len)
{
	if (len == 0 || len > INT_MAX)
		return NULL;
	int options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
		      HTML_PARSE_NONET | HTML_PARSE_COMPACT;
	if (!mail_utf8_valid(h, len))
		return htmlReadMemory(h, (int)len, NULL, "UTF-8", options);

	/* What htmlReadMemory() does (libxml2 2.9: a memory parser context, the HTML SAX
	 * handler, the options, the parse, the document taken from the context), with the one
	 * difference of start_element(). */
	xmlInitParser();
	htmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt(h, (int)len);
	if (!ctxt)
		return NULL;
	htmlDefaultSAXHandlerInit();
	if (ctxt->sax) {
		memcpy(ctxt->sax, xml_lib()->__htmlDefaultSAXHandler(), sizeof(xmlSAXHandlerV1));
		ctxt->sax->startElement = start_element;
	}
	htmlCtxtUseOptions(ctxt, options | HTML_PARSE_IGNORE_ENC);
	ctxt->html = 1;
	htmlParseDocument(ctxt);
	htmlDocPtr doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	if (ctxt->dictNames && doc && doc->dict == ctxt->dict)
		ctxt->dict = NULL;
	xmlFreeParserCtxt(ctxt);
	return doc;
}

static void html_free(htmlDocPtr doc)
{
	if (doc)
		xmlFreeDoc(doc);
}

/* The text of doc; with cut, the quoted message goes there instead (what the reply left
 * out), laid out the same way. */
static char *html_doc_to_text(htmlDocPtr doc, bool drop_quotes, char **ret_cut)
{
	strbuf kept = {}, quoted = {};
	strbuf *out = &kept;
	const xmlNode *in_quote = NULL; /* the quote element being walked, into `quoted` */
	bool rest = false;              /* from here on everything is the quote */

	xmlNode *top = doc ? xmlDocGetRootElement(doc) : NULL;
	layout lay = {};

	/* Depth first, iteratively: enter a node, go down, and on the way back up close the
	 * elements entered. */
	for (xmlNode *n = top; n;) {
		bool descend = false;
		if (n->type == XML_ELEMENT_NODE) {
			enum element_kind kind = element_kind(n->name);
			enum quote_kind q =
			    drop_quotes && !in_quote && !rest ? quote_kind(n, kind) : QUOTE_NONE;
			if (q == QUOTE_REST && !ret_cut)
				break;
			if (q != QUOTE_NONE && !ret_cut)
				ensure_newlines(out, 1, &lay);
			else {
				if (q == QUOTE_REST)
					rest = true;
				else if (q == QUOTE_ELEMENT) {
					ensure_newlines(out, 1, &lay);
					in_quote = n;
				}
				if (rest || in_quote)
					out = &quoted;
				if (kind != ELEMENT_SKIPPED) {
					element_edge(out, n, kind, true, &lay);
					descend = n->children != NULL;
					if (!descend)
						element_edge(out, n, kind, false, &lay);
				}
				if (!descend && in_quote == n) {
					in_quote = NULL;
					out = rest ? &quoted : &kept;
				}
			}
		} else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) &&
			   n->content)
			put_text(out, (const char *)n->content, lay.pre > 0);

		if (descend) {
			n = n->children;
			continue;
		}
		while (n && n != top && !n->next) {
			n = n->parent;
			if (n && n->type == XML_ELEMENT_NODE)
				element_edge(out, n, element_kind(n->name), false, &lay);
			if (n && n == in_quote) {
				in_quote = NULL;
				out = rest ? &quoted : &kept;
				ensure_newlines(&quoted, 2, &lay);
			}
		}
		n = n && n != top ? n->next : NULL;
	}
	_cleanup_free_ char *s = strbuf_steal(&kept);
	_cleanup_free_ char *c = strbuf_steal(&quoted);
	if (ret_cut)
		*ret_cut = xstrdup(c ? strstrip(c) : "");
	return xstrdup(s ? strstrip(s) : "");
}

static char *html_to_text(const char *h, size_t len, bool drop_quotes, char **ret_cut)
{
	htmlDocPtr doc = html_parse(h, len);
	char *t = html_doc_to_text(doc, drop_quotes, ret_cut);
	html_free(doc);
	return t;
}

char *mail_html_to_text(const char *h, size_t len)
{
	return html_to_text(h, len, false, NULL);
}

/* Line breaks in a row: at most one blank line. */
static void squeeze_blank_lines(char *t)
{
	size_t w = 0;
	for (size_t r = 0; t[r]; r++)
		if (!(t[r] == '\n' && w >= 2 && t[w - 1] == '\n' && t[w - 2] == '\n'))
			t[w++] = t[r];
	t[w] = '\0';
}

char *mail_html_reply_split(const char *h, size_t len, char **ret_cut)
{
	_cleanup_free_ char *cut = NULL;
	htmlDocPtr doc = html_parse(h, len);
	char *t = html_doc_to_text(doc, true, &cut);
	if (*t) {
		html_free(doc);
		squeeze_blank_lines(t);
		squeeze_blank_lines(cut);
		if (ret_cut)
			*ret_cut = TAKE_PTR(cut);
		return t;
	}
	/* Nothing outside the quotes: keep everything, as reply_trim() keeps a quote alone. */
	free(t);
	if (ret_cut)
		*ret_cut = xstrdup("");
	t = html_doc_to_text(doc, false, NULL);
	html_free(doc);
	return t;
}

char *mail_html_reply_to_text(const char *h, size_t len)
{
	htmlDocPtr doc = html_parse(h, len);
	char *t = html_doc_to_text(doc, true, NULL);
	if (*t) {
		html_free(doc);
		/* A quote taken out between two blocks leaves its line breaks: one blank line at
		 * most, as where the quote was a paragraph. */
		size_t w = 0;
		for (size_t r = 0; t[r]; r++)
			if (!(t[r] == '\n' && w >= 2 && t[w - 1] == '\n' && t[w - 2] == '\n'))
				t[w++] = t[r];
		t[w] = '\0';
		return t;
	}
	/* Nothing outside the quotes: keep everything, as reply_trim() keeps a quote alone. */
	free(t);
	t = html_doc_to_text(doc, false, NULL);
	html_free(doc);
	return t;
}
