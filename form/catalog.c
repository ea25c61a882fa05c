/*
 * catalog.c: several forms, several versions of each.  A small array in
 * the order definitions were added; the current version of a form id is
 * its highest version (form_version_cmp), whatever order they came in: a
 * collector may hand a board an older version it lacks.
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
		if (form_same(o, f)) {
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
	const struct form *best = NULL;

	for (size_t i = 0; i < cat->n; i++) {
		const struct form *f = cat->forms[i];

		if (strcmp(f->id, id) != 0)
			continue;
		if (version != NULL) {
			if (strcmp(f->version, version) == 0)
				return f;
		} else if (best == NULL ||
		    form_version_cmp(f->version, best->version) > 0)
			best = f;
	}
	return best;
}

/* Compares dotted versions part by part, numerically where both parts
   are numbers ("2026.11.10" > "2026.11.9"), else as text. */
int
form_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		int na = la > 0 && strspn(a, "0123456789") == la;
		int nb = lb > 0 && strspn(b, "0123456789") == lb;
		int c;

		if (na && nb) {
			/* Numbers: skip leading zeros, then longer is larger. */
			while (la > 1 && *a == '0')
				a++, la--;
			while (lb > 1 && *b == '0')
				b++, lb--;
			c = la != lb ? (la < lb ? -1 : 1) : strncmp(a, b, la);
		} else {
			c = strncmp(a, b, la < lb ? la : lb);
			if (c == 0 && la != lb)
				c = la < lb ? -1 : 1;
		}
		if (c != 0)
			return c < 0 ? -1 : 1;
		a += la + (a[la] == '.');
		b += lb + (b[lb] == '.');
	}
	return 0;
}

void
form_catalog_version(const struct form_catalog *cat, char *out,
    size_t outlen)
{
	const char *best = "";

	for (size_t i = 0; i < cat->n; i++)
		if (form_version_cmp(cat->forms[i]->version, best) > 0)
			best = cat->forms[i]->version;
	snprintf(out, outlen, "%s", best);
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

size_t
form_catalog_count(const struct form_catalog *cat)
{
	return cat->n;
}

const struct form *
form_catalog_at(const struct form_catalog *cat, size_t i)
{
	return i < cat->n ? cat->forms[i] : NULL;
}
