/* chat-command: the grammar of the chat commands every chat channel shares (Slack's
 * `/coco …`, Matrix's `!coco …`): one grammar and one help text, so that no channel parses
 * them itself. A channel hands the text after its command word to the core
 * (inbound_msg.command); the core parses it here and carries it out (daemon/core-commands.c).
 * Pure: no config, no store.
 *
 * The grammar (command words case-insensitive; ROUND is a round id, or CAMPAIGN/ROUND):
 *   (nothing), help          how to use the commands
 *   rounds                   the member's open rounds, and how to answer each
 *   answer [ROUND] ANSWERS   ANSWERS in the answer grammar of engine/answer.h ("1: 4, 2: b");
 *                            ROUND may be left out when one round is open for the member
 *   idea TEXT                an idea (also "idea: TEXT") for the member's open prompt round
 *   vote [ROUND] 3 7 7       dots for ideas 3 and 7 (7 twice; also 7x2)
 *   status [ROUND]           who has answered (the provider's side only)
 *   digest ROUND             the latest digest of the round
 *   1: 4, 2: b               text that starts like an answer ("N:", "qN:", "#N", "skip",
 *                            "ID:") is `answer` with no round, as members typed it before
 *                            the command words existed.
 * ROUND is told apart from ANSWERS by its shape: a word of letters, digits, '-', '_', '.'
 * (and one '/') holding a letter, and not a word of the answer grammar (skip, idea, vote,
 * qN, 7x2). */
#pragma once

#include <errno.h>

typedef enum chat_command_kind {
	CHAT_HELP,
	CHAT_ROUNDS,
	CHAT_ANSWER,
	CHAT_IDEA,
	CHAT_VOTE,
	CHAT_STATUS,
	CHAT_DIGEST,
	_CHAT_COMMAND_MAX,
	_CHAT_COMMAND_INVALID = -EINVAL,
} chat_command_kind;

#define CHAT_COMMAND_TEXT_MAX 65536 /* bytes after the command word (answer.h's message cap) */

typedef struct chat_command {
	chat_command_kind kind;
	char *round; /* as written ("kickoff", "pilot/kickoff"), or NULL */
	/* CHAT_ANSWER: the answers, in the answer grammar; CHAT_IDEA: the idea's text;
	 * CHAT_VOTE: the numbers ("3 7 7"); NULL for the others. */
	char *text;
} chat_command;

/* Parses what followed the command word. 0 and *ret (free its strings with
 * chat_command_done()); -EINVAL and *ret_error, a sentence in Markdown (malloc'd) that says
 * what was wrong, writing commands with `prefix` ("/coco"). */
int chat_command_parse(const char *text, const char *prefix, chat_command *ret,
                       char **ret_error);
void chat_command_done(chat_command *c);

const char *chat_command_to_string(chat_command_kind k);

/* Is s the shape of a round reference ("kickoff", "pilot/kickoff")? */
int chat_command_is_round_ref(const char *s);

/* How to use the commands, in Markdown, with `prefix` ("/coco"). malloc'd. */
char *chat_command_help(const char *prefix);
