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
#include "daemon/xfnodes.h"

#define XF_MAX_LANGS 16

/* Buffers. */

static int
xb_grow(struct xform_buf *b, size_t more)
{
	size_t cap;
	char *s;

	if (b->oom)
		return -1;
	if (b->md5 && b->len > 0 && b->len + more + 1 > 4096) {
		mbedtls_md5_update_ret(b->md5, (const unsigned char *)b->s,
		    b->len);
		b->len = 0;
	}
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

struct xf {
	const char *id;
	struct xfnodes nodes;
	const json_t *def;		/* nodes.def */
	const char *deflang;
	const char *langs[XF_MAX_LANGS];
	size_t n_langs;
	struct xform_buf *b;
	unsigned char *itemset;		/* per node: xf_itemset */
	int triggers;			/* some row has a trigger */
};

static const char *
xf_nonempty(const char *s)
{
	return s && s[0] ? s : NULL;
}

static const char *
xf_col(const struct xfn *n, const char *col)
{
	return xf_nonempty(json_string_value(json_object_get(n->row, col)));
}

static int
xf_yes(const struct xfn *n, const char *col)
{
	return form_yes_no(json_object_get(n->row, col)) == 1;
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

/* 1 when row has text in col in some language. */
static int
xf_has_text(const struct xf *x, const json_t *row, const char *col)
{
	for (size_t l = 0; l < x->n_langs; l++)
		if (xf_nonempty(xf_text(x, row, col, x->langs[l])))
			return 1;
	return 0;
}

/* The absolute path of node i. */
static void
xf_path(const struct xf *x, int i, struct xform_buf *b)
{
	const struct xfn *n = &x->nodes.n[i];

	if (n->kind == XFN_AUDIT) {
		xform_buf_printf(b, "/%s/meta/%s", x->id, n->elem);
		return;
	}
	if (n->parent >= 0)
		xf_path(x, n->parent, b);
	else
		xform_buf_printf(b, "/%s", x->id);
	xform_buf_printf(b, "/%s", n->elem);
}

/* The path of node i below its ancestor a: "grp/age". */
static void
xf_relpath(const struct xf *x, int a, int i, struct xform_buf *b)
{
	const struct xfn *n = &x->nodes.n[i];

	if (n->parent >= 0 && n->parent != a) {
		xf_relpath(x, a, n->parent, b);
		xform_buf_str(b, "/");
	}
	xform_buf_str(b, n->elem);
}

/*
 * A repeat whose own rules (required, constraint) ODK engines do not
 * check on the repeat itself: they go on a check node beside it.
 */
static int
xf_has_check(const struct xfn *n)
{
	return n->kind == XFN_REPEAT && (xf_yes(n, "required") ||
	    xf_col(n, "constraint"));
}

/* The path of a node repeat i has beside it, named PREFIX + its name
   (its check or its count node). */
static void
xf_beside_path(const struct xf *x, int i, const char *prefix,
    struct xform_buf *b)
{
	const struct xfn *n = &x->nodes.n[i];

	if (n->parent >= 0)
		xf_path(x, n->parent, b);
	else
		xform_buf_printf(b, "/%s", x->id);
	xform_buf_printf(b, "/%s%s", prefix, n->name);
}

#define xf_check_path(x, i, b) xf_beside_path(x, i, XFORM_CHECK_PREFIX, b)
#define xf_count_path(x, i, b) xf_beside_path(x, i, XFORM_COUNT_PREFIX, b)

/* Repeat node n's repeat_count, or NULL. */
static const char *
xf_repeat_count(const struct xfn *n)
{
	const char *e;

	if (n->kind != XFN_REPEAT)
		return NULL;
	if ((e = xf_col(n, "repeat_count")) == NULL)
		e = xf_col(n, "jr:count");
	return e;
}

/* 1 when repeat n's count is an expression, not one ${field}: it gets a
   count node. */
static int
xf_has_count(const struct xfn *n)
{
	const char *e = xf_repeat_count(n);
	size_t len;

	if (e == NULL)
		return 0;
	while (*e == ' ')
		e++;
	len = strlen(e);
	while (len > 0 && e[len - 1] == ' ')
		len--;
	return !(len > 3 && strncmp(e, "${", 2) == 0 && e[len - 1] == '}' &&
	    memchr(e + 2, '}', len - 3) == NULL);
}

/*
 * A select whose list is a secondary instance, read through an itemset:
 * one its choice_filter filters, or one of several selects of the same
 * list (a list of 2,000 places written once, not once per question and
 * language).  A list one select alone uses is written inline.
 */
static int
xf_itemset(const struct xf *x, const struct xfn *n)
{
	return n->list && x->itemset[n - x->nodes.n];
}

static void
xf_itemsets(struct xf *x)
{
	for (size_t i = 0; i < x->nodes.count; i++) {
		const struct xfn *n = &x->nodes.n[i];

		if (n->list == NULL)
			continue;
		if (xf_col(n, "choice_filter") != NULL)
			x->itemset[i] = 1;
		for (size_t k = 0; k < x->nodes.count && !x->itemset[i]; k++)
			if (k != i && x->nodes.n[k].list &&
			    x->nodes.n[k].list_len == n->list_len &&
			    strncmp(x->nodes.n[k].list, n->list,
			    n->list_len) == 0)
				x->itemset[i] = 1;
	}
}

static int
xf_list_is(const json_t *ch, const struct xfn *n)
{
	const char *ln = json_string_value(json_object_get(ch, "list_name"));

	return ln && strlen(ln) == n->list_len &&
	    strncmp(ln, n->list, n->list_len) == 0 &&
	    json_string_value(json_object_get(ch, "name")) != NULL;
}

/* The form's instance_name expression, or NULL. */
static const char *
xf_instance_name(const struct xf *x, const json_t *settings)
{
	const char *s = json_string_value(json_object_get(x->def,
	    "instance_name"));

	if (s == NULL)
		s = json_string_value(json_object_get(settings, "instance_name"));
	return xf_nonempty(s);
}

static int xf_first_of_list(const struct xf *x, int i);

/* Expressions: XLSForm to XPath. */

struct xl {
	const struct xf *x;
	int field;		/* the bound node, or -1 */
	int item;		/* a count-if predicate's repeat, or -1 */
	int dot_repeat;		/* '.' means this repeat's nodeset, or -1 */
	int current;		/* in an itemset's predicate: current() */
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
	const struct xfn *n = x->nodes.n;
	int j = xfnodes_find(&x->nodes, name, len), r;

	if (j < 0) {
		/* form_parse does not let this happen */
		xform_buf_printf(b, "/%s/%.*s", x->id, (int)len, name);
		return;
	}
	if (c->item >= 0 && n[j].repeat == c->item) {
		xf_relpath(x, c->item, j, b);
		return;
	}
	/* a field of the same repeat item: a path relative to the bound
	   node, as pyxform writes it, so it means this item's */
	if (c->item < 0 && c->field >= 0 && (r = n[c->field].repeat) >= 0 &&
	    n[j].repeat == r) {
		if (c->current)
			xform_buf_str(b, "current()/");
		for (int k = n[r].depth; k < n[c->field].depth; k++)
			xform_buf_str(b, k > n[r].depth ? "/.." : "..");
		xform_buf_str(b, "/");
		xf_relpath(x, r, j, b);
		return;
	}
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
	    (j = xfnodes_find(&c->x->nodes, s + a + 2, e - a - 3)) >= 0 &&
	    c->x->nodes.n[j].kind == XFN_REPEAT)
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
			/* jr:choice-name(${x}, '${x}'): the field's path */
			if (j - i > 5 && s[i + 1] == '$' && s[i + 2] == '{' &&
			    s[j - 2] == '}' && memchr(s + i + 2, '}', j - i - 4) ==
			    s + j - 2) {
				xform_buf_add(b, s + i, 1);
				xl_ref(c, s + i + 3, j - i - 5, b);
				xform_buf_add(b, s + i, 1);
			} else
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
			/* sum(X) -> if(count(X) = 0, 0, sum(X)): ODK Web
			   Forms makes the sum of no nodes NaN, where XPath,
			   Collect and the board make it 0 */
			if (k < n && s[k] == '(' && j - i == 3 &&
			    strncmp(s + i, "sum", 3) == 0) {
				close = xl_args(s, k, n, start, end, &nargs);
				if (nargs == 1 && close < n) {
					xform_buf_str(b, "if(count(");
					xl_run(c, s + start[0], end[0] - start[0], b);
					xform_buf_str(b, ") = 0, 0, sum(");
					xl_run(c, s + start[0], end[0] - start[0], b);
					xform_buf_str(b, "))");
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

/* The expression src for node i (-1: none) as XPath, XML-escaped, into
   x->b; current: inside an itemset's predicate. */
static void
xf_expr(const struct xf *x, int i, const char *src, int current)
{
	struct xform_buf t = { 0 };
	struct xl c = { x, i, -1, -1, current };
	char *s;

	if (i >= 0 && x->nodes.n[i].kind == XFN_REPEAT) {
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

/* Text with ${field} piped in as <output value="..."/>, for node i. */
static void
xf_piped(struct xf *x, int i, const char *s)
{
	const char *q;

	while ((q = strstr(s, "${")) != NULL) {
		size_t len = strcspn(q + 2, "}");
		struct xl c = { x, i, -1, -1, 0 };
		struct xform_buf t = { 0 };
		char *path, *seg;

		if (q[2 + len] != '}')
			break;
		if ((seg = strndup(s, (size_t)(q - s))) == NULL) {
			x->b->oom = 1;
			return;
		}
		xform_buf_esc(x->b, seg);
		free(seg);
		xl_ref(&c, q + 2, len, &t);
		if ((path = xform_buf_take(&t, NULL)) == NULL) {
			x->b->oom = 1;
			return;
		}
		xform_buf_str(x->b, "<output value=\"");
		xform_buf_esc(x->b, path);
		xform_buf_str(x->b, "\"/>");
		free(path);
		s = q + 3 + len;
	}
	xform_buf_esc(x->b, s);
}

/* A choice's part of its itext id: its name, or "#k" (its place in its
   list) when the name has a quote, which jr:itext('...') cannot hold. */
static const char *
xf_choice_id(const char *name, size_t k, char *buf, size_t len)
{
	if (strchr(name, '\'') == NULL && strchr(name, '"') == NULL)
		return name;
	snprintf(buf, len, "#%zu", k);
	return buf;
}

/* One <text id="PATH[/choice]:form"><value>...</value></text>. */
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
	if (choice)
		xform_buf_esc(x->b, value);
	else
		xf_piped(x, i, value);
	xform_buf_str(x->b, "</value></text>\n");
}

/* The check node's label: the repeat's constraint message, or what the
   rules are. */
static void
xf_check_itext(struct xf *x, int i, const char *lang)
{
	const struct xfn *n = &x->nodes.n[i];
	const char *msg = xf_nonempty(xf_text(x, n->row,
	    "constraint_message", lang));
	const char *label = xf_nonempty(xf_text(x, n->row, "label", lang));

	xform_buf_str(x->b, "      <text id=\"");
	xf_check_path(x, i, x->b);
	xform_buf_str(x->b, ":label\"><value>");
	if (msg)
		xf_piped(x, i, msg);
	else {
		xform_buf_str(x->b, "Go back to ");
		xf_piped(x, i, label ? label : n->name);
		xform_buf_str(x->b, xf_yes(n, "required") ? ": at least one is "
		    "needed, and the form's rules must be met" : ": the "
		    "form's rules are not met");
	}
	xform_buf_str(x->b, "</value></text>\n");
}

/* Whether node i gets a label text. */
static int
xf_labelled(const struct xf *x, const struct xfn *n)
{
	if (n->kind == XFN_GROUP)
		return xf_has_text(x, n->row, "label");
	return n->kind == XFN_REPEAT || n->kind == XFN_NOTE ||
	    (n->kind == XFN_VALUE && !n->hidden);
}

static void
xf_translation(struct xf *x, const char *lang)
{
	const json_t *choices = json_object_get(x->def, "choices");

	xform_buf_str(x->b, "    <translation lang=\"");
	xform_buf_esc(x->b, lang);
	xform_buf_printf(x->b, "\"%s>\n", lang == x->deflang ?
	    " default=\"true()\"" : "");
	for (size_t i = 0; i < x->nodes.count; i++) {
		const struct xfn *n = &x->nodes.n[i];
		const char *t;
		const json_t *ch;
		size_t k;

		if (xf_labelled(x, n)) {
			t = xf_nonempty(xf_text(x, n->row, "label", lang));
			xf_itext(x, (int)i, NULL, "label", t ? t : n->name);
		}
		if (n->kind == XFN_AUDIT || n->hidden)
			continue;
		if ((t = xf_nonempty(xf_text(x, n->row, "hint", lang))))
			xf_itext(x, (int)i, NULL, "hint", t);
		if (n->kind == XFN_VALUE && xf_col(n, "constraint") &&
		    (t = xf_nonempty(xf_text(x, n->row, "constraint_message",
		    lang))))
			xf_itext(x, (int)i, NULL, "constraintMsg", t);
		if (n->kind == XFN_VALUE && xf_yes(n, "required") &&
		    (t = xf_nonempty(xf_text(x, n->row, "required_message",
		    lang))))
			xf_itext(x, (int)i, NULL, "requiredMsg", t);
		if (xf_has_check(n))
			xf_check_itext(x, (int)i, lang);
		if (n->list == NULL || xf_itemset(x, n))
			continue;
		json_array_foreach(choices, k, ch) {
			const char *cn;
			char id[32];

			if (!xf_list_is(ch, n))
				continue;
			cn = json_string_value(json_object_get(ch, "name"));
			t = xf_nonempty(xf_text(x, ch, "label", lang));
			xf_itext(x, (int)i, xf_choice_id(cn, k, id, sizeof(id)),
			    "label", t ? t : cn);
		}
	}
	/* the choices of itemset lists, once per list: "LIST-k" */
	for (size_t i = 0; i < x->nodes.count; i++) {
		const struct xfn *n = &x->nodes.n[i];
		const json_t *ch;
		size_t k, at = 0;

		if (!xf_itemset(x, n) || xf_first_of_list(x, (int)i) != (int)i)
			continue;
		json_array_foreach(choices, k, ch) {
			const char *t;

			if (!xf_list_is(ch, n))
				continue;
			t = xf_nonempty(xf_text(x, ch, "label", lang));
			xform_buf_str(x->b, "      <text id=\"");
			xform_buf_add(x->b, n->list, n->list_len);
			xform_buf_printf(x->b, "-%zu\"><value>", at++);
			xform_buf_esc(x->b, t ? t : json_string_value(
			    json_object_get(ch, "name")));
			xform_buf_str(x->b, "</value></text>\n");
		}
	}
	xform_buf_str(x->b, "    </translation>\n");
}

/* A default that is a plain value (no ${field}, no function) goes in
   the instance; another is set when the form opens. */
static int
xf_literal_default(const char *d)
{
	return strstr(d, "${") == NULL && strchr(d, '(') == NULL;
}

static void
xf_instance_nodes(struct xf *x, int parent, int indent)
{
	size_t i = parent < 0 ? 0 : (size_t)parent + 1;
	size_t end = parent < 0 ? x->nodes.count :
	    (size_t)x->nodes.n[parent].end;

	while (i < end) {
		const struct xfn *n = &x->nodes.n[i];
		const char *d = xf_col(n, "default");

		if (n->kind == XFN_AUDIT) {
			i++;
			continue;
		}
		if (xf_has_count(n))
			xform_buf_printf(x->b, "%*s<" XFORM_COUNT_PREFIX "%s/>\n",
			    indent, "", n->name);
		xform_buf_printf(x->b, "%*s<%s", indent, "", n->elem);
		if (n->kind == XFN_GROUP || n->kind == XFN_REPEAT) {
			xform_buf_printf(x->b, "%s>\n", n->kind == XFN_REPEAT ?
			    " jr:template=\"\"" : "");
			xf_instance_nodes(x, (int)i, indent + 2);
			xform_buf_printf(x->b, "%*s</%s>\n", indent, "",
			    n->elem);
			if (xf_has_check(n))
				xform_buf_printf(x->b, "%*s<" XFORM_CHECK_PREFIX
				    "%s/>\n", indent, "", n->name);
			i = (size_t)n->end;
			continue;
		}
		if (n->kind == XFN_VALUE && d && xf_literal_default(d)) {
			xform_buf_str(x->b, ">");
			xform_buf_esc(x->b, d);
			xform_buf_printf(x->b, "</%s>\n", n->elem);
		} else
			xform_buf_str(x->b, "/>\n");
		i++;
	}
}

/* The index of the first select using node i's list as an itemset. */
static int
xf_first_of_list(const struct xf *x, int i)
{
	const struct xfn *n = &x->nodes.n[i];

	for (int k = 0; k < i; k++) {
		const struct xfn *m = &x->nodes.n[k];

		if (xf_itemset(x, m) && m->list_len == n->list_len &&
		    strncmp(m->list, n->list, n->list_len) == 0)
			return k;
	}
	return i;
}

/* An XML element name: letters, digits, '_', '-', '.', not starting
   with a digit, '-' or '.'. */
static int
xf_xml_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	    *s == '_'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		    *s == '.'))
			return 0;
	return 1;
}

/* A choices row column that goes in an itemset item: not the list's
   name, nor a text or media column (those are in itext). */
static int
xf_item_col(const char *key)
{
	static const char *const skip[] = { "list_name", "list name", "name",
	    "label", "image", "audio", "video", "media", "big-image",
	    "itextId", NULL };

	/* "_sheet", "_row": where the converter found the row */
	if (key[0] == '_' || strstr(key, "::") != NULL || !xf_xml_name(key))
		return 0;
	for (int i = 0; skip[i]; i++)
		if (strcmp(key, skip[i]) == 0)
			return 0;
	return 1;
}

/* Itemset lists as secondary instances: <instance id="LIST">. */
static void
xf_lists(struct xf *x)
{
	const json_t *choices = json_object_get(x->def, "choices");

	for (size_t i = 0; i < x->nodes.count; i++) {
		const struct xfn *n = &x->nodes.n[i];
		const json_t *ch;
		size_t k, at = 0;

		if (!xf_itemset(x, n) || xf_first_of_list(x, (int)i) != (int)i)
			continue;
		xform_buf_str(x->b, "    <instance id=\"");
		xform_buf_add(x->b, n->list, n->list_len);
		xform_buf_str(x->b, "\">\n      <root>\n");
		json_array_foreach(choices, k, ch) {
			const char *key;
			json_t *v;

			if (!xf_list_is(ch, n))
				continue;
			xform_buf_str(x->b, "        <item><itextId>");
			xform_buf_add(x->b, n->list, n->list_len);
			xform_buf_printf(x->b, "-%zu</itextId><name>", at++);
			xform_buf_esc(x->b, json_string_value(json_object_get(
			    ch, "name")));
			xform_buf_str(x->b, "</name>");
			json_object_foreach((json_t *)ch, key, v) {
				if (!xf_item_col(key))
					continue;
				xform_buf_printf(x->b, "<%s>", key);
				if (json_is_string(v))
					xform_buf_esc(x->b, json_string_value(v));
				else if (json_is_integer(v))
					xform_buf_printf(x->b, "%lld", (long long)
					    json_integer_value(v));
				else if (json_is_real(v))
					xform_buf_printf(x->b, "%.17g",
					    json_real_value(v));
				xform_buf_printf(x->b, "</%s>", key);
			}
			xform_buf_str(x->b, "</item>\n");
		}
		xform_buf_str(x->b, "      </root>\n    </instance>\n");
	}
}

static void
xf_instance(struct xf *x)
{
	const char *ver = json_string_value(json_object_get(x->def, "version"));
	const json_t *settings = json_object_get(x->def, "settings");
	int audit = 0;

	for (size_t i = 0; i < x->nodes.count; i++)
		if (x->nodes.n[i].kind == XFN_AUDIT)
			audit = (int)i + 1;
	xform_buf_printf(x->b, "    <instance>\n      <%s id=\"", x->id);
	xform_buf_esc(x->b, x->id);
	xform_buf_str(x->b, "\" version=\"");
	xform_buf_esc(x->b, ver ? ver : "");
	xform_buf_str(x->b, "\">\n");
	xf_instance_nodes(x, -1, 8);
	xform_buf_str(x->b, "        <meta>\n          <instanceID/>\n");
	if (xf_instance_name(x, settings))
		xform_buf_str(x->b, "          <instanceName/>\n");
	if (audit)
		xform_buf_printf(x->b, "          <%s/>\n",
		    x->nodes.n[audit - 1].elem);
	xform_buf_printf(x->b, "        </meta>\n      </%s>\n    </instance>\n",
	    x->id);
	xf_lists(x);
}

static const char *
xf_bind_type(const struct xfn *n)
{
	static const char *const types[] = {
		[XFT_TEXT] = "string", [XFT_INTEGER] = "int",
		[XFT_DECIMAL] = "decimal", [XFT_DATE] = "date",
		[XFT_TIME] = "time", [XFT_DATETIME] = "dateTime",
		[XFT_SELECT_ONE] = "string", [XFT_SELECT_MULTIPLE] = "string",
		[XFT_GEOPOINT] = "geopoint", [XFT_CALCULATE] = "string",
		[XFT_ACKNOWLEDGE] = "string", [XFT_NONE] = NULL,
	};

	if (n->kind == XFN_NOTE)
		return "string";
	if (n->kind == XFN_AUDIT)
		return "binary";
	return n->kind == XFN_VALUE ? types[n->vt] : NULL;
}

/* ' attr="EXPR"' for node i's column col, when it has one. */
static void
xf_attr_expr(struct xf *x, int i, const char *attr, const char *src)
{
	xform_buf_printf(x->b, " %s=\"", attr);
	xf_expr(x, i, src, 0);
	xform_buf_str(x->b, "\"");
}

/* ' attr="jr:itext('PATH:form')"'. */
static void
xf_attr_itext(struct xf *x, int i, const char *attr, const char *form)
{
	xform_buf_printf(x->b, " %s=\"jr:itext('", attr);
	xf_path(x, i, x->b);
	xform_buf_printf(x->b, ":%s')\"", form);
}

/*
 * The check beside repeat i: relevant when the repeat's rules are
 * broken, then required and never satisfied, so an ODK engine will not
 * finalise the record; its label says what to fix.  The rules are the
 * board's: required is at least one item; the constraint holds when
 * there are items ('.' is the repeat's items); never more items than
 * FORM_MAX_REPEAT_ITEMS.
 */
static void
xf_check_bind(struct xf *x, int i)
{
	const struct xfn *n = &x->nodes.n[i];
	const char *rel = xf_col(n, "relevant"), *con = xf_col(n, "constraint");

	xform_buf_str(x->b, "    <bind nodeset=\"");
	xf_check_path(x, i, x->b);
	xform_buf_str(x->b, "\" type=\"string\" required=\"true()\" "
	    "constraint=\"false()\" relevant=\"");
	if (rel) {
		xform_buf_str(x->b, "(");
		xf_expr(x, i, rel, 0);
		xform_buf_str(x->b, ") and ");
	}
	xform_buf_str(x->b, "not(count(");
	xf_path(x, i, x->b);
	xform_buf_printf(x->b, ") &lt;= %d", FORM_MAX_REPEAT_ITEMS);
	if (xf_yes(n, "required")) {
		xform_buf_str(x->b, " and count(");
		xf_path(x, i, x->b);
		xform_buf_str(x->b, ") &gt;= 1");
	}
	if (con) {
		xform_buf_str(x->b, " and (count(");
		xf_path(x, i, x->b);
		xform_buf_str(x->b, ") = 0 or (");
		xf_expr(x, i, con, 0);
		xform_buf_str(x->b, "))");
	}
	xform_buf_str(x->b, ")\" jr:constraintMsg=\"jr:itext('");
	xf_check_path(x, i, x->b);
	xform_buf_str(x->b, ":label')\"/>\n");
}

static void
xf_binds(struct xf *x)
{
	const json_t *settings = json_object_get(x->def, "settings");
	const char *iname;

	for (size_t i = 0; i < x->nodes.count; i++) {
		const struct xfn *n = &x->nodes.n[i];
		const char *e, *type = xf_bind_type(n);

		if (xf_has_count(n)) {
			xform_buf_str(x->b, "    <bind nodeset=\"");
			xf_count_path(x, (int)i, x->b);
			xform_buf_str(x->b, "\" type=\"string\" readonly=\"true()\"");
			xf_attr_expr(x, (int)i, "calculate", xf_repeat_count(n));
			xform_buf_str(x->b, "/>\n");
		}
		if ((n->kind == XFN_GROUP || n->kind == XFN_REPEAT) &&
		    xf_col(n, "relevant") == NULL) {
			if (xf_has_check(n))
				xf_check_bind(x, (int)i);
			continue;
		}
		xform_buf_str(x->b, "    <bind nodeset=\"");
		xf_path(x, (int)i, x->b);
		xform_buf_str(x->b, "\"");
		if (type)
			xform_buf_printf(x->b, " type=\"%s\"", type);
		if ((e = xf_col(n, "relevant")))
			xf_attr_expr(x, (int)i, "relevant", e);
		if (n->kind == XFN_VALUE && xf_yes(n, "required")) {
			xform_buf_str(x->b, " required=\"true()\"");
			if (xf_has_text(x, n->row, "required_message"))
				xf_attr_itext(x, (int)i, "jr:requiredMsg",
				    "requiredMsg");
		}
		e = n->kind == XFN_VALUE ? xf_col(n, "constraint") : NULL;
		if (n->kind == XFN_VALUE && n->vt == XFT_DATETIME &&
		    n->preload == NULL) {
			/* the board takes a date and time with its offset,
			   which Collect always sends and a web client may not */
			xform_buf_str(x->b, " constraint=\"");
			if (e) {
				xform_buf_str(x->b, "(");
				xf_expr(x, (int)i, e, 0);
				xform_buf_str(x->b, ") and ");
			}
			xform_buf_str(x->b, "regex(., 'T.*(Z|[+-][0-9][0-9]:"
			    "[0-9][0-9])$')\"");
		} else if (e)
			xf_attr_expr(x, (int)i, "constraint", e);
		if (e && xf_has_text(x, n->row, "constraint_message"))
			xf_attr_itext(x, (int)i, "jr:constraintMsg",
			    "constraintMsg");
		if (n->kind == XFN_NOTE || (n->kind == XFN_VALUE &&
		    xf_yes(n, "read_only")))
			xform_buf_str(x->b, " readonly=\"true()\"");
		if ((n->kind == XFN_VALUE || n->kind == XFN_NOTE) &&
		    (e = xf_col(n, "calculation")) && !xf_col(n, "trigger"))
			xf_attr_expr(x, (int)i, "calculate", e);
		if (n->preload)
			xform_buf_printf(x->b, " jr:preload=\"%s\" "
			    "jr:preloadParams=\"%s\"", n->preload, n->params);
		xform_buf_str(x->b, "/>\n");
		if (xf_has_check(n))
			xf_check_bind(x, (int)i);
	}
	xform_buf_printf(x->b, "    <bind nodeset=\"/%s/meta/instanceID\" "
	    "type=\"string\" readonly=\"true()\" jr:preload=\"uid\"/>\n",
	    x->id);
	if ((iname = xf_instance_name(x, settings)) != NULL) {
		xform_buf_printf(x->b, "    <bind nodeset=\"/%s/meta/"
		    "instanceName\" type=\"string\" calculate=\"", x->id);
		xf_expr(x, -1, iname, 0);
		xform_buf_str(x->b, "\"/>\n");
	}
	/* defaults computed when the form opens; a repeat's fields get
	   theirs in the body, at each new item */
	for (size_t i = 0; i < x->nodes.count; i++) {
		const struct xfn *n = &x->nodes.n[i];
		const char *d = xf_col(n, "default");

		if (n->kind != XFN_VALUE || d == NULL || xf_literal_default(d) ||
		    n->repeat >= 0)
			continue;
		xform_buf_str(x->b, "    <setvalue event=\"odk-instance-first-"
		    "load\" ref=\"");
		xf_path(x, (int)i, x->b);
		xform_buf_str(x->b, "\"");
		xf_attr_expr(x, (int)i, "value", d);
		xform_buf_str(x->b, "/>\n");
	}
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

/* setvalue actions of the questions whose trigger is node i: their
   calculation set each time i changes. */
static void
xf_triggered(struct xf *x, int i, const char *ind)
{
	const struct xfn *t = &x->nodes.n[i];

	for (size_t k = 0; x->triggers && k < x->nodes.count; k++) {
		const struct xfn *n = &x->nodes.n[k];
		const char *tr = xf_col(n, "trigger"), *calc;
		size_t len = strlen(t->name);

		if (tr == NULL || strncmp(tr, "${", 2) != 0 ||
		    strncmp(tr + 2, t->name, len) != 0 || tr[2 + len] != '}' ||
		    tr[3 + len] != '\0')
			continue;
		xform_buf_printf(x->b, "%s  <setvalue event=\"xforms-value-"
		    "changed\" ref=\"", ind);
		xf_path(x, (int)k, x->b);
		xform_buf_str(x->b, "\"");
		if ((calc = xf_col(n, "calculation")))
			xf_attr_expr(x, (int)k, "value", calc);
		xform_buf_str(x->b, "/>\n");
	}
}

static void
xf_control(struct xf *x, int i, const char *ind)
{
	const struct xfn *n = &x->nodes.n[i];
	const char *elem = n->vt == XFT_SELECT_ONE ? "select1" :
	    n->vt == XFT_SELECT_MULTIPLE ? "select" :
	    n->vt == XFT_ACKNOWLEDGE ? "trigger" : "input";
	const char *app = xf_col(n, "appearance");
	const json_t *choices = json_object_get(x->def, "choices"), *ch;
	size_t k;

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
	if (xf_has_text(x, n->row, "hint")) {
		xform_buf_printf(x->b, "%s  ", ind);
		xf_ref(x, "hint", i, NULL, "hint");
		xform_buf_str(x->b, "\n");
	}
	if (xf_itemset(x, n)) {
		xform_buf_printf(x->b, "%s  <itemset nodeset=\"instance('",
		    ind);
		xform_buf_add(x->b, n->list, n->list_len);
		xform_buf_str(x->b, "')/root/item");
		if (xf_col(n, "choice_filter")) {
			xform_buf_str(x->b, "[");
			xf_expr(x, i, xf_col(n, "choice_filter"), 1);
			xform_buf_str(x->b, "]");
		}
		xform_buf_printf(x->b, "\"><value ref=\"name\"/><label "
		    "ref=\"jr:itext(itextId)\"/></itemset>\n");
	} else if (n->list) {
		json_array_foreach(choices, k, ch) {
			const char *cn = json_string_value(json_object_get(ch,
			    "name"));
			char id[32];

			if (!xf_list_is(ch, n))
				continue;
			xform_buf_printf(x->b, "%s  <item>", ind);
			xf_ref(x, "label", i, xf_choice_id(cn, k, id, sizeof(id)),
			    "label");
			xform_buf_str(x->b, "<value>");
			xform_buf_esc(x->b, cn);
			xform_buf_str(x->b, "</value></item>\n");
		}
	}
	xf_triggered(x, i, ind);
	xform_buf_printf(x->b, "%s</%s>\n", ind, elem);
}

static void
xf_body_nodes(struct xf *x, int parent, int indent)
{
	size_t i = parent < 0 ? 0 : (size_t)parent + 1;
	size_t end = parent < 0 ? x->nodes.count :
	    (size_t)x->nodes.n[parent].end;
	char ind[80];

	snprintf(ind, sizeof(ind), "%*s", indent < 70 ? indent : 70, "");
	while (i < end) {
		const struct xfn *n = &x->nodes.n[i];
		const char *app = xf_col(n, "appearance"), *e;

		if (n->kind == XFN_VALUE || n->kind == XFN_NOTE) {
			if (!n->hidden)
				xf_control(x, (int)i, ind);
			i++;
			continue;
		}
		if (n->kind != XFN_GROUP && n->kind != XFN_REPEAT) {
			i++;
			continue;
		}
		xform_buf_printf(x->b, "%s<group ref=\"", ind);
		xf_path(x, (int)i, x->b);
		xform_buf_str(x->b, "\"");
		if (app && n->kind == XFN_GROUP) {
			xform_buf_str(x->b, " appearance=\"");
			xform_buf_esc(x->b, app);
			xform_buf_str(x->b, "\"");
		}
		xform_buf_str(x->b, ">\n");
		if (xf_labelled(x, n)) {
			xform_buf_printf(x->b, "%s  ", ind);
			xf_ref(x, "label", (int)i, NULL, "label");
			xform_buf_str(x->b, "\n");
		}
		if (n->kind == XFN_GROUP) {
			xf_body_nodes(x, (int)i, indent + 2);
			xform_buf_printf(x->b, "%s</group>\n", ind);
			i = (size_t)n->end;
			continue;
		}
		xform_buf_printf(x->b, "%s  <repeat nodeset=\"", ind);
		xf_path(x, (int)i, x->b);
		xform_buf_str(x->b, "\"");
		if (xf_has_count(n)) {
			xform_buf_str(x->b, " jr:count=\"");
			xf_count_path(x, (int)i, x->b);
			xform_buf_str(x->b, "\" jr:noAddRemove=\"true()\"");
		} else if ((e = xf_repeat_count(n))) {
			xf_attr_expr(x, (int)i, "jr:count", e);
			xform_buf_str(x->b, " jr:noAddRemove=\"true()\"");
		}
		if (app) {
			xform_buf_str(x->b, " appearance=\"");
			xform_buf_esc(x->b, app);
			xform_buf_str(x->b, "\"");
		}
		xform_buf_str(x->b, ">\n");
		for (size_t k = i + 1; k < (size_t)n->end; k++) {
			const struct xfn *m = &x->nodes.n[k];
			const char *d = xf_col(m, "default");

			if (m->kind != XFN_VALUE || d == NULL ||
			    xf_literal_default(d))
				continue;
			xform_buf_printf(x->b, "%s    <setvalue event=\"odk-new-"
			    "repeat\" ref=\"", ind);
			xf_path(x, (int)k, x->b);
			xform_buf_str(x->b, "\"");
			xf_attr_expr(x, (int)k, "value", d);
			xform_buf_str(x->b, "/>\n");
		}
		xf_body_nodes(x, (int)i, indent + 4);
		xform_buf_printf(x->b, "%s  </repeat>\n%s</group>\n", ind, ind);
		if (xf_has_check(n)) {
			xform_buf_printf(x->b, "%s<input ref=\"", ind);
			xf_check_path(x, (int)i, x->b);
			xform_buf_str(x->b, "\"><label ref=\"jr:itext('");
			xf_check_path(x, (int)i, x->b);
			xform_buf_str(x->b, ":label')\"/></input>\n");
		}
		i = (size_t)n->end;
	}
}

static void
xf_body(struct xf *x)
{
	xform_buf_str(x->b, "  <h:body>\n");
	xf_body_nodes(x, -1, 4);
	xform_buf_str(x->b, "  </h:body>\n");
}

/*
 * What an XForm from here cannot carry, or NULL: a trigger that names
 * anything but one ${field} (pyxform takes no more either).
 */
static const char *
xf_uncarried(struct xf *x, char *why, size_t whylen)
{
	for (size_t i = 0; i < x->nodes.count; i++) {
		const struct xfn *n = &x->nodes.n[i];
		const char *tr = xf_col(n, "trigger");
		int j;

		if (tr == NULL)
			continue;
		x->triggers = 1;
		if (strncmp(tr, "${", 2) != 0 || tr[strlen(tr) - 1] != '}' ||
		    (j = xfnodes_find(&x->nodes, tr + 2, strlen(tr) - 3)) < 0 ||
		    x->nodes.n[j].kind != XFN_VALUE || x->nodes.n[j].hidden) {
			snprintf(why, whylen, "%s: a trigger must name one "
			    "question as ${name}", n->name);
			return why;
		}
	}
	return NULL;
}

/* The XForm into b (which may be hashing): 0, or -1 with errno. */
static int
xf_build(const struct form *f, struct xform_buf *b, char *why,
    size_t whylen)
{
	struct xf *x;

	why[0] = '\0';
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	x->id = form_id(f);
	x->b = b;
	if (xfnodes_build(f, &x->nodes, why, whylen) != 0) {
		int e = errno;

		free(x);
		errno = e;
		return -1;
	}
	x->def = x->nodes.def;
	if ((x->itemset = calloc(x->nodes.count + 1, 1)) == NULL) {
		xfnodes_free(&x->nodes);
		free(x);
		errno = ENOMEM;
		return -1;
	}
	if (xf_uncarried(x, why, whylen) != NULL) {
		xfnodes_free(&x->nodes);
		free(x->itemset);
		free(x);
		errno = ENOTSUP;
		return -1;
	}
	xf_itemsets(x);
	xf_langs(x);
	xform_buf_str(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<h:html xmlns=\"http://www.w3.org/2002/xforms\""
	    " xmlns:h=\"http://www.w3.org/1999/xhtml\""
	    " xmlns:ev=\"http://www.w3.org/2001/xml-events\""
	    " xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\""
	    " xmlns:jr=\"http://openrosa.org/javarosa\""
	    " xmlns:orx=\"http://openrosa.org/xforms\""
	    " xmlns:odk=\"http://www.opendatakit.org/xforms\">\n"
	    "  <h:head>\n    <h:title>");
	xform_buf_esc(b, form_title(f));
	xform_buf_str(b, "</h:title>\n"
	    "    <model odk:xforms-version=\"1.0.0\">\n    <itext>\n");
	for (size_t l = 0; l < x->n_langs; l++)
		xf_translation(x, x->langs[l]);
	xform_buf_str(b, "    </itext>\n");
	xf_instance(x);
	xf_binds(x);
	xform_buf_str(b, "    </model>\n  </h:head>\n");
	xf_body(x);
	xform_buf_str(b, "</h:html>\n");
	xfnodes_free(&x->nodes);
	free(x->itemset);
	free(x);
	if (b->oom) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

char *
xform_build_why(const struct form *f, size_t *len, char *why, size_t whylen)
{
	struct xform_buf b = { 0 };
	char *out;

	if (xf_build(f, &b, why, whylen) != 0) {
		int e = errno;

		free(b.s);
		errno = e;
		return NULL;
	}
	if ((out = xform_buf_take(&b, len)) == NULL)
		errno = ENOMEM;
	return out;
}

int
xform_hash(const struct form *f, char out[37])
{
	mbedtls_md5_context md5;
	struct xform_buf b = { 0 };
	unsigned char h[16];
	char why[160];
	int rc, e = 0;

	mbedtls_md5_init(&md5);
	mbedtls_md5_starts_ret(&md5);
	b.md5 = &md5;
	if ((rc = xf_build(f, &b, why, sizeof(why))) == 0)
		mbedtls_md5_update_ret(&md5, (const unsigned char *)b.s, b.len);
	else
		e = errno;
	mbedtls_md5_finish_ret(&md5, h);
	mbedtls_md5_free(&md5);
	free(b.s);
	if (rc != 0) {
		errno = e;
		return -1;
	}
	memcpy(out, "md5:", 4);
	util_hex(h, sizeof(h), out + 4);
	return 0;
}



char *
xform_build(const struct form *f, size_t *len)
{
	char why[160];

	return xform_build_why(f, len, why, sizeof(why));
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
		char hash[37];

		if (only_id && strcmp(only_id, form_id(f)) != 0)
			continue;
		if (xform_hash(f, hash) != 0) {
			if (errno == ENOTSUP)
				continue;	/* not for ODK clients */
			b.oom = 1;
			break;
		}
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
