/* device.c: see device.h. */
#include "daemon/device.h"

#include <errno.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/embedded.h"
#include "common/log.h"
#include "common/rng.h"
#include "common/util.h"
#include "sync/seal.h"

int
device_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64)
		return 0;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

static int
device_path(char *out, size_t len, const char *dir, const char *name)
{
	return snprintf(out, len, "%s/%s", dir, name) < (int)len ? 0 : -1;
}

/* Adds every shipped form version the store does not have yet. */
static int
device_seed_forms(struct store *st, char *err, size_t errlen)
{
	for (const struct embedded_file *e = embedded_forms; e->name; e++) {
		struct form *f;
		char ferr[256];

		if (form_parse(e->data, e->len, &f, ferr, sizeof(ferr)) != 0) {
			snprintf(err, errlen, "shipped form %s: %s", e->name,
			    ferr);
			return -1;
		}
		if (store_form_add(st, form_id(f), form_version(f),
		    e->data) != 0) {
			snprintf(err, errlen, "storing form %s: %s", e->name,
			    store_errmsg(st));
			form_free(f);
			return -1;
		}
		form_free(f);
	}
	return 0;
}

int
device_create(const char *dir, const char *collector_key_path,
    const char *id, char *err, size_t errlen)
{
	unsigned char pub[SEAL_KEY_LEN];
	char path[PATH_MAX], line[128], uuid[37];
	struct store *st = NULL;
	struct stat sb;

	if (id && !device_id_ok(id)) {
		snprintf(err, errlen, "device id must be 1 to 64 of "
		    "A-Z a-z 0-9 . _ -");
		return -1;
	}
	if (seal_pub_read(collector_key_path, pub, err, errlen) != 0)
		return -1;
	if (device_path(path, sizeof(path), dir, "device.db") != 0) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (stat(path, &sb) == 0) {
		snprintf(err, errlen, "%s already holds a device; refusing to "
		    "overwrite it", dir);
		return -1;
	}
	if (util_mkdirs(dir, 0700) != 0 || chmod(dir, 0700) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (id == NULL) {
		if (rng_uuid(uuid) != 0) {
			snprintf(err, errlen, "no entropy for a device id");
			return -1;
		}
		id = uuid;
	}
	if (store_open(path, 1, &st, err, errlen) != 0)
		return -1;
	seal_pub_format(pub, line, sizeof(line));
	line[strcspn(line, "\n")] = '\0';
	if (store_begin(st) != 0 ||
	    store_meta_set(st, "device_id", id) != 0 ||
	    store_meta_set(st, "collector_pub", line) != 0 ||
	    device_seed_forms(st, err, errlen) != 0 ||
	    store_commit(st) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", path, store_errmsg(st));
		store_rollback(st);
		store_close(st);
		unlink(path);
		return -1;
	}
	store_close(st);
	return 0;
}

/*
 * Whatever process opens the device (fieldd, or fieldctl submitting while
 * fieldd is down) stamps with the same trust: the board says whether an
 * RTC or NTP vouches, and the first to open it in a new boot marks the
 * untrusted stamps of the boot before, which no later offset corrects.
 */
static void
device_clock(struct device *d)
{
	char agreed[96], boot[37];
	int64_t marked, high, delta;
	int vouched;

	if (board_probe(&d->cfg.board, &vouched, boot) == 0)
		clock_set_source(vouched || d->cfg.clock_host);
	memcpy(d->boot_id, boot, sizeof(boot));
	/* The collector agreed earlier in this boot, and the clock has not
	   jumped since: that still holds. */
	if (boot[0] && store_meta_get(d->st, DEVICE_META_CLOCK_AGREED, agreed,
	    sizeof(agreed)) == 1 && strncmp(agreed, boot, 36) == 0 &&
	    agreed[36] == ' ' && sscanf(agreed + 37, "%" SCNd64, &delta) == 1 &&
	    llabs(clock_delta_ms() - delta) <= CLOCK_JUMP_MS)
		clock_collector(0);
	if (store_clock_boot(d->st, boot, &marked, &high) != 0) {
		log_warn("device: cannot read the clock's history: %s",
		    store_errmsg(d->st));
		return;
	}
	clock_set_high(high);
	if (marked > 0)
		log_info("device: %" PRId64 " records stamped before a trusted "
		    "time in an earlier boot: their times stay uncorrected",
		    marked);
}

void
device_clock_offset(struct device *d, int64_t offset_ms)
{
	char agreed[96];

	clock_collector(offset_ms);
	if (d->boot_id[0] == '\0')
		return;
	if (offset_ms >= -CLOCK_AGREE_MS && offset_ms <= CLOCK_AGREE_MS)
		snprintf(agreed, sizeof(agreed), "%s %" PRId64, d->boot_id,
		    clock_delta_ms());
	else
		agreed[0] = '\0';
	if (store_meta_set(d->st, DEVICE_META_CLOCK_AGREED, agreed) != 0)
		log_warn("device: cannot keep the clock's agreement: %s",
		    store_errmsg(d->st));
}

int
device_open(struct device *d, const char *dir, const char *config_path,
    char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat sb;
	struct submit_opts so;

	memset(d, 0, sizeof(*d));
	err[0] = '\0';
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	config_defaults(&d->cfg);
	/* The system's file first (-c: /etc/fieldd/fieldd.conf), then the
	   device's own over it, where enrolment keeps the collector. */
	if (config_path && config_load(&d->cfg, config_path, err,
	    errlen) != 0)
		return -1;
	if (device_path(path, sizeof(path), dir, "fieldd.conf") == 0 &&
	    stat(path, &sb) == 0 && (config_path == NULL ||
	    strcmp(config_path, path) != 0) &&
	    config_load(&d->cfg, path, err, errlen) != 0)
		return -1;
	if (device_path(path, sizeof(path), dir, "device.db") != 0 ||
	    stat(path, &sb) != 0) {
		snprintf(err, errlen, "no device in %s; create one with "
		    "fieldctl -d %s init --collector-key FILE", dir, dir);
		return -1;
	}
	if (store_open(path, 0, &d->st, err, errlen) != 0)
		return -1;
	if ((d->cat = form_catalog_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (device_seed_forms(d->st, err, errlen) != 0 ||
	    store_forms_load(d->st, d->cat, err, errlen) != 0)
		goto fail;
	so.free_floor_bytes = d->cfg.free_space_floor_mb << 20;
	so.epoch_records = d->cfg.epoch_records;
	so.epoch_seconds = d->cfg.epoch_hours * 3600;
	if (submit_init(&d->sub, d->st, d->cat, &so, err, errlen) != 0)
		goto fail;
	device_clock(d);
	return 0;
fail:
	device_close(d);
	return -1;
}

void
device_close(struct device *d)
{
	submit_fini(&d->sub);
	form_catalog_free(d->cat);
	store_close(d->st);
	d->cat = NULL;
	d->st = NULL;
}
