/* Tests for engine/chat-command: the grammar of the chat commands every chat channel shares
 * (help, rounds, answer, idea, vote, status, digest), what is told apart as a round, and the
 * errors said back. The commands carried out by the real cocod over Slack: tests/t-slack.sh. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "chat-command.h"
#include "util.h"

/* Parses text; checks the kind, round and text (NULL: none). */
static void ok(const char *text, chat_command_kind kind, const char *round, const char *rest)
{
	chat_command c = {0};
	char *err = NULL;
	int r = chat_command_parse(text, "/coco", &c, &err);
	if (r < 0)
		fail_msg("\"%s\": %s", text, err ? err : "(no error)");
	assert_null(err);
	assert_int_equal(c.kind, kind);
	if (round)
		assert_string_equal(c.round, round);
	else
		assert_null(c.round);
	if (rest)
		assert_string_equal(c.text, rest);
	else
		assert_null(c.text);
	chat_command_done(&c);
}

/* Fails to parse; the error holds `want`. */
static void bad(const char *text, const char *want)
{
	chat_command c = {0};
	char *err = NULL;
	assert_int_equal(chat_command_parse(text, "/coco", &c, &err), -EINVAL);
	assert_non_null(err);
	if (!strstr(err, want))
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", text, err, want);
	assert_null(c.round);
	assert_null(c.text);
	free(err);
}

static void test_help_and_rounds(void **state)
{
	ok("", CHAT_HELP, NULL, NULL);
	ok("   \n", CHAT_HELP, NULL, NULL);
	ok(NULL, CHAT_HELP, NULL, NULL);
	ok("help", CHAT_HELP, NULL, NULL);
	ok("HELP me", CHAT_HELP, NULL, NULL);
	ok("rounds", CHAT_ROUNDS, NULL, NULL);
	ok("  Rounds  ", CHAT_ROUNDS, NULL, NULL);
	bad("rounds kickoff", "`/coco rounds` takes nothing");
}

static void test_answer(void **state)
{
	ok("answer kickoff 1: 4, 2: b", CHAT_ANSWER, "kickoff", "1: 4, 2: b");
	ok("answer 1: 4, 2: b", CHAT_ANSWER, NULL, "1: 4, 2: b");
	ok("answer 1:4 2:b", CHAT_ANSWER, NULL, "1:4 2:b");
	ok("answer pilot/kickoff 1: 4", CHAT_ANSWER, "pilot/kickoff", "1: 4");
	ok("ANSWER Kick-off_2 q1: 4", CHAT_ANSWER, "Kick-off_2", "q1: 4");
	/* Words of the answer grammar are no round. */
	ok("answer skip 2", CHAT_ANSWER, NULL, "skip 2");
	ok("answer q1: 4", CHAT_ANSWER, NULL, "q1: 4");
	ok("answer q3 5", CHAT_ANSWER, NULL, "q3 5");
	ok("answer mood: great", CHAT_ANSWER, NULL, "mood: great");
	ok("answer idea: dark mode", CHAT_ANSWER, NULL, "idea: dark mode");
	ok("answer vote 3 7", CHAT_ANSWER, NULL, "vote 3 7");
	ok("answer 2024 1: 4", CHAT_ANSWER, NULL, "2024 1: 4");
	ok("answer 1. first idea", CHAT_ANSWER, NULL, "1. first idea");
	/* Lines are kept: a text answer may run over several. */
	ok("answer kickoff 3: slow\nand clumsy", CHAT_ANSWER, "kickoff", "3: slow\nand clumsy");
	/* As members typed it before the command words: an answer with no round. */
	ok("1: 4, 2: b", CHAT_ANSWER, NULL, "1: 4, 2: b");
	ok("  q2: b", CHAT_ANSWER, NULL, "q2: b");
	ok("#1 4", CHAT_ANSWER, NULL, "#1 4");
	ok("skip 2", CHAT_ANSWER, NULL, "skip 2");
	ok("mood: 4", CHAT_ANSWER, NULL, "mood: 4");
	ok("1\xef\xbc\x9a" "4", CHAT_ANSWER, NULL, "1\xef\xbc\x9a" "4");
	bad("answer", "`/coco answer` needs your answers");
	bad("answer   ", "`/coco answer` needs your answers");
	bad("answer kickoff", "`/coco answer kickoff` needs your answers after the round");
}

static void test_idea_vote(void **state)
{
	ok("idea dark mode", CHAT_IDEA, NULL, "dark mode");
	ok("idea: dark mode", CHAT_IDEA, NULL, "dark mode");
	ok("Idea:dark mode", CHAT_IDEA, NULL, "dark mode");
	ok("idea kickoff is a word of the idea", CHAT_IDEA, NULL, "kickoff is a word of the idea");
	bad("idea", "`/coco idea` needs the idea");
	bad("idea:   ", "`/coco idea` needs the idea");
	ok("vote 3 7 7", CHAT_VOTE, NULL, "3 7 7");
	ok("vote pick 3 7x2", CHAT_VOTE, "pick", "3 7x2");
	ok("vote pilot/pick 1", CHAT_VOTE, "pilot/pick", "1");
	ok("vote 7x2 3", CHAT_VOTE, NULL, "7x2 3");
	ok("vote 7X2", CHAT_VOTE, NULL, "7X2");
	ok("vote 7x 3", CHAT_VOTE, "7x", "3"); /* the grammar's business to refuse */
	bad("vote", "needs the numbers of the ideas");
	bad("vote pick", "needs the numbers of the ideas");
}

static void test_status_digest(void **state)
{
	ok("status", CHAT_STATUS, NULL, NULL);
	ok("status kickoff", CHAT_STATUS, "kickoff", NULL);
	ok("status pilot/kickoff", CHAT_STATUS, "pilot/kickoff", NULL);
	bad("status kickoff ideas", "`/coco status` takes one round");
	bad("status 12", "`/coco status` takes one round");
	ok("digest kickoff", CHAT_DIGEST, "kickoff", NULL);
	bad("digest", "`/coco digest` takes one round");
	bad("digest a b", "`/coco digest` takes one round");
	bad("digest a/b/c", "`/coco digest` takes one round");
}

static void test_unknown(void **state)
{
	bad("statsu kickoff", "`statsu` is not a command coco knows");
	bad("dark mode", "`dark` is not a command coco knows");
	/* A word said back is cut and cannot break out of its backticks. */
	bad("a`b", "`a'b` is not");
	char *long_word = xasprintf("%0100d", 0);
	long_word[0] = 'x';
	chat_command c = {0};
	char *err = NULL;
	assert_int_equal(chat_command_parse(long_word, "/coco", &c, &err), -EINVAL);
	assert_true(strlen(err) < 120);
	free(err);
	free(long_word);
	/* More than a message holds. */
	char *huge = xcalloc(1, CHAT_COMMAND_TEXT_MAX + 2);
	memset(huge, '1', CHAT_COMMAND_TEXT_MAX + 1);
	bad(huge, "too long");
	free(huge);
}

static void test_round_ref_and_help(void **state)
{
	assert_true(chat_command_is_round_ref("kickoff"));
	assert_true(chat_command_is_round_ref("pilot/kickoff"));
	assert_true(chat_command_is_round_ref("pulse.2"));
	assert_false(chat_command_is_round_ref("12"));
	assert_false(chat_command_is_round_ref("/kickoff"));
	assert_false(chat_command_is_round_ref("kickoff/"));
	assert_false(chat_command_is_round_ref("1:"));
	assert_false(chat_command_is_round_ref("skip"));
	assert_false(chat_command_is_round_ref("3x2"));
	assert_true(chat_command_is_round_ref("2024-q1"));
	assert_false(chat_command_is_round_ref(""));
	assert_false(chat_command_is_round_ref(NULL));
	char *h = chat_command_help("!coco");
	for (int k = 0; k < _CHAT_COMMAND_MAX; k++) {
		char *want = xasprintf("`!coco %s", chat_command_to_string(k));
		if (!strstr(h, want))
			fail_msg("the help lacks %s: %s", want, h);
		free(want);
	}
	free(h);
	assert_string_equal(chat_command_to_string(CHAT_DIGEST), "digest");
	assert_null(chat_command_to_string(_CHAT_COMMAND_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_and_rounds), cmocka_unit_test(test_answer),
		cmocka_unit_test(test_idea_vote),       cmocka_unit_test(test_status_digest),
		cmocka_unit_test(test_unknown),         cmocka_unit_test(test_round_ref_and_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
