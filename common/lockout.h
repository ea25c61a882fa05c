/*
 * lockout.h: failed logins counted so that they cannot be flushed.
 *
 * The rule: at most `limit` failures of one key (a user name, a client)
 * within `window_ms` of its first failure; the failure that reaches the
 * limit locks the key until the window ends, and for at least lock_ms.
 * A key's entry is "live" while its window runs or it is locked: only a
 * dead entry may be forgotten, since forgetting it changes nothing.  So
 * a key gets at most `limit` tries per window, however many other keys
 * an attacker makes up; when every slot of a table is live, a new key is
 * refused (the caller answers 429) rather than an old one forgotten.
 *
 * The wall clock may be set while running (fieldd sets it at sync): an
 * entry stamped in the future beyond a window is treated as dead.
 */
#ifndef LOCKOUT_H
#define LOCKOUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/peer.h"

struct lockout_rule {
	unsigned limit;			/* failures per window */
	int64_t window_ms;
	int64_t lock_ms;		/* a lock lasts at least this */
};

struct lockout_entry {
	uint32_t n;			/* failures in this window */
	int64_t first_ms;		/* the window's first failure */
	int64_t until_ms;		/* locked before this (0: never) */
};

/* 1 while e's window runs or e is locked at now. */
int lockout_live(const struct lockout_entry *e, const struct lockout_rule *r,
    int64_t now);
/* 1 when e is locked at now. */
int lockout_locked(const struct lockout_entry *e,
    const struct lockout_rule *r, int64_t now);
/* Counts a failure at now (a dead entry starts a new window); 1 when e
   is locked after it. */
int lockout_fail(struct lockout_entry *e, const struct lockout_rule *r,
    int64_t now);

/* A fixed table of keys in memory (clients), never evicting a live one. */
struct lockout_table {
	struct lockout_rule rule;
	size_t cap;
	struct lockout_slot {
		char key[PEER_KEY_MAX];
		struct lockout_entry e;
	} *slot;
};

/* 0, or -1 without memory. */
int lockout_table_init(struct lockout_table *t, size_t cap,
    const struct lockout_rule *rule);
void lockout_table_free(struct lockout_table *t);

/*
 * Checks key at now and, when failed, counts a failure of it.  0 when
 * key may go on, 1 when it is locked (or becomes locked by this
 * failure), 2 when a failure cannot be counted because every slot is
 * live (fail closed: answer as locked).
 */
int lockout_table_step(struct lockout_table *t, const char *key, int failed,
    int64_t now);

/* key's entry, or NULL (after a step that counted a failure: its new
   state, for the caller to keep elsewhere). */
const struct lockout_entry *lockout_table_get(const struct lockout_table *t,
    const char *key);

/* Sets key's entry (loading kept state at start), when it is live at now
   and there is room.  0, or -1 when dropped. */
int lockout_table_set(struct lockout_table *t, const char *key,
    const struct lockout_entry *e, int64_t now);

#endif
