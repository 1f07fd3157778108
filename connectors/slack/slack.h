/* slack: the Slack channel. Members (Slack=U…) get direct messages through the Web API
 * (conversations.open, chat.postMessage with Block Kit buttons) and answer with a slash
 * command (/coco 1: 4, 2: b) or a button; both arrive as signed HTTP requests on the
 * ingress (POST /slack/commands, POST /slack/actions) and are answered in the same exchange
 * with what the core recorded. See docs/slack.md. */
#pragma once

#include "channel.h"

extern const channel_ops slack_channel;
