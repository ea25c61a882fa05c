/*
 * expr.c: the XLSForm expression language of `constraint` and `relevant`
 * (see expr.h for the grammar and the value rules).
 *
 * A hand-written lexer hands tokens to a recursive-descent parser, one
 * function per precedence level.  Binary operators of one level are folded
 * in a loop (left-associative), so only parentheses, calls and unary minus
 * recurse; each of those counts one level of nesting against
 * EXPR_MAX_DEPTH, checked before the recursive call.  The source is at most
 * EXPR_MAX_SRC bytes, which bounds the tree too (a left-deep chain such as
 * 1+1+...+1 is at most EXPR_MAX_SRC / 2 nodes high).
 *
 * The tree: every node is a struct node.
 *
 *	N_NUM	num				number literal
 *	N_STR	str				string literal
 *	N_DOT					`.`, the current field
 *	N_REF	str				${str}
 *	N_NEG	kid[0]				unary minus
 *	N_OR .. N_MOD  kid[0] op kid[1]		binary operators
 *	N_CALL	fn, nargs, kid[0..nargs-1]	function call; re holds the
 *						compiled pattern of regex()
 *						when kid[1] is a literal
 *
 * Evaluation walks the tree and allocates nothing: a value is a number, a
 * boolean, or a string borrowed from the tree, from the resolver or from a
 * small buffer in the caller's frame (numbers turned into text).  The only
 * strings built are a dynamic regex() pattern and number text, both in
 * fixed buffers no larger than EXPR_MAX_STR.  The tree is never written
 * after parsing, so one parsed expression may be evaluated by several
 * threads at once (POSIX regexec() is thread-safe).
 */
#include "form/expr.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum node_type {
	N_NUM, N_STR, N_DOT, N_REF, N_NEG,
	N_OR, N_AND, N_EQ, N_NE, N_LT, N_LE, N_GT, N_GE,
	N_ADD, N_SUB, N_MUL, N_DIV, N_MOD,
	N_CALL
};

enum fn {
	F_SELECTED, F_COUNT_SELECTED, F_STRING_LENGTH, F_REGEX, F_TODAY,
	F_COUNT, F_COUNT_IF, F_COALESCE, F_NUMBER, F_NOT, F_IF, F_TRUE,
	F_FALSE
};

#define FN_MAX_ARGS 3

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
#define EXPR_NFNS (sizeof(expr_fns) / sizeof(expr_fns[0]))

struct node {
	enum node_type type;
	enum fn fn;			/* N_CALL */
	int nargs;			/* N_CALL */
	struct node *kid[FN_MAX_ARGS];
	double num;			/* N_NUM */
	char *str;			/* N_STR text, N_REF name */
	regex_t *re;			/* N_CALL regex() with a literal */
};

struct expr {
	struct node *root;
};

/* Lexer. */

enum tok_type {
	T_END, T_BAD, T_NUM, T_STR, T_DOT, T_REF, T_WORD,
	T_LPAREN, T_RPAREN, T_COMMA,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_PLUS, T_MINUS, T_STAR,
	T_AND, T_OR, T_DIV, T_MOD
};

struct tok {
	enum tok_type type;
	size_t off;			/* byte offset of the token */
	size_t len;
	const char *text;		/* T_STR, T_REF: contents; T_WORD */
	size_t tlen;
};

struct parser {
	const char *src;
	size_t pos;			/* where the next token starts */
	struct tok tok;			/* the current token */
	int depth;
	int failed;
	char *err;
	size_t errlen;
};

static int
p_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
p_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static int
p_isword(int c)
{
	return p_isalpha(c) || p_isdigit(c) || c == '_';
}

static int
p_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void p_error(struct parser *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first error only: later ones are consequences of it. */
static void
p_error(struct parser *ps, size_t off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;
	ps->failed = 1;
	if (ps->err == NULL || ps->errlen == 0)
		return;
	n = snprintf(ps->err, ps->errlen, "offset %zu: ", off);
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Length of a number at s (Digits ('.' Digits?)? | '.' Digits), or 0. */
static size_t
num_span(const char *s)
{
	size_t i = 0;

	if (p_isdigit((unsigned char)s[0])) {
		while (p_isdigit((unsigned char)s[i]))
			i++;
		if (s[i] == '.')
			for (i++; p_isdigit((unsigned char)s[i]); i++)
				;
		return i;
	}
	if (s[0] == '.' && p_isdigit((unsigned char)s[1])) {
		for (i = 1; p_isdigit((unsigned char)s[i]); i++)
			;
		return i;
	}
	return 0;
}

/*
 * Reads the next token into ps->tok.  Malformed strings and references
 * are reported here, where the offset of the fault is known.
 */
static void
lex(struct parser *ps)
{
	const char *s = ps->src;
	size_t i = ps->pos, n;
	struct tok *t = &ps->tok;

	while (p_isspace((unsigned char)s[i]))
		i++;
	memset(t, 0, sizeof(*t));
	t->off = i;
	t->len = 1;
	switch (s[i]) {
	case '\0':
		t->type = T_END;
		t->len = 0;
		break;
	case '(': t->type = T_LPAREN; break;
	case ')': t->type = T_RPAREN; break;
	case ',': t->type = T_COMMA; break;
	case '=': t->type = T_EQ; break;
	case '+': t->type = T_PLUS; break;
	case '-': t->type = T_MINUS; break;
	case '*': t->type = T_STAR; break;
	case '!':
		if (s[i + 1] == '=') {
			t->type = T_NE;
			t->len = 2;
		} else
			t->type = T_BAD;
		break;
	case '<':
	case '>':
		t->type = s[i] == '<' ? T_LT : T_GT;
		if (s[i + 1] == '=') {
			t->type = s[i] == '<' ? T_LE : T_GE;
			t->len = 2;
		}
		break;
	case '\'':
	case '"':
		/* No escapes, as in XPath: the other quote holds a quote. */
		for (n = i + 1; s[n] != '\0' && s[n] != s[i]; n++)
			;
		if (s[n] == '\0') {
			t->type = T_BAD;
			p_error(ps, i, "unterminated string");
			break;
		}
		t->type = T_STR;
		t->text = s + i + 1;
		t->tlen = n - i - 1;
		t->len = n + 1 - i;
		break;
	case '$':
		if (s[i + 1] != '{') {
			t->type = T_BAD;
			break;
		}
		n = i + 2;
		if (!p_isalpha((unsigned char)s[n]) && s[n] != '_') {
			t->type = T_BAD;
			p_error(ps, n, "expected a field name after '${'");
			break;
		}
		while (p_isword((unsigned char)s[n]))
			n++;
		if (s[n] != '}') {
			t->type = T_BAD;
			p_error(ps, n, "expected '}'");
			break;
		}
		t->type = T_REF;
		t->text = s + i + 2;
		t->tlen = n - i - 2;
		t->len = n + 1 - i;
		break;
	default:
		if ((n = num_span(s + i)) > 0) {
			t->type = T_NUM;
			t->len = n;
		} else if (s[i] == '.') {
			t->type = T_DOT;
		} else if (p_isalpha((unsigned char)s[i]) || s[i] == '_') {
			/* A '-' joins words only between letters: count-if. */
			for (n = i; p_isword((unsigned char)s[n]) ||
			    (s[n] == '-' && p_isalpha((unsigned char)s[n + 1]) &&
			    n > i); n++)
				;
			t->type = T_WORD;
			t->text = s + i;
			t->tlen = t->len = n - i;
			if (t->tlen == 3 && strncmp(t->text, "and", 3) == 0)
				t->type = T_AND;
			else if (t->tlen == 2 && strncmp(t->text, "or", 2) == 0)
				t->type = T_OR;
			else if (t->tlen == 3 && strncmp(t->text, "div", 3) == 0)
				t->type = T_DIV;
			else if (t->tlen == 3 && strncmp(t->text, "mod", 3) == 0)
				t->type = T_MOD;
		} else
			t->type = T_BAD;
		break;
	}
	ps->pos = i + t->len;
}

/* Parser. */

static void
node_free(struct node *n)
{
	int i;

	if (n == NULL)
		return;
	for (i = 0; i < FN_MAX_ARGS; i++)
		node_free(n->kid[i]);
	if (n->re != NULL) {
		regfree(n->re);
		free(n->re);
	}
	free(n->str);
	free(n);
}

static struct node *
node_new(struct parser *ps, enum node_type type)
{
	struct node *n;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		p_error(ps, ps->tok.off, "out of memory");
		return NULL;
	}
	n->type = type;
	return n;
}

static char *
p_strdup(struct parser *ps, const char *s, size_t len)
{
	char *d;

	if ((d = malloc(len + 1)) == NULL) {
		p_error(ps, ps->tok.off, "out of memory");
		return NULL;
	}
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

#define RE_MAX_NEST	16
#define RE_MAX_DUP	255	/* _POSIX_RE_DUP_MAX */
#define RE_MAX_SIZE	4096	/* pattern positions after {m,n} expansion */
#define RE_MAX_QNEST	3	/* quantifiers on quantifiers, as in (a*)* */
#define RE_MAX_QQ	6	/* how many such, and on groups, in all */

/*
 * A pattern is matched whole by compiling "^(" pattern ")$".  That is only
 * the same pattern if its parentheses balance (in an ERE an unmatched ')'
 * is an ordinary character, but after wrapping it closes our group: "a)|(b"
 * would match anything starting with a), and if it has no back-reference
 * (the extra group renumbers them).  glibc also expands a{m,n} into n
 * copies at compile time, so nested intervals such as ((a{99}){99}){99}
 * would take gigabytes: the expanded size is estimated and bounded.
 * Quantifiers stacked on quantifiers (a**** or ((a*)*)*) make its
 * epsilon closures explode (20 times (a*)* or 140 times (a|b|)* take
 * seconds), so their nesting, and the number of quantifiers on groups or
 * on quantifiers, are bounded too.
 * Returns NULL when the pattern is fit, else why not.
 */
static const char *
re_check(const char *p)
{
	size_t size[RE_MAX_NEST + 1], last = 0, i = 0, m, hi, k;
	int qnest[RE_MAX_NEST + 1], lastq = -1, d = 0, quant, qq = 0;

	size[0] = 0;
	qnest[0] = 0;
	while (p[i] != '\0') {
		/* lastq: quantifier nesting of the last item, -1 if none. */
		/* glibc reads "{,n}" as "{0,n}": an interval too. */
		quant = p[i] == '*' || p[i] == '+' || p[i] == '?' ||
		    (p[i] == '{' && (p_isdigit((unsigned char)p[i + 1]) ||
		    p[i + 1] == ','));
		if (quant) {
			if (lastq < 0)
				return "quantifier without an item to repeat";
			if ((lastq > 0 || (i > 0 && p[i - 1] == ')')) &&
			    ++qq > RE_MAX_QQ)
				return "too many quantifiers on groups or quantifiers";
			if (++lastq > RE_MAX_QNEST)
				return "quantifiers nested too deeply";
			if (lastq > qnest[d])
				qnest[d] = lastq;
		} else if (p[i] != ')')
			lastq = 0;

		switch (p[i]) {
		case '\\':
			if (p[i + 1] == '\0')
				return "pattern ends in '\\'";
			if (p_isdigit((unsigned char)p[i + 1]))
				return "back-references are not supported";
			i += 2;
			last = 1;
			size[d] += 1;
			break;
		case '[':
			/* A bracket expression is one position. */
			k = i + 1;
			if (p[k] == '^')
				k++;
			if (p[k] == ']')
				k++;
			while (p[k] != '\0' && p[k] != ']') {
				if (p[k] == '[' && (p[k + 1] == ':' ||
				    p[k + 1] == '.' || p[k + 1] == '=')) {
					char c = p[k + 1];
					for (k += 2; p[k] != '\0' &&
					    !(p[k] == c && p[k + 1] == ']'); k++)
						;
					if (p[k] == '\0')
						return "unterminated '['";
					k += 2;
				} else
					k++;
			}
			if (p[k] == '\0')
				return "unterminated '['";
			i = k + 1;
			last = 1;
			size[d] += 1;
			break;
		case '(':
			if (d == RE_MAX_NEST)
				return "pattern nested too deeply";
			size[++d] = 0;
			qnest[d] = 0;
			last = 0;
			lastq = -1;
			i++;
			break;
		case ')':
			if (d == 0)
				return "unbalanced ')'";
			lastq = qnest[d];
			last = size[d--];
			if (last == 0)
				last = 1;
			if (lastq > qnest[d])
				qnest[d] = lastq;
			size[d] += last;
			i++;
			break;
		case '{':
			if (!p_isdigit((unsigned char)p[i + 1]) &&
			    p[i + 1] != ',') {
				/* glibc takes a '{' that starts no interval
				   as an ordinary character. */
				last = 1;
				size[d] += 1;
				i++;
				break;
			}
			for (m = 0, k = i + 1; p_isdigit((unsigned char)p[k]);
			    k++)
				if ((m = m * 10 + (size_t)(p[k] - '0')) >
				    RE_MAX_DUP)
					return "repetition count over 255";
			hi = m;
			if (p[k] == ',') {
				k++;
				if (p_isdigit((unsigned char)p[k])) {
					for (hi = 0; p_isdigit(
					    (unsigned char)p[k]); k++)
						if ((hi = hi * 10 + (size_t)
						    (p[k] - '0')) > RE_MAX_DUP)
							return "repetition "
							    "count over 255";
				} else
					hi = m + 1;	/* m copies and a star */
			}
			if (hi > 1)
				size[d] += last * (hi - 1);
			last *= hi;
			i = k;
			break;
		case '+':
			size[d] += last;	/* glibc: a+ is a a* */
			last *= 2;
			i++;
			break;
		case '|':
		case '^':
		case '$':
			last = 0;
			lastq = -1;
			i++;
			break;
		case '*':
		case '?':
			i++;
			break;
		default:
			last = 1;
			size[d] += 1;
			i++;
			break;
		}
		if (size[d] > RE_MAX_SIZE || last > RE_MAX_SIZE)
			return "pattern too large";
	}
	return NULL;
}

/*
 * Compiles pattern for a whole-value match into re.  0, or -1 and why in
 * *why (a static string).  buf of bufsz bytes holds the wrapped pattern.
 */
static int
re_compile(regex_t *re, const char *pat, char *buf, size_t bufsz,
    const char **why)
{
	size_t len = strlen(pat);

	if (len + 5 > bufsz) {
		*why = "pattern too long";
		return -1;
	}
	if ((*why = re_check(pat)) != NULL)
		return -1;
	memcpy(buf, "^(", 2);
	memcpy(buf + 2, pat, len);
	memcpy(buf + 2 + len, ")$", 3);
	if (regcomp(re, buf, REG_EXTENDED | REG_NOSUB) != 0) {
		*why = "not a valid extended regular expression";
		return -1;
	}
	return 0;
}

static struct node *p_or(struct parser *);

/* Counts one level of nesting; 0, or -1 after reporting it. */
static int
p_enter(struct parser *ps)
{
	if (++ps->depth > EXPR_MAX_DEPTH) {
		p_error(ps, ps->tok.off, "nested deeper than %d levels",
		    EXPR_MAX_DEPTH);
		return -1;
	}
	return 0;
}

static int
fn_lookup(const char *name, size_t len)
{
	size_t f;

	for (f = 0; f < EXPR_NFNS; f++)
		if (strlen(expr_fns[f].name) == len &&
		    memcmp(expr_fns[f].name, name, len) == 0)
			return (int)f;
	return -1;
}

/* At the '(' after a function name; name is the T_WORD token. */
static struct node *
p_call(struct parser *ps, const struct tok *name)
{
	size_t argoff[FN_MAX_ARGS];
	struct node *n;
	int f;

	if ((f = fn_lookup(name->text, name->tlen)) < 0) {
		p_error(ps, name->off, "unknown function '%.*s'",
		    name->tlen > 32 ? 32 : (int)name->tlen, name->text);
		return NULL;
	}
	if (p_enter(ps) != 0)
		return NULL;
	if ((n = node_new(ps, N_CALL)) == NULL)
		return NULL;
	n->fn = (enum fn)f;
	lex(ps);			/* past '(' */
	if (ps->tok.type != T_RPAREN) {
		for (;;) {
			if (n->nargs == FN_MAX_ARGS) {
				p_error(ps, name->off, "%s() takes %d "
				    "argument%s", expr_fns[f].name,
				    expr_fns[f].nargs,
				    expr_fns[f].nargs == 1 ? "" : "s");
				goto fail;
			}
			argoff[n->nargs] = ps->tok.off;
			if ((n->kid[n->nargs++] = p_or(ps)) == NULL)
				goto fail;
			if (ps->tok.type != T_COMMA)
				break;
			lex(ps);
		}
		if (ps->tok.type != T_RPAREN) {
			p_error(ps, ps->tok.off, "expected ',' or ')'");
			goto fail;
		}
	}
	lex(ps);			/* past ')' */
	ps->depth--;
	if (n->nargs != expr_fns[f].nargs) {
		p_error(ps, name->off, "%s() takes %d argument%s",
		    expr_fns[f].name, expr_fns[f].nargs,
		    expr_fns[f].nargs == 1 ? "" : "s");
		goto fail;
	}
	if (n->fn == F_REGEX && n->kid[1]->type == N_STR) {
		size_t bufsz = strlen(n->kid[1]->str) + 5;
		const char *why;
		char *buf;
		int rc;

		if ((n->re = malloc(sizeof(*n->re))) == NULL ||
		    (buf = malloc(bufsz)) == NULL) {
			free(n->re);
			n->re = NULL;
			p_error(ps, name->off, "out of memory");
			goto fail;
		}
		rc = re_compile(n->re, n->kid[1]->str, buf, bufsz, &why);
		free(buf);
		if (rc != 0) {
			free(n->re);
			n->re = NULL;
			p_error(ps, argoff[1], "regex() pattern: %s", why);
			goto fail;
		}
	}
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct node *
p_primary(struct parser *ps)
{
	struct node *n = NULL;
	struct tok t = ps->tok;

	if (ps->failed)
		return NULL;
	switch (t.type) {
	case T_NUM:
		if ((n = node_new(ps, N_NUM)) == NULL)
			return NULL;
		/* The span is plain decimal, so strtod reads all of it. */
		n->num = strtod(ps->src + t.off, NULL);
		lex(ps);
		return n;
	case T_STR:
	case T_REF:
		if ((n = node_new(ps, t.type == T_STR ? N_STR : N_REF)) ==
		    NULL)
			return NULL;
		if ((n->str = p_strdup(ps, t.text, t.tlen)) == NULL) {
			node_free(n);
			return NULL;
		}
		lex(ps);
		return n;
	case T_DOT:
		lex(ps);
		return node_new(ps, N_DOT);
	case T_LPAREN:
		if (p_enter(ps) != 0)
			return NULL;
		lex(ps);
		if ((n = p_or(ps)) == NULL)
			return NULL;
		if (ps->tok.type != T_RPAREN) {
			p_error(ps, ps->tok.off, "expected ')'");
			node_free(n);
			return NULL;
		}
		lex(ps);
		ps->depth--;
		return n;
	case T_WORD:
		lex(ps);
		if (ps->tok.type != T_LPAREN) {
			if (fn_lookup(t.text, t.tlen) >= 0)
				p_error(ps, ps->tok.off, "expected '('");
			else
				p_error(ps, t.off, "expected a value, not "
				    "'%.*s' (strings need quotes)",
				    t.tlen > 32 ? 32 : (int)t.tlen, t.text);
			return NULL;
		}
		return p_call(ps, &t);
	default:
		p_error(ps, t.off, "expected a value");
		return NULL;
	}
}

static struct node *
p_unary(struct parser *ps)
{
	struct node *n, *a;

	if (ps->tok.type != T_MINUS)
		return p_primary(ps);
	if (p_enter(ps) != 0)
		return NULL;
	lex(ps);
	if ((a = p_unary(ps)) == NULL)
		return NULL;
	ps->depth--;
	if ((n = node_new(ps, N_NEG)) == NULL) {
		node_free(a);
		return NULL;
	}
	n->kid[0] = a;
	return n;
}

/*
 * Binary operators by precedence level, lowest first; level LVL_UNARY is
 * unary minus and the primaries.
 */
#define LVL_UNARY 5

static const struct {
	int level;
	enum tok_type tok;
	enum node_type node;
} binops[] = {
	{ 0, T_OR, N_OR },
	{ 1, T_AND, N_AND },
	{ 2, T_EQ, N_EQ }, { 2, T_NE, N_NE }, { 2, T_LT, N_LT },
	{ 2, T_LE, N_LE }, { 2, T_GT, N_GT }, { 2, T_GE, N_GE },
	{ 3, T_PLUS, N_ADD }, { 3, T_MINUS, N_SUB },
	{ 4, T_STAR, N_MUL }, { 4, T_DIV, N_DIV }, { 4, T_MOD, N_MOD },
};

static int
binop_find(int level, enum tok_type t, enum node_type *out)
{
	size_t i;

	for (i = 0; i < sizeof(binops) / sizeof(binops[0]); i++)
		if (binops[i].level == level && binops[i].tok == t) {
			*out = binops[i].node;
			return 1;
		}
	return 0;
}

/* One precedence level: next { op next }, folded to the left. */
static struct node *
p_level(struct parser *ps, int level)
{
	struct node *l, *r, *n;
	enum node_type op;

	if (level == LVL_UNARY)
		return p_unary(ps);
	if ((l = p_level(ps, level + 1)) == NULL)
		return NULL;
	while (binop_find(level, ps->tok.type, &op)) {
		lex(ps);
		r = p_level(ps, level + 1);
		if (r == NULL || (n = node_new(ps, op)) == NULL) {
			node_free(l);
			node_free(r);
			return NULL;
		}
		n->kid[0] = l;
		n->kid[1] = r;
		l = n;
	}
	return l;
}

static struct node *
p_or(struct parser *ps)
{
	return p_level(ps, 0);
}

int
expr_parse(const char *src, struct expr **out, char *err, size_t errlen)
{
	struct parser ps;
	struct node *root;

	*out = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.src = src;
	ps.err = err;
	ps.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (src == NULL) {
		p_error(&ps, 0, "no expression");
		return -1;
	}
	/* Checked before anything is read or allocated. */
	if (strnlen(src, EXPR_MAX_SRC + 1) > EXPR_MAX_SRC) {
		p_error(&ps, EXPR_MAX_SRC, "expression longer than %d bytes",
		    EXPR_MAX_SRC);
		return -1;
	}
	lex(&ps);
	if ((root = p_or(&ps)) == NULL)
		return -1;
	if (ps.tok.type != T_END) {
		p_error(&ps, ps.tok.off, ps.tok.type == T_RPAREN ?
		    "unbalanced ')'" : "expected an operator or the end");
		node_free(root);
		return -1;
	}
	if ((*out = malloc(sizeof(**out))) == NULL) {
		p_error(&ps, 0, "out of memory");
		node_free(root);
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

/*
 * A string that "parses as a number": optional blanks, an optional '-',
 * and a plain decimal (XPath's Number), nothing else: no exponent, hex,
 * inf or nan, which strtod alone would take.
 */
static int
str_num(const char *s, double *out)
{
	size_t i = 0, n;

	while (p_isspace((unsigned char)s[i]))
		i++;
	if (s[i] == '-')
		i++;
	if ((n = num_span(s + i)) == 0)
		return 0;
	i += n;
	while (p_isspace((unsigned char)s[i]))
		i++;
	if (s[i] != '\0')
		return 0;
	*out = strtod(s, NULL);
	return 1;
}

static double
v_num(const struct expr_value *v)
{
	double d;

	switch (v->kind) {
	case EXPR_NUM:
		return v->num;
	case EXPR_BOOL:
		return v->boolean ? 1 : 0;
	case EXPR_STR:
		return str_num(v->str, &d) ? d : NAN;
	default:
		return NAN;
	}
}

static int
v_bool(const struct expr_value *v)
{
	switch (v->kind) {
	case EXPR_BOOL:
		return v->boolean != 0;
	case EXPR_NUM:
		return v->num != 0 && !isnan(v->num);
	case EXPR_STR:
		return v->str[0] != '\0';
	default:
		return 0;
	}
}

#define NUM_BUF 32

/*
 * A value as text.  Numbers are written as XPath's string() does for the
 * values forms hold: integers without a point, others in the fewest
 * digits that read back the same; buf (NUM_BUF bytes) holds them.
 */
static const char *
v_text(const struct expr_value *v, char *buf)
{
	int prec;

	switch (v->kind) {
	case EXPR_STR:
		return v->str;
	case EXPR_BOOL:
		return v->boolean ? "true" : "false";
	case EXPR_NUM:
		if (isnan(v->num))
			return "NaN";
		if (isinf(v->num))
			return v->num > 0 ? "Infinity" : "-Infinity";
		if (v->num == 0)
			return "0";	/* and -0 */
		if (v->num == trunc(v->num) && fabs(v->num) < 1e15) {
			snprintf(buf, NUM_BUF, "%.0f", v->num);
			return buf;
		}
		for (prec = 1; prec <= 17; prec++) {
			snprintf(buf, NUM_BUF, "%.*g", prec, v->num);
			if (strtod(buf, NULL) == v->num)
				break;
		}
		return buf;
	default:
		return "";
	}
}

/* Empty: EXPR_EMPTY or the empty string (expr.h: they are one value). */
static int
v_empty(const struct expr_value *v)
{
	return v->kind == EXPR_EMPTY || (v->kind == EXPR_STR &&
	    v->str[0] == '\0');
}

/*
 * Compares a and b for op (N_EQ .. N_GE).  Either boolean: both as
 * booleans (false < true).  Either a number: both as numbers, so a string
 * that is not a number, or an empty value, gives NaN and then every
 * comparison, != included, is false.  Otherwise both are strings (or
 * empty) and compare bytewise, which orders ISO dates and, in UTF-8, code
 * points.
 */
static int
v_compare(enum node_type op, const struct expr_value *a,
    const struct expr_value *b)
{
	double x, y;
	int c;

	if ((a->kind == EXPR_NUM && isnan(a->num)) ||
	    (b->kind == EXPR_NUM && isnan(b->num)))
		return 0;
	if (a->kind == EXPR_BOOL || b->kind == EXPR_BOOL) {
		c = v_bool(a) - v_bool(b);
	} else if (a->kind == EXPR_NUM || b->kind == EXPR_NUM) {
		x = v_num(a);
		y = v_num(b);
		if (isnan(x) || isnan(y))
			return 0;
		c = x < y ? -1 : x > y;
	} else {
		c = strcmp(a->kind == EXPR_STR ? a->str : "",
		    b->kind == EXPR_STR ? b->str : "");
	}
	switch (op) {
	case N_EQ: return c == 0;
	case N_NE: return c != 0;
	case N_LT: return c < 0;
	case N_LE: return c <= 0;
	case N_GT: return c > 0;
	default: return c >= 0;
	}
}

/* Words of a space-separated list (a select_multiple answer). */
static const char *
word_next(const char *p, size_t *len)
{
	while (p_isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return NULL;
	for (*len = 0; p[*len] != '\0' && !p_isspace((unsigned char)p[*len]);
	    (*len)++)
		;
	return p;
}

static int
list_has(const char *list, const char *c)
{
	size_t n = strlen(c), len;
	const char *w;

	while ((w = word_next(list, &len)) != NULL) {
		if (len == n && memcmp(w, c, n) == 0)
			return 1;
		list = w + len;
	}
	return 0;
}

static size_t
list_count(const char *list)
{
	size_t n = 0, len;
	const char *w;

	while ((w = word_next(list, &len)) != NULL) {
		n++;
		list = w + len;
	}
	return n;
}

/* UTF-8 characters: bytes that do not continue a sequence. */
static size_t
utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int eval(const struct node *, const struct expr_env *,
    struct expr_value *);

/* A value other than a repeat: repeats belong only to count/count-if. */
static int
eval_scalar(const struct node *n, const struct expr_env *env,
    struct expr_value *out)
{
	if (eval(n, env, out) != 0 || out->kind == EXPR_REPEAT)
		return -1;
	return 0;
}

static void
v_set_num(struct expr_value *v, double d)
{
	memset(v, 0, sizeof(*v));
	v->kind = EXPR_NUM;
	v->num = d;
}

static void
v_set_bool(struct expr_value *v, int b)
{
	memset(v, 0, sizeof(*v));
	v->kind = EXPR_BOOL;
	v->boolean = b != 0;
}

/* regex() with a pattern only known now: compiled, used and freed. */
static int
eval_regex_dynamic(const char *s, const char *pat)
{
	char buf[EXPR_MAX_STR + 1];
	const char *why;
	regex_t re;
	int m;

	if (re_compile(&re, pat, buf, sizeof(buf), &why) != 0)
		return -1;
	m = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

/* The items of repeat r for which n is true, into *count. */
static int
eval_count_if(const struct expr_value *r, const struct node *n,
    const struct expr_env *env, size_t *count)
{
	struct expr_env inner = *env;
	struct expr_value v;
	size_t i;

	*count = 0;
	if (r->kind == EXPR_EMPTY)
		return 0;
	if (r->kind != EXPR_REPEAT || env->enter == NULL)
		return -1;
	for (i = 0; i < r->count; i++) {
		if ((inner.item = env->enter(env->ctx, r->repeat, i)) == NULL)
			return -1;
		if (eval_scalar(n, &inner, &v) != 0)
			return -1;
		*count += (size_t)v_bool(&v);
	}
	return 0;
}

static int
eval_call(const struct node *n, const struct expr_env *env,
    struct expr_value *out)
{
	struct expr_value a, b;
	char abuf[NUM_BUF], bbuf[NUM_BUF];
	size_t k;
	int m;

	switch (n->fn) {
	case F_SELECTED:
		if (eval_scalar(n->kid[0], env, &a) != 0 ||
		    eval_scalar(n->kid[1], env, &b) != 0)
			return -1;
		v_set_bool(out, list_has(v_text(&a, abuf), v_text(&b, bbuf)));
		return 0;
	case F_COUNT_SELECTED:
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		v_set_num(out, (double)list_count(v_text(&a, abuf)));
		return 0;
	case F_STRING_LENGTH:
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		v_set_num(out, (double)utf8_len(v_text(&a, abuf)));
		return 0;
	case F_REGEX:
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		if (n->re != NULL)
			m = regexec(n->re, v_text(&a, abuf), 0, NULL, 0) == 0;
		else {
			if (eval_scalar(n->kid[1], env, &b) != 0)
				return -1;
			m = eval_regex_dynamic(v_text(&a, abuf),
			    v_text(&b, bbuf));
			if (m < 0)
				return -1;
		}
		v_set_bool(out, m);
		return 0;
	case F_TODAY:
		if (env->today == NULL)
			return -1;
		memset(out, 0, sizeof(*out));
		out->kind = EXPR_STR;
		out->str = env->today;
		return 0;
	case F_COUNT:
		if (eval(n->kid[0], env, &a) != 0)
			return -1;
		if (a.kind == EXPR_EMPTY)
			v_set_num(out, 0);
		else if (a.kind == EXPR_REPEAT)
			v_set_num(out, (double)a.count);
		else
			return -1;
		return 0;
	case F_COUNT_IF:
		if (eval(n->kid[0], env, &a) != 0 ||
		    eval_count_if(&a, n->kid[1], env, &k) != 0)
			return -1;
		v_set_num(out, (double)k);
		return 0;
	case F_COALESCE:
		/* Lazy: b is read only when a is empty. */
		if (eval_scalar(n->kid[0], env, out) != 0)
			return -1;
		if (!v_empty(out))
			return 0;
		return eval_scalar(n->kid[1], env, out);
	case F_NUMBER:
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		v_set_num(out, v_num(&a));
		return 0;
	case F_NOT:
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		v_set_bool(out, !v_bool(&a));
		return 0;
	case F_IF:
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		return eval_scalar(n->kid[v_bool(&a) ? 1 : 2], env, out);
	case F_TRUE:
	case F_FALSE:
		v_set_bool(out, n->fn == F_TRUE);
		return 0;
	}
	return -1;
}

static int
eval(const struct node *n, const struct expr_env *env, struct expr_value *out)
{
	struct expr_value a, b;
	double x, y;

	memset(out, 0, sizeof(*out));
	switch (n->type) {
	case N_NUM:
		v_set_num(out, n->num);
		return 0;
	case N_STR:
		out->kind = EXPR_STR;
		out->str = n->str;
		return 0;
	case N_DOT:
	case N_REF:
		if (env->resolve == NULL || env->resolve(env->ctx, env->item,
		    n->type == N_DOT ? NULL : n->str, out) != 0)
			return -1;
		switch (out->kind) {
		case EXPR_STR:
			if (out->str == NULL)
				out->kind = EXPR_EMPTY;
			return 0;
		case EXPR_EMPTY:
		case EXPR_NUM:
		case EXPR_BOOL:
		case EXPR_REPEAT:
			return 0;
		}
		return -1;		/* a kind the resolver made up */
	case N_CALL:
		return eval_call(n, env, out);
	case N_NEG:
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		v_set_num(out, -v_num(&a));
		return 0;
	case N_OR:
	case N_AND:
		/* Short-circuit: the right side is not read when decided. */
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		if (v_bool(&a) == (n->type == N_OR)) {
			v_set_bool(out, n->type == N_OR);
			return 0;
		}
		if (eval_scalar(n->kid[1], env, &b) != 0)
			return -1;
		v_set_bool(out, v_bool(&b));
		return 0;
	default:
		break;
	}
	if (eval_scalar(n->kid[0], env, &a) != 0 ||
	    eval_scalar(n->kid[1], env, &b) != 0)
		return -1;
	x = v_num(&a);
	y = v_num(&b);
	switch (n->type) {
	case N_ADD:
		v_set_num(out, x + y);
		return 0;
	case N_SUB:
		v_set_num(out, x - y);
		return 0;
	case N_MUL:
		v_set_num(out, x * y);
		return 0;
	case N_DIV:
		v_set_num(out, x / y);
		return 0;
	case N_MOD:
		v_set_num(out, fmod(x, y));	/* sign of x, as XPath */
		return 0;
	default:
		v_set_bool(out, v_compare(n->type, &a, &b));
		return 0;
	}
}

int
expr_eval_bool(const struct expr *e, const struct expr_env *env)
{
	struct expr_value v;

	if (e == NULL || env == NULL || eval_scalar(e->root, env, &v) != 0)
		return -1;
	return v_bool(&v);
}

static void
names_walk(const struct node *n, void (*fn)(void *, const char *), void *arg)
{
	int i;

	if (n == NULL)
		return;
	if (n->type == N_REF)
		fn(arg, n->str);
	for (i = 0; i < FN_MAX_ARGS; i++)
		names_walk(n->kid[i], fn, arg);
}

void
expr_names(const struct expr *e, void (*fn)(void *, const char *), void *arg)
{
	if (e != NULL)
		names_walk(e->root, fn, arg);
}
