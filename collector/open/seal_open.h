/*
 * seal_open.h: opening sealed records, for the collector's tools only.
 * The device's programs do not link seal_open.c (see the Makefile), so a
 * device has no code path that opens what it sealed.
 */
#ifndef SEAL_OPEN_H
#define SEAL_OPEN_H

#include <stddef.h>

#include "sync/seal.h"

/*
 * An opener holds the collector's private key and caches the key of the
 * last epoch it derived (records of one epoch come together).  Wiped by
 * seal_opener_wipe.
 */
struct seal_opener {
	unsigned char priv[SEAL_KEY_LEN];
	unsigned char pub[SEAL_KEY_LEN];
	unsigned char cached_epoch_pub[SEAL_KEY_LEN];
	char cached_device[SEAL_AD_FIELD_MAX + 1];
	unsigned char cached_key[SEAL_KEY_LEN];
	int cached;
};

/* Reads "x25519-private:BASE64" from path (refused when group or others
   can read it).  0 or -1 with a message in err. */
int seal_opener_load(struct seal_opener *op, const char *path, char *err,
    size_t errlen);
void seal_opener_wipe(struct seal_opener *op);

/* Writes a private key file (mode 0600). */
int seal_key_write(const char *path, const unsigned char priv[SEAL_KEY_LEN]);

/*
 * Opens sealed (len bytes: nonce || ciphertext || tag) made under the
 * epoch whose public key is epoch_pub, into pt (len - SEAL_OVERHEAD
 * bytes).  0, or -1 when the tag or any associated datum does not match.
 */
int seal_open(struct seal_opener *op,
    const unsigned char epoch_pub[SEAL_KEY_LEN], const struct seal_ad *ad,
    const unsigned char *sealed, size_t len, unsigned char *pt);

#endif
