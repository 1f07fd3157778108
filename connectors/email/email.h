/* email/email: the email channel over real servers: SMTP out, IMAP in (see channel.c). */
#pragma once

#include "channel.h"

extern const channel_ops email_channel;
