/* strmap: see strmap.h. */
#include "strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"

/* A key is kept as its 128-bit SipHash-2-4 (keyed with 16 random bytes of the map's), not as
 * a copy: 24 bytes a slot and no allocation a key, where a copy cost 32 bytes or more of
 * malloc a key besides (at 20,000 answers, the who-answered set, the spool's index and the
 * conversation index were some 2.5 MiB of copies). Two keys are taken for one only if their
 * digests are equal: for keys chosen without the map's random key (a sender cannot see it),
 * that is a 128-bit collision, some 2^-128 a pair, which is never in practice (2^-98 over a
 * billion keys). The API never hands a key back, so nothing else changes. */
typedef struct slot {
	uint64_t d0, d1;
	void *value; /* NULL: empty */
} slot;

struct strmap {
	slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
	uint64_t k0, k1; /* the SipHash key */
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                            \
	do {                                                                                \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                   \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                      \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                      \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                   \
	} while (0)

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* SipHash-2-4 with its 128-bit output, as its paper (Aumasson, Bernstein 2012) defines it. */
static void digest(const strmap *m, const char *key, uint64_t *ret0, uint64_t *ret1)
{
	const unsigned char *p = (const unsigned char *)key;
	size_t n = strlen(key), i = 0;
	uint64_t v0 = m->k0 ^ 0x736f6d6570736575ULL, v1 = m->k1 ^ 0x646f72616e646f6dULL ^ 0xee,
	         v2 = m->k0 ^ 0x6c7967656e657261ULL, v3 = m->k1 ^ 0x7465646279746573ULL;
	for (; i + 8 <= n; i += 8) {
		uint64_t w = le64(p + i);
		v3 ^= w;
		SIPROUND;
		SIPROUND;
		v0 ^= w;
	}
	uint64_t b = (uint64_t)n << 56;
	for (size_t j = 0; i + j < n; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xee;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	*ret0 = v0 ^ v1 ^ v2 ^ v3;
	v1 ^= 0xdd;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	*ret1 = v0 ^ v1 ^ v2 ^ v3;
}

strmap *strmap_new(void)
{
	strmap *m = xcalloc(1, sizeof(strmap));
	unsigned char k[16];
	size_t got = 0;
	while (got < sizeof k) {
		ssize_t r = getrandom(k + got, sizeof k - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < sizeof k) { /* no getrandom(): keys then only spread, as FNV did before */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)m;
		memcpy(k, &x, sizeof x);
		memcpy(k + 8, &x, sizeof x);
	}
	m->k0 = le64(k);
	m->k1 = le64(k + 8);
	return m;
}

strmap *strmap_free(strmap *m)
{
	if (!m)
		return NULL;
	free(m->slots);
	free(m);
	return NULL;
}

strmap *strmap_free_values(strmap *m, void (*free_value)(void *))
{
	for (size_t i = 0; m && i < m->cap; i++)
		if (m->slots[i].value)
			free_value(m->slots[i].value);
	return strmap_free(m);
}

void strmap_freep(strmap **m)
{
	*m = strmap_free(*m);
}

/* The slot holding the key of digest (d0, d1), or the empty slot where it would go. */
static slot *find(const strmap *m, uint64_t d0, uint64_t d1)
{
	size_t mask = m->cap - 1;
	for (size_t i = d0 & mask;; i = (i + 1) & mask) {
		slot *s = &m->slots[i];
		if (!s->value || (s->d0 == d0 && s->d1 == d1))
			return s;
	}
}

static void grow(strmap *m)
{
	strmap bigger = {.cap = m->cap ? m->cap * 2 : 64, .n = m->n, .k0 = m->k0, .k1 = m->k1};
	bigger.slots = xcalloc(bigger.cap, sizeof(slot));
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].value)
			*find(&bigger, m->slots[i].d0, m->slots[i].d1) = m->slots[i];
	free(m->slots);
	*m = bigger;
}

bool strmap_put(strmap *m, const char *key, void *value)
{
	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	uint64_t d0, d1;
	digest(m, key, &d0, &d1);
	slot *s = find(m, d0, d1);
	if (s->value) {
		s->value = value;
		return false;
	}
	*s = (slot){d0, d1, value};
	m->n++;
	return true;
}

void *strmap_get(const strmap *m, const char *key)
{
	if (!m || m->n == 0)
		return NULL;
	uint64_t d0, d1;
	digest(m, key, &d0, &d1);
	return find(m, d0, d1)->value;
}

void *strmap_remove(strmap *m, const char *key)
{
	if (!m || m->n == 0)
		return NULL;
	uint64_t d0, d1;
	digest(m, key, &d0, &d1);
	slot *s = find(m, d0, d1);
	if (!s->value)
		return NULL;
	void *value = s->value;
	m->n--;
	/* Backward shift: every later entry of the run that could live in the hole moves up,
	 * so that lookups never stop early at it. */
	size_t mask = m->cap - 1, hole = (size_t)(s - m->slots);
	for (size_t i = (hole + 1) & mask; m->slots[i].value; i = (i + 1) & mask) {
		size_t home = m->slots[i].d0 & mask;
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
