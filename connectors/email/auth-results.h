/* auth-results: did the site's own mail server vouch for the From domain? Reads the RFC 8601
 * Authentication-Results fields of an inbound message and believes only those whose
 * authserv-id is the one the site configured: anyone upstream can add such a field, and the
 * site's MTA removes forgeries of its own id on entry (RFC 8601 §5), not those of others.
 * Parsing is one linear pass per field, no backtracking, no allocation. */
#pragma once

#include <errno.h>
#include <stdbool.h>

#include "email/mime.h"

/* True only when
 *  - authserv_id (non-empty) names at least one Authentication-Results field (compared
 *    ASCII case-insensitively; fields of any other authserv-id are ignored), and one of
 *    those fields says
 *      dmarc=pass with header.from= the From domain, or
 *      dkim=pass with header.d= the From domain or a parent domain of it (not a bare TLD),
 *      or, when the clause has no header.d, with header.i='s domain so;
 *  - and no field of that authserv-id is malformed or says otherwise: a dmarc result other
 *    than pass or none, a dmarc pass for another domain (or none named), or a dkim result other than pass
 *    or none for a domain aligned as above. (A second opinion of the site's own server that
 *    disagrees means one of the two is not the site's: believe neither.)
 *  - the message has exactly one From field, and from_domain (when not NULL) is its
 *    domain, compared case-insensitively; NULL means the From address's domain.
 * Anything else is false: fail, softfail, none, temperror, another domain, garbage.
 * Microsoft 365 writes its Authentication-Results without an authserv-id; such a field can
 * be no site's and never counts. */
bool mail_sender_authenticated(const mail_message *m, const char *authserv_id,
			       const char *from_domain);

/* What one field value (unfolded, without the "Authentication-Results:" name) says. */
typedef enum auth_verdict {
	AUTH_NOT_OURS,	/* another authserv-id, or none that can be read */
	AUTH_NOTHING,	/* ours, and nothing for or against from_domain ("none", spf only) */
	AUTH_PASS,	/* ours: an aligned dmarc or dkim pass, nothing against */
	AUTH_DENY,	/* ours, and malformed, or something against from_domain */
	_AUTH_VERDICT_MAX,
	_AUTH_VERDICT_INVALID = -EINVAL,
} auth_verdict;

/* The verdict for one value; from_domain is the message's From domain. */
auth_verdict auth_results_verdict(const char *value, const char *authserv_id,
				  const char *from_domain);
const char *auth_verdict_to_string(auth_verdict v);
