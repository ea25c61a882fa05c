/*
 * expr.h: the XLSForm expression language of `constraint`, `relevant`,
 * `calculation`, `choice_filter` and `repeat_count` columns, parsed once
 * when a form is loaded and evaluated per record.  The web app
 * (web/field/rules.js) implements the grammar of constraint and relevant.
 *
 * Grammar (precedence low to high):
 *   or  |  and  |  = != < <= > >=  |  + -  |  * div mod  |  unary -  |  primary
 *   primary := NUMBER | 'string' | "string" | . | ${name} | ( expr ) |
 *              FUNC ( [expr {, expr}] )
 * Functions: selected(v, 'c')  count-selected(v)  string-length(v)
 *   regex(v, 'ERE')  (whole-value POSIX extended match)
 *   today()  (YYYY-MM-DD)  count(r)  (items of a repeat)
 *   count-if(r, expr)  (items of repeat r for which expr, evaluated inside
 *   each item, is true)  coalesce(a, b)  number(v)  not(b)  if(c, a, b)
 *   true()  false()
 *
 * Values: empty, string, number, boolean, repeat (only as the argument of
 * count/count-if).  An empty value is the empty string.  Comparison: when
 * both sides are numbers, or one is a number and the other a string that
 * parses as a number, compare numerically; otherwise compare as strings
 * (ISO dates compare correctly so).  Arithmetic on an empty or non-numeric
 * value gives NaN, and any comparison with NaN is false.  Boolean of a
 * string: non-empty; of a number: non-zero and not NaN.
 *
 * In detail (expr.c): a string "parses as a number" when it is a plain
 * decimal with an optional '-' and blanks around (no exponent, hex, inf).
 * A number against an empty or non-numeric string compares as numbers,
 * so with NaN, and every comparison with NaN, != included, is false (use
 * not(a = b) for the negation).  Two strings compare bytewise even when
 * both look numeric ('10' < '9').  A boolean against anything compares as
 * booleans.  Numbers used as text (string-length, regex, selected) are
 * written as XPath does: 12, 1.5, NaN.  selected() and count-selected()
 * read any string as a space-separated list, so a single name is a list of
 * one.  coalesce(), if(), and, or read only the arguments they need.  A
 * repeat anywhere but as count's or count-if's first argument, today()
 * with env->today NULL, and a resolver or enter() failure are evaluation
 * errors.  regex() patterns must have balanced parentheses, no
 * back-references and intervals up to 255; a pattern not known until
 * evaluation is compiled then, its anchored form at most EXPR_MAX_STR
 * bytes.  Nesting counts parentheses, calls and unary minus; operator
 * chains (a + b + c) do not nest.
 *
 * Limits: source at most EXPR_MAX_SRC bytes, nesting at most EXPR_MAX_DEPTH;
 * parse errors name the byte offset.
 */
#ifndef EXPR_H
#define EXPR_H

#include <stddef.h>

#define EXPR_MAX_SRC 4096	/* real forms: up to 1,607 (REACH Lebanon MSNA) */
#define EXPR_MAX_DEPTH 32
#define EXPR_MAX_STR 512	/* longest string value the evaluator builds */

struct expr;			/* opaque parsed expression */

enum expr_kind { EXPR_EMPTY, EXPR_STR, EXPR_NUM, EXPR_BOOL, EXPR_REPEAT };

/* What an expression calls that gives a new value each time it runs. */
#define EXPR_USES_RANDOM 1	/* uuid(), random() */
#define EXPR_USES_NOW 2		/* now() */
#define EXPR_USES_ONCE 4	/* once() */

struct expr_value {
	enum expr_kind kind;
	const char *str;	/* EXPR_STR: borrowed, valid during the call */
	double num;		/* EXPR_NUM */
	int boolean;		/* EXPR_BOOL */
	const void *repeat;	/* EXPR_REPEAT: resolver's handle for the items */
	size_t count;		/* EXPR_REPEAT: number of items */
	int is_date;		/* EXPR_STR holding a date or a date and
				   time (a date field, today(), now(),
				   date()): in arithmetic and against a
				   number it is days since 1970-01-01, as
				   in ODK -- (today() - ${dob}) div 365.25 */
	int is_multi;		/* EXPR_STR holding a select_multiple answer:
				   space-separated choice names */
};

/*
 * How the evaluator reads the record.  `name` is the text inside ${...},
 * NULL for `.`.  `item` is the repeat item the expression currently runs
 * in (NULL at top level); resolve(NULL name) gives the current field.
 * `enter` gives the context for item i of a repeat handle, used by count-if.
 */
struct expr_env {
	int (*resolve)(void *ctx, const void *item, const char *name,
	    struct expr_value *out);
	const void *(*enter)(void *ctx, const void *repeat, size_t i);
	void *ctx;
	const void *item;
	const char *today;	/* YYYY-MM-DD */
	/* The members below are optional (NULL or 0 when not given). */
	/*
	 * A field of a repeat named from outside its items: the repeat's
	 * handle and number of items, so sum(), max(), join() and the like
	 * read the field in every item (enter() then resolve()).  -1 when
	 * name is not such a field here.
	 */
	int (*nodes)(void *ctx, const void *item, const char *name,
	    const void **repeat, size_t *count);
	/* A bare column name in a choice filter: the current choice's. */
	int (*column)(void *ctx, const char *name, struct expr_value *out);
	/* jr:choice-name(): the label of choice value of field's list. */
	const char *(*choice_label)(void *ctx, const char *field,
	    const char *value);
	size_t position;	/* position(..): 1-based item, 0 outside */
	const char *now;	/* now(): ISO 8601 date and time */
};

/* Room for the strings an evaluation builds (concat, substr, ...). */
#define EXPR_SCRATCH 8192
struct expr_scratch {
	size_t used;
	char buf[EXPR_SCRATCH];
};

/* Parses src.  0 and *out, or -1 and a message naming the offset in err. */
int expr_parse(const char *src, struct expr **out, char *err, size_t errlen);
/* The same, for a choice_filter: bare names are the choice's columns. */
int expr_parse_filter(const char *src, struct expr **out, char *err,
    size_t errlen);
void expr_free(struct expr *e);

/*
 * Evaluates e to a boolean: 1 true, 0 false, -1 on an evaluation error
 * (unknown field, a regex that does not compile, a limit exceeded).
 */
int expr_eval_bool(const struct expr *e, const struct expr_env *env);

/*
 * Evaluates e to a value (a calculation).  Strings it builds live in s,
 * which the caller provides (s->used = 0 first) and keeps while it reads
 * out.  0, or -1 on an evaluation error.
 */
int expr_eval_value(const struct expr *e, const struct expr_env *env,
    struct expr_value *out, struct expr_scratch *s);

/* A value as XPath's string() writes it; buf has 32 bytes for numbers. */
const char *expr_value_text(const struct expr_value *v, char buf[32]);
/* A string as XPath's number() reads it: 1 and *out, or 0 (NaN). */
int expr_str_number(const char *s, double *out);

/* Calls fn for every ${name} the expression mentions (to check forms),
   including the field of jr:choice-name(v, '${name}'). */
void expr_names(const struct expr *e, void (*fn)(void *, const char *),
    void *arg);
/* Calls fn for every bare column name of a choice filter. */
void expr_columns(const struct expr *e, void (*fn)(void *, const char *),
    void *arg);
/* EXPR_USES_* of the functions e calls. */
int expr_uses(const struct expr *e);

#endif
