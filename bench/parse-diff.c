/* The parser's differential check (issue 10.8): a dump of everything the email channel reads
 * out of a mail, for the mails under the directories given and for generated variants of
 * them, so that the dump of one build can be compared byte for byte with another's (an
 * optimisation of mail_parse() or of the trimmer must not change what a member's answer is):
 *
 *   build/bench/parse-diff [-n N] [-s SEED] DIR... > dump
 *
 * For each input: mail_parse()'s result (and mail_parse_reason() when refused), every
 * accessor, mail_header_values() and mail_header_count() of the usual fields, the report
 * parts, mail_bounce(), mail_sender_authenticated(), every field of email_inbound_read()
 * (with and without [Mail] AuthServId=), and reply_trim()/reply_extract() of the body and of
 * the raw bytes. The variants (N per kind, default 400; the generator is seeded, so two builds
 * see the same inputs): line ends switched, header names' case changed, encoded words and
 * 8-bit text in From and Subject, odd white space and folding, duplicate From fields,
 * malformed header lines, the blank line after the header section dropped, an HTML-only body,
 * transfer encodings and charsets, a multipart/alternative, byte-level mutations, plain
 * mails in the forms mime-head.c reads and their near misses, HTML-only mails of tag soup
 * (mime-html.c's layout), from bodies, shuffled and case-changed lines, and (last, so that
 * the others stay as they were for a seed) multipart/alternative mails in the forms
 * mime-parts.c reads and their near misses. The seed's lowest bit is set: seeds 2 and 3 are
 * one. Never fails on a difference: diff the dumps. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "email/auth-results.h"
#include "email/bounce.h"
#include "email/message.h"
#include "email/mime-raw.h"
#include "email/mime-reason.h"
#include "email/mime.h"
#include "email/reply.h"
#include "util.h"

typedef struct input {
	char *data;
	size_t len;
	bool body_only; /* a reply-trimmer corpus body */
} input;

static input *inputs;
static size_t n_inputs, cap_inputs;

static void add(char *data, size_t len, bool body_only)
{
	if (n_inputs == cap_inputs) {
		cap_inputs = cap_inputs ? cap_inputs * 2 : 256;
		inputs = xrealloc(inputs, cap_inputs * sizeof *inputs);
	}
	inputs[n_inputs++] = (input){data, len, body_only};
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under dir, in name order (so both builds read the same sequence). */
static void load_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "parse-diff: %s: %m\n", dir);
		exit(1);
	}
	char **names = NULL;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			strv_push(&names, xstrdup(de->d_name));
	closedir(d);
	size_t n = strv_length(names);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	bool body_only = strstr(dir, "reply-trimmer") != NULL;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			load_dir(path);
			continue;
		}
		char *data = NULL;
		size_t len = 0;
		if (S_ISREG(st.st_mode) && read_file(path, 64 << 20, &data, &len) >= 0)
			add(data, len, body_only);
	}
	strv_free(names);
}

/* ---- the generator: xorshift, seeded ---- */
static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t pick(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

#define ONE_OF(a) ((a)[pick(ELEMENTSOF(a))])

static const char *const names[] = {
    "Ana", "\"Lee, Tom\"", "=?utf-8?q?J=C3=BCrgen_M=C3=BCller?=", "=?iso-8859-1?b?Suxy9G1l?=",
    "Jérôme Dupont", "\"\"", "  spaced   name  ", "=?utf-8?q?broken", "(comment) Ana",
    "Ana (the boss)", "=?koi8-r?b?7sHUwdvB?=", "\"quoted \\\"inner\\\"\"", "Zoë\t Tab",
    "=?UTF-8?B?w6lsw6h2ZQ==?= =?UTF-8?B?IGFn?=", "", "Ma\xe9lle", "a.b", "=?\?=",
};
static const char *const addrs[] = {
    "ana@client.example", "Ana@Client.EXAMPLE", "mailer-daemon@mx.example",
    "postmaster@mx.example", "\"odd local\"@client.example", "no-at-sign", "a@b",
    "x+tag@sub.client.example", "", "@nolocal.example", "user@[192.0.2.1]",
};
static const char *const subjects[] = {
    "Re: [Survey] Pulse", "=?utf-8?q?Re:_Umfrage_=C3=BCber?=", "Automatic reply: Pulse",
    "Out of Office", "Re: Re: Fwd: pulse", "", "  lots   of   space  ", "Ma\xe7 subject",
    "=?utf-8?b?UmU6IMOpdMOpIGNoYXVk?=", "Re:\t tabbed", "=?x-unknown?q?abc?=",
    "Réponse automatique", "=?utf-8?q?a?= =?utf-8?q?b?=", "line\r\n folded subject",
};
static const char *const dates[] = {
    "Mon, 2 Dec 2024 10:11:12 +0100", "2 Dec 2024 10:11 -0000", "Tue, 31 Feb 2024 25:61:00 +9999",
    "garbage", "Wed, 01 Jan 1969 00:00:00 +0000", "Thu, 3 Dec 2026 04:05:06 GMT",
    "Fri, 4 Dec 2026 04:05:06 +0130 (CET)", "",
};
static const char *const ids[] = {
    "<abc@client.example>", "<coco-1.6pwm3g5veetjgitv@provider.example>", "abc@noangle",
    "<a@b> <c@d>", "<>", "<broken", "<x@y>(comment)", "",
};
static const char *const extra_fields[] = {
    "Auto-Submitted: auto-replied", "Auto-Submitted: no", "Precedence: bulk",
    "X-Precedence: list", "List-Id: <list.example>", "X-Mailer: vacation 1.2",
    "X-Mailer: Mutt", "Return-Path: <>", "Return-Path: <ana@client.example>",
    "X-Auto-Response-Suppress: All", "X-Autoreply: yes", "Delivered-To: coco+6pwm3g5veetjgitv@provider.example",
    "Authentication-Results: mx.provider.example; dmarc=pass header.from=client.example",
    "Authentication-Results: mx.provider.example; dkim=pass header.d=client.example",
    "Authentication-Results: other.example; dmarc=pass header.from=client.example",
    "Received: from a by b; Mon, 2 Dec 2024 10:11:12 +0100", "X-FC-MachineGenerated: true",
    "Content-Disposition: inline", "MIME-Version: 1.0", "Keywords: a, b",
    "Comments: (x)", "Resent-From: bob@client.example", "Sender: bob@client.example",
    "X-MS-Exchange-Inbox-Rules-Loop: ana@client.example", "List-Unsubscribe: <mailto:u@x>",
    "Bcc:", "Cc: undisclosed-recipients:;", "To: group: a@b, c@d;", "In-Reply-To: <a@b> <c@d>",
    "References: <r1@x>\r\n <r2@x>", "Message-ID: <second@dup>", "From: second@dup.example",
    "Subject: second subject", "Date: Tue, 3 Dec 2024 10:11:12 +0000",
    "Content-Language: en-GB", "content-language: de-DE,\r\n fr", "Content-ID: <part1@x>",
    "Content-ID: broken", "Content-Description: a (b) \"c\"", "Content-Location: http://x/",
    "Content-Foo: bar", "Content-Disposition: inline; filename=x.txt", "Content-Language: \"",
    "Content-: empty", "Content-Dispositio: attachment", "CONTENT-DISPOSITION: attachment",
};
static const char *const ctypes[] = {
    "text/plain; charset=utf-8", "text/plain; charset=iso-8859-1", "text/plain",
    "TEXT/PLAIN; CHARSET=\"UTF-8\"", "text/html; charset=utf-8", "text/plain; charset=koi8-r",
    "text/plain; charset=x-bogus", "text/plain; format=flowed; delsp=yes", "application/pdf",
    "text/plain; charset=windows-1252", "text/enriched", "text/plain;",
};
static const char *const encodings[] = {"", "7bit", "8bit", "quoted-printable", "base64", "binary", "x-uu"};

static const char *const tokens[] = {
    ":", "<", ">", "\r\n", "\n", " ", "\t", "=?utf-8?q?", "?=", "\"", "(", ")", ",", "@",
    ";", "\\", "=", "=\r\n", "\r\n\r\n", "\n ", "\xc3\xa9", "\xff", "--", "boundary=",
    "Content-Type: multipart/mixed; boundary=b\r\n", "> ", "On Mon, Ana wrote:\n", "-- \n",
};

static void base64(strbuf *b, const char *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		strbuf_putc(b, tab[(v >> 18) & 63]);
		strbuf_putc(b, tab[(v >> 12) & 63]);
		strbuf_putc(b, i + 1 < n ? tab[(v >> 6) & 63] : '=');
		strbuf_putc(b, i + 2 < n ? tab[v & 63] : '=');
		if ((col += 4) >= 72) {
			strbuf_puts(b, "\r\n");
			col = 0;
		}
	}
	strbuf_puts(b, "\r\n");
}

static void qp(strbuf *b, const char *s, size_t n)
{
	size_t col = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') {
			strbuf_puts(b, "\r\n");
			col = 0;
			continue;
		}
		if (col > 70) {
			strbuf_puts(b, "=\r\n");
			col = 0;
		}
		if (c == '=' || c >= 0x7f || (c < 0x20 && c != '\t'))
			strbuf_printf(b, "=%02X", c), col += 3;
		else
			strbuf_putc(b, (char)c), col++;
	}
}

/* Some body text: a corpus body, or lines of one. */
static const char *some_body(size_t *ret_len)
{
	for (int tries = 0; tries < 50; tries++) {
		input *in = &inputs[pick(n_inputs)];
		if (!in->body_only)
			continue;
		*ret_len = in->len;
		return in->data;
	}
	*ret_len = 11;
	return "Yes, fine.\n";
}

/* Body lines of s shuffled (some), case-changed (some), line ends CRLF (some). */
static char *mangle_body(const char *s, size_t len)
{
	char **lines = NULL;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) : len;
		strv_push(&lines, xstrndup(s + i, e - i));
		i = e + 1;
	}
	size_t n = strv_length(lines);
	int how = (int)pick(8);
	if ((how & 1) && n > 1)
		for (size_t k = 0; k < n / 3 + 1; k++) {
			size_t a = pick(n), c = pick(n);
			char *t = lines[a];
			lines[a] = lines[c];
			lines[c] = t;
		}
	strbuf b = {0};
	for (size_t i = 0; i < n; i++) {
		char *l = lines[i];
		if ((how & 2) && pick(3) == 0)
			for (char *p = l; *p; p++)
				if (*p >= 'a' && *p <= 'z')
					*p = (char)(*p - 32);
		if ((how & 4) && pick(3) == 0)
			for (char *p = l; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p + 32);
		if (pick(12) == 0)
			strbuf_puts(&b, ONE_OF(((const char *const[]){"  ", "\t", "> ", ">> ", "\xd0\x9f", "\xc3\x89"})));
		strbuf_puts(&b, l);
		if (pick(15) == 0)
			strbuf_puts(&b, ONE_OF(((const char *const[]){" ", ":", " -", "\t", ",", " wrote:"})));
		strbuf_puts(&b, (how & 1) && pick(2) ? "\r\n" : "\n");
	}
	strv_free(lines);
	return strbuf_steal(&b);
}

/* A generated mail: header fields picked from the tables above, a body in some encoding. */
static char *gen_mail(size_t *ret_len)
{
	strbuf b = {0};
	const char *nl = pick(4) ? "\r\n" : "\n";
	int nfrom = pick(10) == 0 ? 2 : pick(20) == 0 ? 0 : 1;
	for (int i = 0; i < nfrom; i++) {
		const char *name = ONE_OF(names), *addr = pick(5) ? addrs[0] : ONE_OF(addrs);
		switch (pick(4)) {
		case 0:
			strbuf_printf(&b, "From: %s%s", addr, nl);
			break;
		case 1:
			strbuf_printf(&b, "From: %s <%s>%s", name, addr, nl);
			break;
		case 2:
			strbuf_printf(&b, "from:%s%s%s <%s>%s", pick(2) ? "\t" : "", name, nl[1] ? "\r\n " : "\n ", addr, nl);
			break;
		default:
			strbuf_printf(&b, "From: %s <%s>, %s%s", name, addr, ONE_OF(addrs), nl);
		}
	}
	if (pick(6))
		strbuf_printf(&b, "To: %s%s%s", pick(2) ? "coco+6pwm3g5veetjgitv@provider.example" : "\"Coco\" <coco+6pwm3g5veetjgitv@provider.example>, x@y", nl, "");
	if (pick(3) == 0)
		strbuf_printf(&b, "Cc: %s, %s%s", ONE_OF(addrs), ONE_OF(addrs), nl);
	if (pick(4) == 0)
		strbuf_printf(&b, "Reply-To: %s%s", ONE_OF(addrs), nl);
	if (pick(8))
		strbuf_printf(&b, "%s: %s%s", pick(5) ? "Subject" : "SUBJECT", ONE_OF(subjects), nl);
	if (pick(4))
		strbuf_printf(&b, "Message-ID: %s%s", ONE_OF(ids), nl);
	if (pick(2))
		strbuf_printf(&b, "In-Reply-To: %s%s", ONE_OF(ids), nl);
	if (pick(3) == 0)
		strbuf_printf(&b, "References: %s %s%s", ONE_OF(ids), ONE_OF(ids), nl);
	if (pick(2))
		strbuf_printf(&b, "Date: %s%s", ONE_OF(dates), nl);
	for (size_t k = pick(4); k > 0; k--)
		strbuf_printf(&b, "%s%s", ONE_OF(extra_fields), nl);
	if (pick(12) == 0)
		strbuf_printf(&b, "%s%s", ONE_OF(((const char *const[]){"no colon here", " leading space: x", "Bad Name: y", ":empty", "X-Long: " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})), nl);
	size_t blen;
	const char *body0 = some_body(&blen);
	_cleanup_free_ char *body = mangle_body(body0, blen);
	int shape = (int)pick(6);
	if (shape == 5) {
		strbuf_printf(&b, "MIME-Version: 1.0%sContent-Type: multipart/alternative; boundary=\"=b=\"%s%s", nl, nl, nl);
		strbuf_printf(&b, "--=b=%sContent-Type: text/plain; charset=utf-8%s%s%s%s", nl, nl, nl, body, nl);
		strbuf_printf(&b, "--=b=%sContent-Type: text/html; charset=utf-8%s%s<p>%s</p>%s--=b=--%s", nl, nl, nl, body, nl, nl);
	} else {
		const char *ct = ONE_OF(ctypes), *enc = ONE_OF(encodings);
		if (pick(5))
			strbuf_printf(&b, "Content-Type: %s%s", ct, nl);
		if (*enc)
			strbuf_printf(&b, "Content-Transfer-Encoding: %s%s", enc, nl);
		if (pick(20) == 0)
			strbuf_printf(&b, "Content-Disposition: attachment; filename=a.txt%s", nl);
		if (pick(15))
			strbuf_puts(&b, nl); /* else no blank line after the header section */
		bool html = strstr(ct, "html") != NULL;
		_cleanup_free_ char *text = html ? xasprintf("<html><body><div>%s</div><blockquote>quoted<br>text</blockquote></body></html>", body) : xstrdup(body);
		if (STREQ(enc, "base64"))
			base64(&b, text, strlen(text));
		else if (STREQ(enc, "quoted-printable"))
			qp(&b, text, strlen(text));
		else
			strbuf_puts(&b, text);
	}
	*ret_len = b.len;
	return strbuf_steal(&b);
}

/* A mail of the plain kind most replies are (mime-head.c reads those without libetpan),
 * its fields in the usual forms and their near misses: names with dots, apostrophes, 8-bit
 * letters, lists, ids, dates with and without weekday or seconds, zones, charsets quoted or
 * not, folded subjects and trace fields, duplicates now and then. */
static char *gen_plain_mail(size_t *ret_len)
{
	static const char *const words[] = {
	    "Ana", "Lee", "J.", "O'Neil", "M\xc3\xbcller", "van", "de_la", "Jean-Luc", "X", "a.b",
	    "Zo\xc3\xab", "Q", "=?utf-8?q?J=C3=BC?=", "(c)", "\"Q\"", "Ana,", "@", "<",
	    "=?UTF-8?B?0J7Qu9GM0LPQsA==?=", "=?iso-8859-1?Q?J=F6rg?=", "=?utf-8?x?abc?=",
	    "=?utf-8?q?a b?=", "=?utf-8?q?a?=b", "a=?utf-8?q?b?=", "=?utf8?q?x?=", "=?utf-8?q?\?=",
	    "=?utf-8?q?x?= =?UTF-8?Q?y?=", "\"=?utf-8?q?x?=\"", "=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=",
	    "=?koi8-r?b?7sHUwdvB?=", "=?x?q?=3F?=", "=?utf-8*en?q?x?=", "=?utf-8?q?x",
	    "\"Example, Bob\"", "\"a  b\"", "\" a \"", "\"\"", "\"a\\\"b\"", "\"x\"y", "\"open",
	    "\"tab\there\"", "\"Zo\xc3\xab\"", "\"a@b.example\"", "\"(c)\"", "\"=?utf-8?q?x?=\"",
	    "\"<a@b>\"", "\";:,\"",
	};
	static const char *const locals[] = {"ana", "a.b", "x+tag", "bounce=x=y", "o'neil", "A_B",
					     "j-l", "coco+6pwm3g5veetjgitv", "us er", "a..b"};
	static const char *const domains[] = {"client.example", "Client.Example", "a-b.example",
					      "provider.example", "x", "[192.0.2.1]", "a_b.example"};
	static const char *const days[] = {"Mon, ", "Sun, ", "", "", "Thu,", "mon, ", "Xyz, "};
	static const char *const months[] = {"Jan", "Feb", "Dec", "Jul", "dec", "Foo"};
	static const char *const zones[] = {"+0100", "-0000", "+0000", "-0830", "GMT", "+100",
					    "+01000", "", "+0100 (CET)", "EST"};
	static const char *const cts[] = {
	    "text/plain", "text/plain; charset=utf-8", "text/plain; charset=\"UTF-8\"",
	    "text/plain; charset=iso-8859-1; format=flowed", "TEXT/Plain;charset=us-ascii",
	    "text/html; charset=utf-8", "text/enriched", "text/plain; charset=utf-8;",
	    "text/plain; charset=\"utf 8\"", "text/plain;\tcharset=utf-8", "text/plain; name=a.txt",
	    "text/plain; charset=windows-1252", "text/plain; charset=koi8-r",
	    "multipart/mixed; boundary=x", "application/octet-stream",
	};
	static const char *const ctes[] = {"7bit", "8bit", "quoted-printable", "base64", "BASE64",
					   "binary", "7bit ", "x-uuencode", "7bits"};
	const char *nl = pick(3) ? "\r\n" : "\n";
	/* half of them clean: every choice among the first, usual forms */
	bool clean = pick(2);
#define PICK(a, usual) (clean ? (a)[pick(usual)] : ONE_OF(a))
	strbuf b = {0};
	size_t nf = 0;
	const char *order[12];
	/* the fields, shuffled a little */
	static const char *const kinds[] = {"From", "To", "Cc", "Subject", "Message-ID", "Date",
					    "In-Reply-To", "References", "Content-Type",
					    "Content-Transfer-Encoding", "MIME-Version", "X"};
	for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
		if (k == 0 || pick(4))
			order[nf++] = kinds[k];
	for (size_t k = 0; k + 1 < nf; k++)
		if (pick(4) == 0) {
			const char *t = order[k];
			order[k] = order[k + 1];
			order[k + 1] = t;
		}
	for (size_t k = 0; k < nf; k++) {
		const char *f = order[k];
		for (int rep = !clean && pick(25) == 0 ? 2 : 1; rep > 0; rep--) {
			if (STREQ(f, "From") || STREQ(f, "To") || STREQ(f, "Cc")) {
				strbuf_printf(&b, "%s:%s", pick(20) ? f : "FROM", pick(15) ? " " : "  ");
				for (size_t a = 0, na = STREQ(f, "From") ? 1 + (pick(10) == 0) : 1 + pick(3); a < na; a++) {
					if (a)
						strbuf_puts(&b, pick(4) ? ", " : ",");
					const char *addr_l = pick(3) ? locals[0] : PICK(locals, 8);
					const char *addr_d = pick(3) ? domains[0] : PICK(domains, 4);
					switch (pick(4)) {
					case 0:
						strbuf_printf(&b, "%s@%s", addr_l, addr_d);
						break;
					case 1:
						strbuf_printf(&b, "<%s@%s>", addr_l, addr_d);
						break;
					default:
						for (size_t w = 0, nw = 1 + pick(3); w < nw; w++)
							strbuf_printf(&b, "%s%s", w ? (pick(5) ? " " : "  ") : "", pick(3) ? words[pick(8)] : PICK(words, 8));
						strbuf_printf(&b, "%s<%s@%s>", pick(8) ? " " : "", addr_l, addr_d);
					}
				}
				if (pick(10) == 0)
					strbuf_puts(&b, " ");
			} else if (STREQ(f, "Subject")) {
				strbuf_printf(&b, "Subject: %s", ONE_OF(subjects));
				if (pick(6) == 0)
					strbuf_printf(&b, "%s\tand more", nl);
			} else if (STREQ(f, "Message-ID")) {
				strbuf_printf(&b, "Message-ID: %s", pick(4) ? "<m1.x@client.example>" : PICK(ids, 2));
			} else if (STREQ(f, "In-Reply-To") || STREQ(f, "References")) {
				strbuf_printf(&b, "%s: <coco-1.6pwm3g5veetjgitv@provider.example>%s", f,
					      pick(3) ? "" : pick(2) ? " <r2@x>" : "\t<r2@x> ");
			} else if (STREQ(f, "Date")) {
				strbuf_printf(&b, "Date: %s%d %s %d %02d:%02d%s %s", PICK(days, 4),
					      1 + (int)pick(31), PICK(months, 4),
					      pick(8) || clean ? 2026 : (int)pick(3000),
					      (int)pick(clean ? 24 : 26), (int)pick(clean ? 60 : 62),
					      pick(3) ? ":07" : "", PICK(zones, 4));
			} else if (STREQ(f, "Content-Type")) {
				strbuf_printf(&b, "Content-Type: %s", pick(3) ? cts[pick(3)] : PICK(cts, 7));
			} else if (STREQ(f, "Content-Transfer-Encoding")) {
				strbuf_printf(&b, "Content-Transfer-Encoding: %s", pick(3) ? "7bit" : PICK(ctes, 7));
			} else if (STREQ(f, "MIME-Version")) {
				strbuf_printf(&b, "MIME-Version: %s", pick(5) || clean ? "1.0" : "1.0 (Mac)");
			} else {
				strbuf_printf(&b, "%s", ONE_OF(extra_fields));
				if (pick(5) == 0)
					strbuf_printf(&b, "%s (folded)", nl);
			}
			strbuf_puts(&b, nl);
		}
	}
	strbuf_puts(&b, nl);
	size_t blen;
	const char *body0 = some_body(&blen);
	_cleanup_free_ char *body = mangle_body(body0, blen);
	if (strstr(b.s, "base64") || strstr(b.s, "BASE64"))
		base64(&b, body, strlen(body));
	else if (strstr(b.s, "quoted-printable"))
		qp(&b, body, strlen(body));
	else if (strstr(b.s, "text/html"))
		strbuf_printf(&b, "<div>%s</div><blockquote>q</blockquote>", body);
	else
		strbuf_puts(&b, body);
	/* and now and then a byte or two changed */
#undef PICK
	if (!clean && pick(6) == 0) {
		size_t tl = b.len, at = pick(tl), cut = pick(2) && at < tl;
		char *t = strbuf_steal(&b);
		strbuf_add(&b, t, at);
		strbuf_puts(&b, ONE_OF(tokens));
		strbuf_add(&b, t + at + cut, tl - at - cut);
		free(t);
	}
	*ret_len = b.len;
	return strbuf_steal(&b);
}

/* An HTML-only mail of tag soup: the elements mime-html.c lays out (blocks, lists with
 * start=, <br>, <pre>, the quote elements of the clients, script and style), in any case,
 * with and without attributes, unclosed, misnested, entities and non-breaking spaces. */
static char *gen_html_mail(size_t *ret_len)
{
	static const char *const tags[] = {
	    "div", "p", "br", "li", "ol", "ul", "pre", "blockquote", "span", "b", "table", "tr",
	    "td", "h1", "hr", "dir", "menu", "dl", "dt", "dd", "center", "script", "style", "title",
	    "head", "body", "html", "font", "a", "DIV", "P", "Br", "LI", "OL", "Blockquote", "PRE",
	    "section", "x-custom", "o:p", "img", "center", "address",
	};
	static const char *const attrs[] = {
	    "", "", "", " class=\"gmail_quote\"", " class=\"x gmail_quote_container\"",
	    " class=moz-cite-prefix", " class=\"ydp1a2byahoo_quoted\"", " class=protonmail_quote",
	    " id=\"divRplyFwdMsg\"", " id=x_appendonsend", " id=\"mail-editor-reference-message-container\"",
	    " type=\"cite\"", " start=\"3\"", " start=-2", " start=abc", " start=\"999999999\"",
	    " style=\"color:red\"", " dir=ltr", " class", " ID=DivRplyFwdMsg", " CLASS=GMAIL_QUOTE",
	    " class=\"\"", " id=\"\" class=\"yahoo_quoted\"",
	};
	static const char *const texts[] = {
	    "Yes", " fine ", "1: 4", "idea: more tea", "&amp;", "&nbsp;", "a&nbsp;&nbsp;b",
	    "\xc2\xa0", "  \n  ", "\t", "On Mon, Ana <a@b> wrote:", "&lt;p&gt;", "&#233;t&eacute;",
	    "line\r\nbreak", "Best regards,", "Ana", "> quoted", "", " ", "\n", "&unknown;",
	    "&#0;", "x < y", "<!-- c -->", "<![CDATA[z]]>", "Zo\xc3\xab",
	};
	strbuf b = {0};
	const char *nl = pick(3) ? "\r\n" : "\n";
	strbuf_printf(&b, "From: Ana <ana@client.example>%sSubject: Re: x%sMessage-ID: <h%zu@x>%s"
			  "Content-Type: text/html; charset=utf-8%s%s",
		      nl, nl, (size_t)pick(1000), nl, nl, nl);
	if (pick(3) == 0)
		strbuf_puts(&b, ONE_OF(((const char *const[]){"<!DOCTYPE html>", "<html>", "<html><head><title>t</title></head><body>", "<body>"})));
	const char *open[32];
	size_t depth = 0;
	for (size_t k = 0, nk = 3 + pick(40); k < nk; k++) {
		switch (pick(5)) {
		case 0:
		case 1:
			strbuf_puts(&b, ONE_OF(texts));
			break;
		case 2:
		case 3: {
			const char *t = ONE_OF(tags);
			strbuf_printf(&b, "<%s%s%s>", t, ONE_OF(attrs), pick(4) ? "" : ONE_OF(attrs));
			if (depth < ELEMENTSOF(open) && pick(4))
				open[depth++] = t;
			break;
		}
		default:
			if (depth > 0 && pick(6))
				strbuf_printf(&b, "</%s>", open[--depth]);
			else
				strbuf_printf(&b, "</%s>", ONE_OF(tags));
		}
	}
	while (depth > 0 && pick(3))
		strbuf_printf(&b, "</%s>", open[--depth]);
	strbuf_puts(&b, nl);
	*ret_len = b.len;
	return strbuf_steal(&b);
}

/* A mail of the corpus (not a body) changed a little. */
static char *mutate_mail(size_t *ret_len)
{
	input *in = NULL;
	for (int tries = 0; tries < 100 && !in; tries++) {
		input *c = &inputs[pick(n_inputs)];
		if (!c->body_only)
			in = c;
	}
	if (!in)
		return gen_mail(ret_len);
	strbuf b = {0};
	const char *s = in->data;
	size_t len = in->len;
	switch (pick(7)) {
	case 0: /* line ends switched */
		for (size_t i = 0; i < len; i++) {
			if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
				continue;
			if (s[i] == '\n')
				strbuf_putc(&b, '\r');
			strbuf_putc(&b, s[i]);
		}
		if (pick(2)) { /* and back to LF */
			char *t = strbuf_steal(&b);
			for (size_t i = 0; t[i]; i++)
				if (t[i] != '\r')
					strbuf_putc(&b, t[i]);
			free(t);
		}
		break;
	case 1: { /* header names' case */
		bool upper = pick(2);
		bool in_name = true;
		for (size_t i = 0; i < len; i++) {
			char c = s[i];
			if (c == ':')
				in_name = false;
			if (c == '\n')
				in_name = true;
			if (in_name && c >= 'a' && c <= 'z' && upper)
				c = (char)(c - 32);
			if (in_name && c >= 'A' && c <= 'Z' && !upper)
				c = (char)(c + 32);
			strbuf_putc(&b, c);
		}
		break;
	}
	case 2: /* a field put at the top */
		strbuf_printf(&b, "%s\r\n", ONE_OF(extra_fields));
		strbuf_add(&b, s, len);
		break;
	case 3: { /* the blank line after the header section dropped */
		const char *e = memmem(s, len, "\n\n", 2);
		const char *e2 = memmem(s, len, "\r\n\r\n", 4);
		size_t cut = e2 && (!e || e2 < e) ? (size_t)(e2 - s) + 2 : e ? (size_t)(e - s) + 1 : len;
		strbuf_add(&b, s, cut);
		if (cut < len)
			strbuf_add(&b, s + cut + (s[cut] == '\r' ? 2 : 1), len - cut - (s[cut] == '\r' ? 2 : 1));
		break;
	}
	case 4: { /* odd white space after colons in the header section */
		bool hdr = true;
		for (size_t i = 0; i < len; i++) {
			strbuf_putc(&b, s[i]);
			if (hdr && s[i] == '\n' && i + 1 < len && (s[i + 1] == '\n' || s[i + 1] == '\r'))
				hdr = false;
			if (hdr && s[i] == ':' && pick(2))
				strbuf_puts(&b, ONE_OF(((const char *const[]){"", "  ", "\t", " \r\n ", "\n\t"})));
		}
		break;
	}
	default: /* bytes changed, inserted or removed */
		strbuf_add(&b, s, len);
		for (size_t k = 1 + pick(4); k > 0 && b.len > 0; k--) {
			size_t at = pick(b.len), tl = b.len;
			char *t = strbuf_steal(&b);
			strbuf_add(&b, t, at);
			switch (pick(3)) {
			case 0:
				strbuf_puts(&b, ONE_OF(tokens));
				strbuf_add(&b, t + at, tl - at);
				break;
			case 1:
				if (at + 1 < tl)
					strbuf_add(&b, t + at + 1, tl - at - 1);
				break;
			default:
				strbuf_putc(&b, (char)(pick(255) + 1));
				if (at + 1 < tl)
					strbuf_add(&b, t + at + 1, tl - at - 1);
			}
			free(t);
		}
	}
	*ret_len = b.len;
	return strbuf_steal(&b);
}

/* ---- the dump ---- */
static void put_str(const char *label, const char *s)
{
	if (!s) {
		printf("%s: (null)\n", label);
		return;
	}
	printf("%s: %zu [", label, strlen(s));
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\\')
			fputs("\\\\", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	puts("]");
}

static void put_strv(const char *label, char *const *v)
{
	if (!v) {
		printf("%s: (null)\n", label);
		return;
	}
	printf("%s: %zu\n", label, strv_length(v));
	for (size_t i = 0; v[i]; i++)
		put_str("  -", v[i]);
}

static void dump_trim(const char *label, const char *body)
{
	_cleanup_free_ char *kept = NULL, *elided = NULL;
	int r = reply_trim(body, &kept, &elided);
	printf("%s reply_trim: %d\n", label, r);
	put_str(" kept", kept);
	put_str(" elided", elided);
	free(kept);
	free(elided);
	kept = elided = NULL;
	r = reply_extract(body, &kept, &elided);
	printf("%s reply_extract: %d\n", label, r);
	put_str(" kept", kept);
	put_str(" elided", elided);
}

static const char *const fields[] = {
    "From", "To", "Cc", "Reply-To", "Subject", "Message-ID", "In-Reply-To", "References",
    "Date", "Content-Type", "Content-Transfer-Encoding", "Return-Path", "Received",
    "Delivered-To", "Auto-Submitted", "X-Mailer", "Authentication-Results", "MIME-Version",
};

static void dump_inbound(const coco_config *cfg, const char *data, size_t len,
                         const mail_message *m)
{
	email_inbound *e = NULL;
	int r = email_inbound_read(cfg, data, len, m, &e);
	printf("inbound: %d\n", r);
	if (r < 0)
		return;
	put_str(" key", e->key);
	put_str(" from", e->from);
	put_str(" subject", e->subject);
	put_str(" text", e->text);
	put_str(" trimmed", e->trimmed);
	put_str(" message_id", e->message_id);
	put_str(" thread", e->thread);
	printf(" ref %d %s unsub %d %s\n", e->has_ref, e->has_ref ? e->ref : "", e->has_unsub,
	       e->has_unsub ? e->unsub : "");
	printf(" automatic %d bounce %d own %d verified %d nostranger %d\n", e->automatic,
	       e->is_bounce, e->from_own_domain, e->sender_verified, e->no_stranger_reply);
	if (e->is_bounce) {
		put_str(" b.address", e->bounce.address);
		put_str(" b.status", e->bounce.status);
		put_str(" b.diagnostic", e->bounce.diagnostic);
	}
	email_inbound_free(e);
}

static void dump(size_t no, const char *data, size_t len, bool body_only,
                 const coco_config *cfg, const coco_config *cfg_auth)
{
	printf("=== %zu (%zu bytes)\n", no, len);
	_cleanup_free_ char *z = xstrndup(data, len);
	if (body_only)
		dump_trim("body", z);
	mail_message *m = NULL;
	int r = mail_parse(data, len, &m);
	printf("mail_parse: %d\n", r);
	if (r < 0) {
		_cleanup_free_ char *why = mail_parse_reason(data, len, r);
		put_str("reason", why);
		return;
	}
	put_str("from", mail_from_address(m));
	put_str("from_name", mail_from_name(m));
	put_strv("to", mail_to(m));
	put_strv("cc", mail_cc(m));
	put_str("reply_to", mail_reply_to(m));
	put_str("subject", mail_subject(m));
	put_str("message_id", mail_message_id(m));
	put_str("in_reply_to", mail_in_reply_to(m));
	put_strv("references", mail_references(m));
	printf("date: %lld\n", (long long)mail_date(m));
	put_str("body", mail_body(m));
	put_str("body_cut", mail_body_cut(m));
	printf("automatic: %d\n", mail_is_automatic(m));
	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		char **v = mail_header_values(m, fields[i]);
		printf("count %s: %zu\n", fields[i], mail_header_count(m, fields[i]));
		put_strv(fields[i], v);
		strv_free(v);
	}
	put_str("report_type", mail_report_type(m));
	const struct mail_report_part *parts = NULL;
	size_t np = mail_report_parts(m, &parts);
	for (size_t i = 0; i < np; i++) {
		put_str(" part type", parts[i].type);
		printf(" part len %zu\n", parts[i].len);
		put_str(" part body", parts[i].body);
	}
	mail_bounce_info *b = NULL;
	r = mail_bounce(m, &b);
	printf("bounce: %d\n", r);
	if (r > 0) {
		for (size_t i = 0; i < b->n_recipients; i++) {
			put_str(" address", b->recipients[i].address);
			put_str(" original", b->recipients[i].original);
			put_str(" status", b->recipients[i].status);
			put_str(" diagnostic", b->recipients[i].diagnostic);
		}
		put_str(" original_message_id", b->original_message_id);
		put_str(" reporting_mta", b->reporting_mta);
		printf(" heuristic %d\n", b->heuristic);
	}
	mail_bounce_info_free(b);
	printf("authenticated: %d\n", mail_sender_authenticated(m, "mx.provider.example", NULL));
	dump_inbound(cfg, data, len, m);
	dump_inbound(cfg_auth, data, len, m);
	dump_trim("body", mail_body(m));
	if (!body_only)
		dump_trim("raw", z);
	mail_message_free(m);
}

/* multipart/alternative in the forms mime-parts.c reads and their near misses: boundaries
 * plain and quoted (with tspecials, white space, encoded words), preambles and epilogues,
 * parts of every text type and others, each transfer encoding, part headers with other
 * fields, folding, blank lines or none; delimiters with padding, a suffix, mid-line, missing,
 * doubled, at the end of the input without a line end. */
static char *gen_alt_mail(size_t *ret_len)
{
	static const char *const bounds[] = {
	    "b1", "000000000000a1b2c3d4e5f6", "_000_DB9PR01MB1234eurp_", "----=_Part_12_34.567",
	    "Apple-Mail=_1F2E3D4C", "a b", "x?=y", "=?utf-8?q?b?=", "b:c/d", "b1b1", "-", "b'(+,./)",
	};
	static const struct {
		const char *pre, *post; /* the boundary between them; NULL post: none */
	} tops[] = {
	    {"multipart/alternative; boundary=", ""}, {"Multipart/Alternative; Boundary=", ""},
	    {"multipart/alternative;\r\n\tboundary=", ""}, {"multipart/mixed; boundary=", ""},
	    {"multipart/related; boundary=", ""},
	    {"multipart/alternative; charset=utf-8; boundary=", ""}, {"multipart/alternative", NULL},
	    {"multipart/alternative; boundary=", "; boundary=zz"},
	    {"multipart/alternative;boundary=", ""}, {"multipart/alternative; boundary=", ";"},
	};
	static const char *const part_types[] = {
	    "text/plain; charset=utf-8", "text/plain; charset=\"iso-8859-1\"", "text/plain",
	    "text/html; charset=utf-8", "TEXT/HTML", "text/plain; format=flowed; delsp=yes",
	    "text/enriched", "image/png", "text/plain; charset=windows-1252", "application/pdf",
	};
	static const char *const part_ctes[] = {"", "7bit", "8bit", "quoted-printable", "base64",
						"Quoted-Printable", "x-uu"};
	static const char *const extras[] = {
	    "Content-Disposition: inline", "Content-Disposition: attachment; filename=a.txt",
	    "Content-ID: <x@y>", "X-Foo: bar", "content-type: text/plain", "Content-Type :text/plain",
	    "Content-Type: text/plain;\r\n charset=utf-8", "Content-Transfer-Encoding: 7bit",
	};
	const char *nl = pick(3) ? "\r\n" : "\n";
	const char *b = ONE_OF(bounds);
	bool quoted = pick(4) != 0;
	_cleanup_free_ char *bq = quoted ? xasprintf("\"%s\"", b) : xstrdup(b);
	strbuf m = {};
	strbuf_printf(&m, "From: Ana <ana@client.example>%sTo: coco+6pwm3g5veetjgitv@provider.example%s"
			  "Subject: Re: ideas%sMIME-Version: 1.0%s",
		      nl, nl, nl, nl);
	size_t top = pick(3) ? 0 : pick(ELEMENTSOF(tops));
	strbuf_printf(&m, "Content-Type: %s", tops[top].pre);
	if (tops[top].post)
		strbuf_printf(&m, "%s%s", bq, tops[top].post);
	strbuf_puts(&m, nl);
	if (!pick(5))
		strbuf_printf(&m, "Content-Transfer-Encoding: %s%s",
			      (const char *[]){"7bit", "8bit", "base64", "quoted-printable"}[pick(4)], nl);
	strbuf_puts(&m, nl);
	switch (pick(4)) {
	case 0:
		strbuf_printf(&m, "This is a multi-part message in MIME format.%s%s", nl, nl);
		break;
	case 1:
		strbuf_puts(&m, nl);
		break;
	case 2:
		if (!pick(4))
			strbuf_printf(&m, "x--%s%s", b, nl);
		break;
	default:
		break;
	}
	size_t parts = 1 + pick(3);
	for (size_t k = 0; k < parts; k++) {
		strbuf_printf(&m, "--%s", b);
		if (!pick(12))
			strbuf_puts(&m, ONE_OF(((const char *[]){" ", "\t", "X", "  ", "-"})));
		strbuf_puts(&m, nl);
		if (!pick(15))
			strbuf_puts(&m, nl);
		if (!pick(20))
			continue; /* an empty part */
		const char *t = k == 0 && pick(2) ? part_types[0] : ONE_OF(part_types);
		const char *cte = ONE_OF(part_ctes);
		if (pick(10))
			strbuf_printf(&m, "Content-Type: %s%s", t, nl);
		if (*cte)
			strbuf_printf(&m, "Content-Transfer-Encoding: %s%s", cte, nl);
		if (!pick(8))
			strbuf_printf(&m, "%s%s", ONE_OF(extras), nl);
		strbuf_puts(&m, nl);
		size_t bl;
		const char *body = some_body(&bl);
		if (strncasecmp(t, "text/html", 9) == 0) {
			_cleanup_free_ char *h = xasprintf("<div>%.*s</div><blockquote>old</blockquote>",
							   (int)(bl > 300 ? 300 : bl), body);
			body = NULL;
			if (strcasecmp(cte, "base64") == 0)
				base64(&m, h, strlen(h));
			else if (strcasecmp(cte, "quoted-printable") == 0)
				qp(&m, h, strlen(h));
			else
				strbuf_puts(&m, h);
		} else if (strcasecmp(cte, "base64") == 0)
			base64(&m, body, bl);
		else if (strcasecmp(cte, "quoted-printable") == 0)
			qp(&m, body, bl);
		else
			strbuf_add(&m, body, bl);
		if (!pick(10))
			strbuf_printf(&m, "%s--%s%s", nl, pick(2) ? b : "other", pick(2) ? "x" : "");
		if (pick(4))
			strbuf_puts(&m, nl);
	}
	switch (pick(8)) {
	case 0: /* no closing delimiter */
		break;
	case 1: /* at the end, without a line end */
		strbuf_printf(&m, "--%s--", b);
		break;
	case 2:
		strbuf_printf(&m, "--%s--  %sepilogue%s--%s%s", b, nl, nl, b, nl);
		break;
	default:
		strbuf_printf(&m, "--%s--%s", b, nl);
		if (!pick(3))
			strbuf_printf(&m, "epilogue%s", nl);
		break;
	}
	*ret_len = m.len;
	return strbuf_steal(&m);
}

int main(int argc, char **argv)
{
	log_set_max_level(LOG_ERR);
	size_t n_variants = 400;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (STREQ(argv[i], "-n") && i + 1 < argc)
			n_variants = strtoul(argv[++i], NULL, 10);
		else if (STREQ(argv[i], "-s") && i + 1 < argc)
			rng_state = strtoull(argv[++i], NULL, 10) | 1;
		else {
			fprintf(stderr, "usage: parse-diff [-n N] [-s SEED] DIR...\n");
			return 1;
		}
	}
	for (; i < argc; i++)
		load_dir(argv[i]);
	if (n_inputs == 0) {
		fprintf(stderr, "parse-diff: no input\n");
		return 1;
	}

	coco_setting from = {.section = "Mail", .key = "From", .value = "coco@provider.example"};
	coco_config cfg = {.settings = &from, .n_settings = 1};
	coco_setting auth[] = {
	    {.section = "Mail", .key = "From", .value = "coco@provider.example"},
	    {.section = "Mail", .key = "AuthServId", .value = "mx.provider.example"},
	};
	coco_config cfg_auth = {.settings = auth, .n_settings = ELEMENTSOF(auth)};

	size_t no = 0, n_files = n_inputs;
	for (size_t k = 0; k < n_files; k++) {
		dump(no++, inputs[k].data, inputs[k].len, inputs[k].body_only, &cfg, &cfg_auth);
		if (inputs[k].body_only) {
			/* the body as a mail, as the bench gives it */
			_cleanup_free_ char *m = xasprintf("From: Ana <ana@client.example>\r\n"
			                                   "To: coco+6pwm3g5veetjgitv@provider.example\r\n"
			                                   "Subject: Re: [Survey] Pulse\r\n"
			                                   "Content-Type: text/plain; charset=utf-8\r\n\r\n%s",
			                                   inputs[k].data);
			dump(no++, m, strlen(m), false, &cfg, &cfg_auth);
		}
	}
	for (size_t k = 0; k < n_variants; k++) {
		size_t len;
		_cleanup_free_ char *a = gen_mail(&len);
		dump(no++, a, len, false, &cfg, &cfg_auth);
		_cleanup_free_ char *c = mutate_mail(&len);
		dump(no++, c, len, false, &cfg, &cfg_auth);
		for (int p = 0; p < 2; p++) {
			_cleanup_free_ char *pm = gen_plain_mail(&len);
			dump(no++, pm, len, false, &cfg, &cfg_auth);
		}
		_cleanup_free_ char *hm = gen_html_mail(&len);
		dump(no++, hm, len, false, &cfg, &cfg_auth);
		size_t bl;
		const char *b0 = some_body(&bl);
		_cleanup_free_ char *body = mangle_body(b0, bl);
		dump(no++, body, strlen(body), true, &cfg, &cfg_auth);
	}
	/* after the others, so that their inputs stay as they were for a seed */
	for (size_t k = 0; k < n_variants; k++) {
		size_t len;
		_cleanup_free_ char *am = gen_alt_mail(&len);
		dump(no++, am, len, false, &cfg, &cfg_auth);
	}
	fprintf(stderr, "parse-diff: %zu inputs (%zu files, %zu generated)\n", no, n_files,
	        no - n_files);
	for (size_t k = 0; k < n_inputs; k++)
		free(inputs[k].data);
	free(inputs);
	return 0;
}
