/* core-rooms: what the core posts to a campaign's rooms — a shared place on a chat channel
 * (a Slack channel) that the channel names through channel_ops.room, from the campaign's
 * own key or its default. When a round opens, its prompt goes there with its questions as
 * data (buttons) and the room tag of the round (core-tags.c), so a press there answers the
 * round for whoever the channel vouches pressed it; digests go there too. Reminders never
 * do: they are each member's own.
 *
 * A room is seen by whoever is in it, so only what every member of the campaign gets is
 * posted there: the prompts of rounds whose Audience= is all, and digests that go to all
 * (no narrower [Digest] Recipients=, and a round for all). */
#define _GNU_SOURCE
#include <string.h>

#include "channel-msg.h"
#include "core-private.h"
#include "util.h"

static int queue(core *c, const channel_ops *ch, const channel_msg *m)
{
	cJSON *msg = NULL;
	int k = channel_msg_to_json(m, &msg);
	if (k >= 0) {
		k = spool_enqueue(c->sp, ch->name, msg, NULL);
		cJSON_Delete(msg);
	}
	if (k < 0)
		log_error_errno(k, "%s: cannot queue the %s for %s's room %s: %m", m->campaign,
		                m->kind, ch->name, m->room);
	else if (k != SPOOL_DUPLICATE)
		log_info("%s: %s of %s queued for %s's room %s", m->campaign, m->kind, m->round,
		         ch->name, m->room);
	return k;
}

static const char *prompt_template(const coco_round *r)
{
	switch (r->kind) {
	case ROUND_SURVEY: return "survey.md";
	case ROUND_VOTE: return "vote.md";
	default: return "prompt.md";
	}
}

void core_post_room_prompt(core *c, const coco_campaign *camp, const coco_round *r,
                           round_rt *rt)
{
	if (r->audience != AUDIENCE_ALL)
		return;
	for (size_t i = 0; i < c->n_channels; i++) {
		const channel_ops *ch = c->channels[i];
		const char *room = (ch->caps & CHANNEL_ROOM) && ch->room ? ch->room(c->cfg, camp)
		                                                         : NULL;
		if (!room)
			continue;
		/* The members' template, to everyone: without what only a mail reply or a member's
		 * own link can do, and with how to answer on this channel (its chat command). */
		_cleanup_free_ char *md = NULL;
		coco_member everyone = {.id = (char *)"", .name = (char *)"everyone"};
		cJSON *data = core_round_data(c, camp, r, rt, &everyone);
		cJSON_DeleteItemFromObjectCaseSensitive(data, "form_link");
		cJSON_DeleteItemFromObjectCaseSensitive(data, "answer_example");
		cJSON_DeleteItemFromObjectCaseSensitive(data, "answer_skip");
		cJSON_DeleteItemFromObjectCaseSensitive(data, "how_to_answer");
		core_chat_data(c, ch, camp, r, rt, data);
		int k = core_render(c, prompt_template(r), data, &md);
		cJSON *prompt = k >= 0 && r->kind != ROUND_ANNOUNCE
		                        ? core_prompt_data(c, camp, r, rt, data) : NULL;
		cJSON_Delete(data);
		if (k < 0)
			return;
		char tag[SECRET_TAG_LEN + 1];
		core_room_tag(&c->key, camp, r, tag);
		_cleanup_free_ char *what = xasprintf("%s/%s/prompt/room", r->id, rt->occurrence);
		_cleanup_free_ char *to = xasprintf("room:%s", ch->name);
		_cleanup_free_ char *id = core_message_id(c, "prompt", camp->id, what, to);
		_cleanup_free_ char *subject = xasprintf("[%s] %s", camp->title ? camp->title
		                                                                : camp->id,
		                                         core_round_title(r));
		channel_msg m = {
			.id = id,
			.kind = (char *)"prompt",
			.campaign = camp->id,
			.round = r->id,
			.occurrence = rt->occurrence,
			.room = (char *)room,
			.subject = subject,
			.markdown = md,
			.conversation = tag,
			.prompt = prompt,
		};
		(void)queue(c, ch, &m);
		cJSON_Delete(prompt);
	}
}

/* Does the digest go to every member of the campaign? */
static bool digest_for_all(const coco_campaign *camp, const coco_round *r)
{
	for (size_t i = 0; i < camp->n_members; i++)
		if (!core_digest_recipient(camp, r, &camp->members[i]))
			return false;
	return true;
}

void core_post_room_digest(core *c, const coco_campaign *camp, const coco_round *r,
                           const char *name, const char *subject, const char *md,
                           const char *html, const char *chat_md)
{
	bool all = digest_for_all(camp, r);
	for (size_t i = 0; i < c->n_channels; i++) {
		const channel_ops *ch = c->channels[i];
		const char *room = (ch->caps & CHANNEL_ROOM) && ch->room ? ch->room(c->cfg, camp)
		                                                         : NULL;
		if (!room)
			continue;
		if (!all) {
			log_info("%s: digest %s not posted to %s's room %s: it does not go to every "
			         "member", camp->id, name, ch->name, room);
			continue;
		}
		_cleanup_free_ char *to = xasprintf("room:%s", ch->name);
		_cleanup_free_ char *id = core_message_id(c, "digest", camp->id, name, to);
		channel_msg m = {
			.id = id,
			.kind = (char *)"digest",
			.campaign = camp->id,
			.round = (char *)"digest",
			.room = (char *)room,
			.subject = (char *)subject,
			.markdown = (char *)(chat_md && core_channel_is_chat(c, ch) ? chat_md : md),
			.html = (char *)(chat_md && core_channel_is_chat(c, ch) ? NULL : html),
		};
		(void)queue(c, ch, &m);
	}
}
