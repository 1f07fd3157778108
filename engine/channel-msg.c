/* channel-msg: see channel-msg.h. */
#define _GNU_SOURCE
#include "channel-msg.h"

#include <errno.h>
#include <string.h>

#include "util.h"

channel_msg *channel_msg_free(channel_msg *m)
{
	if (!m)
		return NULL;
	free(m->id);
	free(m->kind);
	free(m->campaign);
	free(m->round);
	free(m->occurrence);
	free(m->member);
	free(m->name);
	free(m->address);
	free(m->room);
	free(m->subject);
	free(m->markdown);
	free(m->html);
	free(m->conversation);
	free(m->in_reply_to);
	free(m->unsubscribe);
	cJSON_Delete(m->prompt);
	free(m);
	return NULL;
}

void channel_msg_freep(channel_msg **m)
{
	*m = channel_msg_free(*m);
}

static void put(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
}

/* A member, a room, or (a reply to someone who is no member) an address alone. */
static bool has_recipient(const channel_msg *m)
{
	return m->member || m->room || (m->address && m->kind && STREQ(m->kind, "reply"));
}

int channel_msg_to_json(const channel_msg *m, cJSON **ret)
{
	if (!m || !m->id || !m->kind || !m->campaign || !m->round || !m->subject ||
	    !m->markdown || !has_recipient(m))
		return -EINVAL;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", CHANNEL_MSG_VERSION);
	put(o, "id", m->id);
	put(o, "kind", m->kind);
	put(o, "campaign", m->campaign);
	put(o, "round", m->round);
	put(o, "occurrence", m->occurrence);
	cJSON *to = cJSON_AddObjectToObject(o, "to");
	if (m->room)
		put(to, "room", m->room);
	else {
		put(to, "member", m->member);
		put(to, "name", m->name);
		put(to, "address", m->address);
	}
	put(o, "subject", m->subject);
	put(o, "markdown", m->markdown);
	put(o, "html", m->html);
	put(o, "conversation", m->conversation);
	put(o, "in_reply_to", m->in_reply_to);
	put(o, "unsubscribe", m->unsubscribe);
	if (m->prompt)
		cJSON_AddItemToObject(o, "prompt", cJSON_Duplicate(m->prompt, true));
	if (m->private_msg)
		cJSON_AddTrueToObject(o, "private");
	*ret = o;
	return 0;
}

static char *get(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) && v->valuestring[0] ? xstrdup(v->valuestring) : NULL;
}

/* Version 1 entries (before typed messages) carried the mail fields the core used to set:
 * the address is to.email, the conversation reference is the tag in reply_to
 * ("local+TAG@domain"), and in_reply_to was a Message-ID already. */
static void from_v1(const cJSON *o, channel_msg *m)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "to");
	m->address = get(to, "email");
	_cleanup_free_ char *reply_to = get(o, "reply_to");
	const char *plus = reply_to ? strchr(reply_to, '+') : NULL;
	const char *at = plus ? strchr(plus, '@') : NULL;
	if (at && at > plus + 1)
		m->conversation = xstrndup(plus + 1, (size_t)(at - plus - 1));
}

int channel_msg_from_json(const cJSON *o, channel_msg **ret)
{
	if (!cJSON_IsObject(o))
		return -EINVAL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "v");
	int64_t version;
	if (!cJSON_IsNumber(v) || json_number_to_int64(v, &version) < 0)
		return -EINVAL;
	if (version != CHANNEL_MSG_VERSION && version != 1)
		return -EPROTO;
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "to");
	channel_msg *m = xcalloc(1, sizeof *m);
	m->id = get(o, "id");
	m->kind = get(o, "kind");
	m->campaign = get(o, "campaign");
	m->round = get(o, "round");
	m->occurrence = get(o, "occurrence");
	m->member = get(to, "member");
	m->name = get(to, "name");
	m->room = get(to, "room");
	m->subject = get(o, "subject");
	m->markdown = get(o, "markdown");
	m->html = get(o, "html");
	m->in_reply_to = get(o, "in_reply_to");
	if (version == 1)
		from_v1(o, m);
	else {
		m->address = get(to, "address");
		m->conversation = get(o, "conversation");
		m->unsubscribe = get(o, "unsubscribe");
	}
	const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(o, "prompt");
	if (cJSON_IsObject(prompt))
		m->prompt = cJSON_Duplicate(prompt, true);
	m->private_msg = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "private"));
	if (!m->id || !m->kind || !m->campaign || !m->round || !m->subject || !has_recipient(m)) {
		channel_msg_free(m);
		return -EINVAL;
	}
	if (!m->markdown)
		m->markdown = xstrdup(""); /* an empty message is still one */
	*ret = m;
	return 0;
}
