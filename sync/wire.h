/*
 * wire.h: what both ends of a sync session share on top of tls.h and
 * frame.h: the protocol version, the limits, and sending one envelope.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>

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
 * The form catalogue goes down in one frame of its own, and a form must
 * fit in it to reach a board: room for one definition at its largest
 * (FORM_MAX_DEF_BYTES, 8 MiB) and a frame's worth of others.  Only the
 * collector sends one (the board's reader takes frames this large from
 * it, and the collector's TLS queue holds one); the collector refuses to
 * load a catalogue that would not fit.  Every other frame stays within
 * WIRE_MAX_FRAME.
 */
#define WIRE_MAX_FORMS_FRAME (9 * 1024 * 1024)

/* Encodes env as a frame and queues it on c.  Returns the frame's size,
   or -1 (too large, out of memory, or the conn cannot take it). */
long wire_send(struct tls_conn *c, const Field__Sync__Envelope *env);

/* Sends an Error envelope. */
long wire_send_error(struct tls_conn *c, Field__Sync__Error__Code code,
    const char *message);

/* The name of an envelope kind, for messages ("hello", "batch", ...). */
const char *wire_kind_name(Field__Sync__Envelope__KindCase k);

#endif
