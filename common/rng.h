/*
 * rng.h: the process's one random generator (mbedtls CTR-DRBG seeded from
 * the system's entropy).  Seeded on first use; any thread may draw (fieldd's
 * loop and its writer both do).
 */
#ifndef RNG_H
#define RNG_H

#include <stddef.h>

/* Fills buf with len random bytes; 0 or -1 when the system has no entropy. */
int rng_bytes(void *buf, size_t len);

/* The mbedtls f_rng callback and its context, for mbedtls calls. */
int rng_mbedtls(void *ctx, unsigned char *buf, size_t len);
void *rng_ctx(void);

/* Writes a random (version 4) UUID, lower case, into out[37]. */
int rng_uuid(char out[37]);

#endif
