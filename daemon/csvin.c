/*
 * csvin.c: see csvin.h.  Each file is read whole (bounded), parsed with
 * libcsv line by line so that every row knows the physical line it
 * starts on, into a table of strings; then the main table's rows become
 * records and the repeat tables' rows are attached by key.
 */
#include "daemon/csvin.h"

#include <csv.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define CSVIN_MAX_ERRORS 50

struct csvin_err {
	char *buf;
	size_t len, used;
	int n;
};

static void __attribute__((format(printf, 2, 3)))
csvin_error(struct csvin_err *e, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (e->n++ == CSVIN_MAX_ERRORS && e->used + 24 < e->len) {
		e->used += (size_t)snprintf(e->buf + e->used, e->len - e->used,
		    "... and more errors\n");
		return;
	}
	if (e->n > CSVIN_MAX_ERRORS || e->used + 2 >= e->len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(e->buf + e->used, e->len - e->used - 1, fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	e->used += (size_t)w < e->len - e->used - 1 ? (size_t)w :
	    e->len - e->used - 2;
	e->buf[e->used++] = '\n';
	e->buf[e->used] = '\0';
}

/* A parsed file: rows of strings, the first the header. */
struct table {
	const char *name;		/* base name, for messages */
	char *copy;			/* the path copy name points into */
	json_t *rows;			/* array of arrays of strings */
	json_t *lines;			/* array of integers */
	json_t *row;			/* the row being built */
	long cur_line, row_line;
	int failed;
	struct csvin_err *e;
};

static void
t_field(void *s, size_t len, void *arg)
{
	struct table *t = arg;

	if (t->failed)
		return;
	if (t->row == NULL) {
		/* first field: the row began as many lines up as it holds */
		long nl = 0;
		for (size_t i = 0; i < len; i++)
			nl += ((char *)s)[i] == '\n';
		t->row = json_array();
		t->row_line = t->cur_line - nl;
	}
	if (len > CSVIN_MAX_FIELD) {
		csvin_error(t->e, "%s line %ld: a field longer than %d bytes",
		    t->name, t->row_line, CSVIN_MAX_FIELD);
		t->failed = 1;
		return;
	}
	if (json_array_size(t->row) >= CSVIN_MAX_COLS) {
		csvin_error(t->e, "%s line %ld: more than %d columns", t->name,
		    t->row_line, CSVIN_MAX_COLS);
		t->failed = 1;
		return;
	}
	if (json_array_append_new(t->row, json_stringn(s ? s : "", len)) != 0) {
		csvin_error(t->e, "%s line %ld: not valid UTF-8 text", t->name,
		    t->row_line);
		t->failed = 1;
	}
}

static void
t_row(int c, void *arg)
{
	struct table *t = arg;

	if (t->failed || t->row == NULL) {
		json_decref(t->row);
		t->row = NULL;
		return;
	}
	if (json_array_size(t->rows) >= CSVIN_MAX_ROWS + 1) {
		csvin_error(t->e, "%s: more than %d rows", t->name,
		    CSVIN_MAX_ROWS);
		t->failed = 1;
	} else {
		json_array_append_new(t->rows, t->row);
		json_array_append_new(t->lines, json_integer(t->row_line));
	}
	if (t->failed)
		json_decref(t->row);
	t->row = NULL;
}

static void
t_free(struct table *t)
{
	json_decref(t->rows);
	json_decref(t->lines);
	json_decref(t->row);
	free(t->copy);
	t->rows = t->lines = t->row = NULL;
	t->copy = NULL;
}

static int
t_read(struct table *t, const char *path, struct csvin_err *e)
{
	struct csv_parser p;
	char *data, *s, *end;
	size_t len;

	memset(t, 0, sizeof(*t));
	t->e = e;
	t->copy = strdup(path);
	t->name = t->copy ? basename(t->copy) : "file";
	t->rows = json_array();
	t->lines = json_array();
	t->cur_line = 1;
	if ((data = util_read_file(path, CSVIN_MAX_BYTES, &len)) == NULL) {
		csvin_error(e, "%s: %s", path, errno == EFBIG ?
		    "larger than 64 MiB" : strerror(errno));
		t->failed = 1;
		return -1;
	}
	s = data;
	end = data + len;
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	csv_init(&p, CSV_STRICT | CSV_APPEND_NULL | CSV_STRICT_FINI);
	while (s < end && !t->failed) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);

		if (csv_parse(&p, s, n, t_field, t_row, t) != n) {
			csvin_error(e, "%s line %ld: %s", t->name, t->cur_line,
			    csv_strerror(csv_error(&p)));
			t->failed = 1;
		}
		s += n;
		t->cur_line++;
	}
	if (!t->failed && csv_fini(&p, t_field, t_row, t) != 0) {
		csvin_error(e, "%s line %ld: %s", t->name, t->cur_line - 1,
		    csv_strerror(csv_error(&p)));
		t->failed = 1;
	}
	csv_free(&p);
	free(data);
	if (!t->failed && json_array_size(t->rows) == 0) {
		csvin_error(e, "%s: no header row", t->name);
		t->failed = 1;
	}
	return t->failed ? -1 : 0;
}

static const char *const csvin_meta[] = { "KEY", "PARENT_KEY",
    "SubmissionDate", "SubmitterID", "SubmitterName", "AttachmentsPresent",
    "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits",
    "FormVersion", "start", "end", "today", "deviceid", NULL };

/* The field name a column maps to, "" to drop it. */
static void
csvin_map(const char *col, char *out, size_t outlen)
{
	const char *slash;

	if (strcmp(col, "meta/instanceID") == 0 ||
	    strcmp(col, "meta-instanceID") == 0 ||
	    strcmp(col, "instanceID") == 0 || strcmp(col, "_uuid") == 0 ||
	    strcmp(col, "_id") == 0) {
		snprintf(out, outlen, "_id");
		return;
	}
	out[0] = '\0';
	for (int i = 0; csvin_meta[i]; i++)
		if (strcmp(col, csvin_meta[i]) == 0)
			return;
	if (col[0] == '_')
		return;
	slash = strrchr(col, '/');
	snprintf(out, outlen, "%s", slash ? slash + 1 : col);
}

static int
csvin_col(const json_t *header, const char *const *names)
{
	for (int k = 0; names[k]; k++)
		for (size_t i = 0; i < json_array_size(header); i++)
			if (strcmp(json_string_value(json_array_get(header, i)),
			    names[k]) == 0)
				return (int)i;
	return -1;
}

/* Column names after mapping; NULL for dropped ones.  -1 on duplicates. */
static int
csvin_names(struct table *t, char (**names)[64], size_t *n)
{
	json_t *header = json_array_get(t->rows, 0);
	size_t cols = json_array_size(header);
	int rc = 0;

	*n = cols;
	if ((*names = calloc(cols + 1, sizeof(**names))) == NULL)
		return -1;
	for (size_t i = 0; i < cols; i++) {
		csvin_map(json_string_value(json_array_get(header, i)),
		    (*names)[i], sizeof((*names)[i]));
		for (size_t k = 0; k < i && (*names)[i][0]; k++)
			if (strcmp((*names)[k], (*names)[i]) == 0) {
				csvin_error(t->e, "%s line 1: two columns give "
				    "field %s", t->name, (*names)[i]);
				rc = -1;
			}
	}
	return rc;
}

/* Row i of t as an object of mapped names; NULL (error noted) if ragged. */
static json_t *
csvin_object(struct table *t, size_t i, char (*names)[64], size_t n)
{
	json_t *row = json_array_get(t->rows, i), *o;
	long line = (long)json_integer_value(json_array_get(t->lines, i));

	if (json_array_size(row) != n) {
		csvin_error(t->e, "%s line %ld: %zu fields, header has %zu",
		    t->name, line, json_array_size(row), n);
		return NULL;
	}
	o = json_object();
	for (size_t c = 0; c < n; c++) {
		const char *v = json_string_value(json_array_get(row, c));
		if (names[c][0] == '\0')
			continue;
		if (strcmp(names[c], "_id") == 0) {
			if (strncmp(v, "uuid:", 5) == 0)
				v += 5;
			if (*v == '\0')
				continue;
		}
		json_object_set_new(o, names[c], json_string(v));
	}
	return o;
}

static const char *const csvin_keys[] = { "KEY", "_index", "_uuid", NULL };
static const char *const csvin_parents[] = { "PARENT_KEY", "_parent_index",
    NULL };

int
csvin_read(const char *main_path, const struct csvin_repeat *reps,
    size_t n_reps, json_t **out, char *err, size_t errlen)
{
	struct csvin_err e = { err, errlen, 0, 0 };
	struct table t;
	char (*names)[64] = NULL;
	json_t *res = json_array(), *bykey = json_object();
	size_t n;
	int key;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (t_read(&t, main_path, &e) != 0 || csvin_names(&t, &names, &n) != 0)
		goto fail;
	key = csvin_col(json_array_get(t.rows, 0), csvin_keys);
	if (key < 0 && n_reps > 0) {
		csvin_error(&e, "%s line 1: no key column (KEY, _index or "
		    "_uuid) to link repeat rows to", t.name);
		goto fail;
	}
	for (size_t i = 1; i < json_array_size(t.rows); i++) {
		json_t *o = csvin_object(&t, i, names, n);
		long line = (long)json_integer_value(json_array_get(t.lines, i));

		if (o == NULL)
			continue;
		if (key >= 0) {
			const char *k = json_string_value(json_array_get(
			    json_array_get(t.rows, i), (size_t)key));
			/* ODK Central's KEY is the instance id: use it as
			   the record id when the file has no other. */
			if (json_object_get(o, "_id") == NULL &&
			    strncmp(k, "uuid:", 5) == 0 && k[5])
				json_object_set_new(o, "_id", json_string(k + 5));
			if (json_object_get(bykey, k)) {
				csvin_error(&e, "%s line %ld: key '%.64s' "
				    "appears twice", t.name, line, k);
			} else {
				json_object_set_new(bykey, k, json_integer(
				    (json_int_t)json_array_size(res)));
			}
		}
		json_array_append_new(res, json_pack("{s:I, s:o}", "line",
		    (json_int_t)line, "record", o));
	}
	free(names);
	names = NULL;
	t_free(&t);

	for (size_t r = 0; r < n_reps; r++) {
		struct table rt;
		int parent;

		if (t_read(&rt, reps[r].path, &e) != 0 ||
		    csvin_names(&rt, &names, &n) != 0) {
			t_free(&rt);
			free(names);
			names = NULL;
			continue;
		}
		parent = csvin_col(json_array_get(rt.rows, 0), csvin_parents);
		if (parent < 0)
			csvin_error(&e, "%s line 1: no parent column "
			    "(PARENT_KEY or _parent_index)", rt.name);
		for (size_t i = 1; parent >= 0 && i < json_array_size(rt.rows);
		    i++) {
			json_t *o = csvin_object(&rt, i, names, n), *rec, *arr;
			const char *pk = json_string_value(json_array_get(
			    json_array_get(rt.rows, i), (size_t)parent));
			json_t *idx = json_object_get(bykey, pk);

			if (o == NULL)
				continue;
			json_object_del(o, "_id");
			if (idx == NULL) {
				csvin_error(&e, "%s line %lld: %s '%.64s' "
				    "matches no record in the main file",
				    rt.name, json_integer_value(json_array_get(
				    rt.lines, i)), json_string_value(
				    json_array_get(json_array_get(rt.rows, 0),
				    (size_t)parent)), pk);
				json_decref(o);
				continue;
			}
			rec = json_object_get(json_array_get(res,
			    (size_t)json_integer_value(idx)), "record");
			if ((arr = json_object_get(rec, reps[r].group)) == NULL) {
				arr = json_array();
				json_object_set_new(rec, reps[r].group, arr);
			}
			json_array_append_new(arr, o);
		}
		t_free(&rt);
		free(names);
		names = NULL;
	}
	if (e.n > 0)
		goto fail_out;
	json_decref(bykey);
	*out = res;
	return 0;
fail:
	t_free(&t);
fail_out:
	free(names);
	json_decref(res);
	json_decref(bykey);
	return -1;
}
