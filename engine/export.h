/* export: a campaign's answers as a file to take away: CSV (RFC 4180) for spreadsheets, or
 * the stored records as a JSON array. `cococtl export` (the admin, through the control
 * socket) and the web view's /c/CAMPAIGN/export.csv (a member) both call it.
 *
 * CSV: one row per current answer (superseded ones too with `history`, marked in the column
 * status), times in ISO 8601 in the campaign's zone with its offset, the question's number
 * as members answer it and its text; cells a spreadsheet would run as a formula are
 * neutralised (a leading '). Columns:
 *   campaign,round,occurrence,time,member,side,question_no,question,question_text,value,status
 *
 * Anonymous rounds: the admin's file names the pseudonym ("anon-…", the store's `pseudo`),
 * which ties a person's answers together but names no one. A member's file (`for_member`)
 * ties nothing to anyone: member "anonymous", no time, the side only for a question whose
 * every side has at least MinGroupSize= answerers (as the digest shows a split), and the
 * rows sorted by question and value, so that their order says nothing about who answered
 * when. Erased records and the records' keys are never exported. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "store.h"

#define EXPORT_CSV_HEADER                                                                  \
	"campaign,round,occurrence,time,member,side,question_no,question,question_text,value," \
	"status\r\n"

typedef struct export_input {
	store *store;
	const coco_campaign *campaign;
	bool json;       /* the records as a JSON array (admin only), else CSV */
	bool history;    /* superseded answers too (admin only) */
	bool for_member; /* a member's download: anonymous rounds as said above */
	/* The ballot of a vote round (the ideas, number i is [i - 1]), NULL-terminated and
	 * malloc'd (strv), or NULL; for the idea texts of vote rows. May be NULL. */
	char **(*ballot)(const coco_round *r, const char *occurrence, void *userdata);
	/* Whether an occurrence goes into the file; NULL: every one. */
	bool (*include)(const coco_round *r, const char *occurrence, void *userdata);
	void *userdata;
} export_input;

/* Reads every answers.jsonl of the campaign (rounds in configuration order, occurrences in
 * name order). *ret_data malloc'd; *ret_rows: CSV rows or JSON records. -EINVAL for bad
 * arguments (json or history with for_member), or -errno from reading the store. */
int export_campaign(const export_input *in, char **ret_data, size_t *ret_rows);
