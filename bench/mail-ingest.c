/* Mail parse + extract throughput on one core (issue 10.8): every mail of tests/data (mail/,
 * replies/: real clients' replies, bounces, HTML-only, base64, Outlook blocks…) and every
 * body of the reply-trimmer corpus (../shared/corpus/reply-trimmer/emails, or under
 * $COCO_CORPUS_DIR; each given a plain header section, as the trimmer corpus holds bodies
 * only), all in memory, run through what the email channel does with a mail it receives:
 * mail_parse() (libetpan, MIME, transfer and charset decoding, HTML to text), then
 * email_inbound_read() (reply_extract(), automatic mail, bounces, the reply tag). Repeated
 * until BENCH_PARSE_SEC seconds (default 3) have passed; prints MB/s and mails/s (by the wall
 * clock, and per second of CPU time), and whether the target (>= 100 MB/s) is met. Then the
 * same for one large reply (every corpus body in one mail), the cost per byte rather than
 * per mail. BENCH_PARSE_ROUNDS=N runs N rounds of each instead, whatever the time (for
 * valgrind --tool=callgrind: N rounds minus one round is the cost without the one-time
 * costs; BENCH_PARSE_SMALL_ONLY=1 leaves the large reply out). The end-to-end half (IMAP → store) is
 * bench/mail-ingest.sh. Never fails on a figure; fails if the corpus cannot be read. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "email/message.h"
#include "email/mime.h"
#include "util.h"

#define TARGET_MBPS 100.0

typedef struct item {
	char *data;
	size_t len;
} item;

static item *items;
static size_t n_items, cap_items;
static size_t total_bytes;

static void add(char *data, size_t len)
{
	if (n_items == cap_items) {
		cap_items = cap_items ? cap_items * 2 : 256;
		items = xrealloc(items, cap_items * sizeof *items);
	}
	items[n_items++] = (item){data, len};
	total_bytes += len;
}

/* Every regular file of dir (ending in suffix, if given); wrap: give each a header section
 * (bodies only). */
static int load_dir(const char *dir, const char *suffix, bool wrap)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		if (de->d_name[0] == '.' ||
		    (suffix && (nl < strlen(suffix) || !STREQ(de->d_name + nl - strlen(suffix), suffix))))
			continue;
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		size_t len = 0;
		char *data = NULL;
		if (read_file(path, 64 << 20, &data, &len) < 0)
			continue;
		if (wrap) {
			char *m = xasprintf("From: Ana <ana@client.example>\r\n"
			                    "To: coco+6pwm3g5veetjgitv@provider.example\r\n"
			                    "Subject: Re: [Survey] Pulse\r\n"
			                    "Message-ID: <%s@client.example>\r\n"
			                    "Content-Type: text/plain; charset=utf-8\r\n\r\n%s",
			                    de->d_name, data);
			free(data);
			data = m;
			len = strlen(m);
		}
		add(data, len);
		n++;
	}
	closedir(d);
	return n;
}

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this process: on a shared machine the wall clock also counts the time spent
 * waiting for a core, which says more about the neighbours than about the parser. */
static double cpu_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct run_result {
	size_t rounds, mails, failed, bytes;
	double wall, cpu;
} run_result;

/* v[0..n) through mail_parse() and email_inbound_read(), over and over for `limit` seconds. */
static run_result run(const coco_config *cfg, const item *v, size_t n, double limit,
                      size_t max_rounds)
{
	run_result r = {0};
	double t0 = now_sec(), c0 = cpu_sec(), t = t0;
	while (max_rounds ? r.rounds < max_rounds : t - t0 < limit) {
		for (size_t i = 0; i < n; i++) {
			mail_message *m = NULL;
			if (mail_parse(v[i].data, v[i].len, &m) < 0) {
				r.failed++;
			} else {
				email_inbound *e = NULL;
				if (email_inbound_read(cfg, v[i].data, v[i].len, m, &e) < 0)
					r.failed++;
				email_inbound_free(e);
				mail_message_free(m);
			}
			r.bytes += v[i].len;
			r.mails++;
		}
		r.rounds++;
		t = now_sec();
	}
	r.wall = t - t0;
	r.cpu = cpu_sec() - c0;
	return r;
}

/* The second figure: one large reply, made of every reply-trimmer body (or, without the
 * corpus, every test mail) one after the other, as a plain-text mail. Small mails measure the
 * cost per mail; this one the cost per byte of the text itself (decoding, the trimmer). */
static item large_mail(size_t first, size_t count)
{
	strbuf b = {0};
	strbuf_puts(&b, "From: Ana <ana@client.example>\r\n"
	                "To: coco+6pwm3g5veetjgitv@provider.example\r\n"
	                "Subject: Re: [Survey] Pulse\r\n"
	                "Message-ID: <large@client.example>\r\n"
	                "Content-Type: text/plain; charset=utf-8\r\n\r\n");
	for (size_t i = first; i < first + count; i++) {
		const char *body = strstr(items[i].data, "\r\n\r\n");
		body = body ? body + 4 : items[i].data;
		strbuf_puts(&b, body);
		strbuf_puts(&b, "\r\n");
	}
	size_t len = b.len;
	return (item){strbuf_steal(&b), len};
}

int main(void)
{
	log_set_max_level(LOG_ERR);
	malloc_tune(); /* as cocod does */
	const char *base = getenv("COCO_CORPUS_DIR");
	_cleanup_free_ char *corpus =
		xasprintf("%s/reply-trimmer/emails", base && *base ? base : "../shared/corpus");
	int a = load_dir("tests/data/mail", ".eml", false);
	int b = load_dir("tests/data/replies", ".eml", false);
	size_t corpus_first = n_items;
	int c = load_dir(corpus, NULL, true);
	if (a < 0 || b < 0) {
		fprintf(stderr, "mail-ingest: run from the source tree (tests/data/mail, tests/data/replies)\n");
		return 1;
	}
	if (c < 0)
		printf("(no %s: the tests' mails alone)\n", corpus);

	/* The one setting email_inbound_read() reads. */
	coco_setting from = {.section = "Mail", .key = "From", .value = "coco@provider.example"};
	coco_config cfgv = {.settings = &from, .n_settings = 1};
	const coco_config *cfg = &cfgv;

	const char *secs = getenv("BENCH_PARSE_SEC");
	double limit = secs ? atof(secs) : 3.0;
	const char *rounds_s = getenv("BENCH_PARSE_ROUNDS");
	size_t rounds = rounds_s ? strtoul(rounds_s, NULL, 10) : 0;
	run_result r = run(cfg, items, n_items, limit, rounds);
	double mbps = (double)r.bytes / r.wall / 1e6;
	printf("mail-ingest parse+extract: %zu mails (%zu bytes: %d tests/data/mail, %d replies, "
	       "%d reply-trimmer bodies), %zu rounds in %.2f s: %.1f MB/s, %.0f mails/s on one "
	       "core (%zu refused each round)\n",
	       n_items, total_bytes, a, b, c < 0 ? 0 : c, r.rounds, r.wall, mbps,
	       (double)r.mails / r.wall, r.failed / (r.rounds ? r.rounds : 1));
	printf("mail-ingest parse+extract: per CPU second (%.2f s of CPU in the %.2f s): "
	       "%.1f MB/s, %.0f mails/s, %.1f us a mail\n",
	       r.cpu, r.wall, (double)r.bytes / r.cpu / 1e6, (double)r.mails / r.cpu,
	       r.cpu / (double)(r.mails ? r.mails : 1) * 1e6);
	printf("target >= %.0f MB/s: %s\n", TARGET_MBPS, mbps >= TARGET_MBPS ? "met" : "NOT met");

	if (getenv("BENCH_PARSE_SMALL_ONLY")) /* callgrind: the small mails alone */
		return 0;
	item large = c > 0 ? large_mail(corpus_first, (size_t)c) : large_mail(0, n_items);
	run_result l = run(cfg, &large, 1, limit, rounds);
	printf("mail-ingest parse+extract, one large reply (%zu bytes: every %s body in one "
	       "text/plain mail): %.1f MB/s (%.1f MB/s per CPU second), %.0f mails/s%s\n",
	       large.len, c > 0 ? "reply-trimmer" : "test mail", (double)l.bytes / l.wall / 1e6,
	       (double)l.bytes / l.cpu / 1e6, (double)l.mails / l.wall,
	       l.failed ? " (REFUSED)" : "");
	free(large.data);
	for (size_t i = 0; i < n_items; i++)
		free(items[i].data);
	free(items);
	return 0;
}
