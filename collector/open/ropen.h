/*
 * ropen.h: opening sealed records into their values, for the collector's
 * tools that hold the private key (collectctl open, analyse, export).
 * Linked only into collectctl and the tests, like seal_open.c (Makefile
 * OPENER): collectord and the device cannot open a record.
 *
 * A struct ropen owns the opener (the private key, wiped on free), the
 * form catalogue whose dictionaries and definitions the records need, and
 * a decompressor.  Records and results are the caller's.
 *
 * Privacy: the reasons given never quote a record's content.
 */
#ifndef ROPEN_H
#define ROPEN_H

#include <jansson.h>
#include <stddef.h>

#include "daemon/store.h"
#include "form/form.h"
#include "proto/record.pb-c.h"
#include "proto/sync.pb-c.h"

#define ROPEN_MAX_SEALED (1024 * 1024)

struct ropen;

/* Loads the private key file (refused when others can read it).  0 and
   *out, or -1 with err. */
int ropen_new(const char *keyfile, struct ropen **out, char *err,
    size_t errlen);
void ropen_free(struct ropen *o);

/* 1 when the loaded private key belongs to pub. */
int ropen_key_is(const struct ropen *o, const unsigned char *pub);

/* The catalogue records are opened against (borrowed; add forms to it). */
struct form_catalog *ropen_catalog(struct ropen *o);
/* Adds the collector's forms (shipped and CDIR/forms).  0 or -1 with err. */
int ropen_load_collector_forms(struct ropen *o, const char *cdir, char *err,
    size_t errlen);

/*
 * Opens r (from device_id, sealed under epoch_pub) and checks that what
 * was sealed matches the metadata it was stored under.  0 and *out (free
 * with field__record__free_unpacked), or -1 with why.
 */
int ropen_record(struct ropen *o, const char *device_id,
    const struct store_record *r, const unsigned char *epoch_pub,
    size_t epoch_pub_len, Field__Record **out, char *why, size_t whylen);

/* The same for a record as the collector holds it (cstore). */
int ropen_sealed(struct ropen *o, const char *device_id,
    const Field__Sync__SealedRecord *r, Field__Record **out, char *why,
    size_t whylen);

/*
 * An opened record as JSON: its values (form_values_json) and the
 * metadata _id, _form, _version, _seq, _device, _created, _clock, and
 * _corrected when corrected_ms >= 0.  New reference or NULL.
 */
json_t *ropen_json(const Field__Record *rec, int64_t corrected_ms);

/* "YYYY-MM-DDTHH:MM:SSZ" of a time in ms since the epoch (UTC). */
void ropen_time(int64_t ms, char out[32]);

#endif
