/* rng.c: see rng.h. */
#include "common/rng.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <stdio.h>

static mbedtls_entropy_context rng_entropy;
static mbedtls_ctr_drbg_context rng_drbg;
static int rng_ready;

static int
rng_init(void)
{
	static const unsigned char pers[] = "field-rng";

	if (rng_ready)
		return 0;
	mbedtls_entropy_init(&rng_entropy);
	mbedtls_ctr_drbg_init(&rng_drbg);
	if (mbedtls_ctr_drbg_seed(&rng_drbg, mbedtls_entropy_func, &rng_entropy,
	    pers, sizeof(pers) - 1) != 0)
		return -1;
	rng_ready = 1;
	return 0;
}

int
rng_bytes(void *buf, size_t len)
{
	unsigned char *p = buf;

	if (rng_init() != 0)
		return -1;
	while (len > 0) {
		size_t n = len > MBEDTLS_CTR_DRBG_MAX_REQUEST ?
		    MBEDTLS_CTR_DRBG_MAX_REQUEST : len;
		if (mbedtls_ctr_drbg_random(&rng_drbg, p, n) != 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
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
	snprintf(out, 37,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}
