/* channels: the static list of channels; see channels.h. */
#include "channels.h"

#include <string.h>

#include "email/email.h"
#include "local.h"
#include "slack/slack.h"
#include "web/web.h"
#include "util.h"

static const channel_ops *const channels[] = {
	&local_channel,
	&email_channel,
	&slack_channel,
	&web_channel,
	NULL,
};

const channel_ops *channel_find(const char *name)
{
	for (size_t i = 0; name && channels[i]; i++)
		if (STREQ(channels[i]->name, name))
			return channels[i];
	return NULL;
}

const channel_ops *const *channel_list(void)
{
	return channels;
}

void channels_register_config(void)
{
	static config_channel_def defs[ELEMENTSOF(channels)];
	size_t n = 0;
	for (size_t i = 0; channels[i]; i++)
		defs[n++] = (config_channel_def){channels[i]->name, channels[i]->sections,
		                                  channels[i]->campaign_keys, channels[i]->config_check};
	config_register_channels(defs, n);
}
