/* slack-proto: the pure parts of the Slack channel, with no loop, no libcurl and no core:
 * request signing (v0, HMAC-SHA256 over "v0:TIMESTAMP:BODY", a 5-minute window), form
 * bodies, the value a button carries, Markdown turned into Slack's mrkdwn, Block Kit blocks
 * for a prompt, and which Web API errors are worth a retry. Everything here is checked by
 * tests/test_slack.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <nettle/hmac.h>

#include "channel-msg.h"

/* Slack's replay window: a request signed more than this far from now is refused. */
#define SLACK_SIGNATURE_WINDOW_SEC 300

/* The signing secret made ready to sign: HMAC-SHA256's key schedule (the inner and outer
 * states of the padded key), computed once when the secret is read rather than for every
 * request. As secret as the secret itself: slack_signer_wipe() it when it is replaced. */
typedef struct slack_signer {
	struct hmac_sha256_ctx keyed;
	bool ready;
} slack_signer;
void slack_signer_init(slack_signer *s, const void *secret, size_t secret_len);
void slack_signer_wipe(slack_signer *s);
/* slack_verify() and slack_sign() with a signer (ready: initialized and not wiped). */
int slack_signer_verify(const slack_signer *s, const char *timestamp, const char *signature,
                        const char *body, size_t body_len, int64_t now);
void slack_signer_sign(const slack_signer *s, const char *timestamp, const char *body,
                       size_t body_len, char ret[68]);

/* Checks a request's X-Slack-Request-Timestamp and X-Slack-Signature against the raw body,
 * at real time `now` (unix seconds). 0 if Slack signed it; -EINVAL for a missing or
 * malformed header, -ETIME for a timestamp outside the window, -EPERM for a signature that
 * does not match (compared in constant time). */
int slack_verify(const void *secret, size_t secret_len, const char *timestamp,
                 const char *signature, const char *body, size_t body_len, int64_t now);

/* "v0=" + lower-case hex HMAC-SHA256(secret, "v0:" timestamp ":" body): what Slack sends.
 * ret: 3 + 64 characters and a NUL. */
void slack_sign(const void *secret, size_t secret_len, const char *timestamp, const char *body,
                size_t body_len, char ret[68]);

/* The first value of `key` in an application/x-www-form-urlencoded body, decoded ('+' is a
 * space, %XX a byte). 0 and *ret (malloc'd), -ENOENT if absent, -EBADMSG for a bad escape or
 * a NUL byte in the value. */
int slack_form_get(const char *body, size_t len, const char *key, char **ret);
/* slack_form_get() for several distinct keys in one pass over the body: for each keys[k],
 * the error slack_form_get() gives into ret_errors[k] and, when it is 0, the value
 * (malloc'd) into ret_values[k] (else NULL). Returns how many keys were found, whether or
 * not their values decode. */
int slack_form_fields(const char *body, size_t len, const char *const *keys, size_t n,
                      int *ret_errors, char **ret_values);

/* The value of a button: "REF|QUESTION|VALUE" (the conversation reference the core issued,
 * a question's number or "vote", the answer as a member would write it). REF may be empty.
 * NULL if a part is too long for Slack's 2000 characters or QUESTION holds a '|'. */
char *slack_button_value(const char *ref, const char *question, const char *value);
/* Splits a button's value; each part malloc'd (ref NULL when empty). -EINVAL if it is not
 * of that shape. */
int slack_button_parse(const char *v, char **ret_ref, char **ret_question, char **ret_value);

/* Markdown (as the templates write it) → Slack mrkdwn: **bold** and __bold__ → *bold*,
 * *em* → _em_, [text](url) → <url|text>, headings → bold lines, list bullets → •, indented
 * code → ``` blocks; &, < and > escaped as Slack asks. malloc'd. */
char *slack_mrkdwn(const char *markdown);

/* {"response_type":"ephemeral","text":TEXT}, the answer to a slash command only its sender
 * sees; the same bytes cJSON_PrintUnformatted() makes of that object, without building one.
 * malloc'd. */
char *slack_ephemeral_json(const char *text, size_t *ret_len);

/* The blocks of a chat.postMessage for m: the text as mrkdwn sections (at most 3000
 * characters each), then, when m->prompt has questions with a few options (scale, nps,
 * choice) or a ballot, buttons whose values carry m->conversation. At most 50 blocks. */
cJSON *slack_blocks(const channel_msg *m);

/* A Slack message timestamp, "1503435956.000247": digits, a dot, digits. */
bool slack_is_ts(const char *s);

/* A Web API error that may pass (rate limits, Slack's own trouble); the others are final. */
bool slack_error_is_temporary(const char *error);

/* What to tell a member whose command the core rejected, in plain words (the core's reason
 * is for the log: it may name other members). */
const char *slack_rejection_text(const char *reason);
