/* form_file.c: see form_file.h. */
#include "form/form_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "form/form.h"
#include "form/xlsform.h"
#include "form/xlsx.h"

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/*
 * form_parse names a row by its place in the definition ("survey row 3
 * (n0): constraint: ..."); a person looks at the sheet.  The message is
 * given the row's number in the sheet and, when it names a column, that
 * column's letters: "survey row 14, column F (n0): constraint: ...".
 */
static void
where_in_sheet(const json_t *def, char *err, size_t errlen)
{
	static const char *const sheets[] = { "survey", "choices" };
	const json_t *letters = json_object_get(def, "_columns");

	for (size_t k = 0; k < 2; k++) {
		size_t plen = strlen(sheets[k]);
		const char *rest, *col, *colend, *sheet;
		char *end, name[64], out[2048];
		const json_t *row, *letter;
		unsigned long n;

		if (strncmp(err, sheets[k], plen) != 0 ||
		    strncmp(err + plen, " row ", 5) != 0)
			continue;
		n = strtoul(err + plen + 5, &end, 10);
		row = json_array_get(json_object_get(def, sheets[k]), n - 1);
		if (n == 0 || row == NULL)
			return;
		rest = end;
		/* a choice from the external_choices sheet says so */
		sheet = json_string_value(json_object_get(row, "_sheet"));
		if (sheet == NULL)
			sheet = sheets[k];
		/* the column: the first "NAME:" after the row and field */
		col = strstr(rest, ": ");
		col = col ? col + 2 : NULL;
		colend = col ? strchr(col, ':') : NULL;
		letter = NULL;
		if (colend && (size_t)(colend - col) < sizeof(name)) {
			memcpy(name, col, (size_t)(colend - col));
			name[colend - col] = '\0';
			letter = json_object_get(json_object_get(letters,
			    sheet), name);
		}
		if (letter)
			snprintf(out, sizeof(out), "%s row %lld, column %s%s",
			    sheet, (long long)json_integer_value(
			    json_object_get(row, "_row")),
			    json_string_value(letter), rest);
		else
			snprintf(out, sizeof(out), "%s row %lld%s", sheet,
			    (long long)json_integer_value(json_object_get(row,
			    "_row")), rest);
		snprintf(err, errlen, "%s", out);
		return;
	}
}

int
form_file_workbook(struct xlsx *x, const char *name, int64_t now_ms,
    char **json, size_t *len, struct form **f, char *notes,
    size_t noteslen, char *err, size_t errlen)
{
	char n[XLSFORM_NOTES_MAX], *text;
	json_t *def, *where;

	*json = NULL;
	*f = NULL;
	if ((def = xlsform_convert(x, name, now_ms, notes ? notes : n,
	    notes ? noteslen : sizeof(n), err, errlen)) == NULL)
		return -1;
	/* Where each row and column is in the sheets, kept aside to name
	   them in an error; the definition goes without. */
	where = json_deep_copy(def);
	xlsform_strip(def);
	text = json_dumps(def, JSON_INDENT(1));
	json_decref(def);
	if (text == NULL || where == NULL) {
		free(text);
		json_decref(where);
		return util_fail(err, errlen, "%s: out of memory", name);
	}
	if (form_parse(text, strlen(text), f, err, errlen) != 0) {
		where_in_sheet(where, err, errlen);
		json_decref(where);
		free(text);
		return -1;
	}
	json_decref(where);
	*json = text;
	*len = strlen(text);
	return 0;
}

int
form_file_load(const char *path, int64_t now_ms, char **json, size_t *len,
    struct form **f, char *notes, size_t noteslen, char *err, size_t errlen)
{
	char *text;
	size_t n;

	*json = NULL;
	*f = NULL;
	if (notes && noteslen)
		notes[0] = '\0';
	if (ends_with(path, ".xlsx") || ends_with(path, ".xls")) {
		char e[512];
		struct xlsx *x = xlsx_open_file(path, e, sizeof(e));
		int rc;

		if (x == NULL)
			return util_fail(err, errlen, "%s: %s", path, e);
		rc = form_file_workbook(x, path, now_ms, json, len, f, notes,
		    noteslen, err, errlen);
		xlsx_free(x);
		return rc;
	}
	if (!ends_with(path, ".json"))
		return util_fail(err, errlen, "%s: expected an XLSForm "
		    "workbook (.xlsx) or a JSON definition (.json)", path);
	if ((text = util_read_file(path, FORM_MAX_DEF_BYTES, &n)) == NULL)
		return util_fail(err, errlen, "%s: %s", path,
		    errno == EFBIG ? "larger than a definition may be" :
		    strerror(errno));
	if (form_parse(text, n, f, err, errlen) != 0) {
		free(text);
		return -1;
	}
	*json = text;
	*len = n;
	return 0;
}

/* A survey row's type, first word, lower case, spaces as '_'. */
static void
row_type(json_t *row, char *out, size_t outlen)
{
	const char *t = json_string_value(json_object_get(row, "type"));
	size_t n = 0;

	if (t == NULL)
		t = "";
	while (isspace((unsigned char)*t))
		t++;
	for (; *t && n + 1 < outlen; t++) {
		if (isspace((unsigned char)*t)) {
			/* "begin group", "select one" ... */
			if (strncmp(out, "begin", n) == 0 ||
			    strncmp(out, "end", n) == 0 ||
			    strncmp(out, "select", n) == 0) {
				out[n++] = '_';
				while (isspace((unsigned char)t[1]))
					t++;
				continue;
			}
			break;
		}
		out[n++] = (char)tolower((unsigned char)*t);
	}
	out[n] = '\0';
}

void
form_file_summary(const struct form *f, struct form_summary *s)
{
	json_t *def = form_definition(f), *row, *seen = json_object();
	size_t i;

	memset(s, 0, sizeof(*s));
	json_array_foreach(json_object_get(def, "survey"), i, row) {
		char t[32];

		row_type(row, t, sizeof(t));
		if (strcmp(t, "begin_group") == 0)
			s->groups++;
		else if (strcmp(t, "begin_repeat") == 0)
			s->repeats++;
		else if (strcmp(t, "note") == 0)
			s->notes++;
		else if (strncmp(t, "end_", 4) != 0 && t[0])
			s->fields++;
	}
	json_array_foreach(json_object_get(def, "choices"), i, row) {
		const char *l = json_string_value(json_object_get(row,
		    "list_name"));

		s->choices++;
		if (l && json_object_get(seen, l) == NULL) {
			json_object_set_new(seen, l, json_true());
			s->lists++;
		}
	}
	json_decref(seen);
	json_decref(def);
}

void
form_file_print(const struct form *f, const char *notes)
{
	struct form_summary s;
	const char *p = notes, *nl;

	form_file_summary(f, &s);
	printf("form %s, version %s: %zu fields, %zu groups, %zu repeats, "
	    "%zu notes, %zu lists (%zu choices)\n", form_id(f),
	    form_version(f), s.fields, s.groups, s.repeats, s.notes, s.lists,
	    s.choices);
	while (p && *p) {
		nl = strchr(p, '\n');
		printf("note: %.*s\n", (int)(nl ? nl - p : (long)strlen(p)), p);
		p = nl ? nl + 1 : NULL;
	}
}

int
form_file_same(const char *a, size_t alen, const char *b, size_t blen)
{
	json_t *x = json_loadb(a, alen, 0, NULL), *y = json_loadb(b, blen, 0,
	    NULL);
	int same = x && y && json_equal(x, y);

	json_decref(x);
	json_decref(y);
	return same;
}
