/*
 * bundle.h: USB carriage for a board with no link.  The board writes its
 * unacknowledged sealed records into a bundle file on a stick; the
 * collector imports it and writes a receipt the board imports to learn
 * what was acknowledged.  Formats are in proto/sync.proto.
 *
 *   bundle   "FLDBNDL1", then frames (frame.h) of Envelopes:
 *            bundle_header (a SignedHeader), counts, batch, batch, ...
 *            The header names the device, a random 16-byte bundle id, the
 *            seqs it spans, the SHA-256 of every byte after the header
 *            frame, and the device certificate; it is signed (ECDSA
 *            P-256, SHA-256) by the device's TLS key.
 *   receipt  "FLDRCPT1", then one frame: an Envelope receipt (a
 *            SignedReceipt) signed by the collector's CA key, naming the
 *            device, the collector's watermark for it, its time and the
 *            last bundle it imported from it.
 *
 * Reading trusts nothing before it is verified, in this order: the
 * magic; the header frame (at most BUNDLE_HEADER_MAX bytes, in canonical
 * form, so no byte of it goes unchecked); the header's fields; the
 * certificate (chains to the given CA, valid now, a device certificate,
 * its CN the header's device id); the header's signature by that
 * certificate's key; the body's SHA-256.  Only then are the body's
 * frames decoded: exactly one counts snapshot first, then non-empty
 * batches whose records' seqs rise strictly from first_seq to last_seq,
 * as many as the header says.  Every size is capped before allocation
 * (struct bundle_limits).  Error messages name the byte offset or the
 * field at fault and never quote a record's contents.
 *
 * What this module does not decide: whether the device is enrolled, not
 * revoked, or the bundle already imported -- that is the collector's
 * store (daemon/bundle_cmd.c, collector/import_cmd.c, cstore.h).
 *
 * Ownership: a struct bundle from bundle_read borrows the caller's bytes,
 * which must outlive it; one from bundle_read_file owns its copy of the
 * file.  Either is released with bundle_free (also after a failure).
 * Buffers returned through unsigned char ** are the caller's to free().
 * Nothing here logs.
 */
#ifndef BUNDLE_H
#define BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "daemon/store.h"
#include "proto/sync.pb-c.h"
#include "sync/pki.h"

#define BUNDLE_MAGIC "FLDBNDL1"
#define BUNDLE_RECEIPT_MAGIC "FLDRCPT1"
#define BUNDLE_MAGIC_LEN 8
#define BUNDLE_FORMAT_VERSION 1
#define BUNDLE_ID_LEN 16

/* The header frame: a certificate (under 1 KiB) and a signature. */
#define BUNDLE_HEADER_MAX (16 * 1024)
#define BUNDLE_CERT_MAX 4096
/* A whole receipt file. */
#define BUNDLE_RECEIPT_MAX 4096

/* What the writer puts in one batch frame. */
#define BUNDLE_BATCH_RECORDS 500
#define BUNDLE_BATCH_BYTES (512 * 1024)

/* Defaults of struct bundle_limits.  A frame holds a batch, or one record
   of the largest sealed size the collector stores with its metadata. */
#define BUNDLE_FILE_MAX (256 * 1024 * 1024)
#define BUNDLE_FRAME_MAX (2 * 1024 * 1024)
#define BUNDLE_RECORDS_MAX 1000000

struct bundle_limits {
	size_t max_file;	/* bytes of a whole bundle */
	size_t max_frame;	/* bytes of one body frame */
	uint64_t max_records;	/* records in one bundle */
};

void bundle_limits_default(struct bundle_limits *lim);

/* Writing: who signs.  Borrowed for the call. */
struct bundle_signer {
	const char *device_id;		/* the certificate's CN */
	mbedtls_pk_context *key;	/* the device's private key */
	const unsigned char *cert_der;	/* its certificate */
	size_t cert_len;
};

/* What a header says about the body it precedes. */
struct bundle_span {
	unsigned char id[BUNDLE_ID_LEN];
	int64_t created_ms;
	uint64_t first_seq, last_seq, records;
};

/*
 * The signed header frame for a body whose SHA-256 is body_sha256: the
 * writer's last step, public so tests and the fuzzer can sign bodies of
 * their own making.  0 and *frame, *len, or -1 with err.
 */
int bundle_header_frame(const struct bundle_signer *s,
    const struct bundle_span *span, const unsigned char body_sha256[32],
    unsigned char **frame, size_t *len, char *err, size_t errlen);

/* What bundle_write wrote. */
struct bundle_info {
	unsigned char id[BUNDLE_ID_LEN];
	uint64_t first_seq, last_seq, records;
	size_t cells;			/* count cells in the snapshot */
	uint64_t bytes;			/* of the whole file */
	int more;			/* records left out by the limits */
};

/*
 * Writes to fd a bundle of st's records after its acknowledged watermark,
 * as many as lim allows, stamped now_ms.  The header comes first but
 * names the body's hash, so the body is staged in scratch_fd (an empty
 * file open for reading and writing, best already unlinked) and copied
 * after it: memory stays at one batch whatever the bundle's size.  No fd
 * is synced or closed.  0 and *info -- info->records 0 when nothing is
 * pending, and then nothing was written to fd -- or -1 with err.
 */
int bundle_write(struct store *st, const struct bundle_signer *s, int fd,
    int scratch_fd, const struct bundle_limits *lim, int64_t now_ms,
    struct bundle_info *info, char *err, size_t errlen);

/* A verified bundle. */
struct bundle {
	char device_id[PKI_CN_MAX + 1];
	unsigned char id[BUNDLE_ID_LEN];
	int64_t created_ms;
	uint64_t first_seq, last_seq, records;
	uint64_t serial;		/* of the certificate that signed it */
	size_t cells;			/* count cells in its snapshot */
	size_t batches;
	/* Private to bundle.c. */
	const unsigned char *data;
	unsigned char *owned;
	size_t len, body, max_frame;
};

/*
 * Verifies len bytes as a bundle against the trusted CA (see the order
 * above) and fills *b.  0, or -1 with err.
 */
int bundle_read(const unsigned char *data, size_t len,
    const mbedtls_x509_crt *ca, const struct bundle_limits *lim,
    struct bundle *b, char *err, size_t errlen);

/* The same for a file of at most lim->max_file bytes. */
int bundle_read_file(const char *path, const mbedtls_x509_crt *ca,
    const struct bundle_limits *lim, struct bundle *b, char *err,
    size_t errlen);

/*
 * Calls fn with each body envelope of a verified bundle in file order
 * (the counts snapshot, then each batch); the envelope is freed when fn
 * returns.  0, fn's value when it is non-zero (and then it stopped), or
 * -1 with err.
 */
typedef int (*bundle_fn)(void *arg, const Field__Sync__Envelope *env);
int bundle_each(const struct bundle *b, bundle_fn fn, void *arg, char *err,
    size_t errlen);

void bundle_free(struct bundle *b);

/* A receipt. */
struct bundle_receipt {
	char device_id[PKI_CN_MAX + 1];
	uint64_t acked_seq;
	int64_t collector_time_ms;
	int has_bundle_id;
	unsigned char bundle_id[BUNDLE_ID_LEN];
};

/* A receipt file signed with the CA's key: 0 and *out, *len, or -1. */
int bundle_receipt_write(const struct bundle_receipt *r,
    mbedtls_pk_context *ca_key, unsigned char **out, size_t *len,
    char *err, size_t errlen);

/*
 * Verifies len bytes as a receipt signed by the key of ca (its first
 * certificate) and fills *r.  Whether it is for this device is the
 * caller's check.  0, or -1 with err.
 */
int bundle_receipt_read(const unsigned char *data, size_t len,
    const mbedtls_x509_crt *ca, struct bundle_receipt *r, char *err,
    size_t errlen);

#endif
