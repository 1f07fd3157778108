/* Digest throughput: 1,000,000 answer records over 100 rounds (10,000 each, 50 members,
 * 5 scale questions and 1 text question) in a temporary store, then digest_compute() over
 * every round. Then a wide round: 1,000 members (500 a side) answering once each, its
 * digest computed BIG_REPEAT times (the web view's first look at a page, every digest
 * mail), where finding each answer's member in the configuration counts. Writing the store
 * is not timed. Prints figures; never fails on time. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "digest.h"
#include "util.h"

#define N_ROUNDS 100
#define PER_ROUND 10000
#define N_MEMBERS 50
#define N_SCALE 5
#define BIG_MEMBERS 1000
#define BIG_REPEAT 200

static const char *texts[] = {
	"Good progress this week, the demo was clear.",
	"Too many meetings; could we \\\"batch\\\" them on Tuesdays?",
	"Fine.",
	"The new dashboard is great \\u2014 thanks!",
	"I'd like more time for review before the release, and clearer owners for each task.",
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* per_round records of members drawn at random, or (every_member) each member once. */
static int write_round(const char *root, const coco_campaign *c, const coco_round *r,
                       unsigned per_round, bool every_member)
{
	_cleanup_free_ char *dir = xasprintf("%s/campaigns/%s/rounds/%s/once", root, c->id, r->id);
	_cleanup_free_ char *cmd = xasprintf("mkdir -p '%s'", dir);
	if (system(cmd) != 0)
		return -EIO;
	_cleanup_free_ char *path = xasprintf("%s/answers.jsonl", dir);
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	for (unsigned i = 0; i < per_round; i++) {
		const coco_member *m = &c->members[every_member ? i : rnd((unsigned)c->n_members)];
		fprintf(f, "{\"key\":\"bench:%s:%u\",\"v\":1,\"at\":%u,\"member\":\"%s\",\"side\":\"%s\","
		           "\"via\":\"email\",\"answers\":{",
		        r->id, i, 1796630400u + i, m->id, side_to_string(m->side));
		for (unsigned q = 0; q < N_SCALE; q++)
			fprintf(f, "\"q%u\":\"%u\",", q + 1, 1 + rnd(5));
		fprintf(f, "\"q%u\":\"%s\"},\"ideas\":[],\"votes\":{},\"skips\":[]}\n", N_SCALE + 1,
		        texts[rnd(ELEMENTSOF(texts))]);
	}
	return fclose(f) == 0 ? 0 : -errno;
}

/* The wide round: BIG_MEMBERS members, each answering once. */
static int bench_wide(const char *root, store *st, coco_question *questions, size_t n_questions)
{
	static coco_member members[BIG_MEMBERS];
	static char ids[BIG_MEMBERS][16];
	for (int i = 0; i < BIG_MEMBERS; i++) {
		snprintf(ids[i], sizeof ids[i], "%c%04d", i % 2 ? 'p' : 'c', i / 2 + 1);
		members[i] = (coco_member){.id = ids[i], .name = ids[i],
		                           .side = i % 2 ? SIDE_PROVIDER : SIDE_CLIENT};
	}
	coco_round round = {.id = "wide", .kind = ROUND_SURVEY, .title = "wide",
	                    .questions = questions, .n_questions = n_questions};
	coco_campaign camp = {.id = "bench", .title = "Bench", .members = members,
	                      .n_members = BIG_MEMBERS, .rounds = &round, .n_rounds = 1};
	campaign_index_members(&camp);
	if (write_round(root, &camp, &round, BIG_MEMBERS, true) < 0) {
		fprintf(stderr, "cannot write the store under %s\n", root);
		campaign_index_free(&camp);
		return 1;
	}
	size_t records = 0;
	double t0 = now_s();
	for (int i = 0; i < BIG_REPEAT; i++) {
		digest_input in = {.store = st, .campaign = &camp, .round = &round,
		                   .occurrence = "once", .now = 1796630400};
		digest *d = NULL;
		int k = digest_compute(&in, &d);
		if (k < 0) {
			fprintf(stderr, "digest_compute(wide): %s\n", strerror(-k));
			campaign_index_free(&camp);
			return 1;
		}
		records += digest_n_records(d);
		digest_free(d);
	}
	double dt = now_s() - t0;
	campaign_index_free(&camp);
	printf("digest of one round of %d members answering once: %.2f ms each (%d digests)\n",
	       BIG_MEMBERS, dt * 1000 / BIG_REPEAT, BIG_REPEAT);
	return records == (size_t)BIG_REPEAT * BIG_MEMBERS ? 0 : 1;
}

int main(void)
{
	char root[] = "/tmp/coco-bench-digest.XXXXXX";
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	log_set_max_level(LOG_WARNING);

	coco_member members[N_MEMBERS];
	char ids[N_MEMBERS][16], names[N_MEMBERS][32];
	for (int i = 0; i < N_MEMBERS; i++) {
		snprintf(ids[i], sizeof ids[i], "m%02d", i);
		snprintf(names[i], sizeof names[i], "Member %d", i);
		members[i] = (coco_member){.id = ids[i], .name = names[i],
		                           .side = i % 2 ? SIDE_PROVIDER : SIDE_CLIENT};
	}
	coco_question questions[N_SCALE + 1];
	char qids[N_SCALE + 1][8];
	for (int q = 0; q <= N_SCALE; q++) {
		snprintf(qids[q], sizeof qids[q], "q%d", q + 1);
		questions[q] = (coco_question){.id = qids[q], .text = qids[q], .min = 1, .max = 5,
		                               .kind = q < N_SCALE ? QUESTION_SCALE : QUESTION_TEXT};
	}
	static coco_round rounds[N_ROUNDS];
	static char rids[N_ROUNDS][16];
	for (int r = 0; r < N_ROUNDS; r++) {
		snprintf(rids[r], sizeof rids[r], "r%03d", r);
		rounds[r] = (coco_round){.id = rids[r], .kind = ROUND_SURVEY, .title = rids[r],
		                         .questions = questions, .n_questions = N_SCALE + 1};
	}
	coco_campaign camp = {.id = "bench", .title = "Bench", .members = members,
	                      .n_members = N_MEMBERS, .rounds = rounds, .n_rounds = N_ROUNDS};

	int ret = 1;
	store *st = NULL;
	for (int r = 0; r < N_ROUNDS; r++)
		if (write_round(root, &camp, &rounds[r], PER_ROUND, false) < 0) {
			fprintf(stderr, "cannot write the store under %s\n", root);
			goto out;
		}
	if (store_open(root, &st) < 0)
		goto out;

	size_t records = 0, bad = 0;
	double t0 = now_s();
	for (int r = 0; r < N_ROUNDS; r++) {
		digest_input in = {.store = st, .campaign = &camp, .round = &rounds[r],
		                   .occurrence = "once", .now = 1796630400};
		digest *d = NULL;
		int k = digest_compute(&in, &d);
		if (k < 0) {
			fprintf(stderr, "digest_compute(%s): %s\n", rounds[r].id, strerror(-k));
			goto out;
		}
		records += digest_n_records(d);
		bad += digest_n_bad_lines(d);
		digest_free(d);
	}
	double dt = now_s() - t0;

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("digest: %zu answers in %.3f s = %.0f answers/s (%zu unreadable)\n", records, dt,
	       dt > 0 ? (double)records / dt : 0.0, bad);
	printf("peak RSS: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
	ret = records == (size_t)N_ROUNDS * PER_ROUND && !bad ? 0 : 1;
	if (ret == 0)
		ret = bench_wide(root, st, questions, N_SCALE + 1);
out:
	store_free(st);
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return ret;
}
