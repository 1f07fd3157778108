/* plan-private: what plan.c (the timeline) shares with plan-check.c (the checks). */
#pragma once

#include "plan.h"

typedef struct plan_occ {
	int64_t open, close;
} plan_occ;


/* Round r's occurrences opening before `until`, from the first: none for a round without
 * Open= (it is opened by hand). */
int plan_occurrences(const coco_campaign *c, const coco_round *r, int64_t until,
                     plan_occ **ret, size_t *ret_n);

/* The periodic digests in [from, until), given every round's occurrences (occs[i] for
 * c->rounds[i]): `each` gets the instant and the ids of the rounds it covers: open then, or
 * closed since the previous digest ("" if none). */
int plan_periodic_digests(const coco_campaign *c, plan_occ *const *occs, const size_t *n_occs,
                          int64_t from, int64_t until,
                          void (*each)(int64_t at, const char *covers, void *userdata),
                          void *userdata);
