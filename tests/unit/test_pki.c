/* test_pki.c: keys round trip through 0600 files; the CA, server and
   device certificates carry what the collector and devices rely on; bad
   CSRs, foreign CAs and expired certificates are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_csr.h>

#include "common/rng.h"
#include "sync/pki.h"

struct fx {
	char dir[64];
	mbedtls_pk_context ca_key, key;
	unsigned char *ca_der;
	size_t ca_len;
	mbedtls_x509_crt ca;
};

static void
path_in(const struct fx *f, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", f->dir, name);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_pki.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	if (pki_key_generate(&f->ca_key, err, sizeof(err)) != 0 ||
	    pki_key_generate(&f->key, err, sizeof(err)) != 0 ||
	    pki_ca_create(&f->ca_key, "Field Collector CA", 10, &f->ca_der,
	    &f->ca_len, err, sizeof(err)) != 0 ||
	    pki_cert_parse(&f->ca, f->ca_der, f->ca_len, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	static const char *names[] = { "k.pem", "k.pem.tmp", "ca.crt",
	    "open.pem", NULL };
	char p[128];
	int i;

	for (i = 0; names[i] != NULL; i++) {
		path_in(f, names[i], p, sizeof(p));
		unlink(p);
	}
	rmdir(f->dir);
	mbedtls_pk_free(&f->ca_key);
	mbedtls_pk_free(&f->key);
	mbedtls_x509_crt_free(&f->ca);
	free(f->ca_der);
	free(f);
	return 0;
}

/* A device CSR for key and id, signed into a certificate by the CA. */
static int
sign_device(struct fx *f, const char *id, const struct pki_sign_opts *o,
    mbedtls_x509_crt *crt, uint64_t *serial, char *err, size_t errlen)
{
	unsigned char *csr, *der;
	size_t csr_len, len;
	int rc;

	if (pki_csr_create(&f->key, id, &csr, &csr_len, err, errlen) != 0)
		return -1;
	rc = pki_csr_sign(&f->ca, &f->ca_key, csr, csr_len, o, &der, &len,
	    serial, err, errlen);
	free(csr);
	if (rc != 0)
		return -1;
	rc = pki_cert_parse(crt, der, len, err, errlen);
	free(der);
	return rc;
}

static void
test_key_file_round_trip(void **state)
{
	struct fx *f = *state;
	mbedtls_pk_context back;
	struct stat st;
	char p[128], err[256];

	path_in(f, "k.pem", p, sizeof(p));
	assert_int_equal(pki_key_write(&f->key, p, err, sizeof(err)), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(pki_key_read(&back, p, err, sizeof(err)), 0);
	/* The key read back is the private half of the key written. */
	assert_int_equal(mbedtls_pk_check_pair(&f->key, &back), 0);
	assert_int_not_equal(mbedtls_pk_check_pair(&f->ca_key, &back), 0);
	mbedtls_pk_free(&back);

	/* Readable by others: refused, naming the file. */
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(pki_key_read(&back, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, "readable"));
	mbedtls_pk_free(&back);
}

static void
test_key_read_errors(void **state)
{
	struct fx *f = *state;
	mbedtls_pk_context k;
	char p[128], err[256];

	path_in(f, "missing.pem", p, sizeof(p));
	assert_int_equal(pki_key_read(&k, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing.pem"));

	/* A certificate is not a key. */
	path_in(f, "open.pem", p, sizeof(p));
	assert_int_equal(pki_cert_write(p, f->ca_der, f->ca_len, err,
	    sizeof(err)), 0);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(pki_key_read(&k, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a private key"));
	mbedtls_pk_free(&k);
}

static void
test_ca_certificate(void **state)
{
	struct fx *f = *state;
	char cn[PKI_CN_MAX + 1], err[256];
	unsigned char *der;
	size_t len;

	assert_int_equal(f->ca.ca_istrue, 1);
	assert_int_equal(f->ca.version, 3);
	assert_true(f->ca.key_usage & MBEDTLS_X509_KU_KEY_CERT_SIGN);
	assert_int_equal(pki_cert_cn(&f->ca, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "Field Collector CA");
	assert_int_equal(pki_cert_verify(&f->ca, &f->ca, err, sizeof(err)), 0);
	assert_true(f->ca.valid_to.year >= f->ca.valid_from.year + 10);

	assert_int_equal(pki_ca_create(&f->ca_key, "bad,O=x", 1, &der, &len,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CA name"));
	assert_int_equal(pki_ca_create(&f->ca_key, "ok", 0, &der, &len,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "validity"));
}

static void
test_server_certificate(void **state)
{
	struct fx *f = *state;
	mbedtls_pk_context skey;
	mbedtls_x509_crt crt;
	char cn[PKI_CN_MAX + 1], err[256];
	unsigned char *der;
	size_t len;

	assert_int_equal(pki_key_generate(&skey, err, sizeof(err)), 0);
	assert_int_equal(pki_server_cert_create(&f->ca, &f->ca_key, &skey,
	    "collector.example.org", 365, &der, &len, err, sizeof(err)), 0);
	assert_int_equal(pki_cert_parse(&crt, der, len, err, sizeof(err)), 0);
	assert_int_equal(pki_cert_verify(&crt, &f->ca, err, sizeof(err)), 0);
	assert_int_equal(pki_cert_cn(&crt, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "collector.example.org");
	assert_int_equal(crt.ca_istrue, 0);
	assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(&crt,
	    MBEDTLS_OID_SERVER_AUTH,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)), 0);
	assert_int_not_equal(mbedtls_x509_crt_check_extended_key_usage(&crt,
	    MBEDTLS_OID_CLIENT_AUTH,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)), 0);
	assert_non_null(crt.subject_alt_names.buf.p);
	assert_int_equal(crt.subject_alt_names.buf.len, 21);
	assert_memory_equal(crt.subject_alt_names.buf.p,
	    "collector.example.org", 21);
	mbedtls_x509_crt_free(&crt);
	free(der);

	/* The wrong CA key is caught before anything is signed. */
	assert_int_equal(pki_server_cert_create(&f->ca, &skey, &skey,
	    "collector", 365, &der, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CA key"));
	mbedtls_pk_free(&skey);
}

static void
test_csr_signed_into_device_cert(void **state)
{
	struct fx *f = *state;
	struct pki_sign_opts o = { 0x7123456789abcdefULL, 30, 0 };
	mbedtls_x509_crt crt;
	char cn[PKI_CN_MAX + 1], err[256];
	uint64_t serial = 0, got = 0;

	assert_int_equal(sign_device(f, "dev-0042", &o, &crt, &serial, err,
	    sizeof(err)), 0);
	assert_int_equal(pki_cert_verify(&crt, &f->ca, err, sizeof(err)), 0);
	assert_int_equal(pki_cert_cn(&crt, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "dev-0042");
	assert_int_equal(pki_cert_serial(&crt, &got), 0);
	assert_true(got == 0x7123456789abcdefULL);
	assert_true(serial == got);
	assert_int_equal(crt.ca_istrue, 0);
	assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(&crt,
	    MBEDTLS_OID_CLIENT_AUTH,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)), 0);
	assert_int_not_equal(mbedtls_x509_crt_check_extended_key_usage(&crt,
	    MBEDTLS_OID_SERVER_AUTH,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)), 0);
	/* The device's public key is the one in the certificate. */
	assert_int_equal(mbedtls_pk_check_pair(&crt.pk, &f->key), 0);
	mbedtls_x509_crt_free(&crt);

	/* A random serial is reported and is what the certificate holds. */
	o.serial = 0;
	assert_int_equal(sign_device(f, "dev-0043", &o, &crt, &serial, err,
	    sizeof(err)), 0);
	assert_int_equal(pki_cert_serial(&crt, &got), 0);
	assert_true(serial == got && got != 0 && got <= PKI_SERIAL_MAX);
	mbedtls_x509_crt_free(&crt);
}

static void
test_expired_and_foreign(void **state)
{
	struct fx *f = *state;
	struct pki_sign_opts o = { 7, 1, 0 };
	mbedtls_pk_context other_key;
	mbedtls_x509_crt crt, other;
	unsigned char *der;
	size_t len;
	char err[256];

	o.not_before = (int64_t)time(NULL) - 10 * 86400;
	assert_int_equal(sign_device(f, "dev-old", &o, &crt, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(pki_cert_verify(&crt, &f->ca, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expired"));

	assert_int_equal(pki_key_generate(&other_key, err, sizeof(err)), 0);
	assert_int_equal(pki_ca_create(&other_key, "Other CA", 1, &der, &len,
	    err, sizeof(err)), 0);
	assert_int_equal(pki_cert_parse(&other, der, len, err, sizeof(err)),
	    0);
	assert_int_equal(pki_cert_verify(&crt, &other, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not correctly signed"));
	mbedtls_x509_crt_free(&crt);
	mbedtls_x509_crt_free(&other);
	mbedtls_pk_free(&other_key);
	free(der);
}

/* A CSR made with mbedtls directly, for subjects pki refuses to make. */
static size_t
raw_csr(mbedtls_pk_context *key, const char *subject, unsigned char *out,
    size_t outlen)
{
	mbedtls_x509write_csr w;
	unsigned char buf[2048];
	int n;

	mbedtls_x509write_csr_init(&w);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&w, key);
	assert_int_equal(mbedtls_x509write_csr_set_subject_name(&w, subject),
	    0);
	n = mbedtls_x509write_csr_der(&w, buf, sizeof(buf), rng_mbedtls,
	    NULL);
	mbedtls_x509write_csr_free(&w);
	assert_true(n > 0 && (size_t)n <= outlen);
	memcpy(out, buf + sizeof(buf) - n, (size_t)n);
	return (size_t)n;
}

static void
test_bad_csrs_refused(void **state)
{
	struct fx *f = *state;
	struct pki_sign_opts o = { 9, 30, 0 };
	unsigned char csr[2048], *der = NULL, *good;
	size_t n, len;
	char err[256];

	/* Signature broken: the requester does not hold the key. */
	assert_int_equal(pki_csr_create(&f->key, "dev-1", &good, &n, err,
	    sizeof(err)), 0);
	memcpy(csr, good, n);
	free(good);
	csr[n - 3] ^= 0x01;
	assert_int_equal(pki_csr_sign(&f->ca, &f->ca_key, csr, n, &o, &der,
	    &len, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CSR"));
	assert_null(der);

	/* Not DER at all. */
	assert_int_equal(pki_csr_sign(&f->ca, &f->ca_key,
	    (const unsigned char *)"hello", 5, &o, &der, &len, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "CSR: not a DER"));

	/* A CN that would smuggle a comma; no CN.  (mbedtls's writer keeps
	   only the last of two CNs, so that case cannot be made here.) */
	n = raw_csr(&f->key, "CN=dev\\,O=evil", csr, sizeof(csr));
	assert_int_equal(pki_csr_sign(&f->ca, &f->ca_key, csr, n, &o, &der,
	    &len, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CN"));
	n = raw_csr(&f->key, "O=org", csr, sizeof(csr));
	assert_int_equal(pki_csr_sign(&f->ca, &f->ca_key, csr, n, &o, &der,
	    &len, NULL, err, sizeof(err)), -1);

	/* Bad options. */
	n = raw_csr(&f->key, "CN=dev-2", csr, sizeof(csr));
	o.days = 0;
	assert_int_equal(pki_csr_sign(&f->ca, &f->ca_key, csr, n, &o, &der,
	    &len, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "validity"));
	o.days = 1;
	o.serial = UINT64_MAX;
	assert_int_equal(pki_csr_sign(&f->ca, &f->ca_key, csr, n, &o, &der,
	    &len, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "serial"));

	/* The device id is checked when the CSR is made too. */
	assert_int_equal(pki_csr_create(&f->key, "dev 1", &der, &len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "device id"));
}

static void
test_cert_file_and_fingerprint(void **state)
{
	struct fx *f = *state;
	mbedtls_x509_crt back;
	unsigned char fp[PKI_FPR_LEN], want[32];
	char p[128], err[256];

	path_in(f, "ca.crt", p, sizeof(p));
	assert_int_equal(pki_cert_write(p, f->ca_der, f->ca_len, err,
	    sizeof(err)), 0);
	assert_int_equal(pki_cert_read(&back, p, err, sizeof(err)), 0);
	assert_int_equal(back.raw.len, f->ca_len);
	assert_memory_equal(back.raw.p, f->ca_der, f->ca_len);
	mbedtls_x509_crt_free(&back);

	pki_fingerprint(f->ca_der, f->ca_len, fp);
	mbedtls_sha256_ret(f->ca_der, f->ca_len, want, 0);
	assert_memory_equal(fp, want, 32);

	path_in(f, "nope.crt", p, sizeof(p));
	assert_int_equal(pki_cert_read(&back, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nope.crt"));
}

static void
test_names(void **state)
{
	assert_true(pki_name_ok("dev-01.site_a:x@y", 0));
	assert_true(pki_name_ok("Field CA", 1));
	assert_false(pki_name_ok("Field CA", 0));
	assert_false(pki_name_ok(" lead", 1));
	assert_false(pki_name_ok("a,b", 1));
	assert_false(pki_name_ok("a=b", 1));
	assert_false(pki_name_ok("a+b", 1));
	assert_false(pki_name_ok("", 1));
	assert_false(pki_name_ok("x\n", 1));
	assert_false(pki_name_ok(
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_file_round_trip),
		cmocka_unit_test(test_key_read_errors),
		cmocka_unit_test(test_ca_certificate),
		cmocka_unit_test(test_server_certificate),
		cmocka_unit_test(test_csr_signed_into_device_cert),
		cmocka_unit_test(test_expired_and_foreign),
		cmocka_unit_test(test_bad_csrs_refused),
		cmocka_unit_test(test_cert_file_and_fingerprint),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
