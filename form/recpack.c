/* recpack.c: see recpack.h. */
#include "form/recpack.h"

#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/*
 * Level -1: on a record of a few hundred bytes, zstd's fixed costs rule,
 * and most of them are building a Huffman table for the literals; a
 * negative level leaves literals raw.  Against level 1 that is half the
 * instructions for about 2% more bytes (316 against 310 for a household,
 * bench/bench_store.c), and level 1 already gave up 5% of size to higher
 * levels for a third of their time.  The frame is the same kind of zstd
 * frame: records packed at any level open with the same dictionary.
 */
#define RECPACK_LEVEL (-1)

/* Prepared dictionaries, by form version: loading one per record costs
   far more than compressing the record. */
#define RECPACK_DICTS 32

struct recpack {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	struct {
		const struct form *f;
		ZSTD_CDict *cd;
		ZSTD_DDict *dd;
	} dicts[RECPACK_DICTS];
	size_t next;			/* the slot reused when all are full */
};

/* The slot for f, taken when missing. */
static int
recpack_slot(struct recpack *rp, const struct form *f)
{
	size_t i;

	for (i = 0; i < RECPACK_DICTS; i++)
		if (rp->dicts[i].f == f)
			return (int)i;
	for (i = 0; i < RECPACK_DICTS && rp->dicts[i].f; i++)
		;
	if (i == RECPACK_DICTS) {
		i = rp->next++ % RECPACK_DICTS;
		ZSTD_freeCDict(rp->dicts[i].cd);
		ZSTD_freeDDict(rp->dicts[i].dd);
	}
	rp->dicts[i].f = f;
	rp->dicts[i].cd = NULL;
	rp->dicts[i].dd = NULL;
	return (int)i;
}

/* The prepared dictionary for compressing (or, decompress != 0, for
   decompressing) f's records; NULL when out of memory. */
static void *
recpack_dict(struct recpack *rp, const struct form *f, int decompress)
{
	int i = recpack_slot(rp, f);
	size_t dlen;
	const char *dict = form_dict(f, &dlen);

	if (i < 0)
		return NULL;
	if (decompress) {
		if (rp->dicts[i].dd == NULL)
			rp->dicts[i].dd = ZSTD_createDDict(dict, dlen);
		return rp->dicts[i].dd;
	}
	if (rp->dicts[i].cd == NULL)
		rp->dicts[i].cd = ZSTD_createCDict(dict, dlen, RECPACK_LEVEL);
	return rp->dicts[i].cd;
}

struct recpack *
recpack_new(void)
{
	struct recpack *rp = calloc(1, sizeof(*rp));

	/* The decompression side is made on first use: a board never
	   opens a record, and its memory is counted. */
	if (rp && (rp->c = ZSTD_createCCtx()) == NULL) {
		recpack_free(rp);
		return NULL;
	}
	return rp;
}

void
recpack_free(struct recpack *rp)
{
	if (rp == NULL)
		return;
	for (size_t i = 0; i < RECPACK_DICTS; i++) {
		ZSTD_freeCDict(rp->dicts[i].cd);
		ZSTD_freeDDict(rp->dicts[i].dd);
	}
	ZSTD_freeCCtx(rp->c);
	ZSTD_freeDCtx(rp->d);
	free(rp);
}

int
recpack_encode(struct recpack *rp, const struct form *f,
    const Field__Record *r, unsigned char **out, size_t *len)
{
	Field__Record bare = *r;
	size_t plen, cap, n;
	unsigned char *pb, *buf;
	ZSTD_CDict *cd = recpack_dict(rp, f, 0);

	/* Bound as associated data already: not sealed twice. */
	bare.id = bare.form_id = bare.form_version = bare.device_id = "";
	plen = field__record__get_packed_size(&bare);
	r = &bare;

	cap = 1 + ZSTD_compressBound(plen);
	if ((pb = malloc(plen ? plen : 1)) == NULL)
		return -1;
	if ((buf = malloc(cap > plen ? cap : plen)) == NULL) {
		free(pb);
		return -1;
	}
	field__record__pack(r, pb);
	n = cd == NULL ? 0 : ZSTD_compress_usingCDict(rp->c, buf + 1, cap - 1,
	    pb, plen, cd);
	if (cd != NULL && !ZSTD_isError(n) && n + 1 < plen) {
		buf[0] = RECPACK_ZSTD;
		*len = n + 1;
	} else {
		memcpy(buf, pb, plen);	/* no smaller: as it is */
		*len = plen;
	}
	mbedtls_platform_zeroize(pb, plen);
	free(pb);
	*out = buf;
	return 0;
}

/* Puts a metadata field back, or checks it where the record has it. */
static int
meta_fill(char **field, const char *want)
{
	if (**field == '\0') {
		char *dup = strdup(want);

		if (dup == NULL)
			return -1;
		*field = dup;	/* was protobuf-c's shared empty string */
		return 0;
	}
	return strcmp(*field, want) == 0 ? 0 : -1;
}

static int
decode_meta(Field__Record **out, const struct recpack_meta *m, char *err,
    size_t errlen)
{
	Field__Record *r = *out;

	if (meta_fill(&r->id, m->id) == 0 &&
	    meta_fill(&r->form_id, m->form_id) == 0 &&
	    meta_fill(&r->form_version, m->form_version) == 0 &&
	    meta_fill(&r->device_id, m->device_id) == 0)
		return 0;
	snprintf(err, errlen, "sealed record does not match its metadata");
	field__record__free_unpacked(r, NULL);
	*out = NULL;
	return -1;
}

static int
decode_raw(struct recpack *rp, const struct form *f,
    const unsigned char *pt, size_t len, size_t max, Field__Record **out,
    char *err, size_t errlen);

int
recpack_decode(struct recpack *rp, const struct form *f,
    const struct recpack_meta *m, const unsigned char *pt, size_t len,
    size_t max, Field__Record **out, char *err, size_t errlen)
{
	if (decode_raw(rp, f, pt, len, max, out, err, errlen) != 0)
		return -1;
	return decode_meta(out, m, err, errlen);
}

static int
decode_raw(struct recpack *rp, const struct form *f,
    const unsigned char *pt, size_t len, size_t max, Field__Record **out,
    char *err, size_t errlen)
{
	unsigned long long size;
	unsigned char *buf;
	ZSTD_DDict *dd;
	size_t n;

	*out = NULL;
	if (len == 0 || pt[0] != RECPACK_ZSTD) {
		if (len > max) {
			snprintf(err, errlen, "record of %zu bytes, over %zu",
			    len, max);
			return -1;
		}
		if ((*out = field__record__unpack(NULL, len, pt)) == NULL) {
			snprintf(err, errlen, "record does not decode");
			return -1;
		}
		return 0;
	}
	if (f == NULL) {
		snprintf(err, errlen, "compressed with a form version this "
		    "catalogue does not hold");
		return -1;
	}
	size = ZSTD_getFrameContentSize(pt + 1, len - 1);
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN
	    || size > max) {
		snprintf(err, errlen, "compressed record: bad or oversized "
		    "frame header");
		return -1;
	}
	if ((buf = malloc(size ? size : 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (rp->d == NULL)
		rp->d = ZSTD_createDCtx();
	dd = recpack_dict(rp, f, 1);
	n = dd == NULL || rp->d == NULL ? 0 : ZSTD_decompress_usingDDict(
	    rp->d, buf, size, pt + 1, len - 1, dd);
	if (dd == NULL || rp->d == NULL || ZSTD_isError(n) || n != size)
		snprintf(err, errlen, "compressed record does not decompress "
		    "with form %s version %s", form_id(f), form_version(f));
	else if ((*out = field__record__unpack(NULL, n, buf)) == NULL)
		snprintf(err, errlen, "record does not decode");
	mbedtls_platform_zeroize(buf, size);
	free(buf);
	return *out ? 0 : -1;
}
