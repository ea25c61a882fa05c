/*
 * counts.c: the plaintext count cells a valid record contributes, as its
 * form's "counts" declaration says.  Cells with the same key are merged,
 * so a household of two women gives one cell (sex, female, individuals,
 * 2).  Zero cells are left out.
 */
#include "form/form_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
form_counts_free(struct form_counts *c)
{
	free(c->c);
	c->c = NULL;
	c->n = c->cap = 0;
}

/* Copies s into a field of n bytes, cut if longer (no format parsing:
   this runs for every cell of every record). */
static void
counts_copy(char *dst, size_t n, const char *s)
{
	size_t len = strnlen(s, n - 1);

	memcpy(dst, s, len);
	dst[len] = '\0';
}

static int
counts_add(struct form_counts *out, const char *day, const char *place,
    const char *dim, const char *value, const char *measure, int64_t n)
{
	struct form_count *c;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < out->n; i++) {
		c = &out->c[i];
		/* first bytes first: most cells differ there, and this scan
		   runs for every cell of every record */
		if (c->dim[0] != dim[0] || c->value[0] != value[0] ||
		    c->measure[0] != measure[0])
			continue;
		if (strcmp(c->dim, dim) == 0 && strcmp(c->value, value) == 0 &&
		    strcmp(c->measure, measure) == 0) {
			c->n += n;
			return 0;
		}
	}
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 32;
		struct form_count *nc = realloc(out->c, cap * sizeof(*nc));
		if (nc == NULL)
			return -1;
		out->c = nc;
		out->cap = cap;
	}
	c = &out->c[out->n++];
	counts_copy(c->day, sizeof(c->day), day);
	counts_copy(c->place, sizeof(c->place), place);
	counts_copy(c->dim, sizeof(c->dim), dim);
	counts_copy(c->value, sizeof(c->value), value);
	counts_copy(c->measure, sizeof(c->measure), measure);
	c->n = n;
	return 0;
}

static const char *
counts_band(const struct form *f, long long age)
{
	for (size_t i = 0; i < f->n_bands; i++)
		if (age >= f->bands[i].min && (f->bands[i].max < 0 ||
		    age <= f->bands[i].max))
			return f->bands[i].name;
	return NULL;
}

/*
 * A whole number: an integer answer, or a calculation's value as stored
 * (a whole JSON number, or text such as "4" or "4.0").  1 and *out, or 0.
 */
static int
counts_whole(const json_t *v, long long *out)
{
	double d;
	char *end;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 1;
	}
	if (json_is_real(v))
		d = json_real_value(v);
	else if (json_is_string(v) && json_string_length(v) > 0 &&
	    strspn(json_string_value(v), "-0123456789.") ==
	    json_string_length(v))
	{
		d = strtod(json_string_value(v), &end);
		if (*end != '\0')
			return 0;
	} else
		return 0;
	if (!(d == floor(d) && fabs(d) < 9e15))
		return 0;
	*out = (long long)d;
	return 1;
}

static int64_t
counts_measure(const struct form *f, const struct form_measure *m,
    const json_t *rec)
{
	long long x;

	const json_t *v;

	switch (m->kind) {
	case M_RECORDS:
		return 1;
	case M_REPEAT:
		v = json_object_get(rec, f->fields[m->field].name);
		return json_is_array(v) ? (int64_t)json_array_size(v) : 0;
	case M_SUM:
		v = json_object_get(rec, f->fields[m->field].name);
		return counts_whole(v, &x) ? x : 0;
	}
	return 0;
}

/*
 * Calls fn for each value a dimension takes in obj: one for a choice or
 * text, one per selected choice, the band of a banded integer.
 */
static int
counts_dim_values(const struct form *f, const struct form_dim *d,
    const json_t *obj, int (*fn)(void *, const char *), void *arg)
{
	const json_t *v = json_object_get(obj, f->fields[d->field].name);
	char buf[64];

	if (v == NULL)
		return 0;
	if (d->banded) {
		long long x;
		const char *b = counts_whole(v, &x) ? counts_band(f, x) : NULL;
		return b ? fn(arg, b) : 0;
	}
	if (json_is_string(v) && f->fields[d->field].type ==
	    FT_SELECT_MULTIPLE) {
		for (const char *s = json_string_value(v); *s;) {
			size_t len;
			while (*s == ' ')
				s++;
			if ((len = strcspn(s, " ")) == 0)
				break;
			snprintf(buf, sizeof(buf), "%.*s", (int)len, s);
			if (fn(arg, buf) != 0)
				return -1;
			s += len;
		}
		return 0;
	}
	if (json_is_string(v))
		return json_string_length(v) ? fn(arg, json_string_value(v)) : 0;
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return fn(arg, buf);
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			if (json_is_string(x) && fn(arg, json_string_value(x)))
				return -1;
	}
	return 0;
}

struct cell_ctx {
	const struct form *f;
	const json_t *rec;
	const struct form_dim *dim;
	struct form_counts *out;
	const char *day, *place;
	int repeat;			/* repeat-level dimension: its repeat */
	int64_t m[FORM_MAX_MEASURES];	/* each measure of the record, read
					   once, not once per cell */
};

static int
counts_cell(void *arg, const char *value)
{
	struct cell_ctx *c = arg;

	for (size_t i = 0; i < c->f->n_measures; i++) {
		const struct form_measure *m = &c->f->measures[i];
		int64_t n;

		if (c->repeat >= 0) {
			/* one item: counts only in measures of its repeat */
			if (m->kind != M_REPEAT || m->field != c->repeat)
				continue;
			n = 1;
		} else {
			n = c->m[i];
		}
		if (counts_add(c->out, c->day, c->place, c->dim->name, value,
		    m->name, n) != 0)
			return -1;
	}
	return 0;
}

/* The text of a record-level field (the date, the place), or NULL when
   the form has none (i < 0) or the record leaves it empty. */
static const char *
counts_field_text(const struct form *f, int i, const json_t *rec)
{
	return i < 0 ? NULL : json_string_value(json_object_get(rec,
	    f->fields[i].name));
}

int
form_counts(const struct form *f, const json_t *rec, struct form_counts *out)
{
	struct cell_ctx c = { f, rec, NULL, out, NULL, NULL, -1, { 0 } };

	memset(out, 0, sizeof(*out));
	if (!f->has_counts)
		return 0;
	for (size_t i = 0; i < f->n_measures; i++)
		c.m[i] = counts_measure(f, &f->measures[i], rec);
	c.day = counts_field_text(f, f->date_field, rec);
	c.place = counts_field_text(f, f->place_field, rec);
	if (c.day == NULL)
		c.day = "";
	if (c.place == NULL)
		c.place = "";
	for (size_t i = 0; i < f->n_measures; i++)
		if (counts_add(out, c.day, c.place, "", "", f->measures[i].name,
		    c.m[i]) != 0)
			goto fail;
	for (size_t i = 0; i < f->n_dims; i++) {
		const struct form_dim *d = &f->dims[i];
		int rep = f->fields[d->field].parent;

		c.dim = d;
		c.repeat = rep;
		if (rep < 0) {
			if (counts_dim_values(f, d, rec, counts_cell, &c) != 0)
				goto fail;
			continue;
		}
		const json_t *items = json_object_get(rec, f->fields[rep].name);
		size_t k;
		json_t *item;
		json_array_foreach(items, k, item)
			if (counts_dim_values(f, d, item, counts_cell, &c) != 0)
				goto fail;
	}
	return 0;
fail:
	form_counts_free(out);
	return -1;
}

/* The repeat an items measure counts (the one analysis reads), or -1. */
static int
counts_repeat(const struct form *f)
{
	for (size_t i = 0; i < f->n_measures; i++)
		if (f->measures[i].kind == M_REPEAT)
			return f->measures[i].field;
	return -1;
}

/* The declared dimensions analysis reads: at record level or in the
   counted repeat. */
static int
counts_dim_read(const struct form *f, const struct form_dim *d, int rep)
{
	int parent = f->fields[d->field].parent;

	return parent < 0 || parent == rep;
}

int
form_cschema(const struct form *f, struct form_cschema *out)
{
	int rep = counts_repeat(f);

	_Static_assert(FORM_CDIM_MAX >= FORM_MAX_DIMS + 1, "place + dims");
	_Static_assert(FORM_CMEASURE_MAX >= FORM_MAX_MEASURES, "measures");
	memset(out, 0, sizeof(*out));
	if (!f->has_counts)
		return -1;
	out->latest = f->latest;
	out->by_default = f->counts_default;
	if (f->place_field >= 0) {
		counts_copy(out->dims[0].name, sizeof(out->dims[0].name),
		    f->fields[f->place_field].name);
		counts_copy(out->dims[0].field, sizeof(out->dims[0].field),
		    f->fields[f->place_field].name);
		out->place = 1;
		out->n_dims = 1;
	}
	if (f->date_field >= 0)
		counts_copy(out->date, sizeof(out->date),
		    f->fields[f->date_field].name);
	for (size_t i = 0; i < f->n_dims; i++) {
		const struct form_dim *d = &f->dims[i];
		struct form_cdim *o = &out->dims[out->n_dims];

		if (!counts_dim_read(f, d, rep))
			continue;
		counts_copy(o->name, sizeof(o->name), d->name);
		counts_copy(o->field, sizeof(o->field),
		    f->fields[d->field].name);
		o->item = f->fields[d->field].parent >= 0;
		o->multi = f->fields[d->field].type == FT_SELECT_MULTIPLE;
		out->n_dims++;
	}
	for (size_t i = 0; i < f->n_measures; i++) {
		const struct form_measure *m = &f->measures[i];
		struct form_cmeasure *o = &out->measures[i];

		counts_copy(o->name, sizeof(o->name), m->name);
		o->kind = m->kind == M_RECORDS ? FORM_M_RECORDS :
		    m->kind == M_REPEAT ? FORM_M_ITEMS : FORM_M_SUM;
		o->suppress = !(m->kind == M_RECORDS && f->latest);
	}
	out->n_measures = f->n_measures;
	return 0;
}

int
form_cdim_rank(const struct form *f, const char *dim, const char *value)
{
	const struct form_dim *d = NULL;
	const struct form_field *fd;

	for (size_t i = 0; i < f->n_dims && d == NULL; i++)
		if (strcmp(f->dims[i].name, dim) == 0)
			d = &f->dims[i];
	if (d == NULL)
		return -1;
	if (d->banded) {
		for (size_t i = 0; i < f->n_bands; i++)
			if (strcmp(f->bands[i].name, value) == 0)
				return (int)i;
		return -1;
	}
	fd = &f->fields[d->field];
	if (fd->list < 0)
		return -1;
	{
		const struct form_list *l = &f->lists[fd->list];
		const struct form_choice *ch = form_list_find(l, value);

		return ch ? (int)(ch - l->choices) : -1;
	}
}

struct fact_ctx {
	int (*fn)(void *, long, size_t, const char *);
	void *arg;
	long item;
	size_t dim;
};

static int
counts_fact(void *arg, const char *value)
{
	struct fact_ctx *c = arg;

	return c->fn(c->arg, c->item, c->dim, value);
}

int
form_facts(const struct form *f, const json_t *rec, char day[11],
    int64_t m[FORM_CMEASURE_MAX], size_t *n_items,
    int (*fn)(void *arg, long item, size_t dim, const char *value),
    void *arg)
{
	struct fact_ctx c = { fn, arg, -1, 0 };
	int rep = counts_repeat(f), rc;
	const json_t *items = rep >= 0 ?
	    json_object_get(rec, f->fields[rep].name) : NULL;
	const char *place, *date;
	size_t k;
	json_t *item;

	date = counts_field_text(f, f->date_field, rec);
	/* a date, or the date part of a dateTime (start, end) */
	counts_copy(day, 11, date && strlen(date) >= 10 ? date : "");
	*n_items = json_is_array(items) ? json_array_size(items) : 0;
	for (size_t i = 0; i < f->n_measures; i++)
		m[i] = counts_measure(f, &f->measures[i], rec);
	place = counts_field_text(f, f->place_field, rec);
	if (place && *place && (rc = fn(arg, -1, 0, place)) != 0)
		return rc;
	c.dim = f->place_field >= 0;
	for (size_t i = 0; i < f->n_dims; i++) {
		const struct form_dim *d = &f->dims[i];

		if (!counts_dim_read(f, d, rep))
			continue;
		if (f->fields[d->field].parent < 0) {
			c.item = -1;
			if ((rc = counts_dim_values(f, d, rec, counts_fact,
			    &c)) != 0)
				return rc;
		} else {
			json_array_foreach(items, k, item) {
				c.item = (long)k;
				if ((rc = counts_dim_values(f, d, item,
				    counts_fact, &c)) != 0)
					return rc;
			}
		}
		c.dim++;
	}
	return 0;
}

/*
 * The default counts of a form that declares none: what any form can be
 * counted by without a person saying so.
 *
 *  - measure `records` (one per record), suppressed like any count of
 *    people;
 *  - the day: the `today` metadata field, else `start`, else `end` (the
 *    date part of the dateTime, as the phone saw it), else the first date
 *    field outside repeats; with none of them, the day the record was made
 *    (the collector and the board fill that in);
 *  - the place: a select_one or text field outside repeats whose name
 *    says it is one (place_rank below), the most specific first: a site
 *    before a village before an admin area, admin3 before admin2;
 *  - a dimension per other select_one outside repeats (up to
 *    FORM_MAX_DIMS, in survey order): choices are codes, never free text.
 */

/* Words that name a place, the most specific first. */
static const char *const place_words[] = { "site", "camp", "settlement",
    "village", "community", "locality", "neighbourhood", "neighborhood",
    "place", "location", "centre", "center", "facility", "district",
    NULL };
/* What may follow the word in a place field's name: site_id, camp_name. */
static const char *const place_tails[] = { "id", "code", "pcode", "name",
    "no", "num", "number", NULL };

static int
word_in(const char *s, size_t n, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0)
			return i;
	return -1;
}

/*
 * How well a field's name says "place": lower is better, -1 not at all.
 * The name is words split on _ - and .; the first word is a place word
 * (or admN / adminN, ranked after them, the deepest level first) and any
 * other is an id-like tail, so site_type or camp_manager is no place.
 */
static int
place_rank(const char *name)
{
	size_t n = strcspn(name, "_-."), stem = 0, level = 0;
	int rank = word_in(name, n, place_words);

	if (rank < 0) {
		if (strncasecmp(name, "admin", 5) == 0)
			stem = 5;
		else if (strncasecmp(name, "adm", 3) == 0)
			stem = 3;
		else
			return -1;
		if (n > stem + 1)
			return -1;		/* admin12, administrator */
		if (n == stem + 1) {
			if (name[stem] < '0' || name[stem] > '9')
				return -1;
			level = (size_t)(name[stem] - '0');
		}
		/* after every place word: admin9 first, plain admin last */
		rank = 100 + (n == stem ? 10 : 9 - (int)level);
	}
	for (const char *s = name + n; *s;) {
		s++;
		n = strcspn(s, "_-.");
		if (n > 0 && word_in(s, n, place_tails) < 0)
			return -1;
		s += n;
	}
	return rank;
}

/* The field a default count takes its day from, or -1. */
static int
default_date(const struct form *f)
{
	const int meta[] = { f->meta_today, f->meta_start, f->meta_end };

	for (size_t i = 0; i < 3; i++)
		if (meta[i] > 0 && f->fields[meta[i] - 1].parent < 0)
			return meta[i] - 1;
	for (size_t i = 0; i < f->n_fields; i++)
		if (f->fields[i].type == FT_DATE && f->fields[i].parent < 0)
			return (int)i;
	return -1;
}

static int
default_place(const struct form *f)
{
	int best = -1, best_rank = 0;

	for (size_t i = 0; i < f->n_fields; i++) {
		const struct form_field *fd = &f->fields[i];
		int r;

		if (fd->parent >= 0 || (fd->type != FT_SELECT_ONE &&
		    fd->type != FT_TEXT) || strlen(fd->name) >=
		    sizeof(((struct form_count *)0)->dim) ||
		    (r = place_rank(fd->name)) < 0)
			continue;
		if (best < 0 || r < best_rank) {
			best = (int)i;
			best_rank = r;
		}
	}
	return best;
}

void
form_counts_default(struct form *f)
{
	static const char *const reserved[] = { "day", "week", "month",
	    "records", NULL };

	f->has_counts = 1;
	f->counts_default = 1;
	f->latest = 0;
	f->date_field = default_date(f);
	f->place_field = default_place(f);
	f->n_dims = 0;
	for (size_t i = 0; i < f->n_fields && f->n_dims < FORM_MAX_DIMS;
	    i++) {
		const struct form_field *fd = &f->fields[i];
		struct form_dim *d = &f->dims[f->n_dims];

		if (fd->type != FT_SELECT_ONE || fd->parent >= 0 ||
		    (int)i == f->place_field || strlen(fd->name) >=
		    sizeof(d->name) || word_in(fd->name, strlen(fd->name),
		    reserved) >= 0)
			continue;
		memset(d, 0, sizeof(*d));
		counts_copy(d->name, sizeof(d->name), fd->name);
		d->field = (int)i;
		f->n_dims++;
	}
	memset(&f->measures[0], 0, sizeof(f->measures[0]));
	counts_copy(f->measures[0].name, sizeof(f->measures[0].name),
	    "records");
	f->measures[0].kind = M_RECORDS;
	f->measures[0].field = -1;
	f->n_measures = 1;
}
