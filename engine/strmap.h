/* strmap: strings to pointers, a hash table (open addressing, linear probing, deletion by
 * backward shift) for the lookups that must not be a scan of a list: the spool's index of
 * queued messages, who answered a round. A scan per message is quadratic over a burst of
 * 20,000. Keys are not kept: each is known by its 128-bit keyed digest (strmap.c says why a
 * false match does not happen), so a key is never handed back. Values belong to the
 * caller. As a set: any non-NULL value. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct strmap strmap;

strmap *strmap_new(void);
/* Frees the map and its copies of the keys, never the values. Accepts NULL. */
strmap *strmap_free(strmap *m);
/* The same, after calling free_value on every value. */
strmap *strmap_free_values(strmap *m, void (*free_value)(void *));
void strmap_freep(strmap **m);
#define _cleanup_strmap_ __attribute__((cleanup(strmap_freep)))

/* Sets key to value (not NULL). Returns true if the key was new, false if replaced. */
bool strmap_put(strmap *m, const char *key, void *value);
/* The value of key, or NULL. */
void *strmap_get(const strmap *m, const char *key);
/* Removes key; returns its value, or NULL if it was not there. */
void *strmap_remove(strmap *m, const char *key);
size_t strmap_size(const strmap *m);
