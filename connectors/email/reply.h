/* reply: cut an inbound email body down to what the person wrote. Owns the line classifier
 * (text, quote, attribution/forward marker, signature, delimiter) and the rules that decide
 * which lines of a reply are new text. Pure functions, no state; plain byte scanning only, so
 * run time stays linear in the body size whatever the input looks like. */
#pragma once

/* Split a decoded UTF-8 plain-text body into the text the sender wrote (*ret_kept) and what
 * was cut away (*ret_elided: quotes, "On … wrote:" lines, Outlook header blocks, "-----Original
 * Message-----", forward markers, signatures). Both are newly allocated, without leading or
 * trailing blank lines and trailing whitespace; either may be "". CRLF is treated as LF.
 * ret_elided may be NULL. Returns 0, or -EINVAL when body or ret_kept is NULL. */
int reply_trim(const char *body, char **ret_kept, char **ret_elided);

/* What coco reads as the answer: reply_trim(), and a closing sign-off at the end of the text
 * ("Best regards,", "Mit freundlichen Grüßen", "Cordialement", "Terveisin", "Med vänliga
 * hälsningar", "С уважением" …) goes too, with the few name lines below it. reply_trim()
 * keeps those, as the Discourse trimmer (the corpus it is measured on) does. And a reply
 * with no line of the member's own (nothing typed above the quote, or typed into it) keeps
 * nothing, where reply_trim() keeps a lone quote: the quote is what coco sent. */
int reply_extract(const char *body, char **ret_kept, char **ret_elided);
