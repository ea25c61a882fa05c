/*
 * form.c: parsing a form definition (see proto/forms/README.md) into a
 * struct form, checked as a whole: every row's type and name, choice
 * lists, expressions and the names they mention, the counts declaration.
 * Also the small accessors and helpers the other form files share.
 */
#include "form/form_impl.h"

#include <ctype.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

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

char *
form_definition_text(const struct form *f, size_t *len)
{
	char *text = malloc(f->json_len + 1);

	if (text == NULL || ZSTD_decompress(text, f->json_len, f->json_z,
	    f->json_zlen) != f->json_len) {
		free(text);
		return NULL;
	}
	text[f->json_len] = '\0';
	*len = f->json_len;
	return text;
}

json_t *
form_definition(const struct form *f)
{
	size_t len;
	char *text = form_definition_text(f, &len);
	json_t *def = text ? json_loadb(text, len, 0, NULL) : NULL;

	free(text);
	return def;
}

int
form_same(const struct form *a, const struct form *b)
{
	json_t *x, *y;
	int same;

	/* zstd is deterministic: the same text compresses the same */
	if (a->json_zlen == b->json_zlen && a->json_len == b->json_len &&
	    memcmp(a->json_z, b->json_z, a->json_zlen) == 0)
		return 1;
	x = form_definition(a);
	y = form_definition(b);
	same = x != NULL && y != NULL && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
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

/* An index for up to n names: at least twice as many slots. */
static int
index_init(struct form_index *x, size_t n)
{
	size_t slots = 16;

	while (slots < 2 * n)
		slots *= 2;
	if ((x->slot = calloc(slots, sizeof(*x->slot))) == NULL)
		return -1;
	x->mask = (unsigned)slots - 1;
	return 0;
}

/* Entry i under name; a name already there keeps its first entry. */
static void
index_add(struct form_index *x, const char *name, size_t i)
{
	unsigned h = form_hash(name);

	for (unsigned k = 0; k <= x->mask; k++) {
		unsigned *slot = &x->slot[(h + k) & x->mask];
		if (*slot == 0) {
			*slot = (unsigned)i + 1;
			return;
		}
	}
}

/* Every record looks fields up by name many times: the index finds one in
   a probe or two whatever the size of the form. */
int
form_field_index(const struct form *f, const char *name)
{
	unsigned h = form_hash(name);

	if (f->index.slot == NULL)
		return -1;
	for (unsigned k = 0; k <= f->index.mask; k++) {
		int i = (int)f->index.slot[(h + k) & f->index.mask] - 1;

		if (i < 0)
			return -1;
		if (strcmp(f->fields[i].name, name) == 0)
			return i;
	}
	return -1;
}

const struct form_choice *
form_list_find(const struct form_list *l, const char *name)
{
	unsigned h = form_hash(name);

	for (unsigned k = 0; k <= l->index.mask; k++) {
		int i = (int)l->index.slot[(h + k) & l->index.mask] - 1;

		if (i < 0)
			return NULL;
		if (strcmp(l->choices[i].name, name) == 0)
			return &l->choices[i];
	}
	return NULL;
}

const struct form_choice *
form_list_find_from(const struct form_list *l, const char *name,
    const struct form_choice *after)
{
	unsigned h = form_hash(name);

	/* equal names sit along one probe chain in the order they came */
	for (unsigned k = 0; k <= l->index.mask; k++) {
		int i = (int)l->index.slot[(h + k) & l->index.mask] - 1;

		if (i < 0)
			return NULL;
		if (strcmp(l->choices[i].name, name) != 0)
			continue;
		if (after == NULL)
			return &l->choices[i];
		if (after == &l->choices[i])
			after = NULL;
	}
	return NULL;
}

int
form_list_has(const struct form_list *l, const char *name)
{
	return form_list_find(l, name) != NULL;
}

int
form_type_has_value(int type)
{
	return type != FT_NOTE && type != FT_GROUP;
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

/* A definition this large gives its parse's free memory back to the
   system (form_parse). */
#define FORM_TRIM_BYTES (256 * 1024)

/* Strings a form keeps, in chunks of the arena. */
struct form_chunk {
	struct form_chunk *next;
	char data[];
};

#define FORM_CHUNK 16384

static const char *
form_intern(struct form *f, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d;

	if (f->arena.chunk == NULL || n > f->arena.cap - f->arena.used) {
		size_t cap = n > FORM_CHUNK ? n : FORM_CHUNK;
		struct form_chunk *c = malloc(sizeof(*c) + cap);

		if (c == NULL)
			return NULL;
		c->next = f->arena.chunk;
		f->arena.chunk = c;
		f->arena.used = 0;
		f->arena.cap = cap;
	}
	d = f->arena.chunk->data + f->arena.used;
	memcpy(d, s, n);
	f->arena.used += n;
	return d;
}

const char *
form_choice_col(const struct form_list *l, const struct form_choice *ch,
    const char *col)
{
	for (size_t i = 0; i < l->n_cols; i++)
		if (strcmp(l->colnames[i], col) == 0)
			return ch->cols ? ch->cols[i] : NULL;
	return NULL;
}

/* Definition parsing. */

struct parse {
	struct form *f;
	size_t *row_of;			/* def_survey: each field's row */
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

/* s kept by the form (NULL stays NULL); NULL and a failure when out of
   memory. */
static const char *
p_intern(struct parse *p, const char *s)
{
	const char *d;

	if (s == NULL)
		return NULL;
	if ((d = form_intern(p->f, s)) == NULL)
		def_fail(p, "out of memory");
	return d;
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

/*
 * A choice name, as XLSForm allows: any text of 1 to 255 bytes without
 * control characters (`1`, `-99`, `4_or_more`, `sí`).  Spaces are looked
 * at once the survey is known (def_choice_spaces).  A list name: 1 to 127
 * bytes, no blanks (a type is "select_one LIST").
 */
static int
choice_name_ok(const char *s, size_t max, int spaces)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max || strspn(s, " ") == n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    (s[i] == ' ' && !spaces))
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


/*
 * XLSForm's yes/no cells, as pyxform reads them: yes/no, true/false,
 * 1/0, T/F in any case, true()/false(), or empty (no); a JSON boolean
 * too.  1 yes, 0 no, -1 neither.
 */
int
form_yes_no(const json_t *v)
{
	static const char *const yes[] = { "yes", "true", "1", "t", "true()",
	    NULL }, *const no[] = { "no", "false", "0", "f", "false()", "",
	    NULL };
	const char *s;

	if (json_is_boolean(v))
		return json_is_true(v);
	if ((s = json_string_value(v)) == NULL)
		return -1;
	for (int i = 0; yes[i]; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
	for (int i = 0; no[i]; i++)
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	return -1;
}

static int def_list_index(const struct form *f, const char *name);

/* Whether names (an array of strings) holds name. */
static int
list_named(const json_t *names, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(names, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return 1;
	return 0;
}

/*
 * external: the lists a workbook's external_choices sheet gave (pyxform
 * writes them to a file beside the form and checks no duplicates there:
 * cascading place lists repeat "other" under every district).
 */
static int
def_lists(struct parse *p, const json_t *choices, int dups_ok,
    const json_t *external)
{
	struct form *f = p->f;
	size_t i, n_rows;
	json_t *c;

	if (choices == NULL)
		return 0;
	if (!json_is_array(choices))
		return def_fail(p, "choices: must be an array");
	n_rows = json_array_size(choices);
	/* First pass: the lists and their sizes, so each gets its array and
	   index at once. */
	json_array_foreach(choices, i, c) {
		const char *list = json_string_value(json_object_get(c,
		    "list_name"));
		const char *name = json_string_value(json_object_get(c, "name"));
		int l;

		if (list == NULL || name == NULL || !choice_name_ok(list,
		    FORM_NAME_MAX, 0) || !choice_name_ok(name,
		    FORM_CHOICE_NAME_MAX, 1))
			return def_fail(p, "choices row %zu: needs list_name and "
			    "name, letters, digits, _ - . only", i + 1);
		if ((l = def_list_index(f, list)) < 0) {
			struct form_list *nl;

			if (f->n_lists == FORM_MAX_LISTS)
				return def_fail(p, "choices: more than %d "
				    "lists", FORM_MAX_LISTS);
			if ((f->n_lists & (f->n_lists + 1)) == 0) {
				nl = realloc(f->lists, (f->n_lists * 2 + 2) *
				    sizeof(*nl));
				if (nl == NULL)
					return def_fail(p, "out of memory");
				f->lists = nl;
			}
			l = (int)f->n_lists++;
			memset(&f->lists[l], 0, sizeof(f->lists[l]));
			if ((f->lists[l].name = p_intern(p, list)) == NULL)
				return -1;
		}
		if (strchr(name, ' ') && f->lists[l].spaced_row == 0)
			f->lists[l].spaced_row = i + 1;
		if (f->lists[l].n == FORM_MAX_CHOICES)
			return def_fail(p, "choices: list %s has more than %d "
			    "choices", list, FORM_MAX_CHOICES);
		f->lists[l].n++;
	}
	for (size_t k = 0; k < f->n_lists; k++) {
		struct form_list *l = &f->lists[k];

		if ((l->choices = calloc(l->n, sizeof(*l->choices))) == NULL ||
		    (l->rows = calloc(l->n, sizeof(*l->rows))) == NULL ||
		    index_init(&l->index, l->n) != 0)
			return def_fail(p, "out of memory");
		l->n = 0;
	}
	(void)n_rows;
	json_array_foreach(choices, i, c) {
		struct form_list *l = &f->lists[def_list_index(f,
		    json_string_value(json_object_get(c, "list_name")))];
		const char *name = json_string_value(json_object_get(c, "name"));

		if (!dups_ok && !list_named(external, l->name) &&
		    form_list_has(l, name))
			return def_fail(p, "choices row %zu: %s repeats a "
			    "choice of %s (allow_choice_duplicates in settings "
			    "allows it)", i + 1, name, l->name);
		if ((l->choices[l->n].name = p_intern(p, name)) == NULL)
			return -1;
		if ((l->choices[l->n].label = p_intern(p, def_text(c, "label",
		    p->lang))) == NULL && p->failed)
			return -1;
		l->rows[l->n] = c;
		index_add(&l->index, name, l->n);
		l->n++;
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

/*
 * Types, as pyxform names them, aliases included.  Metadata rows are
 * fields of the type their value has: start and end the date and time
 * the interview began and ended, today its date, deviceid and the like
 * text.
 */
static const struct {
	const char *name;
	enum ftype t;
} def_types[] = {
	{ "text", FT_TEXT }, { "string", FT_TEXT },
	{ "integer", FT_INTEGER }, { "int", FT_INTEGER },
	{ "decimal", FT_DECIMAL },
	{ "date", FT_DATE }, { "time", FT_TIME },
	{ "dateTime", FT_DATETIME }, { "datetime", FT_DATETIME },
	{ "geopoint", FT_GEOPOINT }, { "gps", FT_GEOPOINT },
	{ "location", FT_GEOPOINT }, { "start-geopoint", FT_GEOPOINT },
	{ "background-geopoint", FT_GEOPOINT },
	{ "note", FT_NOTE }, { "calculate", FT_CALCULATE },
	{ "begin_repeat", FT_REPEAT }, { "begin repeat", FT_REPEAT },
	{ "begin_group", FT_GROUP }, { "begin group", FT_GROUP },
	{ "start", FT_DATETIME }, { "end", FT_DATETIME },
	{ "today", FT_DATE },
	{ "deviceid", FT_TEXT }, { "imei", FT_TEXT },
	{ "username", FT_TEXT }, { "phonenumber", FT_TEXT },
	{ "email", FT_TEXT }, { "simserial", FT_TEXT },
	{ "subscriberid", FT_TEXT },
	{ "audit", FT_AUDIT }, { "acknowledge", FT_ACKNOWLEDGE },
};

static const char *const def_select_one[] = { "select_one ", "select1 ",
    "select one ", NULL };
static const char *const def_select_multiple[] = { "select_multiple ",
    "select all that apply ", "select multiple ", NULL };

static size_t
def_prefix(const char *type, const char *const *prefixes)
{
	for (int i = 0; prefixes[i]; i++)
		if (strncmp(type, prefixes[i], strlen(prefixes[i])) == 0)
			return strlen(prefixes[i]);
	return 0;
}

static int
def_type(struct parse *p, size_t row, struct form_field *fd,
    const char *type)
{
	const char *list = NULL;
	size_t n;

	fd->list = -1;
	for (size_t i = 0; i < sizeof(def_types) / sizeof(def_types[0]); i++)
		if (strcmp(type, def_types[i].name) == 0) {
			int at = (int)(fd - p->f->fields) + 1;

			fd->type = def_types[i].t;
			/* the day a default count is counted on */
			if (strcmp(type, "today") == 0 && !p->f->meta_today)
				p->f->meta_today = at;
			else if (strcmp(type, "start") == 0 &&
			    !p->f->meta_start)
				p->f->meta_start = at;
			else if (strcmp(type, "end") == 0 && !p->f->meta_end)
				p->f->meta_end = at;
			return 0;
		}
	if ((n = def_prefix(type, def_select_one)) > 0) {
		fd->type = FT_SELECT_ONE;
		list = type + n;
	} else if ((n = def_prefix(type, def_select_multiple)) > 0) {
		fd->type = FT_SELECT_MULTIPLE;
		list = type + n;
	} else if (strncmp(type, "select_one_external ", 20) == 0 ||
	    strncmp(type, "select_multiple_external ", 25) == 0 ||
	    strncmp(type, "select_one_from_file ", 21) == 0 ||
	    strncmp(type, "select_multiple_from_file ", 26) == 0) {
		return def_fail(p, "survey row %zu (%s): %.40s needs its choices "
		    "in a file attached to the form; not supported", row,
		    fd->name, type);
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

/* Rows that hold no value: a note, a group. */
static int
def_novalue_type(const char *type)
{
	return strcmp(type, "note") == 0 || strcmp(type, "begin_group") == 0 ||
	    strcmp(type, "begin group") == 0;
}

/* 1 when type closes a group (2) or a repeat (1), else 0. */
static int
def_end(const char *type)
{
	if (strcmp(type, "end_repeat") == 0 || strcmp(type, "end repeat") == 0)
		return 1;
	if (strcmp(type, "end_group") == 0 || strcmp(type, "end group") == 0)
		return 2;
	return 0;
}

/*
 * Survey columns.  The XLSForm columns this module reads or knows to
 * ignore (media, rendering, other tools' columns) are taken; a column
 * that is none of them is taken too -- real workbooks carry notes to
 * translators, comments, a column per reviewer -- unless it is a near
 * miss of one of them ("relevance", "Constraint", "label:English"): a
 * misspelt known column would otherwise drop its rule without a word.
 */
static const char *const def_row_keys[] = { "type", "name", "label", "hint",
    "required", "required_message", "constraint", "constraint_message",
    "relevant", "appearance", "calculation", "choice_filter",
    "repeat_count", "jr:count", "default", "read_only", "parameters",
    "guidance_hint", "media", "image", "big-image", "audio", "video",
    "autoplay", "trigger", "rows", "intent", "save_to", "body", "bind",
    "instance", "disabled", NULL };

/*
 * Edits between a and b, case-insensitive: insertions, deletions,
 * substitutions and swaps of two neighbours ("lable"), stopping past 2.
 */
static int
def_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[48][48];

	if (la >= 47 || lb >= 47 || (la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			int v = d[i - 1][j - 1] + (ca != cb);

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)
			    b[j - 2]) && cb == tolower((unsigned char)a[i - 2]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

static int
def_row_keys_ok(struct parse *p, size_t row, const json_t *r)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)r, key, v) {
		char base[48];
		size_t n = strcspn(key, ":");
		int known = 0, near = 0;

		if (n >= sizeof(base))
			continue;	/* long: no XLSForm column */
		memcpy(base, key, n);
		base[n] = '\0';
		if (strcmp(key, "jr:count") == 0)
			continue;
		/* a near miss: one edit off a short column, two off one
		   of 8 letters or more ("relevance"); "level", a column of
		   its own in real workbooks, is two off "label" */
		for (int i = 0; def_row_keys[i]; i++) {
			size_t len = strlen(def_row_keys[i]);

			if (strcmp(def_row_keys[i], base) == 0)
				known = 1;
			else if (strlen(base) >= 4 && def_distance(
			    def_row_keys[i], base) <= (len >= 8 ? 2 : 1))
				near = 1;
		}
		/* a known column with a malformed language ("label:English")
		   or a near miss of one is refused */
		if ((known && key[n] != '\0' && strncmp(key + n, "::", 2)) ||
		    (!known && near))
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

	if (v == NULL && strcmp(col, "repeat_count") == 0)
		v = json_object_get(r, "jr:count");
	if (v == NULL || (json_is_string(v) && json_string_length(v) == 0))
		return 0;
	if (!json_is_string(v))
		return def_fail(p, "survey row %zu (%s): %s must be text", row,
		    name, col);
	if ((strcmp(col, "choice_filter") == 0 ? expr_parse_filter :
	    expr_parse)(json_string_value(v), out, err, sizeof(err)) != 0)
		return def_fail(p, "survey row %zu (%s): %s: %s", row, name, col,
		    err);
	/* a value that changes at each run is only for calculations,
	   whose stored value then stands */
	if (strcmp(col, "calculation") != 0 &&
	    (expr_uses(*out) & EXPR_USES_RANDOM))
		return def_fail(p, "survey row %zu (%s): %s: uuid() and "
		    "random() belong in a calculation", row, name, col);
	return 0;
}

struct name_check {
	struct parse *p;
	size_t row;
	const char *field;
	const char *what;	/* NULL: an expression */
	int list;		/* choice_filter: its list */
};

static void
def_name_exists(void *arg, const char *name)
{
	struct name_check *c = arg;

	if (form_field_index(c->p->f, name) < 0) {
		if (c->row == 0)	/* not a row's: instance_name */
			def_fail(c->p, "%s names unknown field ${%s}", c->what,
			    name);
		else if (c->what)
			def_fail(c->p, "survey row %zu (%s): %s names unknown "
			    "field ${%s}", c->row, c->field, c->what, name);
		else
			def_fail(c->p, "survey row %zu (%s): expression names "
			    "unknown field ${%s}", c->row, c->field, name);
	}
}

/* A choice filter's bare name must be a column of its list's rows. */
static void
def_column_exists(void *arg, const char *col)
{
	struct name_check *c = arg;
	const struct form_list *l = &c->p->f->lists[c->list];

	for (size_t i = 0; i < l->n; i++)
		if (json_object_get(l->rows[i], col) != NULL)
			return;
	def_fail(c->p, "survey row %zu (%s): choice_filter names \"%.40s\", "
	    "which is not a column of list %s", c->row, c->field, col,
	    l->name);
}

/*
 * `${field}` in a text column (a label, a hint, a message: "You said
 * ${age} years") must name a field of the form.
 */
static void
def_piped(struct parse *p, size_t row, const char *field, const json_t *r)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)r, key, v) {
		const char *s = json_string_value(v), *q;
		size_t n = strcspn(key, ":");

		if (s == NULL || !((n == 5 && strncmp(key, "label", 5) == 0) ||
		    (n == 4 && strncmp(key, "hint", 4) == 0) ||
		    (n == 18 && strncmp(key, "constraint_message", 18) == 0) ||
		    (n == 16 && strncmp(key, "required_message", 16) == 0) ||
		    (n == 13 && strncmp(key, "guidance_hint", 13) == 0)))
			continue;
		while ((q = strstr(s, "${")) != NULL) {
			char name[FORM_NAME_MAX + 1];
			size_t len = strcspn(q + 2, "}");

			if (q[2 + len] != '}' || len == 0 || len > FORM_NAME_MAX) {
				def_fail(p, "survey row %zu (%s): %.40s: ${ "
				    "without a field name and }", row, field,
				    key);
				return;
			}
			memcpy(name, q + 2, len);
			name[len] = '\0';
			if (form_field_index(p->f, name) < 0) {
				def_fail(p, "survey row %zu (%s): %.40s names "
				    "unknown field ${%s}", row, field, key,
				    name);
				return;
			}
			s = q + 3 + len;
		}
	}
}

static int
def_survey(struct parse *p, const json_t *survey)
{
	struct form *f = p->f;
	int open[FORM_MAX_NESTING], depth = 0, repeat = -1, group = -1;
	size_t i, rows, *row_of;
	json_t *r;

	if (!json_is_array(survey) || json_array_size(survey) == 0)
		return def_fail(p, "survey: must be a non-empty array");
	rows = json_array_size(survey);
	if (rows > FORM_MAX_ROWS)
		return def_fail(p, "survey: more than %d rows", FORM_MAX_ROWS);
	f->cap_fields = rows < FORM_MAX_FIELDS ? rows : FORM_MAX_FIELDS;
	if ((f->fields = calloc(f->cap_fields, sizeof(*f->fields))) == NULL ||
	    (p->row_of = calloc(f->cap_fields, sizeof(*p->row_of))) == NULL ||
	    index_init(&f->index, f->cap_fields) != 0)
		return def_fail(p, "out of memory");
	row_of = p->row_of;
	json_array_foreach(survey, i, r) {
		const char *type = json_string_value(json_object_get(r, "type"));
		const char *name = json_string_value(json_object_get(r, "name"));
		const json_t *req = json_object_get(r, "required");
		const json_t *ro = json_object_get(r, "read_only");
		struct form_field *fd;
		int end, prev;

		if (!json_is_object(r) || type == NULL)
			return def_fail(p, "survey row %zu: needs a type",
			    i + 1);
		if (def_row_keys_ok(p, i + 1, r) != 0)
			return -1;
		/* pyxform leaves out a row whose `disabled` says yes */
		if (json_object_get(r, "disabled") != NULL &&
		    form_yes_no(json_object_get(r, "disabled")) == 1)
			continue;
		if ((end = def_end(type)) != 0) {
			int top = depth ? open[depth - 1] : -1;
			int is_repeat = top >= 0 &&
			    f->fields[top].type == FT_REPEAT;

			if (end == 1 && !is_repeat)
				return def_fail(p, top < 0 ? "survey row %zu: "
				    "end_repeat without begin_repeat" :
				    "survey row %zu: end_repeat where a group is "
				    "open", i + 1);
			if (end == 2 && (top < 0 || is_repeat))
				return def_fail(p, top < 0 ? "survey row %zu: "
				    "end_group without begin_group" :
				    "survey row %zu: end_group where a repeat is "
				    "open", i + 1);
			depth--;
			if (is_repeat)
				repeat = -1;
			/* the enclosing group below the repeat, if any */
			group = -1;
			for (int k = depth - 1; k >= 0 &&
			    f->fields[open[k]].type != FT_REPEAT; k--)
				if (group < 0)
					group = open[k];
			continue;
		}
		if (name == NULL || !name_ok(name) || strchr(name, '.'))
			return def_fail(p, "survey row %zu: name must be 1 to "
			    "127 letters, digits, _ or -, starting with a "
			    "letter", i + 1);
		if ((prev = form_field_index(f, name)) >= 0 &&
		    !def_novalue_type(type))
			return def_fail(p, "survey row %zu: duplicate name %s",
			    i + 1, name);
		if (f->n_fields == f->cap_fields)
			return def_fail(p, "survey: more than %d fields",
			    FORM_MAX_FIELDS);
		fd = &f->fields[f->n_fields];
		if ((fd->name = p_intern(p, name)) == NULL)
			return -1;
		row_of[f->n_fields] = i;
		fd->parent = repeat;
		fd->group = group;
		if (def_type(p, i + 1, fd, type) != 0)
			return -1;
		/* Names are unique form-wide, as a group's fields are stored
		   beside it; notes and groups carry nothing, so two of them
		   may share a name (workbooks repeat a "warning" note or a
		   "housing" group in several places). */
		if (prev >= 0 && form_type_has_value(f->fields[prev].type))
			return def_fail(p, "survey row %zu: duplicate name %s",
			    i + 1, name);
		if (fd->type == FT_REPEAT && repeat >= 0)
			return def_fail(p, "survey row %zu (%s): repeats inside "
			    "repeats are not supported", i + 1, name);
		if (req != NULL && form_yes_no(req) < 0)
			return def_fail(p, "survey row %zu (%s): required must "
			    "be yes or no", i + 1, name);
		if (ro != NULL && form_yes_no(ro) < 0)
			return def_fail(p, "survey row %zu (%s): read_only must "
			    "be yes or no", i + 1, name);
		fd->required = req != NULL && form_yes_no(req) == 1;
		if (def_expr(p, i + 1, name, "constraint", r,
		    &fd->constraint) != 0 ||
		    def_expr(p, i + 1, name, "relevant", r, &fd->relevant) != 0)
			return -1;
		if (fd->type == FT_CALCULATE) {
			if (def_expr(p, i + 1, name, "calculation", r,
			    &fd->calculation) != 0)
				return -1;
			if (fd->calculation == NULL)
				return def_fail(p, "survey row %zu (%s): a "
				    "calculate row needs a calculation", i + 1,
				    name);
			fd->volatile_calc = expr_uses(fd->calculation) != 0;
		} else if (def_expr(p, i + 1, name, "calculation", r,
		    &fd->calculation) != 0)
			return -1;
		/* On other rows, as pyxform, they mean nothing and are left
		   alone: published workbooks carry a stray repeat_count on a
		   group or a select. */
		if ((fd->type == FT_SELECT_ONE || fd->type ==
		    FT_SELECT_MULTIPLE) && def_expr(p, i + 1, name,
		    "choice_filter", r, &fd->choice_filter) != 0)
			return -1;
		if (fd->type == FT_REPEAT && def_expr(p, i + 1, name,
		    "repeat_count", r, &fd->repeat_count) != 0)
			return -1;
		fd->message = p_intern(p, def_text(r, "constraint_message",
		    p->lang));
		if (p->failed)
			return -1;
		if (prev < 0)
			index_add(&f->index, name, f->n_fields);
		f->n_fields++;
		if (fd->type == FT_REPEAT || fd->type == FT_GROUP) {
			if (depth == FORM_MAX_NESTING)
				return def_fail(p, "survey row %zu (%s): groups "
				    "and repeats nested deeper than %d", i + 1,
				    name, FORM_MAX_NESTING);
			open[depth++] = (int)f->n_fields - 1;
			if (fd->type == FT_REPEAT) {
				repeat = (int)f->n_fields - 1;
				group = -1;
			} else
				group = (int)f->n_fields - 1;
		}
	}
	if (depth > 0)
		return def_fail(p, f->fields[open[depth - 1]].type == FT_REPEAT ?
		    "survey: begin_repeat %s has no end_repeat" :
		    "survey: begin_group %s has no end_group",
		    f->fields[open[depth - 1]].name);
	/* Expressions and labels may name fields defined after them: check
	   at the end. */
	for (size_t k = 0; k < f->n_fields && !p->failed; k++) {
		const struct form_field *fd = &f->fields[k];
		struct name_check c = { p, row_of[k] + 1, fd->name, NULL,
		    fd->list };
		const json_t *rr = json_array_get(survey, row_of[k]);

		expr_names(fd->constraint, def_name_exists, &c);
		expr_names(fd->relevant, def_name_exists, &c);
		expr_names(fd->calculation, def_name_exists, &c);
		expr_names(fd->choice_filter, def_name_exists, &c);
		expr_names(fd->repeat_count, def_name_exists, &c);
		if (fd->choice_filter)
			expr_columns(fd->choice_filter, def_column_exists, &c);
		if (rr)
			def_piped(p, c.row, fd->name, rr);
	}
	return p->failed ? -1 : 0;
}

/*
 * A choice name with a space is taken where xlsform.org takes it: in a
 * list that select_one questions use.  A select_multiple answer is names
 * separated by spaces, so no list one uses may have one; nor may a list
 * no question uses (there is nothing to say it is a select_one's).
 */
static int
def_choice_spaces(struct parse *p)
{
	struct form *f = p->f;

	for (size_t i = 0; i < f->n_lists; i++) {
		const struct form_list *l = &f->lists[i];
		const char *multi = NULL;
		int one = 0;

		if (l->spaced_row == 0)
			continue;
		for (size_t k = 0; k < f->n_fields && multi == NULL; k++)
			if (f->fields[k].list == (int)i) {
				if (f->fields[k].type == FT_SELECT_MULTIPLE)
					multi = f->fields[k].name;
				one = 1;
			}
		if (multi != NULL)
			return def_fail(p, "choices row %zu: a name of list %s "
			    "has a space, and %s, a select_multiple, uses the "
			    "list (its answer is names separated by spaces)",
			    l->spaced_row, l->name, multi);
		if (!one)
			return def_fail(p, "choices row %zu: needs list_name "
			    "and name, letters, digits, _ - . only",
			    l->spaced_row);
	}
	return 0;
}

/* A column a filter of list l reads: kept with each choice. */
static void
def_filter_column(void *arg, const char *col)
{
	struct name_check *c = arg;
	struct form_list *l = &c->p->f->lists[c->list];
	const char **n;

	for (size_t i = 0; i < l->n_cols; i++)
		if (strcmp(l->colnames[i], col) == 0)
			return;
	if ((n = realloc(l->colnames, (l->n_cols + 1) * sizeof(*n))) == NULL) {
		def_fail(c->p, "out of memory");
		return;
	}
	l->colnames = n;
	if ((n[l->n_cols] = p_intern(c->p, col)) != NULL)
		l->n_cols++;
}

/*
 * What choice filters read of each choice, kept as text (a number in a
 * cell as JSON writes it); then the choice rows are let go.
 */
static int
def_choice_columns(struct parse *p)
{
	struct form *f = p->f;

	for (size_t k = 0; k < f->n_fields && !p->failed; k++) {
		struct name_check c = { p, 0, NULL, NULL, f->fields[k].list };
		if (f->fields[k].choice_filter)
			expr_columns(f->fields[k].choice_filter,
			    def_filter_column, &c);
	}
	for (size_t i = 0; i < f->n_lists && !p->failed; i++) {
		struct form_list *l = &f->lists[i];

		if (l->n_cols == 0)
			continue;
		if ((l->colvals = calloc(l->n * l->n_cols,
		    sizeof(*l->colvals))) == NULL)
			return def_fail(p, "out of memory");
		for (size_t k = 0; k < l->n; k++) {
			l->choices[k].cols = &l->colvals[k * l->n_cols];
			for (size_t j = 0; j < l->n_cols; j++) {
				const json_t *v = json_object_get(l->rows[k],
				    l->colnames[j]);
				char num[40];

				if (json_is_integer(v)) {
					snprintf(num, sizeof(num), "%lld",
					    (long long)json_integer_value(v));
					l->choices[k].cols[j] = p_intern(p, num);
				} else if (json_is_real(v)) {
					snprintf(num, sizeof(num), "%.17g",
					    json_real_value(v));
					l->choices[k].cols[j] = p_intern(p, num);
				} else
					l->choices[k].cols[j] = p_intern(p,
					    json_string_value(v));
			}
		}
	}
	for (size_t i = 0; i < f->n_lists; i++) {
		free(f->lists[i].rows);
		f->lists[i].rows = NULL;
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
			/* an integer, or a calculation (an age from a
			   date of birth) whose values are whole numbers */
			if (f->n_bands == 0 || (f->fields[fd->field].type !=
			    FT_INTEGER && f->fields[fd->field].type !=
			    FT_CALCULATE) || !json_is_string(bands) ||
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
			if (f->fields[m->field].type != FT_INTEGER &&
			    f->fields[m->field].type != FT_CALCULATE)
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
    "default_language", "survey", "choices", "settings", "counts",
    "instance_name", "allow_choice_duplicates", "external_lists", NULL };

/* external_lists: the names of lists whose choices came from a workbook's
   external_choices sheet (see def_lists). */
static int
def_external_lists(struct parse *p, const json_t *v)
{
	size_t i;
	json_t *n;

	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > FORM_MAX_LISTS)
		return def_fail(p, "external_lists: must be an array of at most "
		    "%d list names", FORM_MAX_LISTS);
	json_array_foreach(v, i, n)
		if (!json_is_string(n) || !choice_name_ok(json_string_value(n),
		    FORM_NAME_MAX, 0))
			return def_fail(p, "external_lists: item %zu is not a "
			    "list name", i + 1);
	return 0;
}

/* instance_name: an expression clients name a record by. */
static int
def_instance_name(struct parse *p, const json_t *v)
{
	struct name_check c = { p, 0, "instance_name", "instance_name", -1 };
	struct expr *e = NULL;
	char err[160];

	if (v == NULL || (json_is_string(v) && json_string_length(v) == 0))
		return 0;
	if (!json_is_string(v))
		return def_fail(p, "instance_name: must be text");
	if (expr_parse(json_string_value(v), &e, err, sizeof(err)) != 0)
		return def_fail(p, "instance_name: %s", err);
	expr_names(e, def_name_exists, &c);
	expr_free(e);
	return p->failed ? -1 : 0;
}

static int form_dict_make(struct form *f);

/* The definition as compact JSON, compressed: a few KiB where its tree
   would take MiBs. */
static int
form_keep_text(struct form *f)
{
	char *text = json_dumps(f->def, JSON_COMPACT);
	size_t cap, n;

	if (text == NULL)
		return -1;
	f->json_len = strlen(text);
	cap = ZSTD_compressBound(f->json_len);
	if ((f->json_z = malloc(cap)) == NULL) {
		free(text);
		return -1;
	}
	n = ZSTD_compress(f->json_z, cap, text, f->json_len, 3);
	free(text);
	if (ZSTD_isError(n))
		return -1;
	f->json_zlen = n;
	return 0;
}

int
form_parse(const char *json, size_t len, struct form **out, char *err,
    size_t errlen)
{
	struct parse p = { NULL, NULL, err, errlen, 0, "English" };
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
	if ((p.lang = p_intern(&p, p.lang)) == NULL)
		p.lang = "English";
	p.f->lang = p.lang;
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
	v = json_object_get(p.f->def, "allow_choice_duplicates");
	if (!p.failed && v != NULL && form_yes_no(v) < 0)
		def_fail(&p, "allow_choice_duplicates: must be yes or no");
	if (!p.failed)
		def_external_lists(&p, json_object_get(p.f->def,
		    "external_lists"));
	if (!p.failed)
		def_lists(&p, json_object_get(p.f->def, "choices"),
		    v != NULL && form_yes_no(v) == 1, json_object_get(
		    p.f->def, "external_lists"));
	if (!p.failed)
		def_survey(&p, json_object_get(p.f->def, "survey"));
	free(p.row_of);
	if (!p.failed)
		def_choice_spaces(&p);
	if (!p.failed)
		def_instance_name(&p, json_object_get(p.f->def,
		    "instance_name"));
	if (!p.failed)
		def_choice_columns(&p);
	if (!p.failed)
		def_bands(&p, json_object_get(p.f->def, "settings"));
	if (!p.failed)
		def_counts(&p, json_object_get(p.f->def, "counts"));
	if (!p.failed && !p.f->has_counts)
		form_counts_default(p.f);
	if (p.failed) {
		form_free(p.f);
		return -1;
	}
	/* The tree goes; the text stays, compressed, for form_definition(). */
	if (form_keep_text(p.f) != 0 || form_dict_make(p.f) != 0) {
		snprintf(err, errlen, "out of memory");
		form_free(p.f);
		return -1;
	}
	json_decref(p.f->def);
	p.f->def = NULL;
#ifdef __GLIBC__
	/* A large definition's tree leaves MiBs of small free blocks all
	   over the heap, which glibc keeps resident: give them back. */
	if (len > FORM_TRIM_BYTES)
		malloc_trim(0);
#endif
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
			cap += strlen(f->lists[i].choices[k].name) + 1;
	if ((d = malloc(cap)) == NULL)
		return -1;
	for (size_t i = 0; i < f->n_fields; i++)
		len += (size_t)snprintf(d + len, cap - len, "%s\n",
		    f->fields[i].name);
	for (size_t i = 0; i < f->n_lists; i++)
		for (size_t k = 0; k < f->lists[i].n; k++)
			len += (size_t)snprintf(d + len, cap - len, "%s\n",
			    f->lists[i].choices[k].name);
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
	for (size_t i = 0; f->fields && i < f->cap_fields; i++) {
		expr_free(f->fields[i].constraint);
		expr_free(f->fields[i].relevant);
		expr_free(f->fields[i].calculation);
		expr_free(f->fields[i].choice_filter);
		expr_free(f->fields[i].repeat_count);
	}
	free(f->fields);
	free(f->index.slot);
	for (size_t i = 0; i < f->n_lists; i++) {
		free(f->lists[i].choices);
		free(f->lists[i].index.slot);
		free(f->lists[i].rows);
		free(f->lists[i].colnames);
		free(f->lists[i].colvals);
	}
	while (f->arena.chunk != NULL) {
		struct form_chunk *c = f->arena.chunk;
		f->arena.chunk = c->next;
		free(c);
	}
	free(f->json_z);
	free(f->lists);
	json_decref(f->def);
	free(f);
}
