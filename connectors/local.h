/* local: the embedded default channel, no server needed — the email channel's mail over a
 * pair of maildirs (an outbox coco writes, an inbox a person, a test or an MDA drops answers
 * into). See local.c for the maildir rules. */
#pragma once

#include "channel.h"

extern const channel_ops local_channel;
