/* export.c: see export.h.  Linked into collectctl and the tests only. */
#include "collector/open/export.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "common/cli.h"
#include "common/util.h"
#include "form/form.h"
#include "collector/collector.h"
#include "collector/cstore.h"
#include "collector/csrv.h"
#include "collector/open/ropen.h"

#define X_CMD "collectctl export"
/* Records that did not open whose reasons are printed; the rest counted. */
#define X_REASONS 20
/* A definition has at most 4,000 survey rows (form_impl.h FORM_MAX_ROWS). */
#define X_MAX_ROWS 4000
/* A select_multiple is split into 0/1 columns up to this many choices (a
   2,000-place list would be 2,000 columns: it stays one cell). */
#define X_SPLIT_MAX 200
/* An .xlsx sheet's rows and columns (Excel's limits), header included. */
#define X_XLSX_ROWS 1048576
#define X_XLSX_COLS 16384
/* Excel's sheet names: 31 characters at most. */
#define X_SHEET_NAME 31

static const char *const x_meta[] = { "_id", "_version", "_device", "_seq",
    "_created", "_corrected", "_clock", NULL };
static const char *const x_item_meta[] = { "_parent_id", "_index", NULL };

/*
 * What a column shows of a field: its label and, for a select, its list's
 * choices (name to label), in the language asked.  Borrowed from the
 * definitions, which the export keeps until it ends.
 */
struct xinfo {
	const char *label;		/* or NULL */
	int one, multi;			/* select_one, select_multiple */
	json_t *labels;			/* choice name -> label text (owned) */
	json_t *order;			/* choice names in list order (owned) */
};

/* A column: a field (or metadata), or one choice of a select_multiple
   split into 0/1 columns. */
struct xcol {
	const char *name;		/* the field or metadata key */
	const char *choice;		/* a 0/1 column's choice, or NULL */
	const struct xinfo *info;	/* NULL for metadata */
};

/* Columns in order, each once (borrowed from the definitions). */
struct xcols {
	size_t n, cap;
	struct xcol *c;
};

/* How the records are written (export.h). */
struct xopts {
	int labels;			/* labels for codes (headers, choices) */
	const char *lang;		/* their language; NULL: the default */
	int split;			/* select_multiple also as 0/1 columns */
	int bom;			/* CSV starts with a UTF-8 byte order mark */
	int xlsx;			/* one .xlsx, a sheet per table */
};

/*
 * One output file.  files[0] is F.csv, files[1] F.jsonl, then one F-R.csv
 * per repeat group R.  tmp exists (and is ours to unlink) while fp is open
 * or `made` is set, until it is renamed over path.
 */
struct xfile {
	const char *repeat;		/* the group of an F-R.csv, or NULL */
	struct xcols cols;		/* CSV columns; none for the JSONL */
	char tmp[PATH_MAX], path[PATH_MAX];
	FILE *fp;
	lxw_worksheet *ws;		/* --xlsx: the table's sheet */
	unsigned long row;		/* --xlsx: the next row */
	int werr;			/* --xlsx: a cell was refused */
	int made;
	unsigned long rows;
};

/* A field of a definition: at top level (rep "") or in repeat rep. */
struct xfield {
	const char *rep, *name;
	int group;			/* a begin_repeat row */
	const json_t *row, *def;	/* its survey row, its definition */
};

struct xport {
	const char *form, *out;
	struct ropen *ro;
	struct cstore *cs;
	char **versions;		/* of F that have records, newest first */
	size_t n_versions, cap_versions;
	struct xfile *files;
	size_t n_files;
	unsigned long records, failed, late;
	int werr;			/* a write failed: nothing is renamed */
	json_t **defs;			/* definitions the columns point into */
	size_t n_defs;
	struct xopts opt;
	struct xinfo **infos;		/* every column's field's, owned */
	size_t n_infos;
	lxw_workbook *wb;		/* --xlsx: written into files[0].tmp */
};

int
export_csv_field(FILE *fp, const char *s, int text)
{
	int quote = strpbrk(s, ",\"\r\n") != NULL;

	if (quote)
		putc('"', fp);
	/* OWASP: what a spreadsheet would take for a formula starts so. */
	if (text && *s != '\0' && strchr("=+-@\t\r", *s) != NULL)
		putc('\'', fp);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', fp);
		putc(*s, fp);
	}
	if (quote)
		putc('"', fp);
	return ferror(fp) ? -1 : 0;
}

void
export_real(double d, char out[32])
{
	for (int p = 1; p <= 17; p++) {
		snprintf(out, 32, "%.*g", p, d);
		if (strtod(out, NULL) == d)
			return;
	}
}

static void
x_usage(void)
{
	fprintf(stderr, "usage: collectctl -d CDIR export --key FILE --form F "
	    "--out DIR [--labels [--lang LANGUAGE]] [--split-multiple] "
	    "[--bom] [--xlsx]\n");
}

/* Adds a column unless it is there already.  0 or -1 (out of memory). */
static int
x_col_put(struct xcols *c, const char *name, const char *choice,
    const struct xinfo *info)
{
	struct xcol *p;

	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->c[i].name, name) == 0 && (c->c[i].choice ==
		    NULL) == (choice == NULL) && (choice == NULL ||
		    strcmp(c->c[i].choice, choice) == 0))
			return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;

		if ((p = realloc(c->c, cap * sizeof(*p))) == NULL)
			return -1;
		c->c = p;
		c->cap = cap;
	}
	c->c[c->n].name = name;
	c->c[c->n].choice = choice;
	c->c[c->n++].info = info;
	return 0;
}

static int
x_col_add(struct xcols *c, const char *name)
{
	return x_col_put(c, name, NULL, NULL);
}

const char *
export_text(const json_t *row, const json_t *def, const char *col,
    const char *lang)
{
	const char *def_lang = json_string_value(json_object_get(def,
	    "default_language"));
	const char *langs[2] = { lang, def_lang };
	char key[160];
	const char *v;

	for (size_t i = 0; i < 2; i++) {
		if (langs[i] == NULL)
			continue;
		snprintf(key, sizeof(key), "%s::%s", col, langs[i]);
		if ((v = json_string_value(json_object_get(row, key))) != NULL)
			return v;
	}
	return json_string_value(json_object_get(row, col));
}

const char *
export_select_list(const char *type, int *multi)
{
	const char *sp;

	if (type == NULL || strncmp(type, "select", 6) != 0 ||
	    (sp = strrchr(type, ' ')) == NULL || sp[1] == '\0' ||
	    strstr(type, "_external") || strstr(type, "from_file"))
		return NULL;
	*multi = strstr(type, "multiple") != NULL ||
	    strstr(type, "all that apply") != NULL;
	return sp + 1;
}

/* What a column of field fs shows: made once per column, kept in x. */
static struct xinfo *
x_info(struct xport *x, const struct xfield *fs)
{
	struct xinfo *in = calloc(1, sizeof(*in)), **p;
	const char *list;
	int multi = 0;

	if (in == NULL || (p = realloc(x->infos, (x->n_infos + 1) *
	    sizeof(*p))) == NULL) {
		free(in);
		return NULL;
	}
	x->infos = p;
	x->infos[x->n_infos++] = in;
	in->label = export_text(fs->row, fs->def, "label", x->opt.lang);
	if ((list = export_select_list(json_string_value(json_object_get(
	    fs->row, "type")), &multi)) != NULL) {
		const json_t *choices = json_object_get(fs->def, "choices");
		json_t *c;
		size_t i;

		in->one = !multi;
		in->multi = multi;
		in->labels = json_object();
		in->order = json_array();
		if (in->labels == NULL || in->order == NULL)
			return NULL;
		json_array_foreach(choices, i, c) {
			const char *ln = json_string_value(json_object_get(c,
			    "list_name"));
			const char *name = json_string_value(json_object_get(c,
			    "name"));
			const char *lab;

			if (ln == NULL || name == NULL || strcmp(ln, list) != 0 ||
			    json_object_get(in->labels, name) != NULL)
				continue;
			lab = export_text(c, fs->def, "label", x->opt.lang);
			if (json_object_set_new(in->labels, name, json_string(
			    lab ? lab : name)) != 0 || json_array_append_new(
			    in->order, json_string(name)) != 0)
				return NULL;
		}
	}
	return in;
}

/* A field's columns: itself, and with --split-multiple one 0/1 column per
   choice of a select_multiple (of a list small enough). */
static int
x_field_cols(struct xport *x, struct xcols *c, const struct xfield *fs)
{
	struct xinfo *in = x_info(x, fs);
	size_t i;
	json_t *v;

	if (in == NULL || x_col_put(c, fs->name, NULL, in) != 0)
		return -1;
	if (!x->opt.split || !in->multi || json_array_size(in->order) >
	    X_SPLIT_MAX)
		return 0;
	json_array_foreach(in->order, i, v)
		if (x_col_put(c, fs->name, json_string_value(v), in) != 0)
			return -1;
	return 0;
}

/* The fields of a definition in survey order (at most max); borrowed
   from the definition, which x keeps until the export ends. */
static size_t
x_fields(struct xport *x, const struct form *f, struct xfield *out,
    size_t max)
{
	json_t *def = form_definition(f), **defs, *survey, *row;
	const char *rep = "";
	size_t i, n = 0;

	if (def == NULL || (defs = realloc(x->defs, (x->n_defs + 1) *
	    sizeof(*defs))) == NULL) {
		json_decref(def);
		return 0;
	}
	x->defs = defs;
	x->defs[x->n_defs++] = def;
	survey = json_object_get(def, "survey");

	json_array_foreach(survey, i, row) {
		const char *type = json_string_value(json_object_get(row,
		    "type"));
		const char *name = json_string_value(json_object_get(row,
		    "name"));
		int group;

		if (type == NULL)
			continue;
		if (strcmp(type, "end_repeat") == 0 ||
		    strcmp(type, "end repeat") == 0) {
			rep = "";
			continue;
		}
		if (name == NULL || *name == '\0' || n == max)
			continue;
		group = strcmp(type, "begin_repeat") == 0 ||
		    strcmp(type, "begin repeat") == 0;
		out[n].rep = rep;
		out[n].name = name;
		out[n].row = row;
		out[n].def = def;
		out[n++].group = group;
		if (group)
			rep = name;
	}
	return n;
}

static int
x_has_version(const struct xport *x, const char *v)
{
	for (size_t i = 0; i < x->n_versions; i++)
		if (strcmp(x->versions[i], v) == 0)
			return 1;
	return 0;
}

/* Pass one: the versions of F that have records, without opening any. */
static int
x_scan(void *arg, const char *device_id, const Field__Sync__SealedRecord *r)
{
	struct xport *x = arg;
	char **p;

	if (r->form_id == NULL || r->form_version == NULL ||
	    strcmp(r->form_id, x->form) != 0 ||
	    x_has_version(x, r->form_version))
		return 0;
	if (x->n_versions == x->cap_versions) {
		size_t cap = x->cap_versions ? x->cap_versions * 2 : 8;

		if ((p = realloc(x->versions, cap * sizeof(*p))) == NULL)
			return -1;
		x->versions = p;
		x->cap_versions = cap;
	}
	if ((x->versions[x->n_versions] = strdup(r->form_version)) == NULL)
		return -1;
	x->n_versions++;
	return 0;
}

static int
x_newest_first(const void *a, const void *b)
{
	return form_version_cmp(*(char *const *)b, *(char *const *)a);
}

static struct xfile *
x_table(struct xport *x, const char *repeat)
{
	for (size_t i = 2; i < x->n_files; i++)
		if (strcmp(x->files[i].repeat, repeat) == 0)
			return &x->files[i];
	return NULL;
}

/* A new F-R.csv for repeat group name.  0 or -1 (out of memory). */
static int
x_table_add(struct xport *x, const char *name)
{
	struct xfile *p;

	if ((p = realloc(x->files, (x->n_files + 1) * sizeof(*p))) == NULL)
		return -1;
	x->files = p;
	p = &x->files[x->n_files++];
	memset(p, 0, sizeof(*p));
	p->repeat = name;
	for (int i = 0; x_item_meta[i]; i++)
		if (x_col_add(&p->cols, x_item_meta[i]) != 0)
			return -1;
	return 0;
}

static int
x_field_in(const struct xfield *fs, size_t n, const struct xfield *f)
{
	for (size_t i = 0; i < n; i++)
		if (fs[i].group == f->group && strcmp(fs[i].name, f->name) == 0
		    && strcmp(fs[i].rep, f->rep) == 0)
			return 1;
	return 0;
}

/*
 * The columns: the union of the fields of the versions that have records
 * (the current version when none has), in the current version's survey
 * order, then those only older versions had, newest version first.
 */
static int
x_columns(struct xport *x, const struct form_catalog *cat,
    const struct form *cur)
{
	const struct form **order;
	struct xfield *have, fs[X_MAX_ROWS];
	size_t n_order = 0, n_have = 0, n;
	int rc = -1;

	order = calloc(x->n_versions + 1, sizeof(*order));
	have = calloc((x->n_versions + 1) * X_MAX_ROWS, sizeof(*have));
	if (order == NULL || have == NULL) {
		fprintf(stderr, X_CMD ": out of memory\n");
		goto out;
	}
	order[n_order++] = cur;
	for (size_t i = 0; i < x->n_versions; i++) {
		const struct form *f = form_catalog_get(cat, x->form,
		    x->versions[i]);

		if (f == NULL) {
			fprintf(stderr, X_CMD ": the collector holds records of "
			    "%s version %s, which its forms do not define; put "
			    "that version's definition in its forms folder\n",
			    x->form, x->versions[i]);
			goto out;
		}
		n_have += x_fields(x, f, have + n_have, X_MAX_ROWS);
		if (f != cur)
			order[n_order++] = f;
	}
	if (x->n_versions == 0)
		n_have = x_fields(x, cur, have, X_MAX_ROWS);
	for (size_t v = 0; v < n_order; v++) {
		n = x_fields(x, order[v], fs, X_MAX_ROWS);
		for (size_t i = 0; i < n; i++) {
			struct xfile *t = &x->files[0];

			if (!x_field_in(have, n_have, &fs[i]))
				continue;
			if (fs[i].group) {
				if (x_table(x, fs[i].name) == NULL &&
				    x_table_add(x, fs[i].name) != 0)
					goto oom;
				continue;
			}
			if (fs[i].rep[0] && (t = x_table(x, fs[i].rep)) == NULL)
				continue;
			if (x_field_cols(x, &t->cols, &fs[i]) != 0)
				goto oom;
		}
	}
	rc = 0;
	goto out;
oom:
	fprintf(stderr, X_CMD ": out of memory\n");
out:
	free(have);
	free(order);
	return rc;
}

/* Creates xf's temporary file DIR/.NAME.tmp, mode 0600.  0 or -1/errno. */
static int
x_create(struct xport *x, struct xfile *xf, const char *suffix)
{
	int fd, saved;

	if (snprintf(xf->path, sizeof(xf->path), "%s/%s%s%s%s", x->out,
	    x->form, xf->repeat ? "-" : "", xf->repeat ? xf->repeat : "",
	    suffix) >= (int)sizeof(xf->path) ||
	    snprintf(xf->tmp, sizeof(xf->tmp), "%s/.%s.tmp", x->out,
	    xf->path + strlen(x->out) + 1) >= (int)sizeof(xf->tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(xf->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	xf->made = 1;
	if (fchmod(fd, 0600) != 0 || (xf->fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return 0;
}

enum xkind { XK_TEXT, XK_NUM };

/*
 * One cell of xf's current row, column col: CSV text (a formula-like text
 * prefixed, see export.h), or an .xlsx string or number (never a
 * formula, so never prefixed).  An empty value is an empty cell.
 */
static int
x_put(struct xfile *xf, size_t col, const char *s, enum xkind kind)
{
	lxw_error e = LXW_NO_ERROR;

	if (xf->ws == NULL) {
		if (col > 0)
			putc(',', xf->fp);
		return export_csv_field(xf->fp, s, kind == XK_TEXT);
	}
	if (*s == '\0')
		return 0;
	if (xf->row >= X_XLSX_ROWS || col >= X_XLSX_COLS) {
		xf->werr = 1;
		return -1;
	}
	if (kind == XK_NUM)
		e = worksheet_write_number(xf->ws, (lxw_row_t)xf->row,
		    (lxw_col_t)col, strtod(s, NULL), NULL);
	else
		e = worksheet_write_string(xf->ws, (lxw_row_t)xf->row,
		    (lxw_col_t)col, s, NULL);
	if (e != LXW_NO_ERROR) {
		xf->werr = 1;
		return -1;
	}
	return 0;
}

static int
x_endrow(struct xfile *xf)
{
	if (xf->ws != NULL) {
		xf->row++;
		return 0;
	}
	fputs(EXPORT_CSV_EOL, xf->fp);
	return ferror(xf->fp) ? -1 : 0;
}

/* The header row: names (codes), or with --labels the fields' labels; a
   0/1 column is "field/choice" (as Kobo names them). */
static int
x_header(const struct xport *x, struct xfile *xf)
{
	char buf[1024];

	for (size_t i = 0; i < xf->cols.n; i++) {
		const struct xcol *c = &xf->cols.c[i];
		const char *head = c->name, *ch = c->choice;

		if (x->opt.labels && c->info && c->info->label)
			head = c->info->label;
		if (ch && x->opt.labels)
			ch = json_string_value(json_object_get(c->info->labels,
			    ch));
		if (ch) {
			snprintf(buf, sizeof(buf), "%s/%s", head, ch);
			head = buf;
		}
		if (x_put(xf, i, head, XK_TEXT) != 0)
			return -1;
	}
	return x_endrow(xf);
}

/* A choice's label (with labels asked), or its name. */
static const char *
x_choice_text(const struct xport *x, const struct xinfo *in,
    const char *name)
{
	const char *l = x->opt.labels && in ? json_string_value(
	    json_object_get(in->labels, name)) : NULL;

	return l ? l : name;
}

/* A select_multiple: its names separated by spaces (ODK's form), or its
   labels separated by "; " (labels have spaces); anything else (a
   repeat's items, out of place) an empty cell. */
static int
x_choices(const struct xport *x, struct xfile *xf, size_t col,
    const struct xinfo *in, const json_t *a)
{
	const char *sep = x->opt.labels && in ? "; " : " ";
	size_t i, len = 1;
	json_t *v;
	char *s;
	int rc;

	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return x_put(xf, col, "", XK_TEXT);
		len += strlen(x_choice_text(x, in, json_string_value(v))) +
		    strlen(sep);
	}
	if ((s = malloc(len)) == NULL)
		return -1;
	s[0] = '\0';
	json_array_foreach(a, i, v) {
		if (i > 0)
			strcat(s, sep);
		strcat(s, x_choice_text(x, in, json_string_value(v)));
	}
	rc = x_put(xf, col, s, XK_TEXT);
	free(s);
	return rc;
}

/* A 0/1 column: whether the answer holds the choice; empty when the
   question was not answered. */
static int
x_choice_flag(struct xfile *xf, size_t col, const char *choice,
    const json_t *a)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return x_put(xf, col, "", XK_NUM);
	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v),
		    choice) == 0)
			return x_put(xf, col, "1", XK_NUM);
	return x_put(xf, col, "0", XK_NUM);
}

/* A geopoint object as "lat lon [alt [acc]]", or "" when it is not one. */
static void
x_point(const json_t *o, char *out, size_t len)
{
	const json_t *lat = json_object_get(o, "latitude");
	const json_t *lon = json_object_get(o, "longitude");
	const json_t *alt = json_object_get(o, "altitude");
	const json_t *acc = json_object_get(o, "accuracy");
	char a[32], b[32], c[32] = "0", d[32];

	out[0] = '\0';
	if (!json_is_number(lat) || !json_is_number(lon))
		return;
	export_real(json_number_value(lat), a);
	export_real(json_number_value(lon), b);
	if (json_is_number(alt))
		export_real(json_number_value(alt), c);
	if (json_is_number(acc)) {
		export_real(json_number_value(acc), d);
		snprintf(out, len, "%s %s %s %s", a, b, c, d);
	} else if (json_is_number(alt))
		snprintf(out, len, "%s %s %s", a, b, c);
	else
		snprintf(out, len, "%s %s", a, b);
}

/* One cell from a value as ropen_json gives it (NULL: absent). */
static int
x_cell(const struct xport *x, struct xfile *xf, size_t col,
    const struct xinfo *in, const json_t *v)
{
	char num[160];
	enum xkind kind = XK_NUM;

	num[0] = '\0';
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		return x_put(xf, col, in && in->one ? x_choice_text(x, in,
		    json_string_value(v)) : json_string_value(v), XK_TEXT);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		export_real(json_real_value(v), num);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		snprintf(num, sizeof(num), "%s", json_is_true(v) ? "true" :
		    "false");
		kind = XK_TEXT;
		break;
	case JSON_ARRAY:
		return x_choices(x, xf, col, in, v);
	case JSON_OBJECT:
		x_point(v, num, sizeof(num));
		kind = XK_TEXT;		/* "lat lon": text in a sheet */
		break;
	default:
		break;
	}
	/* numbers and geopoints are never prefixed (export.h) */
	if (xf->ws == NULL)
		kind = XK_NUM;
	return x_put(xf, col, num, kind);
}

/* The cells of columns from..n of one row, and its end. */
static int
x_row(const struct xport *x, struct xfile *xf, size_t from, const json_t *o)
{
	for (size_t i = from; i < xf->cols.n; i++) {
		const struct xcol *c = &xf->cols.c[i];
		const json_t *v = json_object_get(o, c->name);

		if ((c->choice ? x_choice_flag(xf, i, c->choice, v) :
		    x_cell(x, xf, i, c->info, v)) != 0)
			return -1;
	}
	xf->rows++;
	return x_endrow(xf);
}

/* An opened record into every file. */
static int
x_write(struct xport *x, const json_t *o)
{
	FILE *js = x->files[1].fp;
	char idx[24];

	if (json_dumpf(o, js, JSON_COMPACT | JSON_ENSURE_ASCII) != 0 ||
	    putc('\n', js) == EOF || x_row(x, &x->files[0], 0, o) != 0)
		return -1;
	for (size_t t = 2; t < x->n_files; t++) {
		struct xfile *xf = &x->files[t];
		const json_t *items = json_object_get(o, xf->repeat), *item;
		size_t k;

		if (!json_is_array(items))
			continue;
		json_array_foreach((json_t *)items, k, item) {
			snprintf(idx, sizeof(idx), "%zu", k + 1);
			if (x_cell(x, xf, 0, NULL, json_object_get(o,
			    "_id")) != 0 || x_put(xf, 1, idx, XK_NUM) != 0 ||
			    x_row(x, xf, 2, item) != 0)
				return -1;
		}
	}
	x->files[1].rows++;
	return 0;
}

/* Pass two: opens each record of F and writes it. */
static int
x_record(void *arg, const char *device_id, const Field__Sync__SealedRecord *r)
{
	struct xport *x = arg;
	Field__Record *rec;
	int64_t created, corrected = -1;
	char why[160];
	json_t *o = NULL;
	int rc = 0;

	if (r->form_id == NULL || r->form_version == NULL ||
	    strcmp(r->form_id, x->form) != 0)
		return 0;
	/* Stored since pass one, of a version the columns did not see. */
	if (!x_has_version(x, r->form_version)) {
		x->late++;
		return 0;
	}
	if (ropen_sealed(x->ro, device_id, r, &rec, why, sizeof(why)) != 0)
		goto failed;
	if (cstore_record_times(x->cs, device_id, r->seq, &created,
	    &corrected) != 1)
		corrected = -1;
	o = ropen_json(rec, corrected);
	field__record__free_unpacked(rec, NULL);
	if (o == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		goto failed;
	}
	/* After a failure only the reasons matter: nothing will be kept. */
	if (x->failed == 0 && (rc = x_write(x, o)) != 0)
		x->werr = errno ? errno : EIO;
	json_decref(o);
	x->records++;
	return rc;
failed:
	if (x->failed++ < X_REASONS)
		fprintf(stderr, "device %s seq %" PRIu64 ": %s\n", device_id,
		    r->seq, why);
	return 0;
}

/* Closes every temporary file and removes it. */
static void
x_discard(struct xport *x)
{
	if (x->wb != NULL) {
		/* it writes what it has: removed below with the rest */
		workbook_close(x->wb);
		x->wb = NULL;
	}
	for (size_t i = 0; i < x->n_files; i++) {
		struct xfile *xf = &x->files[i];

		if (xf->fp)
			fclose(xf->fp);
		xf->fp = NULL;
		if (xf->made)
			unlink(xf->tmp);
		xf->made = 0;
	}
}

/* Makes every file durable, then renames them into place. */
static int
x_commit(struct xport *x)
{
	int fd;

	if (x->wb != NULL) {
		/* the workbook is written into files[0]'s temporary file,
		   which x_create made 0600 and left open for the fsync */
		lxw_error e = workbook_close(x->wb);

		x->wb = NULL;
		if (e != LXW_NO_ERROR) {
			fprintf(stderr, X_CMD ": %s: %s; nothing written\n",
			    x->files[0].tmp, lxw_strerror(e));
			return -1;
		}
	}
	for (size_t i = 0; i < x->n_files; i++) {
		struct xfile *xf = &x->files[i];
		int rc;

		if (xf->fp == NULL)
			continue;	/* an .xlsx sheet: in files[0] */
		rc = fflush(xf->fp) != 0 || ferror(xf->fp);

		if (rc == 0)
			rc = fsync(fileno(xf->fp));
		if (fclose(xf->fp) != 0)
			rc = -1;
		xf->fp = NULL;
		if (rc != 0) {
			fprintf(stderr, X_CMD ": %s: %s; nothing written\n",
			    xf->tmp, strerror(errno ? errno : EIO));
			return -1;
		}
	}
	for (size_t i = 0; i < x->n_files; i++) {
		struct xfile *xf = &x->files[i];

		if (!xf->made)
			continue;
		if (rename(xf->tmp, xf->path) != 0) {
			fprintf(stderr, X_CMD ": %s: %s\n", xf->path,
			    strerror(errno));
			return -1;
		}
		xf->made = 0;
	}
	if ((fd = open(x->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(fd) != 0) {
		fprintf(stderr, X_CMD ": %s: %s\n", x->out, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The collector's store, and the catalogue with form F in it. */
static int
x_setup(struct xport *x, const char *cdir, const char *key,
    const struct form **cur)
{
	struct form_catalog *cat;
	char path[PATH_MAX], err[1024];

	if (ropen_new(key, &x->ro, err, sizeof(err)) != 0) {
		fprintf(stderr, X_CMD ": --key: %s\n", err);
		return -1;
	}
	if (collector_path(path, sizeof(path), cdir, "ca.crt") != 0 ||
	    access(path, F_OK) != 0) {
		fprintf(stderr, X_CMD ": no collector in %s\n", cdir);
		return -1;
	}
	if (ropen_load_collector_forms(x->ro, cdir, err, sizeof(err)) != 0) {
		fprintf(stderr, X_CMD ": %s\n", err);
		return -1;
	}
	cat = ropen_catalog(x->ro);
	if ((*cur = form_catalog_get(cat, x->form, NULL)) == NULL) {
		const struct form *f;

		fprintf(stderr, X_CMD ": unknown form \"%s\"; the collector's "
		    "forms are:", x->form);
		for (size_t i = 0; (f = form_catalog_nth(cat, i)) != NULL; i++)
			fprintf(stderr, " %s", form_id(f));
		fputc('\n', stderr);
		return -1;
	}
	if (csrv_store_open(cdir, &x->cs, err, sizeof(err)) != 0) {
		fprintf(stderr, X_CMD ": %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * DIR, made 0700 when missing.  top is the highest folder made ("" when
 * none was), so that a failure can take away what it made.
 */
static int
x_outdir(const char *out, char top[PATH_MAX])
{
	struct stat sb;
	size_t n = strlen(out);

	top[0] = '\0';
	if (n >= PATH_MAX) {
		fprintf(stderr, X_CMD ": --out: path too long\n");
		return -1;
	}
	if (stat(out, &sb) != 0) {
		/* The shortest prefix that is missing: util_mkdirs makes it. */
		memcpy(top, out, n + 1);
		for (size_t i = 1; i < n; i++) {
			if (out[i] != '/')
				continue;
			top[i] = '\0';
			if (stat(top, &sb) != 0)
				break;
			top[i] = '/';
		}
		if (util_mkdirs(out, 0700) != 0) {
			fprintf(stderr, X_CMD ": --out %s: %s\n", out,
			    strerror(errno));
			top[0] = '\0';
			return -1;
		}
	}
	if (stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, X_CMD ": --out %s: not a folder\n", out);
		return -1;
	}
	return 0;
}

/* Removes the folders x_outdir made, out and up to top. */
static void
x_unmake(const char *out, const char *top)
{
	char buf[PATH_MAX];
	char *slash;

	if (top[0] == '\0')
		return;
	snprintf(buf, sizeof(buf), "%s", out);
	while (rmdir(buf) == 0 && strcmp(buf, top) != 0 &&
	    (slash = strrchr(buf, '/')) != NULL && slash != buf)
		*slash = '\0';
}

/*
 * --xlsx: the workbook, written into files[0]'s temporary file when the
 * export commits, and a sheet per table: the form's, then one per repeat
 * group, named after them (cut to Excel's 31 characters, made unique).
 * Its working files go in DIR, beside the export, never in /tmp.
 */
static int
x_workbook(struct xport *x)
{
	lxw_workbook_options o = { .constant_memory = LXW_TRUE,
	    .tmpdir = (char *)x->out };
	char name[X_SHEET_NAME + 8];

	if ((x->wb = workbook_new_opt(x->files[0].tmp, &o)) == NULL) {
		fprintf(stderr, X_CMD ": %s: cannot start the workbook\n",
		    x->files[0].tmp);
		return -1;
	}
	for (size_t i = 0; i < x->n_files; i++) {
		struct xfile *xf = &x->files[i];
		const char *base = i == 0 ? x->form : xf->repeat;

		if (i == 1)
			continue;	/* the JSONL */
		snprintf(name, sizeof(name), "%.*s", X_SHEET_NAME, base);
		for (int k = 2; workbook_get_worksheet_by_name(x->wb, name);
		    k++)
			snprintf(name, sizeof(name), "%.*s~%d",
			    X_SHEET_NAME - 4, base, k);
		if ((xf->ws = workbook_add_worksheet(x->wb, name)) == NULL) {
			fprintf(stderr, X_CMD ": sheet %s: cannot add it\n",
			    name);
			return -1;
		}
		if (xf->cols.n > X_XLSX_COLS) {
			fprintf(stderr, X_CMD ": sheet %s: %zu columns, more "
			    "than a sheet holds (%d); export CSV\n", name,
			    xf->cols.n, X_XLSX_COLS);
			return -1;
		}
	}
	return 0;
}

static void
x_summary(const struct xport *x)
{
	printf("exported %lu record%s of %s", x->records, x->records == 1 ?
	    "" : "s", x->form);
	for (size_t i = 2; i < x->n_files; i++)
		printf("%s%lu %s rows", i == 2 ? " (" : ", ", x->files[i].rows,
		    x->files[i].repeat);
	printf("%s to %s\n", x->n_files > 2 ? ")" : "", x->out);
}

/* Adds the languages of row's labels to langs. */
static void
x_langs(const json_t *rows, json_t *langs)
{
	const char *k;
	json_t *row, *v;
	size_t i;

	json_array_foreach(rows, i, row)
		json_object_foreach(row, k, v)
			if (strncmp(k, "label::", 7) == 0)
				json_object_set(langs, k + 7, json_true());
}

/* --lang must be a language the form's labels are in. */
static int
x_lang_check(struct xport *x, const struct form *cur)
{
	json_t *def = form_definition(cur), *langs = json_object(), *v;
	const char *dl = json_string_value(json_object_get(def,
	    "default_language")), *k;
	int ok;

	if (def == NULL || langs == NULL) {
		json_decref(def);
		json_decref(langs);
		fprintf(stderr, X_CMD ": out of memory\n");
		return -1;
	}
	if (dl)
		json_object_set(langs, dl, json_true());
	x_langs(json_object_get(def, "survey"), langs);
	x_langs(json_object_get(def, "choices"), langs);
	ok = json_object_get(langs, x->opt.lang) != NULL;
	if (!ok) {
		fprintf(stderr, X_CMD ": --lang %s: form %s has no labels in "
		    "it; it has:", x->opt.lang, x->form);
		json_object_foreach(langs, k, v)
			fprintf(stderr, " %s", k);
		fputc('\n', stderr);
	}
	json_decref(langs);
	json_decref(def);
	return ok ? 0 : -1;
}

static int
x_run(struct xport *x, const char *cdir, const char *key)
{
	const struct form *cur;
	char top[PATH_MAX] = "";
	int rc;

	if (x_setup(x, cdir, key, &cur) != 0 ||
	    (x->opt.lang && x_lang_check(x, cur) != 0))
		return -1;
	if ((x->files = calloc(2, sizeof(*x->files))) == NULL)
		return -1;
	x->n_files = 2;
	for (int i = 0; x_meta[i]; i++)
		if (x_col_add(&x->files[0].cols, x_meta[i]) != 0)
			return -1;
	if ((rc = cstore_each_record(x->cs, x_scan, x)) != 0) {
		fprintf(stderr, X_CMD ": %s\n", rc < 0 ?
		    cstore_errmsg(x->cs) : "out of memory");
		return -1;
	}
	if (x->n_versions > 1)
		qsort(x->versions, x->n_versions, sizeof(*x->versions),
		    x_newest_first);
	if (x_columns(x, ropen_catalog(x->ro), cur) != 0 ||
	    x_outdir(x->out, top) != 0)
		return -1;
	for (size_t i = 0; i < x->n_files; i++) {
		struct xfile *xf = &x->files[i];

		if (x->opt.xlsx && i > 1)
			continue;	/* a sheet of files[0]'s workbook */
		if (x_create(x, xf, i == 1 ? ".jsonl" : x->opt.xlsx ?
		    ".xlsx" : ".csv") != 0) {
			fprintf(stderr, X_CMD ": cannot write in %s: %s: %s\n",
			    x->out, xf->tmp, strerror(errno));
			goto fail;
		}
		setvbuf(xf->fp, NULL, _IOFBF, 64 * 1024);
		/* Excel reads a CSV as UTF-8 only after this mark */
		if (x->opt.bom && !x->opt.xlsx && i != 1)
			fputs("\xef\xbb\xbf", xf->fp);
	}
	if (x->opt.xlsx && x_workbook(x) != 0)
		goto fail;
	for (size_t i = 0; i < x->n_files; i++)
		if (i != 1 && x_header(x, &x->files[i]) != 0) {
			fprintf(stderr, X_CMD ": writing in %s: %s\n", x->out,
			    strerror(errno ? errno : EIO));
			goto fail;
		}
	errno = 0;
	rc = cstore_each_record(x->cs, x_record, x);
	for (size_t i = 0; i < x->n_files; i++)
		if (x->files[i].werr && rc != 0) {
			fprintf(stderr, X_CMD ": %s: more than %d rows, or a "
			    "cell the sheet refused; export CSV; nothing "
			    "written\n", x->files[i].repeat ? x->files[i].repeat :
			    x->form, X_XLSX_ROWS - 1);
			x->werr = 0;
			rc = 1;
			goto fail;
		}
	if (rc != 0 && x->werr == 0)
		fprintf(stderr, X_CMD ": %s\n", cstore_errmsg(x->cs));
	else if (x->werr != 0)
		fprintf(stderr, X_CMD ": writing in %s: %s; nothing written\n",
		    x->out, strerror(x->werr));
	else if (x->failed != 0) {
		fprintf(stderr, X_CMD ": %lu record%s of %s did not open%s; "
		    "nothing written\n", x->failed, x->failed == 1 ? "" : "s",
		    x->form, x->failed > X_REASONS ? " (the first reasons "
		    "above)" : "");
		rc = -1;
	}
	if (rc != 0 || x_commit(x) != 0)
		goto fail;
	if (x->late)
		fprintf(stderr, X_CMD ": %lu record%s of %s of a new version "
		    "arrived during the export and are not in it; export again "
		    "for them\n", x->late, x->late == 1 ? "" : "s", x->form);
	x_summary(x);
	return 0;
fail:
	x_discard(x);
	x_unmake(x->out, top);	/* rmdir: never a folder that holds a file */
	return -1;
}

int
export_cmd(const char *cdir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "form", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "labels", no_argument, NULL, 'l' },
		{ "lang", required_argument, NULL, 'L' },
		{ "split-multiple", no_argument, NULL, 's' },
		{ "bom", no_argument, NULL, 'b' },
		{ "xlsx", no_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL;
	struct xport x;
	int ch, rc;

	memset(&x, 0, sizeof(x));
	optind = 0;	/* GNU getopt: start afresh for the command */
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		if (ch == 'k')
			key = optarg;
		else if (ch == 'f')
			x.form = optarg;
		else if (ch == 'o')
			x.out = optarg;
		else if (ch == 'l')
			x.opt.labels = 1;
		else if (ch == 'L')
			x.opt.lang = optarg;
		else if (ch == 's')
			x.opt.split = 1;
		else if (ch == 'b')
			x.opt.bom = 1;
		else if (ch == 'x')
			x.opt.xlsx = 1;
		else {
			x_usage();
			return 2;
		}
	}
	cli_operands(argc, argv, optind, 0, 0, "");
	if (cdir == NULL) {
		x_usage();
		return 2;
	}
	if (key == NULL || x.form == NULL || x.out == NULL) {
		fprintf(stderr, X_CMD ": %s\n", key == NULL ? "--key FILE is "
		    "required: the collector's private key (seal.key)" :
		    x.form == NULL ? "--form F is required: the form to export" :
		    "--out DIR is required: the folder to write into");
		x_usage();
		return 2;
	}
	if (x.opt.lang && !x.opt.labels) {
		fprintf(stderr, X_CMD ": --lang is the language of --labels: "
		    "give both\n");
		x_usage();
		return 2;
	}
	if (x.opt.bom && x.opt.xlsx) {
		fprintf(stderr, X_CMD ": --bom is for CSV; an .xlsx needs "
		    "none\n");
		x_usage();
		return 2;
	}
	rc = x_run(&x, cdir, key);
	fflush(stdout);
	x_discard(&x);
	for (size_t i = 0; i < x.n_files; i++)
		free(x.files[i].cols.c);
	for (size_t i = 0; i < x.n_infos; i++) {
		json_decref(x.infos[i]->labels);
		json_decref(x.infos[i]->order);
		free(x.infos[i]);
	}
	free(x.infos);
	free(x.files);
	for (size_t i = 0; i < x.n_versions; i++)
		free(x.versions[i]);
	free(x.versions);
	for (size_t i = 0; i < x.n_defs; i++)
		json_decref(x.defs[i]);
	free(x.defs);
	cstore_close(x.cs);
	ropen_free(x.ro);
	return rc == 0 ? 0 : 1;
}
