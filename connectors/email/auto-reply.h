/* auto-reply: an out-of-office reply that carries none of the headers that mark machine
 * mail (Auto-Submitted, X-Autoreply, …), recognised by its subject and its text together. */
#pragma once

#include <stdbool.h>

/* True when subject starts like an auto-reply's ("Out of Office:", "Automatic reply:",
 * "Abwesenheitsnotiz:", "Réponse automatique :", … after leading blanks, not after "Re:")
 * and body, once quotes are trimmed off, is only a short absence notice: it names an absence
 * ("out of the office", "on vacation", "nicht im Büro", "en congé", "lomalla", …), is at most
 * AUTO_REPLY_TEXT_MAX bytes and AUTO_REPLY_LINES_MAX lines, and has no line that starts like
 * an answer ("1: 4", "2) yes", "idea: …", "vote 3", "skip 2"). A person who writes such a
 * subject over an answer is still read. */
bool mail_subject_is_auto_reply(const char *subject);
bool mail_text_is_out_of_office(const char *subject, const char *body);

#define AUTO_REPLY_TEXT_MAX 1500
#define AUTO_REPLY_LINES_MAX 15
