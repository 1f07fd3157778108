/* Tests for the answer grammar: every form, values by question kind, free-text routing, ideas,
 * votes, skips, mixed scripts, garbage and limits, and the exact confirmation, help and JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "answer.h"
#include "util.h"

static char *colours[] = {"Red", "Green", "Blue"};
static char *channels[] = {"Slack", "Email", "Matrix", "Phone"};
static char *points[] = {"1", "2", "3", "5", "8"};

/* 1 scale, 2 choice, 3 multi, 4 text, 5 nps */
static coco_question survey_q[] = {
    {.id = "mood", .kind = QUESTION_SCALE, .required = true, .min = 1, .max = 5},
    {.id = "colour", .kind = QUESTION_CHOICE, .options = colours, .n_options = 3},
    {.id = "channels", .kind = QUESTION_MULTI, .options = channels, .n_options = 4},
    {.id = "comment", .kind = QUESTION_TEXT},
    {.id = "nps", .kind = QUESTION_NPS, .required = true, .min = 0, .max = 10},
};
static coco_round survey = {
    .id = "kickoff", .kind = ROUND_SURVEY, .questions = survey_q, .n_questions = 5};

/* no text question */
static coco_question plain_q[] = {
    {.id = "mood", .kind = QUESTION_SCALE, .required = true, .min = 1, .max = 5},
    {.id = "estimate", .kind = QUESTION_CHOICE, .options = points, .n_options = 5},
};
static coco_round plain = {
    .id = "plain", .kind = ROUND_SURVEY, .questions = plain_q, .n_questions = 2};

/* two text questions */
static coco_question two_text_q[] = {
    {.id = "mood", .kind = QUESTION_SCALE, .required = true, .min = 0, .max = 3},
    {.id = "good", .kind = QUESTION_TEXT, .required = true},
    {.id = "bad", .kind = QUESTION_TEXT},
};
static coco_round two_text = {
    .id = "retro", .kind = ROUND_SURVEY, .questions = two_text_q, .n_questions = 3};

/* ids that look like numbers: the id wins */
static coco_question tricky_q[] = {
    {.id = "intro", .kind = QUESTION_TEXT},
    {.id = "1", .kind = QUESTION_SCALE, .min = 1, .max = 5},
    {.id = "idea", .kind = QUESTION_CHOICE, .options = colours, .n_options = 3},
};
static coco_round tricky = {
    .id = "tricky", .kind = ROUND_SURVEY, .questions = tricky_q, .n_questions = 3};

/* the trial's rounds (tests/data/answers): baseline and the weekly pulse */
static char *priorities[] = {"Speed", "Mobile checkout", "Product search", "Look and feel"};
static char *devices[] = {"Phone", "Tablet", "Laptop", "Desktop"};
static coco_question baseline_q[] = {
    {.id = "satisfaction", .kind = QUESTION_SCALE, .required = true, .min = 1, .max = 5},
    {.id = "priority", .kind = QUESTION_CHOICE, .required = true, .options = priorities,
     .n_options = 4},
    {.id = "devices", .kind = QUESTION_MULTI, .options = devices, .n_options = 4},
    {.id = "nps", .kind = QUESTION_NPS, .min = 0, .max = 10},
    {.id = "wish", .kind = QUESTION_TEXT},
};
static coco_round baseline = {
    .id = "baseline", .kind = ROUND_SURVEY, .questions = baseline_q, .n_questions = 5};
static coco_question pulse_q[] = {
    {.id = "mood", .kind = QUESTION_SCALE, .min = 1, .max = 5},
    {.id = "blocker", .kind = QUESTION_TEXT},
};
static coco_round pulse = {
    .id = "pulse", .kind = ROUND_SURVEY, .questions = pulse_q, .n_questions = 2};

static coco_round prompt = {.id = "ideas", .kind = ROUND_PROMPT};
static coco_round vote = {.id = "ballot", .kind = ROUND_VOTE, .source = "ideas", .votes = 3};
static coco_round vote1 = {.id = "ballot1", .kind = ROUND_VOTE, .source = "ideas", .votes = 1};
static coco_round announce = {.id = "hello", .kind = ROUND_ANNOUNCE};

static answer_parse *parse(const coco_round *r, size_t n_ideas, const char *text)
{
	answer_parse *p = NULL;
	assert_int_equal(answer_parse_text(r, n_ideas, text, &p), 0);
	assert_non_null(p);
	return p;
}

/* The value given to question id, or NULL. */
static const char *value_of(const answer_parse *p, const char *qid)
{
	for (size_t i = 0; i < answer_parse_n_answers(p); i++)
		if (STREQ(answer_parse_answer_question(p, i), qid))
			return answer_parse_answer_value(p, i);
	return NULL;
}

static void assert_no_errors(const answer_parse *p)
{
	if (answer_parse_n_errors(p) > 0)
		fail_msg("unexpected error: %s", answer_parse_errors(p)[0]);
}

static void assert_error(const answer_parse *p, size_t i, const char *msg)
{
	assert_true(i < answer_parse_n_errors(p));
	assert_string_equal(answer_parse_errors(p)[i], msg);
}

static void assert_json(const answer_parse *p, const char *want)
{
	cJSON *j = NULL;
	assert_int_equal(answer_parse_to_json(p, &j), 0);
	_cleanup_free_ char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	assert_string_equal(s, want);
}

static void assert_confirmation(const answer_parse *p, const char *want)
{
	_cleanup_free_ char *s = answer_confirmation(p);
	assert_string_equal(s, want);
}

static void test_one_per_line(void **state)
{
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&survey, 0, "1: 4\n2: b\n3: a c\nq4: Great kickoff, thanks; really!\n#5: 9\n");
	assert_no_errors(p);
	assert_int_equal(answer_parse_n_answers(p), 5);
	assert_int_equal(answer_parse_n_items(p), 5);
	assert_string_equal(value_of(p, "mood"), "4");
	assert_string_equal(value_of(p, "colour"), "Green");
	assert_string_equal(value_of(p, "channels"), "Slack|Matrix");
	assert_string_equal(value_of(p, "comment"), "Great kickoff, thanks; really!");
	assert_string_equal(value_of(p, "nps"), "9");
	/* question order, 1-based numbers */
	assert_string_equal(answer_parse_answer_question(p, 0), "mood");
	assert_int_equal(answer_parse_answer_number(p, 4), 5);
	assert_null(answer_parse_answer_question(p, 5));
}

static void test_several_on_a_line(void **state)
{
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&survey, 0, "1: 4, 2: b; 3: bd, Q5: 10, 4: free, text; 1: 2 runs on");
	assert_no_errors(p);
	assert_string_equal(value_of(p, "mood"), "4");
	assert_string_equal(value_of(p, "colour"), "Green");
	assert_string_equal(value_of(p, "channels"), "Email|Phone");
	assert_string_equal(value_of(p, "nps"), "10");
	assert_string_equal(value_of(p, "comment"), "free, text; 1: 2 runs on");

	/* a blank before the next "N:" separates too */
	_cleanup_answer_parse_ answer_parse *q = parse(&survey, 0, "1: 3 2: 3 3: b, d 5: 0");
	assert_no_errors(q);
	assert_string_equal(value_of(q, "mood"), "3");
	assert_string_equal(value_of(q, "colour"), "Blue");
	assert_string_equal(value_of(q, "channels"), "Email|Phone");
	assert_string_equal(value_of(q, "nps"), "0");
}

static void test_references(void **state)
{
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&survey, 0, "MOOD: 2, Colour : blue, channels: slack, email\nnPs: 7");
	assert_no_errors(p);
	assert_string_equal(value_of(p, "mood"), "2");
	assert_string_equal(value_of(p, "colour"), "Blue");
	assert_string_equal(value_of(p, "channels"), "Slack|Email");
	assert_string_equal(value_of(p, "nps"), "7");

	/* "1" is the id of question 2; "#1" is question 1; "idea:" is a question here */
	_cleanup_answer_parse_ answer_parse *q = parse(&tricky, 0, "1: 4\n#1: hello\nidea: c");
	assert_no_errors(q);
	assert_string_equal(value_of(q, "1"), "4");
	assert_string_equal(value_of(q, "intro"), "hello");
	assert_string_equal(value_of(q, "idea"), "Blue");
	assert_int_equal(answer_parse_n_ideas(q), 0);

	/* at the start of a line in a survey, "1)" and "=" as people write them (trial S3-7);
	 * inside a text answer "=" is prose, and a word that is no question is free text */
	_cleanup_answer_parse_ answer_parse *t =
	    parse(&survey, 0, "1) 4\nQ5 = 9\ncolour = red\n4: it was 2 = too much");
	assert_no_errors(t);
	assert_string_equal(value_of(t, "mood"), "4");
	assert_string_equal(value_of(t, "nps"), "9");
	assert_string_equal(value_of(t, "colour"), "Red");
	assert_string_equal(value_of(t, "comment"), "it was 2 = too much");
	_cleanup_answer_parse_ answer_parse *u = parse(&survey, 0, "x = y");
	assert_string_equal(value_of(u, "comment"), "x = y");

	/* a later answer replaces an earlier one */
	_cleanup_answer_parse_ answer_parse *r = parse(&survey, 0, "1: 2\nmood: 5");
	assert_int_equal(answer_parse_n_answers(r), 1);
	assert_string_equal(value_of(r, "mood"), "5");
}

static void test_values(void **state)
{
	static const struct {
		const char *in, *qid, *want;
	} ok[] = {
	    {"1: 1", "mood", "1"},
	    {"1: +5", "mood", "5"},
	    {"1: 4/5", "mood", "4"},
	    {"5: 0", "nps", "0"},
	    {"2: C", "colour", "Blue"},
	    {"2: 1", "colour", "Red"},
	    {"2: gReEn", "colour", "Green"},
	    {"3: d, a", "channels", "Slack|Phone"},
	    {"3: DB", "channels", "Email|Phone"},
	    {"3: b b 2", "channels", "Email"},
	    {"3: Matrix, phone", "channels", "Matrix|Phone"},
	    {"3: 1 4", "channels", "Slack|Phone"},
	    {"3: c", "channels", "Matrix"},
	};
	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		_cleanup_answer_parse_ answer_parse *p = parse(&survey, 0, ok[i].in);
		assert_no_errors(p);
		assert_string_equal(value_of(p, ok[i].qid), ok[i].want);
	}
	/* option texts that are numbers win over option numbers */
	_cleanup_answer_parse_ answer_parse *p = parse(&plain, 0, "2: 5");
	assert_string_equal(value_of(p, "estimate"), "5");
	_cleanup_answer_parse_ answer_parse *q = parse(&plain, 0, "2: 4");
	assert_string_equal(value_of(q, "estimate"), "5"); /* option 4 */
	_cleanup_answer_parse_ answer_parse *r = parse(&plain, 0, "2: b");
	assert_string_equal(value_of(r, "estimate"), "2");
}

static void test_bad_values(void **state)
{
	static const struct {
		const char *in, *err;
	} bad[] = {
	    {"1: 9", "“1: 9”: question 1 takes a whole number from 1 to 5"},
	    {"1: 0", "“1: 0”: question 1 takes a whole number from 1 to 5"},
	    {"1: 4.5", "“1: 4.5”: question 1 takes a whole number from 1 to 5"},
	    {"1: 4/10", "“1: 4/10”: question 1 takes a whole number from 1 to 5"},
	    {"1: four", "“1: four”: question 1 takes a whole number from 1 to 5"},
	    {"1: 99999999999999999999",
	     "“1: 99999999999999999999”: question 1 takes a whole number from 1 to 5"},
	    {"5: 11", "“5: 11”: question 5 takes a whole number from 0 to 10"},
	    {"5: -1", "“5: -1”: question 5 takes a whole number from 0 to 10"},
	    {"2: z", "“2: z”: question 2 takes one of the options a to c (or the option's text)"},
	    {"2: 4", "“2: 4”: question 2 takes one of the options a to c (or the option's text)"},
	    {"2: a b",
	     "“2: a b”: question 2 takes one of the options a to c (or the option's text)"},
	    {"3: zz", "“3: zz”: question 3 takes one or more of the options a to d, like “a c”"},
	    {"3: b, x",
	     "“3: b, x”: question 3 takes one or more of the options a to d, like “a c”"},
	    {"1:", "“1:”: no answer after the colon"},
	    {"1:   ", "“1:”: no answer after the colon"},
	    {"99: 4", "“99: 4”: there is no question 99 (questions are numbered 1 to 5)"},
	    {"q0: 4", "“q0: 4”: there is no question q0 (questions are numbered 1 to 5)"},
	    {"#6: x", "“#6: x”: there is no question #6 (questions are numbered 1 to 5)"},
	    {"4:", "“4:”: no answer after the colon"},
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_answer_parse_ answer_parse *p = parse(&survey, 0, bad[i].in);
		assert_int_equal(answer_parse_n_items(p), 0);
		assert_int_equal(answer_parse_n_errors(p), 1);
		assert_error(p, 0, bad[i].err);
	}
	/* the good parts of a line survive the bad ones */
	_cleanup_answer_parse_ answer_parse *p = parse(&survey, 0, "1: 9, 2: a, 99: 1, 5: 8");
	assert_int_equal(answer_parse_n_answers(p), 2);
	assert_string_equal(value_of(p, "colour"), "Red");
	assert_string_equal(value_of(p, "nps"), "8");
	assert_int_equal(answer_parse_n_errors(p), 2);
	assert_error(p, 0, "“1: 9”: question 1 takes a whole number from 1 to 5");
	assert_error(p, 1, "“99: 1”: there is no question 99 (questions are numbered 1 to 5)");
}

static void test_text_continues(void **state)
{
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&survey, 0, "4: first line\n   second line  \n1: 3\n");
	assert_no_errors(p);
	assert_string_equal(value_of(p, "comment"), "first line\nsecond line");
	assert_string_equal(value_of(p, "mood"), "3");

	/* "4:" alone takes the lines below, up to a blank line */
	_cleanup_answer_parse_ answer_parse *q = parse(&plain, 0, "");
	_cleanup_answer_parse_ answer_parse *r = parse(&survey, 0, "4:\nbelow\nmore\n\n2: a");
	assert_no_errors(r);
	assert_string_equal(value_of(r, "comment"), "below\nmore");
	assert_int_equal(answer_parse_n_items(q), 0);
	assert_int_equal(answer_parse_n_errors(q), 0);

	/* CRLF and lone CR end lines too */
	_cleanup_answer_parse_ answer_parse *s = parse(&survey, 0, "1: 2\r\n4: a\r\nb\r2: c\r\n");
	assert_no_errors(s);
	assert_string_equal(value_of(s, "comment"), "a\nb");
	assert_string_equal(value_of(s, "colour"), "Blue");

	/* at most 2000 bytes */
	char big[2100];
	memcpy(big, "4: ", 3);
	memset(big + 3, 'x', 2001);
	big[2004] = 0;
	_cleanup_answer_parse_ answer_parse *t = parse(&survey, 0, big);
	assert_int_equal(answer_parse_n_items(t), 0);
	assert_error(t, 0,
		     "“4: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…”: "
		     "answer too long (2001 bytes, at most 2000)");
	big[2003] = 0;
	_cleanup_answer_parse_ answer_parse *u = parse(&survey, 0, big);
	assert_no_errors(u);
	assert_int_equal(strlen(value_of(u, "comment")), 2000);
}

static void test_free_text_routing(void **state)
{
	/* a reply of nothing but free text answers the one text question, paragraphs and all;
	 * the greeting and the closing are left out */
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&survey, 0, "Hi!\n\nThe kickoff was fine.\nToo long though.\n\nSo much to do\n\nBye");
	assert_no_errors(p);
	assert_int_equal(answer_parse_n_items(p), 1);
	assert_string_equal(value_of(p, "comment"),
			    "The kickoff was fine.\nToo long though.\n\nSo much to do");

	/* beside a statement it is not understood, never stored: it might be anything */
	_cleanup_answer_parse_ answer_parse *a =
	    parse(&survey, 0, "Hi!\n\n1: 4\nThe kickoff was fine.\nToo long though.\n\nBye");
	assert_int_equal(answer_parse_n_items(a), 1);
	assert_string_equal(value_of(a, "mood"), "4");
	assert_null(value_of(a, "comment"));
	/* each line as it was written, not two lines glued into one nobody wrote */
	assert_int_equal(answer_parse_n_errors(a), 2);
	assert_error(a, 0,
		     "“The kickoff was fine.”: not understood; to answer a "
		     "question in words, start with its number, like “4: …”");
	assert_error(a, 1,
		     "“Too long though.”: not understood; to answer a "
		     "question in words, start with its number, like “4: …”");
	/* a statement that is wrong counts as a statement too */
	_cleanup_answer_parse_ answer_parse *b = parse(&survey, 0, "1: 9\nfine");
	assert_int_equal(answer_parse_n_items(b), 0);
	assert_int_equal(answer_parse_n_errors(b), 2);

	/* the message answered it already */
	_cleanup_answer_parse_ answer_parse *q = parse(&survey, 0, "4: said it\n\nand more");
	assert_string_equal(value_of(q, "comment"), "said it");
	assert_int_equal(answer_parse_n_errors(q), 1);
	assert_error(q, 0, "“and more”: not understood");

	/* nor when it was skipped */
	_cleanup_answer_parse_ answer_parse *r = parse(&survey, 0, "skip 4\nwords");
	assert_int_equal(answer_parse_n_skips(r), 1);
	assert_null(value_of(r, "comment"));
	assert_error(r, 0, "“words”: not understood");

	/* two text questions: free text is ambiguous... */
	_cleanup_answer_parse_ answer_parse *s = parse(&two_text, 0, "1: 2\nall good");
	assert_int_equal(answer_parse_n_items(s), 1);
	assert_error(s, 0,
		     "“all good”: not understood; to answer a question in words, start "
		     "with its number, like “2: …”");
	_cleanup_answer_parse_ answer_parse *s2 = parse(&two_text, 0, "all good");
	assert_int_equal(answer_parse_n_items(s2), 0);
	assert_int_equal(answer_parse_n_errors(s2), 1);
	/* ...and stays so when one of them is answered: the hint names the other */
	_cleanup_answer_parse_ answer_parse *t = parse(&two_text, 0, "good: coffee\n\nthe rest");
	assert_string_equal(value_of(t, "good"), "coffee");
	assert_null(value_of(t, "bad"));
	assert_error(t, 0,
		     "“the rest”: not understood; to answer a question in words, start "
		     "with its number, like “3: …”");

	/* no text question at all */
	_cleanup_answer_parse_ answer_parse *u = parse(&plain, 0, "see you there\n2: 8");
	assert_int_equal(answer_parse_n_items(u), 1);
	assert_error(u, 0, "“see you there”: not understood");

	/* prose that merely starts like a keyword stays prose */
	_cleanup_answer_parse_ answer_parse *v =
	    parse(&survey, 0, "Note: skip the intro, vote early\nhttps://example.com");
	assert_no_errors(v);
	assert_string_equal(value_of(v, "comment"),
			    "Note: skip the intro, vote early\nhttps://example.com");
}

static void test_greetings(void **state)
{
	static const char *const greetings[] = {
	    "Hi",	  "Hi all,",	   "Hello team",     "Hey!",	      "Dear Anna,",
	    "Dear Ms. Weber,", "Good morning", "good morning everyone!", "Hallo zusammen,",
	    "Hej",	  "Hei",	   "Moi!",	      "Bonjour",	      "Salut Raj",
	    "Guten Tag,", "Здравствуйте!", "HELLO ALL",	      "Hi , all",	      "Hello Tom Becker,",
	    "Bonjour à tous,", "Bonjour tout le monde !", "Hej alla!", "Ciao a tutti",
	    /* trial 6 */
	    "Buenos días,", "Buenas tardes a todos", "Estimados:", "Bom dia,",
	};
	for (size_t i = 0; i < ELEMENTSOF(greetings); i++) {
		_cleanup_free_ char *text = xasprintf("%s\n1: 4", greetings[i]);
		_cleanup_answer_parse_ answer_parse *p = parse(&survey, 0, text);
		if (answer_parse_n_errors(p) > 0)
			fail_msg("%s: %s", greetings[i], answer_parse_errors(p)[0]);
		assert_int_equal(answer_parse_n_items(p), 1);
	}
	/* lines that only start like one are no greeting */
	static const char *const not_greetings[] = {
	    "Hiking trails", "Hi Tom, the shop is slow", "Good morning briefings",
	    "Hello world, again", "Dear me, what a shop",
	};
	for (size_t i = 0; i < ELEMENTSOF(not_greetings); i++) {
		_cleanup_free_ char *text = xasprintf("%s\n\n1: 4", not_greetings[i]);
		_cleanup_answer_parse_ answer_parse *p = parse(&survey, 0, text);
		if (answer_parse_n_errors(p) != 1)
			fail_msg("%s: %zu errors", not_greetings[i], answer_parse_n_errors(p));
	}

	/* repro 3: the greeting is no answer to the text question the reply left out */
	_cleanup_answer_parse_ answer_parse *a = parse(&baseline, 0, "Hi all,\n\n1: 3\n2: c\n3: c d");
	assert_no_errors(a);
	assert_null(value_of(a, "wish"));
	assert_int_equal(answer_parse_n_items(a), 3);

	/* a greeting before a statement on the same line */
	_cleanup_answer_parse_ answer_parse *g = parse(&survey, 0, "Hi all, 1: 3, 2: b");
	assert_no_errors(g);
	assert_int_equal(answer_parse_n_items(g), 2);
	assert_null(value_of(g, "comment"));
	_cleanup_answer_parse_ answer_parse *h = parse(&survey, 0, "Hi Tom, the shop is slow");
	assert_string_equal(value_of(h, "comment"), "Hi Tom, the shop is slow");

	/* only the first line is one */
	_cleanup_answer_parse_ answer_parse *b = parse(&survey, 0, "1: 4\n\nHi all, and more");
	assert_int_equal(answer_parse_n_errors(b), 1);

	/* a reply of free text keeps its words, not the greeting; so does an idea */
	_cleanup_answer_parse_ answer_parse *c = parse(&survey, 0, "Hi,\nThe shop is slow.");
	assert_no_errors(c);
	assert_string_equal(value_of(c, "comment"), "The shop is slow.");
	_cleanup_answer_parse_ answer_parse *d = parse(&prompt, 0, "Hey team!\n\nDark mode");
	assert_no_errors(d);
	assert_int_equal(answer_parse_n_ideas(d), 1);
	assert_string_equal(answer_parse_ideas(d)[0], "Dark mode");
	/* a greeting alone: nothing recorded, nothing to complain about */
	_cleanup_answer_parse_ answer_parse *e = parse(&survey, 0, "Hello!\n");
	assert_int_equal(answer_parse_n_items(e), 0);
	assert_int_equal(answer_parse_n_errors(e), 0);
}

/* Trial 4: answers typed between the quoted lines of the invitation. The quoted lines are
 * coco's own message (the member's personal link among them): never an answer, not even the
 * free text of the survey's text question. */
static void test_quoted_lines_are_not_answers(void **state)
{
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&survey, 0, "> Hi Dieter,\n>\n> **Kickoff survey** · Shop relaunch\n>\n"
	                      "> 1. How do you feel? (1-5)\n1: 4\n> 2. Colour?\n2: b\n"
	                      "> Or answer in your browser: <https://coco.example/c/x/form?m=d&s=ab>\n");
	assert_no_errors(p);
	assert_int_equal(answer_parse_n_items(p), 2);
	assert_null(value_of(p, "comment"));
	_cleanup_answer_parse_ answer_parse *q =
	    parse(&survey, 0, "> 4. Anything else?\nThe delivery slots are confusing.\n> -- \n> _coco_");
	assert_string_equal(value_of(q, "comment"), "The delivery slots are confusing.");
}

static void test_intros(void **state)
{
	/* repro 4: the intro and the name neither answer question 5 nor replace its answer */
	static const char *const replies[] = {
	    "Thinking about it again, speed matters more:\n2: a\n\nMaria",
	    "Thinking about it again, speed matters more:\n2: a\nMaria",
	    "Thinking about it again, speed matters more:\n\n2: a\n\nCheers,\nMaria",
	};
	for (size_t i = 0; i < ELEMENTSOF(replies); i++) {
		_cleanup_answer_parse_ answer_parse *p = parse(&baseline, 0, replies[i]);
		assert_no_errors(p);
		assert_int_equal(answer_parse_n_items(p), 1);
		assert_string_equal(value_of(p, "priority"), "Speed");
		assert_null(value_of(p, "wish"));
		assert_json(p, "{\"answers\":{\"priority\":\"Speed\"},\"ideas\":[],\"votes\":{},"
			       "\"skips\":[]}");
	}
	_cleanup_answer_parse_ answer_parse *a = parse(&baseline, 0, "Oops, sorry:\n1: 4\n2: d");
	assert_no_errors(a);
	assert_int_equal(answer_parse_n_items(a), 2);
	assert_null(value_of(a, "wish"));
	/* before a vote, before bullets */
	_cleanup_answer_parse_ answer_parse *b = parse(&vote, 5, "Changed my mind:\nvote 1 3 3");
	assert_no_errors(b);
	assert_int_equal(answer_parse_total_votes(b), 3);
	_cleanup_answer_parse_ answer_parse *c =
	    parse(&prompt, 0, "Two more:\n- Dark mode\n\nAnd this one:\n\nidea: Offline mode");
	assert_no_errors(c);
	assert_int_equal(answer_parse_n_ideas(c), 2);
	assert_string_equal(answer_parse_ideas(c)[0], "Dark mode");
	assert_string_equal(answer_parse_ideas(c)[1], "Offline mode");

	/* a line ending in ':' that leads into nothing is free text as before... */
	_cleanup_answer_parse_ answer_parse *d = parse(&survey, 0, "1: 4\n\nMore later:");
	assert_error(d, 0,
		     "“More later:”: not understood; to answer a question in words, start with "
		     "its number, like “4: …”");
	_cleanup_answer_parse_ answer_parse *e =
	    parse(&survey, 0, "The problems:\nslow pages, no search");
	assert_no_errors(e);
	assert_string_equal(value_of(e, "comment"), "The problems:\nslow pages, no search");
	/* ...and it never cuts into a text answer it continues */
	_cleanup_answer_parse_ answer_parse *f = parse(&survey, 0, "4: first\nthen this:\n1: 3");
	assert_no_errors(f);
	assert_string_equal(value_of(f, "comment"), "first\nthen this:");
	assert_string_equal(value_of(f, "mood"), "3");
	/* "4:" alone is a statement, not an intro */
	_cleanup_answer_parse_ answer_parse *g = parse(&survey, 0, "4:\nbelow");
	assert_string_equal(value_of(g, "comment"), "below");
}

static void test_bullets(void **state)
{
	/* repro 8 */
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&prompt, 0,
		  "A few from my side:\n\n- Loyalty card number at checkout\n- Recipes that add "
		  "all ingredients to the basket\n");
	assert_no_errors(p);
	assert_int_equal(answer_parse_n_ideas(p), 2);
	assert_string_equal(answer_parse_ideas(p)[0], "Loyalty card number at checkout");
	assert_string_equal(answer_parse_ideas(p)[1],
			    "Recipes that add all ingredients to the basket");

	_cleanup_answer_parse_ answer_parse *q = parse(
	    &prompt, 0,
	    "* one\n• two\n1. three\n12) four\n- idea: five\n+ six\n- wrapped\n  over two lines\n\n"
	    "-not a bullet\n\n1.5 stars\n\n–\ten dash after a tab");
	assert_no_errors(q);
	char *const *ideas = answer_parse_ideas(q);
	assert_int_equal(answer_parse_n_ideas(q), 10);
	assert_string_equal(ideas[0], "one");
	assert_string_equal(ideas[1], "two");
	assert_string_equal(ideas[2], "three");
	assert_string_equal(ideas[3], "four");
	assert_string_equal(ideas[4], "five");
	assert_string_equal(ideas[5], "six");
	assert_string_equal(ideas[6], "wrapped over two lines"); /* an idea is one line */
	assert_string_equal(ideas[7], "-not a bullet");
	assert_string_equal(ideas[8], "1.5 stars");
	assert_string_equal(ideas[9], "en dash after a tab");

	/* in a survey a bullet is free text like any other */
	_cleanup_answer_parse_ answer_parse *r = parse(&survey, 0, "- slow\n- ugly");
	assert_no_errors(r);
	assert_string_equal(value_of(r, "comment"), "- slow\n- ugly");
}

static void test_signoffs(void **state)
{
	/* closings, with and without a name, a bare name, a name over signature lines */
	static const char *const tails[] = {
	    "Thanks",
	    "Thanks, Raj",
	    "Thanks,\nRaj",
	    "Thank you!",
	    "Cheers",
	    "Cheers,\nTom",
	    "Best,\nMaria",
	    "Best regards,\nTom Becker\nHead of E-Commerce | Corner Grocers\nT +44 20 7946 0958",
	    "Regards",
	    "Danke!",
	    "Kiitos",
	    "Tack",
	    "Merci beaucoup",
	    "Merci",
	    "Mit freundlichen Grüßen\nAnna Weber\nPixelhaus GmbH · Projektleitung",
	    "Viele Grüße\nAnna",
	    "Br, Mikko",
	    "Maria",
	    "Maria Schulz",
	    "Ana de Souza",
	    "J. Smith",
	    "Maria Schulz\nHead of Online | Corner Grocers",
	    "Thanks!\n\nCheers,\nTom",
	    "Bonne journée,\nPriya",
	    "Bien cordialement,\nPriya Raman",
	    "Schönen Tag,\nAnna",
	    "D.",
	    /* trial 4: two closings joined */
	    "Merci et bonne journée,\nPaul Martin\nChef de projet | Pixel Forge",
	    "Thanks and best regards,\nPaul",
	    "Danke und viele Grüße\nPaul",
	    "Schönen Tag noch,",
	    /* trial 6: Spanish, and a whole signature on one line */
	    "Saludos,\n\nJosé Peña | Jefe de Compras | Bäckerei Müller & Söhne México",
	    "Un saludo,\nJosé",
	    "Atentamente,\nJosé Peña",
	    "José Peña | Jefe de Compras",
	    "Anna Weber · Pixelhaus GmbH",
	};
	for (size_t i = 0; i < ELEMENTSOF(tails); i++) {
		_cleanup_free_ char *text = xasprintf("1: 4\n2: b\n\n%s\n", tails[i]);
		_cleanup_answer_parse_ answer_parse *p = parse(&survey, 0, text);
		bool merci = STREQ(tails[i], "Merci beaucoup"); /* "beaucoup" is no name */
		if (answer_parse_n_errors(p) != merci)
			fail_msg("%s: %zu errors", tails[i], answer_parse_n_errors(p));
		assert_int_equal(answer_parse_n_items(p), 2);
	}
	/* a closing also comes off a text answer it follows directly... */
	_cleanup_answer_parse_ answer_parse *a = parse(&survey, 0, "4: too slow\nThanks, Raj");
	assert_no_errors(a);
	assert_string_equal(value_of(a, "comment"), "too slow");
	/* ...a bare name does not: it might be the last line of the answer */
	_cleanup_answer_parse_ answer_parse *b =
	    parse(&survey, 0, "4: Pay with\nApple Pay\n\n1: 3");
	assert_string_equal(value_of(b, "comment"), "Pay with\nApple Pay");
	_cleanup_answer_parse_ answer_parse *c = parse(&survey, 0, "4: Pay with\nApple Pay");
	assert_string_equal(value_of(c, "comment"), "Pay with\nApple Pay");
	/* under a statement that is no text it is a sign-off */
	_cleanup_answer_parse_ answer_parse *d = parse(&survey, 0, "2: a\nMaria");
	assert_no_errors(d);
	assert_int_equal(answer_parse_n_items(d), 1);

	/* a short line alone is the idea, not a signature: it needs content above it */
	_cleanup_answer_parse_ answer_parse *e = parse(&prompt, 0, "Dark Mode");
	assert_no_errors(e);
	assert_int_equal(answer_parse_n_ideas(e), 1);
	assert_string_equal(answer_parse_ideas(e)[0], "Dark Mode");
	_cleanup_answer_parse_ answer_parse *f = parse(&prompt, 0, "Hi all,\n\nDark Mode");
	assert_int_equal(answer_parse_n_ideas(f), 1);
	_cleanup_answer_parse_ answer_parse *g = parse(&prompt, 0, "Some ideas:\n\nDark Mode");
	assert_int_equal(answer_parse_n_ideas(g), 1);
	assert_string_equal(answer_parse_ideas(g)[0], "Dark Mode");
	/* trial 3: an initial signs an idea mail too, and a French greeting is no idea */
	_cleanup_answer_parse_ answer_parse *ia =
	    parse(&prompt, 0, "One more:\n\nidea: Mobile view for store managers\n\nD.");
	assert_no_errors(ia);
	assert_int_equal(answer_parse_n_ideas(ia), 1);
	_cleanup_answer_parse_ answer_parse *ja =
	    parse(&prompt, 0, "Bonjour à tous,\n\nUn tableau partagé\n\nUne alerte le lundi");
	assert_no_errors(ja);
	assert_int_equal(answer_parse_n_ideas(ja), 2);
	assert_string_equal(answer_parse_ideas(ja)[0], "Un tableau partagé");
	_cleanup_answer_parse_ answer_parse *h = parse(&prompt, 0, "idea: Offline mode\n\nLee");
	assert_no_errors(h);
	assert_int_equal(answer_parse_n_ideas(h), 1);
	assert_string_equal(answer_parse_ideas(h)[0], "Offline mode");
	/* the same in a reply of free text to a survey */
	_cleanup_answer_parse_ answer_parse *k = parse(&survey, 0, "Apple Pay");
	assert_string_equal(value_of(k, "comment"), "Apple Pay");
	_cleanup_answer_parse_ answer_parse *l = parse(&survey, 0, "The shop is slow.\n\nMaria");
	assert_string_equal(value_of(l, "comment"), "The shop is slow.");

	/* sentences and lower-case words are no names; only the end of the text is looked at */
	static const char *const not_signoffs[] = {"Yes.", "Great work!", "Dark mode",
						   "Thanks for nothing at all here"};
	for (size_t i = 0; i < ELEMENTSOF(not_signoffs); i++) {
		_cleanup_free_ char *text = xasprintf("1: 4\n\n%s", not_signoffs[i]);
		_cleanup_answer_parse_ answer_parse *p = parse(&survey, 0, text);
		if (answer_parse_n_errors(p) != 1)
			fail_msg("%s: %zu errors", not_signoffs[i], answer_parse_n_errors(p));
	}
	_cleanup_answer_parse_ answer_parse *m = parse(&survey, 0, "Maria\n\n1: 4");
	assert_int_equal(answer_parse_n_errors(m), 1);
}

/* Trial 7: the greetings and closings real members wrote that coco did not know, as families
 * ("Grüße aus <Ort>", "t. <Name>", a bilingual closing), and everything under a closing. */
static void test_signoffs_trial7(void **state)
{
	static const char *const tails[] = {
	    "t. Mikael",
	    "T. Mikko",
	    "Grüße aus Berlin\nAnna",
	    "Viele Grüße aus München,\nAnna",
	    "Greetings from Helsinki, Mikael",
	    "Saludos desde Madrid",
	    "Ystävällisin terveisin / Best regards\nMikael Virtanen",
	    "Saludos cordiales,\n\nAnna López García\nDirectora de Marketing\nBergström Retail S.L.",
	    "Mit freundlichen Grüßen\n\nDr. Anna Schmidt\nLeiterin E-Commerce\nBergström Retail GmbH",
	    "Liebe Grüsse\nAnna",
	    "Med vänliga hälsningar\nSara",
	};
	for (size_t i = 0; i < ELEMENTSOF(tails); i++) {
		_cleanup_free_ char *text = xasprintf("1: 4\n2: b\n\n%s\n", tails[i]);
		_cleanup_answer_parse_ answer_parse *p = parse(&survey, 0, text);
		if (answer_parse_n_errors(p) != 0)
			fail_msg("%s: %s", tails[i], answer_parse_errors(p)[0]);
		assert_int_equal(answer_parse_n_items(p), 2);
		/* in an idea round the same is no idea */
		_cleanup_free_ char *idea = xasprintf("idea: Live chat\n\n%s\n", tails[i]);
		_cleanup_answer_parse_ answer_parse *q = parse(&prompt, 0, idea);
		if (answer_parse_n_ideas(q) != 1)
			fail_msg("%s: %zu ideas, the last “%s”", tails[i], answer_parse_n_ideas(q),
				 answer_parse_ideas(q)[answer_parse_n_ideas(q) - 1]);
	}
	/* greetings, formal ones too */
	static const char *const greetings[] = {
	    "Sehr geehrte Damen und Herren,", "Sehr geehrter Herr Weber,", "Madame, Monsieur,",
	    "Hyvä vastaanottaja,", "Dear Sir or Madam,",
	};
	for (size_t i = 0; i < ELEMENTSOF(greetings); i++) {
		_cleanup_free_ char *text = xasprintf("%s\n\nidea: Live chat\n", greetings[i]);
		_cleanup_answer_parse_ answer_parse *q = parse(&prompt, 0, text);
		if (answer_parse_n_ideas(q) != 1)
			fail_msg("%s: %zu ideas", greetings[i], answer_parse_n_ideas(q));
		assert_string_equal(answer_parse_left_out(q), greetings[i]);
	}
	/* A closing on the first line opens the mail: left out, and the short ideas under it
	 * are no bare names signing it (they were all lost). */
	static const struct {
		const char *text, *idea, *left_out;
	} openers[] = {
	    {"Thanks!\n\nDark Mode\n", "Dark Mode", "Thanks!"},
	    {"Grüße aus Berlin\n\nDark Mode\n", "Dark Mode", "Grüße aus Berlin"},
	    {"Kind regards\n\nSaved carts for B2B buyers\n", "Saved carts for B2B buyers",
	     "Kind regards"},
	};
	for (size_t i = 0; i < ELEMENTSOF(openers); i++) {
		_cleanup_answer_parse_ answer_parse *q = parse(&prompt, 0, openers[i].text);
		if (answer_parse_n_ideas(q) != 1)
			fail_msg("%s: %zu ideas", openers[i].text, answer_parse_n_ideas(q));
		assert_string_equal(answer_parse_ideas(q)[0], openers[i].idea);
		assert_string_equal(answer_parse_left_out(q), openers[i].left_out);
	}
	/* A thank-you of its own over the answers opens the mail: left out */
	static const char *const thanks_first[] = {
	    "Thank you for organising this!", "Thanks for the survey.", "Vielen Dank für die Umfrage!",
	    "Kiitos kyselystä!", "Merci pour l'atelier !",
	};
	for (size_t i = 0; i < ELEMENTSOF(thanks_first); i++) {
		_cleanup_free_ char *idea = xasprintf("%s\n\nSaved carts\n", thanks_first[i]);
		_cleanup_answer_parse_ answer_parse *q = parse(&prompt, 0, idea);
		if (answer_parse_n_ideas(q) != 1)
			fail_msg("%s: %zu ideas", thanks_first[i], answer_parse_n_ideas(q));
		assert_string_equal(answer_parse_ideas(q)[0], "Saved carts");
		assert_string_equal(answer_parse_left_out(q), thanks_first[i]);
		_cleanup_free_ char *ans = xasprintf("%s\n\n1: 4\n2: b\n", thanks_first[i]);
		_cleanup_answer_parse_ answer_parse *a = parse(&survey, 0, ans);
		if (answer_parse_n_errors(a) != 0)
			fail_msg("%s: %s", thanks_first[i], answer_parse_errors(a)[0]);
		assert_int_equal(answer_parse_n_items(a), 2);
	}
	/* ...but an idea that starts with the word, or a thank-you that is all there is, stays */
	_cleanup_answer_parse_ answer_parse *tn =
	    parse(&prompt, 0, "Thank you notes in every parcel\n\nSaved carts\n");
	assert_int_equal(answer_parse_n_ideas(tn), 2);
	_cleanup_answer_parse_ answer_parse *ta =
	    parse(&prompt, 0, "Thank you for the quick delivery, keep it!\n");
	assert_int_equal(answer_parse_n_ideas(ta), 1);
	/* "Ideas:" over a numbered list is its heading, no empty idea; alone it is a mistake */
	_cleanup_answer_parse_ answer_parse *h =
	    parse(&prompt, 0, "Ideas:\n1. Saved carts\n2. Quick reorder\n");
	assert_int_equal(answer_parse_n_errors(h), 0);
	assert_int_equal(answer_parse_n_ideas(h), 2);
	assert_string_equal(answer_parse_left_out(h), "Ideas:");
	_cleanup_answer_parse_ answer_parse *h2 = parse(&prompt, 0, "Ideas:\n");
	assert_int_equal(answer_parse_n_ideas(h2), 0);
	assert_int_equal(answer_parse_n_errors(h2), 1);
	assert_error(h2, 0, "“Ideas:”: no idea after “idea”");
	/* what only looks like them stays: a lone "t.", a place that is no name, a sentence */
	static const char *const ideas[] = {"t.", "Greetings from all of us at the shop",
					    "Gruß an die Küche: mehr Rezepte"};
	for (size_t i = 0; i < ELEMENTSOF(ideas); i++) {
		_cleanup_free_ char *text = xasprintf("idea: Live chat\n\n%s\n", ideas[i]);
		_cleanup_answer_parse_ answer_parse *q = parse(&prompt, 0, text);
		if (answer_parse_n_ideas(q) != 2)
			fail_msg("%s: %zu ideas", ideas[i], answer_parse_n_ideas(q));
	}
	/* the signature under a closing is left out as written */
	_cleanup_answer_parse_ answer_parse *l = parse(
	    &prompt, 0, "idea: Pago con Bizum\n\nSaludos cordiales,\n\nAnna López García\n"
			"Directora de Marketing\nBergström Retail S.L.");
	assert_string_equal(answer_parse_left_out(l), "Saludos cordiales,\n\nAnna López García\n"
						      "Directora de Marketing\nBergström Retail S.L.");
}

/* The writer's own name signs: their Name=, first name, id, or a fuller form of the name,
 * even where another bare name would belong to the text above it. */
static void test_own_name_signs(void **state)
{
	coco_member anna = {.id = "anna", .name = "Anna López"};
	static const struct {
		const coco_round *round;
		const char *text, *kept, *left_out;
	} cases[] = {
	    {&prompt, "A shared Slack channel\nAnna", "A shared Slack channel", "Anna"},
	    {&prompt, "idea: A shared Slack channel\n\nAnna López García\nDirectora de Marketing",
	     "A shared Slack channel", "Anna López García\nDirectora de Marketing"},
	    {&prompt, "Weniger Meetings\n\n- Anna", "Weniger Meetings", "- Anna"},
	    {&prompt, "Weniger Meetings\n\nDr. Anna López", "Weniger Meetings", "Dr. Anna López"},
	    {&survey, "4: too slow\nanna", "too slow", "anna"},
	    /* someone else's name stays where it is */
	    {&survey, "4: ask\nMaria Weber", "ask\nMaria Weber", ""},
	    {&prompt, "Pay with\nApple Pay", "Pay with Apple Pay", ""},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		answer_parse *p = NULL;
		const char *t = cases[i].text;
		assert_int_equal(answer_parse_ballot(cases[i].round, 0, NULL, &anna, t, strlen(t), &p), 0);
		assert_no_errors(p);
		const char *kept = cases[i].round == &prompt ? answer_parse_ideas(p)[0]
							     : value_of(p, "comment");
		if (cases[i].round == &prompt && answer_parse_n_ideas(p) != 1)
			fail_msg("case %zu: %zu ideas", i, answer_parse_n_ideas(p));
		if (!kept || !STREQ(kept, cases[i].kept))
			fail_msg("case %zu: kept “%s”", i, kept ? kept : "(nothing)");
		assert_string_equal(answer_parse_left_out(p), cases[i].left_out);
		answer_parse_free(p);
	}
	/* a reply of just the name is no signature of nothing: a one-line idea */
	answer_parse *q = NULL;
	assert_int_equal(answer_parse_ballot(&prompt, 0, NULL, &anna, "Anna", 4, &q), 0);
	assert_int_equal(answer_parse_n_ideas(q), 1);
	answer_parse_free(q);
}

/* Trial 7, 4: "1. 4" is "1: 4" when a value fits; a numbered list of words stays text. */
static void test_dot_numbers(void **state)
{
	_cleanup_answer_parse_ answer_parse *a = parse(&survey, 0, "1. 4\n2. b\n4. the room was cold");
	assert_no_errors(a);
	assert_string_equal(value_of(a, "mood"), "4");
	assert_string_equal(value_of(a, "colour"), "Green");
	assert_string_equal(value_of(a, "comment"), "the room was cold");
	/* once it is numbering, a wrong value is refused with its question's rule */
	_cleanup_answer_parse_ answer_parse *b = parse(&survey, 0, "1. 9\n2. b");
	assert_error(b, 0, "“1. 9”: question 1 takes a whole number from 1 to 5");
	assert_string_equal(value_of(b, "colour"), "Green");
	assert_null(value_of(b, "comment"));
	/* numbered so, a text answer ends at the next number */
	_cleanup_answer_parse_ answer_parse *g = parse(&survey, 0, "1. 4\n4. too long\n5. 8");
	assert_no_errors(g);
	assert_string_equal(value_of(g, "comment"), "too long");
	assert_string_equal(value_of(g, "nps"), "8");
	/* a numbered list inside a text answer stays in it */
	_cleanup_answer_parse_ answer_parse *c =
	    parse(&survey, 0, "1. 4\n4: two things:\n1. more time\n2. b-roll");
	assert_no_errors(c);
	assert_string_equal(value_of(c, "comment"), "two things:\n1. more time\n2. b-roll");
	/* a numbered list of words is text, as before */
	_cleanup_answer_parse_ answer_parse *d = parse(&survey, 0, "1. the food\n2. the venue");
	assert_no_errors(d);
	assert_string_equal(value_of(d, "comment"), "1. the food\n2. the venue");
	/* ...and where free text answers nothing, it says how to answer that question */
	_cleanup_answer_parse_ answer_parse *e = parse(&plain, 0, "1. quite good");
	assert_error(e, 0, "“1. quite good”: not understood; to answer question 1, start with "
			   "its number and a colon, like “1: 4”");
	/* in an idea round "1. " is still a bullet */
	_cleanup_answer_parse_ answer_parse *f = parse(&prompt, 0, "1. 4\n2. b");
	assert_int_equal(answer_parse_n_ideas(f), 2);
}

/* Trial 7, 5: a survey of one question takes the value alone. */
static void test_one_question_bare_value(void **state)
{
	static coco_question energy_q[] = {
	    {.id = "energy", .kind = QUESTION_SCALE, .required = true, .min = 1, .max = 5},
	};
	static coco_round energy = {
	    .id = "retro", .kind = ROUND_SURVEY, .questions = energy_q, .n_questions = 1};
	static const struct {
		const char *text, *value;
	} ok[] = {
	    {"4", "4"},
	    {"4/5", "4"},
	    {"5 (super semaine)", "5"},
	    {"3 - tired, but OK\n\nLiam", "3"},
	    {"Hi,\n\n4\n\nViele Grüße\nAnna", "4"},
	    {"My answer:\n4", "4"},
	};
	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		_cleanup_answer_parse_ answer_parse *p = parse(&energy, 0, ok[i].text);
		assert_no_errors(p);
		if (!value_of(p, "energy") || !STREQ(value_of(p, "energy"), ok[i].value))
			fail_msg("%s: %s", ok[i].text, value_of(p, "energy"));
	}
	/* the same as "1: …" says about a wrong number */
	_cleanup_answer_parse_ answer_parse *a = parse(&energy, 0, "9");
	assert_error(a, 0, "“9”: question 1 takes a whole number from 1 to 5");
	_cleanup_answer_parse_ answer_parse *b = parse(&energy, 0, "4 great");
	assert_int_equal(answer_parse_n_items(b), 0);
	/* words are refused, with how to answer */
	_cleanup_answer_parse_ answer_parse *c = parse(&energy, 0, "Vier");
	assert_int_equal(answer_parse_n_items(c), 0);
	assert_error(c, 0, "“Vier”: not understood; start with the question's number, like “1: 4”");
	/* only the first line of the member's own: a second number is no second answer */
	_cleanup_answer_parse_ answer_parse *d = parse(&energy, 0, "2 people left early\n\n4");
	assert_int_equal(answer_parse_n_items(d), 0);
	/* a choice: its letter or its name */
	static char *formats[] = {"On site", "Remote", "Hybrid"};
	static coco_question format_q[] = {
	    {.id = "format", .kind = QUESTION_CHOICE, .options = formats, .n_options = 3},
	};
	static coco_round format = {
	    .id = "next", .kind = ROUND_SURVEY, .questions = format_q, .n_questions = 1};
	_cleanup_answer_parse_ answer_parse *e = parse(&format, 0, "remote");
	assert_string_equal(value_of(e, "format"), "Remote");
	/* with two questions a bare number answers nothing */
	_cleanup_answer_parse_ answer_parse *f = parse(&plain, 0, "4");
	assert_int_equal(answer_parse_n_items(f), 0);
}

static void test_missing_required(void **state)
{
	/* repro 11: question 1 is wrong, question 2 left out; both are required */
	_cleanup_answer_parse_ answer_parse *p = parse(&baseline, 0, "1: 7\n4: 8");
	assert_int_equal(answer_parse_n_missing(p), 2);
	assert_string_equal(answer_parse_missing_question(p, 0), "satisfaction");
	assert_int_equal(answer_parse_missing_number(p, 0), 1);
	assert_string_equal(answer_parse_missing_question(p, 1), "priority");
	assert_int_equal(answer_parse_missing_number(p, 1), 2);
	assert_null(answer_parse_missing_question(p, 2));
	assert_int_equal(answer_parse_missing_number(p, 2), 0);
	_cleanup_free_ char *all = answer_missing_required(p, NULL);
	assert_string_equal(all, "Questions 1 and 2 are required and still have no answer");
	/* an earlier reply answered question 1 */
	char *before[] = {"satisfaction", "wish", NULL};
	_cleanup_free_ char *rest = answer_missing_required(p, before);
	assert_string_equal(rest, "Question 2 is required and still has no answer");
	char *both[] = {"priority", "satisfaction", NULL};
	assert_null(answer_missing_required(p, both));

	_cleanup_answer_parse_ answer_parse *q = parse(&survey, 0, "1: 4\n5: 9");
	assert_int_equal(answer_parse_n_missing(q), 0);
	assert_null(answer_missing_required(q, NULL));
	/* three of them */
	static coco_question req_q[] = {
	    {.id = "a", .kind = QUESTION_SCALE, .required = true, .min = 1, .max = 5},
	    {.id = "b", .kind = QUESTION_SCALE, .required = true, .min = 1, .max = 5},
	    {.id = "c", .kind = QUESTION_TEXT, .required = true},
	};
	static coco_round req = {
	    .id = "req", .kind = ROUND_SURVEY, .questions = req_q, .n_questions = 3};
	_cleanup_answer_parse_ answer_parse *r = parse(&req, 0, "skip 1");
	_cleanup_free_ char *three = answer_missing_required(r, NULL);
	assert_string_equal(three, "Questions 1, 2 and 3 are required and still have no answer");
	/* rounds without questions miss nothing */
	_cleanup_answer_parse_ answer_parse *s = parse(&prompt, 0, "idea: x");
	assert_int_equal(answer_parse_n_missing(s), 0);
	/* an over-long message answers nothing */
	char *big = xcalloc(ANSWER_MESSAGE_MAX + 2, 1);
	memset(big, 'x', ANSWER_MESSAGE_MAX + 1);
	_cleanup_answer_parse_ answer_parse *t = parse(&survey, 0, big);
	free(big);
	assert_int_equal(answer_parse_n_missing(t), 2);
}

/* Whole replies of the trial (tests/data/answers: what the reply trimmer passed on, or the
 * mail's text as a connector without trimming would pass it), and the record stored. */
static void test_trial_replies(void **state)
{
	static const struct {
		const char *file;
		const coco_round *round;
		const char *json;
		size_t n_errors, n_missing;
	} cases[] = {
	    {"baseline-tom-greeting.txt", &baseline,
	     "{\"answers\":{\"satisfaction\":\"3\",\"priority\":\"Product search\","
	     "\"devices\":[\"Laptop\",\"Desktop\"]},\"ideas\":[],\"votes\":{},\"skips\":[]}",
	     0, 0},
	    {"baseline-anna-german.txt", &baseline,
	     "{\"answers\":{\"satisfaction\":\"4\",\"priority\":\"Speed\",\"devices\":[\"Laptop\","
	     "\"Desktop\"],\"nps\":\"9\",\"wish\":\"Die Suche findet keine Produkte mit Umlauten "
	     "(z. B. Käse).\"},\"ideas\":[],\"votes\":{},\"skips\":[]}",
	     0, 0},
	    {"baseline-raj-thanks.txt", &baseline,
	     "{\"answers\":{\"satisfaction\":\"3\",\"priority\":\"Mobile checkout\",\"devices\":"
	     "[\"Phone\",\"Tablet\"],\"nps\":\"7\",\"wish\":\"Product pages load slowly on 4G & "
	     "images are huge.\"},\"ideas\":[],\"votes\":{},\"skips\":[]}",
	     0, 0},
	    {"baseline-lee-partial.txt", &baseline,
	     "{\"answers\":{\"nps\":\"8\"},\"ideas\":[],\"votes\":{},\"skips\":[]}", 1, 2},
	    {"baseline-lee-fix.txt", &baseline,
	     "{\"answers\":{\"satisfaction\":\"4\",\"priority\":\"Look and feel\"},\"ideas\":[],"
	     "\"votes\":{},\"skips\":[]}",
	     0, 0},
	    {"baseline-maria-change.txt", &baseline,
	     "{\"answers\":{\"priority\":\"Speed\"},\"ideas\":[],\"votes\":{},\"skips\":[]}", 0, 1},
	    {"baseline-maria-forgot.txt", &baseline,
	     "{\"answers\":{\"nps\":\"3\"},\"ideas\":[],\"votes\":{},\"skips\":[]}", 0, 2},
	    {"ideas-tom-bullets.txt", &prompt,
	     "{\"answers\":{},\"ideas\":[\"Loyalty card number at checkout\",\"Recipes that add "
	     "all ingredients to the basket\"],\"votes\":{},\"skips\":[]}",
	     0, 0},
	    {"ideas-anna-german.txt", &prompt,
	     "{\"answers\":{},\"ideas\":[\"Produktsuche, die Tippfehler und Umlaute versteht\","
	     "\"Click & collect with a pick-up time slot\"],\"votes\":{},\"skips\":[]}",
	     0, 0},
	    {"pulse-maria-signature.txt", &pulse,
	     "{\"answers\":{\"mood\":\"2\",\"blocker\":\"We still have no access to the staging "
	     "server.\"},\"ideas\":[],\"votes\":{},\"skips\":[]}",
	     0, 0},
	    {"vote-maria-change.txt", &vote,
	     "{\"answers\":{},\"ideas\":[],\"votes\":{\"1\":1,\"3\":2},\"skips\":[]}", 0, 0},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *path = xasprintf("tests/data/answers/%s", cases[i].file);
		_cleanup_free_ char *text = NULL;
		size_t len;
		if (read_file(path, ANSWER_MESSAGE_MAX, &text, &len) < 0)
			fail_msg("cannot read %s (run from the top of the tree)", path);
		_cleanup_answer_parse_ answer_parse *p = parse(cases[i].round, 5, text);
		if (answer_parse_n_errors(p) != cases[i].n_errors)
			fail_msg("%s: %zu errors, the first: %s", cases[i].file,
				 answer_parse_n_errors(p),
				 answer_parse_n_errors(p) ? answer_parse_errors(p)[0] : "-");
		assert_json(p, cases[i].json);
		assert_int_equal(answer_parse_n_missing(p), cases[i].n_missing);
	}
}

static void test_ideas(void **state)
{
	_cleanup_answer_parse_ answer_parse *p = parse(
	    &prompt, 0,
	    "idea: Shorter stand-ups\nIDEA  A shared glossary\nIdeas: Demo days\n"
	    "   continued here\n\nA paragraph idea\nover two lines\n\n1: numbered, still an idea\n"
	    "idea\nheading style");
	assert_no_errors(p);
	char *const *ideas = answer_parse_ideas(p);
	assert_int_equal(answer_parse_n_ideas(p), 6);
	assert_string_equal(ideas[0], "Shorter stand-ups");
	assert_string_equal(ideas[1], "A shared glossary");
	assert_string_equal(ideas[2], "Demo days continued here");
	assert_string_equal(ideas[3], "A paragraph idea over two lines");
	assert_string_equal(ideas[4], "1: numbered, still an idea");
	assert_string_equal(ideas[5], "heading style");
	assert_null(ideas[6]);

	_cleanup_answer_parse_ answer_parse *q = parse(&prompt, 0, "idea:\n\nidea");
	assert_int_equal(answer_parse_n_ideas(q), 0);
	assert_int_equal(answer_parse_n_errors(q), 2);
	assert_error(q, 0, "“idea:”: no idea after “idea”");

	/* ideas only in prompt rounds; the lines continuing one go with it */
	_cleanup_answer_parse_ answer_parse *r = parse(&survey, 0, "idea: more coffee\nand tea");
	assert_int_equal(answer_parse_n_items(r), 0);
	assert_int_equal(answer_parse_n_errors(r), 1);
	assert_error(r, 0, "“idea: more coffee”: this round does not collect ideas");

	/* an empty result has an empty, non-NULL list */
	_cleanup_answer_parse_ answer_parse *s = parse(&prompt, 0, "  \n\t\n");
	assert_non_null(answer_parse_ideas(s));
	assert_null(answer_parse_ideas(s)[0]);
	assert_int_equal(answer_parse_n_errors(s), 0);
}

static void test_votes(void **state)
{
	_cleanup_answer_parse_ answer_parse *p = parse(&vote, 9, "vote 3 7 7");
	assert_no_errors(p);
	assert_int_equal(answer_parse_votes_for(p, 3), 1);
	assert_int_equal(answer_parse_votes_for(p, 7), 2);
	assert_int_equal(answer_parse_votes_for(p, 1), 0);
	assert_int_equal(answer_parse_total_votes(p), 3);
	assert_int_equal(answer_parse_n_items(p), 2);

	static const char *const same[] = {"Vote: 7, 3, 7", "VOTES 7x2 3",	"vote #3 #7×2",
					   "3 7 7",	    "vote 7\nvote 3 7", "7*2, 3"};
	for (size_t i = 0; i < ELEMENTSOF(same); i++) {
		_cleanup_answer_parse_ answer_parse *q = parse(&vote, 9, same[i]);
		assert_no_errors(q);
		assert_int_equal(answer_parse_votes_for(q, 3), 1);
		assert_int_equal(answer_parse_votes_for(q, 7), 2);
		assert_int_equal(answer_parse_total_votes(q), 3);
	}
	/* fewer dots than allowed are fine */
	_cleanup_answer_parse_ answer_parse *f = parse(&vote, 9, "vote 9");
	assert_int_equal(answer_parse_total_votes(f), 1);

	static const struct {
		const coco_round *round;
		size_t n_ideas;
		const char *in, *err;
	} bad[] = {
	    {&vote, 9, "vote 0", "“vote 0”: there is no idea 0 (ideas are numbered 1 to 9)"},
	    {&vote, 9, "vote 10", "“vote 10”: there is no idea 10 (ideas are numbered 1 to 9)"},
	    {&vote, 9, "vote 1 2 3 4", "“vote 1 2 3 4”: too many votes (4 dots, at most 3)"},
	    {&vote, 9, "vote 2x4", "“vote 2x4”: too many votes (4 dots, at most 3)"},
	    {&vote1, 9, "vote 1 1", "“vote 1 1”: too many votes (2 dots, at most 1)"},
	    {&vote, 9, "vote", "“vote”: say which ideas you vote for, like “vote 1 2 2”"},
	    {&vote, 9, "vote:", "“vote:”: say which ideas you vote for, like “vote 1 2 2”"},
	    {&vote, 9, "vote 2 x", "“vote 2 x”: “x” is not an idea number"},
	    {&vote, 9, "vote 2x0", "“vote 2x0”: “2x0” gives no dots"},
	    {&vote, 0, "vote 1", "“vote 1”: there are no ideas to vote for"},
	    {&survey, 9, "vote 1", "“vote 1”: this round is not a vote"},
	    {&vote, 9, "vote 99999999999999999999999",
	     "“vote 99999999999999999999999”: there is no idea 99999999999999999999999 (ideas "
	     "are numbered 1 to 9)"},
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_answer_parse_ answer_parse *q =
		    parse(bad[i].round, bad[i].n_ideas, bad[i].in);
		assert_int_equal(answer_parse_n_items(q), 0);
		assert_int_equal(answer_parse_total_votes(q), 0);
		assert_int_equal(answer_parse_n_errors(q), 1);
		assert_error(q, 0, bad[i].err);
	}

	/* the dots add up over the message; the statement that goes over is refused whole */
	_cleanup_answer_parse_ answer_parse *q = parse(&vote, 9, "vote 1\nvote 2 2\nvote 3");
	assert_int_equal(answer_parse_total_votes(q), 3);
	assert_int_equal(answer_parse_votes_for(q, 3), 0);
	assert_error(q, 0, "“vote 3”: too many votes (4 dots, at most 3)");

	/* plain prose in a vote round is not a vote */
	_cleanup_answer_parse_ answer_parse *r = parse(&vote, 9, "I like 3 best");
	assert_int_equal(answer_parse_n_items(r), 0);
	assert_error(r, 0, "“I like 3 best”: not understood");
}

static void test_skips(void **state)
{
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&survey, 0, "skip 3\nSKIP q2, comment\n1: 4");
	assert_no_errors(p);
	assert_int_equal(answer_parse_n_skips(p), 3);
	assert_string_equal(answer_parse_skip_question(p, 0), "colour");
	assert_string_equal(answer_parse_skip_question(p, 1), "channels");
	assert_string_equal(answer_parse_skip_question(p, 2), "comment");
	assert_int_equal(answer_parse_skip_number(p, 2), 4);
	assert_int_equal(answer_parse_n_items(p), 4);

	/* skip and answer of the same question: the later one counts */
	_cleanup_answer_parse_ answer_parse *q =
	    parse(&survey, 0, "2: b\nskip 2\n3: a\nskip: 3\n3: d");
	assert_int_equal(answer_parse_n_skips(q), 1);
	assert_string_equal(answer_parse_skip_question(q, 0), "colour");
	assert_null(value_of(q, "colour"));
	assert_string_equal(value_of(q, "channels"), "Phone");

	/* "4: skip", as people write it (trial 6: stored as the text "skip"), text question
	 * or not, any case, a full stop after it */
	_cleanup_answer_parse_ answer_parse *w = parse(&survey, 0, "1: 4\n4: skip\n2: Skip.");
	assert_no_errors(w);
	assert_int_equal(answer_parse_n_skips(w), 2);
	assert_null(value_of(w, "comment"));
	assert_null(value_of(w, "colour"));
	assert_string_equal(value_of(w, "mood"), "4");
	/* a text answer that only starts with the word is an answer */
	_cleanup_answer_parse_ answer_parse *x = parse(&survey, 0, "4: skip the intro");
	assert_int_equal(answer_parse_n_skips(x), 0);
	assert_string_equal(value_of(x, "comment"), "skip the intro");

	static const struct {
		const char *in, *err;
	} bad[] = {
	    {"1: skip", "“1: skip”: question 1 is required and cannot be skipped"},
	    {"skip 1", "“skip 1”: question 1 is required and cannot be skipped"},
	    {"skip nps", "“skip nps”: question 5 is required and cannot be skipped"},
	    {"skip 9", "“skip 9”: there is no question 9 to skip"},
	    {"skip", "“skip”: say which question to skip, like “skip 2”"},
	    {"skip:", "“skip:”: say which question to skip, like “skip 2”"},
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_answer_parse_ answer_parse *r = parse(&plain, 0, bad[i].in);
		_cleanup_answer_parse_ answer_parse *s = parse(&survey, 0, bad[i].in);
		assert_int_equal(answer_parse_n_items(s), 0);
		assert_int_equal(answer_parse_n_errors(s), 1);
		assert_error(s, 0, bad[i].err);
		assert_int_equal(answer_parse_n_items(r), 0);
	}
	/* one bad reference does not spoil the others */
	_cleanup_answer_parse_ answer_parse *t = parse(&survey, 0, "skip 1 2");
	assert_int_equal(answer_parse_n_skips(t), 1);
	assert_error(t, 0, "“skip 1 2”: question 1 is required and cannot be skipped");
}

static void test_languages(void **state)
{
	_cleanup_answer_parse_ answer_parse *p = parse(
	    &survey, 0,
	    "1：4、2：b\n" /* full-width colon and comma, as Japanese input methods type them */
	    "q4: Hyvä aloitus, kiitos! Äänestän ensi kerralla. 🎉\n"
	    "\xC2\xA0\xE3\x80\x80"
	    "3: a，c\xE3\x80\x80\n"); /* NBSP and U+3000 around */
	assert_no_errors(p);
	assert_string_equal(value_of(p, "mood"), "4");
	assert_string_equal(value_of(p, "colour"), "Green");
	assert_string_equal(value_of(p, "channels"), "Slack|Matrix");
	assert_string_equal(value_of(p, "comment"),
			    "Hyvä aloitus, kiitos! Äänestän ensi kerralla. 🎉");

	_cleanup_answer_parse_ answer_parse *q =
	    parse(&prompt, 0,
		  "idea: 朝会を15分にする\n\nアイデア：金曜日はデモの日\n\n🚀 ship weekly "
		  "🚀\n\nidea: Äänestys joka perjantai");
	assert_no_errors(q);
	char *const *ideas = answer_parse_ideas(q);
	assert_int_equal(answer_parse_n_ideas(q), 4);
	assert_string_equal(ideas[0], "朝会を15分にする");
	assert_string_equal(ideas[1], "アイデア：金曜日はデモの日");
	assert_string_equal(ideas[2], "🚀 ship weekly 🚀");
	assert_string_equal(ideas[3], "Äänestys joka perjantai");

	/* Japanese free text answers the text question */
	_cleanup_answer_parse_ answer_parse *r = parse(&survey, 0, "とても良かったです。ありがとう！");
	assert_no_errors(r);
	assert_string_equal(value_of(r, "comment"), "とても良かったです。ありがとう！");

	/* a long quote is cut at a character boundary: 59 characters and an ellipsis */
	_cleanup_answer_parse_ answer_parse *s =
	    parse(&plain, 0,
		  "あいうえおかきくけこあいうえおかきくけこあいうえおかきくけこあいうえおかきくけこ"
		  "あいうえおかきくけこあいうえおかきくけこあいうえおかきくけこ");
	assert_error(
	    s, 0,
	    "“あいうえおかきくけこあいうえおかきくけこあいうえおかきくけこあいうえおかきくけこ"
	    "あいうえおかきくけこあいうえおかきくけ…”: not understood");
	/* exactly 60 characters are not cut */
	_cleanup_answer_parse_ answer_parse *t = parse(&plain, 0,
						       "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"
						       "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀");
	assert_error(t, 0,
		     "“😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"
		     "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀”: not understood");
}

static void test_garbage(void **state)
{
	static const char bin[] = "\x01\x02\xff\xfe\x00\x80garbage\x1b[0m";
	answer_parse *p = NULL;
	assert_int_equal(answer_parse_mem(&survey, 0, bin, sizeof bin - 1, &p), 0);
	assert_int_equal(answer_parse_n_items(p), 0);
	assert_int_equal(answer_parse_n_errors(p), 1);
	assert_error(p, 0,
		     "“\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
		     "\xEF\xBF\xBDgarbage\xEF\xBF\xBD[0m”: not readable text (binary data "
		     "or a broken encoding)");
	p = answer_parse_free(p);
	assert_null(p);

	/* overlong encodings and surrogates are not text either; good lines still count */
	_cleanup_answer_parse_ answer_parse *q =
	    parse(&survey, 0, "1: 4\n\xC0\xAF\n\xED\xA0\x80\n4: ok");
	assert_int_equal(answer_parse_n_items(q), 2);
	assert_int_equal(answer_parse_n_errors(q), 2);

	/* lone colons and punctuation: nothing to route them to in a survey without text */
	_cleanup_answer_parse_ answer_parse *r = parse(&plain, 0, ":\n\n::: :\n\n, ; ,\n\n: 4");
	assert_int_equal(answer_parse_n_items(r), 0);
	assert_int_equal(answer_parse_n_errors(r), 4);
	assert_error(r, 0, "“:”: not understood");
	assert_error(r, 3, "“: 4”: not understood");

	/* only garbage in a vote and an announcement */
	_cleanup_answer_parse_ answer_parse *s = parse(&vote, 5, "asdf\n\n1: 2");
	assert_int_equal(answer_parse_n_items(s), 0);
	assert_int_equal(answer_parse_n_errors(s), 2);
	_cleanup_answer_parse_ answer_parse *t = parse(&announce, 0, "great!\nnice news");
	assert_int_equal(answer_parse_n_items(t), 0);
	assert_int_equal(answer_parse_n_errors(t), 2);
	assert_error(t, 0, "“great!”: not understood");
	assert_error(t, 1, "“nice news”: not understood");
	/* a "thanks!" opening the reply is left out, as a closing is */
	_cleanup_answer_parse_ answer_parse *t2 = parse(&announce, 0, "thanks!\nnice news");
	assert_int_equal(answer_parse_n_errors(t2), 1);
	assert_error(t2, 0, "“nice news”: not understood");

	/* bad arguments */
	answer_parse *u = NULL;
	assert_int_equal(answer_parse_text(NULL, 0, "1: 4", &u), -EINVAL);
	assert_int_equal(answer_parse_text(&survey, 0, NULL, &u), -EINVAL);
	assert_int_equal(answer_parse_text(&survey, 0, "1: 4", NULL), -EINVAL);
	assert_int_equal(answer_parse_mem(&survey, 0, NULL, 3, &u), -EINVAL);
	assert_null(u);
	assert_null(answer_parse_free(NULL));
}

static void test_limits(void **state)
{
	/* over 64 KiB: one error, nothing else */
	size_t n = ANSWER_MESSAGE_MAX + 1;
	_cleanup_free_ char *huge = xmalloc(n + 1);
	for (size_t i = 0; i < n; i += 8)
		memcpy(huge + i, "idea: x\n", n - i < 8 ? n - i : 8);
	huge[n] = 0;
	_cleanup_answer_parse_ answer_parse *p = parse(&prompt, 0, huge);
	assert_int_equal(answer_parse_n_items(p), 0);
	assert_int_equal(answer_parse_n_errors(p), 1);
	assert_error(p, 0, "message too long (65537 bytes, at most 65536)");

	/* exactly 64 KiB is read, and 8192 ideas are too many items */
	huge[ANSWER_MESSAGE_MAX] = 0;
	_cleanup_answer_parse_ answer_parse *q = parse(&prompt, 0, huge);
	assert_int_equal(answer_parse_n_items(q), 0);
	assert_int_equal(answer_parse_n_errors(q), 1);
	assert_error(q, 0, "too many answers in one message (8192, at most 200)");

	/* 200 items pass, 201 do not */
	strbuf b = {0};
	for (int i = 0; i < 200; i++)
		strbuf_printf(&b, "idea: number %d\n", i + 1);
	_cleanup_answer_parse_ answer_parse *r = parse(&prompt, 0, b.s);
	assert_no_errors(r);
	assert_int_equal(answer_parse_n_ideas(r), 200);
	assert_string_equal(answer_parse_ideas(r)[199], "number 200");
	strbuf_puts(&b, "one more"); /* continues idea 200: still 200 */
	_cleanup_answer_parse_ answer_parse *r2 = parse(&prompt, 0, b.s);
	assert_int_equal(answer_parse_n_ideas(r2), 200);
	assert_string_equal(answer_parse_ideas(r2)[199], "number 200 one more");
	strbuf_puts(&b, "\n\nand one more");
	_cleanup_answer_parse_ answer_parse *s = parse(&prompt, 0, b.s);
	assert_int_equal(answer_parse_n_items(s), 0);
	assert_error(s, 0, "too many answers in one message (201, at most 200)");
	strbuf_done(&b);

	/* the same question answered 201 times is still 201 statements */
	for (int i = 0; i < 201; i++)
		strbuf_puts(&b, "1: 3, ");
	_cleanup_answer_parse_ answer_parse *t = parse(&survey, 0, b.s);
	assert_int_equal(answer_parse_n_items(t), 0);
	assert_int_equal(answer_parse_n_errors(t), 1);
	strbuf_done(&b);

	/* errors are listed up to a cap, the rest counted */
	for (int i = 0; i < 30; i++)
		strbuf_printf(&b, "junk %d\n\n", i);
	_cleanup_answer_parse_ answer_parse *u = parse(&plain, 0, b.s);
	assert_int_equal(answer_parse_n_errors(u), ANSWER_ERRORS_MAX + 1);
	assert_error(u, 0, "“junk 0”: not understood");
	assert_error(u, ANSWER_ERRORS_MAX, "…and 10 more not understood");
	strbuf_done(&b);
}

static void test_confirmation(void **state)
{
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&survey, 0, "5: 9\n3: c a\n2: b\n1: 4\n4: Hyvä, kiitos");
	assert_confirmation(p, "We recorded: 1 → 4, 2 → Green, 3 → Slack + Matrix, "
			       "4 → “Hyvä, kiitos”, 5 → 9");

	_cleanup_answer_parse_ answer_parse *q = parse(
	    &survey, 0,
	    "skip 2\n4: a very long answer that goes on and on, well past the sixty characters "
	    "we quote\nand a second line");
	assert_confirmation(q,
			    "We recorded: 4 → “a very long answer that goes on and on, well past "
			    "the sixty…”, skipped 2");

	_cleanup_answer_parse_ answer_parse *r =
	    parse(&prompt, 0, "idea: 朝会を短く\nidea: Demo\nday");
	assert_confirmation(r, "We recorded: idea “朝会を短く”, idea “Demo day”");

	_cleanup_answer_parse_ answer_parse *s = parse(&vote, 9, "vote 7 3 7");
	assert_confirmation(s, "We recorded: votes 3×1, 7×2");

	_cleanup_answer_parse_ answer_parse *t = parse(&survey, 0, "1: 9");
	assert_confirmation(t, "We recorded nothing");
}

static void test_help(void **state)
{
	static const struct {
		const coco_round *round;
		const char *want;
	} cases[] = {
	    {&survey, "Reply like this, one answer a line:\n1: 4\n2: b\n3: a c\n4: your words\n"
		      "5: 9\nTo leave out a question that is not required: skip 2"},
	    {&plain, "Reply like this, one answer a line:\n1: 4\n2: b\n"
		     "To leave out a question that is not required: skip 2"},
	    {&two_text, "Reply like this, one answer a line:\n1: 2\n2: your words\n3: your words\n"
			"To leave out a question that is not required: skip 3"},
	    {&prompt, "Reply like this: idea: your idea (one idea a line, or one a paragraph)"},
	    {&vote, "Reply like this: vote 1 2 2 (3 dots in all; repeat a number to give an idea "
		    "more than one)"},
	    {&vote1, "Reply like this: vote 1 (1 dot in all)"},
	    {&announce, "This message needs no reply"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *h = answer_help(cases[i].round);
		assert_string_equal(h, cases[i].want);
	}

	/* the survey's help example parses back without errors */
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&survey, 0, "1: 4\n2: b\n3: a c\n4: your words\n5: 9\nskip 2");
	assert_no_errors(p);
	assert_int_equal(answer_parse_n_items(p), 5);
	_cleanup_answer_parse_ answer_parse *q =
	    parse(&two_text, 0, "1: 2\n2: your words\n3: your words");
	assert_no_errors(q);
	assert_int_equal(answer_parse_n_items(q), 3);
}

static char *joined(char **v)
{
	strbuf b = {0};
	for (char **e = v; *e; e++)
		strbuf_printf(&b, "%s%s", e == v ? "" : "\n", *e);
	return b.s ? strbuf_steal(&b) : xstrdup("");
}

/* The example lines a message shows fit the round, and parse back as one answer each. */
static void test_examples(void **state)
{
	static const struct {
		const coco_round *round;
		size_t n_ideas;
		const char *want;
		size_t items;
	} cases[] = {
	    {&survey, 0, "1: 4\n2: b\n3: a c\n4: your words\n5: 9", 5},
	    {&plain, 0, "1: 4\n2: b", 2},
	    {&two_text, 0, "1: 2\n2: your words\n3: your words", 3},
	    {&prompt, 0, "idea: your first idea\nidea: another idea", 2},
	    {&vote, 9, "vote 1 3", 2},
	    {&vote, 2, "vote 1 2", 2},
	    {&vote, 1, "vote 1", 1},
	    {&vote1, 9, "vote 1", 1},
	    {&announce, 0, "", 0},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char **ex = answer_examples(cases[i].round, cases[i].n_ideas);
		_cleanup_free_ char *text = joined(ex);
		strv_free(ex);
		assert_string_equal(text, cases[i].want);
		if (!cases[i].items)
			continue;
		_cleanup_answer_parse_ answer_parse *p = parse(cases[i].round, cases[i].n_ideas, text);
		assert_no_errors(p);
		assert_int_equal(answer_parse_n_items(p), cases[i].items);
	}

	_cleanup_free_ char *s1 = answer_skip_example(&survey);
	assert_string_equal(s1, "skip 2");
	_cleanup_free_ char *s2 = answer_skip_example(&two_text);
	assert_string_equal(s2, "skip 3");
	assert_null(answer_skip_example(&prompt));
}

static void test_json(void **state)
{
	_cleanup_answer_parse_ answer_parse *p =
	    parse(&survey, 0, "3: d b\n1: 4\n2: c\nskip 4\n5: 10");
	assert_json(p, "{\"answers\":{\"mood\":\"4\",\"colour\":\"Blue\",\"channels\":"
		       "[\"Email\",\"Phone\"],\"nps\":\"10\"},\"ideas\":[],\"votes\":{},"
		       "\"skips\":[\"comment\"]}");

	_cleanup_answer_parse_ answer_parse *q =
	    parse(&prompt, 0, "idea: \"quoted\" ideas\nidea: 🚀 ja äö\n\nline\nbreak");
	assert_json(q, "{\"answers\":{},\"ideas\":[\"\\\"quoted\\\" ideas\",\"🚀 ja äö\","
		       "\"line break\"],\"votes\":{},\"skips\":[]}");

	_cleanup_answer_parse_ answer_parse *r = parse(&vote, 12, "vote 12 3 12");
	assert_json(r, "{\"answers\":{},\"ideas\":[],\"votes\":{\"3\":1,\"12\":2},\"skips\":[]}");

	_cleanup_answer_parse_ answer_parse *s = parse(&survey, 0, "gibberish\n\n4: text");
	assert_json(s,
		    "{\"answers\":{\"comment\":\"text\"},\"ideas\":[],\"votes\":{},\"skips\":[]}");

	_cleanup_answer_parse_ answer_parse *t = parse(&plain, 0, "nothing useful");
	assert_json(t, "{\"answers\":{},\"ideas\":[],\"votes\":{},\"skips\":[]}");
}

/* What the grammar leaves out is said (answer_parse_left_out()), so that a channel can keep it
 * beside what it cut itself (trial 6, 16). */
static void test_left_out(void **state)
{
	static const struct {
		const coco_round *round;
		const char *text, *left_out;
	} cases[] = {
	    {&survey, "Bonjour à tous,\n\n1: 2\n\nBonne journée\nFrançoise", "Bonjour à tous,\n\nBonne journée\nFrançoise"},
	    {&survey, "Hi all, 1: 3  \n4: yes", "Hi all,"},
	    {&survey, "1: 3\n> 2: quoted\n\nThanks!\n\nCheers,\nTom", "> 2: quoted\n\nThanks!\n\nCheers,\nTom"},
	    {&survey, "1: 3\n4: all good", ""},
	    /* a bare name continuing an open text answer is the answer's, not left out */
	    {&prompt, "idea: Dark Mode\nOffline Sync", ""},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		answer_parse *p = parse(cases[i].round, 0, cases[i].text);
		if (!STREQ(answer_parse_left_out(p), cases[i].left_out))
			printf("left out of case %zu: \"%s\"\n", i, answer_parse_left_out(p));
		assert_string_equal(answer_parse_left_out(p), cases[i].left_out);
		answer_parse_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_per_line),
	    cmocka_unit_test(test_several_on_a_line),
	    cmocka_unit_test(test_references),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_text_continues),
	    cmocka_unit_test(test_free_text_routing),
	    cmocka_unit_test(test_greetings),
	    cmocka_unit_test(test_quoted_lines_are_not_answers),
	    cmocka_unit_test(test_intros),
	    cmocka_unit_test(test_bullets),
	    cmocka_unit_test(test_signoffs),
	    cmocka_unit_test(test_missing_required),
	    cmocka_unit_test(test_trial_replies),
	    cmocka_unit_test(test_ideas),
	    cmocka_unit_test(test_votes),
	    cmocka_unit_test(test_skips),
	    cmocka_unit_test(test_languages),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_confirmation),
	    cmocka_unit_test(test_help),
	    cmocka_unit_test(test_examples),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_left_out),
	    cmocka_unit_test(test_signoffs_trial7),
	    cmocka_unit_test(test_own_name_signs),
	    cmocka_unit_test(test_dot_numbers),
	    cmocka_unit_test(test_one_question_bare_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
