/* lockout.c: see lockout.h. */
#include "common/lockout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A window that began later than now + window_ms: the clock was set
   back since; such an entry counts as dead (not locked for ever). */
static int
lockout_future(const struct lockout_entry *e, const struct lockout_rule *r,
    int64_t now)
{
	return e->first_ms > now + r->window_ms;
}

int
lockout_locked(const struct lockout_entry *e, const struct lockout_rule *r,
    int64_t now)
{
	if (lockout_future(e, r, now))
		return 0;
	return now < e->until_ms;
}

int
lockout_live(const struct lockout_entry *e, const struct lockout_rule *r,
    int64_t now)
{
	if (e->n == 0 || lockout_future(e, r, now))
		return 0;
	return now - e->first_ms < r->window_ms || now < e->until_ms;
}

int
lockout_fail(struct lockout_entry *e, const struct lockout_rule *r,
    int64_t now)
{
	if (!lockout_live(e, r, now)) {
		e->n = 0;
		e->first_ms = now;
		e->until_ms = 0;
	}
	if (e->n < UINT32_MAX)
		e->n++;
	if (e->n >= r->limit) {
		int64_t until = e->first_ms + r->window_ms;

		if (until < now + r->lock_ms)
			until = now + r->lock_ms;
		if (until > e->until_ms)
			e->until_ms = until;
	}
	return lockout_locked(e, r, now);
}

int
lockout_table_init(struct lockout_table *t, size_t cap,
    const struct lockout_rule *rule)
{
	t->rule = *rule;
	t->cap = cap;
	t->slot = calloc(cap, sizeof(*t->slot));
	return t->slot ? 0 : -1;
}

void
lockout_table_free(struct lockout_table *t)
{
	free(t->slot);
	t->slot = NULL;
	t->cap = 0;
}

int
lockout_table_step(struct lockout_table *t, const char *key, int failed,
    int64_t now)
{
	struct lockout_slot *free_slot = NULL;

	for (size_t i = 0; i < t->cap; i++) {
		struct lockout_slot *s = &t->slot[i];
		if (s->key[0] != '\0' && strcmp(s->key, key) == 0) {
			if (failed)
				return lockout_fail(&s->e, &t->rule, now);
			return lockout_locked(&s->e, &t->rule, now);
		}
		if (free_slot == NULL && (s->key[0] == '\0' ||
		    !lockout_live(&s->e, &t->rule, now)))
			free_slot = s;
	}
	if (free_slot == NULL)
		return 2;	/* no room to count it: fail closed */
	if (!failed)
		return 0;	/* not known: nothing against it */
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
	return lockout_fail(&free_slot->e, &t->rule, now);
}

const struct lockout_entry *
lockout_table_get(const struct lockout_table *t, const char *key)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i].key[0] != '\0' && strcmp(t->slot[i].key, key) == 0)
			return &t->slot[i].e;
	return NULL;
}

int
lockout_table_set(struct lockout_table *t, const char *key,
    const struct lockout_entry *e, int64_t now)
{
	struct lockout_slot *pick = NULL;

	if (!lockout_live(e, &t->rule, now))
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		struct lockout_slot *s = &t->slot[i];
		if (s->key[0] != '\0' && strcmp(s->key, key) == 0) {
			pick = s;
			break;
		}
		if (pick == NULL && (s->key[0] == '\0' ||
		    !lockout_live(&s->e, &t->rule, now)))
			pick = s;
	}
	if (pick == NULL)
		return -1;
	snprintf(pick->key, sizeof(pick->key), "%s", key);
	pick->e = *e;
	return 0;
}
