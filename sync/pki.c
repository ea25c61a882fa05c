/* pki.c: see pki.h. */
#include "sync/pki.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_csr.h>

#include "common/rng.h"
#include "common/util.h"

#define PKI_DER_MAX 4096	/* our certificates are well under 1 KiB */
#define PKI_FILE_MAX (256 * 1024)
#define PKI_BACKDATE 3600	/* seconds; tolerates small clock skew */

/*
 * Formats a message into err; when rc is an mbedtls error its text is
 * appended after a colon.  Always returns -1 so callers can return it.
 */
static int __attribute__((format(printf, 4, 5)))
pki_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (rc != 0 && n + 3 < errlen) {
		memcpy(err + n, ": ", 2);
		mbedtls_strerror(rc, err + n + 2, errlen - n - 2);
	}
	return -1;
}

int
pki_name_ok(const char *name, int allow_space)
{
	size_t i, n;

	if (name == NULL)
		return 0;
	n = strlen(name);
	if (n == 0 || n > PKI_CN_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("._-:@", ch) != NULL)
			continue;
		if (ch == ' ' && allow_space && i > 0 && i + 1 < n)
			continue;
		return 0;
	}
	return 1;
}

static int
pki_is_p256(const mbedtls_pk_context *pk)
{
	mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);

	if (t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECDSA)
		return 0;
	return mbedtls_pk_ec(*pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1;
}

int
pki_key_generate(mbedtls_pk_context *key, char *err, size_t errlen)
{
	int rc;

	mbedtls_pk_init(key);
	rc = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (rc == 0)
		rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
		    mbedtls_pk_ec(*key), rng_mbedtls, rng_ctx());
	if (rc != 0) {
		mbedtls_pk_free(key);
		return pki_fail(err, errlen, rc, "generating a P-256 key");
	}
	return 0;
}

int
pki_key_write(mbedtls_pk_context *key, const char *path, char *err,
    size_t errlen)
{
	unsigned char pem[1024];
	int rc;

	rc = mbedtls_pk_write_key_pem(key, pem, sizeof(pem));
	if (rc != 0)
		return pki_fail(err, errlen, rc, "%s: encoding the key", path);
	rc = util_write_file(path, pem, strlen((char *)pem), 0600);
	mbedtls_platform_zeroize(pem, sizeof(pem));
	if (rc != 0)
		return pki_fail(err, errlen, 0, "%s: %s", path, strerror(errno));
	return 0;
}

int
pki_key_read(mbedtls_pk_context *key, const char *path, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len;
	int rc;

	mbedtls_pk_init(key);
	if (stat(path, &st) != 0)
		return pki_fail(err, errlen, 0, "%s: %s", path, strerror(errno));
	if ((st.st_mode & 077) != 0)
		return pki_fail(err, errlen, 0, "%s: private key is readable "
		    "by others (mode %04o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
	if ((buf = util_read_file(path, PKI_FILE_MAX, &len)) == NULL)
		return pki_fail(err, errlen, 0, "%s: %s", path, strerror(errno));
	/* PEM must be parsed with its terminating NUL, DER without. */
	if (strstr(buf, "-----BEGIN") != NULL)
		len++;
	rc = mbedtls_pk_parse_key(key, (unsigned char *)buf, len, NULL, 0);
	mbedtls_platform_zeroize(buf, len);
	free(buf);
	if (rc != 0) {
		mbedtls_pk_free(key);
		return pki_fail(err, errlen, rc, "%s: not a private key", path);
	}
	if (!pki_is_p256(key)) {
		mbedtls_pk_free(key);
		return pki_fail(err, errlen, 0, "%s: key is not ECDSA P-256",
		    path);
	}
	return 0;
}

/* Formats Unix time t as mbedtls's "YYYYMMDDhhmmss" validity string. */
static int
pki_time(int64_t t, char out[16])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 1950)
		return -1;
	if (strftime(out, 16, "%Y%m%d%H%M%S", &tm) != 14)
		return -1;
	return 0;
}

/* A random serial in 1..PKI_SERIAL_MAX. */
static int
pki_random_serial(uint64_t *serial)
{
	do {
		if (rng_bytes(serial, sizeof(*serial)) != 0)
			return -1;
		*serial &= (uint64_t)PKI_SERIAL_MAX;
	} while (*serial == 0);
	return 0;
}

/*
 * What one certificate needs beyond its keys: the writer is prepared by
 * pki_issue, which owns every mbedtls object it makes and frees them on
 * every path.
 */
struct pki_cert_spec {
	const char *subject;	/* "CN=..." */
	const char *issuer;	/* "CN=..." */
	mbedtls_pk_context *subject_key, *issuer_key;
	uint64_t serial;
	int64_t not_before, not_after;
	int is_ca;
	unsigned char key_usage;
	const char *eku_oid;	/* MBEDTLS_OID_SERVER_AUTH/CLIENT_AUTH or NULL */
	const char *san_dns;	/* or NULL */
};

static int
pki_issue(const struct pki_cert_spec *s, unsigned char **der, size_t *len,
    char *err, size_t errlen)
{
	mbedtls_x509write_cert w;
	mbedtls_mpi serial;
	unsigned char sb[8], buf[PKI_DER_MAX], ext[PKI_CN_MAX + 16];
	char nb[16], na[16];
	const char *what;
	size_t i;
	int rc;

	*der = NULL;
	*len = 0;
	if (pki_time(s->not_before, nb) != 0 || pki_time(s->not_after, na) != 0)
		return pki_fail(err, errlen, 0, "validity out of range");
	for (i = 0; i < 8; i++)
		sb[i] = (unsigned char)(s->serial >> (56 - 8 * i));
	mbedtls_x509write_crt_init(&w);
	mbedtls_mpi_init(&serial);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, s->subject_key);
	mbedtls_x509write_crt_set_issuer_key(&w, s->issuer_key);

	what = "serial";
	if ((rc = mbedtls_mpi_read_binary(&serial, sb, sizeof(sb))) != 0 ||
	    (rc = mbedtls_x509write_crt_set_serial(&w, &serial)) != 0)
		goto fail;
	what = "subject name";
	if ((rc = mbedtls_x509write_crt_set_subject_name(&w, s->subject)) != 0)
		goto fail;
	what = "issuer name";
	if ((rc = mbedtls_x509write_crt_set_issuer_name(&w, s->issuer)) != 0)
		goto fail;
	what = "validity";
	if ((rc = mbedtls_x509write_crt_set_validity(&w, nb, na)) != 0)
		goto fail;
	what = "basicConstraints";
	if ((rc = mbedtls_x509write_crt_set_basic_constraints(&w, s->is_ca,
	    s->is_ca ? 0 : -1)) != 0)
		goto fail;
	what = "key identifiers";
	if ((rc = mbedtls_x509write_crt_set_subject_key_identifier(&w)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_authority_key_identifier(&w)) != 0)
		goto fail;
	what = "keyUsage";
	if ((rc = mbedtls_x509write_crt_set_key_usage(&w, s->key_usage)) != 0)
		goto fail;
	if (s->eku_oid != NULL) {
		/* SEQUENCE { OBJECT IDENTIFIER }: mbedtls 2.28 has no setter. */
		size_t ol = strlen(s->eku_oid);

		ext[0] = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
		ext[1] = (unsigned char)(ol + 2);
		ext[2] = MBEDTLS_ASN1_OID;
		ext[3] = (unsigned char)ol;
		memcpy(ext + 4, s->eku_oid, ol);
		what = "extKeyUsage";
		if ((rc = mbedtls_x509write_crt_set_extension(&w,
		    MBEDTLS_OID_EXTENDED_KEY_USAGE,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
		    ext, ol + 4)) != 0)
			goto fail;
	}
	if (s->san_dns != NULL) {
		/* SEQUENCE { [2] IMPLICIT IA5String }; names are short. */
		size_t hl = strlen(s->san_dns);

		ext[0] = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
		ext[1] = (unsigned char)(hl + 2);
		ext[2] = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2;
		ext[3] = (unsigned char)hl;
		memcpy(ext + 4, s->san_dns, hl);
		what = "subjectAltName";
		if ((rc = mbedtls_x509write_crt_set_extension(&w,
		    MBEDTLS_OID_SUBJECT_ALT_NAME,
		    MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
		    ext, hl + 4)) != 0)
			goto fail;
	}
	what = "signing the certificate";
	rc = mbedtls_x509write_crt_der(&w, buf, sizeof(buf), rng_mbedtls,
	    rng_ctx());
	if (rc < 0)
		goto fail;
	/* mbedtls writes DER backwards, at the end of buf. */
	if ((*der = malloc((size_t)rc)) == NULL) {
		mbedtls_x509write_crt_free(&w);
		mbedtls_mpi_free(&serial);
		return pki_fail(err, errlen, 0, "out of memory");
	}
	memcpy(*der, buf + sizeof(buf) - (size_t)rc, (size_t)rc);
	*len = (size_t)rc;
	mbedtls_x509write_crt_free(&w);
	mbedtls_mpi_free(&serial);
	return 0;
fail:
	mbedtls_x509write_crt_free(&w);
	mbedtls_mpi_free(&serial);
	return pki_fail(err, errlen, rc, "certificate %s", what);
}

int
pki_ca_create(mbedtls_pk_context *key, const char *cn, int years,
    unsigned char **der, size_t *len, char *err, size_t errlen)
{
	struct pki_cert_spec s;
	char name[PKI_CN_MAX + 4];
	int64_t now = util_now_ms() / 1000;

	*der = NULL;
	*len = 0;
	if (!pki_name_ok(cn, 1))
		return pki_fail(err, errlen, 0, "CA name: must be 1-%d letters, "
		    "digits, spaces or ._-:@", PKI_CN_MAX);
	if (years < 1 || years > 100)
		return pki_fail(err, errlen, 0, "CA validity: %d years is "
		    "not in 1..100", years);
	if (!pki_is_p256(key))
		return pki_fail(err, errlen, 0, "CA key: not ECDSA P-256");
	snprintf(name, sizeof(name), "CN=%s", cn);
	memset(&s, 0, sizeof(s));
	s.subject = s.issuer = name;
	s.subject_key = s.issuer_key = key;
	if (pki_random_serial(&s.serial) != 0)
		return pki_fail(err, errlen, 0, "no entropy for a serial");
	s.not_before = now - PKI_BACKDATE;
	s.not_after = now + (int64_t)years * 365 * 86400 + (years / 4) * 86400;
	s.is_ca = 1;
	s.key_usage = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN;
	return pki_issue(&s, der, len, err, errlen);
}

/* Checks that ca is a CA certificate and that ca_key is its key. */
static int
pki_check_ca(const mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key,
    char *issuer, size_t issuerlen, char *err, size_t errlen)
{
	int rc;

	if (ca == NULL || ca->raw.len == 0)
		return pki_fail(err, errlen, 0, "CA certificate: missing");
	if (!ca->ca_istrue)
		return pki_fail(err, errlen, 0, "CA certificate: not a CA "
		    "(basicConstraints)");
	if ((rc = mbedtls_pk_check_pair(&ca->pk, ca_key)) != 0)
		return pki_fail(err, errlen, rc, "CA key: does not match the "
		    "CA certificate");
	if ((rc = mbedtls_x509_dn_gets(issuer, issuerlen, &ca->subject)) < 0)
		return pki_fail(err, errlen, rc, "CA certificate: subject");
	return 0;
}

int
pki_server_cert_create(const mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key,
    mbedtls_pk_context *key, const char *host, int days,
    unsigned char **der, size_t *len, char *err, size_t errlen)
{
	struct pki_cert_spec s;
	char name[PKI_CN_MAX + 4], issuer[256];
	int64_t now = util_now_ms() / 1000;

	*der = NULL;
	*len = 0;
	if (!pki_name_ok(host, 0))
		return pki_fail(err, errlen, 0, "server host name: must be "
		    "1-%d letters, digits or ._-:@", PKI_CN_MAX);
	if (days < 1 || days > 36500)
		return pki_fail(err, errlen, 0, "server certificate validity: "
		    "%d days is not in 1..36500", days);
	if (!pki_is_p256(key))
		return pki_fail(err, errlen, 0, "server key: not ECDSA P-256");
	if (pki_check_ca(ca, ca_key, issuer, sizeof(issuer), err, errlen) != 0)
		return -1;
	snprintf(name, sizeof(name), "CN=%s", host);
	memset(&s, 0, sizeof(s));
	s.subject = name;
	s.issuer = issuer;
	s.subject_key = key;
	s.issuer_key = ca_key;
	if (pki_random_serial(&s.serial) != 0)
		return pki_fail(err, errlen, 0, "no entropy for a serial");
	s.not_before = now - PKI_BACKDATE;
	s.not_after = now + (int64_t)days * 86400;
	s.key_usage = MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
	s.eku_oid = MBEDTLS_OID_SERVER_AUTH;
	s.san_dns = host;
	return pki_issue(&s, der, len, err, errlen);
}

int
pki_csr_create(mbedtls_pk_context *key, const char *device_id,
    unsigned char **der, size_t *len, char *err, size_t errlen)
{
	mbedtls_x509write_csr w;
	unsigned char buf[PKI_DER_MAX];
	char name[PKI_CN_MAX + 4];
	int rc;

	*der = NULL;
	*len = 0;
	if (!pki_name_ok(device_id, 0))
		return pki_fail(err, errlen, 0, "device id: must be 1-%d "
		    "letters, digits or ._-:@", PKI_CN_MAX);
	if (!pki_is_p256(key))
		return pki_fail(err, errlen, 0, "device key: not ECDSA P-256");
	snprintf(name, sizeof(name), "CN=%s", device_id);
	mbedtls_x509write_csr_init(&w);
	mbedtls_x509write_csr_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&w, key);
	if ((rc = mbedtls_x509write_csr_set_subject_name(&w, name)) == 0)
		rc = mbedtls_x509write_csr_der(&w, buf, sizeof(buf),
		    rng_mbedtls, rng_ctx());
	mbedtls_x509write_csr_free(&w);
	if (rc < 0)
		return pki_fail(err, errlen, rc, "writing the CSR");
	if ((*der = malloc((size_t)rc)) == NULL)
		return pki_fail(err, errlen, 0, "out of memory");
	memcpy(*der, buf + sizeof(buf) - (size_t)rc, (size_t)rc);
	*len = (size_t)rc;
	return 0;
}

/*
 * The one CN in a subject, copied into out[PKI_CN_MAX + 1] and checked
 * with pki_name_ok.  -1 when there is none, more than one, or a bad one.
 */
static int
pki_subject_cn(const mbedtls_x509_name *n, char *out, int allow_space)
{
	size_t len = 0;
	int found = 0;

	for (; n != NULL; n = n->next) {
		if (n->oid.p == NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN,
		    &n->oid) != 0)
			continue;
		if (found++ || n->val.len == 0 || n->val.len > PKI_CN_MAX)
			return -1;
		memcpy(out, n->val.p, n->val.len);
		out[n->val.len] = '\0';
		len = n->val.len;
	}
	/* An embedded NUL would make the checked name differ from the CN. */
	if (!found || strlen(out) != len || !pki_name_ok(out, allow_space))
		return -1;
	return 0;
}

/* Checks a parsed CSR's signature with its own key (proof of possession). */
static int
pki_csr_check_sig(mbedtls_x509_csr *csr, char *err, size_t errlen)
{
	unsigned char hash[32];
	const mbedtls_md_info_t *md;
	int rc;

	if (csr->sig_md != MBEDTLS_MD_SHA256 || csr->sig_pk != MBEDTLS_PK_ECDSA)
		return pki_fail(err, errlen, 0, "CSR: signature is not "
		    "ECDSA with SHA-256");
	md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	if ((rc = mbedtls_md(md, csr->cri.p, csr->cri.len, hash)) != 0)
		return pki_fail(err, errlen, rc, "CSR: hashing");
	rc = mbedtls_pk_verify_ext(csr->sig_pk, csr->sig_opts, &csr->pk,
	    MBEDTLS_MD_SHA256, hash, sizeof(hash), csr->sig.p, csr->sig.len);
	if (rc != 0)
		return pki_fail(err, errlen, rc, "CSR: bad signature");
	return 0;
}

int
pki_csr_sign(const mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key,
    const unsigned char *csr_der, size_t csr_len,
    const struct pki_sign_opts *opts, unsigned char **der, size_t *len,
    uint64_t *serial_out, char *err, size_t errlen)
{
	mbedtls_x509_csr csr;
	struct pki_cert_spec s;
	char cn[PKI_CN_MAX + 1], name[PKI_CN_MAX + 4], issuer[256];
	int64_t nb;
	int rc;

	*der = NULL;
	*len = 0;
	if (opts->days < 1 || opts->days > 36500)
		return pki_fail(err, errlen, 0, "device certificate validity: "
		    "%d days is not in 1..36500", opts->days);
	if (opts->serial > (uint64_t)PKI_SERIAL_MAX)
		return pki_fail(err, errlen, 0, "device certificate serial: "
		    "over 2^63-1");
	if (pki_check_ca(ca, ca_key, issuer, sizeof(issuer), err, errlen) != 0)
		return -1;
	mbedtls_x509_csr_init(&csr);
	if ((rc = mbedtls_x509_csr_parse_der(&csr, csr_der, csr_len)) != 0) {
		mbedtls_x509_csr_free(&csr);
		return pki_fail(err, errlen, rc, "CSR: not a DER PKCS#10 "
		    "request");
	}
	if (pki_csr_check_sig(&csr, err, errlen) != 0)
		goto fail;
	if (!pki_is_p256(&csr.pk)) {
		pki_fail(err, errlen, 0, "CSR: key is not ECDSA P-256");
		goto fail;
	}
	if (pki_subject_cn(&csr.subject, cn, 0) != 0) {
		pki_fail(err, errlen, 0, "CSR: subject must hold exactly one "
		    "CN of 1-%d letters, digits or ._-:@", PKI_CN_MAX);
		goto fail;
	}
	snprintf(name, sizeof(name), "CN=%s", cn);
	nb = opts->not_before != 0 ? opts->not_before :
	    util_now_ms() / 1000 - PKI_BACKDATE;
	memset(&s, 0, sizeof(s));
	s.subject = name;
	s.issuer = issuer;
	s.subject_key = &csr.pk;
	s.issuer_key = ca_key;
	s.serial = opts->serial;
	if (s.serial == 0 && pki_random_serial(&s.serial) != 0) {
		pki_fail(err, errlen, 0, "no entropy for a serial");
		goto fail;
	}
	s.not_before = nb;
	s.not_after = nb + (int64_t)opts->days * 86400;
	s.key_usage = MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
	s.eku_oid = MBEDTLS_OID_CLIENT_AUTH;
	if (pki_issue(&s, der, len, err, errlen) != 0)
		goto fail;
	mbedtls_x509_csr_free(&csr);
	if (serial_out != NULL)
		*serial_out = s.serial;
	return 0;
fail:
	mbedtls_x509_csr_free(&csr);
	return -1;
}

int
pki_cert_write(const char *path, const unsigned char *der, size_t len,
    char *err, size_t errlen)
{
	unsigned char *pem;
	size_t cap = len * 2 + 128, olen = 0;
	int rc;

	if ((pem = malloc(cap)) == NULL)
		return pki_fail(err, errlen, 0, "%s: out of memory", path);
	rc = mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n",
	    "-----END CERTIFICATE-----\n", der, len, pem, cap, &olen);
	if (rc != 0) {
		free(pem);
		return pki_fail(err, errlen, rc, "%s: encoding PEM", path);
	}
	rc = util_write_file(path, pem, strlen((char *)pem), 0644);
	free(pem);
	if (rc != 0)
		return pki_fail(err, errlen, 0, "%s: %s", path, strerror(errno));
	return 0;
}

int
pki_cert_read(mbedtls_x509_crt *crt, const char *path, char *err,
    size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	mbedtls_x509_crt_init(crt);
	if ((buf = util_read_file(path, PKI_FILE_MAX, &len)) == NULL)
		return pki_fail(err, errlen, 0, "%s: %s", path, strerror(errno));
	if (strstr(buf, "-----BEGIN") != NULL)
		len++;
	rc = mbedtls_x509_crt_parse(crt, (unsigned char *)buf, len);
	free(buf);
	if (rc != 0) {
		mbedtls_x509_crt_free(crt);
		if (rc > 0)
			return pki_fail(err, errlen, 0, "%s: %d certificate(s) "
			    "could not be parsed", path, rc);
		return pki_fail(err, errlen, rc, "%s: not a certificate", path);
	}
	return 0;
}

int
pki_cert_parse(mbedtls_x509_crt *crt, const unsigned char *der, size_t len,
    char *err, size_t errlen)
{
	int rc;

	mbedtls_x509_crt_init(crt);
	if ((rc = mbedtls_x509_crt_parse_der(crt, der, len)) != 0) {
		mbedtls_x509_crt_free(crt);
		return pki_fail(err, errlen, rc, "certificate: not DER X.509");
	}
	return 0;
}

void
pki_verify_text(uint32_t flags, char *out, size_t outlen)
{
	char tmp[1024];
	size_t i, o = 0;

	if (outlen == 0)
		return;
	if (mbedtls_x509_crt_verify_info(tmp, sizeof(tmp), "", flags) <= 0) {
		snprintf(out, outlen, "verification flags 0x%08x",
		    (unsigned)flags);
		return;
	}
	/* mbedtls ends every reason with a newline; join them with "; ". */
	for (i = 0; tmp[i] != '\0' && o + 1 < outlen; i++) {
		if (tmp[i] != '\n')
			out[o++] = tmp[i];
		else if (tmp[i + 1] != '\0' && o + 3 < outlen) {
			out[o++] = ';';
			out[o++] = ' ';
		}
	}
	out[o] = '\0';
}

int
pki_cert_verify(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *ca,
    char *err, size_t errlen)
{
	char info[512];
	uint32_t flags = 0;
	int rc;

	/* mbedtls 2.28 takes these non-const but only reads them. */
	rc = mbedtls_x509_crt_verify_with_profile((mbedtls_x509_crt *)crt,
	    (mbedtls_x509_crt *)ca, NULL, &mbedtls_x509_crt_profile_suiteb,
	    NULL, &flags, NULL, NULL);
	if (rc == 0)
		return 0;
	if (flags != 0) {
		pki_verify_text(flags, info, sizeof(info));
		return pki_fail(err, errlen, 0, "certificate not valid: %s",
		    info);
	}
	return pki_fail(err, errlen, rc, "certificate not valid");
}

int
pki_cert_cn(const mbedtls_x509_crt *crt, char *out, size_t outlen)
{
	char cn[PKI_CN_MAX + 1];

	if (crt == NULL || pki_subject_cn(&crt->subject, cn, 1) != 0 ||
	    strlen(cn) >= outlen)
		return -1;
	memcpy(out, cn, strlen(cn) + 1);
	return 0;
}

int
pki_cert_serial(const mbedtls_x509_crt *crt, uint64_t *serial)
{
	const unsigned char *p = crt->serial.p;
	size_t n = crt->serial.len;
	uint64_t v = 0;

	/* DER INTEGER content: a leading 0x00 keeps a high bit positive. */
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	if (n == 0 || n > 8 || (n == 8 && (p[0] & 0x80)))
		return -1;
	while (n-- > 0)
		v = v << 8 | *p++;
	*serial = v;
	return 0;
}

void
pki_fingerprint(const unsigned char *der, size_t len,
    unsigned char out[PKI_FPR_LEN])
{
	mbedtls_sha256_ret(der, len, out, 0);
}

/* SHA-256 of data, the digest every signature here is made over. */
static int
pki_digest(const unsigned char *data, size_t len, unsigned char hash[32])
{
	return mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), data,
	    len, hash);
}

int
pki_sign(mbedtls_pk_context *key, const unsigned char *data, size_t len,
    unsigned char *sig, size_t sigcap, size_t *siglen, char *err,
    size_t errlen)
{
	unsigned char hash[32], buf[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t n = 0;
	int rc;

	*siglen = 0;
	if (!pki_is_p256(key))
		return pki_fail(err, errlen, 0, "signing key: not ECDSA P-256");
	if ((rc = pki_digest(data, len, hash)) != 0)
		return pki_fail(err, errlen, rc, "signing: hashing");
	/* mbedtls 2.28 takes no output size: sign into a buffer of the
	   largest size any signature can have, then copy. */
	rc = mbedtls_pk_sign(key, MBEDTLS_MD_SHA256, hash, sizeof(hash), buf,
	    &n, rng_mbedtls, rng_ctx());
	if (rc != 0)
		return pki_fail(err, errlen, rc, "signing");
	if (n > PKI_SIG_MAX || n > sigcap)
		return pki_fail(err, errlen, 0, "signing: a signature of %zu "
		    "bytes does not fit %zu", n, sigcap);
	memcpy(sig, buf, n);
	*siglen = n;
	return 0;
}

int
pki_verify(mbedtls_pk_context *pub, const unsigned char *data, size_t len,
    const unsigned char *sig, size_t siglen, char *err, size_t errlen)
{
	unsigned char hash[32];
	int rc;

	if (!pki_is_p256(pub))
		return pki_fail(err, errlen, 0, "verifying key: not ECDSA "
		    "P-256");
	if (siglen == 0 || siglen > PKI_SIG_MAX)
		return pki_fail(err, errlen, 0, "signature of %zu bytes: an "
		    "ECDSA P-256 signature has 8 to %d", siglen, PKI_SIG_MAX);
	if ((rc = pki_digest(data, len, hash)) != 0)
		return pki_fail(err, errlen, rc, "verifying: hashing");
	rc = mbedtls_pk_verify(pub, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig,
	    siglen);
	if (rc != 0)
		return pki_fail(err, errlen, 0, "signature does not verify");
	return 0;
}
