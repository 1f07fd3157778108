/* config: parses /etc/coco/coco.conf and /etc/coco/campaigns.d/NAME.conf (INI, read with inih)
 * into one immutable coco_config. Every key lives in one table per section in config.c,
 * which the parser, `cococtl check` and docs/config.md share. Errors carry "file:line:".
 *
 * The config is plain data, read by every module; nothing changes it after config_load().
 * A reload builds a new one and swaps it in only if it is valid. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum coco_side {
	SIDE_CLIENT,
	SIDE_PROVIDER,
	_SIDE_MAX,
	_SIDE_INVALID = -EINVAL,
} coco_side;

typedef enum round_kind {
	ROUND_PROMPT,   /* open question, several ideas per member */
	ROUND_SURVEY,   /* questions of the kinds below */
	ROUND_VOTE,     /* dot-voting over the ideas of an earlier prompt round */
	ROUND_ANNOUNCE, /* a message only */
	_ROUND_KIND_MAX,
	_ROUND_KIND_INVALID = -EINVAL,
} round_kind;

typedef enum question_kind {
	QUESTION_SCALE,  /* Min..Max with end labels */
	QUESTION_CHOICE, /* one of Options */
	QUESTION_MULTI,  /* several of Options */
	QUESTION_TEXT,
	QUESTION_NPS,    /* 0..10 */
	_QUESTION_KIND_MAX,
	_QUESTION_KIND_INVALID = -EINVAL,
} question_kind;

typedef enum audience_kind {
	AUDIENCE_ALL,
	AUDIENCE_CLIENT,
	AUDIENCE_PROVIDER,
	AUDIENCE_MEMBERS, /* the named member ids */
	_AUDIENCE_MAX,
	_AUDIENCE_INVALID = -EINVAL,
} audience_kind;

const char *side_to_string(coco_side s);
coco_side side_from_string(const char *s);
const char *round_kind_to_string(round_kind k);
round_kind round_kind_from_string(const char *s);
const char *question_kind_to_string(question_kind k);
question_kind question_kind_from_string(const char *s);

/* A wall-clock time in the campaign's time zone, as written in the config
 * ("2026-12-01 09:00"); schedule.* turns it into an instant. */
typedef struct coco_localtime {
	bool set;
	int year, month, day, hour, minute;
} coco_localtime;

typedef struct member_address_index member_address_index;

typedef struct coco_member {
	char *id;
	char *name;
	coco_side side;
	char **emails; /* lower-cased; the first is where mail goes, the rest are aliases */
	size_t n_emails;
	char *slack_id;  /* "U…" or NULL */
	char *matrix_id; /* "@user:server" or NULL */
	char *timezone;  /* IANA name; the campaign's if not given */
	/* AcceptFrom=: further senders whose mail may carry this member's reply tag (a
	 * forwarding setup); accept_any for "any". Lower-cased, NULL-terminated. */
	char **accept_from;
	bool accept_any;
	unsigned line;
	unsigned empty_email_line; /* an Email= line without an address (cococtl check says so) */
	/* Set by the loader: every string and list above lives in this one allocation (freed
	 * with it); NULL: each is its own allocation (a member built by hand). */
	void *block;
} coco_member;

typedef struct coco_question {
	char *id; /* within its round: "q1", "mood" */
	char *text;
	question_kind kind;
	bool required;
	long min, max;               /* scale: Min..Max (default 1..5); nps: 0..10 */
	char *min_label, *max_label; /* scale end labels, may be NULL */
	char **options;              /* choice/multi: Options=a|b|c, in order */
	size_t n_options;
	unsigned line;
} coco_question;

typedef struct coco_round {
	char *id;
	round_kind kind;
	char *title;
	char *text;            /* Markdown body shown to members */
	coco_localtime open;   /* Open=, the first occurrence's start (DTSTART with Repeat=) */
	coco_localtime close;  /* Close=, or unset */
	int64_t duration;      /* Duration= in seconds, 0 if Close= is used */
	char *repeat;          /* RRULE (RFC 5545) or NULL for one-shot */
	int64_t *remind;       /* Remind= offsets in seconds relative to close (negative) */
	size_t n_remind;
	unsigned max_reminders; /* MaxReminders=, default n_remind */
	audience_kind audience;
	char **audience_members; /* AUDIENCE_MEMBERS: member ids */
	size_t n_audience_members;
	bool anonymous;
	char *source;   /* vote: the prompt round whose ideas are on the ballot */
	unsigned votes; /* vote: dots per member (default 3) */
	coco_question *questions;
	size_t n_questions;
	unsigned line;
	/* Lines of keys, 0 if not given: cococtl check reports at the key that causes it. */
	unsigned open_line, close_line, duration_line, repeat_line, remind_line, source_line;
} coco_round;

typedef struct coco_digest {
	bool set;           /* a [Digest] section exists */
	char *repeat;       /* RRULE for the periodic digest, or NULL */
	coco_localtime start; /* DTSTART for Repeat= (default: campaign's first Open=) */
	bool on_close;      /* OnClose=yes: a digest whenever a round closes (default yes) */
	audience_kind audience; /* Recipients=all|client|provider|member ids */
	char **members;
	size_t n_members;
	unsigned line;
	unsigned repeat_line, start_line; /* 0 if not given */
} coco_digest;

typedef struct coco_campaign {
	char *id;   /* Id=, default: the file name without .conf */
	char *file; /* path it was read from */
	char *title;
	char *description;
	char *timezone; /* TimeZone=, IANA, default UTC */
	char *client_name, *provider_name; /* Client=, Provider= organisation names */
	int quiet_start, quiet_end; /* QuietHours=21:00-08:00, minutes after midnight; -1 = none */
	/* Digests: MinGroupSize= (answers each side needs before its figures are shown apart,
	 * >= 2) and GapThreshold= (in tenths of a scale point; NPS and choices derive theirs,
	 * see docs/digest.md). 0 = the default: 3 and 10 (1.0). */
	unsigned min_group_size;
	unsigned gap_tenths;
	coco_member *members;
	size_t n_members;
	/* The members' indexes sorted by id, for campaign_find_member() (binary search): built
	 * by the loader (campaign_index_members()); without it, or when it was made for another
	 * list (a copy of the campaign with other members), the lookup scans the list. */
	size_t *member_order;
	size_t n_member_order;
	const coco_member *member_order_of; /* the list it was made for */
	/* Built with it: every member's addresses (Email= with ASCII letters folded, Slack= and
	 * Matrix= as written) → the first member in file order that has it, for
	 * campaign_find_member_by_address() (a hash lookup instead of a scan per message): a
	 * table of member numbers, comparing with the members' own strings (config.c). */
	struct member_address_index *member_by_address;
	coco_round *rounds;
	size_t n_rounds;
	coco_digest digest;
	/* The channels' keys of [Campaign] (config_channel_def.campaign_keys), as written, with
	 * section "Campaign"; read with config_campaign_get(). */
	struct coco_setting *settings;
	size_t n_settings;
} coco_campaign;

/* ---- channel sections ----
 * A channel brings its own sections of coco.conf and their keys (engine/channel.h); the
 * loader checks them by kind and keeps the values as written, for the channel to read with
 * config_get(). The binaries register the channels they carry before loading. */
typedef enum config_value_kind {
	CONFIG_VALUE_STRING,
	CONFIG_VALUE_PATH,    /* an absolute path */
	CONFIG_VALUE_ADDRESS, /* an email address, user@domain */
	CONFIG_VALUE_URL,     /* scheme://host[:port][/...] */
	CONFIG_VALUE_HTTP_URL, /* http:// or https://host[:port][/...] */
	CONFIG_VALUE_BOOL,    /* yes/no, true/false, on/off, 1/0 */
	CONFIG_VALUE_NUMBER,  /* a non-negative integer */
} config_value_kind;

typedef struct config_key_def {
	const char *name;
	config_value_kind kind;
	bool required; /* when a channel using the section runs */
	const char *doc; /* one line, mirrored in docs/config.md */
} config_key_def;

typedef struct config_section_def {
	const char *name; /* "Mail" for [Mail] */
	const config_key_def *keys;
	size_t n_keys;
} config_section_def;

typedef struct config_channel_def {
	const char *name;                          /* as in Connectors= */
	const config_section_def *const *sections; /* NULL-terminated, may be NULL */
	/* Keys the channel adds to a campaign's [Campaign] section (the campaign's room on it:
	 * SlackChannel=); NULL if none. Kept in coco_campaign.settings. */
	const config_section_def *campaign_keys;
	/* Optional: what is wrong with a value of one of its sections' keys that its kind
	 * does not say (an SMTP URL's scheme), as a phrase, or NULL if it is fine. Checked when
	 * the config is read, so `cococtl check` and a reload refuse what the channel could not
	 * start with. */
	const char *(*check)(const char *section, const char *key, const char *value);
} config_channel_def;

/* Registers the channels a binary carries (the list is kept, not copied); the first is the
 * default of Connectors=. Without registration, Connectors= and channel sections are
 * errors. */
void config_register_channels(const config_channel_def *defs, size_t n);

typedef struct coco_setting {
	char *section, *key, *value;
	unsigned line;
} coco_setting;

#define CONFIG_DEFAULT_CONTROL_SOCKET "/run/coco/control.sock"

typedef struct coco_config {
	char *dir;            /* the config directory (/etc/coco) */
	char *state_dir;      /* [Daemon] StateDirectory=, default /var/lib/coco */
	char *control_socket; /* [Daemon] ControlSocket=, default /run/coco/control.sock */
	char *control_group;  /* [Daemon] ControlGroup=: a group name or gid, NULL = none */
	char *listen;         /* [Daemon] Listen= ingress address "127.0.0.1:8470" */
	bool listen_explicit; /* Listen= was given (the ingress then always starts) */
	char **connectors;    /* [Daemon] Connectors=: the channels that run, by name */
	size_t n_connectors;
	char *secrets_dir;    /* [Secrets] Directory=, NULL = $CREDENTIALS_DIRECTORY */
	unsigned secrets_dir_line; /* its line in coco.conf, 0 if not given */
	coco_setting *settings; /* the channels' sections ([Mail], [Local], …), as written */
	size_t n_settings;
	coco_campaign *campaigns;
	size_t n_campaigns;
} coco_config;

/* Loads DIR/coco.conf and DIR/campaigns.d/NAME.conf (sorted). On success returns 0 and the
 * config. On invalid input returns -EINVAL and, if ret_errors is not NULL, a
 * NULL-terminated list of every error found ("FILE:LINE: what was expected"), to be freed
 * with strv_free(). A missing coco.conf is an error; an empty campaigns.d is fine. */
int config_load(const char *dir, coco_config **ret, char ***ret_errors);
/* DIR/coco.conf alone, as config_load() reads it, with no campaigns: for cococtl to find
 * the running daemon's socket while a campaign file has errors. */
int config_load_main(const char *dir, coco_config **ret, char ***ret_errors);
coco_config *config_free(coco_config *c);
void config_freep(coco_config **c);
#define _cleanup_config_ __attribute__((cleanup(config_freep)))

/* "YYYY-MM-DD HH:MM", as Open= takes it. -EINVAL: not that shape; -ERANGE: no such date. */
int config_parse_localtime(const char *s, coco_localtime *ret);

/* "3 campaigns, 14 members, 9 rounds, 21 questions" — malloc'd. */
char *config_summary(const coco_config *c);

const coco_campaign *config_find_campaign(const coco_config *c, const char *id);
const coco_round *campaign_find_round(const coco_campaign *c, const char *id);
/* O(log n) with the member index, else a scan. */
const coco_member *campaign_find_member(const coco_campaign *c, const char *id);
/* The first member (in file order) that has address, as config_member_has_address()
 * decides: O(1) with the member index, else a scan. */
const coco_member *campaign_find_member_by_address(const coco_campaign *c, const char *address);
/* Builds (again) c's member indexes (by id and by address); config_load() does it for every campaign. A campaign put
 * together by hand (tests, benches) may call it, and then campaign_index_free(). */
void campaign_index_members(coco_campaign *c);
void campaign_index_free(coco_campaign *c);
/* Is member m in the audience a (with ids, the member list of AUDIENCE_MEMBERS)? */
bool config_member_in_audience(const coco_member *m, audience_kind a, char *const *ids, size_t n);
/* A channel section's value as written, or NULL when not given. */
const char *config_get(const coco_config *c, const char *section, const char *key);
/* A channel's key of the campaign's [Campaign] section as written, or NULL. */
const char *config_campaign_get(const coco_campaign *camp, const char *key);
/* Its value as a boolean (def when not given). */
bool config_get_bool(const coco_config *c, const char *section, const char *key, bool def);
bool config_has_connector(const coco_config *c, const char *name);
/* A member's address of a kind a channel reaches (channel_ops.address): "email" (the first
 * Email=), "slack" (Slack=), "matrix" (Matrix=); NULL if the member has none. */
const char *config_member_address(const coco_member *m, const char *kind);
/* Is `address` one of the member's own addresses of any kind (Email= and its aliases
 * compared case-insensitively)? */
bool config_member_has_address(const coco_member *m, const char *address);
/* How a message greets the member ("Hi Dana," rather than "Hi Dana Whitfield,"): the first
 * word of Name=, the whole name when that word is a title or an initial ("Dr. Anna Weber",
 * "J. Smith"), the id without a Name=. A new string. */
char *config_member_first_name(const coco_member *m);
