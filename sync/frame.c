/* frame.c: see frame.h. */
#include "sync/frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
frame_reader_init(struct frame_reader *r, size_t max_frame)
{
	memset(r, 0, sizeof(*r));
	r->max_frame = max_frame;
}

void
frame_reader_free(struct frame_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

size_t
frame_reader_pending(const struct frame_reader *r)
{
	return r->len;
}

size_t
frame_put_varint(unsigned char *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (unsigned char)v;
	return n;
}

/*
 * Reads a varint at p (avail bytes).  Returns its length, 0 when more
 * bytes are needed, -1 when it runs past 10 bytes.
 */
static int
frame_get_varint(const unsigned char *p, size_t avail, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < FRAME_VARINT_MAX; i++) {
		if (i == avail)
			return 0;
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*v = x;
			return (int)i + 1;
		}
	}
	return -1;
}

static int
frame_fail(struct frame_reader *r, uint64_t at, char *err, size_t errlen,
    const char *what)
{
	r->failed = 1;
	snprintf(err, errlen, "frame at byte %llu: %s",
	    (unsigned long long)at, what);
	return -1;
}

/* Decodes the frame at the start of buf (hdr + n bytes) and hands it on. */
static int
frame_emit(struct frame_reader *r, const unsigned char *body, size_t n,
    frame_fn fn, void *arg, char *err, size_t errlen)
{
	Field__Sync__Envelope *env;

	env = field__sync__envelope__unpack(NULL, n, body);
	if (env == NULL)
		return frame_fail(r, r->offset, err, errlen,
		    "does not decode as an Envelope");
	if (env->kind_case == FIELD__SYNC__ENVELOPE__KIND__NOT_SET) {
		field__sync__envelope__free_unpacked(env, NULL);
		return frame_fail(r, r->offset, err, errlen,
		    "an Envelope of unknown kind");
	}
	return fn(arg, env);
}

int
frame_reader_feed(struct frame_reader *r, const unsigned char *data,
    size_t len, frame_fn fn, void *arg, char *err, size_t errlen)
{
	if (r->failed) {
		snprintf(err, errlen, "stream already failed");
		return -1;
	}
	while (len > 0 || r->len > 0) {
		const unsigned char *p;
		size_t avail;
		uint64_t flen;
		int hl, rc;

		/* Parse straight from data when nothing is buffered. */
		if (r->len == 0) {
			p = data;
			avail = len;
		} else {
			p = r->buf;
			avail = r->len;
		}
		hl = frame_get_varint(p, avail, &flen);
		if (hl < 0)
			return frame_fail(r, r->offset, err, errlen,
			    "length varint longer than 10 bytes");
		if (hl > 0 && flen > r->max_frame) {
			char what[96];
			snprintf(what, sizeof(what), "length %llu over the "
			    "limit of %zu", (unsigned long long)flen,
			    r->max_frame);
			return frame_fail(r, r->offset, err, errlen, what);
		}
		if (hl > 0 && avail >= (size_t)hl + flen) {
			size_t used = (size_t)hl + (size_t)flen;
			rc = frame_emit(r, p + hl, (size_t)flen, fn, arg, err,
			    errlen);
			r->offset += used;
			if (r->len == 0) {
				data += used;
				len -= used;
			} else {
				memmove(r->buf, r->buf + used, r->len - used);
				r->len -= used;
			}
			if (rc != 0)
				return rc;
			continue;
		}
		if (len == 0)
			break;		/* buffered partial frame, no more input */
		/*
		 * Need more: move what we have into the buffer.  Take only
		 * what completes the header or the frame, so the buffer is
		 * bounded by max_frame + 10.
		 */
		size_t want = hl > 0 ? (size_t)hl + (size_t)flen - r->len :
		    FRAME_VARINT_MAX - r->len;
		size_t take = len < want ? len : want;
		if (r->len + take > r->cap) {
			size_t cap = hl > 0 ? (size_t)hl + (size_t)flen :
			    FRAME_VARINT_MAX;
			unsigned char *nb;
			if (cap < r->len + take)
				cap = r->len + take;
			if ((nb = realloc(r->buf, cap)) == NULL)
				return frame_fail(r, r->offset, err, errlen,
				    "out of memory");
			r->buf = nb;
			r->cap = cap;
		}
		memcpy(r->buf + r->len, data, take);
		r->len += take;
		data += take;
		len -= take;
	}
	/* Give back a large buffer once it is empty. */
	if (r->len == 0 && r->cap > 64 * 1024) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
	return 0;
}

int
frame_encode(const Field__Sync__Envelope *env, size_t max_frame,
    unsigned char **out, size_t *len)
{
	size_t n = field__sync__envelope__get_packed_size(env);
	unsigned char *buf;
	size_t hl;

	if (n > max_frame)
		return -1;
	if ((buf = malloc(n + FRAME_VARINT_MAX)) == NULL)
		return -1;
	hl = frame_put_varint(buf, n);
	field__sync__envelope__pack(env, buf + hl);
	*out = buf;
	*len = hl + n;
	return 0;
}
