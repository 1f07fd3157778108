/* core-stranger: mail that matches no member is kept in rejected/ (core-inbound.c) and its
 * sender gets one polite reply saying how members answer — at most one a day per address and
 * STRANGER_PER_HOUR in all, never to automatic mail or bounces (the caller has set those
 * aside), never to the site's own domain (two robots of one site would answer each other),
 * and only through the channel the mail came through, when it writes to one person. A flood
 * of forged senders costs at most STRANGER_PER_HOUR replies an hour: coco is no backscatter
 * source worth using. And none at all when the channel says so (inbound_msg.
 * no_stranger_reply: mail's [Mail] ReplyToStrangers=, or a From the site's own server did
 * not vouch for). */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include "channel-msg.h"
#include "clock.h"
#include "core-private.h"
#include "digest.h"
#include "util.h"

static const char stranger_md[] =
	"Hello,\n\n"
	"this address collects the answers of the members of a co-creation campaign, by reply "
	"to the messages it sends them. Your message was kept, but it was not recorded: it did "
	"not come from a member's address as a reply to one of those messages.\n\n"
	"If you are a member, please use **Reply** on the invitation or reminder of the round, "
	"from the address it was sent to. If you think you should be a member, please ask the "
	"person who runs the campaign.\n\n"
	"This is an automatic reply, sent at most once a day.\n";

void core_reply_stranger(core *c, const inbound_msg *m)
{
	const channel_ops *ch = core_running_channel(c, m->channel);
	if (!ch || !(ch->caps & CHANNEL_DM) || (ch->caps & CHANNEL_SYNC_REPLY) || !m->from ||
	    !*m->from || m->automatic || m->bounce)
		return;
	if (STREQ(ch->address, "email") && !strchr(m->from, '@'))
		return;
	if (m->no_stranger_reply) {
		log_info("message %s from %s: no member; no automatic reply (ReplyToStrangers=, or "
		         "the sender's domain not authenticated)", m->key, m->from);
		return;
	}
	if (m->from_own_domain) {
		log_info("message %s from %s: no reply to a stranger of our own domain", m->key,
		         m->from);
		return;
	}
	int64_t now = clock_now();
	if (c->stranger_hour != now / 3600) {
		c->stranger_hour = now / 3600;
		c->stranger_replies = 0;
	}
	if (c->stranger_replies >= STRANGER_PER_HOUR) {
		log_info("message %s from %s: %d replies to strangers this hour already, no reply",
		         m->key, m->from, STRANGER_PER_HOUR);
		return;
	}
	/* One a day per address: the spool id is the address and the day (UTC), and the spool
	 * takes an id once. */
	_cleanup_free_ char *lower = xstrdup(m->from);
	for (char *p = lower; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p | 0x20);
	_cleanup_free_ char *day = xasprintf("day-%lld", (long long)(now / 86400));
	_cleanup_free_ char *id = core_message_id(c, "stranger", "-", day, lower);
	_cleanup_free_ char *subject = NULL;
	if (m->subject && *m->subject)
		subject = strncasecmp(m->subject, "re:", 3) == 0 ? xstrdup(m->subject)
		                                                 : xasprintf("Re: %s", m->subject);
	else
		subject = xstrdup("Re: your message");
	for (char *p = subject; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	_cleanup_free_ char *html = NULL;
	(void)digest_markdown_to_html(stranger_md, &html);
	channel_msg cm = {
		.id = id,
		.kind = "reply",
		.campaign = "-",
		.round = "none",
		.address = lower,
		.subject = subject,
		.markdown = (char *)stranger_md,
		.html = html,
		.in_reply_to = (char *)m->remote_id,
	};
	cJSON *msg = NULL;
	int r = channel_msg_to_json(&cm, &msg);
	if (r < 0) {
		log_warning_errno(r, "cannot make the reply to %s: %m", m->from);
		return;
	}
	r = spool_enqueue(c->sp, ch->name, msg, NULL);
	cJSON_Delete(msg);
	if (r < 0)
		log_warning_errno(r, "cannot queue the reply to %s: %m", m->from);
	else if (r == SPOOL_DUPLICATE)
		log_info("message %s from %s: told them how to answer earlier today", m->key,
		         m->from);
	else {
		c->stranger_replies++;
		log_info("message %s from %s: no member, told them how members answer", m->key,
		         m->from);
	}
}
