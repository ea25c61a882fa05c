/*
 * csvin.c: see csvin.h.
 *
 * Each file is read whole (at most CSVIN_MAX_BYTES), checked to be UTF-8
 * text once, and fed to libcsv one physical line (up to and including
 * '\n') at a time, so that the line counter is always the line being
 * parsed.  A row's start line is taken when the parser is between rows
 * at the start of a line (or right after a row ends on a line holding a
 * bare CR), so it is right for quoted fields that span lines too.
 *
 * Rows are not kept as a table: the first row is the header, mapped once
 * to field names; every later row becomes a JSON object as soon as it
 * ends.  The main file is read first and indexes its records by key; the
 * repeat files are read after it, and each of their rows is attached to
 * its record at once, so repeat rows keep file order.
 *
 * Memory is bounded before it grows: libcsv's field buffer grows through
 * csvin_realloc(), which refuses more than a field's limit; the column
 * and row counts are checked before a cell or record is added.
 *
 * Privacy: error messages name files, lines, column names and key values
 * (keys are submission ids or row numbers), never other cell values.
 */
#include "daemon/csvin.h"

#include <csv.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define CSVIN_MAX_ERRORS 50
/* libcsv keeps a quoted field's closing quote and a NUL in its buffer */
#define CSVIN_BUF_CAP (CSVIN_MAX_FIELD + 3)

struct csvin_err {
	char *buf;
	size_t len, used;
	int n;
};

/* What all files of one csvin_read() share. */
struct csvin_ctx {
	struct csvin_err e;
	const struct csvin_repeat *reps;
	size_t n_reps;
	json_t *res;			/* the output array */
	json_t *bykey;			/* main key -> index in res */
	const char *main_name;		/* main file's base name */
	int linkable;			/* main read whole, with a key column */
	int oom;
	size_t cells;			/* cells kept, over all files */
};

/* One file being parsed. */
struct csvin_file {
	struct csvin_ctx *ctx;
	const char *name;		/* base name, for messages */
	char *copy;			/* the path copy name points into */
	const char *group;		/* NULL for the main file */
	long line;			/* physical line being parsed */
	long row_line;			/* line the current row began on */
	size_t n_rows;			/* data rows so far */
	int stop;			/* a limit was hit: ignore the rest */
	int have_header;
	/* the row being parsed */
	char *cell[CSVIN_MAX_COLS];
	size_t cell_len[CSVIN_MAX_COLS];
	size_t n_cells;
	/* from the header */
	size_t n_cols;
	char **names;			/* field names, NULL for dropped */
	int key_col;			/* main: key; repeat: parent */
	int id_col;			/* main: instance id */
	const char *key_name;		/* that column's name */
	int key_is_id;			/* main: key column is KEY */
};

static void __attribute__((format(printf, 2, 3)))
csvin_error(struct csvin_err *e, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int w;

	if (++e->n > CSVIN_MAX_ERRORS || e->len < 2)
		return;
	room = e->len - e->used;
	if (room < 2)
		return;
	/* leave room for the '\n' */
	va_start(ap, fmt);
	w = vsnprintf(e->buf + e->used, room - 1, fmt, ap);
	va_end(ap);
	if (w < 0) {
		e->buf[e->used] = '\0';
		return;
	}
	e->used += (size_t)w < room - 2 ? (size_t)w : room - 2;
	e->buf[e->used++] = '\n';
	e->buf[e->used] = '\0';
}

/*
 * Copies text from the file (a key or a column name) into out for an error
 * message: at most 64 bytes, cut at a character boundary, control
 * characters as '?', so that a message stays one line.
 */
static const char *
csvin_show(const char *s, char out[72])
{
	size_t i, n = strlen(s);

	if (n > 64) {
		n = 64;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	if (n < strlen(s))
		out[i++] = '.', out[i++] = '.', out[i++] = '.';
	out[i] = '\0';
	return out;
}

/*
 * The offset of the first byte that is not part of well-formed UTF-8
 * (no NUL, overlong form, surrogate or code point past U+10FFFF), or len.
 * As strict as jansson, so json_stringn() accepts every cell afterwards.
 */
static size_t
csvin_utf8_bad(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t c = s[i], min;
		size_t k;

		if (c != 0 && c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			k = 1, c &= 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			k = 2, c &= 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			k = 3, c &= 0x07, min = 0x10000;
		else
			return i;
		if (len - i <= k)
			return i;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return i;
			c = c << 6 | (s[i + j] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return i;
		i += k + 1;
	}
	return len;
}

/* libcsv grows its field buffer through this: never past a field's cap. */
static void *
csvin_realloc(void *p, size_t n)
{
	if (n > CSVIN_BUF_CAP)
		return NULL;
	return realloc(p, n);
}

static const char *const csvin_meta[] = { "KEY", "PARENT_KEY",
    "SubmissionDate", "SubmitterID", "SubmitterName", "AttachmentsPresent",
    "AttachmentsExpected", "Status", "ReviewState", "DeviceID", "Edits",
    "FormVersion", "start", "end", "today", "deviceid", NULL };
/* instance id columns, the first present wins */
static const char *const csvin_ids[] = { "meta/instanceID",
    "meta-instanceID", "instanceID", "_uuid", "_id", NULL };
static const char *const csvin_keys[] = { "KEY", "_index", "_uuid", NULL };
static const char *const csvin_parents[] = { "PARENT_KEY", "_parent_index",
    NULL };

static int
csvin_in(const char *s, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/*
 * The field name column col maps to: NULL when it is dropped, "" when it
 * has no name (a spreadsheet's padding; a value under it is an error).
 */
static const char *
csvin_map(const char *col)
{
	const char *slash;

	if (csvin_in(col, csvin_ids))
		return NULL;		/* the id column is handled apart */
	/* the meta group holds only metadata (instanceName, audit, ...) */
	if (strncmp(col, "meta/", 5) == 0 || strncmp(col, "meta-", 5) == 0)
		return NULL;
	if ((slash = strrchr(col, '/')) != NULL)
		col = slash + 1;
	if (col[0] == '_' || csvin_in(col, csvin_meta))
		return NULL;
	return col;
}

/* The first column of the header named in list, or -1; *name its name. */
static int
csvin_find(const struct csvin_file *f, const char *const *list,
    const char **name)
{
	for (int k = 0; list[k]; k++)
		for (size_t i = 0; i < f->n_cells; i++)
			if (strcmp(f->cell[i], list[k]) == 0) {
				if (name)
					*name = list[k];
				return (int)i;
			}
	return -1;
}

static void
csvin_header(struct csvin_file *f)
{
	struct csvin_ctx *ctx = f->ctx;
	json_t *seen;
	char a[72];

	f->have_header = 1;
	f->n_cols = f->n_cells;
	if ((f->names = calloc(f->n_cols + 1, sizeof(*f->names))) == NULL ||
	    (seen = json_object()) == NULL) {
		ctx->oom = 1;
		f->stop = 1;
		return;
	}
	for (size_t i = 0; i < f->n_cols; i++) {
		const char *name = csvin_map(f->cell[i]);
		json_t *prev;

		if (name == NULL)
			continue;
		if ((f->names[i] = strdup(name)) == NULL) {
			ctx->oom = 1;
			break;
		}
		if (name[0] == '\0')
			continue;
		if ((prev = json_object_get(seen, name)) != NULL)
			csvin_error(&ctx->e, "%s line %ld: columns %lld and "
			    "%zu both give field '%s'", f->name, f->row_line,
			    json_integer_value(prev) + 1, i + 1,
			    csvin_show(name, a));
		else
			json_object_set_new(seen, name,
			    json_integer((json_int_t)i));
	}
	if (f->group == NULL) {
		f->key_col = csvin_find(f, csvin_keys, &f->key_name);
		f->id_col = csvin_find(f, csvin_ids, NULL);
		f->key_is_id = f->key_col >= 0 &&
		    strcmp(f->key_name, "KEY") == 0;
		if (f->key_col < 0 && ctx->n_reps > 0)
			csvin_error(&ctx->e, "%s line %ld: no key column (KEY, "
			    "_index or _uuid) to link repeat rows to", f->name,
			    f->row_line);
		for (size_t r = 0; r < ctx->n_reps; r++)
			if (json_object_get(seen, ctx->reps[r].group))
				csvin_error(&ctx->e, "%s line %ld: a column "
				    "gives field '%s', the name of a repeat "
				    "group", f->name, f->row_line,
				    csvin_show(ctx->reps[r].group, a));
	} else {
		f->key_col = csvin_find(f, csvin_parents, &f->key_name);
		f->id_col = -1;
		if (f->key_col < 0)
			csvin_error(&ctx->e, "%s line %ld: no parent column "
			    "(PARENT_KEY or _parent_index)", f->name,
			    f->row_line);
	}
	json_decref(seen);
}

/* A main-file row as a record: its _id, its key, the record itself. */
static void
csvin_main_row(struct csvin_file *f, json_t *o)
{
	struct csvin_ctx *ctx = f->ctx;
	const char *id = NULL, *key = NULL;
	json_t *prev, *item;
	char a[72];

	if (f->key_col >= 0)
		key = f->cell[f->key_col];
	if (f->id_col >= 0)
		id = f->cell[f->id_col];
	else if (f->key_is_id && strncmp(key, "uuid:", 5) == 0)
		id = key;		/* ODK Central's KEY is the id */
	if (id != NULL && strncmp(id, "uuid:", 5) == 0)
		id += 5;
	if (id != NULL && id[0] != '\0' &&
	    json_object_set_new(o, "_id", json_string(id)) != 0)
		ctx->oom = 1;
	/* a row without a key can have no repeat rows, but is no error */
	if (key != NULL && key[0] != '\0') {
		if ((prev = json_object_get(ctx->bykey, key)) != NULL) {
			csvin_error(&ctx->e, "%s line %ld: %s '%s' is also "
			    "on line %lld", f->name, f->row_line, f->key_name,
			    csvin_show(key, a), json_integer_value(
			    json_object_get(json_array_get(ctx->res,
			    (size_t)json_integer_value(prev)), "line")));
		} else if (json_object_set_new(ctx->bykey, key, json_integer(
		    (json_int_t)json_array_size(ctx->res))) != 0)
			ctx->oom = 1;
	}
	item = json_pack("{s:I, s:o}", "line", (json_int_t)f->row_line,
	    "record", o);
	if (item == NULL || json_array_append_new(ctx->res, item) != 0)
		ctx->oom = 1;
}

/* A repeat-file row: attached to the end of its record's group array. */
static void
csvin_repeat_row(struct csvin_file *f, json_t *o)
{
	struct csvin_ctx *ctx = f->ctx;
	const char *pk;
	json_t *idx, *rec, *arr;
	char a[72];

	if (!ctx->linkable || f->key_col < 0) {
		json_decref(o);		/* already reported */
		return;
	}
	pk = f->cell[f->key_col];
	if ((idx = json_object_get(ctx->bykey, pk)) == NULL) {
		csvin_error(&ctx->e, "%s line %ld: %s '%s' matches no record "
		    "in %s", f->name, f->row_line, f->key_name,
		    csvin_show(pk, a), ctx->main_name);
		json_decref(o);
		return;
	}
	rec = json_object_get(json_array_get(ctx->res,
	    (size_t)json_integer_value(idx)), "record");
	if ((arr = json_object_get(rec, f->group)) == NULL) {
		if ((arr = json_array()) == NULL ||
		    json_object_set_new(rec, f->group, arr) != 0) {
			ctx->oom = 1;
			json_decref(o);
			return;
		}
	}
	if (json_array_append_new(arr, o) != 0)
		ctx->oom = 1;
}

/* A data row: skipped when empty, else checked and made an object. */
static void
csvin_data_row(struct csvin_file *f)
{
	struct csvin_ctx *ctx = f->ctx;
	json_t *o;
	size_t i;

	/* spreadsheets pad with rows of empty cells: they hold nothing */
	for (i = 0; i < f->n_cells && f->cell_len[i] == 0; i++)
		;
	if (i == f->n_cells)
		return;
	if (f->n_rows == CSVIN_MAX_ROWS) {
		csvin_error(&ctx->e, "%s line %ld: more than %d rows", f->name,
		    f->row_line, CSVIN_MAX_ROWS);
		f->stop = 1;
		return;
	}
	/* Every kept cell costs memory as JSON: bound them all together. */
	if (ctx->cells + f->n_cells > CSVIN_MAX_CELLS) {
		csvin_error(&ctx->e, "%s line %ld: more than %d cells in the "
		    "import; split it into smaller files", f->name, f->row_line,
		    CSVIN_MAX_CELLS);
		f->stop = 1;
		return;
	}
	ctx->cells += f->n_cells;
	f->n_rows++;
	if (f->n_cells != f->n_cols) {
		csvin_error(&ctx->e, "%s line %ld: %zu fields, header has %zu",
		    f->name, f->row_line, f->n_cells, f->n_cols);
		return;
	}
	if (f->names == NULL)
		return;			/* out of memory, noted */
	if ((o = json_object()) == NULL) {
		ctx->oom = 1;
		return;
	}
	for (i = 0; i < f->n_cols; i++) {
		if (f->names[i] == NULL)
			continue;
		if (f->names[i][0] == '\0') {
			if (f->cell_len[i] > 0)
				csvin_error(&ctx->e, "%s line %ld: a value in "
				    "column %zu, which has no name", f->name,
				    f->row_line, i + 1);
			continue;
		}
		if (json_object_set_new(o, f->names[i], json_stringn(
		    f->cell[i], f->cell_len[i])) != 0)
			ctx->oom = 1;
	}
	if (f->group == NULL)
		csvin_main_row(f, o);
	else
		csvin_repeat_row(f, o);
}

static void
csvin_cells_free(struct csvin_file *f)
{
	for (size_t i = 0; i < f->n_cells; i++)
		free(f->cell[i]);
	f->n_cells = 0;
}

/* libcsv's field callback: one more cell of the current row. */
static void
csvin_field(void *s, size_t len, void *arg)
{
	struct csvin_file *f = arg;
	char *c;

	if (f->stop)
		return;
	if (f->n_cells == CSVIN_MAX_COLS) {
		csvin_error(&f->ctx->e, "%s line %ld: more than %d columns",
		    f->name, f->row_line, CSVIN_MAX_COLS);
		f->stop = 1;
		return;
	}
	if (len > CSVIN_MAX_FIELD) {
		csvin_error(&f->ctx->e, "%s line %ld: column %zu is longer "
		    "than %d bytes", f->name, f->row_line, f->n_cells + 1,
		    CSVIN_MAX_FIELD);
		f->stop = 1;
		return;
	}
	if ((c = malloc(len + 1)) == NULL) {
		f->ctx->oom = 1;
		f->stop = 1;
		return;
	}
	if (len > 0)
		memcpy(c, s, len);
	c[len] = '\0';
	f->cell[f->n_cells] = c;
	f->cell_len[f->n_cells++] = len;
}

/* libcsv's row callback: the header, or a data row. */
static void
csvin_row(int term, void *arg)
{
	struct csvin_file *f = arg;

	if (!f->stop) {
		if (f->have_header)
			csvin_data_row(f);
		else
			csvin_header(f);
	}
	csvin_cells_free(f);
	/* a next row on this line follows a bare CR */
	f->row_line = f->line;
}

static void
csvin_parse_error(struct csvin_file *f, struct csv_parser *p, int at_end)
{
	if (csv_error(p) == CSV_ENOMEM &&
	    csv_get_buffer_size(p) >= CSVIN_MAX_FIELD)
		csvin_error(&f->ctx->e, "%s line %ld: column %zu is longer "
		    "than %d bytes", f->name, f->row_line, f->n_cells + 1,
		    CSVIN_MAX_FIELD);
	else
		csvin_error(&f->ctx->e, "%s line %ld: %s%s", f->name,
		    f->row_line, csv_strerror(csv_error(p)), at_end ?
		    " (a quote is not closed)" : "");
	f->stop = 1;
}

/*
 * Reads one file through the row callbacks.  Returns 0 when the whole
 * file was read (it may still have had errors), -1 when it was not.
 * The caller frees with csvin_file_free(), also on failure.
 */
static int
csvin_file_read(struct csvin_ctx *ctx, struct csvin_file *f,
    const char *path, const char *group)
{
	struct csv_parser p;
	char *data, *s, *end;
	size_t len, bad;

	memset(f, 0, sizeof(*f));
	f->ctx = ctx;
	f->group = group;
	f->line = f->row_line = 1;
	f->key_col = f->id_col = -1;
	f->key_name = "";
	if ((f->copy = strdup(path)) == NULL) {
		ctx->oom = 1;
		return -1;
	}
	f->name = basename(f->copy);
	if ((data = util_read_file(path, CSVIN_MAX_BYTES, &len)) == NULL) {
		if (errno == EFBIG)
			csvin_error(&ctx->e, "%s: larger than %d MiB", path,
			    CSVIN_MAX_BYTES >> 20);
		else
			csvin_error(&ctx->e, "%s: %s", path, errno == EINVAL ?
			    "not a regular file" : strerror(errno));
		return -1;
	}
	s = data;
	end = data + len;
	if (len >= 2 && (memcmp(s, "\xff\xfe", 2) == 0 ||
	    memcmp(s, "\xfe\xff", 2) == 0)) {
		csvin_error(&ctx->e, "%s: UTF-16 text; save it as CSV UTF-8",
		    f->name);
		free(data);
		return -1;
	}
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	len = (size_t)(end - s);
	if ((bad = csvin_utf8_bad((unsigned char *)s, len)) < len) {
		long line = 1;

		for (char *q = s; q < s + bad; q++)
			line += *q == '\n';
		csvin_error(&ctx->e, "%s line %ld: not UTF-8 text; save the "
		    "file as CSV UTF-8", f->name, line);
		free(data);
		return -1;
	}

	csv_init(&p, CSV_STRICT | CSV_APPEND_NULL | CSV_STRICT_FINI);
	csv_set_realloc_func(&p, csvin_realloc);
	while (s < end && !f->stop) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) + 1 : (size_t)(end - s);

		/*
		 * pstate 0 is libcsv's ROW_NOT_BEGUN: between rows at the
		 * start of a line, the next row (if any) starts on it.
		 */
		if (p.pstate == 0)
			f->row_line = f->line;
		if (csv_parse(&p, s, n, csvin_field, csvin_row, f) != n) {
			csvin_parse_error(f, &p, 0);
			break;
		}
		s += n;
		if (nl)
			f->line++;
	}
	if (!f->stop && csv_fini(&p, csvin_field, csvin_row, f) != 0)
		csvin_parse_error(f, &p, 1);
	csv_free(&p);
	csvin_cells_free(f);
	free(data);
	if (!f->stop && !f->have_header) {
		csvin_error(&ctx->e, "%s: no header row", f->name);
		return -1;
	}
	return f->stop ? -1 : 0;
}

static void
csvin_file_free(struct csvin_file *f)
{
	if (f->names != NULL)
		for (size_t i = 0; i < f->n_cols; i++)
			free(f->names[i]);
	free(f->names);
	free(f->copy);
	f->names = NULL;
	f->copy = NULL;
}

/* Checks the repeat group names the caller gave. */
static void
csvin_check_groups(struct csvin_ctx *ctx)
{
	char a[72];

	for (size_t r = 0; r < ctx->n_reps; r++) {
		const char *g = ctx->reps[r].group;

		if (g == NULL || g[0] == '\0' || ctx->reps[r].path == NULL) {
			csvin_error(&ctx->e, "repeat %zu: no group name or "
			    "file", r + 1);
			continue;
		}
		if (csvin_utf8_bad((const unsigned char *)g, strlen(g)) <
		    strlen(g) || strcmp(g, "_id") == 0) {
			csvin_error(&ctx->e, "repeat %zu: not a group name",
			    r + 1);
			continue;
		}
		for (size_t k = 0; k < r; k++)
			if (ctx->reps[k].group != NULL &&
			    strcmp(ctx->reps[k].group, g) == 0) {
				csvin_error(&ctx->e, "repeat group '%s' given "
				    "twice", csvin_show(g, a));
				break;
			}
	}
}

int
csvin_read(const char *main_path, const struct csvin_repeat *reps,
    size_t n_reps, json_t **out, char *err, size_t errlen)
{
	struct csvin_ctx ctx;
	struct csvin_file *mf = NULL, *rf = NULL;
	int main_read;

	*out = NULL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.e.buf = err;
	ctx.e.len = errlen;
	if (errlen > 0)
		err[0] = '\0';
	ctx.reps = reps;
	ctx.n_reps = n_reps;
	ctx.res = json_array();
	ctx.bykey = json_object();
	mf = calloc(1, sizeof(*mf));
	rf = calloc(1, sizeof(*rf));
	if (ctx.res == NULL || ctx.bykey == NULL || mf == NULL || rf == NULL) {
		ctx.oom = 1;
		goto done;
	}
	csvin_check_groups(&ctx);
	if (ctx.e.n > 0)
		goto done;

	main_read = csvin_file_read(&ctx, mf, main_path, NULL) == 0;
	ctx.main_name = mf->name ? mf->name : main_path;
	/* repeat rows are linked only to a main file without errors;
	   else their files are still checked, on their own */
	ctx.linkable = main_read && mf->key_col >= 0 && ctx.e.n == 0 &&
	    !ctx.oom;
	for (size_t r = 0; r < n_reps; r++) {
		csvin_file_read(&ctx, rf, reps[r].path, reps[r].group);
		csvin_file_free(rf);
	}
done:
	if (ctx.oom)
		csvin_error(&ctx.e, "out of memory");
	if (ctx.e.n > CSVIN_MAX_ERRORS) {
		char more[48];
		int w = snprintf(more, sizeof(more), "... and %d more "
		    "errors\n", ctx.e.n - CSVIN_MAX_ERRORS);

		if (w > 0 && ctx.e.used + (size_t)w < ctx.e.len)
			memcpy(ctx.e.buf + ctx.e.used, more, (size_t)w + 1);
	}
	if (mf != NULL)
		csvin_file_free(mf);
	free(mf);
	free(rf);
	json_decref(ctx.bykey);
	if (ctx.e.n > 0) {
		json_decref(ctx.res);
		return -1;
	}
	*out = ctx.res;
	return 0;
}
