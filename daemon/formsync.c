/* formsync.c: see formsync.h. */
#include "daemon/formsync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "common/log.h"
#include "common/version.h"
#include "form/form.h"

/* The remembered refusals: a JSON array of {form_id, version, reason,
   build}; an empty array when there are none or the value is unreadable
   (forgetting a refusal costs one more download, nothing else). */
static json_t *
refused_load(struct device *dev)
{
	char text[FORMSYNC_REFUSED_MAX * 640];
	json_t *list = NULL;

	if (store_meta_get(dev->st, FORMSYNC_META_REFUSED, text,
	    sizeof(text)) == 1)
		list = json_loads(text, 0, NULL);
	if (!json_is_array(list)) {
		json_decref(list);
		list = json_array();
	}
	return list;
}

static void
refused_save(struct device *dev, json_t *list)
{
	char *text;

	while (json_array_size(list) > FORMSYNC_REFUSED_MAX)
		json_array_remove(list, 0);
	if ((text = json_dumps(list, JSON_COMPACT)) == NULL ||
	    store_meta_set(dev->st, FORMSYNC_META_REFUSED, text) != 0)
		log_err("sync: form refusals not kept: %s",
		    text ? store_errmsg(dev->st) : "out of memory");
	free(text);
}

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

int
formsync_hello(struct device *dev, Field__Sync__Hello *h,
    struct formsync_hello *k)
{
	size_t n = form_catalog_count(dev->cat), m = 0, i;
	json_t *r;

	memset(k, 0, sizeof(*k));
	k->list = refused_load(dev);
	k->held = calloc(n ? n : 1, sizeof(*k->held));
	k->held_p = calloc(n ? n : 1, sizeof(*k->held_p));
	k->refused = calloc(json_array_size(k->list) + 1,
	    sizeof(*k->refused));
	k->refused_p = calloc(json_array_size(k->list) + 1,
	    sizeof(*k->refused_p));
	if (!k->held || !k->held_p || !k->refused || !k->refused_p) {
		formsync_hello_free(k);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const struct form *f = form_catalog_at(dev->cat, i);

		field__sync__form_ref__init(&k->held[i]);
		k->held[i].form_id = (char *)form_id(f);
		k->held[i].version = (char *)form_version(f);
		k->held_p[i] = &k->held[i];
	}
	json_array_foreach(k->list, i, r) {
		/* Another build's refusal: this one may take the form. */
		if (strcmp(str(r, "build"), FIELD_VERSION) != 0)
			continue;
		field__sync__form_refusal__init(&k->refused[m]);
		k->refused[m].form_id = (char *)str(r, "form_id");
		k->refused[m].version = (char *)str(r, "version");
		k->refused[m].reason = (char *)str(r, "reason");
		k->refused_p[m] = &k->refused[m];
		m++;
	}
	h->lists_forms = 1;
	h->n_held = n;
	h->held = k->held_p;
	h->n_refused = m;
	h->refused = k->refused_p;
	return 0;
}

void
formsync_hello_free(struct formsync_hello *k)
{
	free(k->held);
	free(k->held_p);
	free(k->refused);
	free(k->refused_p);
	json_decref(k->list);
	memset(k, 0, sizeof(*k));
}

/* The definition's JSON, from the zstd copy when there is one, bounded
   by the largest definition a form may have.  NULL with err. */
static char *
definition(const Field__Sync__FormDefinition *d, size_t *len, char *err,
    size_t errlen)
{
	unsigned long long n;
	char *out;

	if (d->definition_zstd.len == 0) {
		*len = strlen(d->definition_json);
		return strdup(d->definition_json);
	}
	n = ZSTD_getFrameContentSize(d->definition_zstd.data,
	    d->definition_zstd.len);
	if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN ||
	    n > FORM_MAX_DEF_BYTES) {
		snprintf(err, errlen, "the compressed definition is damaged or "
		    "larger than %d bytes", FORM_MAX_DEF_BYTES);
		return NULL;
	}
	if ((out = malloc(n + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*len = ZSTD_decompress(out, n, d->definition_zstd.data,
	    d->definition_zstd.len);
	if (ZSTD_isError(*len) || *len != n) {
		snprintf(err, errlen, "the compressed definition is damaged");
		free(out);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

/* Remembers a refusal (replacing an earlier one of the same form). */
static void
refuse(struct device *dev, const Field__Sync__FormDefinition *d,
    const char *why)
{
	json_t *list = refused_load(dev), *r;
	size_t i, n = strlen(why);

	log_warn("sync: form %.64s version %.32s from the collector not "
	    "taken: %s", d->form_id, d->version, why);
	json_array_foreach(list, i, r)
		if (strcmp(str(r, "form_id"), d->form_id) == 0 &&
		    strcmp(str(r, "version"), d->version) == 0) {
			json_array_remove(list, i);
			break;
		}
	/* Kept short, cut between characters. */
	if (n > 300)
		for (n = 300; n > 0 && ((unsigned char)why[n] & 0xC0) == 0x80;
		    n--)
			;
	json_array_append_new(list, json_pack("{s:s, s:s, s:s%, s:s}",
	    "form_id", d->form_id, "version", d->version, "reason", why, n,
	    "build", FIELD_VERSION));
	refused_save(dev, list);
	json_decref(list);
}

unsigned
formsync_take(struct device *dev, const Field__Sync__FormCatalogue *cat)
{
	unsigned added = 0;

	for (size_t i = 0; i < cat->n_forms; i++) {
		const Field__Sync__FormDefinition *d = cat->forms[i];
		const struct form *f;
		char err[512], *json;
		size_t len;

		if (form_catalog_get(dev->cat, d->form_id, d->version))
			continue;
		if ((json = definition(d, &len, err, sizeof(err))) == NULL) {
			refuse(dev, d, err);
			continue;
		}
		if (len > (size_t)dev->cfg.form_max_kb * 1024) {
			snprintf(err, sizeof(err), "the definition is %zu KiB; "
			    "this board takes forms up to %u KiB (form_max_kb)",
			    (len + 1023) / 1024, dev->cfg.form_max_kb);
			refuse(dev, d, err);
			free(json);
			continue;
		}
		f = form_catalog_add(dev->cat, json, len, err, sizeof(err));
		if (f == NULL) {
			refuse(dev, d, err);
			free(json);
			continue;
		}
		/* Not stored: this process has it, and after a restart
		   the board lacks it, so the next hello brings it again. */
		if (store_form_add(dev->st, form_id(f), form_version(f),
		    json) != 0)
			log_err("sync: storing form %s %s: %s", form_id(f),
			    form_version(f), store_errmsg(dev->st));
		else {
			log_info("sync: form %s version %s from the collector",
			    form_id(f), form_version(f));
			added++;
		}
		free(json);
	}
	return added;
}
