/*
 * seal.h: sealing records to the collector's public key.
 *
 * Scheme (docs/security.md):
 *   epoch:  e = fresh X25519 scalar, E = e*G;  z = X25519(e, C)  where C is
 *           the collector's public key.  e is wiped at once.
 *           k = HKDF-SHA256(salt = E || C, ikm = z, info = SEAL_INFO ||
 *           device id), 32 bytes; z is wiped at once.  k lives in memory
 *           only and is wiped when the epoch ends.
 *   record: nonce = 4 zero bytes || 64-bit big-endian counter of records
 *           sealed in the epoch (k is never re-derived, so a counter never
 *           repeats under one key); ChaCha20-Poly1305 over the serialized
 *           field.Record with associated data binding record id, form id,
 *           form version, device id and epoch id (seal_ad_encode).
 *   output: nonce (12) || ciphertext || tag (16).
 *
 * Only E (the epoch's public key) and the sealed bytes are stored.  The
 * device links this file alone; opening (seal_open.h) needs the collector's
 * private key and is linked into the collector's tools only.
 */
#ifndef SEAL_H
#define SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN 32
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_OVERHEAD (SEAL_NONCE_LEN + SEAL_TAG_LEN)
#define SEAL_AD_FIELD_MAX 255	/* longest id/form/version/device string */
#define SEAL_INFO "field-seal-v1"

struct seal_epoch {
	uint64_t id;			/* epoch number (the store's) */
	unsigned char pub[SEAL_KEY_LEN];	/* E, stored in plaintext */
	unsigned char key[SEAL_KEY_LEN];	/* k, memory only */
	uint64_t used;			/* records sealed so far */
	int64_t started_ms;
};

/* What the associated data binds.  All strings NUL-terminated, each at
   most SEAL_AD_FIELD_MAX bytes. */
struct seal_ad {
	const char *record_id;
	const char *form_id;
	const char *form_version;
	const char *device_id;
	uint64_t epoch_id;
};

/*
 * Starts an epoch for device_id towards collector_pub.  Sets ep->pub and
 * ep->key; ep->id is the caller's to set before sealing.  0 or -1 (a bad
 * collector key, or no entropy).
 */
int seal_epoch_start(struct seal_epoch *ep,
    const unsigned char collector_pub[SEAL_KEY_LEN], const char *device_id);

/* Wipes the epoch's key (mbedtls_platform_zeroize). */
void seal_epoch_wipe(struct seal_epoch *ep);

/*
 * Seals len bytes of pt into out (len + SEAL_OVERHEAD bytes).  0 or -1
 * (an associated-data field too long, or the epoch's counter exhausted).
 */
int seal_record(struct seal_epoch *ep, const struct seal_ad *ad,
    const unsigned char *pt, size_t len, unsigned char *out);

/*
 * Encodes the associated data into buf (at most SEAL_AD_MAX bytes):
 * SEAL_INFO NUL, then each string as 1 length byte and its bytes, then the
 * epoch id as 8 bytes big-endian.  Returns its length or -1.
 */
#define SEAL_AD_MAX (sizeof(SEAL_INFO) + 4 * (1 + SEAL_AD_FIELD_MAX) + 8)
int seal_ad_encode(const struct seal_ad *ad, unsigned char *buf);

/* HKDF step shared by sealing and opening: k from z, E, C and device id. */
int seal_derive(const unsigned char z[SEAL_KEY_LEN],
    const unsigned char epoch_pub[SEAL_KEY_LEN],
    const unsigned char collector_pub[SEAL_KEY_LEN], const char *device_id,
    unsigned char key[SEAL_KEY_LEN]);

/* X25519: out = scalar * point (both little-endian, RFC 7748).  Refuses an
   all-zero result (a low-order point).  0 or -1. */
int seal_x25519(const unsigned char scalar[SEAL_KEY_LEN],
    const unsigned char point[SEAL_KEY_LEN], unsigned char out[SEAL_KEY_LEN]);

/* A fresh key pair: priv (clamped scalar) and pub.  0 or -1. */
int seal_keypair(unsigned char pub[SEAL_KEY_LEN],
    unsigned char priv[SEAL_KEY_LEN]);

/*
 * Key files: one line "x25519-public:BASE64" (seal.pub) or
 * "x25519-private:BASE64" (seal.key, mode 0600).  Reading fails with a
 * message in err naming the file and what is wrong.
 */
int seal_pub_write(const char *path, const unsigned char pub[SEAL_KEY_LEN]);
int seal_pub_read(const char *path, unsigned char pub[SEAL_KEY_LEN],
    char *err, size_t errlen);
int seal_pub_parse(const char *text, unsigned char pub[SEAL_KEY_LEN]);
int seal_pub_format(const unsigned char pub[SEAL_KEY_LEN], char *out,
    size_t outlen);

#endif
