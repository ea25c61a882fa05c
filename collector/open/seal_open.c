/* seal_open.c: see seal_open.h.  Linked into the collector's tools only. */
#include "collector/open/seal_open.h"

#include <errno.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"

static const unsigned char seal_open_base[SEAL_KEY_LEN] = { 9 };

int
seal_key_write(const char *path, const unsigned char priv[SEAL_KEY_LEN])
{
	char b64[64], line[128];
	int rc;

	if (util_b64_encode(priv, SEAL_KEY_LEN, b64, sizeof(b64)) < 0)
		return -1;
	snprintf(line, sizeof(line), "x25519-private:%s\n", b64);
	rc = util_write_file(path, line, strlen(line), 0600);
	mbedtls_platform_zeroize(b64, sizeof(b64));
	mbedtls_platform_zeroize(line, sizeof(line));
	return rc;
}

int
seal_opener_load(struct seal_opener *op, const char *path, char *err,
    size_t errlen)
{
	static const char tag[] = "x25519-private:";
	struct stat st;
	char *text;
	size_t len, n;
	int rc = -1;

	memset(op, 0, sizeof(*op));
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: private key readable by others "
		    "(mode %03o); chmod 600 it", path, st.st_mode & 0777);
		return -1;
	}
	if ((text = util_read_file(path, 4096, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = strcspn(text, "\r\n");
	text[n] = '\0';
	if (strncmp(text, tag, sizeof(tag) - 1) != 0 ||
	    util_b64_decode(text + sizeof(tag) - 1, op->priv,
	    SEAL_KEY_LEN) != 0 ||
	    seal_x25519(op->priv, seal_open_base, op->pub) != 0)
		snprintf(err, errlen, "%s: not a collector private key "
		    "(expected one line \"x25519-private:BASE64\")", path);
	else
		rc = 0;
	mbedtls_platform_zeroize(text, len);
	free(text);
	if (rc != 0)
		seal_opener_wipe(op);
	return rc;
}

void
seal_opener_wipe(struct seal_opener *op)
{
	mbedtls_platform_zeroize(op, sizeof(*op));
}

static int
seal_open_key(struct seal_opener *op,
    const unsigned char epoch_pub[SEAL_KEY_LEN], const char *device_id)
{
	unsigned char z[SEAL_KEY_LEN];
	int rc;

	if (op->cached && memcmp(op->cached_epoch_pub, epoch_pub,
	    SEAL_KEY_LEN) == 0 && strcmp(op->cached_device, device_id) == 0)
		return 0;
	op->cached = 0;
	if (strlen(device_id) > SEAL_AD_FIELD_MAX)
		return -1;
	rc = seal_x25519(op->priv, epoch_pub, z);
	if (rc == 0)
		rc = seal_derive(z, epoch_pub, op->pub, device_id,
		    op->cached_key);
	mbedtls_platform_zeroize(z, sizeof(z));
	if (rc != 0)
		return -1;
	memcpy(op->cached_epoch_pub, epoch_pub, SEAL_KEY_LEN);
	strcpy(op->cached_device, device_id);
	op->cached = 1;
	return 0;
}

int
seal_open(struct seal_opener *op, const unsigned char epoch_pub[SEAL_KEY_LEN],
    const struct seal_ad *ad, const unsigned char *sealed, size_t len,
    unsigned char *pt)
{
	unsigned char aad[SEAL_AD_MAX];
	mbedtls_chachapoly_context ctx;
	size_t ctlen;
	int alen, rc;

	if (len < SEAL_OVERHEAD || (alen = seal_ad_encode(ad, aad)) < 0)
		return -1;
	if (seal_open_key(op, epoch_pub, ad->device_id) != 0)
		return -1;
	ctlen = len - SEAL_OVERHEAD;
	mbedtls_chachapoly_init(&ctx);
	rc = mbedtls_chachapoly_setkey(&ctx, op->cached_key);
	if (rc == 0)
		rc = mbedtls_chachapoly_auth_decrypt(&ctx, ctlen, sealed, aad,
		    (size_t)alen, sealed + SEAL_NONCE_LEN + ctlen,
		    sealed + SEAL_NONCE_LEN, pt);
	mbedtls_chachapoly_free(&ctx);
	if (rc != 0) {
		mbedtls_platform_zeroize(pt, ctlen);
		return -1;
	}
	return 0;
}
