/* fuzz_chat_command: the chat command grammar (engine/chat-command.c), what a chat channel
 * hands the core after its command word, as any member can type it. Every input either
 * parses into a command whose parts are consistent (a round only where the grammar takes
 * one, and of a round's shape; text only where it carries some), or fails with a sentence. */
#include "fuzz-common.h"

#include "chat-command.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size); /* stops at a NUL, as a C string does */
	chat_command c = {0};
	char *error = NULL;
	int r = chat_command_parse(text, "/coco", &c, &error);
	if (r < 0) {
		if (r != -EINVAL || !error || !*error || c.round || c.text)
			abort();
	} else {
		if (error || c.kind < 0 || c.kind >= _CHAT_COMMAND_MAX)
			abort();
		if (c.round && (!chat_command_is_round_ref(c.round) ||
		                c.kind == CHAT_HELP || c.kind == CHAT_ROUNDS || c.kind == CHAT_IDEA))
			abort();
		if (c.kind == CHAT_DIGEST && !c.round)
			abort();
		bool wants_text = c.kind == CHAT_ANSWER || c.kind == CHAT_IDEA || c.kind == CHAT_VOTE;
		if (wants_text != (c.text != NULL) || (c.text && !*c.text))
			abort();
		if (c.text && strlen(c.text) > strlen(text))
			abort();
	}
	free(error);
	chat_command_done(&c);
	free(text);
	return 0;
}
