/* fuzz_answer: the answer grammar. The first byte picks the round the reply is parsed against
 * (bits 0-2) and the number of ideas on a vote ballot (bits 3-7); outside vote rounds bit 3
 * gives the reply a writer (whose name signs it) and bit 4 makes the "plain" survey one of
 * its first question only (a bare value answers it). The rest is the reply, which goes
 * through answer_parse_ballot() and then every output: accessors, the confirmation, the help
 * line and the stored JSON record (printed, as the store would). */
#include "fuzz-common.h"

#include "answer.h"

static char *colours[] = {"Red", "Green", "Blue"};
static char *channels[] = {"Slack", "Email", "Matrix", "Phone"};
static char *points[] = {"1", "2", "3", "5", "8"};

static coco_question survey_q[] = {
	{.id = "mood", .kind = QUESTION_SCALE, .required = true, .min = 1, .max = 5},
	{.id = "colour", .kind = QUESTION_CHOICE, .options = colours, .n_options = 3},
	{.id = "channels", .kind = QUESTION_MULTI, .options = channels, .n_options = 4},
	{.id = "comment", .kind = QUESTION_TEXT},
	{.id = "nps", .kind = QUESTION_NPS, .required = true, .min = 0, .max = 10},
};
static coco_question plain_q[] = {
	{.id = "mood", .kind = QUESTION_SCALE, .required = true, .min = -3, .max = 3},
	{.id = "estimate", .kind = QUESTION_CHOICE, .options = points, .n_options = 5},
};
static coco_question two_text_q[] = {
	{.id = "mood", .kind = QUESTION_SCALE, .required = true, .min = 0, .max = 3},
	{.id = "good", .kind = QUESTION_TEXT, .required = true},
	{.id = "bad", .kind = QUESTION_TEXT},
};
/* ids that look like numbers and keywords */
static coco_question tricky_q[] = {
	{.id = "intro", .kind = QUESTION_TEXT},
	{.id = "1", .kind = QUESTION_SCALE, .min = 1, .max = 5},
	{.id = "idea", .kind = QUESTION_CHOICE, .options = colours, .n_options = 3},
	{.id = "vote", .kind = QUESTION_MULTI, .options = channels, .n_options = 4},
};

static const coco_round rounds[8] = {
	{.id = "kickoff", .kind = ROUND_SURVEY, .questions = survey_q, .n_questions = 5},
	{.id = "plain", .kind = ROUND_SURVEY, .questions = plain_q, .n_questions = 2},
	{.id = "retro", .kind = ROUND_SURVEY, .questions = two_text_q, .n_questions = 3},
	{.id = "tricky", .kind = ROUND_SURVEY, .questions = tricky_q, .n_questions = 4},
	{.id = "ideas", .kind = ROUND_PROMPT},
	{.id = "ballot", .kind = ROUND_VOTE, .source = "ideas", .votes = 3},
	{.id = "ballot1", .kind = ROUND_VOTE, .source = "ideas", .votes = 1},
	{.id = "hello", .kind = ROUND_ANNOUNCE},
};

static const coco_round one_question = {
	.id = "one", .kind = ROUND_SURVEY, .questions = plain_q, .n_questions = 1};
static const coco_member writer = {.id = "anna", .name = "Anna López"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const coco_round *round = &rounds[data[0] & 7];
	size_t n_ideas = data[0] >> 3;
	const coco_member *mb = NULL;
	if (round->kind != ROUND_VOTE) {
		mb = data[0] & 8 ? &writer : NULL;
		if ((data[0] & 7) == 1 && (data[0] & 16))
			round = &one_question;
	}
	answer_parse *p = NULL;

	if (answer_parse_ballot(round, n_ideas, NULL, mb, data + 1, size - 1, &p) < 0)
		abort(); /* only missing arguments may fail */

	volatile size_t n = answer_parse_n_items(p);
	for (size_t i = 0; i < answer_parse_n_answers(p); i++)
		n += strlen(answer_parse_answer_question(p, i)) + answer_parse_answer_number(p, i) +
		     strlen(answer_parse_answer_value(p, i));
	for (size_t i = 0; i < answer_parse_n_skips(p); i++)
		n += strlen(answer_parse_skip_question(p, i)) + answer_parse_skip_number(p, i);
	size_t n_listed = 0;
	for (char *const *s = answer_parse_ideas(p); *s; s++, n_listed++)
		n += strlen(*s);
	if (n_listed != answer_parse_n_ideas(p))
		abort();
	unsigned dots = 0;
	for (size_t i = 0; i <= n_ideas + 1; i++)
		dots += answer_parse_votes_for(p, i);
	if (dots != answer_parse_total_votes(p))
		abort();
	for (char *const *s = answer_parse_errors(p); *s; s++)
		n += strlen(*s);
	for (size_t i = 0; i < answer_parse_n_missing(p); i++) {
		size_t q = answer_parse_missing_number(p, i);
		/* a required question left out is in the round, and never answered as well */
		if (q < 1 || q > round->n_questions || !round->questions[q - 1].required)
			abort();
		for (size_t j = 0; j < answer_parse_n_answers(p); j++)
			if (answer_parse_answer_number(p, j) == q)
				abort();
		n += strlen(answer_parse_missing_question(p, i));
	}
	(void)n;

	char *confirmation = answer_confirmation(p);
	char *missing = answer_missing_required(p, NULL);
	if (!missing != (answer_parse_n_missing(p) == 0))
		abort();
	free(missing);
	char *help = answer_help(round);
	cJSON *json = NULL;
	if (answer_parse_to_json(p, &json) == 0) {
		char *line = cJSON_PrintUnformatted(json);
		/* It goes into answers.jsonl as one line. */
		if (!line || strchr(line, '\n'))
			abort();
		free(line);
	}
	cJSON_Delete(json);
	free(confirmation);
	free(help);
	answer_parse_free(p);
	return 0;
}
