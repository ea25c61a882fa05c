/*
 * expr.c: see expr.h.
 *
 * The parser is recursive descent over a flat token scan; it builds a tree
 * of struct node, one per operator, literal, reference or call.  Literal
 * regex() patterns are compiled at parse time and kept in their node, so
 * evaluation allocates nothing: values are numbers, booleans, or strings
 * borrowed from literals or from the resolver.
 */
#include "form/expr.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum node_type {
	N_NUM, N_STR, N_DOT, N_REF,
	N_OR, N_AND, N_EQ, N_NE, N_LT, N_LE, N_GT, N_GE,
	N_ADD, N_SUB, N_MUL, N_DIV, N_MOD, N_NEG, N_CALL
};

enum fn {
	F_SELECTED, F_COUNT_SELECTED, F_STRING_LENGTH, F_REGEX, F_TODAY,
	F_COUNT, F_COUNT_IF, F_COALESCE, F_NUMBER, F_NOT, F_IF, F_TRUE,
	F_FALSE
};

static const struct {
	const char *name;
	int nargs;
} expr_fns[] = {
	[F_SELECTED] = { "selected", 2 },
	[F_COUNT_SELECTED] = { "count-selected", 1 },
	[F_STRING_LENGTH] = { "string-length", 1 },
	[F_REGEX] = { "regex", 2 },
	[F_TODAY] = { "today", 0 },
	[F_COUNT] = { "count", 1 },
	[F_COUNT_IF] = { "count-if", 2 },
	[F_COALESCE] = { "coalesce", 2 },
	[F_NUMBER] = { "number", 1 },
	[F_NOT] = { "not", 1 },
	[F_IF] = { "if", 3 },
	[F_TRUE] = { "true", 0 },
	[F_FALSE] = { "false", 0 },
};
#define EXPR_N_FNS (sizeof(expr_fns) / sizeof(expr_fns[0]))

struct node {
	enum node_type t;
	double num;		/* N_NUM */
	char *str;		/* N_STR text, N_REF name */
	enum fn fn;		/* N_CALL */
	int nargs;
	struct node *a[3];
	regex_t *re;		/* N_CALL regex with a literal pattern */
};

struct expr {
	struct node *root;
};

struct parser {
	const char *src, *p;
	int depth;
	char *err;
	size_t errlen;
	int failed;
};

static void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	for (int i = 0; i < 3; i++)
		node_free(n->a[i]);
	if (n->re) {
		regfree(n->re);
		free(n->re);
	}
	free(n->str);
	free(n);
}

static struct node *
p_fail(struct parser *ps, const char *what)
{
	if (!ps->failed)
		snprintf(ps->err, ps->errlen, "offset %d: %s",
		    (int)(ps->p - ps->src), what);
	ps->failed = 1;
	return NULL;
}

static void
p_space(struct parser *ps)
{
	while (isspace((unsigned char)*ps->p))
		ps->p++;
}

/* Consumes op when it is next (words must not run on into a name). */
static int
p_accept(struct parser *ps, const char *op)
{
	size_t n = strlen(op);

	p_space(ps);
	if (strncmp(ps->p, op, n) != 0)
		return 0;
	if (isalpha((unsigned char)op[0]) &&
	    (isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_' ||
	    ps->p[n] == '-'))
		return 0;
	/* "<" must not take the first half of "<=", nor "=" of "!=". */
	if ((op[0] == '<' || op[0] == '>') && n == 1 && ps->p[1] == '=')
		return 0;
	ps->p += n;
	return 1;
}

static struct node *
node_new(struct parser *ps, enum node_type t)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		p_fail(ps, "out of memory");
	else
		n->t = t;
	return n;
}

static struct node *p_or(struct parser *ps);

static struct node *
node_bin(struct parser *ps, enum node_type t, struct node *l,
    struct node *(*next)(struct parser *))
{
	struct node *n, *r = next(ps);

	if (r == NULL || (n = node_new(ps, t)) == NULL) {
		node_free(l);
		node_free(r);
		return NULL;
	}
	n->a[0] = l;
	n->a[1] = r;
	return n;
}

static struct node *
p_string(struct parser *ps)
{
	char q = *ps->p++;
	const char *start = ps->p;
	struct node *n;

	while (*ps->p && *ps->p != q)
		ps->p++;
	if (*ps->p != q)
		return p_fail(ps, "unterminated string");
	if ((n = node_new(ps, N_STR)) == NULL)
		return NULL;
	n->str = strndup(start, (size_t)(ps->p - start));
	ps->p++;
	if (n->str == NULL) {
		node_free(n);
		return p_fail(ps, "out of memory");
	}
	return n;
}

static struct node *
p_call(struct parser *ps, const char *name, size_t len)
{
	struct node *n;
	size_t f;

	for (f = 0; f < EXPR_N_FNS; f++)
		if (strlen(expr_fns[f].name) == len &&
		    strncmp(expr_fns[f].name, name, len) == 0)
			break;
	if (f == EXPR_N_FNS)
		return p_fail(ps, "unknown function");
	if ((n = node_new(ps, N_CALL)) == NULL)
		return NULL;
	n->fn = (enum fn)f;
	p_space(ps);
	if (!p_accept(ps, ")")) {
		do {
			if (n->nargs == 3) {
				node_free(n);
				return p_fail(ps, "too many arguments");
			}
			if ((n->a[n->nargs++] = p_or(ps)) == NULL) {
				node_free(n);
				return NULL;
			}
		} while (p_accept(ps, ","));
		if (!p_accept(ps, ")")) {
			node_free(n);
			return p_fail(ps, "expected ')' or ','");
		}
	}
	if (n->nargs != expr_fns[f].nargs) {
		char what[80];
		snprintf(what, sizeof(what), "%s() takes %d argument(s)",
		    expr_fns[f].name, expr_fns[f].nargs);
		node_free(n);
		return p_fail(ps, what);
	}
	if (n->fn == F_REGEX && n->a[1]->t == N_STR) {
		char *pat;
		size_t plen = strlen(n->a[1]->str) + 5;

		if ((n->re = malloc(sizeof(*n->re))) == NULL ||
		    (pat = malloc(plen)) == NULL) {
			free(n->re);
			n->re = NULL;
			node_free(n);
			return p_fail(ps, "out of memory");
		}
		snprintf(pat, plen, "^(%s)$", n->a[1]->str);
		if (regcomp(n->re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
			free(pat);
			free(n->re);
			n->re = NULL;
			node_free(n);
			return p_fail(ps, "regex() pattern does not compile");
		}
		free(pat);
	}
	return n;
}

static struct node *
p_primary(struct parser *ps)
{
	struct node *n;
	const char *start;

	p_space(ps);
	if (++ps->depth > EXPR_MAX_DEPTH)
		return p_fail(ps, "nested too deeply");
	if (*ps->p == '\'' || *ps->p == '"')
		n = p_string(ps);
	else if (isdigit((unsigned char)*ps->p) || (*ps->p == '.' &&
	    isdigit((unsigned char)ps->p[1]))) {
		char *end;
		if ((n = node_new(ps, N_NUM)) != NULL) {
			n->num = strtod(ps->p, &end);
			ps->p = end;
		}
	} else if (*ps->p == '.') {
		ps->p++;
		n = node_new(ps, N_DOT);
	} else if (ps->p[0] == '$' && ps->p[1] == '{') {
		ps->p += 2;
		start = ps->p;
		if (!isalpha((unsigned char)*ps->p) && *ps->p != '_')
			return p_fail(ps, "expected a field name after ${");
		while (isalnum((unsigned char)*ps->p) || *ps->p == '_')
			ps->p++;
		if (*ps->p != '}')
			return p_fail(ps, "expected '}'");
		if ((n = node_new(ps, N_REF)) != NULL &&
		    (n->str = strndup(start, (size_t)(ps->p - start))) == NULL) {
			node_free(n);
			return p_fail(ps, "out of memory");
		}
		ps->p++;
	} else if (*ps->p == '(') {
		ps->p++;
		n = p_or(ps);
		if (n && !p_accept(ps, ")")) {
			node_free(n);
			return p_fail(ps, "expected ')'");
		}
	} else if (isalpha((unsigned char)*ps->p)) {
		start = ps->p;
		while (isalnum((unsigned char)*ps->p) || *ps->p == '-' ||
		    *ps->p == '_')
			ps->p++;
		size_t len = (size_t)(ps->p - start);
		p_space(ps);
		if (*ps->p != '(') {
			ps->p = start;
			return p_fail(ps, "expected a value");
		}
		ps->p++;
		n = p_call(ps, start, len);
	} else {
		return p_fail(ps, *ps->p ? "expected a value" :
		    "unexpected end of expression");
	}
	ps->depth--;
	return n;
}

static struct node *
p_unary(struct parser *ps)
{
	struct node *n, *a;

	if (p_accept(ps, "-")) {
		if (++ps->depth > EXPR_MAX_DEPTH)
			return p_fail(ps, "nested too deeply");
		if ((a = p_unary(ps)) == NULL)
			return NULL;
		ps->depth--;
		if ((n = node_new(ps, N_NEG)) == NULL) {
			node_free(a);
			return NULL;
		}
		n->a[0] = a;
		return n;
	}
	return p_primary(ps);
}

static struct node *
p_mul(struct parser *ps)
{
	struct node *n = p_unary(ps);

	while (n) {
		if (p_accept(ps, "*"))
			n = node_bin(ps, N_MUL, n, p_unary);
		else if (p_accept(ps, "div"))
			n = node_bin(ps, N_DIV, n, p_unary);
		else if (p_accept(ps, "mod"))
			n = node_bin(ps, N_MOD, n, p_unary);
		else
			break;
	}
	return n;
}

static struct node *
p_add(struct parser *ps)
{
	struct node *n = p_mul(ps);

	while (n) {
		if (p_accept(ps, "+"))
			n = node_bin(ps, N_ADD, n, p_mul);
		else if (p_accept(ps, "-"))
			n = node_bin(ps, N_SUB, n, p_mul);
		else
			break;
	}
	return n;
}

static struct node *
p_cmp(struct parser *ps)
{
	static const struct {
		const char *op;
		enum node_type t;
	} ops[] = { { "!=", N_NE }, { "<=", N_LE }, { ">=", N_GE },
	    { "=", N_EQ }, { "<", N_LT }, { ">", N_GT } };
	struct node *n = p_add(ps);
	size_t i;

	while (n) {
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (p_accept(ps, ops[i].op))
				break;
		if (i == sizeof(ops) / sizeof(ops[0]))
			break;
		n = node_bin(ps, ops[i].t, n, p_add);
	}
	return n;
}

static struct node *
p_and(struct parser *ps)
{
	struct node *n = p_cmp(ps);

	while (n && p_accept(ps, "and"))
		n = node_bin(ps, N_AND, n, p_cmp);
	return n;
}

static struct node *
p_or(struct parser *ps)
{
	struct node *n;

	if (++ps->depth > EXPR_MAX_DEPTH)
		return p_fail(ps, "nested too deeply");
	n = p_and(ps);
	while (n && p_accept(ps, "or"))
		n = node_bin(ps, N_OR, n, p_and);
	ps->depth--;
	return n;
}

int
expr_parse(const char *src, struct expr **out, char *err, size_t errlen)
{
	struct parser ps = { src, src, 0, err, errlen, 0 };
	struct node *root;

	*out = NULL;
	if (strlen(src) > EXPR_MAX_SRC) {
		snprintf(err, errlen, "offset %d: expression longer than %d "
		    "bytes", EXPR_MAX_SRC, EXPR_MAX_SRC);
		return -1;
	}
	root = p_or(&ps);
	if (root == NULL)
		return -1;
	p_space(&ps);
	if (*ps.p != '\0') {
		node_free(root);
		p_fail(&ps, "unexpected text after the expression");
		return -1;
	}
	if ((*out = malloc(sizeof(**out))) == NULL) {
		node_free(root);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	(*out)->root = root;
	return 0;
}

void
expr_free(struct expr *e)
{
	if (e == NULL)
		return;
	node_free(e->root);
	free(e);
}

/* Evaluation. */

static int
v_str_num(const char *s, double *out)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return 0;
	*out = strtod(s, &end);
	while (isspace((unsigned char)*end))
		end++;
	return *end == '\0' && !isnan(*out);
}

static double
v_num(const struct expr_value *v)
{
	double d;

	switch (v->kind) {
	case EXPR_NUM: return v->num;
	case EXPR_BOOL: return v->boolean ? 1 : 0;
	case EXPR_STR: return v_str_num(v->str, &d) ? d : NAN;
	case EXPR_REPEAT: return (double)v->count;
	default: return NAN;
	}
}

static int
v_bool(const struct expr_value *v)
{
	switch (v->kind) {
	case EXPR_BOOL: return v->boolean;
	case EXPR_NUM: return v->num != 0 && !isnan(v->num);
	case EXPR_STR: return v->str[0] != '\0';
	case EXPR_REPEAT: return v->count > 0;
	default: return 0;
	}
}

static const char *
v_text(const struct expr_value *v)
{
	return v->kind == EXPR_STR ? v->str : "";
}

static struct expr_value
v_make_num(double d)
{
	struct expr_value v = { .kind = EXPR_NUM, .num = d };
	return v;
}

static struct expr_value
v_make_bool(int b)
{
	struct expr_value v = { .kind = EXPR_BOOL, .boolean = b ? 1 : 0 };
	return v;
}

/* Compares per expr.h; returns <0, 0, >0, or 2 when unordered (NaN). */
static int
v_compare(const struct expr_value *a, const struct expr_value *b)
{
	double x, y;

	if (a->kind == EXPR_BOOL || b->kind == EXPR_BOOL)
		return v_bool(a) - v_bool(b);
	if (a->kind == EXPR_NUM || b->kind == EXPR_NUM ||
	    (a->kind == EXPR_STR && b->kind == EXPR_STR &&
	    v_str_num(a->str, &x) && v_str_num(b->str, &y))) {
		x = v_num(a);
		y = v_num(b);
		if (isnan(x) || isnan(y))
			return 2;
		return x < y ? -1 : x > y;
	}
	int c = strcmp(v_text(a), v_text(b));
	return c < 0 ? -1 : c > 0;
}

/* Choice names in a select_multiple answer (space-separated). */
static int
v_has_choice(const char *list, const char *c)
{
	size_t n = strlen(c);

	if (n == 0)
		return 0;
	for (const char *p = list; *p;) {
		while (*p == ' ')
			p++;
		size_t len = strcspn(p, " ");
		if (len == n && strncmp(p, c, n) == 0)
			return 1;
		p += len;
	}
	return 0;
}

static size_t
v_count_choices(const char *list)
{
	size_t n = 0;

	for (const char *p = list; *p;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		n++;
		p += strcspn(p, " ");
	}
	return n;
}

static size_t
v_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int eval(const struct node *n, const struct expr_env *env,
    struct expr_value *out);

static int
eval_call(const struct node *n, const struct expr_env *env,
    struct expr_value *out)
{
	struct expr_value a = { 0 }, b = { 0 };

	if (n->nargs > 0 && n->fn != F_COUNT_IF && n->fn != F_IF &&
	    eval(n->a[0], env, &a) != 0)
		return -1;
	if (n->nargs > 1 && n->fn != F_COUNT_IF && n->fn != F_IF &&
	    n->fn != F_COALESCE && eval(n->a[1], env, &b) != 0)
		return -1;
	switch (n->fn) {
	case F_SELECTED:
		*out = v_make_bool(v_has_choice(v_text(&a), v_text(&b)));
		return 0;
	case F_COUNT_SELECTED:
		*out = v_make_num((double)v_count_choices(v_text(&a)));
		return 0;
	case F_STRING_LENGTH:
		*out = v_make_num((double)v_utf8_len(v_text(&a)));
		return 0;
	case F_REGEX: {
		if (n->re == NULL)	/* patterns must be literals */
			return -1;
		*out = v_make_bool(regexec(n->re, v_text(&a), 0, NULL, 0) ==
		    0);
		return 0;
	}
	case F_TODAY:
		out->kind = EXPR_STR;
		out->str = env->today ? env->today : "";
		out->is_multi = 0;
		return 0;
	case F_COUNT:
		if (a.kind != EXPR_REPEAT && a.kind != EXPR_EMPTY)
			return -1;
		*out = v_make_num(a.kind == EXPR_REPEAT ? (double)a.count : 0);
		return 0;
	case F_COUNT_IF: {
		size_t k = 0;

		if (eval(n->a[0], env, &a) != 0)
			return -1;
		if (a.kind == EXPR_EMPTY) {
			*out = v_make_num(0);
			return 0;
		}
		if (a.kind != EXPR_REPEAT || env->enter == NULL)
			return -1;
		for (size_t i = 0; i < a.count; i++) {
			struct expr_env inner = *env;
			struct expr_value c;

			inner.item = env->enter(env->ctx, a.repeat, i);
			if (eval(n->a[1], &inner, &c) != 0)
				return -1;
			k += (size_t)v_bool(&c);
		}
		*out = v_make_num((double)k);
		return 0;
	}
	case F_COALESCE:
		if ((a.kind == EXPR_STR && a.str[0] != '\0') ||
		    (a.kind != EXPR_STR && a.kind != EXPR_EMPTY)) {
			*out = a;
			return 0;
		}
		return eval(n->a[1], env, out);
	case F_NUMBER:
		*out = v_make_num(v_num(&a));
		return 0;
	case F_NOT:
		*out = v_make_bool(!v_bool(&a));
		return 0;
	case F_IF:
		if (eval(n->a[0], env, &a) != 0)
			return -1;
		return eval(n->a[v_bool(&a) ? 1 : 2], env, out);
	case F_TRUE:
	case F_FALSE:
		*out = v_make_bool(n->fn == F_TRUE);
		return 0;
	}
	return -1;
}

static int
eval(const struct node *n, const struct expr_env *env, struct expr_value *out)
{
	struct expr_value a, b;
	int c;

	memset(out, 0, sizeof(*out));
	switch (n->t) {
	case N_NUM:
		*out = v_make_num(n->num);
		return 0;
	case N_STR:
		out->kind = EXPR_STR;
		out->str = n->str;
		return 0;
	case N_DOT:
	case N_REF:
		if (env->resolve(env->ctx, env->item, n->t == N_DOT ? NULL :
		    n->str, out) != 0)
			return -1;
		if (out->kind == EXPR_STR && out->str == NULL)
			out->kind = EXPR_EMPTY;
		return 0;
	case N_CALL:
		return eval_call(n, env, out);
	case N_NEG:
		if (eval(n->a[0], env, &a) != 0)
			return -1;
		*out = v_make_num(-v_num(&a));
		return 0;
	case N_AND:
	case N_OR:
		if (eval(n->a[0], env, &a) != 0)
			return -1;
		if (v_bool(&a) == (n->t == N_OR)) {
			*out = v_make_bool(n->t == N_OR);
			return 0;
		}
		if (eval(n->a[1], env, &b) != 0)
			return -1;
		*out = v_make_bool(v_bool(&b));
		return 0;
	default:
		break;
	}
	if (eval(n->a[0], env, &a) != 0 || eval(n->a[1], env, &b) != 0)
		return -1;
	switch (n->t) {
	case N_ADD: *out = v_make_num(v_num(&a) + v_num(&b)); return 0;
	case N_SUB: *out = v_make_num(v_num(&a) - v_num(&b)); return 0;
	case N_MUL: *out = v_make_num(v_num(&a) * v_num(&b)); return 0;
	case N_DIV: *out = v_make_num(v_num(&a) / v_num(&b)); return 0;
	case N_MOD: *out = v_make_num(fmod(v_num(&a), v_num(&b))); return 0;
	default: break;
	}
	c = v_compare(&a, &b);
	switch (n->t) {
	case N_EQ: *out = v_make_bool(c == 0); return 0;
	case N_NE: *out = v_make_bool(c != 0); return 0;
	case N_LT: *out = v_make_bool(c == -1); return 0;
	case N_LE: *out = v_make_bool(c == -1 || c == 0); return 0;
	case N_GT: *out = v_make_bool(c == 1); return 0;
	case N_GE: *out = v_make_bool(c == 1 || c == 0); return 0;
	default: return -1;
	}
}

int
expr_eval_bool(const struct expr *e, const struct expr_env *env)
{
	struct expr_value v;

	if (eval(e->root, env, &v) != 0)
		return -1;
	return v_bool(&v);
}

static void
names_walk(const struct node *n, void (*fn)(void *, const char *), void *arg)
{
	if (n == NULL)
		return;
	if (n->t == N_REF)
		fn(arg, n->str);
	for (int i = 0; i < 3; i++)
		names_walk(n->a[i], fn, arg);
}

void
expr_names(const struct expr *e, void (*fn)(void *, const char *), void *arg)
{
	names_walk(e->root, fn, arg);
}
