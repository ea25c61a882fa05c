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
/* A definition has at most 512 survey rows (proto/forms/README.md). */
#define X_MAX_ROWS 512

static const char *const x_meta[] = { "_id", "_version", "_device", "_seq",
    "_created", "_corrected", "_clock", NULL };
static const char *const x_item_meta[] = { "_parent_id", "_index", NULL };

/* Column names in order, each once (borrowed from the definitions). */
struct xcols {
	size_t n, cap;
	const char **name;
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
	int made;
	unsigned long rows;
};

/* A field of a definition: at top level (rep "") or in repeat rep. */
struct xfield {
	const char *rep, *name;
	int group;			/* a begin_repeat row */
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
	    "--out DIR\n");
}

/* Adds name to c unless it is there already.  0 or -1 (out of memory). */
static int
x_col_add(struct xcols *c, const char *name)
{
	const char **p;

	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;

		if ((p = realloc(c->name, cap * sizeof(*p))) == NULL)
			return -1;
		c->name = p;
		c->cap = cap;
	}
	c->name[c->n++] = name;
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
			if (x_col_add(&t->cols, fs[i].name) != 0)
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

/* Writes a CSV header row. */
static void
x_header(struct xfile *xf)
{
	for (size_t i = 0; i < xf->cols.n; i++) {
		if (i > 0)
			putc(',', xf->fp);
		export_csv_field(xf->fp, xf->cols.name[i], 1);
	}
	fputs(EXPORT_CSV_EOL, xf->fp);
}

/* A select_multiple: its names separated by spaces; anything else (a
   repeat's items, out of place) an empty cell. */
static int
x_choices(FILE *fp, const json_t *a)
{
	size_t i, len = 1;
	json_t *v;
	char *s;
	int rc;

	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return export_csv_field(fp, "", 0);
		len += json_string_length(v) + 1;
	}
	if ((s = malloc(len)) == NULL)
		return -1;
	s[0] = '\0';
	json_array_foreach(a, i, v) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, json_string_value(v));
	}
	rc = export_csv_field(fp, s, 1);
	free(s);
	return rc;
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
x_cell(FILE *fp, const json_t *v)
{
	char num[160];

	num[0] = '\0';
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		return export_csv_field(fp, json_string_value(v), 1);
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
		break;
	case JSON_ARRAY:
		return x_choices(fp, v);
	case JSON_OBJECT:
		x_point(v, num, sizeof(num));
		break;
	default:
		break;
	}
	return export_csv_field(fp, num, 0);
}

/* The cells of columns from..n of one row, and its end. */
static int
x_row(struct xfile *xf, size_t from, const json_t *o)
{
	for (size_t i = from; i < xf->cols.n; i++) {
		if (i > 0)
			putc(',', xf->fp);
		if (x_cell(xf->fp, json_object_get(o, xf->cols.name[i])) != 0)
			return -1;
	}
	fputs(EXPORT_CSV_EOL, xf->fp);
	xf->rows++;
	return ferror(xf->fp) ? -1 : 0;
}

/* An opened record into every file. */
static int
x_write(struct xport *x, const json_t *o)
{
	FILE *js = x->files[1].fp;
	char idx[24];

	if (json_dumpf(o, js, JSON_COMPACT | JSON_ENSURE_ASCII) != 0 ||
	    putc('\n', js) == EOF || x_row(&x->files[0], 0, o) != 0)
		return -1;
	for (size_t t = 2; t < x->n_files; t++) {
		struct xfile *xf = &x->files[t];
		const json_t *items = json_object_get(o, xf->repeat), *item;
		size_t k;

		if (!json_is_array(items))
			continue;
		json_array_foreach((json_t *)items, k, item) {
			snprintf(idx, sizeof(idx), "%zu", k + 1);
			if (x_cell(xf->fp, json_object_get(o, "_id")) != 0 ||
			    putc(',', xf->fp) == EOF ||
			    export_csv_field(xf->fp, idx, 0) != 0 ||
			    x_row(xf, 2, item) != 0)
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

/* Closes every temporary file and, unless keep, removes it. */
static void
x_discard(struct xport *x)
{
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

	for (size_t i = 0; i < x->n_files; i++) {
		struct xfile *xf = &x->files[i];
		int rc = fflush(xf->fp) != 0 || ferror(xf->fp);

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

static int
x_run(struct xport *x, const char *cdir, const char *key)
{
	const struct form *cur;
	char top[PATH_MAX] = "";
	int rc;

	if (x_setup(x, cdir, key, &cur) != 0)
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
		if (x_create(x, &x->files[i], i == 1 ? ".jsonl" :
		    ".csv") != 0) {
			fprintf(stderr, X_CMD ": cannot write in %s: %s: %s\n",
			    x->out, x->files[i].tmp, strerror(errno));
			goto fail;
		}
		setvbuf(x->files[i].fp, NULL, _IOFBF, 64 * 1024);
		if (i != 1)
			x_header(&x->files[i]);
	}
	errno = 0;
	rc = cstore_each_record(x->cs, x_record, x);
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
	rc = x_run(&x, cdir, key);
	fflush(stdout);
	x_discard(&x);
	for (size_t i = 0; i < x.n_files; i++)
		free(x.files[i].cols.name);
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
