/*
 * collector_admin.c: making a collector and its enrolment tokens (see
 * collector.h).  Linked into collectctl only: it writes the private
 * sealing key, which collectord never needs.
 */
#include "collector/collector.h"

#include <errno.h>
#include <inttypes.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/rng.h"
#include "common/util.h"
#include "collector/cstore.h"
#include "collector/csrv.h"
#include "sync/pki.h"
#include "sync/seal.h"
#include "collector/open/seal_open.h"

/* Writes the CA and the server certificate with fresh keys. */
static int
collector_pki(const char *dir, const char *host, char *err, size_t errlen)
{
	mbedtls_pk_context ca_key, srv_key;
	mbedtls_x509_crt ca;
	unsigned char *der = NULL;
	size_t len;
	char path[4096];
	int rc = -1;

	mbedtls_pk_init(&ca_key);
	mbedtls_pk_init(&srv_key);
	mbedtls_x509_crt_init(&ca);
	if (pki_key_generate(&ca_key, err, errlen) != 0 ||
	    pki_ca_create(&ca_key, "field collector CA", 10, &der, &len, err,
	    errlen) != 0 ||
	    collector_path(path, sizeof(path), dir, "ca.key") != 0 ||
	    pki_key_write(&ca_key, path, err, errlen) != 0 ||
	    collector_path(path, sizeof(path), dir, "ca.crt") != 0 ||
	    pki_cert_write(path, der, len, err, errlen) != 0 ||
	    pki_cert_parse(&ca, der, len, err, errlen) != 0)
		goto out;
	free(der);
	der = NULL;
	if (pki_key_generate(&srv_key, err, errlen) != 0 ||
	    pki_server_cert_create(&ca, &ca_key, &srv_key, host, 825, &der,
	    &len, err, errlen) != 0 ||
	    collector_path(path, sizeof(path), dir, "server.key") != 0 ||
	    pki_key_write(&srv_key, path, err, errlen) != 0 ||
	    collector_path(path, sizeof(path), dir, "server.crt") != 0 ||
	    pki_cert_write(path, der, len, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	free(der);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&ca_key);
	mbedtls_pk_free(&srv_key);
	return rc;
}

int
collector_init(const char *dir, const char *host, const char *store,
    char *err, size_t errlen)
{
	unsigned char pub[SEAL_KEY_LEN], priv[SEAL_KEY_LEN];
	char path[4096];
	struct cstore *cs;
	struct stat sb;
	int rc;

	if (!pki_name_ok(host, 0)) {
		snprintf(err, errlen, "host name \"%.64s\" is not usable in a "
		    "certificate", host);
		return -1;
	}
	if (collector_path(path, sizeof(path), dir, "ca.key") != 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (stat(path, &sb) == 0) {
		snprintf(err, errlen, "%s already holds a collector; refusing "
		    "to overwrite its keys", dir);
		return -1;
	}
	/* A sealing key pair alone (collectctl keygen): records may be
	   sealed to it, and a new one would leave them unopenable. */
	if (collector_path(path, sizeof(path), dir, "seal.key") == 0 &&
	    stat(path, &sb) == 0) {
		snprintf(err, errlen, "%s already holds a sealing key; refusing "
		    "to overwrite it", dir);
		return -1;
	}
	if (util_mkdirs(dir, 0700) != 0 || chmod(dir, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (seal_keypair(pub, priv) != 0) {
		snprintf(err, errlen, "no entropy for the sealing key");
		return -1;
	}
	collector_path(path, sizeof(path), dir, "seal.key");
	rc = seal_key_write(path, priv);
	mbedtls_platform_zeroize(priv, sizeof(priv));
	if (rc == 0) {
		collector_path(path, sizeof(path), dir, "seal.pub");
		rc = seal_pub_write(path, pub);
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (collector_pki(dir, host, err, errlen) != 0)
		return -1;
	/* A collector named for the world listens to it; one for this
	   machine only, on loopback. */
	if (csrv_config_write(dir, strcmp(host, "127.0.0.1") == 0 ||
	    strcmp(host, "localhost") == 0 ? "127.0.0.1:7443" :
	    "0.0.0.0:7443", store, err, errlen) != 0 ||
	    csrv_store_open(dir, &cs, err, errlen) != 0)
		return -1;
	cstore_close(cs);
	return 0;
}

int
collector_enroll_token(const char *dir, const char *device_id, int hours,
    char token[COLLECTOR_TOKEN_MAX], char *err, size_t errlen)
{
	unsigned char secret[TOKEN_SECRET_LEN], hash[32], pin[32];
	char b64[48], hex[65], path[4096];
	mbedtls_x509_crt ca;
	struct cstore *cs;
	int rc = -1;

	if (device_id && !pki_name_ok(device_id, 0)) {
		snprintf(err, errlen, "device id \"%.64s\": letters, digits and "
		    "._-:@ only", device_id);
		return -1;
	}
	mbedtls_x509_crt_init(&ca);
	collector_path(path, sizeof(path), dir, "ca.crt");
	if (pki_cert_read(&ca, path, err, errlen) != 0)
		goto out;
	pki_fingerprint(ca.raw.p, ca.raw.len, pin);
	if (rng_bytes(secret, sizeof(secret)) != 0) {
		snprintf(err, errlen, "no entropy for a token");
		goto out;
	}
	util_b64url(secret, sizeof(secret), b64);
	mbedtls_sha256_ret((const unsigned char *)b64, strlen(b64), hash, 0);
	util_hex(pin, sizeof(pin), hex);
	if (csrv_store_open(dir, &cs, err, errlen) != 0)
		goto out;
	if (cstore_token_add(cs, hash, device_id, util_now_ms() +
	    (int64_t)hours * 3600000) != 0)
		snprintf(err, errlen, "storing the token: %s",
		    cstore_errmsg(cs));
	else {
		snprintf(token, COLLECTOR_TOKEN_MAX, TOKEN_PREFIX "%s.%s", b64,
		    hex);
		rc = 0;
	}
	cstore_close(cs);
out:
	mbedtls_platform_zeroize(secret, sizeof(secret));
	mbedtls_platform_zeroize(b64, sizeof(b64));
	mbedtls_x509_crt_free(&ca);
	return rc;
}

int
collector_sign_csr(const char *dir, const unsigned char *csr,
    size_t csr_len, int days, int64_t not_before, unsigned char **der,
    size_t *der_len, char device_id[65], char *err, size_t errlen)
{
	struct pki_sign_opts opts = { 0, days, not_before };
	mbedtls_pk_context ca_key;
	mbedtls_x509_crt ca, crt;
	struct cstore *cs = NULL;
	char path[4096], serial[32];
	uint64_t ser;
	int rc = -1;

	*der = NULL;
	mbedtls_pk_init(&ca_key);
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&crt);
	if (collector_path(path, sizeof(path), dir, "ca.crt") != 0 ||
	    pki_cert_read(&ca, path, err, errlen) != 0 ||
	    collector_path(path, sizeof(path), dir, "ca.key") != 0 ||
	    pki_key_read(&ca_key, path, err, errlen) != 0 ||
	    csrv_store_open(dir, &cs, err, errlen) != 0)
		goto out;
	if (pki_csr_sign(&ca, &ca_key, csr, csr_len, &opts, der, der_len,
	    &ser, err, errlen) != 0 ||
	    pki_cert_parse(&crt, *der, *der_len, err, errlen) != 0 ||
	    pki_cert_cn(&crt, device_id, 65) != 0) {
		if (*der && !err[0])
			snprintf(err, errlen, "the request names no device");
		goto out;
	}
	snprintf(serial, sizeof(serial), "%" PRIu64, ser);
	if (cstore_device_enroll(cs, device_id, serial, util_now_ms()) != 0) {
		snprintf(err, errlen, "enrolling %s: %s", device_id,
		    cstore_errmsg(cs));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		free(*der);
		*der = NULL;
	}
	cstore_close(cs);
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&ca_key);
	return rc;
}
