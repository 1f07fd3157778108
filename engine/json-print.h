/* json-print: cJSON trees written out compact, byte for byte as cJSON_PrintUnformatted()
 * writes them, only cheaper. cJSON prints every number with sprintf("%1.15g") and reads it
 * back with sscanf() to see whether 15 digits were enough; an answer's record has a few
 * numbers that are whole (its version, its time, a scale's value), and those two calls were
 * most of the cost of writing it (bench/slack-ingress, docs/performance.md). Here a whole
 * number below 10^15 is written as the integer it is, which is what "%1.15g" gives for it;
 * any other number goes through cJSON's own printer. */
#pragma once

#include <cjson/cJSON.h>

#include "util.h"

/* The text, malloc'd; NULL where cJSON_PrintUnformatted() gives NULL (an item of no known
 * type). */
char *json_print_compact(const cJSON *item);

/* Appends s to b as a JSON string, quotes included, escaped as cJSON escapes: the short
 * forms \" \\ \b \f \n \r \t, \u00xx (lower-case hex) for the other bytes below 0x20,
 * everything else (UTF-8 included) as it is. NULL is "", as in cJSON. */
void json_print_string(strbuf *b, const char *s);
