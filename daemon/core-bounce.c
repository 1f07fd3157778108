/* core-bounce: a delivery failure report about a message coco sent marks the member's address
 * as failing. Anyone can send a bounce naming any address, so one is believed only when its
 * reference (the reply tag in the original Message-ID, or the conversation index) leads to a
 * message coco sent to a member who has the failing address. Believed bounces are kept in the
 * store's bounces.jsonl, one record each; `cococtl status` lists, per member, the addresses
 * whose mail bounced and that the configuration still gives them. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "core-private.h"
#include "util.h"

#define BOUNCES "bounces.jsonl"

enum { BOUNCE_FIELD_MAX = 1000 };

typedef struct bounce_pending {
	inbound_done_fn done;
	void *ud;
} bounce_pending;

static void on_bounce_stored(int result, void *userdata)
{
	bounce_pending *p = userdata;
	inbound_result res = {.status = result < 0 ? INBOUND_RETRY : INBOUND_DONE,
	                      .error = result < 0 ? result : 0};
	p->done(&res, p->ud);
	free(p);
}

static void done_now(inbound_done_fn done, void *ud, int error)
{
	inbound_result res = {.status = error < 0 ? INBOUND_RETRY : INBOUND_DONE, .error = error};
	done(&res, ud);
}

/* Whether the bounced message was private (see log_outcome() in engine/spool.c): the
 * conversation index says so for a message it knows; one it does not know (its entry lost
 * to a crash, or pruned) is taken as private when it was about an anonymous round. */
static bool bounce_is_private(core *c, const inbound_msg *m, const core_tag *tag)
{
	int r = m->thread ? core_conversation_private(c, m->channel, m->thread) : -ENOENT;
	if (r >= 0)
		return r > 0;
	return tag->round && tag->round->anonymous;
}

void core_receive_bounce(core *c, const inbound_msg *m, inbound_done_fn done, void *ud)
{
	const inbound_bounce *b = m->bounce;
	const char *addr = b->address && *b->address ? b->address : NULL;
	core_tag tag;
	bool found = core_find_tag(c, m, &tag);
	const coco_campaign *camp = found ? tag.camp : NULL;
	const coco_member *mb = found ? tag.member : NULL;
	if (!mb || !addr || !config_member_has_address(mb, addr)) {
		/* Not about mail coco sent to that member: a forgery, a bounce of someone else's
		 * mail, or of a member whose address the admin has since changed. */
		log_info("message %s is a bounce for %s that does not answer a message coco sent "
		         "to that address: ignored", m->key, addr ? addr : "(no address)");
		done_now(done, ud, 0);
		return;
	}
	if (bounce_is_private(c, m, &tag))
		/* Neither the member nor the address, nor the server's words (they quote the
		 * address): next to the line saying an anonymous answer was recorded, they would
		 * say whose it is. cococtl status shows the failing address. */
		log_warning("%s: a private message (the confirmation of an anonymous answer) "
		            "bounced (%s): see cococtl status", camp->id,
		            b->status ? b->status : "no status");
	else
		log_warning("%s: mail to member %s at %s bounced (%s%s%s): see cococtl status",
		            camp->id, mb->id, addr, b->status ? b->status : "no status",
		            b->diagnostic ? ": " : "", b->diagnostic ? b->diagnostic : "");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddNumberToObject(o, "at", (double)clock_now());
	cJSON_AddStringToObject(o, "campaign", camp->id);
	cJSON_AddStringToObject(o, "member", mb->id);
	cJSON_AddStringToObject(o, "address", addr);
	if (b->status)
		cJSON_AddStringToObject(o, "status", b->status);
	if (b->diagnostic) {
		_cleanup_free_ char *d = xstrndup(b->diagnostic, BOUNCE_FIELD_MAX);
		cJSON_AddStringToObject(o, "diagnostic", d);
	}
	cJSON_AddStringToObject(o, "via", m->channel ? m->channel : "?");
	_cleanup_free_ char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	_cleanup_free_ char *key = core_record_key(c, m, false);
	bounce_pending *p = xcalloc(1, sizeof *p);
	*p = (bounce_pending){done, ud};
	int r = store_append(c->st, BOUNCES, line, key, on_bounce_stored, p);
	if (r < 0) {
		free(p);
		/* A record that cannot be stored for good (it is short: not expected) is dropped
		 * with a warning rather than offered for ever. */
		if (r == -EINVAL || r == -E2BIG || r == -ENAMETOOLONG) {
			log_warning_errno(r, "%s: cannot record the bounce for %s: %m", camp->id, addr);
			r = 0;
		}
		done_now(done, ud, r);
	}
}

typedef struct failing_ctx {
	core *c;
	cJSON *by; /* "campaign member address" → the entry shown */
} failing_ctx;

static int on_bounce_line(const char *line, size_t len, void *userdata)
{
	failing_ctx *x = userdata;
	cJSON *o = cJSON_ParseWithLength(line, len);
	const char *campid = core_json_str(o, "campaign"), *member = core_json_str(o, "member"),
		   *addr = core_json_str(o, "address");
	const coco_campaign *camp = campid ? config_find_campaign(x->c->cfg, campid) : NULL;
	const coco_member *mb = camp && member ? campaign_find_member(camp, member) : NULL;
	/* Only addresses the configuration still gives the member: an admin who fixed Email=
	 * sees the old one go from the list. */
	if (!mb || !addr || !config_member_has_address(mb, addr)) {
		cJSON_Delete(o);
		return 0;
	}
	_cleanup_free_ char *k = xasprintf("%s %s %s", campid, member, addr);
	cJSON *e = cJSON_GetObjectItemCaseSensitive(x->by, k);
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "at");
	if (!e) {
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "campaign", campid);
		cJSON_AddStringToObject(e, "member", member);
		cJSON_AddStringToObject(e, "address", addr);
		cJSON_AddNumberToObject(e, "bounces", 0);
		cJSON_AddNumberToObject(e, "first_at", cJSON_IsNumber(at) ? at->valuedouble : 0);
		cJSON_AddItemToObject(x->by, k, e);
	}
	cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "bounces");
	cJSON_SetNumberValue(n, n->valuedouble + 1);
	/* The latest bounce's words. */
	static const char *const fields[] = {"status", "diagnostic", "at"};
	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		cJSON_DeleteItemFromObjectCaseSensitive(e, fields[i]);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, fields[i]);
		if (v)
			cJSON_AddItemToObject(e, fields[i], cJSON_Duplicate(v, true));
	}
	cJSON_Delete(o);
	return 0;
}

cJSON *core_failing_addresses(core *c)
{
	failing_ctx x = {.c = c, .by = cJSON_CreateObject()};
	cJSON *arr = cJSON_CreateArray();
	if (store_exists(c->st, BOUNCES) > 0)
		(void)store_scan(c->st, BOUNCES, on_bounce_line, &x);
	cJSON *e;
	while ((e = x.by->child)) {
		cJSON_DetachItemViaPointer(x.by, e);
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_Delete(x.by);
	return arr;
}

/* ---- deliveries that failed for good ------------------------------------------------- */

#define FAILED_LISTED 20

typedef struct failed_ctx {
	const char *channel;
	cJSON *all; /* every listed one, in no order yet */
	size_t count;
} failed_ctx;

static int on_failed(const char *id, const cJSON *msg, void *userdata)
{
	failed_ctx *x = userdata;
	(void)id;
	x->count++;
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(msg, "to");
	const char *member = core_json_str(to, "member"), *room = core_json_str(to, "room");
	if (!member && !room)
		return 0;
	cJSON *o = cJSON_CreateObject();
	const char *camp = core_json_str(msg, "campaign");
	cJSON_AddStringToObject(o, "campaign", camp ? camp : "-");
	cJSON_AddStringToObject(o, member ? "member" : "room", member ? member : room);
	cJSON_AddStringToObject(o, "channel", x->channel);
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(msg, "private"))) {
		const char *kind = core_json_str(msg, "kind"), *round = core_json_str(msg, "round");
		if (kind)
			cJSON_AddStringToObject(o, "kind", kind);
		if (round && !STREQ(round, "none"))
			cJSON_AddStringToObject(o, "round", round);
	}
	const char *error = core_json_str(msg, "error");
	cJSON_AddStringToObject(o, "error", error ? error : "unknown error");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(msg, "failed");
	cJSON_AddNumberToObject(o, "at", cJSON_IsNumber(at) ? at->valuedouble : 0);
	cJSON_AddItemToArray(x->all, o);
	return 0;
}

static int by_failed_at(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	double p = cJSON_GetObjectItemCaseSensitive(x, "at")->valuedouble;
	double q = cJSON_GetObjectItemCaseSensitive(y, "at")->valuedouble;
	return p < q ? -1 : p > q;
}

cJSON *core_failed_deliveries(core *c)
{
	failed_ctx x = {.all = cJSON_CreateArray()};
	char **conns = NULL;
	if (store_list(c->st, "spool", &conns) >= 0)
		for (char **n = conns; *n; n++) {
			x.channel = *n;
			(void)spool_each(c->st, *n, "failed", on_failed, &x);
		}
	strv_free(conns);
	/* Sorted by when they failed; the latest FAILED_LISTED kept. */
	size_t n = (size_t)cJSON_GetArraySize(x.all), i = 0;
	cJSON **v = xcalloc(n + 1, sizeof *v);
	cJSON *e;
	while ((e = x.all->child))
		v[i++] = cJSON_DetachItemViaPointer(x.all, e);
	qsort(v, n, sizeof *v, by_failed_at);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "count", (double)x.count);
	cJSON *list = cJSON_AddArrayToObject(o, "list");
	for (i = 0; i < n; i++)
		if (n - i <= FAILED_LISTED)
			cJSON_AddItemToArray(list, v[i]);
		else
			cJSON_Delete(v[i]);
	free(v);
	cJSON_Delete(x.all);
	return o;
}
