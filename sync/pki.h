/*
 * pki.h: the collector's small certificate authority and the device's
 * side of enrolment, on mbedtls 2.28.  Every key is ECDSA on P-256 and
 * every signature ECDSA with SHA-256.
 *
 * The collector makes a key and a self-signed CA certificate once
 * (pki_ca_create), a TLS server certificate for itself signed by the CA
 * (pki_server_cert_create), and signs each enrolling device's CSR into a
 * device certificate (pki_csr_sign).  A device makes its key and a CSR
 * (pki_key_generate, pki_csr_create) and learns the CA by its SHA-256
 * fingerprint (pki_fingerprint), carried in the enrolment token.
 *
 * Ownership:
 * - A function that fills an mbedtls context (mbedtls_pk_context,
 *   mbedtls_x509_crt) initialises it first, whatever it was; on success
 *   the caller frees it with mbedtls_pk_free / mbedtls_x509_crt_free; on
 *   failure it has been freed already (freeing it again is harmless).
 * - Certificates and CSRs come out as DER in a new buffer (*der, *len)
 *   that the caller frees with free().  Nothing is returned on failure.
 * - Inputs are borrowed for the call only.  Key arguments are not const
 *   because mbedtls's writers take them so; they are not changed.
 *
 * Errors: -1 with a message in err (errlen bytes, always NUL-terminated
 * when errlen > 0) that names the file, the field or the mbedtls error.
 * Nothing here logs.
 *
 * Invariants:
 * - Names (CA, host, device id) are 1..PKI_CN_MAX bytes of letters,
 *   digits, space (CA names only, not first or last), and . _ - : @.
 *   Anything else -- commas, '=', '+', quotes, control bytes -- is refused,
 *   so a device id can never smuggle extra attributes into a subject.
 * - Serial numbers are 1..2^63-1 so they fit an SQLite INTEGER.
 * - Private key files are written with mode 0600 (atomically, through
 *   util_write_file) and refused when group or others may read them.
 *   Buffers that held private key bytes are wiped before they are freed.
 */
#ifndef PKI_H
#define PKI_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#define PKI_FPR_LEN 32		/* SHA-256 */
#define PKI_CN_MAX 64		/* the X.520 upper bound for a common name */
#define PKI_SERIAL_MAX INT64_MAX

/* Makes a new ECDSA P-256 key from common/rng.h. */
int pki_key_generate(mbedtls_pk_context *key, char *err, size_t errlen);

/* Writes the private key as PEM to path, mode 0600, atomically. */
int pki_key_write(mbedtls_pk_context *key, const char *path, char *err,
    size_t errlen);

/*
 * Reads a private key (PEM or DER) from path.  Refused when the file is
 * readable by group or others, or when the key is not ECDSA P-256.
 */
int pki_key_read(mbedtls_pk_context *key, const char *path, char *err,
    size_t errlen);

/*
 * A self-signed CA certificate for key: subject and issuer CN=cn,
 * basicConstraints CA:TRUE with path length 0, keyUsage keyCertSign and
 * cRLSign, random serial, valid from an hour ago for `years` years.
 */
int pki_ca_create(mbedtls_pk_context *key, const char *cn, int years,
    unsigned char **der, size_t *len, char *err, size_t errlen);

/*
 * The collector's TLS server certificate: subject CN=host, subjectAltName
 * dNSName=host (mbedtls matches the name a client asked for against it,
 * an IP literal included), CA:FALSE, keyUsage digitalSignature,
 * extKeyUsage serverAuth, issued by ca/ca_key for `days` days from an
 * hour ago, random serial.
 */
int pki_server_cert_create(const mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key,
    mbedtls_pk_context *key, const char *host, int days,
    unsigned char **der, size_t *len, char *err, size_t errlen);

/* A PKCS#10 request signed by key, subject CN=device_id, in DER. */
int pki_csr_create(mbedtls_pk_context *key, const char *device_id,
    unsigned char **der, size_t *len, char *err, size_t errlen);

struct pki_sign_opts {
	uint64_t serial;	/* 1..PKI_SERIAL_MAX, or 0 for a random one */
	int days;		/* validity from not_before, >= 1 */
	int64_t not_before;	/* Unix seconds; 0 for now (tests go back) */
};

/*
 * Signs a device's CSR (DER) with the CA into a device certificate (DER).
 * The CSR's own signature is checked (proof the device holds the key),
 * its key must be ECDSA P-256, and it must carry exactly one valid CN;
 * the certificate's subject is that CN alone (nothing else from the CSR is
 * copied).  CA:FALSE, keyUsage digitalSignature, extKeyUsage clientAuth.
 * The serial used is stored in *serial_out when not NULL.
 */
int pki_csr_sign(const mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key,
    const unsigned char *csr_der, size_t csr_len,
    const struct pki_sign_opts *opts, unsigned char **der, size_t *len,
    uint64_t *serial_out, char *err, size_t errlen);

/* Writes a DER certificate to path as PEM (mode 0644, atomically). */
int pki_cert_write(const char *path, const unsigned char *der, size_t len,
    char *err, size_t errlen);

/* Reads one or more certificates (PEM or DER) from path into crt. */
int pki_cert_read(mbedtls_x509_crt *crt, const char *path, char *err,
    size_t errlen);

/* Parses one DER certificate into crt. */
int pki_cert_parse(mbedtls_x509_crt *crt, const unsigned char *der,
    size_t len, char *err, size_t errlen);

/*
 * Verifies crt (its first certificate) against the trusted ca list and
 * the current time.  0, or -1 with the reasons in err.
 */
int pki_cert_verify(const mbedtls_x509_crt *crt, const mbedtls_x509_crt *ca,
    char *err, size_t errlen);

/* Copies crt's subject CN into out (NUL-terminated); -1 when absent/long. */
int pki_cert_cn(const mbedtls_x509_crt *crt, char *out, size_t outlen);

/* crt's serial number; -1 when it is not in 1..PKI_SERIAL_MAX. */
int pki_cert_serial(const mbedtls_x509_crt *crt, uint64_t *serial);

/* SHA-256 of a DER certificate (the whole encoding, as pinned). */
void pki_fingerprint(const unsigned char *der, size_t len,
    unsigned char out[PKI_FPR_LEN]);

/* mbedtls's reasons for verification flags, as one line "a; b". */
void pki_verify_text(uint32_t flags, char *out, size_t outlen);

/* 1 when name is acceptable as a certificate CN (see the invariants). */
int pki_name_ok(const char *name, int allow_space);

/*
 * Signatures over arbitrary bytes (bundle headers, receipts): ECDSA P-256
 * over SHA-256 of data, DER-encoded, at most PKI_SIG_MAX bytes.  The
 * random k comes from common/rng.h.
 */
#define PKI_SIG_MAX 72		/* SEQUENCE of two 33-byte INTEGERs */

/* Signs data with the private key into sig (sigcap bytes); 0 and
   *siglen, or -1 with err. */
int pki_sign(mbedtls_pk_context *key, const unsigned char *data, size_t len,
    unsigned char *sig, size_t sigcap, size_t *siglen, char *err,
    size_t errlen);

/* 0 when sig is key's signature over data; -1 with err otherwise (a key
   that is not P-256, a signature of impossible size, or one that does not
   verify -- trailing bytes after the DER included). */
int pki_verify(mbedtls_pk_context *pub, const unsigned char *data, size_t len,
    const unsigned char *sig, size_t siglen, char *err, size_t errlen);

#endif
