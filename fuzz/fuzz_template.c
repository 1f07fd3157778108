/* fuzz_template: the Mustache renderer, template and data both from the input.
 *
 * Input: TEMPLATE [ NUL DATA-JSON [ NUL PARTIAL ] ]. Without a NUL the whole input is the
 * template and the data is a fixed object like the digests'. Data that is not JSON renders
 * as an empty object. Every partial name loads PARTIAL (or a small fixed one), except names
 * starting with "missing" (-ENOENT: renders empty) and "broken" (-EIO: an error), so
 * recursion through partials, parents and blocks is reachable. */
#include "fuzz-common.h"

#include "template.h"

static const char default_data[] =
	"{\"campaign\":{\"title\":\"Acme <&> \\\"Northwind\\\"\",\"id\":\"onboarding\"},"
	"\"member\":{\"name\":\"Ana\",\"side\":\"client\"},\"anonymous\":false,\"n\":3,"
	"\"pi\":3.14159,\"nothing\":null,\"empty\":[],\"list\":[1,\"two\",{\"x\":3},[4,5]],"
	"\"questions\":[{\"number\":1,\"text\":\"Mood?\",\"kind\":\"scale\",\"min\":1,"
	"\"max\":5,\"options\":[]},{\"number\":2,\"text\":\"Colour\",\"kind\":\"choice\","
	"\"options\":[{\"letter\":\"a\",\"text\":\"Red\"},{\"letter\":\"b\",\"text\":\"Blue\"}]}],"
	"\"a\":{\"b\":{\"c\":{\"d\":\"deep\"}}},\"footer\":\"— coco\"}";
static const char default_partial[] = "[{{.}}|{{name}}|{{$b}}block{{/b}}]\n";

struct parts {
	const char *partial;
};

static int load(const char *name, char **ret_text, void *userdata)
{
	const struct parts *p = userdata;
	if (strncmp(name, "missing", 7) == 0)
		return -ENOENT;
	if (strncmp(name, "broken", 6) == 0)
		return -EIO;
	*ret_text = xstrdup(p->partial ? p->partial : default_partial);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The template API takes C strings: the input becomes up to three of them. */
	char *buf = xmalloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = 0;
	const char *tpl = buf, *json = NULL;
	struct parts parts = {NULL};
	char *nul = memchr(buf, 0, size);
	if (nul) {
		json = nul + 1;
		char *nul2 = memchr(json, 0, size - (size_t)(json - buf));
		if (nul2 && nul2 < buf + size)
			parts.partial = nul2 + 1;
	}

	cJSON *d = cJSON_Parse(json ? json : default_data);
	if (!d)
		d = cJSON_CreateObject();
	char *out = NULL, *err = NULL;
	int r = template_render("fuzz", tpl, d, load, &parts, &out, &err);
	if (r >= 0) {
		if (!out)
			abort();
		volatile size_t n = strlen(out);
		(void)n;
	} else if (r == -EINVAL) {
		/* A syntax error says where: "NAME:LINE:COL: …". */
		if (err && strchr(err, ':') == NULL)
			abort();
	}
	free(out);
	free(err);
	cJSON_Delete(d);
	free(buf);
	return 0;
}
