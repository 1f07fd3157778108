/* fuzz_mime: an inbound mail as the local connector sees it — mail_parse() (libetpan), every
 * accessor, then reply_trim() on the body — and reply_trim() on the raw input as a body too,
 * so the trimmer also sees text that no MIME parser would let through. The parsed message
 * also goes through mail_sender_authenticated() (every Authentication-Results field, under
 * the authserv-id of the first one, so the fuzzer reaches the clauses) and mail_bounce().
 *
 * Each input runs in a worker thread with a 256 KiB stack (COCO_FUZZ_STACK overrides, in KiB): the
 * daemon's loop thread has 8 MiB, but a recursion that grows with the input must show here,
 * not only at megabyte inputs. Seeds: fuzz/corpus/mime and tests/data/mail; `make fuzz` also
 * reads ../shared/corpus/reply-trimmer when it is there. */
#include "fuzz-common.h"

#include <pthread.h>

#include "email/auth-results.h"
#include "email/bounce.h"
#include "email/mime-raw.h"
#include "email/mime.h"
#include "email/reply.h"

struct job {
	const uint8_t *data;
	size_t size;
};

static size_t sum_len(const char *s)
{
	return s ? strlen(s) : 0;
}

static size_t sum_strv(char *const *v)
{
	size_t n = 0;
	for (; v && *v; v++)
		n += strlen(*v);
	return n;
}

static void trim(const char *body)
{
	char *kept = NULL, *elided = NULL;
	if (reply_trim(body, &kept, &elided) == 0) {
		/* Touch every byte so ASan checks the whole of both results. */
		volatile size_t n = strlen(kept) + strlen(elided);
		(void)n;
	}
	free(kept);
	free(elided);
}

/* The authserv-id a field starts with, up to its first ';' or white space. */
static char *first_id(const char *v)
{
	size_t n = strcspn(v, "; \t(");
	return xstrndup(v, n);
}

static void who_sent_it(const mail_message *m)
{
	volatile size_t n = 0;
	char **ar = mail_header_values(m, "Authentication-Results");
	for (char **p = ar; *p; p++) {
		char *id = first_id(*p);
		n += (size_t)auth_results_verdict(*p, id, "example.com");
		n += mail_sender_authenticated(m, id, NULL);
		free(id);
	}
	strv_free(ar);

	mail_bounce_info *b = NULL;
	if (mail_bounce(m, &b) == 1) {
		for (size_t i = 0; i < b->n_recipients; i++)
			n += strlen(b->recipients[i].address) + sum_len(b->recipients[i].original) +
			     sum_len(b->recipients[i].status) + sum_len(b->recipients[i].diagnostic);
		n += sum_len(b->original_message_id) + sum_len(b->reporting_mta);
		mail_bounce_info_free(b);
	}
	const struct mail_report_part *parts;
	size_t np = mail_report_parts(m, &parts);
	for (size_t i = 0; i < np; i++)
		n += strlen(parts[i].type) + strlen(parts[i].body) + parts[i].len;
	(void)n;
}

static void run(const struct job *j)
{
	mail_message *m = NULL;

	if (mail_parse((const char *)j->data, j->size, &m) == 0) {
		volatile size_t n = 0;
		n += sum_len(mail_from_address(m)) + sum_len(mail_from_name(m));
		n += sum_strv(mail_to(m)) + sum_strv(mail_cc(m)) + sum_strv(mail_references(m));
		n += sum_len(mail_reply_to(m)) + sum_len(mail_subject(m));
		n += sum_len(mail_message_id(m)) + sum_len(mail_in_reply_to(m));
		n += (size_t)mail_date(m) + mail_is_automatic(m);
		(void)n;
		who_sent_it(m);
		trim(mail_body(m));
		mail_message_free(m);
	}

	char *text = xstrndup((const char *)j->data, j->size);
	trim(text);
	free(text);
}

/* One worker thread with the small stack, made once: a thread per input costs more than
 * the parsing (ASan sets up every new thread). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static const struct job *pending;
static bool done;

static void *worker(void *arg)
{
	pthread_mutex_lock(&lock);
	for (;;) {
		while (!pending)
			pthread_cond_wait(&cond, &lock);
		run(pending);
		pending = NULL;
		done = true;
		pthread_cond_broadcast(&cond);
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t stack_size = 256 * 1024;
	fuzz_quiet_logs();
	const char *s = getenv("COCO_FUZZ_STACK");
	long kib;
	if (s && parse_long(s, 64, 1L << 20, &kib) >= 0)
		stack_size = (size_t)kib * 1024;

	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack_size);
	if (pthread_create(&t, &attr, worker, NULL) != 0)
		abort();
	pthread_attr_destroy(&attr);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job j = {data, size};
	pthread_mutex_lock(&lock);
	pending = &j;
	done = false;
	pthread_cond_broadcast(&cond);
	while (!done)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return 0;
}
