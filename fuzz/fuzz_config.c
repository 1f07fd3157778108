/* fuzz_config: the config loader, through its one entry point config_load(DIR), which reads
 * files. Each input is loaded twice from a scratch directory on tmpfs: once as a campaign
 * file (campaigns.d/fuzz.conf beside a valid coco.conf) and once as coco.conf (beside a
 * valid small campaign). A loaded config goes through config_summary() and the lookups;
 * every error line must be "FILE:LINE: …" (or "FILE: …") for the file it names. */
#include "fuzz-common.h"

#include "channels.h"
#include "config.h"

static char *dir_campaign; /* input as campaigns.d/fuzz.conf */
static char *dir_main;     /* input as coco.conf */
static char *scratch;

static const char good_main[] = "[Daemon]\nConnectors=local\n[Mail]\nFrom=coco@provider.example\n";
static const char good_campaign[] =
	"[Campaign]\nTitle=Fuzz\nTimeZone=Europe/Helsinki\n"
	"[Member \"a\"]\nSide=client\nEmail=a@client.example\n"
	"[Member \"b\"]\nSide=provider\nEmail=b@provider.example\n"
	"[Round \"s\"]\nKind=survey\nOpen=2026-12-01 09:00\nDuration=2d\nRemind=-1d\n"
	"[Question \"s/q\"]\nKind=choice\nText=Which?\nOptions=x|y\n"
	"[Round \"p\"]\nKind=prompt\nOpen=2026-12-01 09:00\nClose=2026-12-03 09:00\n"
	"[Round \"v\"]\nKind=vote\nSource=p\nOpen=2026-12-04 09:00\nDuration=1d\n"
	"[Digest]\nRepeat=FREQ=WEEKLY;BYDAY=MO\n";

static void cleanup(void)
{
	if (scratch && !getenv("COCO_FUZZ_KEEP"))
		fuzz_empty_dir(scratch), rmdir(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	channels_register_config();
	scratch = fuzz_scratch_dir("config");
	atexit(cleanup);
	dir_campaign = xasprintf("%s/campaign", scratch);
	dir_main = xasprintf("%s/main", scratch);
	_cleanup_free_ char *cd1 = xasprintf("%s/campaigns.d", dir_campaign);
	_cleanup_free_ char *cd2 = xasprintf("%s/campaigns.d", dir_main);
	fuzz_mkdirs(cd1);
	fuzz_mkdirs(cd2);
	_cleanup_free_ char *m = xasprintf("%s/coco.conf", dir_campaign);
	_cleanup_free_ char *c = xasprintf("%s/fuzz.conf", cd2);
	fuzz_write(m, good_main, strlen(good_main));
	fuzz_write(c, good_campaign, strlen(good_campaign));
	_cleanup_free_ char *m2 = xasprintf("%s/coco.conf", dir_main);
	fuzz_write(m2, good_main, strlen(good_main)); /* until the first input replaces it */

	/* The fixed halves must load, or every input would only ever test error paths. */
	coco_config *cfg = NULL;
	char **errors = NULL;
	if (config_load(dir_main, &cfg, &errors) < 0) {
		for (char **e = errors; e && *e; e++)
			fprintf(stderr, "fuzz_config: %s\n", *e);
		fprintf(stderr, "fuzz_config: the fixed campaign does not load\n");
		abort();
	}
	config_free(cfg);
	return 0;
}

static void load(const char *dir, const char *file)
{
	coco_config *cfg = NULL;
	char **errors = NULL;
	int r = config_load(dir, &cfg, &errors);

	if (r >= 0) {
		free(config_summary(cfg));
		for (size_t i = 0; i < cfg->n_campaigns; i++) {
			const coco_campaign *camp = &cfg->campaigns[i];
			if (config_find_campaign(cfg, camp->id) == NULL)
				abort();
			for (size_t j = 0; j < camp->n_rounds; j++)
				if (campaign_find_round(camp, camp->rounds[j].id) == NULL)
					abort();
			for (size_t j = 0; j < camp->n_members; j++)
				if (campaign_find_member(camp, camp->members[j].id) == NULL)
					abort();
		}
		(void)config_has_connector(cfg, "local");
		config_free(cfg);
	} else if (r != -EINVAL) {
		abort(); /* invalid input is -EINVAL, nothing else */
	} else {
		/* Every message names a file of ours. */
		for (char **e = errors; e && *e; e++)
			if (strncmp(*e, dir, strlen(dir)) != 0 && !strstr(*e, file)) {
				fprintf(stderr, "fuzz_config: error without a file: %s\n", *e);
				abort();
			}
		strv_free(errors);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *camp = xasprintf("%s/campaigns.d/fuzz.conf", dir_campaign);
	_cleanup_free_ char *main_conf = xasprintf("%s/coco.conf", dir_main);

	fuzz_write(camp, data, size);
	load(dir_campaign, "fuzz.conf");
	fuzz_write(main_conf, data, size);
	load(dir_main, "coco.conf");
	return 0;
}
