/*
 * form.c: parsing a form definition (see proto/forms/README.md) into a
 * struct form, checked as a whole: every row's type and name, choice
 * lists, expressions and the names they mention, the counts declaration.
 * Also the small accessors and helpers the other form files share.
 */
#include "form/form_impl.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
form_error_add(struct form_errors *errs, const char *path, const char *fmt,
    ...)
{
	va_list ap;
	struct form_error *e;

	if (errs->n == FORM_MAX_ERRORS) {
		errs->dropped++;
		return;
	}
	e = &errs->e[errs->n++];
	snprintf(e->path, sizeof(e->path), "%s", path);
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

const char *
form_id(const struct form *f)
{
	return f->id;
}

const char *
form_version(const struct form *f)
{
	return f->version;
}

const json_t *
form_definition(const struct form *f)
{
	return f->def;
}

const char *
form_title(const struct form *f)
{
	return f->title;
}

const char *
form_latest_by(const struct form *f)
{
	return f->latest ? f->fields[f->place_field].name : NULL;
}

static unsigned
form_hash(const char *name)
{
	unsigned h = 2166136261u;	/* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

/* Every record looks fields up by name many times: a small open-addressed
   table, filled as fields are parsed (form_field_hash_add). */
int
form_field_index(const struct form *f, const char *name)
{
	unsigned h = form_hash(name);

	for (unsigned k = 0; k < FORM_HASH_SLOTS; k++) {
		int i = f->hash[(h + k) & (FORM_HASH_SLOTS - 1)] - 1;

		if (i < 0)
			return -1;
		if (strcmp(f->fields[i].name, name) == 0)
			return i;
	}
	return -1;
}

static void
form_field_hash_add(struct form *f, int i)
{
	unsigned h = form_hash(f->fields[i].name);

	for (unsigned k = 0; k < FORM_HASH_SLOTS; k++) {
		short *slot = &f->hash[(h + k) & (FORM_HASH_SLOTS - 1)];
		if (*slot == 0) {
			*slot = (short)(i + 1);
			return;
		}
	}
}

int
form_list_has(const struct form_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->choices[i], name) == 0)
			return 1;
	return 0;
}

int
form_date_ok(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return 0;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1900 || m < 1 || m > 12 || d < 1)
		return 0;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

int
form_geopoint_text(const char *s, double v[4], int *has_alt, int *has_acc)
{
	char *end;
	int n = 0;

	while (n < 4) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		/* plain decimals only: strtod also takes inf, nan, hex */
		if (strspn(s, "0123456789+-.eE") != strcspn(s, " "))
			return -1;
		v[n] = strtod(s, &end);
		if (end == s || (*end != ' ' && *end != '\0') ||
		    !isfinite(v[n]))
			return -1;
		n++;
		s = end;
	}
	while (*s == ' ')
		s++;
	if (n < 2 || *s != '\0')
		return -1;
	*has_alt = n >= 3;
	*has_acc = n >= 4;
	if (n < 3)
		v[2] = 0;
	if (n < 4)
		v[3] = 0;
	return 0;
}

/* Definition parsing. */

struct parse {
	struct form *f;
	char *err;
	size_t errlen;
	int failed;
	const char *lang;
};

static int __attribute__((format(printf, 2, 3)))
def_fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	p->failed = 1;
	return -1;
}

static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= FORM_NAME_MAX ||
	    !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* A translated column: "col::LANG" in the default language, else "col". */
static const char *
def_text(const json_t *row, const char *col, const char *lang)
{
	char key[96];
	const json_t *v;

	snprintf(key, sizeof(key), "%s::%s", col, lang);
	if ((v = json_object_get(row, key)) != NULL && json_is_string(v))
		return json_string_value(v);
	if ((v = json_object_get(row, col)) != NULL && json_is_string(v))
		return json_string_value(v);
	return NULL;
}

static int
def_lists(struct parse *p, const json_t *choices)
{
	struct form *f = p->f;
	size_t i;
	json_t *c;

	if (choices == NULL)
		return 0;
	if (!json_is_array(choices))
		return def_fail(p, "choices: must be an array");
	f->lists = calloc(FORM_MAX_LISTS, sizeof(*f->lists));
	if (f->lists == NULL)
		return def_fail(p, "out of memory");
	json_array_foreach(choices, i, c) {
		const char *list = json_string_value(json_object_get(c,
		    "list_name"));
		const char *name = json_string_value(json_object_get(c, "name"));
		struct form_list *l = NULL;

		if (list == NULL || name == NULL || !name_ok(list) ||
		    !name_ok(name))
			return def_fail(p, "choices row %zu: needs list_name and "
			    "name, letters, digits, _ - . only", i + 1);
		for (size_t k = 0; k < f->n_lists; k++)
			if (strcmp(f->lists[k].name, list) == 0)
				l = &f->lists[k];
		if (l == NULL) {
			if (f->n_lists == FORM_MAX_LISTS)
				return def_fail(p, "choices: more than %d "
				    "lists", FORM_MAX_LISTS);
			l = &f->lists[f->n_lists++];
			snprintf(l->name, sizeof(l->name), "%s", list);
			l->choices = calloc(FORM_MAX_CHOICES,
			    sizeof(*l->choices));
			if (l->choices == NULL)
				return def_fail(p, "out of memory");
		}
		if (form_list_has(l, name))
			return def_fail(p, "choices row %zu: %s repeats a "
			    "choice of %s", i + 1, name, list);
		if (l->n == FORM_MAX_CHOICES)
			return def_fail(p, "choices: list %s has more than %d "
			    "choices", list, FORM_MAX_CHOICES);
		snprintf(l->choices[l->n++], FORM_NAME_MAX, "%s", name);
	}
	return 0;
}

static int
def_list_index(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n_lists; i++)
		if (strcmp(f->lists[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
def_type(struct parse *p, size_t row, struct form_field *fd,
    const char *type)
{
	static const struct {
		const char *name;
		enum ftype t;
	} plain[] = { { "text", FT_TEXT }, { "integer", FT_INTEGER },
	    { "decimal", FT_DECIMAL }, { "date", FT_DATE },
	    { "geopoint", FT_GEOPOINT }, { "begin_repeat", FT_REPEAT },
	    { "begin repeat", FT_REPEAT } };
	const char *list = NULL;

	fd->list = -1;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strcmp(type, plain[i].name) == 0) {
			fd->type = plain[i].t;
			return 0;
		}
	if (strncmp(type, "select_one ", 11) == 0) {
		fd->type = FT_SELECT_ONE;
		list = type + 11;
	} else if (strncmp(type, "select_multiple ", 16) == 0) {
		fd->type = FT_SELECT_MULTIPLE;
		list = type + 16;
	} else {
		return def_fail(p, "survey row %zu (%s): unknown type \"%.40s\"",
		    row, fd->name, type);
	}
	while (*list == ' ')
		list++;
	if ((fd->list = def_list_index(p->f, list)) < 0)
		return def_fail(p, "survey row %zu (%s): no choice list "
		    "\"%.40s\"", row, fd->name, list);
	return 0;
}

static const char *const def_row_keys[] = { "type", "name", "label", "hint",
    "required", "required_message", "constraint", "constraint_message",
    "relevant", "appearance", NULL };

static int
def_row_keys_ok(struct parse *p, size_t row, const json_t *r)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)r, key, v) {
		size_t n = strcspn(key, ":");
		int known = 0;

		for (int i = 0; def_row_keys[i]; i++)
			if (strlen(def_row_keys[i]) == n &&
			    strncmp(def_row_keys[i], key, n) == 0)
				known = 1;
		if (!known || (key[n] != '\0' && strncmp(key + n, "::", 2)))
			return def_fail(p, "survey row %zu: unknown column "
			    "\"%.40s\"", row, key);
	}
	return 0;
}

static int
def_expr(struct parse *p, size_t row, const char *name, const char *col,
    const json_t *r, struct expr **out)
{
	const json_t *v = json_object_get(r, col);
	char err[160];

	if (v == NULL || (json_is_string(v) && json_string_length(v) == 0))
		return 0;
	if (!json_is_string(v))
		return def_fail(p, "survey row %zu (%s): %s must be text", row,
		    name, col);
	if (expr_parse(json_string_value(v), out, err, sizeof(err)) != 0)
		return def_fail(p, "survey row %zu (%s): %s: %s", row, name, col,
		    err);
	return 0;
}

struct name_check {
	struct parse *p;
	size_t row;
	const char *field;
};

static void
def_name_exists(void *arg, const char *name)
{
	struct name_check *c = arg;

	if (form_field_index(c->p->f, name) < 0)
		def_fail(c->p, "survey row %zu (%s): expression names unknown "
		    "field ${%s}", c->row, c->field, name);
}

static int
def_survey(struct parse *p, const json_t *survey)
{
	struct form *f = p->f;
	int repeat = -1;
	size_t i;
	json_t *r;

	if (!json_is_array(survey) || json_array_size(survey) == 0)
		return def_fail(p, "survey: must be a non-empty array");
	if (json_array_size(survey) > FORM_MAX_FIELDS * 2)
		return def_fail(p, "survey: more than %d rows",
		    FORM_MAX_FIELDS * 2);
	f->fields = calloc(FORM_MAX_FIELDS, sizeof(*f->fields));
	if (f->fields == NULL)
		return def_fail(p, "out of memory");
	json_array_foreach(survey, i, r) {
		const char *type = json_string_value(json_object_get(r, "type"));
		const char *name = json_string_value(json_object_get(r, "name"));
		const json_t *req = json_object_get(r, "required");
		struct form_field *fd;
		const char *msg;

		if (!json_is_object(r) || type == NULL)
			return def_fail(p, "survey row %zu: needs a type",
			    i + 1);
		if (def_row_keys_ok(p, i + 1, r) != 0)
			return -1;
		if (strcmp(type, "end_repeat") == 0 ||
		    strcmp(type, "end repeat") == 0) {
			if (repeat < 0)
				return def_fail(p, "survey row %zu: end_repeat "
				    "without begin_repeat", i + 1);
			repeat = -1;
			continue;
		}
		if (name == NULL || !name_ok(name) || strchr(name, '.'))
			return def_fail(p, "survey row %zu: name must be 1 to "
			    "63 letters, digits, _ or -, starting with a "
			    "letter", i + 1);
		if (form_field_index(f, name) >= 0)
			return def_fail(p, "survey row %zu: duplicate name %s",
			    i + 1, name);
		if (f->n_fields == FORM_MAX_FIELDS)
			return def_fail(p, "survey: more than %d fields",
			    FORM_MAX_FIELDS);
		fd = &f->fields[f->n_fields];
		snprintf(fd->name, sizeof(fd->name), "%s", name);
		fd->parent = repeat;
		if (def_type(p, i + 1, fd, type) != 0)
			return -1;
		if (fd->type == FT_REPEAT && repeat >= 0)
			return def_fail(p, "survey row %zu (%s): repeats inside "
			    "repeats are not supported", i + 1, name);
		if (req != NULL && !json_is_boolean(req) && !(json_is_string(req)
		    && (strcmp(json_string_value(req), "yes") == 0 ||
		    strcmp(json_string_value(req), "no") == 0 ||
		    strcmp(json_string_value(req), "") == 0)))
			return def_fail(p, "survey row %zu (%s): required must "
			    "be yes or no", i + 1, name);
		fd->required = json_is_true(req) || (json_is_string(req) &&
		    strcmp(json_string_value(req), "yes") == 0);
		if (def_expr(p, i + 1, name, "constraint", r,
		    &fd->constraint) != 0 ||
		    def_expr(p, i + 1, name, "relevant", r, &fd->relevant) != 0)
			return -1;
		msg = def_text(r, "constraint_message", p->lang);
		snprintf(fd->message, sizeof(fd->message), "%s", msg ? msg :
		    "does not meet the form's constraint");
		form_field_hash_add(f, (int)f->n_fields);
		f->n_fields++;
		if (fd->type == FT_REPEAT)
			repeat = (int)f->n_fields - 1;
	}
	if (repeat >= 0)
		return def_fail(p, "survey: begin_repeat %s has no end_repeat",
		    f->fields[repeat].name);
	/* Expressions may name fields defined after them: check at the end. */
	for (size_t k = 0; k < f->n_fields; k++) {
		struct name_check c = { p, k + 1, f->fields[k].name };
		if (f->fields[k].constraint)
			expr_names(f->fields[k].constraint, def_name_exists, &c);
		if (f->fields[k].relevant)
			expr_names(f->fields[k].relevant, def_name_exists, &c);
	}
	return p->failed ? -1 : 0;
}

static int
def_bands(struct parse *p, const json_t *settings)
{
	const json_t *bands = json_object_get(settings, "age_bands");
	size_t i;
	json_t *b;

	if (bands == NULL)
		return 0;
	if (!json_is_array(bands) || json_array_size(bands) > FORM_MAX_BANDS)
		return def_fail(p, "settings.age_bands: an array of at most %d "
		    "bands", FORM_MAX_BANDS);
	json_array_foreach(bands, i, b) {
		struct form_band *fb = &p->f->bands[p->f->n_bands++];
		const char *name = json_string_value(json_object_get(b, "name"));
		json_t *mn = json_object_get(b, "min"), *mx = json_object_get(b,
		    "max");

		if (name == NULL || strlen(name) >= sizeof(fb->name) ||
		    !json_is_integer(mn) || (mx && !json_is_integer(mx)))
			return def_fail(p, "settings.age_bands[%zu]: needs name, "
			    "integer min and optional integer max", i + 1);
		snprintf(fb->name, sizeof(fb->name), "%s", name);
		fb->min = json_integer_value(mn);
		fb->max = mx ? json_integer_value(mx) : -1;
	}
	return 0;
}

/* "members.sex" or "sex": the field, checking the repeat prefix. */
static int
def_count_field(struct parse *p, const char *what, const char *ref)
{
	const char *dot = ref ? strchr(ref, '.') : NULL;
	int i;

	if (ref == NULL)
		return def_fail(p, "counts: %s needs a field", what);
	i = form_field_index(p->f, dot ? dot + 1 : ref);
	if (i < 0)
		return def_fail(p, "counts: %s names unknown field %.64s", what,
		    ref);
	if (dot) {
		int par = p->f->fields[i].parent;
		if (par < 0 || strlen(p->f->fields[par].name) !=
		    (size_t)(dot - ref) || strncmp(p->f->fields[par].name, ref,
		    (size_t)(dot - ref)) != 0)
			return def_fail(p, "counts: %s: %.64s is not in that "
			    "repeat", what, ref);
	} else if (p->f->fields[i].parent >= 0) {
		return def_fail(p, "counts: %s: write %s.%s for a field in a "
		    "repeat", what, p->f->fields[p->f->fields[i].parent].name,
		    ref);
	}
	return i;
}

static int
def_counts(struct parse *p, const json_t *c)
{
	struct form *f = p->f;
	const json_t *dims, *ms, *latest;
	size_t i;
	json_t *d;

	if (c == NULL)
		return 0;
	f->has_counts = 1;
	if ((f->date_field = def_count_field(p, "date",
	    json_string_value(json_object_get(c, "date")))) < 0 ||
	    (f->place_field = def_count_field(p, "place",
	    json_string_value(json_object_get(c, "place")))) < 0)
		return -1;
	if (f->fields[f->date_field].type != FT_DATE)
		return def_fail(p, "counts: date must be a date field");
	/* one day and one place per record */
	if (f->fields[f->date_field].parent >= 0 ||
	    f->fields[f->place_field].parent >= 0)
		return def_fail(p, "counts: date and place must be fields "
		    "outside repeats");
	latest = json_object_get(c, "latest_by");
	if (latest && !json_is_null(latest)) {
		if (!json_is_string(latest) || strcmp(json_string_value(latest),
		    f->fields[f->place_field].name) != 0)
			return def_fail(p, "counts: latest_by must be the place "
			    "field");
		f->latest = 1;
	}
	dims = json_object_get(c, "dimensions");
	ms = json_object_get(c, "measures");
	if (!json_is_array(dims) || json_array_size(dims) > FORM_MAX_DIMS ||
	    !json_is_array(ms) || json_array_size(ms) == 0 ||
	    json_array_size(ms) > FORM_MAX_MEASURES)
		return def_fail(p, "counts: needs dimensions (at most %d) and "
		    "measures (1 to %d)", FORM_MAX_DIMS, FORM_MAX_MEASURES);
	json_array_foreach(dims, i, d) {
		struct form_dim *fd = &f->dims[f->n_dims];
		const char *name = json_string_value(json_object_get(d, "name"));
		const json_t *bands = json_object_get(d, "bands");

		if (name == NULL || strlen(name) >= sizeof(fd->name))
			return def_fail(p, "counts: dimension %zu needs a name",
			    i + 1);
		snprintf(fd->name, sizeof(fd->name), "%s", name);
		if ((fd->field = def_count_field(p, name,
		    json_string_value(json_object_get(d, "field")))) < 0)
			return -1;
		if (bands) {
			/* one banding per form: settings.age_bands */
			if (f->n_bands == 0 || f->fields[fd->field].type !=
			    FT_INTEGER || !json_is_string(bands) ||
			    strcmp(json_string_value(bands), "age_bands") != 0)
				return def_fail(p, "counts: dimension %s: bands "
				    "must be \"age_bands\", declared in "
				    "settings, on an integer field", name);
			fd->banded = 1;
		}
		f->n_dims++;
	}
	json_array_foreach(ms, i, d) {
		struct form_measure *m = &f->measures[f->n_measures];
		const char *name = json_string_value(json_object_get(d, "name"));
		const char *count = json_string_value(json_object_get(d,
		    "count"));
		const char *sum = json_string_value(json_object_get(d, "sum"));

		if (name == NULL || strlen(name) >= sizeof(m->name) ||
		    (count == NULL) == (sum == NULL))
			return def_fail(p, "counts: measure %zu needs a name and "
			    "one of count or sum", i + 1);
		snprintf(m->name, sizeof(m->name), "%s", name);
		if (count && strcmp(count, "records") == 0) {
			m->kind = M_RECORDS;
			m->field = -1;
		} else if (count) {
			m->kind = M_REPEAT;
			m->field = form_field_index(f, count);
			if (m->field < 0 || f->fields[m->field].type != FT_REPEAT)
				return def_fail(p, "counts: measure %s: count "
				    "must be records or a repeat", name);
		} else {
			m->kind = M_SUM;
			if ((m->field = def_count_field(p, name, sum)) < 0)
				return -1;
			if (f->fields[m->field].type != FT_INTEGER)
				return def_fail(p, "counts: measure %s: sum of a "
				    "non-integer field", name);
			/* a record's sum is of its own fields only */
			if (f->fields[m->field].parent >= 0)
				return def_fail(p, "counts: measure %s: sum of a "
				    "field in a repeat", name);
		}
		f->n_measures++;
	}
	return 0;
}

static const char *const def_top_keys[] = { "form_id", "version", "title",
    "default_language", "survey", "choices", "settings", "counts", NULL };

static int form_dict_make(struct form *f);

int
form_parse(const char *json, size_t len, struct form **out, char *err,
    size_t errlen)
{
	struct parse p = { NULL, err, errlen, 0, "English" };
	json_error_t jerr;
	const char *id, *ver, *title, *key;
	json_t *v;

	*out = NULL;
	if (len > FORM_MAX_DEF_BYTES) {
		snprintf(err, errlen, "definition larger than %d bytes",
		    FORM_MAX_DEF_BYTES);
		return -1;
	}
	if ((p.f = calloc(1, sizeof(*p.f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p.f->def = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (p.f->def == NULL || !json_is_object(p.f->def)) {
		if (p.f->def == NULL)
			snprintf(err, errlen, "not JSON: line %d column %d: %s",
			    jerr.line, jerr.column, jerr.text);
		else
			snprintf(err, errlen, "a definition is a JSON object");
		form_free(p.f);
		return -1;
	}
	json_object_foreach(p.f->def, key, v) {
		int known = 0;
		for (int i = 0; def_top_keys[i]; i++) {
			size_t n = strlen(def_top_keys[i]);

			/* "title" may carry a language: "title::Français" */
			if (strncmp(key, def_top_keys[i], n) == 0 &&
			    (key[n] == '\0' || (strcmp(def_top_keys[i],
			    "title") == 0 && strncmp(key + n, "::", 2) == 0)))
				known = 1;
		}
		if (!known)
			def_fail(&p, "unknown key \"%.40s\"", key);
	}
	id = json_string_value(json_object_get(p.f->def, "form_id"));
	ver = json_string_value(json_object_get(p.f->def, "version"));
	if ((v = json_object_get(p.f->def, "default_language")) != NULL &&
	    json_is_string(v))
		p.lang = json_string_value(v);
	title = def_text(p.f->def, "title", p.lang);
	if (id == NULL || !name_ok(id) || strlen(id) > FORM_ID_MAX)
		def_fail(&p, "form_id: 1 to %d letters, digits, _ - .",
		    FORM_ID_MAX);
	if (!p.failed && (ver == NULL || ver[0] == '\0' ||
	    strlen(ver) > FORM_VERSION_MAX ||
	    strspn(ver, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-") != strlen(ver)))
		def_fail(&p, "version: 1 to %d of letters, digits, . _ -",
		    FORM_VERSION_MAX);
	if (!p.failed) {
		snprintf(p.f->id, sizeof(p.f->id), "%s", id);
		snprintf(p.f->version, sizeof(p.f->version), "%s", ver);
		snprintf(p.f->title, sizeof(p.f->title), "%s", title ? title :
		    id);
	}
	if (!p.failed)
		def_lists(&p, json_object_get(p.f->def, "choices"));
	if (!p.failed)
		def_survey(&p, json_object_get(p.f->def, "survey"));
	if (!p.failed)
		def_bands(&p, json_object_get(p.f->def, "settings"));
	if (!p.failed)
		def_counts(&p, json_object_get(p.f->def, "counts"));
	if (p.failed) {
		form_free(p.f);
		return -1;
	}
	if (form_dict_make(p.f) != 0) {
		snprintf(err, errlen, "out of memory");
		form_free(p.f);
		return -1;
	}
	*out = p.f;
	return 0;
}

/*
 * The words a record of this form repeats: its field names, then its
 * choice names, one a line, in definition order -- a few KiB, so a
 * compressor loads it in microseconds.  Records sealed with it depend on
 * it byte for byte: change it only with a new format byte (recpack.h).
 */
static int
form_dict_make(struct form *f)
{
	size_t cap = 64, len = 0;
	char *d;

	for (size_t i = 0; i < f->n_fields; i++)
		cap += strlen(f->fields[i].name) + 1;
	for (size_t i = 0; i < f->n_lists; i++)
		for (size_t k = 0; k < f->lists[i].n; k++)
			cap += strlen(f->lists[i].choices[k]) + 1;
	if ((d = malloc(cap)) == NULL)
		return -1;
	for (size_t i = 0; i < f->n_fields; i++)
		len += (size_t)snprintf(d + len, cap - len, "%s\n",
		    f->fields[i].name);
	for (size_t i = 0; i < f->n_lists; i++)
		for (size_t k = 0; k < f->lists[i].n; k++)
			len += (size_t)snprintf(d + len, cap - len, "%s\n",
			    f->lists[i].choices[k]);
	f->dict = d;
	f->dict_len = len;
	return 0;
}

const char *
form_dict(const struct form *f, size_t *len)
{
	*len = f->dict_len;
	return f->dict;
}

void
form_free(struct form *f)
{
	if (f == NULL)
		return;
	free(f->dict);
	/* A row that failed half-parsed may hold expressions past n_fields. */
	for (size_t i = 0; f->fields && i < FORM_MAX_FIELDS; i++) {
		expr_free(f->fields[i].constraint);
		expr_free(f->fields[i].relevant);
	}
	free(f->fields);
	for (size_t i = 0; i < f->n_lists; i++)
		free(f->lists[i].choices);
	free(f->lists);
	json_decref(f->def);
	free(f);
}
