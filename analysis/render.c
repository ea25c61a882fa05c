/* render.c: see render.h. */
#include "analysis/render.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
arender_format(const char *name, enum aformat *f)
{
	static const char *const names[] = { "table", "csv", "json", "hxl" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*f = (enum aformat)i;
			return 0;
		}
	return -1;
}

const char *
arender_type(enum aformat f)
{
	return f == AF_JSON ? "application/json" : f == AF_TABLE ?
	    "text/plain; charset=utf-8" : "text/csv; charset=utf-8";
}

/* HXL attributes are lower-case letters, digits and '_'. */
static void
hxl_attr(const char *name, char *out, size_t len)
{
	size_t i = 0;

	for (; *name && i + 1 < len; name++)
		out[i++] = isalnum((unsigned char)*name) ?
		    (char)tolower((unsigned char)*name) : '_';
	out[i] = '\0';
	if (!isalpha((unsigned char)out[0]) && len > 1)
		out[0] = 'x';
}

const char *
arender_hxl_dim(const char *name, char *buf, size_t len)
{
	static const char *const known[][2] = {
		{ "admin1", "#adm1+code" }, { "admin2", "#adm2+code" },
		{ "site_id", "#loc+code" }, { "centre_id", "#loc+code" },
		{ "site_type", "#loc+type" }, { "day", "#date" },
		{ "week", "#date+week" }, { "month", "#date+month" },
		{ "sex", "#group+sex" }, { "age_band", "#group+age" },
		{ "nationality", "#country+code+nationality" },
		{ "need", "#sector+need" },
	};
	char a[64];

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(name, known[i][0]) == 0)
			return known[i][1];
	hxl_attr(name, a, sizeof(a));
	snprintf(buf, len, "#group+%s", a);
	return buf;
}

const char *
arender_hxl_measure(const char *name, char *buf, size_t len)
{
	static const char *const known[][2] = {
		{ "households", "#affected+hh" },
		{ "individuals", "#affected+ind" },
		{ "sites", "#indicator+sites+num" },
		{ "visits", "#reached+visits" },
	};
	/* DTM's sex and age cells: females_0_4 ... males_60_plus */
	static const char *const ages[][2] = {
		{ "_0_4", "infants" }, { "_5_11", "children" },
		{ "_12_17", "adolescents" }, { "_18_59", "adults" },
		{ "_60_plus", "elderly" },
	};
	char a[64];

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(name, known[i][0]) == 0)
			return known[i][1];
	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		const char *sex = strncmp(name, "females", 7) == 0 ? "f" :
		    strncmp(name, "males", 5) == 0 ? "m" : NULL;
		const char *rest = name + (sex && *sex == 'f' ? 7 : 5);
		if (sex && strcmp(rest, ages[i][0]) == 0) {
			snprintf(buf, len, "#affected+%s+%s", sex, ages[i][1]);
			return buf;
		}
	}
	hxl_attr(name, a, sizeof(a));
	snprintf(buf, len, "#affected+%s", a);
	return buf;
}

static int
r_is_cell(const struct aresult *r, const struct aentry *e)
{
	for (size_t b = 0; b < r->q.n_by; b++)
		if (e->coord[b] == SUP_ALL)
			return 0;
	return 1;
}

/* Left out: a cell that is zero in every measure and not suppressed. */
static int
r_skip(const struct aresult *r, const struct aentry *e)
{
	if (!r_is_cell(r, e))
		return 0;
	for (size_t m = 0; m < r->n_measures; m++)
		if (e->v[m] != 0 || e->st[m] != SUP_SHOWN)
			return 0;
	return 1;
}

static const char *
r_label(const struct aresult *r, const struct aentry *e, size_t b)
{
	return e->coord[b] == SUP_ALL ? "Total" : r->values[b][e->coord[b]];
}

/* "individuals: under the threshold; households: ..." into out. */
static void
r_why(const struct aresult *r, const struct aentry *e, char *out,
    size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t m = 0; m < r->n_measures && n < len; m++)
		if (e->st[m] != SUP_SHOWN)
			n += (size_t)snprintf(out + n, len - n, "%s%s: %s",
			    n ? "; " : "", r->measures[m].name,
			    sup_reason(e->st[m]));
}

static void
csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
r_csv(const struct aresult *r, FILE *f, int hxl)
{
	char buf[128], why[512];

	for (size_t b = 0; b < r->q.n_by; b++) {
		csv_field(f, r->q.by[b]);
		fputc(',', f);
	}
	for (size_t m = 0; m < r->n_measures; m++) {
		csv_field(f, r->measures[m].name);
		fputc(',', f);
	}
	fputs("suppressed\n", f);
	if (hxl) {
		for (size_t b = 0; b < r->q.n_by; b++)
			fprintf(f, "%s,", arender_hxl_dim(r->q.by[b], buf,
			    sizeof(buf)));
		for (size_t m = 0; m < r->n_measures; m++)
			fprintf(f, "%s,", arender_hxl_measure(
			    r->measures[m].name, buf, sizeof(buf)));
		fputs("#meta+suppressed\n", f);
	}
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct aentry *e = &r->e[i];

		if (r_skip(r, e) || (hxl && !r_is_cell(r, e) && r->q.n_by))
			continue;
		for (size_t b = 0; b < r->q.n_by; b++) {
			csv_field(f, r_label(r, e, b));
			fputc(',', f);
		}
		for (size_t m = 0; m < r->n_measures; m++) {
			if (e->st[m] != SUP_SHOWN)
				fputs("suppressed", f);
			else
				fprintf(f, "%" PRId64, e->v[m]);
			fputc(',', f);
		}
		r_why(r, e, why, sizeof(why));
		csv_field(f, why);
		fputc('\n', f);
	}
}

static json_t *
r_json_row(const struct aresult *r, const struct aentry *e)
{
	json_t *o = json_object(), *why = NULL;

	if (o == NULL)
		return NULL;
	for (size_t b = 0; b < r->q.n_by; b++)
		json_object_set_new(o, r->q.by[b], e->coord[b] == SUP_ALL ?
		    json_null() : json_string(r->values[b][e->coord[b]]));
	for (size_t m = 0; m < r->n_measures; m++) {
		if (e->st[m] == SUP_SHOWN) {
			json_object_set_new(o, r->measures[m].name,
			    json_integer((json_int_t)e->v[m]));
			continue;
		}
		json_object_set_new(o, r->measures[m].name, json_null());
		if (why == NULL)
			why = json_object();
		json_object_set_new(why, r->measures[m].name,
		    json_string(sup_reason(e->st[m])));
	}
	if (why)
		json_object_set_new(o, "_suppressed", why);
	return o;
}

static char *
r_json(const struct aresult *r, size_t *len)
{
	json_t *o = json_object(), *by = json_array(), *where = json_object(),
	    *ms = json_array(), *rows = json_array(), *totals = json_array();
	char *s = NULL;

	if (!o || !by || !where || !ms || !rows || !totals)
		goto out;
	for (size_t b = 0; b < r->q.n_by; b++)
		json_array_append_new(by, json_string(r->q.by[b]));
	for (size_t w = 0; w < r->q.n_where; w++)
		json_object_set_new(where, r->q.where[w].dim,
		    json_string(r->q.where[w].value));
	for (size_t m = 0; m < r->n_measures; m++)
		json_array_append_new(ms, json_string(r->measures[m].name));
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct aentry *e = &r->e[i];
		if (!r_skip(r, e))
			json_array_append_new(r_is_cell(r, e) && r->q.n_by ?
			    rows : totals, r_json_row(r, e));
	}
	json_object_set_new(o, "form", json_string(r->q.form));
	json_object_set(o, "by", by);
	json_object_set_new(o, "from", r->q.from[0] ?
	    json_string(r->q.from) : json_null());
	json_object_set_new(o, "to", r->q.to[0] ? json_string(r->q.to) :
	    json_null());
	json_object_set(o, "where", where);
	json_object_set(o, "measures", ms);
	json_object_set_new(o, "threshold", r->q.threshold > 1 ?
	    json_integer((json_int_t)r->q.threshold) : json_null());
	json_object_set_new(o, "suppressed",
	    json_integer((json_int_t)r->n_suppressed));
	json_object_set_new(o, "perturbed", json_boolean(r->perturbed));
	json_object_set(o, "rows", rows);
	json_object_set(o, "totals", totals);
	json_object_set_new(o, "generation",
	    json_integer((json_int_t)r->generation));
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s)
		*len = strlen(s);
out:
	json_decref(o);
	json_decref(by);
	json_decref(where);
	json_decref(ms);
	json_decref(rows);
	json_decref(totals);
	return s;
}

/* The table: CSV's content, aligned, then a legend. */
static void
r_table(const struct aresult *r, FILE *f)
{
	size_t ncol = r->q.n_by + r->n_measures;
	size_t w[AQ_MAX_BY + FORM_CMEASURE_MAX];
	char num[32], why[512];

	for (size_t c = 0; c < ncol; c++)
		w[c] = strlen(c < r->q.n_by ? r->q.by[c] :
		    r->measures[c - r->q.n_by].name);
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct aentry *e = &r->e[i];
		if (r_skip(r, e))
			continue;
		for (size_t b = 0; b < r->q.n_by; b++) {
			size_t l = strlen(r_label(r, e, b));
			w[b] = l > w[b] ? l : w[b];
		}
		for (size_t m = 0; m < r->n_measures; m++) {
			size_t l = e->st[m] != SUP_SHOWN ? 10 : (size_t)
			    snprintf(num, sizeof(num), "%" PRId64, e->v[m]);
			w[r->q.n_by + m] = l > w[r->q.n_by + m] ? l :
			    w[r->q.n_by + m];
		}
	}
	for (size_t c = 0; c < ncol; c++)
		fprintf(f, c < r->q.n_by ? "%-*s  " : "%*s  ", (int)w[c],
		    c < r->q.n_by ? r->q.by[c] :
		    r->measures[c - r->q.n_by].name);
	fputc('\n', f);
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct aentry *e = &r->e[i];
		if (r_skip(r, e))
			continue;
		for (size_t b = 0; b < r->q.n_by; b++)
			fprintf(f, "%-*s  ", (int)w[b], *r_label(r, e, b) ?
			    r_label(r, e, b) : "(blank)");
		for (size_t m = 0; m < r->n_measures; m++) {
			if (e->st[m] != SUP_SHOWN)
				snprintf(num, sizeof(num), "suppressed");
			else
				snprintf(num, sizeof(num), "%" PRId64, e->v[m]);
			fprintf(f, "%*s  ", (int)w[r->q.n_by + m], num);
		}
		r_why(r, e, why, sizeof(why));
		fprintf(f, "%s\n", why);
	}
	if (r->q.threshold > 1)
		fprintf(f, "\n%zu value%s suppressed: counts under %" PRId64
		    " and what would give them away.\n", r->n_suppressed,
		    r->n_suppressed == 1 ? "" : "s", r->q.threshold);
	if (r->perturbed)
		fputs("Counts of people are perturbed: each record counts 0, 1 "
		    "or 2, the same in every answer.\n", f);
}

char *
arender(const struct aresult *r, enum aformat fmt, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	if (fmt == AF_JSON)
		return r_json(r, len);
	if ((f = open_memstream(&buf, &n)) == NULL)
		return NULL;
	if (fmt == AF_TABLE)
		r_table(r, f);
	else
		r_csv(r, f, fmt == AF_HXL);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}
