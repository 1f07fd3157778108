/* json-print: see json-print.h. */
#include "json-print.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

/* json_print_string(): see json-print.h. */
void json_print_string(strbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	strbuf_putc(b, '"');
	if (s) {
		const char *run = s;
		for (const char *p = s; *p; p++) {
			unsigned char c = (unsigned char)*p;
			if (c >= 0x20 && c != '"' && c != '\\')
				continue;
			strbuf_add(b, run, (size_t)(p - run));
			run = p + 1;
			char esc[7] = {'\\', 0};
			size_t n = 2;
			switch (c) {
			case '"': esc[1] = '"'; break;
			case '\\': esc[1] = '\\'; break;
			case '\b': esc[1] = 'b'; break;
			case '\f': esc[1] = 'f'; break;
			case '\n': esc[1] = 'n'; break;
			case '\r': esc[1] = 'r'; break;
			case '\t': esc[1] = 't'; break;
			default:
				memcpy(esc + 1, "u00", 3);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				n = 6;
			}
			strbuf_add(b, esc, n);
		}
		strbuf_puts(b, run);
	}
	strbuf_putc(b, '"');
}

/* What "%1.15g" writes for d when d is a whole number of at most 15 digits: its digits,
 * without exponent, point or trailing zeros. Not for -0.0, which "%1.15g" writes "-0". */
static bool put_whole_number(strbuf *b, double d)
{
	if (!(d > -1e15 && d < 1e15) || d != floor(d) || (d == 0 && signbit(d)))
		return false;
	int64_t v = (int64_t)d;
	char buf[24], *p = buf + sizeof buf;
	uint64_t u = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	strbuf_add(b, p, (size_t)(buf + sizeof buf - p));
	return true;
}

static bool put_item(strbuf *b, const cJSON *it)
{
	switch (it->type & 0xff) {
	case cJSON_NULL:
		strbuf_puts(b, "null");
		return true;
	case cJSON_False:
		strbuf_puts(b, "false");
		return true;
	case cJSON_True:
		strbuf_puts(b, "true");
		return true;
	case cJSON_Number: {
		if (put_whole_number(b, it->valuedouble))
			return true;
		/* Fractions, NaN, huge values: cJSON's own digits. */
		cJSON *copy = cJSON_CreateNumber(it->valuedouble);
		char *s = copy ? cJSON_PrintUnformatted(copy) : NULL;
		cJSON_Delete(copy);
		if (!s)
			return false;
		strbuf_puts(b, s);
		cJSON_free(s);
		return true;
	}
	case cJSON_String:
		json_print_string(b, it->valuestring);
		return true;
	case cJSON_Raw:
		if (!it->valuestring)
			return false;
		strbuf_puts(b, it->valuestring);
		return true;
	case cJSON_Array:
	case cJSON_Object: {
		bool object = (it->type & 0xff) == cJSON_Object;
		strbuf_putc(b, object ? '{' : '[');
		for (const cJSON *c = it->child; c; c = c->next) {
			if (c != it->child)
				strbuf_putc(b, ',');
			if (object) {
				json_print_string(b, c->string);
				strbuf_putc(b, ':');
			}
			if (!put_item(b, c))
				return false;
		}
		strbuf_putc(b, object ? '}' : ']');
		return true;
	}
	default:
		return false;
	}
}

char *json_print_compact(const cJSON *item)
{
	if (!item)
		return NULL;
	/* Room for an answer's record at once: grown from strbuf's 64 bytes it took four
	 * reallocations. */
	strbuf b = {.s = xmalloc(512), .cap = 512};
	b.s[0] = 0;
	if (!put_item(&b, item)) {
		strbuf_done(&b);
		return NULL;
	}
	return strbuf_steal(&b);
}
