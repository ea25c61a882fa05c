/* rng.c: see rng.h. */
#include "common/rng.h"
#include "common/util.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <pthread.h>
#include <stdio.h>

/*
 * fieldd draws on two threads: its loop (record ids, tokens, TLS) and its
 * writer (a sealing epoch's key, daemon/commit.c).  Two draws that read
 * the generator's counter before either moves it would give both the same
 * bytes, an epoch's private key equal to a public record id.  Debian's
 * mbedtls locks inside ctr_drbg; an mbedtls built without
 * MBEDTLS_THREADING_C does not, so the lock is ours, and so is the seeding,
 * which the first draw of either thread may do.
 */
static pthread_mutex_t rng_mu = PTHREAD_MUTEX_INITIALIZER;
static mbedtls_entropy_context rng_entropy;
static mbedtls_ctr_drbg_context rng_drbg;
static int rng_ready;		/* under rng_mu */

/* Called with rng_mu held. */
static int
rng_init(void)
{
	static const unsigned char pers[] = "field-rng";

	if (rng_ready)
		return 0;
	mbedtls_entropy_init(&rng_entropy);
	mbedtls_ctr_drbg_init(&rng_drbg);
	if (mbedtls_ctr_drbg_seed(&rng_drbg, mbedtls_entropy_func, &rng_entropy,
	    pers, sizeof(pers) - 1) != 0) {
		/* free both, so a later draw seeds them afresh */
		mbedtls_ctr_drbg_free(&rng_drbg);
		mbedtls_entropy_free(&rng_entropy);
		return -1;
	}
	rng_ready = 1;
	return 0;
}

int
rng_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;
	int rc = 0;

	pthread_mutex_lock(&rng_mu);
	if (rng_init() != 0)
		rc = -1;
	while (rc == 0 && len > 0) {
		size_t n = len > MBEDTLS_CTR_DRBG_MAX_REQUEST ?
		    MBEDTLS_CTR_DRBG_MAX_REQUEST : len;
		if (mbedtls_ctr_drbg_random(&rng_drbg, p, n) != 0)
			rc = -1;
		p += n;
		len -= n;
	}
	pthread_mutex_unlock(&rng_mu);
	return rc;
}

int
rng_mbedtls(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return rng_bytes(buf, len) == 0 ? 0 : -1;
}

void *
rng_ctx(void)
{
	return NULL;
}

int
rng_uuid(char out[37])
{
	unsigned char b[16];

	if (rng_bytes(b, sizeof(b)) != 0)
		return -1;
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	/* not snprintf: its 16 conversions were 3% of a submit */
	util_uuid_unpack(b, out);
	return 0;
}
