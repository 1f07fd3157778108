/* digest: turns the answers of one round occurrence into a digest. It owns the figures
 * (participation by side, per-question n / median / mean / distribution, the client–provider
 * gap, idea lists and vote rankings, quotes, who has not answered, the trend against the
 * previous occurrence), the JSON handed to templates/digest.md, and the compiled files
 * campaigns/<c>/digests/<name>.md and .html.
 *
 * answers.jsonl is streamed once per occurrence and never loaded whole: the digest keeps one
 * entry per member (or pseudonym in anonymous rounds) with that member's latest value for each
 * question, so memory grows with the audience, not with the file. Records are applied in file
 * order; a later record replaces the member's earlier value (or skip) for the questions it
 * names, and only those. Ideas accumulate; a member's later votes replace their earlier ones.
 * Lines that cannot be read (bad JSON, unknown "v") are skipped with a warning and counted.
 *
 * In anonymous rounds no member name or pseudonym reaches the JSON or the Markdown: quotes are
 * ordered by a keyed hash of their text, so the order says nothing about who wrote them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "store.h"

typedef struct digest digest;

#define DIGEST_MIN_GROUP_DEFAULT 3   /* MinGroupSize= */
#define DIGEST_GAP_TENTHS_DEFAULT 10 /* GapThreshold=1.0 */
#define DIGEST_SPARK_POINTS 8        /* occurrences in a sparkline, this one included */
/* Who wrote an idea or a text answer whose member's section was removed from the config. */
#define DIGEST_FORMER_MEMBER "a former member"

typedef struct digest_input {
	store *store;
	const coco_campaign *campaign;
	const coco_round *round;
	const char *occurrence;      /* "once" or "2026-12-07" */
	const char *prev_occurrence; /* for the trend; NULL if none */
	/* Vote rounds: the ballot, idea number i is idea_texts[i - 1]. */
	const char *const *idea_texts;
	size_t n_ideas;
	/* Replies to the previous digest, shown as written (the caller formats them). */
	const char *const *comments;
	size_t n_comments;
	/* The occurrence is still open: the data holds its progress only (in_progress: who
	 * answered so far, and in an anonymous round only how many in all, not per side), never
	 * figures, quotes, ideas, votes or who is missing: results come with the close. */
	bool in_progress;
	const char *still_open_note; /* "This round is still open until …", or NULL */
	int64_t now;                 /* seconds since the epoch, shown as the digest's date */
	/* A section of a periodic digest: rendered without its end (the comment hint and the
	 * footer, digest-end.md), which the periodic digest has once, after its last section
	 * (digest_render_end()). */
	bool in_periodic;
	/* [Web] BaseUrl=, or NULL: the data gets web_link, the occurrence's page on the web view
	 * (BASE/c/CAMPAIGN/ROUND/OCCURRENCE), the same for everyone; the core makes it each
	 * member's own link when it sends the digest (weblink_personalize()). */
	const char *web_base;
	/* The copy for a campaign's room (a chat channel everyone reads): no web_link, as a room
	 * has no one member to sign a link for; "room" true in the data, for the templates. */
	bool room;
} digest_input;

/* Streams rounds/<round>/<occurrence>/answers.jsonl (and the previous occurrence's, if
 * given) and computes every figure. A missing file is an empty round, not an error.
 * Returns 0, -EINVAL for bad arguments or names, or -errno from reading the store. */
int digest_compute(const digest_input *in, digest **ret);
digest *digest_free(digest *d);
void digest_freep(digest **d);
#define _cleanup_digest_ __attribute__((cleanup(digest_freep)))

/* Figures for callers and tests. */
size_t digest_n_records(const digest *d);       /* records read (lines that parsed) */
size_t digest_n_bad_lines(const digest *d);     /* lines skipped as unreadable */
unsigned digest_answered(const digest *d, coco_side side);
unsigned digest_audience(const digest *d, coco_side side);

/* The template data, as templates/digest.md uses it:
 * {campaign:{id,title,client_name,provider_name}, round:{id,title,kind,anonymous,is_prompt,
 *  is_survey,is_vote}, occurrence, prev_occurrence?, date, records?, bad_lines?, in_progress,
 *  participation:{answered,total,percent,former?,by_side,client_answered?,client_total?,
 *   client_former?,provider_answered?,provider_total?,provider_former?,
 *   sides:[{side,name,answered,total,percent}]} (answered counts today's members; former,
 *   "1 former member", those whose section was removed since, whose answers the figures
 *   still count),
 *  questions:[{id,number,text,kind,is_scale,is_nps,is_choice,is_multi,is_text,n,skipped,
 *   median?,mean?,bars:[{label,count,bar,line}], scale/nps only: gap_shown,gap_flag,
 *   gap?,client_mean?,provider_mean?,gap_note?, prev_mean?,delta?,trend_text?,
 *   repeating rounds: has_sparks,spark_points,sparks:[{name,label,spark,first,last}],
 *   trend_chart?:{min,max,occurrences:[name],series:[{side,is_client,name,
 *    points:[{occurrence,mean?,value?}]}]} (each side's mean per occurrence, oldest first;
 *    no mean where the side had fewer than MinGroupSize answers; the sparklines' figures)}],
 *  quotes:[{text,who?,question}] (text answers by question, then ideas as question 0),
 *  has_ideas, ideas:[{number,text,who?,count}] (not in anonymous rounds),
 *  ideas_ranked:[{rank,number,text,votes,votes_word,bar}] (tied ideas share a rank: 1, 2, 2, 4), dots_total, trend? ("- 1. Mood: mean 3.8 →
 *  4.2 (+0.4)" lines), has_missing, missing:[{id,name,side}], still_open?, has_comments,
 *  comments:[{text}], in_periodic, web_link?}.
 * Means, medians and gaps are strings with one decimal ("3.8", "+1.2"; a whole median is
 * "4"). The gap is flagged when the gap as shown is 1.0 or more either way. Values marked ?
 * are left out rather than null, so {{#x}} sections work.
 * With in_progress (digest_input.in_progress) questions, quotes, ideas, ideas_ranked and
 * missing are empty, records, bad_lines, dots_total and trend absent; in an anonymous round
 * participation has by_side false, sides empty and no client_ and provider_ counts. */
int digest_to_json(const digest *d, cJSON **ret);

/* Renders digest.md found in template_dirs (NULL-terminated, first match wins). On a
 * template error the message is logged and -EINVAL returned. */
int digest_render(const digest *d, const char *const *template_dirs, char **ret_markdown);

/* Renders digest.html, the mail's HTML part, from the same data: a fragment (a periodic
 * digest joins its sections' fragments), which digest_html_document() makes a page. Bars are
 * tables with cell widths and background colours, which Gmail and Outlook keep: no images,
 * SVG, scripts or style sheets. Errors as for digest_render(). */
int digest_render_html(const digest *d, const char *const *template_dirs, char **ret_html);
/* digest_render() for a chat channel: the data has `chat` true, so the default templates
 * leave out what only mail can do (the signature, "reply to this mail"). */
int digest_render_chat(const digest *d, const char *const *template_dirs, char **ret_markdown);
char *digest_html_document(const char *title, const char *body);

/* Renders digest-end.md (the comment hint and the footer) for campaign: the end of a periodic
 * digest, once after all its sections; with web_base ([Web] BaseUrl=, or NULL) its web_link
 * is the campaign's page (BASE/c/CAMPAIGN/); room as in digest_input (web_base is then
 * ignored); chat: `chat` true in its data, for a chat channel (as digest_render_chat()).
 * Errors as for digest_render(). */
int digest_render_end(const coco_campaign *campaign, const char *const *template_dirs,
                      const char *web_base, bool room, bool chat, char **ret_markdown);

/* The web view's page of a campaign (path NULL) or of a page in it ("ROUND/OCCURRENCE"),
 * without a member's query: BASE/c/CAMPAIGN/PATH. Malloc'd. */
char *digest_web_page(const char *web_base, const char *campaign, const char *path);

/* CommonMark → HTML with libcmark, raw HTML and unsafe links dropped. */
int digest_markdown_to_html(const char *md, char **ret_html);

/* Writes campaigns/<campaign>/digests/<name>.md and .html (atomic replace each): html as
 * given (digest_render_html() in digest_html_document()), or NULL for md through cmark. */
int digest_write(store *st, const char *campaign, const char *name, const char *md,
                 const char *html);

/* The ideas of a prompt round occurrence in first-seen order, deduplicated (case-insensitive,
 * whitespace collapsed, each on one line; the first spelling is kept): this is the ballot numbering of a
 * vote round over it. NULL-terminated; an absent file gives an empty list. */
int digest_collect_ideas(store *st, const char *campaign, const char *round,
                         const char *occurrence, char ***ret_ideas);

/* The ballot of a vote round over source's occurrence: digest_collect_ideas(), and when the
 * source round is anonymous, in an order of its own (a stable shuffle seeded by the campaign,
 * the round and the occurrence), so that one member's ideas, sent together, do not stand
 * together. The order depends on the number of ideas only, never on their text: a withdrawn
 * idea keeps its slot, and the numbers of the others stay. */
int digest_ballot(store *st, const coco_campaign *camp, const coco_round *source,
                  const char *occurrence, char ***ret_ideas);

/* What a ballot slot says once the member who wrote the idea was forgotten: the slot stays,
 * so the numbers of the ideas after it do not change. */
#define DIGEST_IDEA_WITHDRAWN "(idea withdrawn)"

/* The hash of an idea as the ballot compares it (trimmed, ASCII case folded), 16 hex
 * digits: kept in a forgotten record for a slot that others' ideas share. -ENODATA for an
 * empty idea. */
int digest_idea_hash(const char *text, char ret[static 17]);

/* The pseudonyms of members forgotten in an occurrence (its tombstones say), so a digest
 * computed again leaves them out. NULL-terminated, possibly NULL. */
int digest_forgotten_members(store *st, const char *campaign, const char *round,
                             const char *occurrence, char ***ret_pseudos);
/* The campaign without the members forgotten in the occurrence (their pseudonyms under key,
 * as the tombstones name them): they count neither as answered nor in the audience. NULL
 * when nobody was forgotten there; else a copy sharing camp's strings, freed with
 * digest_campaign_copy_free(). */
struct secret;
coco_campaign *digest_without_forgotten(store *st, const struct secret *key,
                                        const coco_campaign *camp, const coco_round *r,
                                        const char *occurrence);
void digest_campaign_copy_free(coco_campaign *copy);

/* Who has at least one record in the occurrence, in first-seen order: member ids, or the
 * pseudonyms of an anonymous round (the caller compares with its own). NULL-terminated. */
int digest_answered_members(store *st, const char *campaign, const char *round,
                            const char *occurrence, char ***ret_member_ids);
/* The same, but in a survey with Required= questions only those whose records answer (or
 * skip) every required one. The others answered partly: they count as answered everywhere,
 * `cococtl rounds` says how many, and reminders still go to them. */
int digest_complete_members(store *st, const coco_campaign *camp, const coco_round *round,
                            const char *occurrence, char ***ret_member_ids);
