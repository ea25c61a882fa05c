/*
 * users.h: enumerator tokens.  A token is 32 random bytes in base64url
 * (43 characters), shown once when made; only its SHA-256 is stored.
 */
#ifndef USERS_H
#define USERS_H

#include <stddef.h>

#include "daemon/store.h"

#define USERS_TOKEN_LEN 43
#define USERS_NAME_MAX 64

/* 1 when name is 1..USERS_NAME_MAX printable characters, no spaces at
   either end and no control characters. */
int users_name_ok(const char *name);

/* Makes a user and writes its token (USERS_TOKEN_LEN + 1 bytes) to
   token.  0, or -1 with err (bad name, name taken, store failure). */
int users_add(struct store *st, const char *name, char *token, char *err,
    size_t errlen);

/* 1 when token belongs to a user, 0 when not (or malformed), -1 error. */
int users_check(struct store *st, const char *token);

#endif
