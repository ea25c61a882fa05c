/*
 * frame.h: the one decoder of sync frames, for the wire and for bundle
 * files alike.  A frame is a varint length (at most 10 bytes) and that
 * many bytes of one field.sync.Envelope.
 *
 * The reader owns a buffer that never grows past max_frame + 10 bytes:
 * the length is checked against max_frame before any allocation, and a
 * frame that is too long, a varint that does not end, or bytes that do
 * not decode as an Envelope with a known kind are errors naming the byte
 * offset in the stream.  After an error the reader refuses everything.
 */
#ifndef FRAME_H
#define FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "proto/sync.pb-c.h"

#define FRAME_MAX_DEFAULT (1024 * 1024)
#define FRAME_VARINT_MAX 10

struct frame_reader {
	unsigned char *buf;
	size_t len, cap;
	size_t max_frame;
	uint64_t offset;	/* stream offset of buf[0] */
	int failed;
};

/*
 * Called for each decoded envelope, which the callback owns (free it with
 * field__sync__envelope__free_unpacked).  Return 0 to go on, non-zero to
 * stop feeding (frame_reader_feed then returns that value).
 */
typedef int (*frame_fn)(void *arg, Field__Sync__Envelope *env);

void frame_reader_init(struct frame_reader *r, size_t max_frame);
void frame_reader_free(struct frame_reader *r);

/*
 * Feeds len bytes.  Returns 0 when all were consumed (a partial frame is
 * kept), the callback's non-zero value when it stopped, or -1 on a
 * protocol error with a message in err.
 */
int frame_reader_feed(struct frame_reader *r, const unsigned char *data,
    size_t len, frame_fn fn, void *arg, char *err, size_t errlen);

/* Bytes buffered that do not yet make a frame. */
size_t frame_reader_pending(const struct frame_reader *r);

/*
 * Encodes env as a frame into a new buffer (caller frees).  0, or -1 when
 * out of memory or larger than max_frame.
 */
int frame_encode(const Field__Sync__Envelope *env, size_t max_frame,
    unsigned char **out, size_t *len);

/* Writes v as a varint into out (at most 10 bytes); returns the length. */
size_t frame_put_varint(unsigned char *out, uint64_t v);

#endif
