/* bounce: is an inbound message a delivery failure report, and for whom? Reads RFC 3464
 * delivery status notifications (multipart/report; report-type=delivery-status, RFC 6522)
 * and, as a fallback, the plain-text bounces Exim writes with an X-Failed-Recipients field.
 * Owns nothing else: what to do about a bounce (count, suppress an address) is the caller's.
 *
 * A bounce is unauthenticated mail like any other: anyone can send one naming any address.
 * Believe it only when it maps back to something coco sent (the original Message-ID carries
 * coco's reply tag, or the bounce came to a VERP address). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "email/mime.h"

typedef struct mail_bounce_recipient {
	/* Final-Recipient's address (Original-Recipient's when that is all there is; each
	 * address of X-Failed-Recipients for a plain-text bounce), as written, without <> */
	char *address;
	char *original; /* Original-Recipient's address, NULL if none */
	char *status;	/* RFC 3463 code, "5.1.1"; NULL if none or unreadable */
	/* Diagnostic-Code without its type ("550 5.1.1 <a@b>: User unknown"), NULL if none */
	char *diagnostic;
} mail_bounce_recipient;

typedef struct mail_bounce_info {
	mail_bounce_recipient *recipients; /* the failed ones, at least one */
	size_t n_recipients;
	/* Message-ID of the message that failed, without <>, from the returned headers
	 * (text/rfc822-headers or message/rfc822 part), else Gmail's X-Original-Message-ID;
	 * for a plain-text bounce the first "Message-ID:" line of its body. NULL if none. */
	char *original_message_id;
	char *reporting_mta; /* Reporting-MTA without its type, NULL if none */
	bool heuristic;	     /* not an RFC 3464 report: an X-Failed-Recipients bounce */
} mail_bounce_info;

/* Returns 1 and *ret when m reports a failed delivery: a DSN with at least one recipient whose
 * Action is "failed" or, lacking a known Action, whose Status is 5.x.x; or a mail from
 * MAILER-DAEMON/postmaster (or with Return-Path <>) carrying X-Failed-Recipients.
 * 0 when m is no bounce, and when a DSN only says delayed, delivered, relayed or expanded: a
 * delay is no failure (the MTA keeps trying, and reports "failed" if it gives up), and coco
 * asks for no success reports. Such a message is still automatic (mail_is_automatic()).
 * -EBADMSG when m is a delivery-status report without a readable delivery-status part or
 * recipient; -EINVAL when an argument is NULL. Strings are UTF-8 on one line (control
 * characters become spaces, invalid bytes '?'), at most 1000 bytes. */
int mail_bounce(const mail_message *m, mail_bounce_info **ret);
void mail_bounce_info_free(mail_bounce_info *b);
static inline void mail_bounce_info_freep(mail_bounce_info **b)
{
	mail_bounce_info_free(*b);
}
