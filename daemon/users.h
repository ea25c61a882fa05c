/*
 * users.h: enumerators and how they prove it.  A token is 32 random bytes
 * in base64url (43 characters), shown once when made; only its SHA-256 is
 * stored.  A PIN (4 to 12 digits, typed on a phone) is kept as HTTP
 * Digest's HA1, MD5(name ":" USERS_REALM ":" PIN), which ODK Collect's
 * Digest login needs and the web app's login checks; logging in with it
 * gives a session token (like a user token, expiring after
 * USERS_SESSION_S) that survives a board restart.
 *
 * A PIN is short: it keeps out people on the board's Wi-Fi, with the
 * lockout below, not someone holding the board's disk, who could try
 * every PIN against HA1.  That person gains no record (records are
 * sealed); they could submit as the enumerator, so remove the user.
 *
 * Lockout (common/lockout.h): USERS_LOCK_NAME failures of one name
 * within USERS_LOCK_WINDOW_MS of its first lock that name until the
 * window ends (and for USERS_LOCK_MS at least); USERS_LOCK_PEER from one
 * client (an IPv4 address or IPv6 /64) lock that client the same way.
 * So one name gets at most USERS_LOCK_NAME guesses per window however
 * many addresses try it: 30 an hour.  A user's count is in the store, a
 * made-up name's and a client's in memory (USERS_LOCK_SLOTS each, never
 * forgetting a live one; full: refused as locked).
 */
#ifndef USERS_H
#define USERS_H

#include <stddef.h>

#include "common/lockout.h"
#include "daemon/store.h"

#define USERS_TOKEN_LEN 43
#define USERS_NAME_MAX 64
#define USERS_REALM "fieldd"
#define USERS_PIN_MIN 4
#define USERS_PIN_MAX 12
#define USERS_SESSION_S (12 * 3600)
#define USERS_LOCK_NAME 5
#define USERS_LOCK_PEER 20
#define USERS_LOCK_WINDOW_MS (10 * 60 * 1000)
#define USERS_LOCK_MS (5 * 60 * 1000)
#define USERS_LOCK_SLOTS 512

/* 1 when name is 1..USERS_NAME_MAX printable characters, no spaces at
   either end and no control characters. */
int users_name_ok(const char *name);

/* Makes a user and writes its token (USERS_TOKEN_LEN + 1 bytes) to
   token.  0, or -1 with err (bad name, name taken, store failure). */
int users_add(struct store *st, const char *name, char *token, char *err,
    size_t errlen);

/* 1 when token belongs to a user or is a live session, 0 when not (or
   malformed), -1 error.  users_who also gives the user's name. */
int users_check(struct store *st, const char *token);
int users_who(struct store *st, const char *token, char *name,
    size_t namelen);

/* Sets a user's PIN.  0, or -1 with err (not 4 to 12 digits, no such
   user, store failure). */
int users_set_pin(struct store *st, const char *name, const char *pin,
    char *err, size_t errlen);
/* 1 and HA1 in hex, 0 when the user has no PIN or does not exist, -1. */
int users_digest_ha1(struct store *st, const char *name, char ha1_hex[33]);

/*
 * Logs name in with pin from peer: 1 and a session token
 * (USERS_TOKEN_LEN + 1 bytes), 0 when the name or PIN is wrong, 2 when
 * the name or the address is locked out, -1 on a store failure.
 */
int users_login(struct store *st, const char *name, const char *pin,
    const char *peer, int64_t now_ms, char *token);
/* Records a failed (failed != 0) or good login of name from peer (either
   may be NULL); 1 when the name or the address is locked out now. */
int users_lockout(struct store *st, const char *name, const char *peer,
    int failed, int64_t now_ms);

#endif
