/*
 * token.h: the enrolment token's format, shared by both ends: the
 * collector makes tokens (collector/open/collector_admin.c) and checks
 * them (collector/csrv.c); a device parses the one its operator typed
 * (daemon/enroll.c).
 *
 * A token is "fld1.SECRET.PIN": SECRET is TOKEN_SECRET_LEN random bytes
 * in base64url, which the collector stores only as its SHA-256 and takes
 * once before it expires; PIN is the hex SHA-256 of the collector's CA
 * certificate, so a device can trust the collector it enrols with over
 * any link, before it has any certificate of its own.
 */
#ifndef TOKEN_H
#define TOKEN_H

#define TOKEN_PREFIX "fld1."
#define TOKEN_SECRET_LEN 24
/* Room for a token and its NUL, with margin for a longer secret. */
#define TOKEN_MAX 128

/* Splits a token: 0 with the secret's SHA-256 and the CA pin, or -1. */
int token_parse(const char *token, unsigned char secret_hash[32],
    unsigned char pin[32]);

#endif
