/* mdtext: member-written text made safe to place inside coco's Markdown templates. Members'
 * answers, ideas and comments are text, never Markdown: in a digest sent to everyone, an
 * answer like "[Reset your password](https://evil.example) ![](https://t.example/p.png)"
 * must show literally, not become a live link or a remote image. */
#pragma once

/* One line (every run of white space becomes one space, outer blanks dropped) with every
 * character that could start Markdown markup — \ ` * _ [ ] < > — backslash-escaped, so
 * that cmark renders exactly the characters written. Malloc'd. */
char *md_text(const char *s);

/* The Markdown a message is written in, as plain text for a mail's text/plain part: md_text()'s
 * backslash escapes undone, so that a member's words read as they wrote them ("[see the
 * mockup](…)", not "\[see the mockup\](…)"), and the backslash of a hard line break (a
 * line ending in \, as a question's line in the templates) dropped. The rest of the
 * Markdown is left as it is; it reads as plain text. Malloc'd. */
char *md_plain(const char *markdown);
