/* core-unsub: a member stops a campaign's messages at one address (a mail's List-Unsubscribe,
 * RFC 2369/8058), and an admin undoes it.
 *
 * Every message to a member carries a token (channel_msg.unsubscribe): the reply tag of
 * (campaign, "unsubscribe:", member), which no round's tag can be. A channel hands it back
 * as inbound_msg.unsubscribe (the email channel: a one-click POST, or a mail to the
 * unsubscribe address); the token alone is the proof, as RFC 8058 wants. What it means:
 * the member's address of that channel's kind gets no more prompts, reminders or digests of
 * that campaign; confirmations of answers they still send, and other campaigns, are not
 * affected, and a member who has another channel (a chat) is reached there. It is recorded
 * in unsubscribed.jsonl (one record per request, the last record of an address wins),
 * shown by `cococtl status`, and undone by `cococtl resubscribe MEMBER CAMPAIGN`, which
 * appends a record saying so. */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "core-private.h"
#include "util.h"

#define UNSUBSCRIBED "unsubscribed.jsonl"

static char *mute_key(const char *camp, const char *member, const char *address)
{
	_cleanup_free_ char *k = xasprintf("%s %s %s", camp, member, address);
	for (char *p = k; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p | 0x20);
	return TAKE_PTR(k);
}

/* One record into the in-memory set: the last record of an address wins. */
static void mute_apply(core *c, const cJSON *o)
{
	const char *camp = core_json_str(o, "campaign"), *member = core_json_str(o, "member"),
		   *addr = core_json_str(o, "address");
	if (!camp || !member || !addr)
		return;
	_cleanup_free_ char *k = mute_key(camp, member, addr);
	cJSON_DeleteItemFromObjectCaseSensitive(c->muted, k);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "unsubscribed")))
		cJSON_AddItemToObject(c->muted, k, cJSON_Duplicate(o, true));
}

static int on_unsub_line(const char *line, size_t len, void *userdata)
{
	core *c = userdata;
	cJSON *o = cJSON_ParseWithLength(line, len);
	if (o)
		mute_apply(c, o);
	cJSON_Delete(o);
	return 0;
}

static void mutes_load(core *c)
{
	if (c->muted)
		return;
	c->muted = cJSON_CreateObject();
	if (store_exists(c->st, UNSUBSCRIBED) > 0) {
		int r = store_scan(c->st, UNSUBSCRIBED, on_unsub_line, c);
		if (r < 0)
			log_warning_errno(r, "cannot read %s (members who unsubscribed may get mail): %m",
			                  UNSUBSCRIBED);
	}
}

bool core_muted(core *c, const coco_campaign *camp, const coco_member *m, const char *address)
{
	if (!address)
		return false;
	mutes_load(c);
	if (!c->muted->child)
		return false;
	_cleanup_free_ char *k = mute_key(camp->id, m->id, address);
	return cJSON_GetObjectItemCaseSensitive(c->muted, k) != NULL;
}

void core_unsub_token(core *c, const coco_campaign *camp, const coco_member *m,
                      char ret[SECRET_TAG_LEN + 1])
{
	secret_tag(&c->key, camp->id, CORE_UNSUB_WHAT, m->id, ret);
}

typedef struct unsub_pending {
	core *c;
	cJSON *record;
	inbound_done_fn done;
	void *ud;
} unsub_pending;

static void on_unsub_stored(int result, void *userdata)
{
	unsub_pending *p = userdata;
	if (result >= 0) {
		mutes_load(p->c);
		mute_apply(p->c, p->record);
	}
	inbound_result res = {.status = result < 0 ? INBOUND_RETRY : INBOUND_DONE,
	                      .error = result < 0 ? result : 0};
	cJSON_Delete(p->record);
	p->done(&res, p->ud);
	free(p);
}

/* The address kind of the channel the request came through. */
static const char *channel_address_kind(core *c, const char *name)
{
	const channel_ops *ch = core_running_channel(c, name);
	return ch ? ch->address : NULL;
}

void core_receive_unsubscribe(core *c, const inbound_msg *m, inbound_done_fn done, void *ud)
{
	char token[SECRET_TAG_LEN + 1];
	size_t n = strlen(m->unsubscribe);
	core_tag tag;
	bool found = n == SECRET_TAG_LEN;
	if (found) {
		for (size_t i = 0; i < n; i++)
			token[i] = (char)(m->unsubscribe[i] | 0x20);
		token[n] = 0;
		found = core_tags_find_unsub(c->tags, c->cfg, token, &tag);
	}
	if (!found) {
		/* Nothing is kept: anyone can send this, and it holds nothing of a member's. */
		log_info("an unsubscribe request on %s carries a token coco did not issue: refused",
		         m->channel ? m->channel : "?");
		inbound_result res = {.status = INBOUND_REJECTED,
		                      .reason = "not an unsubscribe link coco issued"};
		done(&res, ud);
		return;
	}
	const char *kind = channel_address_kind(c, m->channel);
	const char *addr = kind ? config_member_address(tag.member, kind) : NULL;
	if (!addr) {
		log_warning("%s: member %s asked on %s to unsubscribe, but has no address there "
		            "(any more): nothing to stop", tag.camp->id, tag.member->id,
		            m->channel ? m->channel : "?");
		inbound_result res = {.status = INBOUND_DONE};
		done(&res, ud);
		return;
	}
	log_notice("%s: member %s unsubscribed %s: no more prompts, reminders or digests of this "
	           "campaign there (undo: cococtl resubscribe %s %s)", tag.camp->id,
	           tag.member->id, addr, tag.member->id, tag.camp->id);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddNumberToObject(o, "at", (double)clock_now());
	cJSON_AddStringToObject(o, "campaign", tag.camp->id);
	cJSON_AddStringToObject(o, "member", tag.member->id);
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "address", addr);
	cJSON_AddStringToObject(o, "via", m->channel ? m->channel : "?");
	cJSON_AddTrueToObject(o, "unsubscribed");
	_cleanup_free_ char *line = cJSON_PrintUnformatted(o);
	unsub_pending *p = xcalloc(1, sizeof *p);
	*p = (unsub_pending){c, o, done, ud};
	/* No key: the same request again (after a resubscribe, say) is a new record. */
	int r = store_append(c->st, UNSUBSCRIBED, line, NULL, on_unsub_stored, p);
	if (r < 0) {
		cJSON_Delete(o);
		free(p);
		inbound_result res = {.status = INBOUND_RETRY, .error = r};
		done(&res, ud);
	}
}

cJSON *core_unsubscribed(core *c)
{
	mutes_load(c);
	cJSON *arr = cJSON_CreateArray();
	const cJSON *e;
	cJSON_ArrayForEach(e, c->muted)
	{
		const char *camp = core_json_str(e, "campaign"), *member = core_json_str(e, "member");
		const coco_campaign *cc = config_find_campaign(c->cfg, camp);
		/* Members the configuration no longer has are not shown. */
		if (!cc || !campaign_find_member(cc, member))
			continue;
		cJSON *o = cJSON_CreateObject();
		static const char *const fields[] = {"campaign", "member", "address", "at", "via"};
		for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, fields[i]);
			if (v)
				cJSON_AddItemToObject(o, fields[i], cJSON_Duplicate(v, true));
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

int core_resubscribe(core *c, const cJSON *req, cJSON **ret_reply, char **ret_error)
{
	const char *member = core_json_str(req, "member"), *campid = core_json_str(req, "campaign");
	const coco_campaign *camp = campid ? config_find_campaign(c->cfg, campid) : NULL;
	if (!camp) {
		*ret_error = xasprintf("no campaign %s", campid ? campid : "(none given)");
		return -ENOENT;
	}
	const coco_member *mb = member ? campaign_find_member(camp, member) : NULL;
	if (!mb) {
		*ret_error = xasprintf("campaign %s has no member %s", camp->id,
		                       member ? member : "(none given)");
		return -ENOENT;
	}
	mutes_load(c);
	_cleanup_free_ char *prefix = mute_key(camp->id, mb->id, "");
	cJSON *addresses = cJSON_CreateArray();
	cJSON *e = c->muted->child;
	while (e) {
		cJSON *next = e->next;
		if (strncmp(e->string, prefix, strlen(prefix)) != 0) {
			e = next;
			continue;
		}
		cJSON *o = cJSON_Duplicate(e, true);
		cJSON_ReplaceItemInObjectCaseSensitive(o, "unsubscribed", cJSON_CreateFalse());
		cJSON_ReplaceItemInObjectCaseSensitive(o, "at", cJSON_CreateNumber((double)clock_now()));
		cJSON_ReplaceItemInObjectCaseSensitive(o, "via", cJSON_CreateString("cococtl"));
		_cleanup_free_ char *line = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		int r = store_append(c->st, UNSUBSCRIBED, line, NULL, NULL, NULL);
		if (r < 0) {
			cJSON_Delete(addresses);
			*ret_error = xasprintf("cannot write %s: %s", UNSUBSCRIBED, strerror(-r));
			return r;
		}
		cJSON_AddItemToArray(addresses, cJSON_CreateString(core_json_str(e, "address")));
		cJSON_DeleteItemFromObjectCaseSensitive(c->muted, e->string);
		e = next;
	}
	if (cJSON_GetArraySize(addresses) == 0) {
		cJSON_Delete(addresses);
		*ret_error = xasprintf("member %s has not unsubscribed from campaign %s", mb->id,
		                       camp->id);
		return -ENOENT;
	}
	/* Written by the commit that ends this loop turn, as the audit line is. */
	core_audit(c, "resubscribe", camp->id, NULL, mb->id);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "addresses", addresses);
	*ret_reply = o;
	return 0;
}
