/*
 * xlsform.c: see xlsform.h.
 *
 * One pass per sheet: the first row with a cell names the columns (after
 * the aliases and case folding pyxform applies), every later row becomes
 * one JSON object of column name to the cell's text.  Nothing here judges
 * the form: types, names, expressions and limits are form_parse's, so a
 * workbook and a JSON definition are held to the same rules.  What the
 * converter does judge is the workbook's own shape: a sheet with no column
 * names, a column named twice, a settings or counts sheet it cannot read.
 * It reports every such error, not just the first.
 */
#include "form/xlsform.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "form/xlsx.h"

/* Errors listed before the rest are only counted. */
#define XLSFORM_MAX_ERRORS 50
/* Bytes of one column name. */
#define XLSFORM_COL_MAX 128

struct conv {
	struct xlsx *x;
	char *err;
	size_t errlen, errused;
	int nerr;
	char *notes;
	size_t noteslen, notesused;
	int notes_cut;
};

static void __attribute__((format(printf, 4, 5)))
text_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (len == 0 || *used + 1 >= len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	*used += (size_t)w;
	if (*used + 1 >= len)
		*used = len - 1;
	else {
		buf[(*used)++] = '\n';
		buf[*used] = '\0';
	}
}

#define conv_error(c, ...) do {						\
	if (++(c)->nerr <= XLSFORM_MAX_ERRORS)				\
		text_add((c)->err, (c)->errlen, &(c)->errused,		\
		    __VA_ARGS__);					\
} while (0)

#define conv_note(c, ...) do {						\
	if ((c)->notesused + 200 < (c)->noteslen)			\
		text_add((c)->notes, (c)->noteslen, &(c)->notesused,	\
		    __VA_ARGS__);					\
	else								\
		(c)->notes_cut++;					\
} while (0)

/* The sheets the converter reads, and the columns' aliases per sheet. */
enum sheet_kind { SK_SURVEY, SK_CHOICES, SK_SETTINGS, SK_COUNTS, SK_EXTERNAL,
    SK_N };

struct alias {
	const char *from, *to;
};

/*
 * pyxform's aliases (its aliases.py: survey_header, list_header and the
 * bind::/control:: spellings of older forms); everything is compared after
 * ASCII case folding.
 */
static const struct alias survey_aliases[] = {
	{ "count", "repeat_count" },
	{ "jr:count", "repeat_count" },
	{ "control::jr:count", "repeat_count" },
	{ "repeat count", "repeat_count" },
	{ "constraint message", "constraint_message" },
	{ "bind::jr:constraintmsg", "constraint_message" },
	{ "required message", "required_message" },
	{ "bind::jr:requiredmsg", "required_message" },
	{ "bind::relevant", "relevant" },
	{ "bind::constraint", "constraint" },
	{ "bind::required", "required" },
	{ "bind::calculate", "calculation" },
	{ "bind::readonly", "read_only" },
	{ "readonly", "read_only" },
	{ "read only", "read_only" },
	{ "control::appearance", "appearance" },
	{ "choice filter", "choice_filter" },
	{ "guidance hint", "guidance_hint" },
	{ "caption", "label" },
	{ NULL, NULL }
};

static const struct alias choices_aliases[] = {
	{ "list name", "list_name" },
	{ "value", "name" },
	{ NULL, NULL }
};

static const struct alias settings_aliases[] = {
	{ "id_string", "form_id" },
	{ "form id", "form_id" },
	{ "form title", "form_title" },
	{ "title", "form_title" },
	{ "default language", "default_language" },
	{ "instance name", "instance_name" },
	{ NULL, NULL }
};

/* The choices sheet's own columns (after aliases), compared folded. */
static int
choice_column_known(const char *base)
{
	static const char *const known[] = { "list_name", "name", "label",
	    "image", "big-image", "audio", "video", NULL };

	if (strncmp(base, "media::", 7) == 0)
		return 1;
	for (int i = 0; known[i]; i++)
		if (strcmp(base, known[i]) == 0)
			return 1;
	return 0;
}

/*
 * A column name as the rest of the code expects it: trimmed, the part
 * before "::" in lower case and through the sheet's aliases, a language
 * after "::" kept as written ("Label::Français" is label::Français).
 */
static void
column_name(const char *in, enum sheet_kind kind, char out[XLSFORM_COL_MAX])
{
	const struct alias *a = kind == SK_SURVEY ? survey_aliases :
	    kind == SK_CHOICES || kind == SK_EXTERNAL ? choices_aliases :
	    kind == SK_SETTINGS ? settings_aliases : NULL;
	char base[XLSFORM_COL_MAX];
	const char *lang, *end;

	while (isspace((unsigned char)*in))
		in++;
	end = in + strlen(in);
	while (end > in && isspace((unsigned char)end[-1]))
		end--;
	lang = NULL;
	for (const char *p = in; p + 1 < end; p++)
		if (p[0] == ':' && p[1] == ':' &&
		    strncmp(in, "bind::", 6) != 0 &&
		    strncmp(in, "control::", 9) != 0) {
			lang = p;
			break;
		}
	if (lang && strncmp(in, "media::", 7) == 0)
		lang = NULL;	/* media::image::English: keep whole */
	{
		size_t bn = (size_t)((lang ? lang : end) - in);

		if (bn >= sizeof(base))
			bn = sizeof(base) - 1;
		for (size_t i = 0; i < bn; i++)
			base[i] = (char)tolower((unsigned char)in[i]);
		base[bn] = '\0';
	}
	const char *name = base;

	for (; a && a->from; a++)
		if (strcmp(base, a->from) == 0) {
			name = a->to;
			break;
		}
	/* A choices column that is not XLSForm's is a filter column that
	   choice_filter names, and XPath is case-sensitive: kept as written
	   ("Gov = ${governorate}"), as pyxform keeps it. */
	if ((kind == SK_CHOICES || kind == SK_EXTERNAL) && name == base &&
	    !choice_column_known(base)) {
		size_t bn = strlen(base);

		memcpy(base, in, bn);
	}
	/* A column name longer than the buffer is cut: no XLSForm column
	   is, so it is an unknown one either way. */
	if (snprintf(out, XLSFORM_COL_MAX, "%s%.*s", name,
	    lang ? (int)(end - lang) : 0, lang ? lang : "") >= XLSFORM_COL_MAX)
		out[XLSFORM_COL_MAX - 1] = '\0';
}

/* A cell's text without the spaces around it (pyxform strips them). */
static json_t *
cell_string(const char *s)
{
	const char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	return json_stringn(s, (size_t)(end - s));
}

struct header {
	unsigned ncols;
	char (*name)[XLSFORM_COL_MAX];	/* "" for a column with no name */
	json_t *letters;		/* column name to its letters */
};

static void
header_free(struct header *h)
{
	free(h->name);
	json_decref(h->letters);
	h->name = NULL;
	h->letters = NULL;
	h->ncols = 0;
}

/* Reads row 1 (the first row with a cell) of sheet i as column names. */
static int
header_read(struct conv *c, size_t i, enum sheet_kind kind, struct header *h)
{
	const char *sheet = xlsx_sheet_name(c->x, i);
	const struct xlsx_row *row;
	char col[XLSX_COL_NAME_MAX], col2[XLSX_COL_NAME_MAX];

	h->ncols = 0;
	h->name = NULL;
	h->letters = json_object();
	if (xlsx_row_count(c->x, i) == 0) {
		conv_error(c, "%s: the sheet is empty; row 1 must name its "
		    "columns", sheet);
		return -1;
	}
	row = xlsx_row(c->x, i, 0);
	h->ncols = row->cells[row->n_cells - 1].col + 1;
	if ((h->name = calloc(h->ncols, sizeof(*h->name))) == NULL) {
		conv_error(c, "%s: out of memory", sheet);
		return -1;
	}
	for (size_t k = 0; k < row->n_cells; k++) {
		const struct xlsx_cell *cell = &row->cells[k];

		column_name(cell->text, kind, h->name[cell->col]);
		if (h->name[cell->col][0] == '\0')
			continue;
		json_object_set_new(h->letters, h->name[cell->col],
		    json_string(xlsx_col_name(cell->col, col)));
		for (size_t j = 0; j < k; j++)
			if (strcmp(h->name[row->cells[j].col],
			    h->name[cell->col]) == 0)
				conv_error(c, "%s row %lu, column %s (%s): the "
				    "column is named twice (also column %s)",
				    sheet, row->num, xlsx_col_name(cell->col,
				    col), h->name[cell->col],
				    xlsx_col_name(row->cells[j].col, col2));
	}
	return 0;
}

/*
 * The columns without which a row says nothing to pyxform: a survey row
 * with neither type nor name, a choice with neither list_name nor name
 * (real workbooks keep numbering or helper columns beside the form).
 */
static int
row_says_nothing(enum sheet_kind kind, json_t *o)
{
	if (kind == SK_SURVEY)
		return !json_object_get(o, "type") && !json_object_get(o, "name");
	if (kind == SK_CHOICES)
		return !json_object_get(o, "list_name") &&
		    !json_object_get(o, "name");
	return 0;
}

/*
 * Sheet i's rows after the header as JSON objects (column name to text),
 * each with "_row".  Cells under a column with no name are noted once
 * and left out, and so are rows that say nothing.
 */
static json_t *
rows_read(struct conv *c, size_t i, enum sheet_kind kind,
    const struct header *h)
{
	unsigned long first_skipped = 0;
	size_t skipped = 0;
	const char *sheet = xlsx_sheet_name(c->x, i);
	json_t *arr = json_array();
	unsigned char *noted = calloc(h->ncols ? h->ncols : 1, 1);
	char col[XLSX_COL_NAME_MAX];

	if (arr == NULL || noted == NULL) {
		conv_error(c, "%s: out of memory", sheet);
		json_decref(arr);
		free(noted);
		return NULL;
	}
	for (size_t r = 1; r < xlsx_row_count(c->x, i); r++) {
		const struct xlsx_row *row = xlsx_row(c->x, i, r);
		json_t *o = json_object();

		if (o == NULL) {
			conv_error(c, "%s: out of memory", sheet);
			break;
		}
		for (size_t k = 0; k < row->n_cells; k++) {
			const struct xlsx_cell *cell = &row->cells[k];
			json_t *v;

			if (cell->col >= h->ncols ||
			    h->name[cell->col][0] == '\0') {
				unsigned n = cell->col < h->ncols ?
				    cell->col : 0;

				if (!noted[n]) {
					noted[n] = 1;
					conv_note(c, "%s column %s has no name "
					    "in row 1: its cells (from row %lu) "
					    "are not read", sheet,
					    xlsx_col_name(cell->col, col),
					    row->num);
				}
				continue;
			}
			v = cell_string(cell->text);
			if (json_string_length(v) == 0) {
				json_decref(v);
				continue;
			}
			json_object_set_new(o, h->name[cell->col], v);
		}
		if (json_object_size(o) == 0) {
			json_decref(o);
			continue;
		}
		if (row_says_nothing(kind, o)) {
			if (skipped++ == 0)
				first_skipped = row->num;
			json_decref(o);
			continue;
		}
		json_object_set_new(o, "_row", json_integer((json_int_t)
		    row->num));
		json_array_append_new(arr, o);
	}
	free(noted);
	if (skipped)
		conv_note(c, "%s: %zu row%s with neither %s nor name skipped "
		    "(the first is row %lu)", sheet, skipped, skipped > 1 ?
		    "s" : "", kind == SK_SURVEY ? "type" : "list_name",
		    first_skipped);
	return arr;
}

/* Reads sheet i whole: 0 with *rows and *letters (its columns'), or -1
   (the error is in c). */
static int
sheet_rows(struct conv *c, size_t i, enum sheet_kind kind, json_t **rows,
    json_t **letters)
{
	struct header h;
	char err[512];

	*rows = NULL;
	*letters = NULL;
	if (xlsx_sheet_read(c->x, i, err, sizeof(err)) != 0) {
		conv_error(c, "%s", err);
		return -1;
	}
	if (header_read(c, i, kind, &h) != 0) {
		header_free(&h);
		return -1;
	}
	if ((*rows = rows_read(c, i, kind, &h)) != NULL)
		*letters = json_incref(h.letters);
	header_free(&h);
	return *rows ? 0 : -1;
}

/* A name from the workbook's file name: letters, digits, _ - . kept. */
static void
id_from_name(const char *path, char *out, size_t outlen)
{
	const char *base = strrchr(path, '/');
	size_t n = 0;

	base = base ? base + 1 : path;
	if (!isalpha((unsigned char)*base) && *base != '_' && outlen > 1)
		out[n++] = '_';
	for (; *base && *base != '.' && n + 1 < outlen; base++)
		out[n++] = isalnum((unsigned char)*base) || *base == '-' ?
		    *base : '_';
	out[n] = '\0';
}

static const char *const settings_used[] = {
	"form_id", "version", "form_title", "default_language",
	"instance_name", "allow_choice_duplicates", NULL
};

/* The settings sheet's row 2 into the definition's top-level keys. */
static void
settings_apply(struct conv *c, json_t *rows, json_t *def, const char *sheet)
{
	json_t *row, *v;
	const char *key;

	if (json_array_size(rows) == 0)
		return;
	row = json_array_get(rows, 0);
	if (json_array_size(rows) > 1)
		conv_note(c, "%s: only row %lld is read (settings are one row)",
		    sheet, (long long)json_integer_value(json_object_get(row,
		    "_row")));
	json_object_foreach(row, key, v) {
		int used = 0;

		if (strcmp(key, "_row") == 0)
			continue;
		for (size_t k = 0; settings_used[k]; k++)
			used |= strcmp(key, settings_used[k]) == 0;
		/* a title per language, as labels have them */
		if (strncmp(key, "form_title::", 12) == 0 && key[12]) {
			char t[XLSFORM_COL_MAX + 8];

			snprintf(t, sizeof(t), "title::%s", key + 12);
			json_object_set(def, t, v);
			continue;
		}
		if (!used) {
			conv_note(c, "%s: %s is not used here%s", sheet, key,
			    strcmp(key, "public_key") == 0 ? " (records are "
			    "sealed to the collector's own key)" :
			    strcmp(key, "submission_url") == 0 ? " (records "
			    "go to the board, then by sync)" : "");
			continue;
		}
		json_object_set(def, strcmp(key, "form_title") == 0 ?
		    "title" : key, v);
	}
}

/*
 * The counts sheet: one row a declaration.
 *   kind       date | place | latest_by | dimension | measure | band
 *   name       a dimension's, measure's or band's name
 *   field      the field (repeat.field inside a repeat)
 *   bands      a dimension banded by the form's bands: age_bands
 *   count      a measure: records, or a repeat's name
 *   sum        a measure: an integer field to add up
 *   min, max   a band's bounds (max empty: open-ended)
 */
static void
counts_apply(struct conv *c, json_t *rows, json_t *def, const char *sheet)
{
	json_t *counts = json_object(), *dims = json_array(),
	    *measures = json_array(), *bands = json_array(), *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		long long rn = json_integer_value(json_object_get(row, "_row"));
		const char *kind = json_string_value(json_object_get(row,
		    "kind"));
		json_t *name = json_object_get(row, "name"),
		    *field = json_object_get(row, "field"), *o;

		if (kind == NULL) {
			conv_error(c, "%s row %lld, column kind: empty; write "
			    "date, place, latest_by, dimension, measure or band",
			    sheet, rn);
			continue;
		}
		if (strcmp(kind, "date") == 0 || strcmp(kind, "place") == 0 ||
		    strcmp(kind, "latest_by") == 0) {
			if (field == NULL)
				conv_error(c, "%s row %lld, column field: %s "
				    "needs a field", sheet, rn, kind);
			else
				json_object_set(counts, kind, field);
		} else if (strcmp(kind, "dimension") == 0) {
			o = json_object();
			if (name)
				json_object_set(o, "name", name);
			if (field)
				json_object_set(o, "field", field);
			if (json_object_get(row, "bands"))
				json_object_set(o, "bands",
				    json_object_get(row, "bands"));
			json_object_set_new(o, "_row", json_integer(rn));
			json_array_append_new(dims, o);
		} else if (strcmp(kind, "measure") == 0) {
			o = json_object();
			if (name)
				json_object_set(o, "name", name);
			if (json_object_get(row, "count"))
				json_object_set(o, "count",
				    json_object_get(row, "count"));
			if (json_object_get(row, "sum"))
				json_object_set(o, "sum",
				    json_object_get(row, "sum"));
			json_object_set_new(o, "_row", json_integer(rn));
			json_array_append_new(measures, o);
		} else if (strcmp(kind, "band") == 0) {
			const char *lim[2] = { "min", "max" };

			o = json_object();
			if (name)
				json_object_set(o, "name", name);
			for (int k = 0; k < 2; k++) {
				const char *s = json_string_value(
				    json_object_get(row, lim[k]));
				char *end;
				long long v;

				if (s == NULL)
					continue;
				v = strtoll(s, &end, 10);
				if (*end || end == s)
					conv_error(c, "%s row %lld, column %s: "
					    "expected a whole number", sheet, rn,
					    lim[k]);
				else
					json_object_set_new(o, lim[k],
					    json_integer(v));
			}
			json_array_append_new(bands, o);
		} else
			conv_error(c, "%s row %lld, column kind: \"%.40s\" is "
			    "not date, place, latest_by, dimension, measure or "
			    "band", sheet, rn, kind);
	}
	if (json_array_size(bands)) {
		json_t *s = json_object_get(def, "settings");

		if (s == NULL)
			json_object_set_new(def, "settings", s = json_object());
		json_object_set(s, "age_bands", bands);
	}
	if (json_object_size(counts) || json_array_size(dims) ||
	    json_array_size(measures)) {
		if (json_object_get(counts, "latest_by") == NULL)
			json_object_set_new(counts, "latest_by", json_null());
		json_object_set(counts, "dimensions", dims);
		json_object_set(counts, "measures", measures);
		json_object_set(def, "counts", counts);
	}
	json_decref(counts);
	json_decref(dims);
	json_decref(measures);
	json_decref(bands);
}

/*
 * pyxform writes the external_choices sheet out as itemsets.csv beside the
 * form, and select_one_external lists come from there.  We carry the form
 * as one definition, so those rows join the choices (each marked with its
 * sheet, for errors) and the question becomes a select_one of the list: a
 * board checks the answer against the list and its choice_filter like any
 * other.  A list both sheets define is refused, as pyxform refuses it.
 */
static void
external_choices(struct conv *c, json_t **rows, json_t *def,
    const char *sheet)
{
	json_t *ext = rows[SK_EXTERNAL], *row, *seen = json_object(),
	    *lists = json_array(), *added = json_object();
	size_t i;

	if (rows[SK_CHOICES] == NULL)
		rows[SK_CHOICES] = json_array();
	if (seen == NULL || rows[SK_CHOICES] == NULL || lists == NULL ||
	    added == NULL) {
		json_decref(seen);
		json_decref(lists);
		json_decref(added);
		conv_error(c, "%s: out of memory", sheet);
		return;
	}
	json_array_foreach(rows[SK_CHOICES], i, row) {
		const char *l = json_string_value(json_object_get(row,
		    "list_name"));

		if (l)
			json_object_set_new(seen, l, json_true());
	}
	json_array_foreach(ext, i, row) {
		const char *l = json_string_value(json_object_get(row,
		    "list_name"));

		if (l && json_object_get(seen, l)) {
			/* once a list, at its first row */
			if (json_is_true(json_object_get(seen, l)))
				conv_error(c, "%s row %lld: list %.40s is on the "
				    "choices sheet too", sheet, (long long)
				    json_integer_value(json_object_get(row,
				    "_row")), l);
			json_object_set_new(seen, l, json_false());
			continue;
		}
		json_object_set_new(row, "_sheet", json_string(sheet));
		json_array_append(rows[SK_CHOICES], row);
		if (l && json_object_get(added, l) == NULL) {
			json_object_set_new(added, l, json_true());
			json_array_append_new(lists, json_string(l));
		}
	}
	json_decref(seen);
	json_decref(added);
	if (json_array_size(lists))
		json_object_set_new(def, "external_lists", lists);
	else
		json_decref(lists);
	if (rows[SK_SURVEY] == NULL)
		return;
	json_array_foreach(rows[SK_SURVEY], i, row) {
		const char *t = json_string_value(json_object_get(row, "type"));
		static const char from[] = "select_one_external ";
		char type[256];

		/* pyxform has no select_multiple_external */
		if (t && strncasecmp(t, from, sizeof(from) - 1) == 0) {
			snprintf(type, sizeof(type), "select_one %s",
			    t + sizeof(from) - 1);
			json_object_set_new(row, "type", json_string(type));
		}
	}
}

static int
sheet_kind(const char *name, enum sheet_kind *k)
{
	static const struct {
		const char *name;
		enum sheet_kind kind;
	} known[] = {
		{ "survey", SK_SURVEY }, { "choices", SK_CHOICES },
		{ "settings", SK_SETTINGS }, { "counts", SK_COUNTS },
		{ "external_choices", SK_EXTERNAL },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasecmp(name, known[i].name) == 0) {
			*k = known[i].kind;
			return 0;
		}
	return -1;
}

json_t *
xlsform_convert(struct xlsx *x, const char *name, int64_t now_ms,
    char *notes, size_t noteslen, char *err, size_t errlen)
{
	struct conv c = { x, err, errlen, 0, 0, notes, noteslen, 0, 0 };
	static const char *const keys[SK_N] = { "survey", "choices",
	    "settings", "counts", "external_choices" };
	json_t *def = json_object(), *rows[SK_N] = { NULL }, *letters =
	    json_object(), *l;
	const char *sheet_names[SK_N] = { "survey", "choices", "settings",
	    "counts", "external_choices" };

	if (errlen)
		err[0] = '\0';
	if (noteslen)
		notes[0] = '\0';
	if (def == NULL) {
		conv_error(&c, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < xlsx_sheet_count(x); i++) {
		enum sheet_kind k;

		if (sheet_kind(xlsx_sheet_name(x, i), &k) != 0) {
			conv_note(&c, "sheet \"%s\" is not an XLSForm sheet "
			    "we read: skipped", xlsx_sheet_name(x, i));
			continue;
		}
		sheet_names[k] = xlsx_sheet_name(x, i);
		if (sheet_rows(&c, i, k, &rows[k], &l) == 0)
			json_object_set_new(letters, keys[k], l);
	}
	json_object_set_new(def, "_columns", letters);
	if (rows[SK_SURVEY] == NULL && c.nerr == 0)
		conv_error(&c, "no survey sheet: an XLSForm has one, with a "
		    "row a question");

	if (rows[SK_SETTINGS])
		settings_apply(&c, rows[SK_SETTINGS], def,
		    sheet_names[SK_SETTINGS]);
	if (json_object_get(def, "form_id") == NULL) {
		char id[65];

		id_from_name(name ? name : "form", id, sizeof(id));
		json_object_set_new(def, "form_id", json_string(id));
		conv_note(&c, "no form_id in settings: the file's name, %s",
		    id);
	}
	if (json_object_get(def, "version") == NULL) {
		time_t t = (time_t)(now_ms / 1000);
		struct tm tm;
		char v[32];

		gmtime_r(&t, &tm);
		strftime(v, sizeof(v), "%Y%m%d%H%M", &tm);
		json_object_set_new(def, "version", json_string(v));
		conv_note(&c, "no version in settings: %s (the time of "
		    "conversion, UTC)", v);
	}
	if (rows[SK_SURVEY])
		json_object_set(def, "survey", rows[SK_SURVEY]);
	if (rows[SK_EXTERNAL])
		external_choices(&c, rows, def, sheet_names[SK_EXTERNAL]);
	if (rows[SK_CHOICES] && json_array_size(rows[SK_CHOICES]))
		json_object_set(def, "choices", rows[SK_CHOICES]);
	if (rows[SK_COUNTS])
		counts_apply(&c, rows[SK_COUNTS], def, sheet_names[SK_COUNTS]);
	for (int k = 0; k < SK_N; k++)
		json_decref(rows[k]);
	if (c.notes_cut)
		text_add(notes, noteslen, &c.notesused, "... and %d more notes",
		    c.notes_cut);
	if (c.nerr) {
		if (c.nerr > XLSFORM_MAX_ERRORS)
			text_add(err, errlen, &c.errused, "... and %d more "
			    "errors", c.nerr - XLSFORM_MAX_ERRORS);
		if (c.errused && err[c.errused - 1] == '\n')
			err[c.errused - 1] = '\0';
		json_decref(def);
		return NULL;
	}
	return def;
}

static void
strip_rows(json_t *rows)
{
	size_t i;
	json_t *row;

	json_array_foreach(rows, i, row) {
		json_object_del(row, "_row");
		json_object_del(row, "_sheet");
	}
}

void
xlsform_strip(json_t *def)
{
	json_t *counts = json_object_get(def, "counts");

	json_object_del(def, "_columns");
	strip_rows(json_object_get(def, "survey"));
	strip_rows(json_object_get(def, "choices"));
	if (counts) {
		strip_rows(json_object_get(counts, "dimensions"));
		strip_rows(json_object_get(counts, "measures"));
	}
}
