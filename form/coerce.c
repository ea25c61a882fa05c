/*
 * coerce.c: text cells (a CSV import) into the JSON types the validator
 * expects.  Only string values of known fields are touched; everything
 * else is left for form_validate to judge.
 */
#include "form/form_impl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
coerce_value(const struct form_field *fd, const char *s, json_t **out)
{
	char *end;

	*out = NULL;
	switch (fd->type) {
	case FT_INTEGER: {
		long long x;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (errno || end == s || *end != '\0' || isspace((unsigned
		    char)*s))
			return -1;
		*out = json_integer(x);
		break;
	}
	case FT_DECIMAL: {
		double d;
		errno = 0;
		d = strtod(s, &end);
		if (errno || end == s || *end != '\0' || !isfinite(d) ||
		    isspace((unsigned char)*s))
			return -1;
		*out = json_real(d);
		break;
	}
	case FT_SELECT_MULTIPLE: {
		json_t *arr = json_array();
		while (arr && *s) {
			size_t len;
			while (*s == ' ')
				s++;
			if ((len = strcspn(s, " ")) == 0)
				break;
			json_array_append_new(arr, json_stringn(s, len));
			s += len;
		}
		*out = arr;
		break;
	}
	default:
		return 0;	/* text, dates, choices, points stay strings */
	}
	return *out ? 0 : -1;
}

static void
coerce_object(const struct form *f, json_t *obj, int parent,
    const char *prefix, struct form_errors *errs)
{
	char path[160];
	const char *key;
	json_t *v, *nv;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v) {
		int i = form_field_index(f, key);
		const struct form_field *fd;

		if (i < 0 || f->fields[i].parent != parent)
			continue;
		fd = &f->fields[i];
		if (prefix)
			snprintf(path, sizeof(path), "%s.%s", prefix, key);
		else
			snprintf(path, sizeof(path), "%s", key);
		if (fd->type == FT_REPEAT && json_is_array(v)) {
			size_t k;
			json_t *item;
			json_array_foreach(v, k, item) {
				char ip[160];
				if (!json_is_object(item))
					continue;
				snprintf(ip, sizeof(ip), "%s[%zu]", key, k + 1);
				coerce_object(f, item, i, ip, errs);
			}
			continue;
		}
		if (!json_is_string(v))
			continue;
		if (json_string_length(v) == 0) {
			json_object_del(obj, key);
			continue;
		}
		if (coerce_value(fd, json_string_value(v), &nv) != 0) {
			form_error_add(errs, path, fd->type == FT_INTEGER ?
			    "must be a whole number" : "must be a number");
			continue;
		}
		if (nv)
			json_object_set_new(obj, key, nv);
	}
}

int
form_coerce(const struct form *f, json_t *rec, struct form_errors *errs)
{
	size_t before = errs->n + errs->dropped;

	if (!json_is_object(rec)) {
		form_error_add(errs, "", "a record must be a JSON object");
		return -1;
	}
	coerce_object(f, rec, -1, NULL, errs);
	return errs->n + errs->dropped > before ? -1 : 0;
}
