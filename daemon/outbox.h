/*
 * outbox.h: the device's side of sync: its records that the collector
 * has not acknowledged, as the batches the wire and bundles carry, and
 * the acknowledged watermark (kept in the store's meta table, so a cut
 * or a restart resumes where the collector's last ack left off).
 *
 * A batch owns copies of what it carries; free it with outbox_batch_free.
 */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/store.h"
#include "proto/sync.pb-c.h"

/* The records after seq `after`, at most max_records of them and no more
   than max_bytes of sealed payload (at least one record when any is
   left).  0 and *out (n_records 0 when nothing is left), or -1. */
int outbox_batch(struct store *st, uint64_t after, size_t max_records,
    size_t max_bytes, Field__Sync__RecordBatch **out);
void outbox_batch_free(Field__Sync__RecordBatch *b);
/* For the wire: leaves out a record's form, version and epoch where they
   are the previous record's, and sends its id as 16 bytes
   (cstore_ingest puts them back), about 80 bytes a record.  The batch is
   still freed with outbox_batch_free. */
void outbox_batch_compact(Field__Sync__RecordBatch *b);

/* The counts a bundle carries before its records: every cell (a full
   snapshot).  0 and *out (free with outbox_counts_free), or -1. */
int outbox_counts(struct store *st, int64_t now_ms,
    Field__Sync__CountsSnapshot **out);
/* What a session sends first: the places changed after seq since (-1:
   all), about max_cells at most (whole places), as a partial snapshot;
   *upto is the seq its ack lets the device remember. */
int outbox_counts_since(struct store *st, int64_t since, size_t max_cells,
    int64_t now_ms, Field__Sync__CountsSnapshot **out, uint64_t *upto);
void outbox_counts_free(Field__Sync__CountsSnapshot *c);

/* The acknowledged watermark: 0 before any ack. */
int outbox_acked(struct store *st, uint64_t *seq);
/* Raises the watermark; a lower value than the stored one is ignored (an
   ack that arrived late).  0 or -1. */
int outbox_set_acked(struct store *st, uint64_t seq);

#endif
