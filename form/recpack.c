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

/*
 * The protobuf of a record, written here rather than by protobuf-c's
 * generic packer, which reads every field's descriptor twice (a size
 * pass, a write pass) and was a tenth of a submit's instructions.  The
 * bytes are those field__record__pack writes (tests/unit/test_recpack.c
 * checks them against it): fields in number order; a proto3 scalar or
 * string only when not zero or empty; a member of the oneof when it is
 * the one set, even zero, unless a NULL or protobuf-c's shared empty
 * string; each element of a repeated field, even empty.
 */
#define PB_VARINT 0
#define PB_FIXED64 1
#define PB_LEN 2
#define PB_TAG(num, type) ((unsigned char)((num) << 3 | (type)))

static size_t
pb_vlen(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static unsigned char *
pb_varint(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

/* A length-delimited field of len bytes: its whole size. */
static size_t
pb_len_field(size_t len)
{
	return 1 + pb_vlen(len) + len;
}

static unsigned char *
pb_bytes(unsigned char *p, int num, const char *s, size_t len)
{
	*p++ = PB_TAG(num, PB_LEN);
	p = pb_varint(p, len);
	memcpy(p, s, len);
	return p + len;
}

static unsigned char *
pb_double(unsigned char *p, int num, double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	*p++ = PB_TAG(num, PB_FIXED64);
	for (int i = 0; i < 8; i++)
		*p++ = (unsigned char)(u >> (8 * i));
	return p;
}

static int
pb_str_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static size_t pb_value_size(const Field__Value *v);

static size_t
pb_point_size(const Field__GeoPoint *g)
{
	return (g->latitude != 0 ? 9 : 0) + (g->longitude != 0 ? 9 : 0) +
	    (g->altitude != 0 ? 9 : 0) + (g->accuracy != 0 ? 9 : 0) +
	    (g->has_altitude ? 2 : 0) + (g->has_accuracy ? 2 : 0);
}

static size_t
pb_choices_size(const Field__Choices *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n_names; i++)
		n += pb_len_field(c->names[i] ? strlen(c->names[i]) : 0);
	return n;
}

static size_t
pb_group_size(const Field__Group *g)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n_values; i++)
		n += pb_len_field(pb_value_size(g->values[i]));
	return n;
}

static size_t
pb_repeat_size(const Field__Repeat *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_items; i++)
		n += pb_len_field(pb_group_size(r->items[i]));
	return n;
}

static size_t
pb_value_size(const Field__Value *v)
{
	size_t n = pb_str_set(v->name) ? pb_len_field(strlen(v->name)) : 0;

	switch (v->v_case) {
	case FIELD__VALUE__V_TEXT:
		if (v->text != NULL && v->text != protobuf_c_empty_string)
			n += pb_len_field(strlen(v->text));
		break;
	case FIELD__VALUE__V_INTEGER:
		n += 1 + pb_vlen(((uint64_t)v->integer << 1) ^
		    (uint64_t)(v->integer >> 63));
		break;
	case FIELD__VALUE__V_DECIMAL:
		n += 9;
		break;
	case FIELD__VALUE__V_CHOICES:
		if (v->choices)
			n += pb_len_field(pb_choices_size(v->choices));
		break;
	case FIELD__VALUE__V_GEOPOINT:
		if (v->geopoint)
			n += pb_len_field(pb_point_size(v->geopoint));
		break;
	case FIELD__VALUE__V_REPEAT:
		if (v->repeat)
			n += pb_len_field(pb_repeat_size(v->repeat));
		break;
	default:
		break;
	}
	return n;
}

static unsigned char *pb_value(unsigned char *p, const Field__Value *v);

/*
 * A length-delimited field whose body is written in one pass: the body
 * goes after a one-byte length, and moves along when its length needs
 * more.  Every byte lands at or before its final place, so a buffer of
 * recpack_pb_size bytes holds the passes.
 */
static unsigned char *
pb_open(unsigned char *p, int num)
{
	*p++ = PB_TAG(num, PB_LEN);
	return p + 1;			/* the body, after one length byte */
}

static unsigned char *
pb_close(unsigned char *body, unsigned char *end)
{
	size_t len = (size_t)(end - body), vl = pb_vlen(len);

	if (vl > 1)
		memmove(body + vl - 1, body, len);
	pb_varint(body - 1, len);
	return body - 1 + vl + len;
}

static unsigned char *
pb_value(unsigned char *p, const Field__Value *v)
{
	unsigned char *b;

	if (pb_str_set(v->name))
		p = pb_bytes(p, 1, v->name, strlen(v->name));
	switch (v->v_case) {
	case FIELD__VALUE__V_TEXT:
		if (v->text != NULL && v->text != protobuf_c_empty_string)
			p = pb_bytes(p, 2, v->text, strlen(v->text));
		break;
	case FIELD__VALUE__V_INTEGER:
		*p++ = PB_TAG(3, PB_VARINT);
		p = pb_varint(p, ((uint64_t)v->integer << 1) ^
		    (uint64_t)(v->integer >> 63));
		break;
	case FIELD__VALUE__V_DECIMAL:
		p = pb_double(p, 4, v->decimal);
		break;
	case FIELD__VALUE__V_CHOICES: {
		const Field__Choices *c = v->choices;

		if (c == NULL)
			break;
		b = p = pb_open(p, 5);
		for (size_t i = 0; i < c->n_names; i++)
			p = pb_bytes(p, 1, c->names[i] ? c->names[i] : "",
			    c->names[i] ? strlen(c->names[i]) : 0);
		p = pb_close(b, p);
		break;
	}
	case FIELD__VALUE__V_GEOPOINT: {
		const Field__GeoPoint *g = v->geopoint;

		if (g == NULL)
			break;
		b = p = pb_open(p, 6);
		if (g->latitude != 0)
			p = pb_double(p, 1, g->latitude);
		if (g->longitude != 0)
			p = pb_double(p, 2, g->longitude);
		if (g->altitude != 0)
			p = pb_double(p, 3, g->altitude);
		if (g->accuracy != 0)
			p = pb_double(p, 4, g->accuracy);
		if (g->has_altitude) {
			*p++ = PB_TAG(5, PB_VARINT);
			*p++ = 1;
		}
		if (g->has_accuracy) {
			*p++ = PB_TAG(6, PB_VARINT);
			*p++ = 1;
		}
		p = pb_close(b, p);
		break;
	}
	case FIELD__VALUE__V_REPEAT: {
		const Field__Repeat *r = v->repeat;

		if (r == NULL)
			break;
		b = p = pb_open(p, 7);
		for (size_t i = 0; i < r->n_items; i++) {
			const Field__Group *g = r->items[i];
			unsigned char *gb = p = pb_open(p, 1);

			for (size_t k = 0; k < g->n_values; k++) {
				unsigned char *vb = p = pb_open(p, 1);

				p = pb_close(vb, pb_value(p, g->values[k]));
			}
			p = pb_close(gb, p);
		}
		p = pb_close(b, p);
		break;
	}
	default:
		break;
	}
	return p;
}

size_t
recpack_pb_size(const Field__Record *r)
{
	const char *s[4] = { r->id, r->form_id, r->form_version,
	    r->device_id };
	size_t n = 0;

	for (int i = 0; i < 4; i++)
		if (pb_str_set(s[i]))
			n += pb_len_field(strlen(s[i]));
	if (r->seq != 0)
		n += 1 + pb_vlen(r->seq);
	if (r->created_ms != 0)
		n += 1 + pb_vlen((uint64_t)r->created_ms);
	if (r->clock != 0)	/* an enum is an int32, sign-extended */
		n += 1 + pb_vlen((uint64_t)(int64_t)r->clock);
	for (size_t i = 0; i < r->n_values; i++)
		n += pb_len_field(pb_value_size(r->values[i]));
	return n;
}

size_t
recpack_pb_write(const Field__Record *r, unsigned char *out)
{
	const char *s[4] = { r->id, r->form_id, r->form_version,
	    r->device_id };
	unsigned char *p = out;

	for (int i = 0; i < 4; i++)
		if (pb_str_set(s[i]))
			p = pb_bytes(p, i + 1, s[i], strlen(s[i]));
	if (r->seq != 0) {
		*p++ = PB_TAG(5, PB_VARINT);
		p = pb_varint(p, r->seq);
	}
	if (r->created_ms != 0) {
		*p++ = PB_TAG(6, PB_VARINT);
		p = pb_varint(p, (uint64_t)r->created_ms);
	}
	if (r->clock != 0) {
		*p++ = PB_TAG(7, PB_VARINT);
		p = pb_varint(p, (uint64_t)(int64_t)r->clock);
	}
	for (size_t i = 0; i < r->n_values; i++) {
		unsigned char *b = p = pb_open(p, 8);

		p = pb_close(b, pb_value(p, r->values[i]));
	}
	return (size_t)(p - out);
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
	plen = recpack_pb_size(&bare);
	r = &bare;

	cap = 1 + ZSTD_compressBound(plen);
	if ((pb = malloc(plen ? plen : 1)) == NULL)
		return -1;
	if ((buf = malloc(cap > plen ? cap : plen)) == NULL) {
		free(pb);
		return -1;
	}
	recpack_pb_write(r, pb);
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
