/* web-cache: rendered round pages, kept while what they were made from has not changed.
 *
 * A round page (/c/CAMPAIGN/ROUND/OCCURRENCE) is the same for every member (it names
 * nobody by who asks) and costs a digest computation over the occurrence's answers: at
 * 1,000 answers, milliseconds. It is made from files in the store and the templates, the
 * configuration, and the day (the digest's date). Its stamp is the status (device, inode,
 * size, modification time in ns) of each file it reads:
 *   - campaigns/C/state.json (the round's state, occurrence, ballot);
 *   - the round's directory and every answers.jsonl in it (the occurrence, and the earlier
 *     ones the sparklines read); for a vote round, its source round's too (the ballot);
 *   - round.html and layout.html in every template directory;
 * and the UTC day. The store appends (size and time change) or replaces whole files by
 * rename (a new inode), so a page whose stamp is unchanged is the page that would be made
 * now; a page made from a file changed in the last two seconds is not kept, since file
 * times are only as fine as the kernel's tick. A reload (web_reconfigure(): a new configuration) empties the cache. Partials an
 * override of round.html adds besides layout.html are not watched: a reload shows their
 * change. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "util.h"
#include "web-private.h"

typedef struct page_stamp {
	strbuf b;
	time_t newest; /* the latest modification or change time seen */
} page_stamp;

static void stamp_file(page_stamp *s, const char *path)
{
	strbuf *b = &s->b;
	struct stat st;
	if (stat(path, &st) < 0) {
		strbuf_puts(b, "-;");
		return;
	}
	if (st.st_mtim.tv_sec > s->newest)
		s->newest = st.st_mtim.tv_sec;
	if (st.st_ctim.tv_sec > s->newest)
		s->newest = st.st_ctim.tv_sec;
	strbuf_printf(b, "%llx:%llx:%llx:%llx.%lx;", (unsigned long long)st.st_dev,
	              (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
	              (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
}

static void stamp_round(channel *c, page_stamp *b, const char *campaign, const char *round)
{
	_cleanup_free_ char *dir = xasprintf("campaigns/%s/rounds/%s", campaign, round);
	_cleanup_free_ char *abs = xasprintf("%s/%s", store_root(c->st), dir);
	stamp_file(b, abs);
	char **occs = NULL;
	if (store_list(c->st, dir, &occs) < 0)
		return;
	for (char **o = occs; *o; o++) {
		_cleanup_free_ char *p = xasprintf("%s/%s/answers.jsonl", abs, *o);
		strbuf_printf(&b->b, "%s=", *o);
		stamp_file(b, p);
	}
	strv_free(occs);
}

char *web_page_stamp(channel *c, const coco_campaign *camp, const coco_round *r,
                     bool *ret_settled)
{
	page_stamp b = {0};
	strbuf_printf(&b.b, "%lld;", (long long)(clock_now() / 86400));
	_cleanup_free_ char *state = xasprintf("%s/campaigns/%s/state.json", store_root(c->st),
	                                       camp->id);
	stamp_file(&b, state);
	stamp_round(c, &b, camp->id, r->id);
	if (r->kind == ROUND_VOTE && r->source)
		stamp_round(c, &b, camp->id, r->source);
	for (char **d = c->dirs; d && *d; d++) {
		static const char *const names[] = {"round.html", "layout.html"};
		for (size_t i = 0; i < ELEMENTSOF(names); i++) {
			_cleanup_free_ char *p = xasprintf("%s/%s", *d, names[i]);
			stamp_file(&b, p);
		}
	}
	/* File times are coarse (a kernel tick): two writes within one tick of the same size
	 * could look alike. A page made from a file changed in the last two seconds is not
	 * kept (as git treats an index entry as racy). */
	*ret_settled = b.newest < time(NULL) - 1;
	return strbuf_steal(&b.b);
}

const char *web_cache_get(channel *c, const char *key, const char *stamp)
{
	for (size_t i = 0; i < WEB_CACHE_MAX; i++) {
		web_cached *e = &c->cache[i];
		if (e->key && STREQ(e->key, key)) {
			if (!STREQ(e->stamp, stamp))
				return NULL;
			e->used = ++c->cache_clock;
			return e->html;
		}
	}
	return NULL;
}

static void entry_clear(web_cached *e)
{
	free(e->key);
	free(e->stamp);
	free(e->html);
	*e = (web_cached){0};
}

void web_cache_put(channel *c, const char *key, const char *stamp, const char *html)
{
	web_cached *slot = NULL;
	for (size_t i = 0; i < WEB_CACHE_MAX && !slot; i++)
		if (c->cache[i].key && STREQ(c->cache[i].key, key))
			slot = &c->cache[i];
	for (size_t i = 0; i < WEB_CACHE_MAX && !slot; i++)
		if (!c->cache[i].key)
			slot = &c->cache[i];
	if (!slot) { /* the one used longest ago goes */
		slot = &c->cache[0];
		for (size_t i = 1; i < WEB_CACHE_MAX; i++)
			if (c->cache[i].used < slot->used)
				slot = &c->cache[i];
	}
	entry_clear(slot);
	slot->key = xstrdup(key);
	slot->stamp = xstrdup(stamp);
	slot->html = xstrdup(html);
	slot->used = ++c->cache_clock;
}

void web_cache_clear(channel *c)
{
	for (size_t i = 0; i < WEB_CACHE_MAX; i++)
		entry_clear(&c->cache[i]);
}
