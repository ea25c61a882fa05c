/* counts_view.c: see counts_view.h. */
#include "daemon/counts_view.h"

#include <stdlib.h>
#include <string.h>

#include "form/suppress.h"

/* Sums the cells in range into agg[form \x1f place \x1f measure][dim][value]. */
static json_t *
cv_sum(const json_t *cells, const char *from, const char *to)
{
	json_t *agg = json_object(), *c;
	size_t i;

	if (agg == NULL)
		return NULL;
	json_array_foreach(cells, i, c) {
		const char *day = json_string_value(json_object_get(c, "day"));
		const char *f = json_string_value(json_object_get(c, "form"));
		const char *p = json_string_value(json_object_get(c, "place"));
		const char *m = json_string_value(json_object_get(c, "measure"));
		const char *d = json_string_value(json_object_get(c, "dim"));
		const char *v = json_string_value(json_object_get(c, "value"));
		json_int_t n = json_integer_value(json_object_get(c, "n"));
		char key[256];
		json_t *dims, *vals, *old;

		if (!day || !f || !p || !m || !d || !v ||
		    (from && strcmp(day, from) < 0) ||
		    (to && strcmp(day, to) > 0))
			continue;
		snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", f, p, m);
		if ((dims = json_object_get(agg, key)) == NULL) {
			dims = json_object();
			json_object_set_new(agg, key, dims);
		}
		if ((vals = json_object_get(dims, d)) == NULL) {
			vals = json_object();
			json_object_set_new(dims, d, vals);
		}
		old = json_object_get(vals, v);
		json_object_set_new(vals, v, json_integer(n +
		    (old ? json_integer_value(old) : 0)));
	}
	return agg;
}

/* One dimension's table: its cells and the total, suppressed. */
static json_t *
cv_table(const json_t *vals, json_int_t total, int64_t threshold,
    int *total_suppressed, size_t *n_sup)
{
	size_t n = json_object_size(vals), k = 0;
	struct sup_entry *e = calloc(n + 1, sizeof(*e));
	uint32_t *coord = calloc(n + 1, sizeof(*coord));
	json_t *arr = json_array(), *v;
	const char *value;

	if (e == NULL || coord == NULL || arr == NULL) {
		free(e);
		free(coord);
		json_decref(arr);
		return NULL;
	}
	json_object_foreach((json_t *)vals, value, v) {
		coord[k] = (uint32_t)k;
		e[k].coord = &coord[k];
		e[k].value = json_integer_value(v);
		k++;
	}
	coord[n] = SUP_ALL;
	e[n].coord = &coord[n];
	e[n].value = total;
	if (threshold > 1 && sup_apply(e, n + 1, 1, threshold) != 0)
		for (size_t i = 0; i <= n; i++)
			e[i].state = SUP_PRIMARY;
	k = 0;
	json_object_foreach((json_t *)vals, value, v) {
		json_t *o = json_pack("{s:s}", "value", value);
		if (e[k].state == SUP_SHOWN) {
			json_object_set_new(o, "n", json_integer(e[k].value));
		} else {
			json_object_set_new(o, "n", json_null());
			json_object_set_new(o, "_suppressed",
			    json_string(sup_reason(e[k].state)));
			(*n_sup)++;
		}
		json_array_append_new(arr, o);
		k++;
	}
	if (e[n].state != SUP_SHOWN)
		*total_suppressed = e[n].state;
	free(e);
	free(coord);
	return arr;
}

json_t *
counts_view(const json_t *cells, const char *from, const char *to,
    int64_t threshold)
{
	json_t *agg = cv_sum(cells, from, to), *out = json_array(), *dims;
	size_t n_sup = 0;
	const char *key;

	if (agg == NULL || out == NULL) {
		json_decref(agg);
		json_decref(out);
		return NULL;
	}
	json_object_foreach(agg, key, dims) {
		const json_t *tv = json_object_get(json_object_get(dims, ""),
		    "");
		json_int_t total = tv ? json_integer_value(tv) : 0;
		json_t *o, *tables = json_object(), *vals;
		int tsup = 0;
		char f[256];
		const char *d;

		snprintf(f, sizeof(f), "%s", key);
		char *p = strchr(f, '\x1f'), *m = p ? strchr(p + 1, '\x1f') :
		    NULL;
		if (m == NULL || tables == NULL) {
			json_decref(tables);
			continue;
		}
		*p++ = '\0';
		*m++ = '\0';
		json_object_foreach(dims, d, vals) {
			if (*d)
				json_object_set_new(tables, d, cv_table(vals,
				    total, threshold, &tsup, &n_sup));
		}
		if (threshold > 1 && total > 0 && total < threshold)
			tsup = SUP_PRIMARY;
		o = json_pack("{s:s,s:s,s:s,s:o}", "form", f, "place", p,
		    "measure", m, "dims", tables);
		if (tsup) {
			json_object_set_new(o, "total", json_null());
			json_object_set_new(o, "_suppressed", json_string(
			    sup_reason((enum sup_state)tsup)));
			n_sup++;
		} else
			json_object_set_new(o, "total", json_integer(total));
		json_array_append_new(out, o);
	}
	json_decref(agg);
	return json_pack("{s:I,s:I,s:s?,s:s?,s:o}", "threshold",
	    (json_int_t)threshold, "suppressed", (json_int_t)n_sup, "from",
	    from, "to", to, "counts", out);
}
