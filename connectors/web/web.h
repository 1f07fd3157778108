/* web: the web view. Not a channel anyone is reached on (no CHANNEL_DM): it serves a
 * member's read-only view of a campaign (rounds, participation, digest figures with SVG
 * bars) and an answer form over the HTTP ingress, behind a magic link signed with the server
 * key (`cococtl link`, engine/weblink.h). A form answer goes to the core like a mail reply
 * and the page waits (http_request_defer) until it is durable, then shows the confirmation
 * (CHANNEL_SYNC_REPLY). See docs/web.md. */
#pragma once

#include "channel.h"

extern const channel_ops web_channel;
