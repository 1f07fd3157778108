/* email/message: what makes the email channel the email channel, whatever carries the mail
 * (a maildir pair for the local channel today; SMTP and IMAP for the email channel): the
 * [Mail] section, a typed channel message as an RFC 5322 mail, and a received mail as an
 * inbound message for the core. The transports only move bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "channel.h"
#include "email/address.h"
#include "email/mime.h"

/* [Mail] From= (the sender; required by channels that send real mail), Name=. The keys
 * both mail channels read beside those (email_inbound_read()): */
#define EMAIL_KEY_AUTHSERVID                                                                   \
	{"AuthServId", CONFIG_VALUE_STRING, false, "the authserv-id your receiving server writes in Authentication-Results; mail it says passed DMARC or DKIM for the From domain is trusted by its From address"}
#define EMAIL_KEY_REPLY_TO_STRANGERS                                                           \
	{"ReplyToStrangers", CONFIG_VALUE_BOOL, false, "whether mail from no member gets one automatic reply saying how members answer (only to authenticated senders when AuthServId= is set); default yes with AuthServId=, else no"}
extern const config_section_def email_section_mail;

/* m as a CRLF-terminated RFC 5322 message from [Mail] From=: the conversation reference
 * travels in the Reply-To address and the Message-ID (address.h). *ret_message_id
 * (optional) gets the Message-ID, the remote id of what was sent. On failure *ret_err says
 * what was wrong, without field values (the Reply-To carries a secret tag). */
int email_compose(const coco_config *cfg, const channel_msg *m, char **ret, size_t *ret_len,
                  char **ret_message_id, char **ret_err);
/* The same, with the one-click unsubscribe URL: a message with m->unsubscribe always
 * carries List-Unsubscribe with the mailto address (address.h); with one_click_base (the
 * [Web] BaseUrl= of an ingress that serves POST /u/, as the email channel does) also
 * <BASE/u/TOKEN>, and, when that is https, List-Unsubscribe-Post (RFC 8058). */
int email_compose_with(const coco_config *cfg, const channel_msg *m, const char *one_click_base,
                       char **ret, size_t *ret_len, char **ret_message_id, char **ret_err);

/* The subject of an answer to a mail with subject: "Re: " once before what follows its
 * reply prefixes ("Re: Re: x", "RE: x", "AW: Re: x", "SV: x", "Vs: x", "Re[2]: x" →
 * "Re: x"); a subject without one is returned as it is (the caller adds "Re: ").
 * email_compose() applies it to every message with an in_reply_to. */
char *email_reply_subject(const char *subject);

/* A received mail, read for the core. */
typedef struct email_inbound {
	char *key;        /* "mail:" + Message-ID, or "mail:sha256:" + the bytes' hash */
	char *from;       /* lower-case */
	char *subject;
	char *text;       /* the member's own words (reply_extract()) */
	char *trimmed;    /* what reply_extract() cut off, NULL if nothing */
	char *message_id; /* NULL if none */
	char *thread;     /* In-Reply-To, NULL if none */
	char ref[EMAIL_REF_LEN + 1];
	bool has_ref;
	bool automatic;
	/* A bounce (mail_bounce() > 0) about its first failed recipient; has_ref and thread
	 * then come from the original Message-ID it returns (the message coco sent). */
	bool is_bounce;
	inbound_bounce bounce; /* its strings are owned by e */
	bool from_own_domain;  /* the From domain is [Mail] From='s */
	/* Sent to an unsubscribe address: the token (not an answer). */
	char unsub[EMAIL_REF_LEN + 1];
	bool has_unsub;
	/* [Mail] AuthServId= is set and its Authentication-Results vouch for the From domain
	 * (auth-results.h). */
	bool sender_verified;
	/* [Mail] ReplyToStrangers= (default: yes when AuthServId= is set, else no) says no, or
	 * AuthServId= is set and the sender is not verified. */
	bool no_stranger_reply;
} email_inbound;

/* Reads the parsed mail m (data[0..len) its bytes, for Delivered-To: and the hash).
 * -ENOMEM only. */
/* reply_extract() of the mail's text: what the member wrote, and everything cut off it
 * (quotes, attribution, signature, and an HTML-only reply's quote elements), "" if nothing. */
int email_reply_extract(const mail_message *m, char **ret_kept, char **ret_trimmed);

int email_inbound_read(const coco_config *cfg, const char *data, size_t len,
                       const mail_message *m, email_inbound **ret);
email_inbound *email_inbound_free(email_inbound *e);
/* The inbound message for the core; its strings point into e. */
void email_inbound_msg(const email_inbound *e, const char *chan, inbound_msg *ret);
