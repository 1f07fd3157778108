/* fuzz_store: replay of the flat-file store. The first byte picks a round (survey, gap,
 * anonymous survey, prompt, vote); the rest is written as that round's
 * campaigns/acme/rounds/<round>/once/answers.jsonl (and as the previous occurrence's) in a
 * fresh store on tmpfs. Then everything that reads such a file back runs over it: the key
 * index (store_has_key), store_scan() with each line parsed, the digest's record scanner
 * and tally (digest_compute, digest_to_json, the idea and member lists). Last, one keyed
 * record is appended and committed — which cuts a torn tail — and must come back as the
 * file's last complete line. */
#include "fuzz-common.h"

#include "digest.h"
#include "store.h"

static coco_member members[] = {
	{.id = "c1", .name = "Ana Alvarez", .side = SIDE_CLIENT},
	{.id = "c2", .name = "Ben Brandt", .side = SIDE_CLIENT},
	{.id = "p1", .name = "Paul Peters", .side = SIDE_PROVIDER},
	{.id = "p2", .name = "Quinn Quist", .side = SIDE_PROVIDER},
};
static char *freq_opts[] = {"Weekly", "Monthly"};
static char *chan_opts[] = {"Slack", "Email", "Matrix"};
static coco_question survey_q[] = {
	{.id = "q1", .text = "How is it going?", .kind = QUESTION_SCALE, .min = 1, .max = 5},
	{.id = "q2", .text = "Would you recommend us?", .kind = QUESTION_NPS, .min = 0, .max = 10},
	{.id = "q3", .text = "How often?", .kind = QUESTION_CHOICE, .options = freq_opts,
	 .n_options = 2},
	{.id = "q4", .text = "Which channels?", .kind = QUESTION_MULTI, .options = chan_opts,
	 .n_options = 3},
	{.id = "q5", .text = "Anything else?", .kind = QUESTION_TEXT},
};
static coco_question gap_q[] = {
	{.id = "q1", .text = "One", .kind = QUESTION_SCALE, .min = -2, .max = 2},
	{.id = "q3", .text = "Three", .kind = QUESTION_SCALE, .min = 1, .max = 5},
};
static coco_question anon_q[] = {
	{.id = "q1", .text = "Mood", .kind = QUESTION_SCALE, .min = 1, .max = 5},
	{.id = "q2", .text = "Say more", .kind = QUESTION_TEXT},
};
static coco_round rounds[] = {
	{.id = "pulse", .kind = ROUND_SURVEY, .title = "Pulse", .questions = survey_q,
	 .n_questions = 5},
	{.id = "gap", .kind = ROUND_SURVEY, .title = "Gap", .questions = gap_q, .n_questions = 2},
	{.id = "anon", .kind = ROUND_SURVEY, .title = "Honest", .anonymous = true,
	 .questions = anon_q, .n_questions = 2},
	{.id = "ideas", .kind = ROUND_PROMPT, .title = "Ideas"},
	{.id = "vote", .kind = ROUND_VOTE, .title = "Vote", .source = "ideas", .votes = 3},
};
static coco_campaign camp = {
	.id = "acme", .title = "Acme pilot", .client_name = "Acme", .provider_name = "Widgets",
	.members = members, .n_members = ELEMENTSOF(members), .rounds = rounds,
	.n_rounds = ELEMENTSOF(rounds), .quiet_start = -1, .quiet_end = -1,
};
static const char *const idea_texts[] = {"A map", "Faster onboarding", "Less mail"};

static char *scratch;

static void cleanup(void)
{
	if (scratch && !getenv("COCO_FUZZ_KEEP"))
		fuzz_empty_dir(scratch), rmdir(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	scratch = fuzz_scratch_dir("store");
	atexit(cleanup);
	return 0;
}

static int parse_line(const char *line, size_t len, void *userdata)
{
	size_t *n = userdata;
	if (strlen(line) > len)
		abort(); /* the line is NUL-terminated at len */
	cJSON *j = cJSON_ParseWithLength(line, len);
	cJSON_Delete(j);
	(*n)++;
	return 0;
}

struct last {
	char *line;
};

static int keep_last(const char *line, size_t len, void *userdata)
{
	struct last *l = userdata;
	free(l->line);
	l->line = xstrndup(line, len);
	return 0;
}

static const char appended[] = "{\"v\":1,\"at\":1796630400,\"member\":\"c1\",\"side\":\"client\","
			       "\"answers\":{},\"ideas\":[\"fuzz\"],\"votes\":{},\"skips\":[]}";

static void on_commit(int result, void *userdata)
{
	*(int *)userdata = result;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const coco_round *round = &rounds[data[0] % ELEMENTSOF(rounds)];
	_cleanup_free_ char *rel = xasprintf("campaigns/acme/rounds/%s/once/answers.jsonl", round->id);
	_cleanup_free_ char *dir = xasprintf("%s/campaigns/acme/rounds/%s/once", scratch, round->id);
	_cleanup_free_ char *prev = xasprintf("%s/campaigns/acme/rounds/%s/prev", scratch, round->id);
	_cleanup_free_ char *file = xasprintf("%s/answers.jsonl", dir);
	_cleanup_free_ char *prev_file = xasprintf("%s/answers.jsonl", prev);
	fuzz_mkdirs(dir);
	fuzz_mkdirs(prev);
	fuzz_write(file, data + 1, size - 1);
	fuzz_write(prev_file, data + 1, size - 1);

	store *st = NULL;
	if (store_open(scratch, &st) < 0)
		abort();
	(void)store_has_key(st, "mail:1@x");

	size_t n_lines = 0;
	int scanned = store_scan(st, rel, parse_line, &n_lines);

	digest_input in = {.store = st, .campaign = &camp, .round = round, .occurrence = "once",
			   .prev_occurrence = "prev", .now = 1796630400};
	if (round->kind == ROUND_VOTE) {
		in.idea_texts = idea_texts;
		in.n_ideas = ELEMENTSOF(idea_texts);
	}
	digest *d = NULL;
	if (digest_compute(&in, &d) >= 0) {
		cJSON *j = NULL;
		if (digest_to_json(d, &j) >= 0) {
			free(cJSON_PrintUnformatted(j));
			cJSON_Delete(j);
		}
		digest_free(d);
	}
	char **v = NULL;
	if (digest_collect_ideas(st, "acme", round->id, "once", &v) >= 0)
		strv_free(v);
	v = NULL;
	if (digest_answered_members(st, "acme", round->id, "once", &v) >= 0)
		strv_free(v);

	/* Appending after a replay: a torn tail is cut, the new record is a whole line. */
	int result = -1;
	if (store_append(st, rel, appended, "fuzz:appended", on_commit, &result) < 0)
		abort();
	if (store_commit(st) < 0)
		abort();
	if (result == STORE_STORED && scanned >= 0) {
		struct last l = {NULL};
		if (store_scan(st, rel, keep_last, &l) >= 0) {
			_cleanup_free_ char *want =
				xasprintf("{\"key\":\"fuzz:appended\",%s", appended + 1);
			if (!l.line || !STREQ(l.line, want)) {
				fprintf(stderr, "fuzz_store: last line after append is \"%s\"\n",
					l.line ? l.line : "(none)");
				abort();
			}
		}
		free(l.line);
	}
	store_free(st);
	fuzz_empty_dir(scratch);
	return 0;
}
