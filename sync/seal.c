/* seal.c: see seal.h.  Nothing here can open a sealed record. */
#include "sync/seal.h"

#include <errno.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "common/util.h"

/* The X25519 base point, u = 9. */
static const unsigned char seal_base[SEAL_KEY_LEN] = { 9 };

int
seal_x25519(const unsigned char scalar[SEAL_KEY_LEN],
    const unsigned char point[SEAL_KEY_LEN], unsigned char out[SEAL_KEY_LEN])
{
	unsigned char s[SEAL_KEY_LEN], acc = 0;
	mbedtls_ecp_group grp;
	mbedtls_mpi d, z;
	mbedtls_ecp_point p;
	int rc = -1;

	mbedtls_ecp_group_init(&grp);
	mbedtls_mpi_init(&d);
	mbedtls_mpi_init(&z);
	mbedtls_ecp_point_init(&p);
	/* RFC 7748 decoding of the scalar: clamp a copy. */
	memcpy(s, scalar, SEAL_KEY_LEN);
	s[0] &= 248;
	s[31] &= 127;
	s[31] |= 64;
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_CURVE25519) != 0 ||
	    mbedtls_mpi_read_binary_le(&d, s, SEAL_KEY_LEN) != 0 ||
	    mbedtls_ecp_point_read_binary(&grp, &p, point, SEAL_KEY_LEN) != 0 ||
	    mbedtls_ecdh_compute_shared(&grp, &z, &p, &d, rng_mbedtls,
	    NULL) != 0 ||
	    mbedtls_mpi_write_binary_le(&z, out, SEAL_KEY_LEN) != 0)
		goto out;
	for (int i = 0; i < SEAL_KEY_LEN; i++)
		acc |= out[i];
	if (acc == 0)		/* a low-order point: no shared secret */
		goto out;
	rc = 0;
out:
	if (rc != 0)
		mbedtls_platform_zeroize(out, SEAL_KEY_LEN);
	mbedtls_platform_zeroize(s, sizeof(s));
	mbedtls_mpi_free(&d);	/* mbedtls zeroizes the limbs it frees */
	mbedtls_mpi_free(&z);
	mbedtls_ecp_point_free(&p);
	mbedtls_ecp_group_free(&grp);
	return rc;
}

int
seal_keypair(unsigned char pub[SEAL_KEY_LEN], unsigned char priv[SEAL_KEY_LEN])
{
	if (rng_bytes(priv, SEAL_KEY_LEN) != 0)
		return -1;
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	if (seal_x25519(priv, seal_base, pub) != 0) {
		mbedtls_platform_zeroize(priv, SEAL_KEY_LEN);
		return -1;
	}
	return 0;
}

int
seal_derive(const unsigned char z[SEAL_KEY_LEN],
    const unsigned char epoch_pub[SEAL_KEY_LEN],
    const unsigned char collector_pub[SEAL_KEY_LEN], const char *device_id,
    unsigned char key[SEAL_KEY_LEN])
{
	unsigned char salt[2 * SEAL_KEY_LEN];
	unsigned char info[sizeof(SEAL_INFO) + SEAL_AD_FIELD_MAX];
	size_t dlen = strlen(device_id);

	if (dlen > SEAL_AD_FIELD_MAX)
		return -1;
	memcpy(salt, epoch_pub, SEAL_KEY_LEN);
	memcpy(salt + SEAL_KEY_LEN, collector_pub, SEAL_KEY_LEN);
	memcpy(info, SEAL_INFO, sizeof(SEAL_INFO));	/* with its NUL */
	memcpy(info + sizeof(SEAL_INFO), device_id, dlen);
	return mbedtls_hkdf(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
	    salt, sizeof(salt), z, SEAL_KEY_LEN, info,
	    sizeof(SEAL_INFO) + dlen, key, SEAL_KEY_LEN) == 0 ? 0 : -1;
}

int
seal_epoch_start(struct seal_epoch *ep,
    const unsigned char collector_pub[SEAL_KEY_LEN], const char *device_id)
{
	unsigned char e[SEAL_KEY_LEN], z[SEAL_KEY_LEN];
	int rc = -1;

	memset(ep, 0, sizeof(*ep));
	if (seal_keypair(ep->pub, e) != 0)
		return -1;
	if (seal_x25519(e, collector_pub, z) == 0 &&
	    seal_derive(z, ep->pub, collector_pub, device_id, ep->key) == 0)
		rc = 0;
	/* The scalar and the shared secret never outlive this call. */
	mbedtls_platform_zeroize(e, sizeof(e));
	mbedtls_platform_zeroize(z, sizeof(z));
	ep->started_ms = util_now_ms();
	if (rc != 0)
		seal_epoch_wipe(ep);
	return rc;
}

void
seal_epoch_wipe(struct seal_epoch *ep)
{
	mbedtls_platform_zeroize(ep->key, sizeof(ep->key));
	ep->used = UINT64_MAX;	/* a wiped epoch seals nothing */
}

static unsigned char *
seal_put_str(unsigned char *p, const char *s)
{
	size_t n = strlen(s);

	*p++ = (unsigned char)n;
	memcpy(p, s, n);
	return p + n;
}

int
seal_ad_encode(const struct seal_ad *ad, unsigned char *buf)
{
	const char *f[4] = { ad->record_id, ad->form_id, ad->form_version,
	    ad->device_id };
	unsigned char *p = buf;

	for (int i = 0; i < 4; i++)
		if (f[i] == NULL || strlen(f[i]) > SEAL_AD_FIELD_MAX)
			return -1;
	memcpy(p, SEAL_INFO, sizeof(SEAL_INFO));
	p += sizeof(SEAL_INFO);
	for (int i = 0; i < 4; i++)
		p = seal_put_str(p, f[i]);
	for (int i = 7; i >= 0; i--)
		*p++ = (unsigned char)(ad->epoch_id >> (8 * i));
	return (int)(p - buf);
}

int
seal_record(struct seal_epoch *ep, const struct seal_ad *ad,
    const unsigned char *pt, size_t len, unsigned char *out)
{
	unsigned char aad[SEAL_AD_MAX];
	mbedtls_chachapoly_context ctx;
	int alen, rc;

	if (ep->used == UINT64_MAX || ad->epoch_id != ep->id)
		return -1;
	if ((alen = seal_ad_encode(ad, aad)) < 0)
		return -1;
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (unsigned char)(ep->used >> (8 * (7 - i)));
	mbedtls_chachapoly_init(&ctx);
	rc = mbedtls_chachapoly_setkey(&ctx, ep->key);
	if (rc == 0)
		rc = mbedtls_chachapoly_encrypt_and_tag(&ctx, len, out, aad,
		    (size_t)alen, pt, out + SEAL_NONCE_LEN,
		    out + SEAL_NONCE_LEN + len);
	mbedtls_chachapoly_free(&ctx);	/* zeroizes the key schedule */
	if (rc != 0)
		return -1;
	ep->used++;
	return 0;
}

int
seal_pub_format(const unsigned char pub[SEAL_KEY_LEN], char *out,
    size_t outlen)
{
	char b64[64];

	if (util_b64_encode(pub, SEAL_KEY_LEN, b64, sizeof(b64)) < 0)
		return -1;
	return snprintf(out, outlen, "x25519-public:%s\n", b64) <
	    (int)outlen ? 0 : -1;
}

int
seal_pub_parse(const char *text, unsigned char pub[SEAL_KEY_LEN])
{
	static const char tag[] = "x25519-public:";
	char b64[64];
	size_t n;

	if (strncmp(text, tag, sizeof(tag) - 1) != 0)
		return -1;
	text += sizeof(tag) - 1;
	n = strcspn(text, "\r\n");
	if (n >= sizeof(b64) || text[n + strspn(text + n, "\r\n")] != '\0')
		return -1;
	memcpy(b64, text, n);
	b64[n] = '\0';
	return util_b64_decode(b64, pub, SEAL_KEY_LEN);
}

int
seal_pub_write(const char *path, const unsigned char pub[SEAL_KEY_LEN])
{
	char line[128];

	if (seal_pub_format(pub, line, sizeof(line)) != 0)
		return -1;
	return util_write_file(path, line, strlen(line), 0644);
}

int
seal_pub_read(const char *path, unsigned char pub[SEAL_KEY_LEN], char *err,
    size_t errlen)
{
	char *text;

	if ((text = util_read_file(path, 4096, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (seal_pub_parse(text, pub) != 0) {
		snprintf(err, errlen, "%s: not a collector public key "
		    "(expected one line \"x25519-public:BASE64\")", path);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}
