/*
 * recpack.h: the bytes a record is sealed as.  A record's protobuf
 * (proto/record.proto) is mostly its form's own words -- field names,
 * choice names -- so it is compressed with zstd against a dictionary made
 * from its form version's definition, which both ends hold: about a third
 * of the size on the wire and on the SD card.
 *
 * Layout of the plaintext:
 *   0x01, then a zstd frame (with its content size) of the protobuf,
 *         compressed with the dictionary form_dict() of the record's form
 *         version;
 *   0x0a..: the protobuf itself (records sealed before compression, and
 *         any record compression would not shrink).
 * A record's id, form, version and device travel outside the seal as
 * its associated data (seal.h), which the seal authenticates: they are
 * left out of the sealed protobuf and put back by recpack_decode from
 * that metadata.  The opener knows which dictionary to use before it
 * opens.
 *
 * struct recpack holds the zstd contexts and each form version's
 * prepared dictionary, reused across records; one per thread.  It keys
 * them by the struct form's address: the forms must outlive it (a
 * catalogue that only grows, as the daemons keep).  Nothing here logs or
 * quotes record contents in errors.
 */
#ifndef RECPACK_H
#define RECPACK_H

#include <stddef.h>

#include "form/form.h"
#include "proto/record.pb-c.h"

#define RECPACK_ZSTD 0x01

struct recpack;

struct recpack *recpack_new(void);
void recpack_free(struct recpack *rp);

/* Packs r, a record of form f, into a new buffer (*out, *len; the
   caller wipes and frees it).  0, or -1 when out of memory. */
int recpack_encode(struct recpack *rp, const struct form *f,
    const Field__Record *r, unsigned char **out, size_t *len);

/* The protobuf of r as field__record__pack writes it, without protobuf-c's
   generic walk: its size, and the bytes written to out (that many). */
size_t recpack_pb_size(const Field__Record *r);
size_t recpack_pb_write(const Field__Record *r, unsigned char *out);

/* What the seal bound outside the plaintext. */
struct recpack_meta {
	const char *id, *form_id, *form_version, *device_id;
};

/* Unpacks pt.  f is the form version the record names (NULL when it is
   unknown: then only an uncompressed record opens).  The unpacked size
   is held to max bytes.  The fields in m are put back (or, in a record
   that carries them, must match).  0 and *out
   (field__record__free_unpacked), or -1 with err. */
int recpack_decode(struct recpack *rp, const struct form *f,
    const struct recpack_meta *m, const unsigned char *pt, size_t len,
    size_t max, Field__Record **out, char *err, size_t errlen);

#endif
