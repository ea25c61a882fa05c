/*
 * fuzz_bundle.c: the bundle and receipt readers (sync/bundle.h) over
 * arbitrary bytes.  The first byte picks what the rest is:
 *
 *   0  a whole bundle file, read against the CA made at start: the
 *      magic, the header frame and its fields, the certificate
 *   1  a bundle body after 8 bytes of header figures (first_seq as u32,
 *      last_seq - first_seq as u16, records as u16, little-endian); the
 *      target signs a header for it with the device key made at start,
 *      so the body's decoder and its checks see any bytes at all, and a
 *      body that passes is walked again with bundle_each
 *   2  a whole receipt file
 *   3  a packed Receipt, which the target signs with the CA key
 *
 * Key material is made at start, in memory; no private key is committed.
 * With FUZZ_BUNDLE_SEEDS=DIR in the environment the target writes a seed
 * corpus of valid and broken inputs of each kind into DIR and exits (the
 * corpus in tests/fuzz/corpus/fuzz_bundle was made so; its bundles are
 * signed by keys long gone, so mode 0 seeds stop at the certificate).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/sha256.h>

#include "sync/bundle.h"
#include "sync/frame.h"
#include "sync/pki.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEVICE "fuzz-dev"
#define FIGURES 8	/* mode 1's header figures */

static mbedtls_pk_context ca_key, dev_key;
static mbedtls_x509_crt ca, dev_crt;
static struct bundle_signer signer;
static struct bundle_limits lim;

static void __attribute__((noreturn))
die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_bundle: %s: %s\n", what, err);
	exit(1);
}

static void
cleanup(void)
{
	mbedtls_pk_free(&ca_key);
	mbedtls_pk_free(&dev_key);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&dev_crt);
}

/* A signed bundle around body[0..len): magic, header, body (caller frees). */
static unsigned char *
wrap_body(uint64_t first, uint64_t last, uint64_t records,
    const unsigned char *body, size_t len, size_t *outlen)
{
	struct bundle_span span;
	unsigned char hash[32], *hf, *out;
	size_t hl;
	char err[256];

	memset(&span, 0, sizeof(span));
	memset(span.id, 0x5a, sizeof(span.id));
	span.created_ms = 1;
	span.first_seq = first;
	span.last_seq = last;
	span.records = records;
	mbedtls_sha256_ret(body, len, hash, 0);
	if (bundle_header_frame(&signer, &span, hash, &hf, &hl, err,
	    sizeof(err)) != 0)
		die("signing a header", err);
	if ((out = malloc(BUNDLE_MAGIC_LEN + hl + len + 1)) == NULL)
		die("wrap", "out of memory");
	memcpy(out, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN);
	memcpy(out + BUNDLE_MAGIC_LEN, hf, hl);
	if (len > 0)
		memcpy(out + BUNDLE_MAGIC_LEN + hl, body, len);
	*outlen = BUNDLE_MAGIC_LEN + hl + len;
	free(hf);
	return out;
}

/* A receipt file around a packed Receipt, signed with the CA key. */
static unsigned char *
wrap_receipt(const unsigned char *rc, size_t len, size_t *outlen)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__SignedReceipt sr = FIELD__SYNC__SIGNED_RECEIPT__INIT;
	unsigned char sig[PKI_SIG_MAX], *frame, *out;
	size_t siglen, flen;
	char err[256];

	if (pki_sign(&ca_key, rc, len, sig, sizeof(sig), &siglen, err,
	    sizeof(err)) != 0)
		die("signing a receipt", err);
	sr.receipt.data = (uint8_t *)rc;
	sr.receipt.len = len;
	sr.signature.data = sig;
	sr.signature.len = siglen;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_RECEIPT;
	env.receipt = &sr;
	if (frame_encode(&env, 1 << 20, &frame, &flen) != 0)
		die("wrap", "encoding a receipt");
	if ((out = malloc(BUNDLE_MAGIC_LEN + flen)) == NULL)
		die("wrap", "out of memory");
	memcpy(out, BUNDLE_RECEIPT_MAGIC, BUNDLE_MAGIC_LEN);
	memcpy(out + BUNDLE_MAGIC_LEN, frame, flen);
	*outlen = BUNDLE_MAGIC_LEN + flen;
	free(frame);
	return out;
}

static int
walk(void *arg, const Field__Sync__Envelope *env)
{
	uint64_t *sum = arg;

	if (env->kind_case == FIELD__SYNC__ENVELOPE__KIND_BATCH)
		for (size_t i = 0; i < env->batch->n_records; i++)
			*sum += env->batch->records[i]->seq;
	return 0;
}

static void
read_bundle(const unsigned char *file, size_t len)
{
	struct bundle b;
	char err[512];
	uint64_t sum = 0;

	if (bundle_read(file, len, &ca, &lim, &b, err, sizeof(err)) == 0 &&
	    bundle_each(&b, walk, &sum, err, sizeof(err)) != 0)
		die("a verified bundle failed its second pass", err);
	bundle_free(&b);
}

static void
read_receipt(const unsigned char *file, size_t len)
{
	struct bundle_receipt r;
	char err[512];

	bundle_receipt_read(file, len, &ca, &r, err, sizeof(err));
}

static uint64_t
le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *file;
	size_t len;

	if (size == 0)
		return 0;
	switch (data[0] & 3) {
	case 0:
		read_bundle(data + 1, size - 1);
		break;
	case 1:
		if (size < 1 + FIGURES)
			return 0;
		file = wrap_body(le(data + 1, 4), le(data + 1, 4) +
		    le(data + 5, 2), le(data + 7, 2), data + 1 + FIGURES,
		    size - 1 - FIGURES, &len);
		read_bundle(file, len);
		free(file);
		break;
	case 2:
		read_receipt(data + 1, size - 1);
		break;
	case 3:
		file = wrap_receipt(data + 1, size - 1, &len);
		read_receipt(file, len);
		free(file);
		break;
	}
	return 0;
}

/* Seeds. */

static void
seed(const char *dir, const char *name, int mode, const unsigned char *p,
    size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		die(path, "cannot write");
	fputc(mode, f);
	fwrite(p, 1, len, f);
	fclose(f);
}

struct body {
	unsigned char buf[8192];
	size_t len;
};

static void
body_add(struct body *bd, const Field__Sync__Envelope *env)
{
	unsigned char *fr;
	size_t n;

	if (frame_encode(env, 4096, &fr, &n) != 0 ||
	    bd->len + n > sizeof(bd->buf))
		die("seed", "a frame too large");
	memcpy(bd->buf + bd->len, fr, n);
	bd->len += n;
	free(fr);
}

static void
body_counts(struct body *bd)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__CountsSnapshot c = FIELD__SYNC__COUNTS_SNAPSHOT__INIT;
	Field__Sync__CountCell cell = FIELD__SYNC__COUNT_CELL__INIT, *cp = &cell;

	cell.form_id = "mrc_visit";
	cell.day = "2026-11-01";
	cell.place = "MRC-01";
	cell.dim = "sex";
	cell.value = "female";
	cell.measure = "records";
	cell.n = 3;
	c.taken_ms = 1;
	c.cells = &cp;
	c.n_cells = 1;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_COUNTS;
	env.counts = &c;
	body_add(bd, &env);
}

static void
body_batch(struct body *bd, uint64_t first, size_t n, uint64_t step)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__RecordBatch b = FIELD__SYNC__RECORD_BATCH__INIT;
	Field__Sync__SealedRecord r[4], *rp[4];
	unsigned char pub[32], sealed[40];
	char ids[4][37];

	memset(pub, 7, sizeof(pub));
	memset(sealed, 9, sizeof(sealed));
	for (size_t i = 0; i < n && i < 4; i++) {
		field__sync__sealed_record__init(&r[i]);
		snprintf(ids[i], sizeof(ids[i]),
		    "00000000-0000-4000-8000-%012llu",
		    (unsigned long long)(first + i * step));
		r[i].seq = first + i * step;
		r[i].id = ids[i];
		r[i].form_id = "mrc_visit";
		r[i].form_version = "1";
		r[i].created_ms = 1;
		r[i].epoch_id = 1;
		r[i].epoch_pub.data = pub;
		r[i].epoch_pub.len = sizeof(pub);
		r[i].sealed.data = sealed;
		r[i].sealed.len = sizeof(sealed);
		rp[i] = &r[i];
	}
	b.records = rp;
	b.n_records = n < 4 ? n : 4;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_BATCH;
	env.batch = &b;
	body_add(bd, &env);
}

/* Mode 1's input: figures, then the body. */
static void
seed_body(const char *dir, const char *name, uint32_t first, uint16_t span,
    uint16_t records, const struct body *bd)
{
	unsigned char in[FIGURES + sizeof(bd->buf)];

	for (int i = 0; i < 4; i++)
		in[i] = (unsigned char)(first >> (8 * i));
	in[4] = (unsigned char)span;
	in[5] = (unsigned char)(span >> 8);
	in[6] = (unsigned char)records;
	in[7] = (unsigned char)(records >> 8);
	memcpy(in + FIGURES, bd->buf, bd->len);
	seed(dir, name, 1, in, FIGURES + bd->len);
}

static void
write_seeds(const char *dir)
{
	Field__Sync__Receipt rc = FIELD__SYNC__RECEIPT__INIT;
	unsigned char *file, packed[256], id[BUNDLE_ID_LEN];
	struct body bd, bad;
	size_t len, plen;

	memset(&bd, 0, sizeof(bd));
	body_counts(&bd);
	body_batch(&bd, 1, 3, 1);
	body_batch(&bd, 4, 2, 2);	/* 4, 6: a gap, as purged records */
	seed_body(dir, "body_valid", 1, 5, 5, &bd);
	memset(&bad, 0, sizeof(bad));
	body_batch(&bad, 1, 2, 1);
	body_counts(&bad);
	seed_body(dir, "body_batch_first", 1, 1, 2, &bad);
	memset(&bad, 0, sizeof(bad));
	body_counts(&bad);
	body_batch(&bad, 1, 3, 1);
	seed_body(dir, "body_seq_outside", 1, 1, 2, &bad);

	file = wrap_body(1, 6, 5, bd.buf, bd.len, &len);
	seed(dir, "bundle_valid", 0, file, len);
	seed(dir, "bundle_cut", 0, file, len - 7);
	file[len / 2] ^= 1;
	seed(dir, "bundle_altered", 0, file, len);
	file[1] = 'X';
	seed(dir, "bundle_magic", 0, file, len);
	free(file);

	memset(id, 0xa5, sizeof(id));
	rc.device_id = DEVICE;
	rc.acked_seq = 6;
	rc.collector_time_ms = 1793491200000LL;
	rc.bundle_id.data = id;
	rc.bundle_id.len = sizeof(id);
	plen = field__sync__receipt__pack(&rc, packed);
	seed(dir, "receipt_body_valid", 3, packed, plen);
	file = wrap_receipt(packed, plen, &len);
	seed(dir, "receipt_valid", 2, file, len);
	seed(dir, "receipt_cut", 2, file, len - 1);
	free(file);
	rc.bundle_id.len = 3;
	plen = field__sync__receipt__pack(&rc, packed);
	seed(dir, "receipt_body_short_id", 3, packed, plen);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pki_sign_opts o = { 0, 3650, 0 };
	unsigned char *der, *csr;
	size_t len, csr_len;
	const char *dir;
	char err[256];

	if (pki_key_generate(&ca_key, err, sizeof(err)) != 0 ||
	    pki_ca_create(&ca_key, "fuzz CA", 10, &der, &len, err,
	    sizeof(err)) != 0)
		die("CA", err);
	if (pki_cert_parse(&ca, der, len, err, sizeof(err)) != 0)
		die("CA", err);
	free(der);
	if (pki_key_generate(&dev_key, err, sizeof(err)) != 0 ||
	    pki_csr_create(&dev_key, DEVICE, &csr, &csr_len, err,
	    sizeof(err)) != 0)
		die("device key", err);
	if (pki_csr_sign(&ca, &ca_key, csr, csr_len, &o, &der, &len, NULL,
	    err, sizeof(err)) != 0 ||
	    pki_cert_parse(&dev_crt, der, len, err, sizeof(err)) != 0)
		die("device certificate", err);
	free(csr);
	free(der);
	signer.device_id = DEVICE;
	signer.key = &dev_key;
	signer.cert_der = dev_crt.raw.p;
	signer.cert_len = dev_crt.raw.len;
	bundle_limits_default(&lim);
	atexit(cleanup);
	if ((dir = getenv("FUZZ_BUNDLE_SEEDS")) != NULL) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}
