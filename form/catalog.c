/*
 * catalog.c: several forms, several versions of each.  A small array in
 * the order definitions were added; the current version of a form id is
 * the one added last.
 */
#include "form/form_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CATALOG_MAX 256

struct form_catalog {
	struct form *forms[CATALOG_MAX];
	size_t n;
};

struct form_catalog *
form_catalog_new(void)
{
	return calloc(1, sizeof(struct form_catalog));
}

void
form_catalog_free(struct form_catalog *cat)
{
	if (cat == NULL)
		return;
	for (size_t i = 0; i < cat->n; i++)
		form_free(cat->forms[i]);
	free(cat);
}

const struct form *
form_catalog_add(struct form_catalog *cat, const char *json, size_t len,
    char *err, size_t errlen)
{
	struct form *f;

	if (form_parse(json, len, &f, err, errlen) != 0)
		return NULL;
	for (size_t i = 0; i < cat->n; i++) {
		struct form *o = cat->forms[i];

		if (strcmp(o->id, f->id) || strcmp(o->version, f->version))
			continue;
		if (json_equal(o->def, f->def)) {
			form_free(f);
			return o;
		}
		snprintf(err, errlen, "form %s version %s is already defined "
		    "differently", f->id, f->version);
		form_free(f);
		return NULL;
	}
	if (cat->n == CATALOG_MAX) {
		snprintf(err, errlen, "more than %d form versions", CATALOG_MAX);
		form_free(f);
		return NULL;
	}
	cat->forms[cat->n++] = f;
	return f;
}

const struct form *
form_catalog_get(const struct form_catalog *cat, const char *id,
    const char *version)
{
	for (size_t i = cat->n; i-- > 0;) {
		const struct form *f = cat->forms[i];

		if (strcmp(f->id, id) == 0 && (version == NULL ||
		    strcmp(f->version, version) == 0))
			return f;
	}
	return NULL;
}

const struct form *
form_catalog_nth(const struct form_catalog *cat, size_t i)
{
	size_t k = 0;

	/* The i-th distinct id, in the order first added. */
	for (size_t j = 0; j < cat->n; j++) {
		int seen = 0;

		for (size_t m = 0; m < j && !seen; m++)
			seen = strcmp(cat->forms[m]->id, cat->forms[j]->id) == 0;
		if (seen)
			continue;
		if (k++ == i)
			return form_catalog_get(cat, cat->forms[j]->id, NULL);
	}
	return NULL;
}
