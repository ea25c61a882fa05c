/* outbox.c: see outbox.h. */
/*
 * The outbox is not a queue of its own: it is the records table above
 * one meta row, "acked_seq", the highest seq the collector has said is
 * durable there (0 before any).  Its transitions:
 *
 *   a submit (store.c)   a record joins above the watermark
 *   outbox_batch         copies records after a seq; changes nothing
 *   outbox_set_acked     acked_seq rises (an ack, a welcome, a receipt);
 *                        a lower value is ignored
 *   store_purge          payloads at or below acked_seq, past the
 *                        retention window, become NULL; batches skip them
 *
 * Why an ack is safe to keep: a record is never deleted or moved on its
 * ack, only purged later, so nothing here can lose one; seqs are
 * gap-free and never reused (store.c), so "every seq up to N" names the
 * same records on both ends; and acked_seq only rises.  outbox_set_acked
 * is its own commit unless the caller holds a transaction; a crash before
 * that commit keeps the old watermark: those records go again and the
 * collector skips them.  Its read and its write are two statements: the
 * rise holds for one process at a time, not for two interleaving (fieldd
 * syncing while fieldctl imports a receipt).
 *
 * On the wire, outbox_batch_compact leaves out what a record shares with
 * the one before it, and cstore_ingest puts it back in the same order:
 * a batch means something only whole (it is one frame).
 */
#include "daemon/outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"

struct batch_ctx {
	Field__Sync__RecordBatch *b;
	size_t bytes, max_bytes;
	int failed;
};

static void *
dup_bytes(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);

	if (q)
		memcpy(q, p, n);
	return q;
}

static int
batch_add(void *arg, const struct store_record *r,
    const unsigned char epoch_pub[32])
{
	struct batch_ctx *c = arg;
	Field__Sync__SealedRecord *s;

	/* Such a row still counts against the LIMIT of
	   store_records_after: a window of purged rows is an empty batch. */
	if (r->sealed == NULL)
		return 0;	/* purged after its ack: nothing to send */
	/* The first record goes whatever its size, so one big record
	   cannot stall the outbox. */
	if (c->b->n_records > 0 && c->bytes + r->sealed_len > c->max_bytes)
		return 1;	/* full: stop here */
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto fail;
	field__sync__sealed_record__init(s);
	c->b->records[c->b->n_records++] = s;
	s->seq = r->seq;
	s->created_ms = r->created_ms;
	s->clock = (Field__ClockQuality)r->clock;
	s->epoch_id = r->epoch;
	if ((s->id = strdup(r->id)) == NULL ||
	    (s->form_id = strdup(r->form_id)) == NULL ||
	    (s->form_version = strdup(r->form_version)) == NULL ||
	    (s->epoch_pub.data = dup_bytes(epoch_pub, 32)) == NULL ||
	    (s->sealed.data = dup_bytes(r->sealed, r->sealed_len)) == NULL)
		goto fail;
	s->epoch_pub.len = 32;
	s->sealed.len = r->sealed_len;
	c->bytes += r->sealed_len;
	return 0;
fail:
	c->failed = 1;
	return -1;
}

int
outbox_batch(struct store *st, uint64_t after, size_t max_records,
    size_t max_bytes, Field__Sync__RecordBatch **out)
{
	struct batch_ctx c = { 0 };
	int rc;

	if (max_records == 0)
		max_records = 1;
	if ((c.b = calloc(1, sizeof(*c.b))) == NULL)
		return -1;
	field__sync__record_batch__init(c.b);
	if ((c.b->records = calloc(max_records, sizeof(*c.b->records))) ==
	    NULL) {
		free(c.b);
		return -1;
	}
	c.max_bytes = max_bytes;
	rc = store_records_after(st, after, max_records, batch_add, &c);
	if (rc < 0 || c.failed) {
		outbox_batch_free(c.b);
		return -1;
	}
	*out = c.b;
	return 0;
}

/* Frees a string of ours; compaction leaves protobuf-c's empty one. */
static void
str_free(char *p)
{
	if (p != protobuf_c_empty_string)
		free(p);
}

void
outbox_batch_compact(Field__Sync__RecordBatch *b)
{
	for (size_t i = 0; i < b->n_records; i++) {
		Field__Sync__SealedRecord *s = b->records[i];
		unsigned char raw[16], *dup;

		/* Packed only when it unpacks to the same text (lower
		   case): the collector stores the very id this store has. */
		if (util_uuid_pack(s->id, raw) == 0 &&
		    (dup = dup_bytes(raw, 16)) != NULL) {
			free(s->id);
			s->id = (char *)protobuf_c_empty_string;
			s->id_bytes.data = dup;
			s->id_bytes.len = 16;
		}
	}
	for (size_t i = b->n_records; i-- > 1;) {
		Field__Sync__SealedRecord *s = b->records[i];
		const Field__Sync__SealedRecord *p = b->records[i - 1];

		/* From the end, so each compares with an intact one. */
		if (strcmp(s->form_id, p->form_id) == 0) {
			free(s->form_id);
			s->form_id = (char *)protobuf_c_empty_string;
		}
		if (strcmp(s->form_version, p->form_version) == 0) {
			free(s->form_version);
			s->form_version = (char *)protobuf_c_empty_string;
		}
		if (s->epoch_id == p->epoch_id && p->epoch_pub.len &&
		    s->epoch_pub.len == p->epoch_pub.len &&
		    memcmp(s->epoch_pub.data, p->epoch_pub.data,
		    s->epoch_pub.len) == 0) {
			free(s->epoch_pub.data);
			s->epoch_pub.data = NULL;
			s->epoch_pub.len = 0;
			s->epoch_id = 0;
		}
	}
}

void
outbox_batch_free(Field__Sync__RecordBatch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n_records; i++) {
		Field__Sync__SealedRecord *s = b->records[i];
		str_free(s->id);
		free(s->id_bytes.data);
		str_free(s->form_id);
		str_free(s->form_version);
		free(s->epoch_pub.data);
		free(s->sealed.data);
		free(s);
	}
	free(b->records);
	free(b);
}

int
outbox_acked(struct store *st, uint64_t *seq)
{
	char v[32];
	int rc = store_meta_get(st, "acked_seq", v, sizeof(v));

	if (rc < 0)
		return -1;
	*seq = rc == 1 ? strtoull(v, NULL, 10) : 0;
	return 0;
}

int
outbox_set_acked(struct store *st, uint64_t seq)
{
	uint64_t have;
	char v[32];

	if (outbox_acked(st, &have) != 0)
		return -1;
	/* A late ack, an older receipt or a collector restored from a
	   backup never lowers it: what lies at or below may be purged. */
	if (seq <= have)
		return 0;
	snprintf(v, sizeof(v), "%" PRIu64, seq);
	return store_meta_set(st, "acked_seq", v);
}

static char *
json_strdup(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return strdup(v ? v : "");
}

int
outbox_counts(struct store *st, int64_t now_ms,
    Field__Sync__CountsSnapshot **out)
{
	uint64_t upto;

	if (outbox_counts_since(st, -1, SIZE_MAX, now_ms, out, &upto) != 0)
		return -1;
	(*out)->partial = 0;
	return 0;
}

int
outbox_counts_since(struct store *st, int64_t since, size_t max_cells,
    int64_t now_ms, Field__Sync__CountsSnapshot **out, uint64_t *upto)
{
	Field__Sync__CountsSnapshot *c;
	json_t *arr;
	size_t n;

	if (store_counts_since(st, since, max_cells, &arr, upto) != 0)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_decref(arr);
		return -1;
	}
	field__sync__counts_snapshot__init(c);
	c->taken_ms = now_ms;
	/* Whole places only (store_counts_since): the collector replaces
	   those it gets and keeps the others. */
	c->partial = 1;
	n = json_array_size(arr);
	if (n > 0 && (c->cells = calloc(n,
	    sizeof(*c->cells))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		Field__Sync__CountCell *cell = calloc(1, sizeof(*cell));

		if (cell == NULL)
			goto fail;
		field__sync__count_cell__init(cell);
		/* init points strings at a shared empty string: not ours */
		cell->form_id = cell->day = cell->place = NULL;
		cell->dim = cell->value = cell->measure = NULL;
		c->cells[c->n_cells++] = cell;
		cell->n = json_integer_value(json_object_get(o, "n"));
		if ((cell->form_id = json_strdup(o, "form")) == NULL ||
		    (cell->day = json_strdup(o, "day")) == NULL ||
		    (cell->place = json_strdup(o, "place")) == NULL ||
		    (cell->dim = json_strdup(o, "dim")) == NULL ||
		    (cell->value = json_strdup(o, "value")) == NULL ||
		    (cell->measure = json_strdup(o, "measure")) == NULL)
			goto fail;
	}
	json_decref(arr);
	*out = c;
	return 0;
fail:
	json_decref(arr);
	outbox_counts_free(c);
	return -1;
}

void
outbox_counts_free(Field__Sync__CountsSnapshot *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_cells; i++) {
		Field__Sync__CountCell *cell = c->cells[i];
		free(cell->form_id);
		free(cell->day);
		free(cell->place);
		free(cell->dim);
		free(cell->value);
		free(cell->measure);
		free(cell);
	}
	free(c->cells);
	free(c);
}
