/* config-private: what the three parts of the config loader share. config.c owns the
 * public API, the error list, freeing, pass 3 (checks across a campaign) and loading;
 * config-read.c owns pass 1 (the line reader that feeds inih); config-keys.c owns pass 2
 * (the key tables, their value parsers and the section appliers). Not an interface for
 * anything outside engine/config*.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "strmap.h"
#include "util.h"

/* ---- enum tables (config.c) ---- */

extern const char *const side_table[_SIDE_MAX];
extern const char *const round_kind_table[_ROUND_KIND_MAX];
extern const char *const question_kind_table[_QUESTION_KIND_MAX];

int config_table_from_string(const char *const *t, size_t n, const char *s);

/* ---- errors (config.c) ---- */

typedef struct cerror {
	size_t file; /* index into ctx.files */
	unsigned line;
	size_t seq;
	char *msg;
} cerror;

#define KEYS_MAX 16
/* The line each key of one section instance was set on; 0 = not set. Pass 3 uses it to
 * report a reference error at the line that makes the reference. */
typedef struct key_lines {
	unsigned line[KEYS_MAX];
	unsigned bad; /* bit k: key k was given but its value was rejected (and reported) */
} key_lines;

typedef struct pending_question {
	char *round_id;
	coco_question q;
	key_lines kl;
} pending_question;

enum { MEMBER_HAS_SIDE = 1, MEMBER_HAS_ADDRESS = 2 /* Email=, Slack= or Matrix= */ };

/* One campaign while its file is being applied. */
typedef struct camp_build {
	coco_campaign *c;
	unsigned campaign_line;
	key_lines camp_kl, digest_kl;
	key_lines *round_kl;  /* parallel to c->rounds */
	/* Parallel to c->members: what pass 3 asks of a member's keys (MEMBER_HAS_*), not
	 * the key_lines of each (68 bytes a member: 2 MiB of the load's peak at 20,000). */
	uint8_t *member_has;
	size_t cap_members;   /* of c->members and member_has */
	pending_question *qs;
	size_t n_qs;
	/* Hashes, so that a campaign of n members loads in O(n), not O(n²): member id → its
	 * index + 1, and an address (Email=) → the index + 1 of the member who has it. */
	strmap *member_ids, *member_emails;
} camp_build;

typedef struct ctx {
	coco_config *cfg;
	char **files; /* file names, for the error prefix */
	size_t n_files, cur_file;
	cerror *errors;
	size_t n_errors;
	camp_build *camp; /* the campaign being applied, for keys that look across members */
	unsigned connectors_line;
} ctx;

/* The registered channels (config-keys.c). */
const config_channel_def *config_channel_find(const char *name);
const char *config_default_channel(void);

void config_cerr(ctx *c, unsigned line, const char *fmt, ...) _printf_(3, 4);

/* Values can be 64 KiB; an error message quotes at most the start of one. */
#define VAL_FMT "%.*s%s"
#define VAL_ARG(v) 60, (v), strlen(v) > 60 ? "..." : ""

/* ---- pass 1: read (config-read.c) ---- */

typedef struct raw_entry {
	char *key;
	strbuf value;
	unsigned line;
	bool multiline;
} raw_entry;

typedef struct raw_section {
	char *head; /* between the brackets, stripped; NULL for a malformed header */
	unsigned line;
	raw_entry *entries;
	size_t n_entries;
} raw_section;

/* Reads one file into sections. Returns -errno if it cannot be read (reported). */
int config_read_sections(ctx *c, const char *path, raw_section **ret, size_t *ret_n);
/* The same, handing each section to each as soon as it ends and freeing it then: only one
 * section is held at a time (a campaign of 20,000 members is 20,000 sections). Returns
 * -errno if the file cannot be read (reported; the sections before were handed on). */
typedef void (*config_section_fn)(ctx *c, void *data, const raw_section *s);
int config_read_each_section(ctx *c, const char *path, config_section_fn each, void *data);
void config_raw_sections_free(raw_section *s, size_t n);

/* ---- pass 2: apply (config-keys.c) ---- */

/* Positions of keys in round_keys, question_keys and digest_keys (config-keys.c), for the
 * key_lines of pass 3: keep them in step with those tables. */
enum { ROUND_KEY_KIND, ROUND_KEY_OPEN = 3, ROUND_KEY_CLOSE, ROUND_KEY_DURATION, ROUND_KEY_REPEAT,
       ROUND_KEY_REMIND, ROUND_KEY_MAXREM, ROUND_KEY_AUDIENCE, ROUND_KEY_SOURCE = 11, ROUND_KEY_VOTES };
enum { Q_KEY_TEXT, Q_KEY_KIND, Q_KEY_MIN = 3, Q_KEY_MAX, Q_KEY_OPTIONS = 7 };
enum { DIGEST_KEY_REPEAT, DIGEST_KEY_START, DIGEST_KEY_RECIPIENTS = 3 };

void config_apply_main(ctx *c, const raw_section *secs, size_t n);
/* One section of a campaign's file, in file order (a config_section_fn, data a camp_build). */
void config_apply_campaign_section(ctx *c, void *b, const raw_section *s);
/* When every section was applied: the campaign's arrays cut to their size. */
void config_apply_campaign_done(ctx *c, camp_build *b);

/* ---- shared by pass 2 and pass 3 (config.c) ---- */

void config_member_done(coco_member *m);
/* Moves every string and list of m into one allocation, m->block (config.c). */
void config_member_pack(coco_member *m);
void config_question_done(coco_question *q);
void config_round_done(coco_round *r);
coco_member *config_find_member(const coco_campaign *c, const char *id);
coco_round *config_find_round(const coco_campaign *c, const char *id);
