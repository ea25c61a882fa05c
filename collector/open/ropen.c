/* ropen.c: see ropen.h. */
#include "collector/open/ropen.h"

#include <inttypes.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "form/recpack.h"
#include "collector/csrv.h"
#include "collector/open/seal_open.h"

struct ropen {
	struct seal_opener op;
	struct form_catalog *cat;
	struct recpack *rp;
};

int
ropen_new(const char *keyfile, struct ropen **out, char *err, size_t errlen)
{
	struct ropen *o = calloc(1, sizeof(*o));

	if (o == NULL || (o->cat = form_catalog_new()) == NULL ||
	    (o->rp = recpack_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		ropen_free(o);
		return -1;
	}
	if (seal_opener_load(&o->op, keyfile, err, errlen) != 0) {
		ropen_free(o);
		return -1;
	}
	*out = o;
	return 0;
}

void
ropen_free(struct ropen *o)
{
	if (o == NULL)
		return;
	seal_opener_wipe(&o->op);
	form_catalog_free(o->cat);
	recpack_free(o->rp);
	free(o);
}

int
ropen_key_is(const struct ropen *o, const unsigned char *pub)
{
	return memcmp(o->op.pub, pub, SEAL_KEY_LEN) == 0;
}

struct form_catalog *
ropen_catalog(struct ropen *o)
{
	return o->cat;
}

int
ropen_load_collector_forms(struct ropen *o, const char *cdir, char *err,
    size_t errlen)
{
	return csrv_forms_load(cdir, o->cat, err, errlen);
}

int
ropen_record(struct ropen *o, const char *device_id,
    const struct store_record *r, const unsigned char *epoch_pub,
    size_t epoch_pub_len, Field__Record **out, char *why, size_t whylen)
{
	struct seal_ad ad = { r->id, r->form_id, r->form_version, device_id,
	    r->epoch };
	struct recpack_meta m = { r->id, r->form_id, r->form_version,
	    device_id };
	Field__Record *rec = NULL;
	unsigned char *pt;
	size_t len;
	int rc = -1;

	*out = NULL;
	if (epoch_pub_len != SEAL_KEY_LEN) {
		snprintf(why, whylen, "no epoch key");
		return -1;
	}
	/* The bytes come from a device: bound what they make us allocate. */
	if (r->sealed_len < SEAL_OVERHEAD || r->sealed_len > ROPEN_MAX_SEALED ||
	    (pt = malloc(r->sealed_len)) == NULL) {
		snprintf(why, whylen, "sealed payload missing or of impossible "
		    "size");
		return -1;
	}
	len = r->sealed_len - SEAL_OVERHEAD;
	if (seal_open(&o->op, epoch_pub, &ad, r->sealed, r->sealed_len,
	    pt) != 0) {
		snprintf(why, whylen, "cannot open (wrong key, or the record or "
		    "its metadata was altered)");
		goto out;
	}
	if (recpack_decode(o->rp, form_catalog_get(o->cat, r->form_id,
	    r->form_version), &m, pt, len, ROPEN_MAX_SEALED, &rec, why,
	    whylen) != 0)
		goto out;
	if (strcmp(rec->id, r->id) || rec->seq != r->seq ||
	    strcmp(rec->form_id, r->form_id) ||
	    strcmp(rec->form_version, r->form_version) ||
	    strcmp(rec->device_id, device_id)) {
		snprintf(why, whylen, "sealed record does not match its "
		    "metadata");
		field__record__free_unpacked(rec, NULL);
		goto out;
	}
	*out = rec;
	rc = 0;
out:
	mbedtls_platform_zeroize(pt, len);
	free(pt);
	return rc;
}

int
ropen_sealed(struct ropen *o, const char *device_id,
    const Field__Sync__SealedRecord *r, Field__Record **out, char *why,
    size_t whylen)
{
	struct store_record sr = { r->seq, r->id, r->form_id, r->form_version,
	    r->created_ms, (int)r->clock, r->epoch_id, r->sealed.data,
	    r->sealed.len };

	return ropen_record(o, device_id, &sr, r->epoch_pub.data,
	    r->epoch_pub.len, out, why, whylen);
}

void
ropen_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%" PRId64, ms);
}

json_t *
ropen_json(const Field__Record *rec, int64_t corrected_ms)
{
	json_t *o = form_values_json(rec);
	char when[32];

	if (o == NULL)
		return NULL;
	ropen_time(rec->created_ms, when);
	json_object_set_new(o, "_id", json_string(rec->id));
	json_object_set_new(o, "_form", json_string(rec->form_id));
	json_object_set_new(o, "_version", json_string(rec->form_version));
	json_object_set_new(o, "_seq", json_integer((json_int_t)rec->seq));
	json_object_set_new(o, "_device", json_string(rec->device_id));
	json_object_set_new(o, "_created", json_string(when));
	json_object_set_new(o, "_clock", json_string(rec->clock ==
	    FIELD__CLOCK_QUALITY__CLOCK_TRUSTED ? "trusted" : "untrusted"));
	if (corrected_ms >= 0) {
		ropen_time(corrected_ms, when);
		json_object_set_new(o, "_corrected", json_string(when));
	}
	return o;
}
