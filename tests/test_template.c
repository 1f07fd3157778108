/* Tests for template: the official Mustache spec corpus, syntax errors with positions, the
 * recursion and size guards, the directory loader, and the default templates. */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "template.h"
#include "util.h"
#include "corpus.h"


/* Partials from a JSON object {name: text}, as the spec files give them. */
static int json_partial(const char *name, char **ret_text, void *userdata)
{
	const cJSON *partials = userdata;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(partials, name);
	if (!cJSON_IsString(p))
		return -ENOENT;
	*ret_text = xstrdup(p->valuestring);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_spec_file(const char *path, unsigned *passed, unsigned *failed)
{
	_cleanup_free_ char *text = NULL;
	assert_int_equal(read_file(path, 1 << 22, &text, NULL), 0);
	cJSON *doc = cJSON_Parse(text);
	assert_non_null(doc);
	const cJSON *tests = cJSON_GetObjectItemCaseSensitive(doc, "tests");
	assert_true(cJSON_IsArray(tests));
	const cJSON *t;
	cJSON_ArrayForEach(t, tests)
	{
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(t, "name"));
		const char *tpl = cJSON_GetStringValue(cJSON_GetObjectItem(t, "template"));
		const char *expected = cJSON_GetStringValue(cJSON_GetObjectItem(t, "expected"));
		const cJSON *data = cJSON_GetObjectItem(t, "data");
		cJSON *partials = cJSON_GetObjectItem(t, "partials");
		assert_non_null(name);
		assert_non_null(tpl);
		assert_non_null(expected);
		char *out = NULL, *err = NULL;
		int r = template_render(name, tpl, data, json_partial, partials, &out, &err);
		if (r >= 0 && STREQ(out, expected))
			(*passed)++;
		else {
			(*failed)++;
			printf("FAIL %s: %s\n  template: %s\n  expected: [%s]\n  got:      [%s] (%d %s)\n",
			       path, name, tpl, expected, out ? out : "", r, err ? err : "");
		}
		free(out);
		free(err);
	}
	cJSON_Delete(doc);
}

static void test_spec(void **state)
{
	_cleanup_free_ char *spec_dir = corpus_dir("mustache-spec");
	DIR *d = opendir(spec_dir);
	assert_non_null(d);
	char **files = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || !STREQ(de->d_name + n - 5, ".json"))
			continue;
		/* Lambdas need code in the host language; the renderer does not do them. */
		if (strncmp(de->d_name, "~lambdas", 8) == 0)
			continue;
		strv_push(&files, xasprintf("%s/%s", spec_dir, de->d_name));
	}
	closedir(d);
	size_t nfiles = strv_length(files);
	assert_true(nfiles >= 8);
	qsort(files, nfiles, sizeof(char *), cmp_str);

	unsigned passed = 0, failed = 0;
	for (size_t i = 0; i < nfiles; i++)
		run_spec_file(files[i], &passed, &failed);
	strv_free(files);
	printf("mustache spec: %u passed, %u failed\n", passed, failed);
	assert_int_equal(failed, 0);
	assert_true(passed >= 184);
}

static const struct {
	const char *tpl;
	const char *error;
} syntax_cases[] = {
	{"Hello {{name", "t:1:7: unclosed tag (no \"}}\")"},
	{"{{{x}}", "t:1:1: unclosed tag (no \"}}}\")"},
	{"a\n  {{#s}}x", "t:2:3: section \"s\" is never closed"},
	{"a\n{{#s}}\n{{^t}}\n{{/t}}\nb", "t:2:1: section \"s\" is never closed"},
	{"{{#a}}\n {{/b}}", "t:2:2: closing tag \"b\" does not match open section \"a\""},
	{"x {{/a}}", "t:1:3: closing tag \"a\" without an open section"},
	{"{{= x =}}", "t:1:1: invalid delimiters, expected e.g. {{=<% %>=}}"},
	{"{{=<% a %> =}}", "t:1:1: invalid delimiters, expected e.g. {{=<% %>=}}"},
	{"{{=<% %>=}}\n  <%x", "t:2:3: unclosed tag (no \"%>\")"},
	{"{{=<% %>=}}\n{{x}}<%={{ }}=%>{{y", "t:2:17: unclosed tag (no \"}}\")"},
	{"{{<p}}{{$b}}{{/p}}", "t:1:13: closing tag \"p\" does not match open block \"b\""},
	{"line\n\tx {{a b}}", "t:2:4: tag name \"a b\" contains white space"},
	{"{{}}", "t:1:1: empty tag name"},
	{"{{>  }}", "t:1:1: empty tag name"},
	{"{{^}}{{/}}", "t:1:1: empty tag name"},
};

static void test_syntax_errors(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(syntax_cases); i++) {
		char *out = (char *)"untouched", *err = NULL;
		int r = template_render("t", syntax_cases[i].tpl, NULL, NULL, NULL, &out, &err);
		if (r != -EINVAL || !err || !STREQ(err, syntax_cases[i].error))
			printf("case %zu: r=%d error=[%s] want [%s]\n", i, r, err ? err : "(null)",
			       syntax_cases[i].error);
		assert_int_equal(r, -EINVAL);
		assert_non_null(err);
		assert_string_equal(err, syntax_cases[i].error);
		assert_string_equal(out, "untouched");
		free(err);
		/* Without ret_error the result is the same, just quieter. */
		assert_int_equal(template_render("t", syntax_cases[i].tpl, NULL, NULL, NULL, &out,
						 NULL),
				 -EINVAL);
	}
}

static void test_error_in_partial(void **state)
{
	cJSON *partials = cJSON_Parse("{\"p\": \"ok\\n\\n  {{#q}}\", \"fine\": \"{{x}}\"}");
	char *out = NULL, *err = NULL;
	assert_int_equal(template_render("main", "a {{>fine}}\n{{>p}}\n", NULL, json_partial,
					 partials, &out, &err),
			 -EINVAL);
	assert_null(out);
	assert_string_equal(err, "p:3:3: section \"q\" is never closed");
	free(err);
	/* A broken partial that is never rendered is no error. */
	assert_int_equal(template_render("main", "{{#no}}{{>p}}{{/no}}", NULL, json_partial,
					 partials, &out, &err),
			 0);
	assert_string_equal(out, "");
	free(out);
	cJSON_Delete(partials);
}

static void test_recursion_limit(void **state)
{
	cJSON *partials = cJSON_Parse("{\"self\": \"x{{>self}}\","
				      " \"p\": \"{{<p}}{{/p}}\","
				      " \"b\": \"{{<b}}{{$x}}{{$x}}{{/x}}{{/x}}{{/b}}\","
				      " \"node\": \"{{v}}{{#kids}}({{>node}}){{/kids}}\"}");
	char *out = NULL, *err = NULL;
	assert_int_equal(template_render("main", "{{>self}}", NULL, json_partial, partials, &out,
					 &err),
			 -ELOOP);
	assert_null(out);
	assert_non_null(err);
	assert_string_equal(err, "self:1:2: partials nested more than 64 deep "
				 "(does \"self\" include itself?)");
	free(err);
	err = NULL;
	assert_int_equal(template_render("main", "{{<p}}{{/p}}", NULL, json_partial, partials,
					 &out, &err),
			 -ELOOP);
	assert_true(strncmp(err, "p:1:1: ", 7) == 0);
	free(err);
	err = NULL;
	/* A block whose override contains itself would expand forever too. */
	assert_int_equal(template_render("main", "{{>b}}", NULL, json_partial, partials, &out,
					 &err),
			 -ELOOP);
	free(err);
	err = NULL;

	/* Legitimate recursion 50 levels deep is fine. */
	cJSON *data = cJSON_CreateObject(), *cur = data;
	strbuf want = {0};
	for (int i = 0; i < 50; i++) {
		cJSON_AddNumberToObject(cur, "v", i);
		strbuf_printf(&want, "%d", i);
		/* The leaf needs its own empty "kids", or the lookup would find its parent's. */
		cJSON *kids = cJSON_AddArrayToObject(cur, "kids");
		if (i < 49) {
			cJSON *kid = cJSON_CreateObject();
			cJSON_AddItemToArray(kids, kid);
			cur = kid;
			strbuf_putc(&want, '(');
		}
	}
	for (int i = 0; i < 49; i++)
		strbuf_putc(&want, ')');
	assert_int_equal(template_render("main", "{{>node}}", data, json_partial, partials, &out,
					 &err),
			 0);
	assert_string_equal(out, want.s);
	free(out);
	strbuf_done(&want);
	cJSON_Delete(data);
	cJSON_Delete(partials);
}

static void test_values(void **state)
{
	static const struct {
		const char *tpl, *data, *want;
	} cases[] = {
		{"{{a}} {{b}} {{c}} {{d}} {{e}}", "{\"a\":1.5,\"b\":85,\"c\":-3,\"d\":0.1,\"e\":1e20}",
		 "1.5 85 -3 0.1 1e+20"},
		/* whole numbers as "%.0f" writes them, up to 15 digits; -0 as 0 */
		{"{{a}} {{b}} {{c}} {{d}} {{e}} {{f}}",
		 "{\"a\":999999999999999,\"b\":-999999999999999,\"c\":1e15,\"d\":-0.0,"
		 "\"e\":2.0,\"f\":-7}",
		 "999999999999999 -999999999999999 1e+15 0 2 -7"},
		{"{{t}}/{{f}}/{{n}}/{{x}}", "{\"t\":true,\"f\":false,\"n\":null}", "true/false//"},
		{"{{s}}|{{{s}}}", "{\"s\":\"<a href='x'>&amp;\\\"</a>\"}",
		 "&lt;a href='x'&gt;&amp;amp;&quot;&lt;/a&gt;|<a href='x'>&amp;\"</a>"},
		{"{{#e}}yes{{/e}}{{^e}}no{{/e}}", "{\"e\":\"\"}", "no"},
		{"{{#z}}zero is {{.}}{{/z}}", "{\"z\":0}", "zero is 0"},
		{"{{#o}}{{k}}{{/o}}", "{\"o\":{\"k\":\"v\"}}", "v"},
		{"{{list.x}}|{{obj}}", "{\"list\":[1],\"obj\":{\"a\":1}}", "|"},
		{"{{#l}}{{.}},{{/l}}", "{\"l\":[\"a\",\"b\",3]}", "a,b,3,"},
		{"{{l.1}}|{{l.7}}|{{l.-1}}|{{#l.0}}has{{/l.0}}{{^e.0}}empty{{/e.0}}",
		 "{\"l\":[\"a\",\"b\"],\"e\":[]}", "b|||hasempty"},
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		cJSON *data = cJSON_Parse(cases[i].data);
		assert_non_null(data);
		char *out = NULL;
		assert_int_equal(template_render("v", cases[i].tpl, data, NULL, NULL, &out, NULL),
				 0);
		assert_string_equal(out, cases[i].want);
		free(out);
		cJSON_Delete(data);
	}
	/* No data at all is an empty context; no loader means no partials. */
	char *out = NULL;
	assert_int_equal(template_render("v", "[{{x}}{{>p}}{{.}}]", NULL, NULL, NULL, &out, NULL),
			 0);
	assert_string_equal(out, "[]");
	free(out);
	assert_int_equal(template_render("v", NULL, NULL, NULL, NULL, &out, NULL), -EINVAL);
}

static int failing_partial(const char *name, char **ret_text, void *userdata)
{
	return -EACCES;
}

static void test_loader_error(void **state)
{
	char *out = NULL, *err = NULL;
	assert_int_equal(template_render("m", "x\n {{> p}}", NULL, failing_partial, NULL, &out,
					 &err),
			 -EACCES);
	assert_null(out);
	assert_non_null(err);
	assert_true(strncmp(err, "m:2:2: cannot load partial \"p\"", 30) == 0);
	free(err);
}

static void write_text(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void test_dirs_partial(void **state)
{
	char base[] = "/tmp/coco-template-XXXXXX";
	assert_non_null(mkdtemp(base));
	_cleanup_free_ char *etc = xasprintf("%s/etc", base);
	_cleanup_free_ char *share = xasprintf("%s/share", base);
	assert_int_equal(mkdir(etc, 0700), 0);
	assert_int_equal(mkdir(share, 0700), 0);
	write_text(etc, "footer.md", "local footer");
	write_text(share, "footer.md", "default footer");
	write_text(share, "only-default.md", "from share");
	write_text(base, "secret", "must not be reachable");
	const char *const dirs[] = {etc, share, NULL};

	char *text = NULL;
	assert_int_equal(template_dirs_partial("footer.md", &text, (void *)dirs), 0);
	assert_string_equal(text, "local footer");
	free(text);
	assert_int_equal(template_dirs_partial("only-default.md", &text, (void *)dirs), 0);
	assert_string_equal(text, "from share");
	free(text);
	text = NULL;
	assert_int_equal(template_dirs_partial("missing.md", &text, (void *)dirs), -ENOENT);
	assert_int_equal(template_dirs_partial("../secret", &text, (void *)dirs), -ENOENT);
	assert_int_equal(template_dirs_partial("..", &text, (void *)dirs), -ENOENT);
	assert_int_equal(template_dirs_partial("a/b", &text, (void *)dirs), -ENOENT);
	assert_int_equal(template_dirs_partial(".hidden", &text, (void *)dirs), -ENOENT);
	assert_int_equal(template_dirs_partial("", &text, (void *)dirs), -ENOENT);
	assert_null(text);

	/* Through the renderer: an unsafe name renders as empty, like any missing partial. */
	char *out = NULL;
	assert_int_equal(template_render("m", "[{{>footer.md}}|{{>../secret}}|{{>only-default.md}}]",
					 NULL, template_dirs_partial, (void *)dirs, &out, NULL),
			 0);
	assert_string_equal(out, "[local footer||from share]");
	free(out);

	_cleanup_free_ char *p1 = xasprintf("%s/footer.md", etc);
	_cleanup_free_ char *p2 = xasprintf("%s/footer.md", share);
	_cleanup_free_ char *p3 = xasprintf("%s/only-default.md", share);
	_cleanup_free_ char *p4 = xasprintf("%s/secret", base);
	unlink(p1);
	unlink(p2);
	unlink(p3);
	unlink(p4);
	rmdir(etc);
	rmdir(share);
	rmdir(base);
}

static void test_large_input(void **state)
{
	/* 100000 list items. */
	cJSON *data = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(data, "items");
	for (int i = 0; i < 100000; i++) {
		cJSON *it = cJSON_CreateObject();
		cJSON_AddNumberToObject(it, "n", i);
		cJSON_AddStringToObject(it, "s", "a<b");
		cJSON_AddItemToArray(items, it);
	}
	char *out = NULL, *err = NULL;
	assert_int_equal(template_render("big", "{{#items}}\n- {{n}}: {{s}}\n{{/items}}\n", data,
					 NULL, NULL, &out, &err),
			 0);
	size_t want = 0;
	for (int i = 0; i < 100000; i++)
		want += (size_t)snprintf(NULL, 0, "- %d: a&lt;b\n", i);
	assert_int_equal(strlen(out), want);
	assert_true(strncmp(out, "- 0: a&lt;b\n- 1: a&lt;b\n", 24) == 0);
	assert_non_null(strstr(out, "- 99999: a&lt;b\n"));
	free(out);
	cJSON_Delete(data);

	/* A 4 MiB template of plain text with a tag at the very end. */
	size_t n = 4u << 20;
	char *big = xmalloc(n + 16);
	for (size_t i = 0; i < n; i++)
		big[i] = (i % 64 == 63) ? '\n' : 'x';
	memcpy(big + n, "{{#a}}", 7);
	assert_int_equal(template_render("big", big, NULL, NULL, NULL, &out, &err), -EINVAL);
	assert_string_equal(err, "big:65537:1: section \"a\" is never closed");
	free(err);
	err = NULL;
	big[n] = 0;
	assert_int_equal(template_render("big", big, NULL, NULL, NULL, &out, &err), 0);
	assert_int_equal(strlen(out), n);
	free(out);
	free(big);

	/* Nesting deeper than the parser allows is an error, not a stack overflow. */
	strbuf deep = {0};
	for (int i = 0; i < 5000; i++)
		strbuf_puts(&deep, "{{#a}}");
	assert_int_equal(template_render("deep", deep.s, NULL, NULL, NULL, &out, &err), -EINVAL);
	assert_string_equal(err, "deep:1:601: sections nested more than 100 deep");
	free(err);
	err = NULL;
	strbuf_done(&deep);

	/* Partials that multiply their output hit the output cap instead of eating memory. */
	cJSON *bomb = cJSON_CreateObject();
	char pname[16], body[128];
	for (int i = 0; i < 9; i++) {
		snprintf(pname, sizeof pname, "l%d", i);
		if (i == 8)
			snprintf(body, sizeof body, "%s", "0123456789012345678901234567890123456789");
		else
			snprintf(body, sizeof body, "{{>l%d}}{{>l%d}}{{>l%d}}{{>l%d}}{{>l%d}}"
				 "{{>l%d}}{{>l%d}}{{>l%d}}{{>l%d}}{{>l%d}}",
				 i + 1, i + 1, i + 1, i + 1, i + 1, i + 1, i + 1, i + 1, i + 1, i + 1);
		cJSON_AddStringToObject(bomb, pname, body);
	}
	assert_int_equal(template_render("bomb", "{{>l0}}", NULL, json_partial, bomb, &out, &err),
			 -EFBIG);
	assert_non_null(err);
	free(err);
	cJSON_Delete(bomb);
}

/* ---- the default templates ---- */

static const struct {
	const char *name;
	const char *must[8];
} default_templates[] = {
	{"prompt.md", {"Hi Alice", "Kick-off", "What should we build next?", "Reply", "Friday 6 June, 14:00"}},
	/* the examples are the round's own, one line per question, shown as lines */
	{"survey.md", {"Hi Alice", "1.", "How happy", "one line per question", "\n    1: 4\n    2: b\n    3: your words\n",
		       "`skip 3`", "(1 = not at all", "Friday 6 June, 14:00"}},
	{"vote.md", {"Hi Bob", "3.", "Dark mode", "3** votes", "\n    vote 1 3\n", "Friday 6 June, 14:00"}},
	{"reminder.md", {"Hi Alice", "still open", "Friday 6 June, 14:00", "Weekly pulse",
			 "one line per question", "\n    1: 4\n    2: b\n"}},
	/* each answer with its question's number and text, the value in words */
	{"confirmation.md", {"Thanks, Alice", "- **1.** How happy are you with the pace? → 4",
			     "- **3.** Which devices do you use? → Phone, Laptop", "did not record these lines",
			     "fix", "\n    1: 4\n    2: b\n    3: a c\n"}},
	{"digest.md", {"Weekly pulse", "2 of 3", "How happy", "median", "Dark mode", "Carol", "▇"}},
};

static void test_default_templates(void **state)
{
	const char *const dirs[] = {"templates", NULL};
	for (size_t i = 0; i < ELEMENTSOF(default_templates); i++) {
		const char *name = default_templates[i].name;
		_cleanup_free_ char *tpl = NULL, *json = NULL, *out = NULL, *err = NULL;
		assert_int_equal(template_dirs_partial(name, &tpl, (void *)dirs), 0);

		_cleanup_free_ char *base = xstrndup(name, strlen(name) - 3);
		_cleanup_free_ char *path = xasprintf("tests/data/templates/%s.json", base);
		assert_int_equal(read_file(path, 1 << 20, &json, NULL), 0);
		cJSON *data = cJSON_Parse(json);
		assert_non_null(data);

		int r = template_render(name, tpl, data, template_dirs_partial, (void *)dirs, &out,
					&err);
		if (r < 0)
			printf("%s: %s\n", name, err ? err : "?");
		assert_int_equal(r, 0);
		printf("---- %s\n%s", name, out);
		for (size_t k = 0; k < ELEMENTSOF(default_templates[i].must); k++) {
			const char *s = default_templates[i].must[k];
			if (!s)
				break;
			if (!strstr(out, s))
				printf("%s: missing \"%s\"\n", name, s);
			assert_non_null(strstr(out, s));
		}
		/* Every message ends in the shared footer and has no unrendered tags left. */
		assert_null(strstr(out, "{{"));
		assert_non_null(strstr(out, "coco"));
		cJSON_Delete(data);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_error_in_partial),
		cmocka_unit_test(test_recursion_limit),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_loader_error),
		cmocka_unit_test(test_dirs_partial),
		cmocka_unit_test(test_large_input),
		cmocka_unit_test(test_default_templates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
