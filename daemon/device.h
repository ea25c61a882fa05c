/*
 * device.h: a device's data directory, opened the same way by fieldd and
 * fieldctl.
 *
 *   DATADIR/             mode 0700
 *   DATADIR/device.db    the store (store.h), with its -wal and -shm
 *   DATADIR/fieldd.conf  optional configuration (config.h)
 *
 * device_open opens the store (refusing a damaged one), adds any shipped
 * form version the store lacks, loads the form catalogue and readies the
 * submitter.  The struct device owns all of it until device_close.
 */
#ifndef DEVICE_H
#define DEVICE_H

#include <limits.h>
#include <stddef.h>

#include "daemon/config.h"
#include "daemon/store.h"
#include "daemon/submit.h"
#include "form/form.h"

struct device {
	char dir[PATH_MAX];
	struct config cfg;
	struct store *st;
	struct form_catalog *cat;
	struct submitter sub;
	char boot_id[37];		/* this boot's, "" when unknown */
};

/* meta key: "BOOT_ID DELTA_MS" when the collector's time last agreed with
   ours (clock.h), so later processes of the same boot trust it too. */
#define DEVICE_META_CLOCK_AGREED "clock_agreed"

/*
 * Opens DATADIR.  Settings: the embedded defaults, then config_path (the
 * system's file, fieldd -c) when given, then DATADIR/fieldd.conf when
 * present (fieldctl enroll and config set write there).  0 or -1 with err.
 */
int device_open(struct device *d, const char *dir, const char *config_path,
    char *err, size_t errlen);
void device_close(struct device *d);

/* After a sync's welcome: offset_ms is the collector's time minus ours.
   Tells clock.h, and keeps an agreement for this boot's next processes. */
void device_clock_offset(struct device *d, int64_t offset_ms);

/*
 * Creates a device in dir (which must not hold one): the store, the
 * device id (a new UUID when id is NULL), the collector's public key read
 * from collector_key_path, and the shipped forms.  0 or -1 with err.
 */
int device_create(const char *dir, const char *collector_key_path,
    const char *id, char *err, size_t errlen);

/* 1 when id is usable as a device id: 1..64 of [A-Za-z0-9._-]. */
int device_id_ok(const char *id);

#endif
