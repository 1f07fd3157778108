/* web-private: what web.c (the channel, links, requests) and web-pages.c (the pages' data
 * and the form) share. Not an interface for anything else. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "secret.h"
#include "store.h"
#include "web.h"

typedef struct web_post web_post;

/* A rendered round page and what it was made from (web-cache.c). */
typedef struct web_cached {
	char *key;   /* "CAMPAIGN/ROUND/OCCURRENCE" */
	char *stamp; /* web_page_stamp() when it was made */
	char *html;
	uint64_t used;
} web_cached;
#define WEB_CACHE_MAX 32

struct channel {
	const channel_host *h;
	secret key;
	store *st; /* a read-only use of the state directory: the core is the one writer */
	char **dirs; /* template directories (…/templates/web), first match wins */
	web_post **posts; /* form answers the core has not answered yet */
	size_t n_posts;
	web_cached cache[WEB_CACHE_MAX];
	uint64_t cache_clock;
};

/* A form body (application/x-www-form-urlencoded), decoded; names may repeat. */
typedef struct web_form {
	char **names, **values;
	size_t n;
} web_form;

int web_form_parse(const char *body, size_t len, web_form *ret);
void web_form_done(web_form *f);
const char *web_form_get(const web_form *f, const char *name);

/* The round's state in state.json: "open", "closed", …; its current occurrence and (vote
 * rounds) the ballot's source occurrence; strings malloc'd, NULL when absent. */
void web_round_state(channel *c, const coco_campaign *camp, const coco_round *r,
                     char **ret_state, char **ret_occurrence, char **ret_ballot);
bool web_member_asked(const coco_round *r, const coco_member *mb);

/* The cache of round pages (web-cache.c). web_page_stamp(): what a round page is made from,
 * as a string to compare; *ret_settled false when a file changed too recently to trust
 * its time (do not keep the page). web_cache_get(): the page kept under key if its stamp is
 * stamp, else NULL (borrowed: valid until the next put or clear). */
char *web_page_stamp(channel *c, const coco_campaign *camp, const coco_round *r,
                     bool *ret_settled);
const char *web_cache_get(channel *c, const char *key, const char *stamp);
void web_cache_put(channel *c, const char *key, const char *stamp, const char *html);
void web_cache_clear(channel *c);

/* Renders templates/web/NAME with data. */
int web_render(channel *c, const char *name, const cJSON *data, char **ret_html);

/* The pages' data. */
cJSON *web_index_data(channel *c, const coco_campaign *camp, const coco_member *mb);
/* -ENOENT: no such occurrence. */
int web_round_data(channel *c, const coco_campaign *camp, const coco_round *r, const char *occ,
                   cJSON **ret);
/* /c/CAMPAIGN/export.csv: the campaign's answers as a member may take them away (export.h,
 * for_member), occurrences still open left out. */
int web_export_csv(channel *c, const coco_campaign *camp, char **ret_csv);
/* What is wrong with a sent form, per field: "q3", "ideas", "vote-2", "votes" (the vote as
 * a whole); messages in the form's words. */
typedef struct web_form_errors {
	char **fields, **messages;
	size_t n;
} web_form_errors;
void web_form_errors_done(web_form_errors *e);
void web_form_errors_add(web_form_errors *e, const char *field, char *message); /* takes it */
const char *web_form_error(const web_form_errors *e, const char *field);

/* The form's data: prefilled with the member's current answers, or (entered) with what
 * they sent, errs at their fields. */
cJSON *web_form_data(channel *c, const coco_campaign *camp, const coco_round *r,
                     const coco_member *mb, const char *occ, const web_form *entered,
                     const web_form_errors *errs);
/* The ballot of a vote round (NULL-terminated, DIGEST_IDEA_WITHDRAWN in a withdrawn
 * idea's slot), or NULL. */
char **web_ballot(channel *c, const coco_campaign *camp, const coco_round *r);
/* The member's current answers in the occurrence: {answers:{qid: value}, votes:{n: dots},
 * ideas:[text]} (later records replace earlier answers and votes; ideas add up). */
cJSON *web_member_current(channel *c, const coco_campaign *camp, const coco_round *r,
                          const coco_member *mb, const char *occ);
/* web-form.c: each field of a sent form checked as the round takes it (-EINVAL: *ret
 * holds the errors; 0: none). */
int web_form_check(const coco_round *r, char *const *ballot, const web_form *f,
                   web_form_errors *ret);
/* The confirmation page's data for the answer text a form became, once the core said it is
 * durable: {recorded:[{label,value}], not_recorded:[…], missing:[label], all_recorded,
 * partly_recorded, none_recorded}, from the member's answers as stored now. */
cJSON *web_done_data(channel *c, const coco_campaign *camp, const coco_round *r,
                     const coco_member *mb, const char *occ, const char *text);
/* The answer grammar's text for the fields of a form (what a member would have typed). */
char *web_form_answer_text(const coco_round *r, const web_form *f);
