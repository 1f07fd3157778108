/* strmap: see strmap.h. */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct slot {
	char *key; /* NULL: empty */
	void *value;
	uint64_t hash;
} slot;

struct strmap {
	slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

strmap *strmap_new(void)
{
	return xcalloc(1, sizeof(strmap));
}

strmap *strmap_free(strmap *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m);
	return NULL;
}

strmap *strmap_free_values(strmap *m, void (*free_value)(void *))
{
	for (size_t i = 0; m && i < m->cap; i++)
		if (m->slots[i].key)
			free_value(m->slots[i].value);
	return strmap_free(m);
}

void strmap_freep(strmap **m)
{
	*m = strmap_free(*m);
}

/* The slot holding key, or the empty slot where it would go. */
static slot *find(const strmap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		slot *s = &m->slots[i];
		if (!s->key || (s->hash == h && STREQ(s->key, key)))
			return s;
	}
}

static void grow(strmap *m)
{
	strmap bigger = {.cap = m->cap ? m->cap * 2 : 64, .n = m->n};
	bigger.slots = xcalloc(bigger.cap, sizeof(slot));
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			*find(&bigger, m->slots[i].key, m->slots[i].hash) = m->slots[i];
	free(m->slots);
	*m = bigger;
}

bool strmap_put(strmap *m, const char *key, void *value)
{
	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	uint64_t h = hash_str(key);
	slot *s = find(m, key, h);
	if (s->key) {
		s->value = value;
		return false;
	}
	*s = (slot){xstrdup(key), value, h};
	m->n++;
	return true;
}

void *strmap_get(const strmap *m, const char *key)
{
	if (!m || m->n == 0)
		return NULL;
	slot *s = find(m, key, hash_str(key));
	return s->key ? s->value : NULL;
}

void *strmap_remove(strmap *m, const char *key)
{
	if (!m || m->n == 0)
		return NULL;
	slot *s = find(m, key, hash_str(key));
	if (!s->key)
		return NULL;
	void *value = s->value;
	free(s->key);
	m->n--;
	/* Backward shift: every later entry of the run that could live in the hole moves up,
	 * so that lookups never stop early at it. */
	size_t mask = m->cap - 1, hole = (size_t)(s - m->slots);
	for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
		size_t home = m->slots[i].hash & mask;
		/* Can the entry at i move to the hole? Only if its home is not in (hole, i]. */
		bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
		if (!stays) {
			m->slots[hole] = m->slots[i];
			hole = i;
		}
	}
	m->slots[hole] = (slot){0};
	return value;
}

size_t strmap_size(const strmap *m)
{
	return m ? m->n : 0;
}
