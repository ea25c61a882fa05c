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
 *						when kid[1] is a literal; str
 *						the field of jr:choice-name()
 *	N_COL	str				a choice's column (filters)
 *	N_PARENT				`..`, only in position(..)
 *
 * Evaluation walks the tree and allocates nothing: a value is a number, a
 * boolean, or a string borrowed from the tree, from the resolver or from a
 * small buffer in the caller's frame (numbers turned into text).  Strings
 * that functions build (concat, substr, ...) go into the evaluation's
 * scratch (struct expr_scratch, append-only, EXPR_SCRATCH bytes: running
 * out is an evaluation error), which the entry points hand down through a
 * thread-local pointer.  The tree is never written after parsing, so one
 * parsed expression may be evaluated by several threads at once (POSIX
 * regexec() is thread-safe).
 */
#include "form/expr.h"

#include <limits.h>
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
	N_CALL, N_COL, N_PARENT
};

enum fn {
	F_SELECTED, F_COUNT_SELECTED, F_STRING_LENGTH, F_REGEX, F_TODAY,
	F_COUNT, F_COUNT_IF, F_COALESCE, F_NUMBER, F_NOT, F_IF, F_TRUE,
	F_FALSE, F_SUM, F_MAX, F_MIN, F_JOIN, F_INDEXED_REPEAT, F_POSITION,
	F_INT, F_ROUND, F_FLOOR, F_CEILING, F_ABS, F_POW, F_CONCAT, F_STRING,
	F_BOOLEAN, F_SUBSTR, F_CONTAINS, F_STARTS_WITH, F_ENDS_WITH,
	F_TRANSLATE, F_SELECTED_AT, F_BOOLEAN_FROM_STRING, F_ONCE, F_NOW,
	F_UUID, F_RANDOM, F_DATE, F_DECIMAL_DATE_TIME, F_FORMAT_DATE,
	F_FORMAT_DATE_TIME, F_CHOICE_NAME
};

/* Arguments: min to max (-1: any number). */
static const struct {
	const char *name;
	int min, max;
} expr_fns[] = {
	[F_SELECTED] = { "selected", 2, 2 },
	[F_COUNT_SELECTED] = { "count-selected", 1, 1 },
	[F_STRING_LENGTH] = { "string-length", 1, 1 },
	[F_REGEX] = { "regex", 2, 2 },
	[F_TODAY] = { "today", 0, 0 },
	[F_COUNT] = { "count", 1, 1 },
	[F_COUNT_IF] = { "count-if", 2, 2 },
	[F_COALESCE] = { "coalesce", 2, 2 },
	[F_NUMBER] = { "number", 1, 1 },
	[F_NOT] = { "not", 1, 1 },
	[F_IF] = { "if", 3, 3 },
	[F_TRUE] = { "true", 0, 0 },
	[F_FALSE] = { "false", 0, 0 },
	[F_SUM] = { "sum", 1, 1 },
	[F_MAX] = { "max", 1, -1 },
	[F_MIN] = { "min", 1, -1 },
	[F_JOIN] = { "join", 2, -1 },
	[F_INDEXED_REPEAT] = { "indexed-repeat", 3, 3 },
	[F_POSITION] = { "position", 0, 1 },
	[F_INT] = { "int", 1, 1 },
	[F_ROUND] = { "round", 1, 2 },
	[F_FLOOR] = { "floor", 1, 1 },
	[F_CEILING] = { "ceiling", 1, 1 },
	[F_ABS] = { "abs", 1, 1 },
	[F_POW] = { "pow", 2, 2 },
	[F_CONCAT] = { "concat", 0, -1 },
	[F_STRING] = { "string", 1, 1 },
	[F_BOOLEAN] = { "boolean", 1, 1 },
	[F_SUBSTR] = { "substr", 2, 3 },
	[F_CONTAINS] = { "contains", 2, 2 },
	[F_STARTS_WITH] = { "starts-with", 2, 2 },
	[F_ENDS_WITH] = { "ends-with", 2, 2 },
	[F_TRANSLATE] = { "translate", 3, 3 },
	[F_SELECTED_AT] = { "selected-at", 2, 2 },
	[F_BOOLEAN_FROM_STRING] = { "boolean-from-string", 1, 1 },
	[F_ONCE] = { "once", 1, 1 },
	[F_NOW] = { "now", 0, 0 },
	[F_UUID] = { "uuid", 0, 1 },
	[F_RANDOM] = { "random", 0, 0 },
	[F_DATE] = { "date", 1, 1 },
	[F_DECIMAL_DATE_TIME] = { "decimal-date-time", 1, 1 },
	[F_FORMAT_DATE] = { "format-date", 2, 2 },
	[F_FORMAT_DATE_TIME] = { "format-date-time", 2, 2 },
	[F_CHOICE_NAME] = { "jr:choice-name", 2, 2 },
};
#define EXPR_NFNS (sizeof(expr_fns) / sizeof(expr_fns[0]))

struct node {
	enum node_type type;
	enum fn fn;			/* N_CALL */
	int nkid;			/* operands or arguments in kid[] */
	struct node **kid;
	double num;			/* N_NUM */
	char *str;			/* N_STR text, N_REF name, N_COL column,
					   jr:choice-name's field */
	regex_t *re;			/* N_CALL regex() with a literal */
};

struct expr {
	struct node *root;
};

/* Lexer. */

enum tok_type {
	T_END, T_BAD, T_NUM, T_STR, T_DOT, T_DOTDOT, T_REF, T_WORD,
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
	int columns;			/* bare names are columns (filters) */
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
		} else if (s[i] == '.' && s[i + 1] == '.') {
			t->type = T_DOTDOT;
			t->len = 2;
		} else if (s[i] == '.') {
			t->type = T_DOT;
		} else if (p_isalpha((unsigned char)s[i]) || s[i] == '_') {
			/* A '-' joins words only between letters: count-if;
			   a ':' before a letter makes a prefixed name:
			   jr:choice-name. */
			for (n = i; p_isword((unsigned char)s[n]) ||
			    ((s[n] == '-' || s[n] == ':') &&
			    p_isalpha((unsigned char)s[n + 1]) && n > i); n++)
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
		} else if ((unsigned char)s[i] == 0xe2 &&
		    (unsigned char)s[i + 1] == 0x80 &&
		    ((unsigned char)s[i + 2] & 0xf8) == 0x98) {
			/* U+2018 to U+201F: quotes a spreadsheet's autocorrect
			   put in, which XPath does not read as quotes */
			t->type = T_BAD;
			p_error(ps, i, "a typographic quote: write ' or \" "
			    "(a spreadsheet may have changed it)");
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
	for (i = 0; i < n->nkid; i++)
		node_free(n->kid[i]);
	free(n->kid);
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

/* Appends kid to n's operands; on failure kid is freed. */
static int
node_add(struct parser *ps, struct node *n, struct node *kid)
{
	struct node **k;

	/* operands come one at a time: grow by doubling from 2 */
	if ((n->nkid & (n->nkid - 1)) == 0 && n->nkid >= 2) {
		k = realloc(n->kid, (size_t)n->nkid * 2 * sizeof(*k));
	} else if (n->nkid == 0) {
		k = malloc(2 * sizeof(*k));
	} else {
		n->kid[n->nkid++] = kid;
		return 0;
	}
	if (k == NULL) {
		node_free(kid);
		p_error(ps, ps->tok.off, "out of memory");
		return -1;
	}
	n->kid = k;
	n->kid[n->nkid++] = kid;
	return 0;
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

static void
p_arity_error(struct parser *ps, size_t off, int f)
{
	int lo = expr_fns[f].min, hi = expr_fns[f].max;

	if (lo == hi)
		p_error(ps, off, "%s() takes %d argument%s", expr_fns[f].name,
		    lo, lo == 1 ? "" : "s");
	else if (hi < 0)
		p_error(ps, off, "%s() takes at least %d argument%s",
		    expr_fns[f].name, lo, lo == 1 ? "" : "s");
	else
		p_error(ps, off, "%s() takes %d to %d arguments",
		    expr_fns[f].name, lo, hi);
}

/* At the '(' after a function name; name is the T_WORD token. */
static struct node *
p_call(struct parser *ps, const struct tok *name)
{
	size_t argoff[2] = { 0, 0 };
	struct node *n, *a;
	int f, limit;

	if (name->tlen == 8 && memcmp(name->text, "pulldata", 8) == 0) {
		p_error(ps, name->off, "pulldata needs a CSV attached to the "
		    "form; not supported");
		return NULL;
	}
	if ((f = fn_lookup(name->text, name->tlen)) < 0) {
		p_error(ps, name->off, "unknown function '%.*s'",
		    name->tlen > 32 ? 32 : (int)name->tlen, name->text);
		return NULL;
	}
	/* Past its maximum, a call is refused at the next comma; below 3 it
	   reads 3 arguments first, as it always has. */
	limit = expr_fns[f].max < 0 ? INT_MAX : expr_fns[f].max < 3 ? 3 :
	    expr_fns[f].max;
	if (p_enter(ps) != 0)
		return NULL;
	if ((n = node_new(ps, N_CALL)) == NULL)
		return NULL;
	n->fn = (enum fn)f;
	lex(ps);			/* past '(' */
	if (ps->tok.type != T_RPAREN) {
		for (;;) {
			if (n->nkid == limit) {
				p_arity_error(ps, name->off, f);
				goto fail;
			}
			if (n->nkid < 2)
				argoff[n->nkid] = ps->tok.off;
			if (ps->tok.type == T_DOTDOT && n->fn == F_POSITION) {
				lex(ps);
				a = node_new(ps, N_PARENT);
			} else
				a = p_or(ps);
			if (a == NULL || node_add(ps, n, a) != 0)
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
	if (n->nkid < expr_fns[f].min || (expr_fns[f].max >= 0 &&
	    n->nkid > expr_fns[f].max)) {
		p_arity_error(ps, name->off, f);
		goto fail;
	}
	if (n->fn == F_POSITION && n->nkid == 1 &&
	    n->kid[0]->type != N_PARENT) {
		p_error(ps, argoff[0], "position() takes .. (the repeat item)");
		goto fail;
	}
	if (n->fn == F_CHOICE_NAME) {
		/* jr:choice-name(v, '${field}'): the field is a literal */
		const char *q = n->kid[1]->type == N_STR ? n->kid[1]->str : "";
		size_t len = strlen(q);

		if (len < 4 || strncmp(q, "${", 2) != 0 || q[len - 1] != '}' ||
		    (n->str = p_strdup(ps, q + 2, len - 3)) == NULL) {
			p_error(ps, argoff[1], "jr:choice-name() takes "
			    "'${field}' as its second argument");
			goto fail;
		}
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
		if (ps->tok.type != T_LPAREN && ps->columns &&
		    fn_lookup(t.text, t.tlen) < 0) {
			/* a choice filter's bare name: the choice's column */
			if ((n = node_new(ps, N_COL)) == NULL)
				return NULL;
			if ((n->str = p_strdup(ps, t.text, t.tlen)) == NULL) {
				node_free(n);
				return NULL;
			}
			return n;
		}
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
	if (node_add(ps, n, a) != 0) {
		node_free(n);
		return NULL;
	}
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
		if (node_add(ps, n, l) != 0) {
			node_free(n);
			node_free(r);
			return NULL;
		}
		if (node_add(ps, n, r) != 0) {
			node_free(n);
			return NULL;
		}
		l = n;
	}
	return l;
}

static struct node *
p_or(struct parser *ps)
{
	return p_level(ps, 0);
}

static int parse(const char *src, struct expr **out, char *err,
    size_t errlen, int columns);

int
expr_parse(const char *src, struct expr **out, char *err, size_t errlen)
{
	return parse(src, out, err, errlen, 0);
}

int
expr_parse_filter(const char *src, struct expr **out, char *err,
    size_t errlen)
{
	return parse(src, out, err, errlen, 1);
}

static int
parse(const char *src, struct expr **out, char *err, size_t errlen,
    int columns)
{
	struct parser ps;
	struct node *root;

	*out = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.columns = columns;
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

static int parse_datetime(const char *s, double *days, int part[6]);

static double
v_num(const struct expr_value *v)
{
	double d;
	int part[6];

	switch (v->kind) {
	case EXPR_NUM:
		return v->num;
	case EXPR_BOOL:
		return v->boolean ? 1 : 0;
	case EXPR_STR:
		if (v->is_date)
			return parse_datetime(v->str, &d, part) == 0 ? d : NAN;
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
		inner.position = i + 1;
		if (eval_scalar(n, &inner, &v) != 0)
			return -1;
		*count += (size_t)v_bool(&v);
	}
	return 0;
}

/* Scratch of the running evaluation (expr_eval_bool, expr_eval_value). */
static _Thread_local struct expr_scratch *scratch;

/* n bytes of the scratch, or NULL when it is full. */
static char *
s_alloc(size_t n)
{
	char *p;

	if (scratch == NULL || n > EXPR_SCRATCH - scratch->used)
		return NULL;
	p = scratch->buf + scratch->used;
	scratch->used += n;
	return p;
}

/*
 * A string being built in the scratch: appends go in place while it is
 * the scratch's last allocation, else it is copied once to the end.
 */
struct sbuild {
	char *s;
	size_t len;
};

static int
s_append(struct sbuild *b, const char *t, size_t tlen)
{
	char *p;

	if (b->s != NULL && b->s + b->len + 1 == scratch->buf + scratch->used) {
		if (s_alloc(tlen) == NULL)
			return -1;
		memmove(b->s + b->len, t, tlen);
	} else {
		if ((p = s_alloc(b->len + tlen + 1)) == NULL)
			return -1;
		if (b->len)
			memcpy(p, b->s, b->len);
		memcpy(p + b->len, t, tlen);
		b->s = p;
	}
	b->len += tlen;
	b->s[b->len] = '\0';
	return 0;
}

static int
s_start(struct sbuild *b)
{
	if ((b->s = s_alloc(1)) == NULL)
		return -1;
	b->s[0] = '\0';
	b->len = 0;
	return 0;
}

static void
v_set_str(struct expr_value *v, const char *s)
{
	memset(v, 0, sizeof(*v));
	v->kind = EXPR_STR;
	v->str = s;
}

/*
 * When n names a repeat's field from outside the repeat, its items (a
 * node-set, in XPath's words): 1 with *rep and *count, else 0.
 * `absolute` asks for every item even from inside one (indexed-repeat).
 */
static int
eval_nodes(const struct node *n, const struct expr_env *env, int absolute,
    const void **rep, size_t *count)
{
	if (n->type != N_REF || env->nodes == NULL)
		return 0;
	return env->nodes(env->ctx, absolute ? NULL : env->item, n->str, rep,
	    count) == 0;
}

/* The value of the field n names in item i of rep. */
static int
node_value(const struct node *n, const struct expr_env *env,
    const void *rep, size_t i, struct expr_value *out)
{
	const void *it;

	memset(out, 0, sizeof(*out));
	if (env->enter == NULL || (it = env->enter(env->ctx, rep, i)) == NULL ||
	    env->resolve(env->ctx, it, n->str, out) != 0)
		return -1;
	if (out->kind == EXPR_STR && out->str == NULL)
		out->kind = EXPR_EMPTY;
	return out->kind == EXPR_REPEAT ? -1 : 0;
}

/* Calls fn with each value of argument n: every item's for a node-set. */
static int
each_value(const struct node *n, const struct expr_env *env,
    int (*fn)(void *, const struct expr_value *), void *acc)
{
	const void *rep;
	size_t count, i;
	struct expr_value v;

	if (eval_nodes(n, env, 0, &rep, &count)) {
		for (i = 0; i < count; i++)
			if (node_value(n, env, rep, i, &v) != 0 ||
			    fn(acc, &v) != 0)
				return -1;
		return 0;
	}
	if (eval_scalar(n, env, &v) != 0)
		return -1;
	return fn(acc, &v);
}

struct agg {
	double x;
	size_t n;
	enum fn fn;
};

static int
agg_add(void *arg, const struct expr_value *v)
{
	struct agg *a = arg;
	double d = v_num(v);

	/* NaN anywhere makes the result NaN, as in XPath */
	if (a->fn == F_SUM)
		a->x = a->n ? a->x + d : d;
	else if (a->n == 0 || isnan(d))
		a->x = d;
	else if (!isnan(a->x) && (a->fn == F_MAX ? d > a->x : d < a->x))
		a->x = d;
	a->n++;
	return 0;
}

struct cat {
	struct sbuild b;
	const char *sep;	/* join(): between values */
	size_t n;
};

static int
cat_add(void *arg, const struct expr_value *v)
{
	struct cat *c = arg;
	char buf[NUM_BUF];
	const char *t = v_text(v, buf);

	if (c->sep && c->n++ && s_append(&c->b, c->sep, strlen(c->sep)) != 0)
		return -1;
	return s_append(&c->b, t, strlen(t));
}

/* Byte offset of UTF-8 character k of s (its length when past the end). */
static size_t
utf8_off(const char *s, double k)
{
	size_t i = 0;

	if (!(k > 0))
		return 0;
	for (; s[i] != '\0'; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && k-- <= 0)
			break;
	return i;
}

/* The next UTF-8 character of *s as a code point; advances *s. */
static unsigned
utf8_next(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	unsigned c = *p++;
	int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

	if (more)
		c &= 0x3f >> more;
	while (more-- && (*p & 0xc0) == 0x80)
		c = (c << 6) | (*p++ & 0x3f);
	*s = (const char *)p;
	return c;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static long
days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(long z, long *y, long *m, long *d)
{
	long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp + (mp < 10 ? 3 : -9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * A date "YYYY-MM-DD" or date and time "YYYY-MM-DDTHH:MM[:SS[.s]][Z|+-HH:MM]"
 * as days since 1970-01-01 (UTC, with the time as a fraction), and its
 * parts; 0, or -1 when s is neither.
 */
static int
parse_datetime(const char *s, double *days, int part[6])
{
	int y, mo, d, h = 0, mi = 0, n = 0, off = 0;
	double sec = 0;

	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	s += 10;
	if (*s == 'T') {
		if (sscanf(s, "T%2d:%2d%n", &h, &mi, &n) != 2 || n != 6)
			return -1;
		s += n;
		if (*s == ':') {
			/* SS[.sss]: digits only (strtod would take inf) */
			if (!p_isdigit((unsigned char)s[1]) ||
			    !p_isdigit((unsigned char)s[2]))
				return -1;
			n = 3 + (s[3] == '.' ? 1 : 0);
			while (s[3] == '.' && p_isdigit((unsigned char)s[n]))
				n++;
			sec = strtod(s + 1, NULL);
			s += n;
		}
		if (*s == '+' || *s == '-') {
			int oh, om;
			if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2)
				return -1;
			off = (oh * 60 + om) * (*s == '-' ? -1 : 1);
			s += 6;
		} else if (*s == 'Z')
			s++;
	}
	if (*s != '\0')
		return -1;
	*days = (double)days_from_civil(y, mo, d) +
	    ((h * 60 + mi - off) * 60 + sec) / 86400.0;
	part[0] = y; part[1] = mo; part[2] = d;
	part[3] = h; part[4] = mi; part[5] = (int)sec;
	return 0;
}

/* format-date(): %Y %y %m %n %d %e %H %h %M %S, others as written. */
static const char *
format_date(const char *d, const char *fmt)
{
	struct sbuild b;
	double days;
	int p[6];
	char t[16];

	if (parse_datetime(d, &days, p) != 0)
		return "";
	if (s_start(&b) != 0)
		return NULL;
	for (; *fmt; fmt++) {
		if (*fmt != '%' || fmt[1] == '\0') {
			if (s_append(&b, fmt, 1) != 0)
				return NULL;
			continue;
		}
		switch (*++fmt) {
		case 'Y': snprintf(t, sizeof(t), "%04d", p[0]); break;
		case 'y': snprintf(t, sizeof(t), "%02d", p[0] % 100); break;
		case 'm': snprintf(t, sizeof(t), "%02d", p[1]); break;
		case 'n': snprintf(t, sizeof(t), "%d", p[1]); break;
		case 'd': snprintf(t, sizeof(t), "%02d", p[2]); break;
		case 'e': snprintf(t, sizeof(t), "%d", p[2]); break;
		case 'H': snprintf(t, sizeof(t), "%02d", p[3]); break;
		case 'h': snprintf(t, sizeof(t), "%d", p[3]); break;
		case 'M': snprintf(t, sizeof(t), "%02d", p[4]); break;
		case 'S': snprintf(t, sizeof(t), "%02d", p[5]); break;
		default: snprintf(t, sizeof(t), "%%%c", *fmt); break;
		}
		if (s_append(&b, t, strlen(t)) != 0)
			return NULL;
	}
	return b.s;
}

/* The text of argument k of n. */
static int
arg_text(const struct node *n, int k, const struct expr_env *env,
    struct expr_value *v, char *buf, const char **out)
{
	if (eval_scalar(n->kid[k], env, v) != 0)
		return -1;
	*out = v_text(v, buf);
	return 0;
}

/* Functions of ODK's that build strings or read node-sets. */
static int
eval_call_more(const struct node *n, const struct expr_env *env,
    struct expr_value *out)
{
	struct expr_value a, b, c;
	char abuf[NUM_BUF], bbuf[NUM_BUF], cbuf[NUM_BUF];
	const char *x, *y, *z;
	const void *rep;
	size_t count;
	double d;

	switch (n->fn) {
	case F_SUM:
	case F_MAX:
	case F_MIN: {
		struct agg g = { 0, 0, n->fn };
		for (int i = 0; i < n->nkid; i++)
			if (each_value(n->kid[i], env, agg_add, &g) != 0)
				return -1;
		v_set_num(out, g.n || n->fn == F_SUM ? g.x : NAN);
		return 0;
	}
	case F_CONCAT:
	case F_JOIN: {
		struct cat k = { { NULL, 0 }, NULL, 0 };
		int i = 0;
		if (n->fn == F_JOIN) {
			if (arg_text(n, 0, env, &a, abuf, &x) != 0)
				return -1;
			/* the separator may live in abuf: keep a copy */
			if ((k.sep = s_alloc(strlen(x) + 1)) == NULL)
				return -1;
			memcpy((char *)k.sep, x, strlen(x) + 1);
			i = 1;
		}
		if (s_start(&k.b) != 0)
			return -1;
		for (; i < n->nkid; i++)
			if (each_value(n->kid[i], env, cat_add, &k) != 0)
				return -1;
		v_set_str(out, k.b.s);
		return 0;
	}
	case F_INDEXED_REPEAT:
		if (eval_scalar(n->kid[2], env, &c) != 0)
			return -1;
		d = v_num(&c);
		if (!eval_nodes(n->kid[0], env, 1, &rep, &count))
			return -1;
		if (!(d >= 1 && d <= (double)count)) {
			memset(out, 0, sizeof(*out));
			return 0;
		}
		return node_value(n->kid[0], env, rep, (size_t)d - 1, out);
	case F_POSITION:
		v_set_num(out, env->position ? (double)env->position : 1);
		return 0;
	case F_INT:
	case F_FLOOR:
	case F_CEILING:
	case F_ABS:
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		d = v_num(&a);
		v_set_num(out, n->fn == F_INT ? trunc(d) : n->fn == F_FLOOR ?
		    floor(d) : n->fn == F_CEILING ? ceil(d) : fabs(d));
		return 0;
	case F_ROUND:
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		d = v_num(&a);
		if (n->nkid == 2) {
			double p;
			if (eval_scalar(n->kid[1], env, &b) != 0)
				return -1;
			p = pow(10, trunc(v_num(&b)));
			v_set_num(out, floor(d * p + 0.5) / p);
		} else
			v_set_num(out, floor(d + 0.5));
		return 0;
	case F_POW:
		if (eval_scalar(n->kid[0], env, &a) != 0 ||
		    eval_scalar(n->kid[1], env, &b) != 0)
			return -1;
		v_set_num(out, pow(v_num(&a), v_num(&b)));
		return 0;
	case F_STRING:
		if (arg_text(n, 0, env, &a, abuf, &x) != 0)
			return -1;
		if (x == abuf) {	/* a number's text: keep it */
			struct sbuild k;
			if (s_start(&k) != 0 || s_append(&k, x, strlen(x)) != 0)
				return -1;
			x = k.s;
		}
		v_set_str(out, x);
		return 0;
	case F_BOOLEAN:
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		v_set_bool(out, v_bool(&a));
		return 0;
	case F_BOOLEAN_FROM_STRING:
		if (arg_text(n, 0, env, &a, abuf, &x) != 0)
			return -1;
		v_set_bool(out, strcmp(x, "true") == 0 || strcmp(x, "1") == 0);
		return 0;
	case F_SUBSTR: {
		struct sbuild k;
		size_t from, to;
		if (arg_text(n, 0, env, &a, abuf, &x) != 0 ||
		    eval_scalar(n->kid[1], env, &b) != 0)
			return -1;
		from = utf8_off(x, v_num(&b));
		to = strlen(x);
		if (n->nkid == 3) {
			if (eval_scalar(n->kid[2], env, &c) != 0)
				return -1;
			to = utf8_off(x, v_num(&c));
		}
		if (s_start(&k) != 0 || (to > from &&
		    s_append(&k, x + from, to - from) != 0))
			return -1;
		v_set_str(out, k.s);
		return 0;
	}
	case F_CONTAINS:
	case F_STARTS_WITH:
	case F_ENDS_WITH: {
		size_t lx, ly;
		if (arg_text(n, 0, env, &a, abuf, &x) != 0 ||
		    arg_text(n, 1, env, &b, bbuf, &y) != 0)
			return -1;
		lx = strlen(x);
		ly = strlen(y);
		v_set_bool(out, n->fn == F_CONTAINS ? strstr(x, y) != NULL :
		    n->fn == F_STARTS_WITH ? strncmp(x, y, ly) == 0 :
		    lx >= ly && strcmp(x + lx - ly, y) == 0);
		return 0;
	}
	case F_TRANSLATE: {
		struct sbuild k;
		if (arg_text(n, 0, env, &a, abuf, &x) != 0 ||
		    arg_text(n, 1, env, &b, bbuf, &y) != 0 ||
		    arg_text(n, 2, env, &c, cbuf, &z) != 0 || s_start(&k) != 0)
			return -1;
		while (*x) {
			const char *start = x, *f = y, *t = z, *tc = NULL;
			unsigned ch = utf8_next(&x);
			int found = 0;
			/* the first match in from, and the character of to at
			   its place (none past to's end: deleted) */
			while (*f) {
				unsigned fc = utf8_next(&f);
				tc = *t ? t : NULL;
				if (*t)
					utf8_next(&t);
				if (fc == ch) {
					found = 1;
					break;
				}
			}
			if (!found) {
				if (s_append(&k, start, (size_t)(x - start)))
					return -1;
			} else if (tc != NULL) {
				const char *e = tc;
				utf8_next(&e);
				if (s_append(&k, tc, (size_t)(e - tc)) != 0)
					return -1;
			}
		}
		v_set_str(out, k.s);
		return 0;
	}
	case F_SELECTED_AT: {
		struct sbuild k;
		size_t len = 0;
		double i;
		if (arg_text(n, 0, env, &a, abuf, &x) != 0 ||
		    eval_scalar(n->kid[1], env, &b) != 0)
			return -1;
		i = v_num(&b);
		y = NULL;
		if (i >= 0)
			for (y = word_next(x, &len); y != NULL && i >= 1; i--)
				y = word_next(y + len, &len);
		if (s_start(&k) != 0 || (y && s_append(&k, y, len) != 0))
			return -1;
		v_set_str(out, k.s);
		return 0;
	}
	case F_ONCE:
		return eval_scalar(n->kid[0], env, out);
	case F_NOW:
		if (env->now == NULL)
			return -1;
		v_set_str(out, env->now);
		out->is_date = 1;
		return 0;
	case F_UUID:
	case F_RANDOM:
		/* Calculations that call them are never recomputed (their
		   stored value stands) and form.c allows them nowhere else. */
		return -1;
	case F_DATE:
	case F_DECIMAL_DATE_TIME: {
		int p[6];
		if (eval_scalar(n->kid[0], env, &a) != 0)
			return -1;
		if (a.kind == EXPR_STR && parse_datetime(a.str, &d, p) == 0) {
			if (n->fn == F_DATE) {
				*out = a;
				out->is_date = 1;
			} else
				v_set_num(out, d);
			return 0;
		}
		d = v_num(&a);
		if (n->fn == F_DECIMAL_DATE_TIME || isnan(d)) {
			v_set_num(out, d);
			return 0;
		}
		{
			long y0, m0, d0;
			char *t = s_alloc(64);
			if (t == NULL || !(fabs(d) < 1e8))
				return -1;
			civil_from_days((long)floor(d), &y0, &m0, &d0);
			snprintf(t, 64, "%04ld-%02ld-%02ld", y0, m0, d0);
			v_set_str(out, t);
			out->is_date = 1;
		}
		return 0;
	}
	case F_FORMAT_DATE:
	case F_FORMAT_DATE_TIME:
		if (arg_text(n, 0, env, &a, abuf, &x) != 0 ||
		    arg_text(n, 1, env, &b, bbuf, &y) != 0 ||
		    (z = format_date(x, y)) == NULL)
			return -1;
		v_set_str(out, z);
		return 0;
	case F_CHOICE_NAME:
		if (arg_text(n, 0, env, &a, abuf, &x) != 0)
			return -1;
		y = env->choice_label ? env->choice_label(env->ctx, n->str, x) :
		    NULL;
		v_set_str(out, y ? y : "");
		return 0;
	default:
		return -1;
	}
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
		out->is_date = 1;
		return 0;
	case F_COUNT: {
		const void *rep;
		if (eval_nodes(n->kid[0], env, 0, &rep, &k)) {
			v_set_num(out, (double)k);
			return 0;
		}
		if (eval(n->kid[0], env, &a) != 0)
			return -1;
		if (a.kind == EXPR_EMPTY)
			v_set_num(out, 0);
		else if (a.kind == EXPR_REPEAT)
			v_set_num(out, (double)a.count);
		else
			return -1;
		return 0;
	}
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
	default:
		return eval_call_more(n, env, out);
	}
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
	case N_COL:
		if (env->column == NULL || env->column(env->ctx, n->str, out))
			return -1;
		if (out->kind == EXPR_STR && out->str == NULL)
			out->kind = EXPR_EMPTY;
		return out->kind == EXPR_REPEAT ? -1 : 0;
	case N_PARENT:
		return -1;		/* only position(..) reads it */
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
	if (n->type >= N_EQ && n->type <= N_GE) {
		/* v_compare reads the numbers only when it compares numbers:
		   two dates (. <= today()) compare as text, unparsed */
		v_set_bool(out, v_compare(n->type, &a, &b));
		return 0;
	}
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
	struct expr_scratch *outer = scratch, mine;
	struct expr_value v;
	int rc;

	if (e == NULL || env == NULL)
		return -1;
	/* a scratch of its own (EXPR_SCRATCH bytes of stack): it may run
	   inside another evaluation's resolver, which still reads that one */
	mine.used = 0;
	scratch = &mine;
	rc = eval_scalar(e->root, env, &v) != 0 ? -1 : v_bool(&v);
	scratch = outer;
	return rc;
}

int
expr_eval_value(const struct expr *e, const struct expr_env *env,
    struct expr_value *out, struct expr_scratch *s)
{
	struct expr_scratch *outer = scratch;
	int rc;

	if (e == NULL || env == NULL || s == NULL)
		return -1;
	scratch = s;
	rc = eval_scalar(e->root, env, out);
	scratch = outer;
	return rc;
}

const char *
expr_value_text(const struct expr_value *v, char buf[32])
{
	return v_text(v, buf);
}

int
expr_str_number(const char *s, double *out)
{
	return str_num(s, out);
}

static void
names_walk(const struct node *n, void (*fn)(void *, const char *), void *arg)
{
	int i;

	if (n == NULL)
		return;
	if (n->type == N_REF || (n->type == N_CALL && n->fn == F_CHOICE_NAME))
		fn(arg, n->str);
	for (i = 0; i < n->nkid; i++)
		names_walk(n->kid[i], fn, arg);
}

void
expr_names(const struct expr *e, void (*fn)(void *, const char *), void *arg)
{
	if (e != NULL)
		names_walk(e->root, fn, arg);
}

static void
columns_walk(const struct node *n, void (*fn)(void *, const char *),
    void *arg)
{
	if (n->type == N_COL)
		fn(arg, n->str);
	for (int i = 0; i < n->nkid; i++)
		columns_walk(n->kid[i], fn, arg);
}

void
expr_columns(const struct expr *e, void (*fn)(void *, const char *),
    void *arg)
{
	if (e != NULL)
		columns_walk(e->root, fn, arg);
}

static int
uses_walk(const struct node *n)
{
	int u = 0;

	if (n->type == N_CALL)
		u = n->fn == F_UUID || n->fn == F_RANDOM ? EXPR_USES_RANDOM :
		    n->fn == F_NOW ? EXPR_USES_NOW : n->fn == F_ONCE ?
		    EXPR_USES_ONCE : 0;
	for (int i = 0; i < n->nkid; i++)
		u |= uses_walk(n->kid[i]);
	return u;
}

int
expr_uses(const struct expr *e)
{
	return e != NULL ? uses_walk(e->root) : 0;
}
