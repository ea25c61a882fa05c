/* bundle.c: see bundle.h. */
#include "sync/bundle.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>

#include "common/rng.h"
#include "common/util.h"
#include "sync/frame.h"
#include "daemon/outbox.h"
#include "sync/wire.h"

#define BUNDLE_STOP 1		/* a frame callback's "stop feeding" */
#define BUNDLE_COPY_BUF (64 * 1024)

typedef unsigned long long ull;	/* for printing seqs and offsets */

void
bundle_limits_default(struct bundle_limits *lim)
{
	lim->max_file = BUNDLE_FILE_MAX;
	lim->max_frame = BUNDLE_FRAME_MAX;
	lim->max_records = BUNDLE_RECORDS_MAX;
}

/* Writing. */

/* Writes all n bytes to fd: 0, or -1 with errno. */
static int
bundle_put(int fd, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
bundle_header_frame(const struct bundle_signer *s,
    const struct bundle_span *span, const unsigned char body_sha256[32],
    unsigned char **frame, size_t *len, char *err, size_t errlen)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__SignedHeader sh = FIELD__SYNC__SIGNED_HEADER__INIT;
	Field__Sync__BundleHeader h = FIELD__SYNC__BUNDLE_HEADER__INIT;
	unsigned char sig[PKI_SIG_MAX], *packed;
	size_t plen, siglen;
	int rc;

	*frame = NULL;
	*len = 0;
	if (s->device_id == NULL || !pki_name_ok(s->device_id, 0))
		return util_fail(err, errlen, "device id: not a device name "
		    "(1-%d letters, digits or ._-:@)", PKI_CN_MAX);
	if (s->cert_len == 0 || s->cert_len > BUNDLE_CERT_MAX)
		return util_fail(err, errlen, "device certificate: %zu bytes, "
		    "not 1 to %d", s->cert_len, BUNDLE_CERT_MAX);
	h.format_version = BUNDLE_FORMAT_VERSION;
	h.device_id = (char *)s->device_id;
	h.bundle_id.data = (uint8_t *)span->id;
	h.bundle_id.len = BUNDLE_ID_LEN;
	h.created_ms = span->created_ms;
	h.first_seq = span->first_seq;
	h.last_seq = span->last_seq;
	h.records = span->records;
	h.body_sha256.data = (uint8_t *)body_sha256;
	h.body_sha256.len = 32;
	h.certificate_der.data = (uint8_t *)s->cert_der;
	h.certificate_der.len = s->cert_len;
	plen = field__sync__bundle_header__get_packed_size(&h);
	if ((packed = malloc(plen)) == NULL)
		return util_fail(err, errlen, "out of memory");
	field__sync__bundle_header__pack(&h, packed);
	if (pki_sign(s->key, packed, plen, sig, sizeof(sig), &siglen, err,
	    errlen) != 0) {
		free(packed);
		return -1;
	}
	sh.header.data = packed;
	sh.header.len = plen;
	sh.signature.data = sig;
	sh.signature.len = siglen;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_BUNDLE_HEADER;
	env.bundle_header = &sh;
	rc = frame_encode(&env, BUNDLE_HEADER_MAX, frame, len);
	free(packed);
	if (rc != 0)
		return util_fail(err, errlen, "the bundle header does not fit "
		    "%d bytes", BUNDLE_HEADER_MAX);
	return 0;
}

/* Appends a body frame to the staging file and to the running hash. */
static int
bundle_stage(int fd, mbedtls_sha256_context *sha, const unsigned char *p,
    size_t n, uint64_t *body, char *err, size_t errlen)
{
	if (bundle_put(fd, p, n) != 0)
		return util_fail(err, errlen, "staging the bundle body: %s",
		    strerror(errno));
	mbedtls_sha256_update_ret(sha, p, n);
	*body += n;
	return 0;
}

/* Copies the staged body (len bytes from its start) after the header. */
static int
bundle_copy(int from, int to, uint64_t len, char *err, size_t errlen)
{
	unsigned char *buf;
	int rc = -1;

	if ((buf = malloc(BUNDLE_COPY_BUF)) == NULL)
		return util_fail(err, errlen, "out of memory");
	if (lseek(from, 0, SEEK_SET) != 0) {
		util_fail(err, errlen, "rewinding the staged body: %s",
		    strerror(errno));
		goto out;
	}
	while (len > 0) {
		size_t want = len < BUNDLE_COPY_BUF ? (size_t)len :
		    BUNDLE_COPY_BUF;
		ssize_t n = read(from, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			util_fail(err, errlen, "reading the staged body: %s",
			    n == 0 ? "it ends early" : strerror(errno));
			goto out;
		}
		if (bundle_put(to, buf, (size_t)n) != 0) {
			util_fail(err, errlen, "writing the bundle: %s",
			    strerror(errno));
			goto out;
		}
		len -= (uint64_t)n;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

int
bundle_write(struct store *st, const struct bundle_signer *s, int fd,
    int scratch_fd, const struct bundle_limits *lim, int64_t now_ms,
    struct bundle_info *info, char *err, size_t errlen)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__CountsSnapshot *counts = NULL;
	Field__Sync__RecordBatch *b = NULL;
	mbedtls_sha256_context sha;
	struct bundle_span span;
	unsigned char hash[32], *frame = NULL;
	uint64_t after, body = 0;
	size_t n, per = BUNDLE_BATCH_RECORDS;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	memset(&span, 0, sizeof(span));
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	if (outbox_acked(st, &after) != 0) {
		util_fail(err, errlen, "reading the acknowledged watermark: "
		    "%s", store_errmsg(st));
		goto out;
	}
	if (outbox_counts(st, now_ms, &counts) != 0) {
		util_fail(err, errlen, "reading the counts: %s",
		    store_errmsg(st));
		goto out;
	}
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_COUNTS;
	env.counts = counts;
	if (frame_encode(&env, lim->max_frame, &frame, &n) != 0) {
		util_fail(err, errlen, "the counts snapshot (%zu cells) does "
		    "not fit a frame of %zu bytes", counts->n_cells,
		    lim->max_frame);
		goto out;
	}
	info->cells = counts->n_cells;
	if (bundle_stage(scratch_fd, &sha, frame, n, &body, err, errlen) != 0)
		goto out;
	free(frame);
	frame = NULL;
	for (;;) {
		uint64_t room = lim->max_records - span.records;
		size_t want = room < per ? (size_t)room : per;

		if (outbox_batch(st, after, want > 0 ? want : 1,
		    BUNDLE_BATCH_BYTES, &b) != 0) {
			util_fail(err, errlen, "reading the records after seq "
			    "%llu: %s", (ull)after, store_errmsg(st));
			goto out;
		}
		if (b->n_records == 0)
			break;
		if (want == 0) {
			info->more = 1;
			break;
		}
		env.kind_case = FIELD__SYNC__ENVELOPE__KIND_BATCH;
		env.batch = b;
		if (frame_encode(&env, lim->max_frame, &frame, &n) != 0) {
			/* Many small records over a small frame limit: fewer
			   per batch, down to one. */
			if (b->n_records > 1) {
				per = b->n_records / 2;
				outbox_batch_free(b);
				b = NULL;
				continue;
			}
			util_fail(err, errlen, "record seq %llu does not fit "
			    "a frame of %zu bytes", (ull)b->records[0]->seq,
			    lim->max_frame);
			goto out;
		}
		if (BUNDLE_MAGIC_LEN + BUNDLE_HEADER_MAX + body + n >
		    lim->max_file) {
			if (span.records == 0) {
				util_fail(err, errlen, "the records from seq "
				    "%llu do not fit a bundle of %zu bytes",
				    (ull)b->records[0]->seq, lim->max_file);
				goto out;
			}
			info->more = 1;
			break;
		}
		if (bundle_stage(scratch_fd, &sha, frame, n, &body, err,
		    errlen) != 0)
			goto out;
		free(frame);
		frame = NULL;
		if (span.records == 0)
			span.first_seq = b->records[0]->seq;
		span.last_seq = b->records[b->n_records - 1]->seq;
		span.records += b->n_records;
		after = span.last_seq;
		outbox_batch_free(b);
		b = NULL;
	}
	if (span.records == 0) {
		rc = 0;		/* nothing pending: nothing written */
		goto out;
	}
	mbedtls_sha256_finish_ret(&sha, hash);
	if (rng_bytes(span.id, sizeof(span.id)) != 0) {
		util_fail(err, errlen, "no entropy for a bundle id");
		goto out;
	}
	span.created_ms = now_ms;
	if (bundle_header_frame(s, &span, hash, &frame, &n, err, errlen) != 0)
		goto out;
	if (bundle_put(fd, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN) != 0 ||
	    bundle_put(fd, frame, n) != 0) {
		util_fail(err, errlen, "writing the bundle: %s",
		    strerror(errno));
		goto out;
	}
	if (bundle_copy(scratch_fd, fd, body, err, errlen) != 0)
		goto out;
	memcpy(info->id, span.id, BUNDLE_ID_LEN);
	info->first_seq = span.first_seq;
	info->last_seq = span.last_seq;
	info->records = span.records;
	info->bytes = BUNDLE_MAGIC_LEN + n + body;
	rc = 0;
out:
	if (rc != 0)
		info->records = 0;
	mbedtls_sha256_free(&sha);
	free(frame);
	outbox_batch_free(b);
	outbox_counts_free(counts);
	return rc;
}

/* Reading. */

static int
bundle_take_first(void *arg, Field__Sync__Envelope *env)
{
	*(Field__Sync__Envelope **)arg = env;
	return BUNDLE_STOP;
}

/*
 * Decodes the one frame at data[off..len), of at most cap bytes: 0 with
 * *env (the caller frees it) and *end, the offset just after it; or -1
 * with err.  `what` names the frame in messages.
 */
static int
bundle_first_frame(const unsigned char *data, size_t len, size_t off,
    size_t cap, const char *what, Field__Sync__Envelope **env, size_t *end,
    char *err, size_t errlen)
{
	struct frame_reader r;
	char ferr[160];
	int rc;

	*env = NULL;
	frame_reader_init(&r, cap);
	r.offset = off;		/* so messages name offsets in the file */
	rc = frame_reader_feed(&r, data + off, len - off, bundle_take_first,
	    env, ferr, sizeof(ferr));
	*end = (size_t)r.offset;
	frame_reader_free(&r);
	if (rc < 0)
		return util_fail(err, errlen, "%s: %s", what, ferr);
	if (rc != BUNDLE_STOP)
		return util_fail(err, errlen, "frame at byte %zu: the %s is "
		    "cut short (the file ends at byte %zu)", off, what, len);
	return 0;
}

/*
 * 1 when frame[0..n) is exactly what encoding env gives and holds no
 * field the format lacks: no repeated or reordered field, no over-long
 * varint, so that no byte of a signed message's wrapping goes unchecked.
 * inner is the signed message's wrapper (SignedHeader, SignedReceipt).
 * protobuf-c keeps unknown fields and packs them again, so those are
 * looked for apart.
 */
static int
bundle_canonical(const Field__Sync__Envelope *env,
    const ProtobufCMessage *inner, const unsigned char *frame, size_t n,
    size_t cap)
{
	unsigned char *enc;
	size_t elen;
	int ok;

	if (env->base.n_unknown_fields != 0 || inner->n_unknown_fields != 0)
		return 0;
	if (frame_encode(env, cap, &enc, &elen) != 0)
		return 0;
	ok = elen == n && memcmp(enc, frame, n) == 0;
	free(enc);
	return ok;
}

static int
bundle_check_header(const Field__Sync__BundleHeader *h,
    const struct bundle_limits *lim, char *err, size_t errlen)
{
	if (h->format_version != BUNDLE_FORMAT_VERSION)
		return util_fail(err, errlen, "bundle header: format_version "
		    "%u is not %d (a newer device? update the collector)",
		    (unsigned)h->format_version, BUNDLE_FORMAT_VERSION);
	if (h->device_id == NULL || !pki_name_ok(h->device_id, 0))
		return util_fail(err, errlen, "bundle header: device_id is "
		    "not a device name (1-%d letters, digits or ._-:@)",
		    PKI_CN_MAX);
	if (h->bundle_id.len != BUNDLE_ID_LEN)
		return util_fail(err, errlen, "bundle header: bundle_id has "
		    "%zu bytes, not %d", h->bundle_id.len, BUNDLE_ID_LEN);
	if (h->body_sha256.len != 32)
		return util_fail(err, errlen, "bundle header: body_sha256 has "
		    "%zu bytes, not 32", h->body_sha256.len);
	if (h->certificate_der.len == 0 ||
	    h->certificate_der.len > BUNDLE_CERT_MAX)
		return util_fail(err, errlen, "bundle header: certificate_der "
		    "has %zu bytes, not 1 to %d", h->certificate_der.len,
		    BUNDLE_CERT_MAX);
	if (h->first_seq == 0 || h->last_seq < h->first_seq)
		return util_fail(err, errlen, "bundle header: first_seq %llu "
		    "and last_seq %llu are not a range of seqs",
		    (ull)h->first_seq, (ull)h->last_seq);
	if (h->records == 0 || h->records - 1 > h->last_seq - h->first_seq)
		return util_fail(err, errlen, "bundle header: records %llu "
		    "cannot have seqs %llu..%llu", (ull)h->records,
		    (ull)h->first_seq, (ull)h->last_seq);
	if (h->records > lim->max_records)
		return util_fail(err, errlen, "bundle header: records %llu is "
		    "over the limit of %llu", (ull)h->records,
		    (ull)lim->max_records);
	return 0;
}

/*
 * The header's certificate: issued by ca and valid now, a device
 * certificate (digitalSignature, clientAuth), its CN the header's
 * device id.  0 with *crt (the caller frees it) and *serial, or -1.
 */
static int
bundle_check_cert(const Field__Sync__BundleHeader *h,
    const mbedtls_x509_crt *ca, mbedtls_x509_crt *crt, uint64_t *serial,
    char *err, size_t errlen)
{
	char cn[PKI_CN_MAX + 1], perr[384];

	if (pki_cert_parse(crt, h->certificate_der.data,
	    h->certificate_der.len, perr, sizeof(perr)) != 0)
		return util_fail(err, errlen, "bundle header: "
		    "certificate_der: %s", perr);
	if (pki_cert_verify(crt, ca, perr, sizeof(perr)) != 0)
		return util_fail(err, errlen, "bundle certificate: %s", perr);
	if (mbedtls_x509_crt_check_key_usage(crt,
	    MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0 ||
	    mbedtls_x509_crt_check_extended_key_usage(crt,
	    MBEDTLS_OID_CLIENT_AUTH,
	    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) != 0)
		return util_fail(err, errlen, "bundle certificate: not a "
		    "device certificate (key usage)");
	if (pki_cert_cn(crt, cn, sizeof(cn)) != 0)
		return util_fail(err, errlen, "bundle certificate: no usable "
		    "CN");
	/* Both names are checked names here, so they are safe to show. */
	if (strcmp(cn, h->device_id) != 0)
		return util_fail(err, errlen, "bundle header: device_id "
		    "\"%s\" is not the certificate's CN \"%s\"", h->device_id,
		    cn);
	if (pki_cert_serial(crt, serial) != 0)
		return util_fail(err, errlen, "bundle certificate: serial "
		    "number out of range");
	return 0;
}

/*
 * The body's frames, checked against the verified header as they come:
 * one counts snapshot, then non-empty batches whose seqs rise strictly
 * from first_seq to last_seq.  The same pass hands them to fn, if any.
 */
struct bundle_body {
	const struct bundle *b;
	const struct frame_reader *r;
	uint64_t records, last;		/* so far */
	size_t batches, cells;
	int counts, failed, stopped;
	bundle_fn fn;
	void *arg;
	char *err;
	size_t errlen;
};

static int
bundle_body_frame(void *arg, Field__Sync__Envelope *env)
{
	struct bundle_body *c = arg;
	const struct bundle *b = c->b;
	ull at = (ull)c->r->offset;	/* the start of this frame */
	int rc;

	switch (env->kind_case) {
	case FIELD__SYNC__ENVELOPE__KIND_COUNTS:
		if (c->counts || c->batches) {
			util_fail(c->err, c->errlen, "frame at byte %llu: a "
			    "counts snapshot out of place (there is one, "
			    "before the batches)", at);
			goto bad;
		}
		if (env->counts->n_cells > WIRE_MAX_COUNT_CELLS) {
			util_fail(c->err, c->errlen, "frame at byte %llu: a "
			    "counts snapshot of %zu cells, over %d", at,
			    env->counts->n_cells, WIRE_MAX_COUNT_CELLS);
			goto bad;
		}
		c->counts = 1;
		c->cells = env->counts->n_cells;
		break;
	case FIELD__SYNC__ENVELOPE__KIND_BATCH:
		if (!c->counts) {
			util_fail(c->err, c->errlen, "frame at byte %llu: a "
			    "batch before the counts snapshot", at);
			goto bad;
		}
		if (env->batch->n_records == 0) {
			util_fail(c->err, c->errlen, "frame at byte %llu: an "
			    "empty batch", at);
			goto bad;
		}
		if (env->batch->n_records > b->records - c->records) {
			util_fail(c->err, c->errlen, "frame at byte %llu: "
			    "more records than the header's %llu", at,
			    (ull)b->records);
			goto bad;
		}
		for (size_t i = 0; i < env->batch->n_records; i++) {
			uint64_t seq = env->batch->records[i]->seq;

			if (c->records == 0 && i == 0 && seq != b->first_seq) {
				util_fail(c->err, c->errlen, "frame at byte "
				    "%llu: the first record has seq %llu, not "
				    "the header's first_seq %llu", at,
				    (ull)seq, (ull)b->first_seq);
				goto bad;
			}
			if (seq <= c->last || seq > b->last_seq) {
				util_fail(c->err, c->errlen, "frame at byte "
				    "%llu: record %zu of the batch has seq "
				    "%llu, not after seq %llu and within "
				    "first_seq..last_seq %llu..%llu", at,
				    i + 1, (ull)seq, (ull)c->last,
				    (ull)b->first_seq, (ull)b->last_seq);
				goto bad;
			}
			c->last = seq;
		}
		c->records += env->batch->n_records;
		c->batches++;
		break;
	default:
		util_fail(c->err, c->errlen, "frame at byte %llu: a %s "
		    "envelope has no place in a bundle's body", at,
		    wire_kind_name(env->kind_case));
		goto bad;
	}
	if (c->fn != NULL && (rc = c->fn(c->arg, env)) != 0)
		c->stopped = rc;
	field__sync__envelope__free_unpacked(env, NULL);
	return c->stopped ? BUNDLE_STOP : 0;
bad:
	c->failed = 1;
	field__sync__envelope__free_unpacked(env, NULL);
	return BUNDLE_STOP;
}

/* One pass over a verified bundle's body: 0, fn's value, or -1. */
static int
bundle_body_pass(const struct bundle *b, bundle_fn fn, void *arg,
    struct bundle_body *c, char *err, size_t errlen)
{
	struct frame_reader r;
	char ferr[160];
	size_t pending;
	int rc;

	memset(c, 0, sizeof(*c));
	c->b = b;
	c->r = &r;
	c->last = b->first_seq - 1;
	c->fn = fn;
	c->arg = arg;
	c->err = err;
	c->errlen = errlen;
	frame_reader_init(&r, b->max_frame);
	r.offset = b->body;
	rc = frame_reader_feed(&r, b->data + b->body, b->len - b->body,
	    bundle_body_frame, c, ferr, sizeof(ferr));
	pending = frame_reader_pending(&r);
	frame_reader_free(&r);
	if (rc < 0)
		return util_fail(err, errlen, "%s", ferr);
	if (c->failed)
		return -1;
	if (c->stopped)
		return c->stopped;
	if (pending != 0)
		return util_fail(err, errlen, "byte %zu: the bundle ends "
		    "inside a frame", b->len - pending);
	if (!c->counts)
		return util_fail(err, errlen, "byte %zu: the bundle has no "
		    "counts snapshot", b->body);
	if (c->records != b->records || c->last != b->last_seq)
		return util_fail(err, errlen, "byte %zu: the bundle ends "
		    "after %llu records up to seq %llu; its header says %llu "
		    "up to seq %llu", b->len, (ull)c->records, (ull)c->last,
		    (ull)b->records, (ull)b->last_seq);
	return 0;
}

int
bundle_read(const unsigned char *data, size_t len, const mbedtls_x509_crt *ca,
    const struct bundle_limits *lim, struct bundle *b, char *err,
    size_t errlen)
{
	Field__Sync__Envelope *env = NULL;
	Field__Sync__BundleHeader *h = NULL;
	Field__Sync__SignedHeader *sh;
	struct bundle_body c;
	mbedtls_x509_crt crt;
	unsigned char hash[32];
	char perr[160];
	size_t hend;
	int rc = -1;

	memset(b, 0, sizeof(*b));
	mbedtls_x509_crt_init(&crt);
	if (len > lim->max_file) {
		util_fail(err, errlen, "a bundle of %zu bytes is over the "
		    "limit of %zu", len, lim->max_file);
		goto out;
	}
	if (len < BUNDLE_MAGIC_LEN ||
	    memcmp(data, BUNDLE_MAGIC, BUNDLE_MAGIC_LEN) != 0) {
		util_fail(err, errlen, "byte 0: not a bundle (no %s magic)",
		    BUNDLE_MAGIC);
		goto out;
	}
	if (bundle_first_frame(data, len, BUNDLE_MAGIC_LEN, BUNDLE_HEADER_MAX,
	    "bundle header", &env, &hend, err, errlen) != 0)
		goto out;
	if (env->kind_case != FIELD__SYNC__ENVELOPE__KIND_BUNDLE_HEADER) {
		util_fail(err, errlen, "frame at byte %d: a %s envelope where "
		    "the bundle header must be", BUNDLE_MAGIC_LEN,
		    wire_kind_name(env->kind_case));
		goto out;
	}
	if (!bundle_canonical(env, &env->bundle_header->base,
	    data + BUNDLE_MAGIC_LEN, hend - BUNDLE_MAGIC_LEN,
	    BUNDLE_HEADER_MAX)) {
		util_fail(err, errlen, "frame at byte %d: the bundle header "
		    "is not in canonical form (unknown, repeated or reordered "
		    "fields)", BUNDLE_MAGIC_LEN);
		goto out;
	}
	sh = env->bundle_header;
	h = field__sync__bundle_header__unpack(NULL, sh->header.len,
	    sh->header.data);
	if (h == NULL) {
		util_fail(err, errlen, "bundle header: its header field does "
		    "not decode as a BundleHeader");
		goto out;
	}
	if (bundle_check_header(h, lim, err, errlen) != 0 ||
	    bundle_check_cert(h, ca, &crt, &b->serial, err, errlen) != 0)
		goto out;
	if (pki_verify(&crt.pk, sh->header.data, sh->header.len,
	    sh->signature.data, sh->signature.len, perr, sizeof(perr)) != 0) {
		util_fail(err, errlen, "bundle header: signature: %s (altered, "
		    "or not signed by the certificate's key)", perr);
		goto out;
	}
	/* The body is hashed before any of it is decoded. */
	mbedtls_sha256_ret(data + hend, len - hend, hash, 0);
	if (memcmp(hash, h->body_sha256.data, sizeof(hash)) != 0) {
		util_fail(err, errlen, "bytes %zu to %zu: the body does not "
		    "match the header's body_sha256 (altered, cut short or "
		    "extended)", hend, len);
		goto out;
	}
	snprintf(b->device_id, sizeof(b->device_id), "%s", h->device_id);
	memcpy(b->id, h->bundle_id.data, BUNDLE_ID_LEN);
	b->created_ms = h->created_ms;
	b->first_seq = h->first_seq;
	b->last_seq = h->last_seq;
	b->records = h->records;
	b->data = data;
	b->len = len;
	b->body = hend;
	b->max_frame = lim->max_frame;
	if (bundle_body_pass(b, NULL, NULL, &c, err, errlen) != 0)
		goto out;
	b->cells = c.cells;
	b->batches = c.batches;
	rc = 0;
out:
	if (rc != 0)
		memset(b, 0, sizeof(*b));
	if (h != NULL)
		field__sync__bundle_header__free_unpacked(h, NULL);
	if (env != NULL)
		field__sync__envelope__free_unpacked(env, NULL);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

int
bundle_read_file(const char *path, const mbedtls_x509_crt *ca,
    const struct bundle_limits *lim, struct bundle *b, char *err,
    size_t errlen)
{
	unsigned char *buf;
	char inner[512];
	size_t len;

	memset(b, 0, sizeof(*b));
	buf = (unsigned char *)util_read_file(path, lim->max_file, &len);
	if (buf == NULL) {
		if (errno == EFBIG)
			return util_fail(err, errlen, "%s: larger than a "
			    "bundle may be (%zu bytes)", path, lim->max_file);
		return util_fail(err, errlen, "%s: %s", path,
		    strerror(errno));
	}
	if (bundle_read(buf, len, ca, lim, b, inner, sizeof(inner)) != 0) {
		free(buf);
		return util_fail(err, errlen, "%s: %s", path, inner);
	}
	b->owned = buf;
	return 0;
}

int
bundle_each(const struct bundle *b, bundle_fn fn, void *arg, char *err,
    size_t errlen)
{
	struct bundle_body c;

	if (b->data == NULL)
		return util_fail(err, errlen, "not a verified bundle");
	return bundle_body_pass(b, fn, arg, &c, err, errlen);
}

void
bundle_free(struct bundle *b)
{
	if (b == NULL)
		return;
	free(b->owned);
	memset(b, 0, sizeof(*b));
}

/* Receipts. */

int
bundle_receipt_write(const struct bundle_receipt *r,
    mbedtls_pk_context *ca_key, unsigned char **out, size_t *len,
    char *err, size_t errlen)
{
	Field__Sync__Envelope env = FIELD__SYNC__ENVELOPE__INIT;
	Field__Sync__SignedReceipt sr = FIELD__SYNC__SIGNED_RECEIPT__INIT;
	Field__Sync__Receipt rc = FIELD__SYNC__RECEIPT__INIT;
	unsigned char sig[PKI_SIG_MAX], *packed, *frame;
	size_t plen, siglen, flen;

	*out = NULL;
	*len = 0;
	if (!pki_name_ok(r->device_id, 0))
		return util_fail(err, errlen, "receipt: device id is not a "
		    "device name");
	rc.device_id = (char *)r->device_id;
	rc.acked_seq = r->acked_seq;
	rc.collector_time_ms = r->collector_time_ms;
	if (r->has_bundle_id) {
		rc.bundle_id.data = (uint8_t *)r->bundle_id;
		rc.bundle_id.len = BUNDLE_ID_LEN;
	}
	plen = field__sync__receipt__get_packed_size(&rc);
	if ((packed = malloc(plen ? plen : 1)) == NULL)
		return util_fail(err, errlen, "out of memory");
	field__sync__receipt__pack(&rc, packed);
	if (pki_sign(ca_key, packed, plen, sig, sizeof(sig), &siglen, err,
	    errlen) != 0) {
		free(packed);
		return -1;
	}
	sr.receipt.data = packed;
	sr.receipt.len = plen;
	sr.signature.data = sig;
	sr.signature.len = siglen;
	env.kind_case = FIELD__SYNC__ENVELOPE__KIND_RECEIPT;
	env.receipt = &sr;
	if (frame_encode(&env, BUNDLE_RECEIPT_MAX - BUNDLE_MAGIC_LEN, &frame,
	    &flen) != 0) {
		free(packed);
		return util_fail(err, errlen, "receipt: does not fit %d bytes",
		    BUNDLE_RECEIPT_MAX);
	}
	free(packed);
	if ((*out = malloc(BUNDLE_MAGIC_LEN + flen)) == NULL) {
		free(frame);
		return util_fail(err, errlen, "out of memory");
	}
	memcpy(*out, BUNDLE_RECEIPT_MAGIC, BUNDLE_MAGIC_LEN);
	memcpy(*out + BUNDLE_MAGIC_LEN, frame, flen);
	*len = BUNDLE_MAGIC_LEN + flen;
	free(frame);
	return 0;
}

int
bundle_receipt_read(const unsigned char *data, size_t len,
    const mbedtls_x509_crt *ca, struct bundle_receipt *r, char *err,
    size_t errlen)
{
	Field__Sync__Envelope *env = NULL;
	Field__Sync__Receipt *rc = NULL;
	Field__Sync__SignedReceipt *sr;
	char perr[160];
	size_t end;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (len > BUNDLE_RECEIPT_MAX) {
		util_fail(err, errlen, "a receipt of %zu bytes is over the "
		    "limit of %d", len, BUNDLE_RECEIPT_MAX);
		goto out;
	}
	if (len < BUNDLE_MAGIC_LEN ||
	    memcmp(data, BUNDLE_RECEIPT_MAGIC, BUNDLE_MAGIC_LEN) != 0) {
		util_fail(err, errlen, "byte 0: not a receipt (no %s magic)",
		    BUNDLE_RECEIPT_MAGIC);
		goto out;
	}
	if (bundle_first_frame(data, len, BUNDLE_MAGIC_LEN, BUNDLE_RECEIPT_MAX,
	    "receipt", &env, &end, err, errlen) != 0)
		goto out;
	if (end != len) {
		util_fail(err, errlen, "byte %zu: %zu bytes after the receipt",
		    end, len - end);
		goto out;
	}
	if (env->kind_case != FIELD__SYNC__ENVELOPE__KIND_RECEIPT) {
		util_fail(err, errlen, "frame at byte %d: a %s envelope where "
		    "the receipt must be", BUNDLE_MAGIC_LEN,
		    wire_kind_name(env->kind_case));
		goto out;
	}
	if (!bundle_canonical(env, &env->receipt->base,
	    data + BUNDLE_MAGIC_LEN, end - BUNDLE_MAGIC_LEN,
	    BUNDLE_RECEIPT_MAX)) {
		util_fail(err, errlen, "frame at byte %d: the receipt is not "
		    "in canonical form (unknown, repeated or reordered fields)",
		    BUNDLE_MAGIC_LEN);
		goto out;
	}
	sr = env->receipt;
	if (ca == NULL || ca->raw.len == 0) {
		util_fail(err, errlen, "receipt: no CA certificate to check "
		    "it with");
		goto out;
	}
	/* mbedtls 2.28 takes the key non-const but only reads it. */
	if (pki_verify((mbedtls_pk_context *)&ca->pk, sr->receipt.data,
	    sr->receipt.len, sr->signature.data, sr->signature.len, perr,
	    sizeof(perr)) != 0) {
		util_fail(err, errlen, "receipt: signature: %s (altered, or "
		    "not from this device's collector)", perr);
		goto out;
	}
	rc = field__sync__receipt__unpack(NULL, sr->receipt.len,
	    sr->receipt.data);
	if (rc == NULL) {
		util_fail(err, errlen, "receipt: its receipt field does not "
		    "decode as a Receipt");
		goto out;
	}
	if (rc->device_id == NULL || !pki_name_ok(rc->device_id, 0)) {
		util_fail(err, errlen, "receipt: device_id is not a device "
		    "name");
		goto out;
	}
	if (rc->bundle_id.len != 0 && rc->bundle_id.len != BUNDLE_ID_LEN) {
		util_fail(err, errlen, "receipt: bundle_id has %zu bytes, "
		    "not %d", rc->bundle_id.len, BUNDLE_ID_LEN);
		goto out;
	}
	snprintf(r->device_id, sizeof(r->device_id), "%s", rc->device_id);
	r->acked_seq = rc->acked_seq;
	r->collector_time_ms = rc->collector_time_ms;
	if (rc->bundle_id.len == BUNDLE_ID_LEN) {
		r->has_bundle_id = 1;
		memcpy(r->bundle_id, rc->bundle_id.data, BUNDLE_ID_LEN);
	}
	ret = 0;
out:
	if (ret != 0)
		memset(r, 0, sizeof(*r));
	if (rc != NULL)
		field__sync__receipt__free_unpacked(rc, NULL);
	if (env != NULL)
		field__sync__envelope__free_unpacked(env, NULL);
	return ret;
}
