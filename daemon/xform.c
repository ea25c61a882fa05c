/*
 * xform.c: see xform.h.
 *
 * Everything is read from the definition's JSON (form_definition), which
 * form_parse has checked as a whole: rows have a type, fields a unique
 * name of letters, digits, '_' and '-' (so a valid XML name and XPath
 * step), selects an existing list, expressions parse and name existing
 * fields.  This file trusts those facts and checks nothing else.
 */
#include "daemon/xform.h"

#include <errno.h>

#include <mbedtls/md5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define XF_MAX_LANGS 16

/* Buffers. */

static int
xb_grow(struct xform_buf *b, size_t more)
{
	size_t cap;
	char *s;

	if (b->oom)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	if ((s = realloc(b->s, cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

void
xform_buf_add(struct xform_buf *b, const char *s, size_t n)
{
	if (xb_grow(b, n) != 0)
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
xform_buf_str(struct xform_buf *b, const char *s)
{
	xform_buf_add(b, s, strlen(s));
}

void
xform_buf_printf(struct xform_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || xb_grow(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
xform_buf_esc(struct xform_buf *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\n': rep = "&#10;"; break;
		case '\r': rep = "&#13;"; break;
		case '\t': rep = "&#9;"; break;
		default: continue;
		}
		xform_buf_add(b, run, (size_t)(s - run));
		xform_buf_str(b, rep);
		run = s + 1;
	}
	xform_buf_add(b, run, (size_t)(s - run));
}

char *
xform_buf_take(struct xform_buf *b, size_t *len)
{
	char *s = b->s;

	if (b->oom || s == NULL) {
		free(b->s);
		memset(b, 0, sizeof(*b));
		return NULL;
	}
	if (len)
		*len = b->len;
	memset(b, 0, sizeof(*b));
	return s;
}

void
xform_md5(const char *data, size_t len, char out[37])
{
	unsigned char h[16];

	mbedtls_md5_ret((const unsigned char *)data, len, h);
	memcpy(out, "md5:", 4);
	util_hex(h, sizeof(h), out + 4);
}

/* The definition, as this file needs it. */

enum xf_type { XF_TEXT, XF_INTEGER, XF_DECIMAL, XF_DATE, XF_SELECT_ONE,
    XF_SELECT_MULTIPLE, XF_GEOPOINT, XF_REPEAT };

struct xf_field {
	const char *name;
	const json_t *row;
	enum xf_type type;
	const char *list;		/* selects: the list's name */
	int parent;			/* its repeat's index, or -1 */
};

struct xf {
	const char *id;
	json_t *def;			/* owned */
	const char *deflang;
	const char *langs[XF_MAX_LANGS];
	size_t n_langs;
	struct xf_field fields[FORM_MAX_FIELDS];
	size_t n;
	struct xform_buf *b;
};

static const char *
xf_nonempty(const char *s)
{
	return s && s[0] ? s : NULL;
}

/*
 * Columns whose rule this XForm does not carry yet:
 * a form that uses one is not offered to ODK clients, rather than offered
 * with a rule the phone would not check and the board would then refuse
 * on every retry, leaving the record stuck on the phone.
 */
static const char *const xf_uncarried[] = {
	"calculation", "choice_filter", "repeat_count", "default", "read_only",
	"trigger", "parameters", NULL
};

/* 0, or -1 when the form uses what the XForm cannot carry (any type but
   the ones below, or a column above). */
static int
xf_schema(struct xf *x)
{
	const json_t *survey = json_object_get(x->def, "survey"), *row;
	int repeat = -1;
	size_t i;

	json_array_foreach(survey, i, row) {
		const char *type = json_string_value(json_object_get(row,
		    "type"));
		const char *name = json_string_value(json_object_get(row,
		    "name"));
		struct xf_field *fd;

		if (type == NULL)
			return -1;
		for (int k = 0; xf_uncarried[k]; k++)
			if (xf_nonempty(json_string_value(json_object_get(row,
			    xf_uncarried[k]))))
				return -1;
		if (strcmp(type, "end_repeat") == 0 ||
		    strcmp(type, "end repeat") == 0) {
			repeat = -1;
			continue;
		}
		if (name == NULL || x->n == FORM_MAX_FIELDS)
			return -1;
		fd = &x->fields[x->n];
		fd->name = name;
		fd->row = row;
		fd->parent = repeat;
		fd->list = NULL;
		if (strcmp(type, "text") == 0)
			fd->type = XF_TEXT;
		else if (strcmp(type, "integer") == 0)
			fd->type = XF_INTEGER;
		else if (strcmp(type, "decimal") == 0)
			fd->type = XF_DECIMAL;
		else if (strcmp(type, "date") == 0)
			fd->type = XF_DATE;
		else if (strcmp(type, "geopoint") == 0)
			fd->type = XF_GEOPOINT;
		else if (strcmp(type, "begin_repeat") == 0 ||
		    strcmp(type, "begin repeat") == 0)
			fd->type = XF_REPEAT;
		else if (strncmp(type, "select_one ", 11) == 0) {
			fd->type = XF_SELECT_ONE;
			fd->list = type + 11;
		} else if (strncmp(type, "select_multiple ", 16) == 0) {
			fd->type = XF_SELECT_MULTIPLE;
			fd->list = type + 16;
		} else
			return -1;
		while (fd->list && *fd->list == ' ')
			fd->list++;
		if (fd->type == XF_REPEAT)
			repeat = (int)x->n;
		x->n++;
	}
	return 0;
}

static int
xf_index(const struct xf *x, const char *name, size_t n)
{
	for (size_t i = 0; i < x->n; i++)
		if (strlen(x->fields[i].name) == n &&
		    strncmp(x->fields[i].name, name, n) == 0)
			return (int)i;
	return -1;
}

/* Notes the language of every "col::LANG" key of obj. */
static void
xf_langs_of(struct xf *x, const json_t *obj)
{
	const char *key, *l;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		if ((l = strstr(key, "::")) == NULL || l[2] == '\0')
			continue;
		l += 2;
		for (i = 0; i < x->n_langs; i++)
			if (strcmp(x->langs[i], l) == 0)
				break;
		if (i == x->n_langs && x->n_langs < XF_MAX_LANGS)
			x->langs[x->n_langs++] = l;
	}
}

/* The default language first, then every other one the form names. */
static void
xf_langs(struct xf *x)
{
	const json_t *a, *v;
	size_t i;

	x->deflang = json_string_value(json_object_get(x->def,
	    "default_language"));
	if (x->deflang == NULL || x->deflang[0] == '\0')
		x->deflang = "English";
	x->langs[x->n_langs++] = x->deflang;
	xf_langs_of(x, x->def);
	a = json_object_get(x->def, "survey");
	json_array_foreach(a, i, v)
		xf_langs_of(x, v);
	a = json_object_get(x->def, "choices");
	json_array_foreach(a, i, v)
		xf_langs_of(x, v);
}

/*
 * A text column of row in lang: "col::lang", else "col", else the
 * default language's, else any language's; NULL when the row has none.
 */
static const char *
xf_text(const struct xf *x, const json_t *row, const char *col,
    const char *lang)
{
	const char *s, *key;
	char k[160];
	size_t n = strlen(col);
	json_t *v;

	snprintf(k, sizeof(k), "%s::%s", col, lang);
	if ((s = json_string_value(json_object_get(row, k))) != NULL)
		return s;
	if ((s = json_string_value(json_object_get(row, col))) != NULL)
		return s;
	snprintf(k, sizeof(k), "%s::%s", col, x->deflang);
	if ((s = json_string_value(json_object_get(row, k))) != NULL)
		return s;
	json_object_foreach((json_t *)row, key, v)
		if (strncmp(key, col, n) == 0 && strncmp(key + n, "::", 2) == 0 &&
		    json_is_string(v))
			return json_string_value(v);
	return NULL;
}

/* The absolute path of field i. */
static void
xf_path(const struct xf *x, int i, struct xform_buf *b)
{
	const struct xf_field *fd = &x->fields[i];

	if (fd->parent >= 0)
		xform_buf_printf(b, "/%s/%s/%s", x->id,
		    x->fields[fd->parent].name, fd->name);
	else
		xform_buf_printf(b, "/%s/%s", x->id, fd->name);
}

/* Expressions: XLSForm to XPath. */

struct xl {
	const struct xf *x;
	int field;		/* the bound field, or -1 */
	int item;		/* a count-if predicate's repeat, or -1 */
	int dot_repeat;		/* '.' means this repeat's nodeset, or -1 */
};

static int
xl_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
xl_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
xl_word(int c)
{
	return xl_alpha(c) || xl_digit(c) || c == '_';
}

/* Where the string literal at s[i] ends (its closing quote), or n. */
static size_t
xl_string_end(const char *s, size_t i, size_t n)
{
	size_t j;

	for (j = i + 1; j < n && s[j] != s[i]; j++)
		;
	return j;
}

/*
 * The arguments of the call whose '(' is s[open]: up to 4 ranges, their
 * number in *nargs, and the index of the matching ')' (n when missing).
 */
static size_t
xl_args(const char *s, size_t open, size_t n, size_t start[4],
    size_t end[4], int *nargs)
{
	int depth = 0;
	size_t j;

	*nargs = 0;
	start[0] = open + 1;
	for (j = open + 1; j < n; j++) {
		char c = s[j];

		if (c == '\'' || c == '"') {
			j = xl_string_end(s, j, n);
			if (j == n)
				break;
		} else if (c == '(' || c == '[') {
			depth++;
		} else if ((c == ')' || c == ']') && depth > 0) {
			depth--;
		} else if (c == ')') {
			break;
		} else if (c == ',' && depth == 0 && *nargs < 3) {
			end[(*nargs)++] = j;
			start[*nargs] = j + 1;
		}
	}
	end[(*nargs)++] = j;
	return j;
}

/* [a, b) of s without blanks around. */
static void
xl_trim(const char *s, size_t *a, size_t *b)
{
	while (*a < *b && (s[*a] == ' ' || s[*a] == '\t' || s[*a] == '\n' ||
	    s[*a] == '\r'))
		(*a)++;
	while (*b > *a && (s[*b - 1] == ' ' || s[*b - 1] == '\t' ||
	    s[*b - 1] == '\n' || s[*b - 1] == '\r'))
		(*b)--;
}

static void xl_run(const struct xl *c, const char *s, size_t n,
    struct xform_buf *b);

static void
xl_ref(const struct xl *c, const char *name, size_t len, struct xform_buf *b)
{
	const struct xf *x = c->x;
	int j = xf_index(x, name, len);

	if (j < 0) {
		/* form_parse does not let this happen */
		xform_buf_printf(b, "/%s/%.*s", x->id, (int)len, name);
		return;
	}
	if (c->item >= 0 && x->fields[j].parent == c->item)
		xform_buf_add(b, name, len);
	else if (c->item < 0 && c->field >= 0 &&
	    x->fields[c->field].parent >= 0 &&
	    x->fields[j].parent == x->fields[c->field].parent)
		xform_buf_printf(b, "../%.*s", (int)len, name);
	else
		xf_path(x, j, b);
}

/* The repeat an argument of count-if names: `.` or ${repeat}; or -1. */
static int
xl_repeat_of(const struct xl *c, const char *s, size_t a, size_t e)
{
	int j;

	xl_trim(s, &a, &e);
	if (e - a == 1 && s[a] == '.')
		return c->item < 0 ? c->dot_repeat : -1;
	if (e - a > 3 && s[a] == '$' && s[a + 1] == '{' && s[e - 1] == '}' &&
	    (j = xf_index(c->x, s + a + 2, e - a - 3)) >= 0 &&
	    c->x->fields[j].type == XF_REPEAT)
		return j;
	return -1;
}

/* count-if(r, e) -> count(r[e]), e evaluated in each item of r. */
static void
xl_count_if(const struct xl *c, const char *s, size_t start[4],
    size_t end[4], struct xform_buf *b)
{
	struct xl in = *c;

	in.item = xl_repeat_of(c, s, start[0], end[0]);
	in.dot_repeat = -1;
	xl_trim(s, &start[0], &end[0]);
	xl_trim(s, &start[1], &end[1]);
	xform_buf_str(b, "count(");
	xl_run(c, s + start[0], end[0] - start[0], b);
	xform_buf_str(b, "[");
	xl_run(&in, s + start[1], end[1] - start[1], b);
	xform_buf_str(b, "])");
}

/* regex(v, 'P') -> regex(v, '^(?:P)$'): ours matches the whole value. */
static void
xl_regex(const struct xl *c, const char *s, size_t start[4], size_t end[4],
    struct xform_buf *b)
{
	size_t a = start[1], e = end[1];

	xform_buf_str(b, "regex(");
	xl_run(c, s + start[0], end[0] - start[0], b);
	xform_buf_str(b, ", ");
	xl_trim(s, &a, &e);
	if (e - a >= 2 && (s[a] == '\'' || s[a] == '"') && s[e - 1] == s[a] &&
	    xl_string_end(s, a, e) == e - 1) {
		xform_buf_add(b, s + a, 1);
		xform_buf_str(b, "^(?:");
		xform_buf_add(b, s + a + 1, e - a - 2);
		xform_buf_str(b, ")$");
		xform_buf_add(b, s + a, 1);
	} else {
		xform_buf_str(b, "concat('^(?:', ");
		xl_run(c, s + start[1], end[1] - start[1], b);
		xform_buf_str(b, ", ')$')");
	}
	xform_buf_str(b, ")");
}

static void
xl_run(const struct xl *c, const char *s, size_t n, struct xform_buf *b)
{
	size_t i = 0, j;

	while (i < n) {
		char ch = s[i];

		if (ch == '\'' || ch == '"') {
			j = xl_string_end(s, i, n);
			j = j < n ? j + 1 : n;
			xform_buf_add(b, s + i, j - i);
			i = j;
		} else if (ch == '$' && i + 1 < n && s[i + 1] == '{') {
			for (j = i + 2; j < n && s[j] != '}'; j++)
				;
			xl_ref(c, s + i + 2, j - i - 2, b);
			i = j < n ? j + 1 : n;
		} else if (xl_digit((unsigned char)ch) || (ch == '.' && i + 1 <
		    n && xl_digit((unsigned char)s[i + 1]))) {
			for (j = i; j < n && (xl_digit((unsigned char)s[j]) ||
			    s[j] == '.'); j++)
				;
			xform_buf_add(b, s + i, j - i);
			i = j;
		} else if (ch == '.') {
			if (c->item < 0 && c->dot_repeat >= 0)
				xf_path(c->x, c->dot_repeat, b);
			else
				xform_buf_str(b, ".");
			i++;
		} else if (xl_alpha((unsigned char)ch) || ch == '_') {
			size_t k, start[4], end[4], close;
			int nargs;

			/* as expr.c's lexer: '-' joins words between letters */
			for (j = i; j < n && (xl_word((unsigned char)s[j]) ||
			    (s[j] == '-' && j > i && j + 1 < n &&
			    xl_alpha((unsigned char)s[j + 1]))); j++)
				;
			for (k = j; k < n && (s[k] == ' ' || s[k] == '\t'); k++)
				;
			if (k < n && s[k] == '(' && ((j - i == 8 &&
			    strncmp(s + i, "count-if", 8) == 0) || (j - i == 5 &&
			    strncmp(s + i, "regex", 5) == 0))) {
				close = xl_args(s, k, n, start, end, &nargs);
				if (nargs == 2 && close < n) {
					if (s[i] == 'c')
						xl_count_if(c, s, start, end, b);
					else
						xl_regex(c, s, start, end, b);
					i = close + 1;
					continue;
				}
			}
			xform_buf_add(b, s + i, j - i);
			i = j;
		} else {
			xform_buf_add(b, s + i, 1);
			i++;
		}
	}
}

/* The expression col of field i as XPath, XML-escaped, into x->b. */
static void
xf_expr(const struct xf *x, int i, const char *src)
{
	struct xform_buf t = { 0 };
	struct xl c = { x, i, -1, -1 };
	char *s;

	if (x->fields[i].type == XF_REPEAT) {
		c.field = -1;
		c.dot_repeat = i;
	}
	xl_run(&c, src, strlen(src), &t);
	if ((s = xform_buf_take(&t, NULL)) == NULL) {
		x->b->oom = 1;
		return;
	}
	xform_buf_esc(x->b, s);
	free(s);
}

/* Generation. */

static const char *
xf_col(const struct xf_field *fd, const char *col)
{
	return xf_nonempty(json_string_value(json_object_get(fd->row, col)));
}

static int
xf_required(const struct xf_field *fd)
{
	return form_yes_no(json_object_get(fd->row, "required")) == 1;
}

/* One <text id="PATH:form"><value>...</value></text>. */
static void
xf_itext(struct xf *x, int i, const char *choice, const char *form,
    const char *value)
{
	xform_buf_str(x->b, "      <text id=\"");
	xf_path(x, i, x->b);
	if (choice) {
		xform_buf_str(x->b, "/");
		xform_buf_esc(x->b, choice);
	}
	xform_buf_printf(x->b, ":%s\"><value>", form);
	xform_buf_esc(x->b, value);
	xform_buf_str(x->b, "</value></text>\n");
}

static void
xf_translation(struct xf *x, const char *lang)
{
	const json_t *choices = json_object_get(x->def, "choices");

	xform_buf_str(x->b, "    <translation lang=\"");
	xform_buf_esc(x->b, lang);
	xform_buf_printf(x->b, "\"%s>\n", lang == x->deflang ?
	    " default=\"true()\"" : "");
	for (size_t i = 0; i < x->n; i++) {
		const struct xf_field *fd = &x->fields[i];
		const char *t;
		const json_t *ch;
		size_t k;

		t = xf_nonempty(xf_text(x, fd->row, "label", lang));
		xf_itext(x, (int)i, NULL, "label", t ? t : fd->name);
		if ((t = xf_nonempty(xf_text(x, fd->row, "hint", lang))))
			xf_itext(x, (int)i, NULL, "hint", t);
		if (xf_col(fd, "constraint") && (t = xf_nonempty(xf_text(x,
		    fd->row, "constraint_message", lang))))
			xf_itext(x, (int)i, NULL, "constraintMsg", t);
		if (fd->list == NULL)
			continue;
		json_array_foreach(choices, k, ch) {
			const char *ln = json_string_value(json_object_get(ch,
			    "list_name"));
			const char *cn = json_string_value(json_object_get(ch,
			    "name"));

			if (ln == NULL || cn == NULL || strcmp(ln, fd->list))
				continue;
			t = xf_nonempty(xf_text(x, ch, "label", lang));
			xf_itext(x, (int)i, cn, "label", t ? t : cn);
		}
	}
	xform_buf_str(x->b, "    </translation>\n");
}

static void
xf_instance(struct xf *x)
{
	const char *ver = json_string_value(json_object_get(x->def, "version"));

	xform_buf_printf(x->b, "    <instance>\n      <%s id=\"", x->id);
	xform_buf_esc(x->b, x->id);
	xform_buf_str(x->b, "\" version=\"");
	xform_buf_esc(x->b, ver ? ver : "");
	xform_buf_str(x->b, "\">\n");
	for (size_t i = 0; i < x->n; i++) {
		const struct xf_field *fd = &x->fields[i];

		if (fd->parent >= 0)
			continue;
		if (fd->type != XF_REPEAT) {
			xform_buf_printf(x->b, "        <%s/>\n", fd->name);
			continue;
		}
		xform_buf_printf(x->b, "        <%s jr:template=\"\">\n",
		    fd->name);
		for (size_t k = i + 1; k < x->n && x->fields[k].parent ==
		    (int)i; k++)
			xform_buf_printf(x->b, "          <%s/>\n",
			    x->fields[k].name);
		xform_buf_printf(x->b, "        </%s>\n", fd->name);
	}
	xform_buf_printf(x->b, "        <meta>\n          <instanceID/>\n"
	    "        </meta>\n      </%s>\n    </instance>\n", x->id);
}

static void
xf_binds(struct xf *x)
{
	static const char *const types[] = { "string", "int", "decimal",
	    "date", "string", "string", "geopoint", NULL };

	for (size_t i = 0; i < x->n; i++) {
		const struct xf_field *fd = &x->fields[i];
		const char *e;

		xform_buf_str(x->b, "    <bind nodeset=\"");
		xf_path(x, (int)i, x->b);
		xform_buf_str(x->b, "\"");
		if (types[fd->type])
			xform_buf_printf(x->b, " type=\"%s\"", types[fd->type]);
		/* Collect has no rule for a repeat being required. */
		if (fd->type != XF_REPEAT && xf_required(fd))
			xform_buf_str(x->b, " required=\"true()\"");
		if ((e = xf_col(fd, "relevant"))) {
			xform_buf_str(x->b, " relevant=\"");
			xf_expr(x, (int)i, e);
			xform_buf_str(x->b, "\"");
		}
		if ((e = xf_col(fd, "constraint"))) {
			int msg = 0;

			for (size_t l = 0; l < x->n_langs; l++)
				if (xf_nonempty(xf_text(x, fd->row,
				    "constraint_message", x->langs[l])))
					msg = 1;
			xform_buf_str(x->b, " constraint=\"");
			xf_expr(x, (int)i, e);
			xform_buf_str(x->b, "\"");
			if (msg) {
				xform_buf_str(x->b, " jr:constraintMsg=\""
				    "jr:itext('");
				xf_path(x, (int)i, x->b);
				xform_buf_str(x->b, ":constraintMsg')\"");
			}
		}
		xform_buf_str(x->b, "/>\n");
	}
	xform_buf_printf(x->b, "    <bind nodeset=\"/%s/meta/instanceID\" "
	    "type=\"string\" readonly=\"true()\" jr:preload=\"uid\"/>\n",
	    x->id);
}

static void
xf_ref(struct xf *x, const char *elem, int i, const char *choice,
    const char *form)
{
	xform_buf_printf(x->b, "<%s ref=\"jr:itext('", elem);
	xf_path(x, i, x->b);
	if (choice) {
		xform_buf_str(x->b, "/");
		xform_buf_esc(x->b, choice);
	}
	xform_buf_printf(x->b, ":%s')\"/>", form);
}

static void
xf_control(struct xf *x, int i, const char *ind)
{
	const struct xf_field *fd = &x->fields[i];
	const char *elem = fd->type == XF_SELECT_ONE ? "select1" :
	    fd->type == XF_SELECT_MULTIPLE ? "select" : "input";
	const char *app = xf_col(fd, "appearance");
	const json_t *choices = json_object_get(x->def, "choices"), *ch;
	int hint = 0;
	size_t k;

	for (size_t l = 0; l < x->n_langs; l++)
		if (xf_nonempty(xf_text(x, fd->row, "hint", x->langs[l])))
			hint = 1;
	xform_buf_printf(x->b, "%s<%s ref=\"", ind, elem);
	xf_path(x, i, x->b);
	xform_buf_str(x->b, "\"");
	if (app) {
		xform_buf_str(x->b, " appearance=\"");
		xform_buf_esc(x->b, app);
		xform_buf_str(x->b, "\"");
	}
	xform_buf_printf(x->b, ">\n%s  ", ind);
	xf_ref(x, "label", i, NULL, "label");
	xform_buf_str(x->b, "\n");
	if (hint) {
		xform_buf_printf(x->b, "%s  ", ind);
		xf_ref(x, "hint", i, NULL, "hint");
		xform_buf_str(x->b, "\n");
	}
	if (fd->list) {
		json_array_foreach(choices, k, ch) {
			const char *ln = json_string_value(json_object_get(ch,
			    "list_name"));
			const char *cn = json_string_value(json_object_get(ch,
			    "name"));

			if (ln == NULL || cn == NULL || strcmp(ln, fd->list))
				continue;
			xform_buf_printf(x->b, "%s  <item>", ind);
			xf_ref(x, "label", i, cn, "label");
			xform_buf_str(x->b, "<value>");
			xform_buf_esc(x->b, cn);
			xform_buf_str(x->b, "</value></item>\n");
		}
	}
	xform_buf_printf(x->b, "%s</%s>\n", ind, elem);
}

static void
xf_body(struct xf *x)
{
	xform_buf_str(x->b, "  <h:body>\n");
	for (size_t i = 0; i < x->n; i++) {
		if (x->fields[i].parent >= 0)
			continue;
		if (x->fields[i].type != XF_REPEAT) {
			xf_control(x, (int)i, "    ");
			continue;
		}
		xform_buf_str(x->b, "    <group ref=\"");
		xf_path(x, (int)i, x->b);
		xform_buf_str(x->b, "\">\n      ");
		xf_ref(x, "label", (int)i, NULL, "label");
		xform_buf_str(x->b, "\n      <repeat nodeset=\"");
		xf_path(x, (int)i, x->b);
		xform_buf_str(x->b, "\">\n");
		for (size_t k = i + 1; k < x->n && x->fields[k].parent ==
		    (int)i; k++)
			xf_control(x, (int)k, "        ");
		xform_buf_str(x->b, "      </repeat>\n    </group>\n");
	}
	xform_buf_str(x->b, "  </h:body>\n");
}

char *
xform_build(const struct form *f, size_t *len)
{
	struct xform_buf b = { 0 };
	struct xf *x;
	char *out;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->id = form_id(f);
	x->def = form_definition(f);
	x->b = &b;
	if (x->def == NULL || xf_schema(x) != 0) {
		errno = x->def ? ENOTSUP : ENOMEM;
		json_decref(x->def);
		free(x);
		return NULL;
	}
	xf_langs(x);
	xform_buf_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<h:html xmlns=\"http://www.w3.org/2002/xforms\""
	    " xmlns:h=\"http://www.w3.org/1999/xhtml\""
	    " xmlns:ev=\"http://www.w3.org/2001/xml-events\""
	    " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\""
	    " xmlns:jr=\"http://openrosa.org/javarosa\""
	    " xmlns:orx=\"http://openrosa.org/xforms\""
	    " xmlns:odk=\"http://www.opendatakit.org/xforms\">\n"
	    "  <h:head>\n    <h:title>");
	xform_buf_esc(&b, form_title(f));
	xform_buf_str(&b, "</h:title>\n"
	    "    <model odk:xforms-version=\"1.0.0\">\n    <itext>\n");
	for (size_t l = 0; l < x->n_langs; l++)
		xf_translation(x, x->langs[l]);
	xform_buf_str(&b, "    </itext>\n");
	xf_instance(x);
	xf_binds(x);
	xform_buf_str(&b, "    </model>\n  </h:head>\n");
	xf_body(x);
	xform_buf_str(&b, "</h:html>\n");
	json_decref(x->def);
	free(x);
	out = xform_buf_take(&b, len);
	return out;
}

char *
xform_list(const struct form_catalog *cat, const char *base_url,
    const char *only_id, size_t *len)
{
	struct xform_buf b = { 0 };
	const struct form *f;

	xform_buf_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<xforms xmlns=\"http://openrosa.org/xforms/xformsList\">\n");
	for (size_t i = 0; (f = form_catalog_nth(cat, i)); i++) {
		char hash[37], *xml;
		size_t n;

		if (only_id && strcmp(only_id, form_id(f)) != 0)
			continue;
		if ((xml = xform_build(f, &n)) == NULL) {
			if (errno == ENOTSUP)
				continue;	/* not for ODK clients yet */
			b.oom = 1;
			break;
		}
		xform_md5(xml, n, hash);
		free(xml);
		xform_buf_str(&b, "  <xform>\n    <formID>");
		xform_buf_esc(&b, form_id(f));
		xform_buf_str(&b, "</formID>\n    <name>");
		xform_buf_esc(&b, form_title(f));
		xform_buf_str(&b, "</name>\n    <version>");
		xform_buf_esc(&b, form_version(f));
		xform_buf_printf(&b, "</version>\n    <hash>%s</hash>\n"
		    "    <downloadUrl>", hash);
		xform_buf_esc(&b, base_url);
		xform_buf_str(&b, "/forms/");
		xform_buf_esc(&b, form_id(f));
		xform_buf_str(&b, ".xml</downloadUrl>\n  </xform>\n");
	}
	xform_buf_str(&b, "</xforms>\n");
	return xform_buf_take(&b, len);
}
