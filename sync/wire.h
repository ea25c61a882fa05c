/*
 * wire.h: what both ends of a sync session share on top of tls.h and
 * frame.h: the protocol version, the limits, and sending one envelope.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/sync.pb-c.h"
#include "sync/tls.h"

#define SYNC_PROTOCOL_VERSION 1

/* Bounds the collector announces in its welcome and holds peers to. */
#define WIRE_MAX_FRAME (1024 * 1024)
#define WIRE_MAX_BATCH_RECORDS 1000
/* Cells in one counts snapshot: more than a frame could hold anyway. */
#define WIRE_MAX_COUNT_CELLS 50000
/* A batch's sealed bytes: half a frame leaves room for the metadata. */
#define WIRE_MAX_BATCH_BYTES (WIRE_MAX_FRAME / 2)
/*
 * A form goes to a board one a frame, its definition compressed with zstd
 * (JSON of repeated column names shrinks 10 to 30 times): a definition of
 * up to FORM_MAX_DEF_BYTES fits when it compresses to this.  `collectctl
 * form add` refuses one that does not, with the sizes.
 */
#define WIRE_MAX_FORM_BYTES (WIRE_MAX_FRAME - 64 * 1024)
#define WIRE_FORM_ZSTD_LEVEL 9
/* Ranges of seqs held above its watermark a welcome names, at most. */
#define WIRE_MAX_HELD_RANGES 16
/* Forms a hello may list as held or refused. */
#define WIRE_MAX_FORMS_LISTED 1024

/*
 * The batch carry: on one connection, after a welcome that says
 * batch_carry, a batch's first record may leave out what it shares with
 * the last record of the batch before it on that connection (form id,
 * version, epoch), as each later record of a batch does with the one
 * before it.  Both ends keep one, updated by every batch frame in the
 * order sent (the collector handles frames in that order), so on small
 * batches over a slow link the ~60 bytes a batch's first record repeated
 * are not sent again.  What it holds is bounded: a form id or version
 * longer than the collector stores, or an epoch key not 32 bytes, is not
 * kept (such a record is refused anyway), and the next batch then sends
 * it in full.
 */
#define WIRE_CARRY_FORM_MAX 64
#define WIRE_CARRY_VERSION_MAX 32
#define WIRE_CARRY_PUB 32

struct wire_carry {
	int have_form, have_version, have_epoch;
	char form_id[WIRE_CARRY_FORM_MAX + 1];
	char form_version[WIRE_CARRY_VERSION_MAX + 1];
	uint64_t epoch_id;
	unsigned char epoch_pub[WIRE_CARRY_PUB];
};

/* Takes what the last record of b means, b as on the wire (its first
   record read against carry, each later one against the one before). */
void wire_carry_take(struct wire_carry *carry,
    const Field__Sync__RecordBatch *b);

/* The collector: puts back into r (a batch's first record, as received)
   what it left out and carry holds.  0, or -1 out of memory. */
int wire_carry_fill(const struct wire_carry *carry,
    Field__Sync__SealedRecord *r);

/* The device: leaves out of r (a batch's first record, compacted
   otherwise) what carry holds the same.  r's fields must be its own
   (malloc'd), as outbox_batch gives them. */
void wire_carry_compact(const struct wire_carry *carry,
    Field__Sync__SealedRecord *r);

/* Encodes env as a frame and queues it on c.  Returns the frame's size,
   or -1 (too large, out of memory, or the conn cannot take it). */
long wire_send(struct tls_conn *c, const Field__Sync__Envelope *env);

/* Sends an Error envelope. */
long wire_send_error(struct tls_conn *c, Field__Sync__Error__Code code,
    const char *message);

/* The name of an envelope kind, for messages ("hello", "batch", ...). */
const char *wire_kind_name(Field__Sync__Envelope__KindCase k);

#endif
